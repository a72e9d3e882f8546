// Shared by the seed-sweep tests: runs a range of seeds and fails naming the seed, the broken invariant and the trace.
import assert from 'node:assert/strict';

import { runSimulation } from '../../src/sim/index.ts';

/** Runs seeds `first` … `first + count − 1`; asserts no safety violation and no liveness failure. */
export function sweepSeeds(options: {
  first: number;
  count: number;
  validatorCount: number;
  byzantineCount: number;
}): void {
  let heights = 0;
  for (let seed = options.first; seed < options.first + options.count; seed++) {
    const result = runSimulation({
      seed,
      validatorCount: options.validatorCount,
      byzantineCount: options.byzantineCount,
    });
    const problems = [
      ...result.violations.map((v) => `${v.invariant}: ${v.detail}`),
      ...result.livenessFailures.map((failure) => `liveness: ${failure}`),
    ];
    assert.deepEqual(
      problems,
      [],
      `seed ${seed} (${options.validatorCount}/${options.byzantineCount}) failed; replay with: npm run sim -- --seeds 1 --seed ${seed} --validators ${options.validatorCount} --byzantine ${options.byzantineCount}\n${result.trace.slice(-40).join('\n')}`,
    );
    heights += result.heightReached;
  }
  // Every run must make progress, or the sweep would pass vacuously.
  assert.ok(
    heights >= options.count * 2,
    `seeds reached ${heights} heights in all, expected at least ${options.count * 2}`,
  );
}
