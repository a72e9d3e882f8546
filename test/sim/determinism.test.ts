// Checks that a seed alone replays a run byte for byte (same trace and figures) and that different seeds give different runs; and the PRNG's range helpers.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Prng, runSimulation } from '../../src/sim/index.ts';

test('the same seed replays the same run, trace line for trace line', () => {
  const options = { seed: 4242, validatorCount: 4, byzantineCount: 1 };
  const first = runSimulation(options);
  const second = runSimulation(options);
  assert.deepEqual(second.trace, first.trace);
  assert.deepEqual(second.stats, first.stats);
  assert.equal(second.steps, first.steps);
});

test('twin: different seeds give different runs', () => {
  const a = runSimulation({ seed: 1, validatorCount: 4, byzantineCount: 1 });
  const b = runSimulation({ seed: 2, validatorCount: 4, byzantineCount: 1 });
  assert.notDeepEqual(a.trace, b.trace);
});

test('the PRNG stays in range and depends on its seed only', () => {
  const a = new Prng(7);
  const b = new Prng(7);
  for (let i = 0; i < 1000; i++) {
    const value = a.between(3, 9);
    assert.equal(value, b.between(3, 9));
    assert.ok(value >= 3 && value <= 9, `between(3, 9) gave ${value}`);
  }
  assert.notEqual(new Prng(8).nextUint32(), new Prng(7).nextUint32());
});

test('a simulation refuses more than f Byzantine validators', () => {
  assert.throws(
    () => runSimulation({ seed: 1, validatorCount: 4, byzantineCount: 2 }),
    /at most f/,
  );
});
