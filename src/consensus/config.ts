/**
 * The tunable numbers of consensus, in one place, named with their unit (STYLE.md "Limits").
 * Timeouts follow the Tendermint paper (Buchman, Kwon, Milosevic 2018, Algorithm 1, lines 57-67):
 * each grows linearly with the round, so that after the global stabilisation time some round
 * lasts long enough for every correct process to hear from every other.
 */

/** Timeouts of one validator, in milliseconds of the driver's clock. */
export type ConsensusTimeouts = {
  /** timeoutPropose(0): how long to wait for the round's proposal (line 21). */
  readonly proposeTimeoutMs: number;
  /** timeoutPrevote(0): how long to wait after 2f+1 prevotes of any value (line 34). */
  readonly prevoteTimeoutMs: number;
  /** timeoutPrecommit(0): how long to wait after 2f+1 precommits of any value (line 47). */
  readonly precommitTimeoutMs: number;
  /** How much each of the three timeouts grows per round (the paper's "increasing timeouts"). */
  readonly timeoutDeltaMs: number;
  /**
   * How often a validator re-sends its own messages of the current round and a status message.
   * The paper assumes reliable gossip; this stands in for it over a lossy network.
   */
  readonly rebroadcastIntervalMs: number;
};

/** Default timeouts for a LAN consortium (also what the simulator uses). */
export const defaultConsensusTimeouts: ConsensusTimeouts = {
  proposeTimeoutMs: 1000,
  prevoteTimeoutMs: 500,
  precommitTimeoutMs: 500,
  timeoutDeltaMs: 250,
  rebroadcastIntervalMs: 1000,
};

/** Bounds of the consensus state (TIGER_STYLE: every collection has a bound). */
export const consensusLimits = {
  /** Messages for rounds further than this above the current round are dropped (not stored). */
  roundsAheadMax: 16,
  /**
   * Other bodies of one invalid value checked per height: the header hash does not cover
   * `lastCommit`, so a peer can alter it in transit (decision 0010-consensus-gossip-and-catch-up).
   */
  revalidationsPerValueMax: 8,
  /** Upper bound on rule firings while handling one event; more means a bug (a rule loop). */
  ruleFiringsPerEventMax: 10_000,
  /**
   * A validator set handed in by the application while applying height h takes effect at height
   * h + this (decision 0010-consensus-validator-set-changes).
   */
  validatorSetChangeDelayHeights: 2,
} as const;

/** timeoutPropose(round) of Algorithm 1, line 21: grows by `timeoutDeltaMs` per round. */
export function proposeTimeoutMs(timeouts: ConsensusTimeouts, round: number): number {
  return timeouts.proposeTimeoutMs + round * timeouts.timeoutDeltaMs;
}

/** timeoutPrevote(round) of Algorithm 1, line 35. */
export function prevoteTimeoutMs(timeouts: ConsensusTimeouts, round: number): number {
  return timeouts.prevoteTimeoutMs + round * timeouts.timeoutDeltaMs;
}

/** timeoutPrecommit(round) of Algorithm 1, line 48. */
export function precommitTimeoutMs(timeouts: ConsensusTimeouts, round: number): number {
  return timeouts.precommitTimeoutMs + round * timeouts.timeoutDeltaMs;
}
