/**
 * `membership.evidence`: a member's node submits equivocation evidence from consensus, two
 * conflicting signed votes of one validator at one height and round (Buchman, Kwon, Milosevic
 * 2018, "Evidence"); it is recorded once against the member that owns the validator key.
 * The votes are checked against the current validator set (decision 0026).
 */
import { equalBytes, toHex } from '../base/index.ts';
import { ValidatorSetSchema, VoteSchema, assertValidVote } from '../chain/index.ts';
import { hashTagged } from '../crypto/index.ts';
import { defineAction } from './action.ts';
import { requireMemberSigner } from './authorise.ts';
import { ContractError } from './errors.ts';
import {
  EvidenceBodySchema,
  EvidenceRecordSchema,
  MemberSchema,
  PrincipalSchema,
} from './schemas.ts';
import { StateNamespace, textPart } from './state-keys.ts';

/** Tag of an evidence's id: the hash of its two votes in canonical order. */
export const evidenceIdTag = 'medledger/evidence/v1';

export const recordEvidence = defineAction({
  kind: 'membership.evidence',
  schema: EvidenceBodySchema,
  execute(scope, body) {
    const submitter = requireMemberSigner(scope, 'submit evidence');
    const { voteA, voteB } = body;
    if (
      voteA.type !== voteB.type ||
      voteA.height !== voteB.height ||
      voteA.round !== voteB.round ||
      voteA.validatorIndex !== voteB.validatorIndex
    ) {
      throw new ContractError(
        'invalid-value',
        'evidence: expected two votes of one validator with the same type, height and round',
      );
    }
    const sameBlock =
      voteA.blockHash === null
        ? voteB.blockHash === null
        : voteB.blockHash !== null && equalBytes(voteA.blockHash, voteB.blockHash);
    if (sameBlock) {
      throw new ContractError('invalid-value', 'evidence: the two votes are for the same block');
    }
    const validatorSet = scope.read(ValidatorSetSchema, StateNamespace.validators);
    if (validatorSet === null) throw new ContractError('not-found', 'the validator set is missing');
    const validator = validatorSet.validators[voteA.validatorIndex];
    if (validator === undefined) {
      throw new ContractError(
        'invalid-value',
        `evidence: validator index ${voteA.validatorIndex} is outside the current set of ${validatorSet.validators.length}`,
      );
    }
    for (const vote of [voteA, voteB]) {
      try {
        assertValidVote({ chainId: scope.env.chainId, vote, validatorSet });
      } catch (error) {
        throw new ContractError('invalid-value', `evidence: ${(error as Error).message}`);
      }
    }
    const encodedA = VoteSchema.encode(voteA);
    const encodedB = VoteSchema.encode(voteB);
    const [first, second] =
      toHex(encodedA) < toHex(encodedB) ? [encodedA, encodedB] : [encodedB, encodedA];
    const evidenceId = hashTagged(evidenceIdTag, first, second);
    if (scope.get(scope.key(StateNamespace.evidence, evidenceId)) !== null) {
      throw new ContractError(
        'already-exists',
        `evidence ${toHex(evidenceId)} is already recorded`,
      );
    }
    const principal = scope.read(PrincipalSchema, StateNamespace.principal, validator.publicKey);
    if (principal?.kind !== 'member' || principal.orgId === null) {
      throw new ContractError('not-found', 'evidence: the validator key belongs to no member');
    }
    const member = scope.read(MemberSchema, StateNamespace.member, textPart(principal.orgId));
    if (member === null)
      throw new ContractError('not-found', `member ${principal.orgId} is missing`);
    scope.write(
      EvidenceRecordSchema,
      {
        orgId: member.orgId,
        validatorKey: validator.publicKey,
        height: voteA.height,
        round: voteA.round,
        recordedHeight: scope.env.height,
        submittedBy: submitter.orgId,
      },
      StateNamespace.evidence,
      evidenceId,
    );
    scope.write(
      MemberSchema,
      { ...member, evidenceCount: member.evidenceCount + 1 },
      StateNamespace.member,
      textPart(member.orgId),
    );
    scope.emit('membership.equivocation-recorded', {
      orgId: member.orgId,
      height: voteA.height,
      round: voteA.round,
      evidenceId: toHex(evidenceId),
    });
  },
});
