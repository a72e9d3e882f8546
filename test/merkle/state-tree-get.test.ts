// Checks that stateTreeGet's walk over the in-memory store (one loop over its pages) reads what
// the generic walk over the StateNodeStore interface reads, for random trees with deep shared
// prefixes: present keys give their values, absent keys (including ones that end at another
// key's leaf) give null, at every version (fast-check).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { toHex } from '../../src/base/index.ts';
import {
  MemoryStateNodeStore,
  type StateNodeStore,
  emptyStateRoot,
  stateTreeGet,
  stateTreeUpdate,
} from '../../src/merkle/index.ts';
import { bytes32, deriveKey, keySetArbitrary } from './state-keys.ts';

/** The same store behind the plain interface, so `stateTreeGet` takes its generic path. */
function generic(store: MemoryStateNodeStore): StateNodeStore {
  return {
    writeInternal: (left, right, hash) => store.writeInternal(left, right, hash),
    writeLeaf: (leaf) => store.writeLeaf(leaf),
    copyHash: (ref, target, offset) => store.copyHash(ref, target, offset),
    readHash: (ref) => store.readHash(ref),
    leftChild: (ref) => store.leftChild(ref),
    rightChild: (ref) => store.rightChild(ref),
    readLeafKey: (ref) => store.readLeafKey(ref),
    readLeafValueHash: (ref) => store.readLeafValueHash(ref),
    readLeafValue: (ref) => store.readLeafValue(ref),
  };
}

const show = (value: Uint8Array | null) => (value === null ? null : toHex(value));

test('stateTreeGet reads the same values through the memory store and the plain interface', () => {
  fc.assert(
    fc.property(
      keySetArbitrary(40),
      fc.array(bytes32, { maxLength: 10 }),
      fc.integer({ min: 0, max: 255 }),
      (keys, others, shared) => {
        const store = new MemoryStateNodeStore();
        const half = Math.floor(keys.length / 2);
        const first = stateTreeUpdate(
          emptyStateRoot(store),
          keys.slice(0, half).map((key, i) => ({ key, value: Uint8Array.of(i, 1) })),
        );
        const second = stateTreeUpdate(
          first,
          keys.slice(half).map((key, i) => ({ key, value: Uint8Array.of(i, 2) })),
        );
        // Absent keys: random ones, and ones sharing a long prefix with a present key (their
        // walk ends at that key's leaf).
        const absent = [...others, ...keys.slice(0, 3).map((key) => deriveKey(key, shared, key))];
        for (const root of [first, second]) {
          const plain = { ...root, store: generic(store) };
          for (const key of [...keys, ...absent]) {
            assert.equal(show(stateTreeGet(root, key)), show(stateTreeGet(plain, key)));
          }
        }
        // And the values are the ones written (so both paths cannot agree on nonsense).
        keys.forEach((key, i) => {
          const expected = i < half ? Uint8Array.of(i, 1) : Uint8Array.of(i - half, 2);
          assert.equal(show(stateTreeGet(second, key)), toHex(expected));
          assert.equal(show(stateTreeGet(first, key)), i < half ? toHex(expected) : null);
        });
      },
    ),
    { numRuns: 150 },
  );
});
