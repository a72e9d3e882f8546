// The public surface of src/sim, curated by hand: the deterministic network simulator, its
// invariant checkers and its PRNG.
export { type SimulationOptions, type SimulationResult, runSimulation } from './run-simulation.ts';
export {
  type Violation,
  type SafetyInvariant,
  safetyInvariants,
  InvariantChecker,
} from './invariants.ts';
export { type FaultProfile, simLimits, simTimeouts, drawFaultProfile } from './config.ts';
export { Prng } from './prng.ts';
export { byzantineBehaviours, type ByzantineBehaviour } from './byzantine.ts';
export { simChainId, SimChain } from './application.ts';
