/**
 * The signing record: what a validator last signed, and the locks it held when it did. The
 * driver persists it (the `persist` action) before it sends what was signed, so after a crash the
 * validator resumes from it and never signs two conflicting messages for one (height, round,
 * step) — the double-sign protection of CometBFT's privval "last sign state" — and never forgets
 * a lock it precommitted under (Algorithm 1, lines 36-41: lockedValue and lockedRound are set in
 * the same step as the precommit, so they are in the same record).
 */
import { type Infer, array, nullable, struct, textEnum, uint } from '../codec/index.ts';
import { BlockSchema, ProposalSchema, VoteSchema, chainLimits } from '../chain/index.ts';
import { ConsensusError } from './errors.ts';

/** The steps at which a validator signs, in the order a round visits them. */
export const signedSteps = ['proposal', 'prevote', 'precommit'] as const;
export type SignedStep = (typeof signedSteps)[number];

const round = () => uint({ max: chainLimits.roundMax });

/** The record's encoding (a struct: it is a local file, not a chain object). */
export const SigningRecordSchema = struct({
  height: uint({ min: 1 }),
  round: round(),
  step: textEnum(signedSteps),
  /** The signed vote, when `step` is prevote or precommit. */
  vote: nullable(VoteSchema),
  /** The signed proposal and its block, when `step` is proposal. */
  proposal: nullable(ProposalSchema),
  proposalBlock: nullable(BlockSchema),
  lockedRound: nullable(round()),
  lockedBlock: nullable(BlockSchema),
  validRound: nullable(round()),
  validBlock: nullable(BlockSchema),
  /**
   * The 2f+1 prevotes for validBlock in validRound: a re-proposal of validBlock (line 15) is
   * accepted only with them (line 28), so they must survive a restart (CometBFT's WAL keeps
   * them too).
   */
  validPolka: array(VoteSchema, { itemsMax: chainLimits.validatorCountMax * 2 }),
});
export type SigningRecord = Infer<typeof SigningRecordSchema>;

/** The bytes to write to disk for `record`. */
export function encodeSigningRecord(record: SigningRecord): Uint8Array {
  return SigningRecordSchema.encode(record);
}

/** Strictly decodes a record read from disk; throws `ConsensusError` if it is not one. */
export function decodeSigningRecord(bytes: Uint8Array): SigningRecord {
  let record: SigningRecord;
  try {
    record = SigningRecordSchema.decode(bytes);
  } catch (error) {
    if (error instanceof Error) {
      throw new ConsensusError('bad-record', `signing record does not decode: ${error.message}`);
    }
    throw error;
  }
  const isVote = record.step !== 'proposal';
  if (isVote !== (record.vote !== null) || isVote === (record.proposal !== null)) {
    throw new ConsensusError(
      'bad-record',
      `signing record for a ${record.step} carries the wrong message`,
    );
  }
  if ((record.proposal === null) !== (record.proposalBlock === null)) {
    throw new ConsensusError('bad-record', 'signing record has a proposal without its block');
  }
  return record;
}

/** The position of (height, round, step) in signing order, for comparisons. */
export function compareSigningPosition(
  a: { height: number; round: number; step: SignedStep },
  b: { height: number; round: number; step: SignedStep },
): number {
  if (a.height !== b.height) return a.height - b.height;
  if (a.round !== b.round) return a.round - b.round;
  return signedSteps.indexOf(a.step) - signedSteps.indexOf(b.step);
}

/** The block hash a recorded message names (`null` for a nil vote). */
export function recordedValue(record: SigningRecord): Uint8Array | null {
  if (record.vote !== null) return record.vote.blockHash;
  return record.proposal!.blockHash;
}
