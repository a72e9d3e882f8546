// Checks the in-memory node store's value chunks (decision 0045) on small trees: one value array
// written under two keys is stored once, a changed array is not shared, and a copy either shares
// the source's chunks or copies each shared value once, with every value and root unchanged.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  MemoryStateNodeStore,
  type StateEntry,
  type StateNodeRef,
  type StateRoot,
  emptyStateRoot,
  stateEmptyRef,
  stateTreeGet,
  stateTreeRootHash,
  stateTreeUpdate,
} from '../../src/merkle/index.ts';

/** Key `i`: 32 bytes, distinct first bytes spread over the tree. */
function keyOf(i: number): Uint8Array {
  const key = new Uint8Array(32);
  key[0] = (i * 97) & 0xff;
  key[1] = i >> 8;
  key[2] = i & 0xff;
  return key;
}

/** A 150-byte value for pair `i` (about an anchored record version). */
function valueOf(i: number): Uint8Array {
  return Uint8Array.from({ length: 150 }, (_, j) => (i * 31 + j) & 0xff);
}

/** Pairs of keys (2i, 2i + 1) holding pair i's value: one array for both, or two copies. */
function pairEntries(pairs: number, options: { oneArray: boolean }): StateEntry[] {
  return Array.from({ length: pairs }, (_, i) => {
    const value = valueOf(i);
    return [
      { key: keyOf(2 * i), value },
      { key: keyOf(2 * i + 1), value: options.oneArray ? value : value.slice() },
    ];
  }).flat();
}

/** Copies the tree under `ref` from `from` into `to` with the compaction's fast paths. */
function copyTree(
  from: MemoryStateNodeStore,
  to: MemoryStateNodeStore,
  ref: StateNodeRef,
): StateNodeRef {
  if (ref === stateEmptyRef) return ref;
  if (ref < 0) return to.copyLeafFrom(from, ref);
  const left = copyTree(from, to, from.leftChild(ref));
  const right = copyTree(from, to, from.rightChild(ref));
  return to.copyInternalFrom(from, ref, left, right);
}

function assertPairsRead(root: StateRoot, pairs: number): void {
  for (let i = 0; i < pairs; i++) {
    assert.deepEqual(stateTreeGet(root, keyOf(2 * i)), valueOf(i), `key ${2 * i}`);
    assert.deepEqual(stateTreeGet(root, keyOf(2 * i + 1)), valueOf(i), `key ${2 * i + 1}`);
  }
}

test('one value array written under two keys is stored once, with the same root as two copies', () => {
  const pairs = 300;
  const shared = new MemoryStateNodeStore();
  const sharedRoot = stateTreeUpdate(
    emptyStateRoot(shared),
    pairEntries(pairs, { oneArray: true }),
  );
  const separate = new MemoryStateNodeStore();
  const separateRoot = stateTreeUpdate(
    emptyStateRoot(separate),
    pairEntries(pairs, { oneArray: false }),
  );
  assert.deepEqual(stateTreeRootHash(sharedRoot), stateTreeRootHash(separateRoot));
  assertPairsRead(sharedRoot, pairs);
  assertPairsRead(separateRoot, pairs);
  assert.equal(shared.stats().sharedValues, pairs);
  assert.equal(separate.stats().sharedValues, 0);
  assert.ok(
    shared.stats().valueBytesAllocated < separate.stats().valueBytesAllocated,
    `${shared.stats().valueBytesAllocated} < ${separate.stats().valueBytesAllocated}`,
  );
  assert.equal(
    shared.stats().bytesAllocated,
    shared.stats().nodeBytesAllocated + shared.stats().valueBytesAllocated,
  );
});

test('an array changed after it was written is stored again, not shared', () => {
  const store = new MemoryStateNodeStore();
  const value = valueOf(1);
  const first = stateTreeUpdate(emptyStateRoot(store), [{ key: keyOf(1), value }]);
  value[0] = value[0]! ^ 0xff;
  const second = stateTreeUpdate(first, [{ key: keyOf(2), value }]);
  assert.equal(store.stats().sharedValues, 0);
  assert.deepEqual(stateTreeGet(second, keyOf(1)), valueOf(1));
  assert.deepEqual(stateTreeGet(second, keyOf(2)), value);
  const reference = stateTreeUpdate(emptyStateRoot(new MemoryStateNodeStore()), [
    { key: keyOf(1), value: valueOf(1) },
    { key: keyOf(2), value: value.slice() },
  ]);
  assert.deepEqual(stateTreeRootHash(second), stateTreeRootHash(reference));
});

test('a copy sharing the value chunks copies no value byte; one with its own copies each once', () => {
  const pairs = 200;
  const source = new MemoryStateNodeStore();
  const root = stateTreeUpdate(emptyStateRoot(source), pairEntries(pairs, { oneArray: true }));
  // Garbage: a second version overwrites half the pairs' values, so the first version's values
  // of those keys are still in the chunks.
  const next = stateTreeUpdate(
    root,
    Array.from({ length: pairs / 2 }, (_, i) => ({ key: keyOf(2 * i), value: valueOf(1000 + i) })),
  );
  const distinctBytes = pairs * 150;
  const liveBytes = (pairs / 2) * 150 + pairs * 150;

  const sharing = new MemoryStateNodeStore({ sharingValuesOf: source });
  assert.ok(sharing.sharesValuesWith(source));
  const sharedCopy: StateRoot = {
    store: sharing,
    ref: copyTree(source, sharing, root.ref),
    keyCount: root.keyCount,
  };
  assert.equal(sharing.endCopy(), distinctBytes);
  assert.equal(sharing.stats().valueBytesAllocated, source.stats().valueBytesAllocated);
  assert.deepEqual(stateTreeRootHash(sharedCopy), stateTreeRootHash(root));
  assertPairsRead(sharedCopy, pairs);

  const own = new MemoryStateNodeStore();
  assert.ok(!own.sharesValuesWith(source));
  const ownCopy: StateRoot = {
    store: own,
    ref: copyTree(source, own, next.ref),
    keyCount: next.keyCount,
  };
  // Each value the version points to once: the pairs left alone still share theirs.
  assert.equal(own.endCopy(), liveBytes);
  assert.equal(own.stats().sharedValues, pairs / 2);
  assert.ok(own.stats().valueBytesAllocated <= source.stats().valueBytesAllocated);
  assert.deepEqual(stateTreeRootHash(ownCopy), stateTreeRootHash(next));
  for (let i = 0; i < pairs; i++) {
    const overwritten = i < pairs / 2;
    assert.deepEqual(
      stateTreeGet(ownCopy, keyOf(2 * i)),
      overwritten ? valueOf(1000 + i) : valueOf(i),
    );
    assert.deepEqual(stateTreeGet(ownCopy, keyOf(2 * i + 1)), valueOf(i));
  }
  // The copy is a store like any other: writing to it leaves the source's versions unchanged.
  const after = stateTreeUpdate(ownCopy, [{ key: keyOf(1), value: valueOf(7) }]);
  assert.deepEqual(stateTreeGet(after, keyOf(1)), valueOf(7));
  assert.deepEqual(stateTreeGet(next, keyOf(1)), valueOf(0));
  // Twin: copying a reference that is not a leaf of the source is a programmer error.
  assert.throws(() => own.copyLeafFrom(source, 5), /ref names a stored leaf of the source/);
});
