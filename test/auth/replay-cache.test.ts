// Checks the jti replay cache directly with a virtual clock: replays refused until expiry, and
// the bound on entries held under many distinct jtis (fast-check over random sequences).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { MemoryReplayCache, authLimits } from '../../src/auth/index.ts';

test('a key is fresh once, replayed until it expires, then fresh again', () => {
  const cache = new MemoryReplayCache({ entriesMax: 10 });
  assert.deepEqual(cache.remember({ key: 'k', expiresAtMs: 1_000, nowMs: 0 }), {
    outcome: 'fresh',
  });
  assert.deepEqual(cache.remember({ key: 'k', expiresAtMs: 5_000, nowMs: 999 }), {
    outcome: 'replayed',
  });
  assert.deepEqual(cache.remember({ key: 'k', expiresAtMs: 2_000, nowMs: 1_000 }), {
    outcome: 'fresh',
  });
  assert.deepEqual(cache.remember({ key: 'k', expiresAtMs: 2_000, nowMs: 1_500 }), {
    outcome: 'replayed',
  });
});

test('refuses new keys when full of live ones, and makes room as they expire', () => {
  const cache = new MemoryReplayCache({ entriesMax: 2 });
  assert.equal(cache.remember({ key: 'a', expiresAtMs: 1_000, nowMs: 0 }).outcome, 'fresh');
  assert.equal(cache.remember({ key: 'b', expiresAtMs: 3_000, nowMs: 0 }).outcome, 'fresh');
  assert.deepEqual(cache.remember({ key: 'c', expiresAtMs: 3_000, nowMs: 500 }), {
    outcome: 'full',
    retryAfterMs: 500,
  });
  // A full cache still recognises a replay.
  assert.equal(cache.remember({ key: 'b', expiresAtMs: 3_000, nowMs: 500 }).outcome, 'replayed');
  assert.equal(cache.remember({ key: 'c', expiresAtMs: 3_000, nowMs: 1_000 }).outcome, 'fresh');
  assert.equal(cache.size, 2);
});

test('rejects a bound that is not a positive integer', () => {
  for (const entriesMax of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new MemoryReplayCache({ entriesMax }), RangeError);
  }
});

test('the bound holds under many jtis at the configured size', () => {
  const cache = new MemoryReplayCache({ entriesMax: authLimits.replayCacheEntriesMax });
  let fresh = 0;
  let full = 0;
  for (let i = 0; i < authLimits.replayCacheEntriesMax * 2; i += 1) {
    const outcome = cache.remember({ key: `jti-${i}`, expiresAtMs: 300_000, nowMs: i }).outcome;
    if (outcome === 'fresh') fresh += 1;
    if (outcome === 'full') full += 1;
    assert.ok(cache.size <= authLimits.replayCacheEntriesMax);
  }
  assert.equal(fresh, authLimits.replayCacheEntriesMax);
  assert.equal(full, authLimits.replayCacheEntriesMax);
  // Once every entry has expired, the cache takes new keys again.
  assert.equal(
    cache.remember({ key: 'late', expiresAtMs: 400_000, nowMs: 300_000 }).outcome,
    'fresh',
  );
  assert.equal(cache.size, 1);
});

test('property: never more than entriesMax keys, and no live key is ever fresh twice', () => {
  const step = fc.record({
    key: fc.integer({ min: 0, max: 30 }).map(String),
    lifetimeMs: fc.integer({ min: 1, max: 50 }),
    advanceMs: fc.integer({ min: 0, max: 10 }),
  });
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.array(step, { maxLength: 200 }),
      (entriesMax, steps) => {
        const cache = new MemoryReplayCache({ entriesMax });
        const live = new Map<string, number>();
        let nowMs = 0;
        for (const { key, lifetimeMs, advanceMs } of steps) {
          nowMs += advanceMs;
          const check = cache.remember({ key, expiresAtMs: nowMs + lifetimeMs, nowMs });
          const until = live.get(key);
          if (until !== undefined && until > nowMs) assert.equal(check.outcome, 'replayed');
          if (check.outcome === 'fresh') live.set(key, nowMs + lifetimeMs);
          if (check.outcome === 'full') assert.ok(check.retryAfterMs > 0);
          assert.ok(cache.size <= entriesMax);
        }
      },
    ),
  );
});
