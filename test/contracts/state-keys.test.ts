// Checks the key helpers of the execution path against their plain definitions (fast-check):
// StateKeyCache returns stateKey's key for any namespace and parts, first time and again;
// u64Part is DataView's big-endian u64 and refuses what is not a safe non-negative integer;
// textPart is UTF-8; the block's value map keeps keys that share a prefix apart.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { AssertionFailedError, toHex, utf8 } from '../../src/base/index.ts';
import { StateNamespace, stateKey, textPart, u64Part } from '../../src/contracts/index.ts';
import { BlockState } from '../../src/contracts/block-state.ts';
import { CounterSchema } from '../../src/contracts/schemas.ts';
import { StateKeyCache, stateKeyCacheEntriesMax } from '../../src/contracts/state-keys.ts';
import { emptyStateRoot } from '../../src/merkle/index.ts';

const namespaces = Object.values(StateNamespace);

const partsArb = fc.array(fc.uint8Array({ maxLength: 70 }), { maxLength: 3 });

test('StateKeyCache.key is stateKey, for every namespace, on first use and when remembered', () => {
  const cache = new StateKeyCache();
  fc.assert(
    fc.property(fc.constantFrom(...namespaces), partsArb, (namespace, parts) => {
      const expected = toHex(stateKey(namespace, ...parts));
      assert.equal(toHex(cache.key(namespace, ...parts)), expected);
      // Again, now from memory; and with the parts' bytes copied into new arrays.
      assert.equal(toHex(cache.key(namespace, ...parts)), expected);
      assert.equal(toHex(cache.key(namespace, ...parts.map((part) => part.slice()))), expected);
    }),
    { numRuns: 400 },
  );
});

test('StateKeyCache keeps keys of different namespaces and part splits apart', () => {
  const cache = new StateKeyCache();
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 2, maxLength: 40 }), fc.nat(), (data, cut) => {
      const split = 1 + (cut % (data.length - 1));
      const whole = toHex(cache.key(StateNamespace.patient, data));
      const halves = toHex(
        cache.key(StateNamespace.patient, data.subarray(0, split), data.subarray(split)),
      );
      const elsewhere = toHex(cache.key(StateNamespace.nonce, data));
      assert.notEqual(whole, halves);
      assert.notEqual(whole, elsewhere);
      // The remembered keys are still the right ones afterwards.
      assert.equal(whole, toHex(stateKey(StateNamespace.patient, data)));
      assert.equal(elsewhere, toHex(stateKey(StateNamespace.nonce, data)));
    }),
    { numRuns: 200 },
  );
});

test('StateKeyCache past its bound still derives every key exactly', () => {
  const cache = new StateKeyCache();
  const part = (i: number) => u64Part(i);
  for (let i = 0; i < stateKeyCacheEntriesMax + 10; i++) cache.key(StateNamespace.nonce, part(i));
  for (const i of [0, 1, stateKeyCacheEntriesMax - 1, stateKeyCacheEntriesMax + 5]) {
    assert.equal(
      toHex(cache.key(StateNamespace.nonce, part(i))),
      toHex(stateKey(StateNamespace.nonce, part(i))),
    );
  }
});

test('u64Part is the 8-byte big-endian form of safe non-negative integers', () => {
  fc.assert(
    fc.property(fc.maxSafeNat(), (value) => {
      const expected = new Uint8Array(8);
      new DataView(expected.buffer).setBigUint64(0, BigInt(value));
      assert.equal(toHex(u64Part(value)), toHex(expected));
    }),
    { numRuns: 500 },
  );
  assert.equal(toHex(u64Part(0)), '0000000000000000');
  assert.equal(toHex(u64Part(Number.MAX_SAFE_INTEGER)), '001fffffffffffff');
  assert.equal(toHex(u64Part(2 ** 32)), '0000000100000000');
});

test('u64Part refuses negative, fractional and unsafe numbers', () => {
  for (const value of [-1, 1.5, 2 ** 53, Number.NaN]) {
    assert.throws(() => u64Part(value), AssertionFailedError, `${value}`);
  }
});

test('textPart is the UTF-8 of ASCII and of any other text', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' })), (text) => {
      assert.equal(toHex(textPart(text)), toHex(utf8(text)));
    }),
    { numRuns: 300 },
  );
  assert.equal(toHex(textPart('org-a')), toHex(utf8('org-a')));
  assert.equal(toHex(textPart('é')), 'c3a9');
});

test('the block keeps values of keys that share their first 30 bits apart', () => {
  const block = new BlockState(emptyStateRoot());
  // Keys with the same first four bytes (so the same 30-bit prefix) and different rest.
  const keys = Array.from({ length: 6 }, (_, i) => {
    const key = new Uint8Array(32).fill(i + 1);
    key.set([0xab, 0xcd, 0xef, 0x12], 0);
    return key;
  });
  keys.forEach((key, i) => block.setDeferred(key, CounterSchema, { count: i }));
  keys.forEach((key, i) => {
    assert.deepEqual(block.entry(key).decoded, { count: i });
  });
  // A key of the same prefix that was never set reads the (empty) committed state.
  const absent = new Uint8Array(32).fill(9);
  absent.set([0xab, 0xcd, 0xef, 0x12], 0);
  assert.equal(block.get(absent), null);
  // Every set key is written once, in the order first set.
  assert.deepEqual(
    block.entries().map((entry) => toHex(entry.key)),
    keys.map((key) => toHex(key)),
  );
});
