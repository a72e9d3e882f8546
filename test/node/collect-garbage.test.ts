// Checks the node's one-off full collection at the end of start-up (decision 0046): garbage left
// in the heap is freed at once, and no `gc` function is left on the global object.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { collectGarbageNow } from '../../src/node/index.ts';

/** A WeakRef's target is kept to the end of the job that made it (ECMA-262 §9.10): end it. */
function nextJob(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

test('collectGarbageNow frees unreachable objects and leaves no gc on the global object', async () => {
  const hadGc = 'gc' in globalThis;
  let garbage: unknown[] | null = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
  const weak = new WeakRef(garbage);
  garbage = null;
  await nextJob();
  collectGarbageNow();
  assert.equal(weak.deref(), undefined, 'the unreachable array was collected');
  assert.equal('gc' in globalThis, hadGc);
  // Twice in a row is as good as once: the flag is restored each time.
  collectGarbageNow();
  assert.equal('gc' in globalThis, hadGc);
});

test('collectGarbageNow keeps a reachable object', async () => {
  const kept = Array.from({ length: 1_000 }, (_, i) => ({ i }));
  const weak = new WeakRef(kept);
  await nextJob();
  collectGarbageNow();
  assert.equal(weak.deref(), kept);
});
