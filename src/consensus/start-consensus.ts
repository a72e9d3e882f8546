/**
 * Building a validator's state: at first start, and after a crash from the signing record (what
 * it last signed and the locks it held then). Resuming puts the validator back in the round and
 * step of the record, with its locks, its own signed message re-sent, and the record's guard in
 * force, so it can never sign a message that conflicts with one it may already have sent.
 */
import { shortHex } from '../base/index.ts';
import type { Commit, ValidatorSet } from '../chain/index.ts';
import { proposeTimeoutMs } from './config.ts';
import { ConsensusError } from './errors.ts';
import type { SigningRecord } from './signing-record.ts';
import { knownBlock } from './sign.ts';
import { enterHeight, startRound } from './start-round.ts';
import type { ConsensusAction, ConsensusConfig, ConsensusState, KnownBlock } from './state.ts';
import type { ConsensusStep } from './step-consensus.ts';
import { applyUponRules } from './upon-rules.ts';
import { HeightVotes } from './vote-book.ts';

/** What a validator starts from: the chain as the application has it, and the signing record. */
export type ConsensusStart = {
  readonly config: ConsensusConfig;
  /** The first height not yet decided (the application's last height + 1). */
  readonly height: number;
  /** The validator sets of `height` and `height + 1` (scheduled by the blocks applied so far). */
  readonly validatorSets: ReadonlyMap<number, ValidatorSet>;
  /** The commit of `height − 1`, null at height 1. */
  readonly lastCommit: Commit | null;
  /** The persisted signing record, null if this validator never signed. */
  readonly record: SigningRecord | null;
};

function restoreKnown(
  state: ConsensusState,
  block: SigningRecord['lockedBlock'],
): KnownBlock | null {
  if (block === null) return null;
  const value = knownBlock(block);
  state.blocks.set(value.key, value);
  state.validity.set(value.key, 'valid');
  return value;
}

/** Resumes the round and step of a record of the current height (see the file comment). */
function resumeFromRecord(
  state: ConsensusState,
  actions: ConsensusAction[],
  record: SigningRecord,
): void {
  state.round = record.round;
  state.step = record.step === 'proposal' ? 'propose' : record.step;
  state.lockedBlock = restoreKnown(state, record.lockedBlock);
  state.lockedRound = record.lockedRound;
  state.validBlock = restoreKnown(state, record.validBlock);
  state.validRound = record.validRound;
  for (const vote of record.validPolka) state.votes.add(vote);
  state.proposedRounds.add(record.round);
  if (record.vote !== null) {
    state.votes.add(record.vote);
    const message = { kind: 'vote' as const, vote: record.vote };
    state.ownMessages.set(record.round, [message]);
    actions.push({ kind: 'broadcast', message });
  }
  if (record.proposal !== null && record.proposalBlock !== null) {
    const value = restoreKnown(state, record.proposalBlock)!;
    const message = {
      kind: 'proposal' as const,
      proposal: record.proposal,
      block: record.proposalBlock,
    };
    state.proposals.set(record.round, { ...message, key: value.key });
    state.votes.markSender(record.round, record.proposal.proposerIndex);
    state.ownMessages.set(record.round, [message]);
    actions.push({ kind: 'broadcast', message });
    actions.push({
      kind: 'schedule-timeout',
      timeout: { kind: 'propose', height: state.height, round: record.round },
      delayMs: proposeTimeoutMs(state.config.timeouts, record.round),
    });
  }
}

/**
 * Builds the state of a validator at `start.height` and the first actions (timers, a status, a
 * proposal or the re-send of the recorded message). Throws `ConsensusError` on a start that does
 * not fit together (a missing validator set or commit).
 */
export function startConsensus(start: ConsensusStart): ConsensusStep {
  const { config, height, lastCommit, record } = start;
  const validatorSet = start.validatorSets.get(height);
  if (!Number.isSafeInteger(height) || height < 1 || validatorSet === undefined) {
    throw new ConsensusError('bad-start', `start height ${height} needs its validator set`);
  }
  if (!start.validatorSets.has(height + 1)) {
    throw new ConsensusError(
      'bad-start',
      `start height ${height} needs the validator set of height ${height + 1}`,
    );
  }
  if (
    (height === 1) !== (lastCommit === null) ||
    (lastCommit !== null && lastCommit.height !== height - 1)
  ) {
    throw new ConsensusError(
      'bad-start',
      `start height ${height} needs the commit of height ${height - 1}, got ${lastCommit === null ? 'none' : `height ${lastCommit.height} (${shortHex(lastCommit.blockHash)})`}`,
    );
  }
  const state: ConsensusState = {
    config,
    height,
    round: 0,
    step: 'propose',
    lockedBlock: null,
    lockedRound: null,
    validBlock: null,
    validRound: null,
    validatorSets: new Map(start.validatorSets),
    ownIndex: -1,
    lastCommit,
    proposals: new Map(),
    blocks: new Map(),
    validity: new Map(),
    revalidations: new Map(),
    votes: new HeightVotes(validatorSet),
    record,
    ownMessages: new Map(),
    proposedRounds: new Set(),
    prevoteTimeoutRounds: new Set(),
    polkaRounds: new Set(),
    precommitTimeoutRounds: new Set(),
    appliedHeight: height - 1,
    receivedCommits: new Map(),
    evidenceReported: new Set(),
  };
  const actions: ConsensusAction[] = [];
  enterHeight(state, actions, height);
  if (record !== null && record.height === height) resumeFromRecord(state, actions, record);
  else startRound(state, actions, 0);
  applyUponRules(state, actions);
  return { state, actions };
}
