/**
 * Proposer rotation: `proposer(h, r)` of Algorithm 1 (line 14), a deterministic function of the
 * height's validator set. MedLedger's validators have equal weight (DESIGN.md "Consensus"), so
 * a round-robin over the canonical order is fair; it moves with both the height and the round so
 * that a faulty proposer costs at most one round.
 */
import type { ValidatorSet } from '../chain/index.ts';

/** The index in `validatorSet` of the proposer of (`height`, `round`). */
export function proposerIndexOf(options: {
  validatorSet: ValidatorSet;
  height: number;
  round: number;
}): number {
  const count = options.validatorSet.validators.length;
  return (options.height + options.round) % count;
}
