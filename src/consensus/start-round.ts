/**
 * StartRound (Algorithm 1, lines 10-21) and entering a new height (lines 51-54 reset the
 * height's variables before StartRound(0)).
 */
import { assert } from '../base/index.ts';
import { validatorIndexOf } from '../chain/index.ts';
import { proposeTimeoutMs } from './config.ts';
import { proposerIndexOf } from './proposer.ts';
import { ownKeyPair, signAndBroadcastProposal } from './sign.ts';
import type { ConsensusAction, ConsensusState } from './state.ts';
import { HeightVotes } from './vote-book.ts';

/** True when this validator proposes in the current (height, round). */
export function isOwnTurn(state: ConsensusState): boolean {
  if (state.ownIndex < 0) return false;
  const validatorSet = state.votes.validatorSet;
  return (
    proposerIndexOf({ validatorSet, height: state.height, round: state.round }) === state.ownIndex
  );
}

/**
 * StartRound(round), lines 11-21: round_p ← round, step_p ← propose; the proposer proposes
 * validValue if it has one (line 15) or asks the application for a new value (getValue(), line
 * 18, answered by `value-ready`). Every validator schedules OnTimeoutPropose (line 21): the
 * proposer too, in case the application is slow to answer; its own proposal moves it on first.
 */
export function startRound(state: ConsensusState, actions: ConsensusAction[], round: number): void {
  assert(round >= state.round, 'rounds only move forward within a height');
  state.round = round;
  state.step = 'propose';
  if (isOwnTurn(state) && !state.proposedRounds.has(round)) {
    state.proposedRounds.add(round);
    const reuseValid = state.validBlock !== null && state.config.testOnlyVariant !== 'no-locking';
    if (reuseValid) {
      signAndBroadcastProposal(state, actions, {
        value: state.validBlock!,
        validRound: state.validRound,
      });
    } else {
      actions.push({
        kind: 'get-value',
        height: state.height,
        round,
        lastCommit: state.lastCommit,
      });
    }
  }
  actions.push({
    kind: 'schedule-timeout',
    timeout: { kind: 'propose', height: state.height, round },
    delayMs: proposeTimeoutMs(state.config.timeouts, round),
  });
}

/**
 * Resets the per-height variables for `height` (lines 51-54 and the initialisation, lines 2-9)
 * under that height's validator set, and schedules the height's re-send timer. Does not start a
 * round: the caller does (StartRound(0), or the round of the signing record after a restart).
 */
export function enterHeight(
  state: ConsensusState,
  actions: ConsensusAction[],
  height: number,
): void {
  const validatorSet = state.validatorSets.get(height);
  assert(
    validatorSet !== undefined,
    `the validator set of height ${height} is known before it starts`,
  );
  for (const known of [...state.validatorSets.keys()]) {
    if (known < height) state.validatorSets.delete(known);
  }
  state.height = height;
  state.round = 0;
  state.step = 'propose';
  state.lockedBlock = null;
  state.lockedRound = null;
  state.validBlock = null;
  state.validRound = null;
  state.ownIndex = -1;
  for (const pair of state.config.keyPairs) {
    const index = validatorIndexOf(validatorSet, pair.publicKey);
    if (index >= 0) state.ownIndex = index;
  }
  state.proposals = new Map();
  state.blocks = new Map();
  state.validity = new Map();
  state.revalidations = new Map();
  state.votes = new HeightVotes(validatorSet);
  state.ownMessages = new Map();
  state.receivedCommits = new Map();
  state.proposedRounds = new Set();
  state.prevoteTimeoutRounds = new Set();
  state.polkaRounds = new Set();
  state.precommitTimeoutRounds = new Set();
  assert(state.ownIndex < 0 || ownKeyPair(state) !== null, 'own index has its key pair');
  actions.push({
    kind: 'schedule-timeout',
    timeout: { kind: 'rebroadcast', height, round: 0 },
    delayMs: state.config.timeouts.rebroadcastIntervalMs,
  });
  actions.push({ kind: 'broadcast', message: { kind: 'status', height, round: 0 } });
}
