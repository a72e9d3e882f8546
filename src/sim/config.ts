/**
 * The simulator's tunable numbers, named with their units, and the per-seed fault profile drawn
 * from the seed's PRNG.
 */
import type { ConsensusTimeouts } from '../consensus/index.ts';
import type { Prng } from './prng.ts';

/** Bounds and fixed parameters of a simulation run. */
export const simLimits = {
  /** Largest number of pending events (deliveries and timers) at once. */
  queuedEventsMax: 500_000,
  /** Largest number of events one node handles in a row from its local queue. */
  localEventsPerStepMax: 10_000,
  /** Simulated steps (agenda entries) at most per run: a runaway run is a failure, not a hang. */
  stepsMax: 2_000_000,
  /** Trace lines kept (the most recent), printed with a violation. */
  traceLinesMax: 400,
  /** Messages kept for Byzantine replay. */
  replayPoolMax: 256,
  /** Message delay bound after the global stabilisation time (the paper's Δ), in ms. */
  deltaMs: 100,
  /** Smallest message delay, in ms. */
  delayMinMs: 1,
  /** Longest "long" delay before the stabilisation time, in ms (unbounded in the model). */
  longDelayMaxMs: 20_000,
  /** The stabilisation time is drawn from this range, in ms of virtual time. */
  gstMinMs: 3_000,
  gstMaxMs: 15_000,
  /** After stabilisation, every honest node must commit this many new heights… */
  livenessHeightsMin: 2,
  /** …within this much virtual time, in ms. */
  livenessWindowMs: 60_000,
  /** Restart delay range after a crash, in ms (every crashed node is back by stabilisation). */
  restartDelayMinMs: 200,
  restartDelayMaxMs: 4_000,
} as const;

/** Consensus timeouts in the simulator: the defaults scaled to the simulated Δ. */
export const simTimeouts: ConsensusTimeouts = {
  proposeTimeoutMs: 400,
  prevoteTimeoutMs: 200,
  precommitTimeoutMs: 200,
  timeoutDeltaMs: 100,
  rebroadcastIntervalMs: 500,
};

/** Fault intensities of one run; each is drawn per seed, all kinds present in every run. */
export type FaultProfile = {
  /** Before stabilisation: probability that a message is lost. */
  readonly lossProbability: number;
  /** Probability that a message is delivered twice (before and after stabilisation). */
  readonly duplicateProbability: number;
  /** Before stabilisation: probability of a long delay (up to `longDelayMaxMs`). */
  readonly longDelayProbability: number;
  /** Before stabilisation: number of partitions that split the network and later heal. */
  readonly partitionCount: number;
  /** Before stabilisation: probability that an honest node crashes before one of its actions. */
  readonly crashPerActionProbability: number;
  /** Probability that a Byzantine node misbehaves on one of its messages. */
  readonly byzantineProbability: number;
  /** Virtual time of global stabilisation, in ms. */
  readonly gstMs: number;
};

/** Draws the fault profile of a run. */
export function drawFaultProfile(prng: Prng): FaultProfile {
  return {
    lossProbability: prng.float() * 0.3,
    duplicateProbability: prng.float() * 0.15,
    longDelayProbability: prng.float() * 0.2,
    partitionCount: prng.between(0, 3),
    crashPerActionProbability: prng.float() * 0.004,
    byzantineProbability: 0.2 + prng.float() * 0.6,
    gstMs: prng.between(simLimits.gstMinMs, simLimits.gstMaxMs),
  };
}
