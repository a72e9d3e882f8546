/**
 * The timeout handlers of Algorithm 1 (lines 57-67) and the re-send timer that stands in for the
 * paper's reliable gossip. A timeout of an older height or round does nothing.
 */
import { assert } from '../base/index.ts';
import { signAndBroadcastVote } from './sign.ts';
import { startRound } from './start-round.ts';
import type { ConsensusAction, ConsensusState, ConsensusTimeout } from './state.ts';

/** Handles a fired timer. */
export function onTimeout(
  state: ConsensusState,
  actions: ConsensusAction[],
  timeout: ConsensusTimeout,
): void {
  if (timeout.height !== state.height) return;
  switch (timeout.kind) {
    case 'propose':
      // Lines 57-60: OnTimeoutPropose(h, r): still waiting for the proposal: prevote nil.
      if (timeout.round === state.round && state.step === 'propose') {
        signAndBroadcastVote(state, actions, { type: 'prevote', blockHash: null });
        state.step = 'prevote';
      }
      return;
    case 'prevote':
      // Lines 61-64: OnTimeoutPrevote(h, r): no polka in time: precommit nil.
      if (timeout.round === state.round && state.step === 'prevote') {
        signAndBroadcastVote(state, actions, { type: 'precommit', blockHash: null });
        state.step = 'precommit';
      }
      return;
    case 'precommit':
      // Lines 65-67: OnTimeoutPrecommit(h, r): no decision in time: StartRound(r + 1).
      if (timeout.round === state.round) startRound(state, actions, state.round + 1);
      return;
    case 'rebroadcast':
      rebroadcast(state, actions);
      return;
  }
}

/**
 * Re-sends own messages of the previous and current round and a status, then re-arms. With
 * these, every correct process eventually hears every correct process's messages of the rounds
 * it is in (the gossip assumption of the paper's Section 4), even over a lossy network.
 */
function rebroadcast(state: ConsensusState, actions: ConsensusAction[]): void {
  assert(state.round >= 0, 'rounds are not negative');
  for (const round of [state.round - 1, state.round]) {
    for (const message of state.ownMessages.get(round) ?? [])
      actions.push({ kind: 'broadcast', message });
  }
  actions.push({
    kind: 'broadcast',
    message: { kind: 'status', height: state.height, round: state.round },
  });
  actions.push({
    kind: 'schedule-timeout',
    timeout: { kind: 'rebroadcast', height: state.height, round: state.round },
    delayMs: state.config.timeouts.rebroadcastIntervalMs,
  });
}
