/**
 * The signing record: what a validator last signed, and the locks it held when it did. The
 * driver persists it (the `persist` action) before it sends what was signed, so after a crash the
 * validator resumes from it and never signs two conflicting messages for one (height, round,
 * step) — the double-sign protection of CometBFT's privval "last sign state" — and never forgets
 * a lock it precommitted under (Algorithm 1, lines 36-41: lockedValue and lockedRound are set in
 * the same step as the precommit, so they are in the same record).
 */
import { type Infer, CodecError, array, nullable, struct, textEnum, uint } from '../codec/index.ts';
import {
  type Block,
  type Proposal,
  type Vote,
  BlockSchema,
  ProposalSchema,
  VoteSchema,
  chainLimits,
} from '../chain/index.ts';
import { ConsensusError } from './errors.ts';

/** The steps at which a validator signs, in the order a round visits them. */
export const signedSteps = ['proposal', 'prevote', 'precommit'] as const;
export type SignedStep = (typeof signedSteps)[number];

const round = () => uint({ max: chainLimits.roundMax });

/**
 * What a validator last signed and the locks it held (the record's value). The proposal's block,
 * the locked block and the valid block are often one and the same block (locked and valid are set
 * in the same step, lines 36–42, and a proposer re-proposes its valid block, line 16).
 */
export type SigningRecord = {
  readonly height: number;
  readonly round: number;
  readonly step: SignedStep;
  /** The signed vote, when `step` is prevote or precommit. */
  readonly vote: Vote | null;
  /** The signed proposal and its block, when `step` is proposal. */
  readonly proposal: Proposal | null;
  readonly proposalBlock: Block | null;
  readonly lockedRound: number | null;
  readonly lockedBlock: Block | null;
  readonly validRound: number | null;
  readonly validBlock: Block | null;
  /**
   * The 2f+1 prevotes for validBlock in validRound: a re-proposal of validBlock (line 15) is
   * accepted only with them (line 28), so they must survive a restart (CometBFT's WAL keeps
   * them too).
   */
  readonly validPolka: readonly Vote[];
};

/** At most three distinct blocks: the proposal's, the locked and the valid one. */
const signingRecordBlocksMax = 3;

/** Where a record's block is: an index into the record's list of distinct blocks. */
const blockIndex = () => nullable(uint({ max: signingRecordBlocksMax - 1 }));

/**
 * The record's encoding (a struct: it is a local file, not a chain object). Each distinct block
 * is written once, in `blocks`, and the three block fields name it by index: the record is saved
 * (and fsynced) at every step a validator signs, and a block of thousands of transactions written
 * twice or three times over was most of its cost (decision 0079). Blocks are the same when they
 * are the same object, as consensus hands them over.
 */
export const SigningRecordSchema = struct({
  height: uint({ min: 1 }),
  round: round(),
  step: textEnum(signedSteps),
  vote: nullable(VoteSchema),
  proposal: nullable(ProposalSchema),
  blocks: array(BlockSchema, { itemsMax: signingRecordBlocksMax }),
  proposalBlock: blockIndex(),
  lockedRound: nullable(round()),
  lockedBlock: blockIndex(),
  validRound: nullable(round()),
  validBlock: blockIndex(),
  validPolka: array(VoteSchema, { itemsMax: chainLimits.validatorCountMax * 2 }),
});

/**
 * The layout written before decision 0079, each block in full in its own field: still read, so a
 * node (or the demo's folder) keeps its record across the upgrade. The two layouts are arrays of
 * 11 and 12 items, so a record decodes as at most one of them.
 */
const SigningRecordSchemaWithBlocksInPlace = struct({
  height: uint({ min: 1 }),
  round: round(),
  step: textEnum(signedSteps),
  vote: nullable(VoteSchema),
  proposal: nullable(ProposalSchema),
  proposalBlock: nullable(BlockSchema),
  lockedRound: nullable(round()),
  lockedBlock: nullable(BlockSchema),
  validRound: nullable(round()),
  validBlock: nullable(BlockSchema),
  validPolka: array(VoteSchema, { itemsMax: chainLimits.validatorCountMax * 2 }),
});

/** The bytes to write to disk for `record`. */
export function encodeSigningRecord(record: SigningRecord): Uint8Array {
  const blocks: Block[] = [];
  const indexOf = (block: Block | null): number | null => {
    if (block === null) return null;
    const at = blocks.indexOf(block);
    if (at !== -1) return at;
    blocks.push(block);
    return blocks.length - 1;
  };
  return SigningRecordSchema.encode({
    height: record.height,
    round: record.round,
    step: record.step,
    vote: record.vote,
    proposal: record.proposal,
    proposalBlock: indexOf(record.proposalBlock),
    lockedRound: record.lockedRound,
    lockedBlock: indexOf(record.lockedBlock),
    validRound: record.validRound,
    validBlock: indexOf(record.validBlock),
    blocks,
    validPolka: record.validPolka,
  });
}

function badRecord(why: string): ConsensusError {
  return new ConsensusError('bad-record', `signing record ${why}`);
}

/** The record of either layout, its blocks in place. */
function decodeEitherLayout(bytes: Uint8Array): SigningRecord {
  let wire: Infer<typeof SigningRecordSchema>;
  try {
    wire = SigningRecordSchema.decode(bytes);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    try {
      return SigningRecordSchemaWithBlocksInPlace.decode(bytes);
    } catch {
      // The error of the current layout says what is wrong with the bytes.
      throw badRecord(`does not decode: ${error.message}`);
    }
  }
  const used = new Set<number>();
  const blockAt = (field: string, index: number | null): Block | null => {
    if (index === null) return null;
    const block = wire.blocks[index];
    if (block === undefined) {
      throw badRecord(`names block ${index} in ${field}, but holds ${wire.blocks.length}`);
    }
    used.add(index);
    return block;
  };
  const record: SigningRecord = {
    height: wire.height,
    round: wire.round,
    step: wire.step,
    vote: wire.vote,
    proposal: wire.proposal,
    proposalBlock: blockAt('proposalBlock', wire.proposalBlock),
    lockedRound: wire.lockedRound,
    lockedBlock: blockAt('lockedBlock', wire.lockedBlock),
    validRound: wire.validRound,
    validBlock: blockAt('validBlock', wire.validBlock),
    validPolka: wire.validPolka,
  };
  // One encoding per record: every block listed once and named.
  if (used.size !== wire.blocks.length) {
    throw badRecord(`holds ${wire.blocks.length} blocks, but names ${used.size} of them`);
  }
  return record;
}

/** Strictly decodes a record read from disk; throws `ConsensusError` if it is not one. */
export function decodeSigningRecord(bytes: Uint8Array): SigningRecord {
  const record = decodeEitherLayout(bytes);
  const isVote = record.step !== 'proposal';
  if (isVote !== (record.vote !== null) || isVote === (record.proposal !== null)) {
    throw badRecord(`for a ${record.step} carries the wrong message`);
  }
  if ((record.proposal === null) !== (record.proposalBlock === null)) {
    throw badRecord('has a proposal without its block');
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
