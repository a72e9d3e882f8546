/**
 * Signing and verifying votes and proposals (Tendermint, Buchman, Kwon, Milosevic 2018,
 * Algorithm 1: ⟨PREVOTE, h, r, id(v)⟩, ⟨PRECOMMIT, h, r, id(v)⟩, ⟨PROPOSAL, h, r, v, validRound⟩).
 * The chain id is in every signed hash, so a vote cannot be replayed on another network.
 */
import { shortHex, utf8 } from '../base/index.ts';
import { encodeCbor } from '../codec/index.ts';
import {
  type Ed25519KeyPair,
  type Hash,
  ed25519Sign,
  ed25519Verify,
  hashTagged,
} from '../crypto/index.ts';
import { ChainError } from './errors.ts';
import type { Proposal, ValidatorSet, Vote } from './schemas.ts';

/** Tag of the hash a vote's signature covers. */
export const voteSigningTag = 'medledger/vote/v1';
/** Tag of the hash a proposal's signature covers. */
export const proposalSigningTag = 'medledger/proposal/v1';

/** A vote before it is signed. */
export type UnsignedVote = Omit<Vote, 'signature'>;
/** A proposal before it is signed. */
export type UnsignedProposal = Omit<Proposal, 'signature'>;

/** The hash a validator signs for `vote` on chain `chainId`. */
export function voteSigningHash(options: { chainId: string; vote: UnsignedVote }): Hash {
  const { chainId, vote } = options;
  return hashTagged(
    voteSigningTag,
    utf8(chainId),
    encodeCbor([vote.type, vote.height, vote.round, vote.blockHash, vote.validatorIndex]),
  );
}

/** The hash a proposer signs for `proposal` on chain `chainId`. */
export function proposalSigningHash(options: {
  chainId: string;
  proposal: UnsignedProposal;
}): Hash {
  const { chainId, proposal } = options;
  return hashTagged(
    proposalSigningTag,
    utf8(chainId),
    encodeCbor([
      proposal.height,
      proposal.round,
      proposal.blockHash,
      proposal.validRound,
      proposal.proposerIndex,
    ]),
  );
}

/** Signs a vote. */
export function signVote(options: {
  chainId: string;
  vote: UnsignedVote;
  keyPair: Ed25519KeyPair;
}): Vote {
  const message = voteSigningHash(options);
  return { ...options.vote, signature: ed25519Sign({ message, keyPair: options.keyPair }) };
}

/** Signs a proposal. */
export function signProposal(options: {
  chainId: string;
  proposal: UnsignedProposal;
  keyPair: Ed25519KeyPair;
}): Proposal {
  const message = proposalSigningHash(options);
  return { ...options.proposal, signature: ed25519Sign({ message, keyPair: options.keyPair }) };
}

function signerOf(set: ValidatorSet, index: number, what: string): Uint8Array {
  const validator = set.validators[index];
  if (validator === undefined) {
    throw new ChainError(
      'unknown-validator',
      `${what} names validator index ${index}, but the set has ${set.validators.length} validators`,
    );
  }
  return validator.publicKey;
}

/** Checks a vote's signature against the validator set of its height; throws `ChainError`. */
export function assertValidVote(options: {
  chainId: string;
  vote: Vote;
  validatorSet: ValidatorSet;
}): void {
  const { chainId, vote, validatorSet } = options;
  const publicKey = signerOf(validatorSet, vote.validatorIndex, `${vote.type}`);
  const message = voteSigningHash({ chainId, vote });
  if (!ed25519Verify({ publicKey, message, signature: vote.signature })) {
    throw new ChainError(
      'bad-signature',
      `${vote.type} at height ${vote.height} round ${vote.round} does not verify for validator ${vote.validatorIndex} (${shortHex(publicKey)})`,
    );
  }
}

/** Checks a proposal's signature against the validator set of its height; throws `ChainError`. */
export function assertValidProposal(options: {
  chainId: string;
  proposal: Proposal;
  validatorSet: ValidatorSet;
}): void {
  const { chainId, proposal, validatorSet } = options;
  const publicKey = signerOf(validatorSet, proposal.proposerIndex, 'proposal');
  if (proposal.validRound !== null && proposal.validRound >= proposal.round) {
    throw new ChainError(
      'wrong-round',
      `proposal validRound ${proposal.validRound} must be below its round ${proposal.round}`,
    );
  }
  const message = proposalSigningHash({ chainId, proposal });
  if (!ed25519Verify({ publicKey, message, signature: proposal.signature })) {
    throw new ChainError(
      'bad-signature',
      `proposal at height ${proposal.height} round ${proposal.round} does not verify for validator ${proposal.proposerIndex} (${shortHex(publicKey)})`,
    );
  }
}
