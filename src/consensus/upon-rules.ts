/**
 * The upon-rules of Algorithm 1 (lines 22-56), evaluated after every event until none fires.
 * Each rule is guarded so that it fires at most once per round ("for the first time", or a step
 * change), so the loop ends; a bound turns a rule loop (a bug) into an assertion failure.
 */
import { assert } from '../base/index.ts';
import { consensusLimits, precommitTimeoutMs, prevoteTimeoutMs } from './config.ts';
import { decide } from './decide.ts';
import { signAndBroadcastVote } from './sign.ts';
import { startRound } from './start-round.ts';
import type { ConsensusAction, ConsensusState } from './state.ts';

function isLockingOff(state: ConsensusState): boolean {
  return state.config.testOnlyVariant === 'no-locking';
}

/** Lines 49-54: 2f+1 ⟨PRECOMMIT, h, r, id(v)⟩ for a known valid v, in any round. */
function uponCommitQuorum(state: ConsensusState, actions: ConsensusAction[]): boolean {
  for (const { round, key } of state.votes.precommitQuorums) {
    if (state.validity.get(key) !== 'valid') continue;
    decide(state, actions, { round, key });
    return true;
  }
  for (const [key, certificate] of state.receivedCommits) {
    if (state.validity.get(key) !== 'valid') continue;
    decide(state, actions, { certificate, key });
    return true;
  }
  return false;
}

/** Line 55: f+1 messages of a higher round: StartRound(that round). */
function uponRoundSkip(state: ConsensusState, actions: ConsensusAction[]): boolean {
  const round = state.votes.roundToSkipTo(state.round);
  if (round === null) return false;
  startRound(state, actions, round);
  return true;
}

/** Lines 22-33: the round's proposal, while step = propose. */
function uponProposal(state: ConsensusState, actions: ConsensusAction[]): boolean {
  if (state.step !== 'propose') return false;
  const proposal = state.proposals.get(state.round);
  if (proposal === undefined) return false;
  const validity = state.validity.get(proposal.key);
  if (validity === undefined || validity === 'pending') return false;
  const validRound = proposal.proposal.validRound;
  let lockAllows: boolean;
  if (validRound === null) {
    // Line 23: valid(v) ∧ (lockedRound = −1 ∨ lockedValue = v).
    lockAllows = state.lockedRound === null || state.lockedBlock?.key === proposal.key;
  } else {
    // Line 28: the proposal re-proposes a value with a polka in validRound < round.
    if (!state.votes.hasQuorumFor(validRound, 'prevote', proposal.key)) return false;
    // Line 29: valid(v) ∧ (lockedRound ≤ vr ∨ lockedValue = v).
    lockAllows =
      state.lockedRound === null ||
      state.lockedRound <= validRound ||
      state.lockedBlock?.key === proposal.key;
  }
  if (isLockingOff(state)) lockAllows = true;
  const prevoteValue = validity === 'valid' && lockAllows;
  signAndBroadcastVote(state, actions, {
    type: 'prevote',
    blockHash: prevoteValue ? proposal.proposal.blockHash : null,
  });
  state.step = 'prevote';
  return true;
}

/** Lines 34-35: 2f+1 ⟨PREVOTE, h, round, ∗⟩ for the first time: schedule OnTimeoutPrevote. */
function uponAnyPrevotes(state: ConsensusState, actions: ConsensusAction[]): boolean {
  if (state.step !== 'prevote' || state.prevoteTimeoutRounds.has(state.round)) return false;
  if (!state.votes.hasQuorumForAny(state.round, 'prevote')) return false;
  state.prevoteTimeoutRounds.add(state.round);
  actions.push({
    kind: 'schedule-timeout',
    timeout: { kind: 'prevote', height: state.height, round: state.round },
    delayMs: prevoteTimeoutMs(state.config.timeouts, state.round),
  });
  return true;
}

/**
 * Lines 36-43: the round's proposal v, valid, with 2f+1 ⟨PREVOTE, h, round, id(v)⟩, while
 * step ≥ prevote, for the first time: lock on v and precommit it if still in prevote; in any
 * case v becomes validValue.
 */
function uponPolka(state: ConsensusState, actions: ConsensusAction[]): boolean {
  if (state.step === 'propose' || state.polkaRounds.has(state.round)) return false;
  const proposal = state.proposals.get(state.round);
  if (proposal === undefined || state.validity.get(proposal.key) !== 'valid') return false;
  if (!state.votes.hasQuorumFor(state.round, 'prevote', proposal.key)) return false;
  state.polkaRounds.add(state.round);
  const value = state.blocks.get(proposal.key)!;
  // validValue is set before the precommit is signed (the paper sets it in the same step, line
  // 42), so the signing record that carries the lock also carries the value and its polka.
  state.validBlock = value;
  state.validRound = state.round;
  if (state.step === 'prevote') {
    state.lockedBlock = value;
    state.lockedRound = state.round;
    signAndBroadcastVote(state, actions, { type: 'precommit', blockHash: value.hash });
    state.step = 'precommit';
  }
  return true;
}

/** Lines 44-46: 2f+1 ⟨PREVOTE, h, round, nil⟩ while step = prevote: precommit nil. */
function uponNilPolka(state: ConsensusState, actions: ConsensusAction[]): boolean {
  if (state.step !== 'prevote') return false;
  if (!state.votes.hasQuorumFor(state.round, 'prevote', 'nil')) return false;
  signAndBroadcastVote(state, actions, { type: 'precommit', blockHash: null });
  state.step = 'precommit';
  return true;
}

/** Lines 47-48: 2f+1 ⟨PRECOMMIT, h, round, ∗⟩ for the first time: schedule OnTimeoutPrecommit. */
function uponAnyPrecommits(state: ConsensusState, actions: ConsensusAction[]): boolean {
  if (state.precommitTimeoutRounds.has(state.round)) return false;
  if (!state.votes.hasQuorumForAny(state.round, 'precommit')) return false;
  state.precommitTimeoutRounds.add(state.round);
  actions.push({
    kind: 'schedule-timeout',
    timeout: { kind: 'precommit', height: state.height, round: state.round },
    delayMs: precommitTimeoutMs(state.config.timeouts, state.round),
  });
  return true;
}

/** Fires upon-rules until none applies (line 49 first: deciding ends the height). */
export function applyUponRules(state: ConsensusState, actions: ConsensusAction[]): void {
  for (let firings = 0; ; firings++) {
    assert(
      firings < consensusLimits.ruleFiringsPerEventMax,
      'upon-rules settle within the firing bound',
    );
    const fired =
      uponCommitQuorum(state, actions) ||
      uponRoundSkip(state, actions) ||
      uponProposal(state, actions) ||
      uponAnyPrevotes(state, actions) ||
      uponPolka(state, actions) ||
      uponNilPolka(state, actions) ||
      uponAnyPrecommits(state, actions);
    if (!fired) return;
  }
}
