// Checks the node's Prometheus registry directly: the garbage-collection counter grows with the
// process's real collections (young garbage made here), by kind, and two registries share it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';

import { createNodeMetrics } from '../../src/node/metrics.ts';

function metricsOf() {
  return createNodeMetrics({
    height: () => 3,
    round: () => 0,
    peers: () => 2,
    mempoolSize: () => 0,
    mempoolBytes: () => 0,
    stateStoreBytes: () => 0,
    stateKeys: () => 0,
  });
}

/** The value of `medledger_gc_seconds_total{kind="…"}` in a scrape, or null when absent. */
function gcSecondsOf(text: string, kind: string): number | null {
  const match = new RegExp(`^medledger_gc_seconds_total\\{kind="${kind}"\\} (\\S+)$`, 'm').exec(
    text,
  );
  return match === null ? null : Number(match[1]);
}

test('medledger_gc_seconds_total counts the pauses of real collections, by kind', async () => {
  const first = metricsOf();
  const before = gcSecondsOf(await first.registry.metrics(), 'minor');
  assert.notEqual(before, null);
  // Enough short-lived objects to fill the young generation several times over.
  let kept = 0;
  for (let round = 0; round < 50; round++) {
    const garbage = Array.from({ length: 20_000 }, (_, index) => ({ index, text: `${index}` }));
    kept += garbage.length;
  }
  assert.equal(kept, 1_000_000);
  // Performance entries reach observers after the turn that made them.
  await nextTurn();
  await nextTurn();
  const text = await first.registry.metrics();
  const after = gcSecondsOf(text, 'minor');
  assert.ok(after !== null && before !== null && after > before, `minor: ${before} → ${after}`);
  for (const kind of ['major', 'incremental', 'weakcb']) {
    const value = gcSecondsOf(text, kind);
    assert.ok(value !== null && value >= 0, `${kind}: ${value}`);
  }
  // The twin: no kind outside V8's four, and a second node's registry reads the same process.
  assert.equal(gcSecondsOf(text, 'other'), null);
  const second = metricsOf();
  const shared = gcSecondsOf(await second.registry.metrics(), 'minor');
  assert.ok(shared !== null && shared >= after, `second registry: ${shared}`);
});
