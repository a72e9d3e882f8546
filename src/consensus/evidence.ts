/**
 * Equivocation evidence: two messages signed by one validator for the same height, round and
 * step with different values. A correct process signs at most one message per (height, round,
 * step) (Algorithm 1: each step's upon-rule moves `step` forward, lines 24-27, 30-33, 40-41,
 * 44-46, 57-63), so such a pair proves the validator Byzantine, to anyone holding the height's
 * validator set. It is encoded as a chain object (type tag `Evidence`), ready to go in a block.
 */
import { equalBytes, shortHex } from '../base/index.ts';
import { type Infer, bytes, defineObject, nullable, textEnum } from '../codec/index.ts';
import {
  type Proposal,
  type ValidatorSet,
  type Vote,
  ChainError,
  ProposalSchema,
  VoteSchema,
  assertValidProposal,
  assertValidVote,
} from '../chain/index.ts';
import { ed25519PublicKeyBytes } from '../crypto/index.ts';
import { ConsensusError } from './errors.ts';

/** Two conflicting votes (`duplicate-vote`) or two conflicting proposals (`duplicate-proposal`). */
export const EvidenceSchema = defineObject('Evidence', {
  version: 1,
  fields: {
    kind: textEnum(['duplicate-vote', 'duplicate-proposal'] as const),
    /** The equivocating validator's public key (its index is in the signed messages). */
    validator: bytes({ length: ed25519PublicKeyBytes }),
    voteA: nullable(VoteSchema),
    voteB: nullable(VoteSchema),
    proposalA: nullable(ProposalSchema),
    proposalB: nullable(ProposalSchema),
  },
});
export type Evidence = Infer<typeof EvidenceSchema>;

/** Evidence from two conflicting votes (same signer, type, height and round). */
export function duplicateVoteEvidence(options: {
  validator: Uint8Array;
  first: Vote;
  second: Vote;
}): Evidence {
  return {
    kind: 'duplicate-vote',
    validator: options.validator,
    voteA: options.first,
    voteB: options.second,
    proposalA: null,
    proposalB: null,
  };
}

/** Evidence from two conflicting proposals (same proposer, height and round). */
export function duplicateProposalEvidence(options: {
  validator: Uint8Array;
  first: Proposal;
  second: Proposal;
}): Evidence {
  return {
    kind: 'duplicate-proposal',
    validator: options.validator,
    voteA: null,
    voteB: null,
    proposalA: options.first,
    proposalB: options.second,
  };
}

function bad(why: string): ConsensusError {
  return new ConsensusError('bad-evidence', why);
}

function sameNullableHash(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return equalBytes(a, b);
}

function checkSignature(check: () => void, which: string): void {
  try {
    check();
  } catch (error) {
    if (error instanceof ChainError) throw bad(`${which}: ${error.message}`);
    throw error;
  }
}

/**
 * Checks that `evidence` proves equivocation under `validatorSet` (the set of the messages'
 * height) on chain `chainId`: both messages from the named validator, same height, round and
 * step, different values, both signatures valid. Throws `ConsensusError` naming what is wrong.
 */
export function verifyEvidence(
  evidence: Evidence,
  validatorSet: ValidatorSet,
  chainId: string,
): void {
  EvidenceSchema.encode(evidence);
  let index: number;
  if (evidence.kind === 'duplicate-vote') {
    const { voteA: a, voteB: b } = evidence;
    if (a === null || b === null || evidence.proposalA !== null || evidence.proposalB !== null) {
      throw bad('duplicate-vote evidence must carry exactly two votes');
    }
    if (a.validatorIndex !== b.validatorIndex) {
      throw bad(`votes are by validators ${a.validatorIndex} and ${b.validatorIndex}, not one`);
    }
    if (a.type !== b.type || a.height !== b.height || a.round !== b.round) {
      throw bad(
        `votes are for ${a.type} ${a.height}/${a.round} and ${b.type} ${b.height}/${b.round}, not one step`,
      );
    }
    if (sameNullableHash(a.blockHash, b.blockHash)) throw bad('both votes are for the same value');
    checkSignature(() => assertValidVote({ chainId, vote: a, validatorSet }), 'vote A');
    checkSignature(() => assertValidVote({ chainId, vote: b, validatorSet }), 'vote B');
    index = a.validatorIndex;
  } else {
    const { proposalA: a, proposalB: b } = evidence;
    if (a === null || b === null || evidence.voteA !== null || evidence.voteB !== null) {
      throw bad('duplicate-proposal evidence must carry exactly two proposals');
    }
    if (a.proposerIndex !== b.proposerIndex) {
      throw bad(`proposals are by validators ${a.proposerIndex} and ${b.proposerIndex}, not one`);
    }
    if (a.height !== b.height || a.round !== b.round) {
      throw bad(
        `proposals are for ${a.height}/${a.round} and ${b.height}/${b.round}, not one round`,
      );
    }
    if (equalBytes(a.blockHash, b.blockHash) && a.validRound === b.validRound) {
      throw bad('both proposals are for the same value');
    }
    checkSignature(() => assertValidProposal({ chainId, proposal: a, validatorSet }), 'proposal A');
    checkSignature(() => assertValidProposal({ chainId, proposal: b, validatorSet }), 'proposal B');
    index = a.proposerIndex;
  }
  const signer = validatorSet.validators[index]!;
  if (!equalBytes(signer.publicKey, evidence.validator)) {
    throw bad(
      `evidence names validator ${shortHex(evidence.validator)}, but index ${index} is ${shortHex(signer.publicKey)}`,
    );
  }
}
