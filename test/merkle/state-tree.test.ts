// Checks the state tree's roots against a naive recursive definition hashed with node:crypto, and
// its updates, versions, copies and input checks, on fast-check key sets with long shared prefixes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import fc from 'fast-check';

import { AssertionFailedError, compareBytes, toHex } from '../../src/base/index.ts';
import {
  MemoryStateNodeStore,
  StateTreeError,
  StateTreeErrorCode,
  emptyStateRoot,
  stateBatchEntriesMax,
  stateTreeCopy,
  stateTreeEntries,
  stateTreeGet,
  stateTreeProve,
  stateTreeRootHash,
  stateTreeUpdate,
  stateValueBytesMax,
} from '../../src/merkle/index.ts';
import { bitOf, bytes32, deriveKey, keySetArbitrary } from './state-keys.ts';
import type {
  StateEntry,
  StateLeafWrite,
  StateNodeRef,
  StateNodeStore,
  StateRoot,
} from '../../src/merkle/index.ts';

// ---------------------------------------------------------------------------------------------
// The naive reference: the tree's definition read literally, hashed with node:crypto.

function nodeSha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/** Root of the set `pairs`: empty → zeros, one key → its leaf, more → split on the depth's bit. */
function referenceRoot(pairs: ReadonlyMap<string, StateEntry>): Uint8Array {
  const items = [...pairs.values()].map(({ key, value }) => ({
    key,
    valueHash: nodeSha256(value!),
  }));
  const subtree = (group: typeof items, depth: number): Uint8Array => {
    if (group.length === 0) return new Uint8Array(32);
    if (group.length === 1) {
      return nodeSha256(new Uint8Array([0x10]), group[0]!.key, group[0]!.valueHash);
    }
    const left = group.filter((item) => bitOf(item.key, depth) === 0);
    const right = group.filter((item) => bitOf(item.key, depth) === 1);
    return nodeSha256(new Uint8Array([0x11]), subtree(left, depth + 1), subtree(right, depth + 1));
  };
  return subtree(items, 0);
}

const valueArbitrary = fc.uint8Array({ maxLength: 40 });

function entriesOf(keys: readonly Uint8Array[], values: readonly Uint8Array[]): StateEntry[] {
  return keys.map((key, i) => ({ key, value: values[i % Math.max(values.length, 1)] ?? key }));
}

function mapOf(entries: readonly StateEntry[]): Map<string, StateEntry> {
  return new Map(entries.map((entry) => [toHex(entry.key), entry]));
}

const zeros32 = new Uint8Array(32);

function keyFromHex(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.padEnd(64, '0'), 'hex'));
}

// ---------------------------------------------------------------------------------------------

test('the root matches the naive recursive definition on random key sets', () => {
  fc.assert(
    fc.property(keySetArbitrary(48), fc.array(valueArbitrary, { maxLength: 8 }), (keys, values) => {
      const entries = entriesOf(keys, values);
      const root = stateTreeUpdate(emptyStateRoot(), entries);
      assert.deepEqual(stateTreeRootHash(root), referenceRoot(mapOf(entries)));
      assert.equal(root.keyCount, keys.length);
    }),
  );
});

test('the root changes when any one value, or the key set, changes', () => {
  fc.assert(
    fc.property(keySetArbitrary(24), fc.nat(), bytes32, (keys, pick, extraKey) => {
      fc.pre(keys.length > 0);
      const entries = entriesOf(keys, []);
      const root = stateTreeRootHash(stateTreeUpdate(emptyStateRoot(), entries));
      const changed = entries.map((entry, i) =>
        i === pick % entries.length ? { key: entry.key, value: new Uint8Array([1, 2, 3]) } : entry,
      );
      assert.notDeepEqual(stateTreeRootHash(stateTreeUpdate(emptyStateRoot(), changed)), root);
      const fewer = entries.filter((_, i) => i !== pick % entries.length);
      assert.notDeepEqual(stateTreeRootHash(stateTreeUpdate(emptyStateRoot(), fewer)), root);
      fc.pre(!keys.some((key) => compareBytes(key, extraKey) === 0));
      const more = [...entries, { key: extraKey, value: new Uint8Array(0) }];
      assert.notDeepEqual(stateTreeRootHash(stateTreeUpdate(emptyStateRoot(), more)), root);
    }),
  );
});

test('the root depends only on the final pairs, not on order, batching or interleaved deletes', () => {
  const operation = fc.record({
    key: fc.nat(),
    value: fc.option(valueArbitrary, { nil: null, freq: 3 }),
    cut: fc.boolean(),
  });
  fc.assert(
    fc.property(keySetArbitrary(24), fc.array(operation, { maxLength: 80 }), (keys, ops) => {
      fc.pre(keys.length > 0);
      // Apply the operations in batches cut at random points (and before a repeated key, since a
      // batch refuses duplicates), keeping a plain Map as the model.
      const model = new Map<string, StateEntry>();
      let root = emptyStateRoot();
      let batch: StateEntry[] = [];
      const flush = (): void => {
        root = stateTreeUpdate(root, batch);
        batch = [];
      };
      for (const op of ops) {
        const key = keys[op.key % keys.length]!;
        if (op.cut || batch.some((entry) => compareBytes(entry.key, key) === 0)) flush();
        batch.push({ key, value: op.value });
        if (op.value === null) model.delete(toHex(key));
        else model.set(toHex(key), { key, value: op.value });
      }
      flush();
      const final = [...model.values()];
      const oneBatch = stateTreeUpdate(emptyStateRoot(), [...final].reverse());
      assert.deepEqual(stateTreeRootHash(root), stateTreeRootHash(oneBatch));
      assert.deepEqual(stateTreeRootHash(root), referenceRoot(model));
      assert.equal(root.keyCount, model.size);
      const listed = [...stateTreeEntries(root)];
      const expected = final.sort((a, b) => compareBytes(a.key, b.key));
      assert.deepEqual(listed, expected);
      for (const key of keys) {
        assert.deepEqual(stateTreeGet(root, key), model.get(toHex(key))?.value ?? null);
      }
    }),
  );
});

test('the empty tree has the all-zero root and holds nothing', () => {
  const root = emptyStateRoot();
  assert.deepEqual(stateTreeRootHash(root), zeros32);
  assert.equal(root.keyCount, 0);
  assert.equal(stateTreeGet(root, zeros32), null);
  assert.deepEqual([...stateTreeEntries(root)], []);
  // Twin: one key makes the root non-zero.
  const one = stateTreeUpdate(root, [{ key: zeros32, value: new Uint8Array(0) }]);
  assert.notDeepEqual(stateTreeRootHash(one), zeros32);
});

test('a single key: the root is its leaf hash SHA-256(0x10 ‖ key ‖ SHA-256(value))', () => {
  const key = keyFromHex('c0ffee');
  const value = new TextEncoder().encode('consent:active');
  const root = stateTreeUpdate(emptyStateRoot(), [{ key, value }]);
  const leaf = nodeSha256(new Uint8Array([0x10]), key, nodeSha256(value));
  assert.deepEqual(stateTreeRootHash(root), leaf);
  assert.deepEqual(stateTreeGet(root, key), value);
  // Twin: a key that differs in its last bit is absent.
  const near = Uint8Array.from(key);
  near[31] = 1;
  assert.equal(stateTreeGet(root, near), null);
});

test('two keys differing only in the last bit split at depth 255 below 255 one-sided nodes', () => {
  const a = keyFromHex('5a'.repeat(31) + '00');
  const b = keyFromHex('5a'.repeat(31) + '01');
  const value = new Uint8Array([7]);
  const root = stateTreeUpdate(emptyStateRoot(), [
    { key: b, value },
    { key: a, value },
  ]);
  const leafHash = (key: Uint8Array) => nodeSha256(new Uint8Array([0x10]), key, nodeSha256(value));
  let expected = nodeSha256(new Uint8Array([0x11]), leafHash(a), leafHash(b));
  for (let depth = 254; depth >= 0; depth--) {
    expected =
      bitOf(a, depth) === 0
        ? nodeSha256(new Uint8Array([0x11]), expected, zeros32)
        : nodeSha256(new Uint8Array([0x11]), zeros32, expected);
  }
  assert.deepEqual(stateTreeRootHash(root), expected);
  assert.equal(stateTreeProve(root, a).proof.depth, 256);
  // Twin: deleting one of them leaves the other's leaf alone at the root.
  const single = stateTreeUpdate(root, [{ key: b, value: null }]);
  assert.deepEqual(stateTreeRootHash(single), leafHash(a));
  assert.equal(stateTreeProve(single, a).proof.depth, 0);
});

test('deleting every key, in several batches, gives back the empty root', () => {
  fc.assert(
    fc.property(keySetArbitrary(32), fc.nat({ max: 5 }), (keys, cuts) => {
      const full = stateTreeUpdate(emptyStateRoot(), entriesOf(keys, []));
      let root = full;
      const size = Math.ceil(keys.length / (cuts + 1));
      for (let i = 0; i < keys.length; i += Math.max(size, 1)) {
        root = stateTreeUpdate(
          root,
          keys.slice(i, i + size).map((key) => ({ key, value: null })),
        );
      }
      assert.deepEqual(stateTreeRootHash(root), zeros32);
      assert.equal(root.keyCount, 0);
      // Twin: the version before the deletes still holds every key.
      assert.equal(full.keyCount, keys.length);
      for (const key of keys) assert.notEqual(stateTreeGet(full, key), null);
    }),
  );
});

test('old versions keep their roots and values after later updates', () => {
  fc.assert(
    fc.property(
      keySetArbitrary(24),
      fc.array(fc.tuple(fc.nat(), fc.option(valueArbitrary, { nil: null })), { maxLength: 30 }),
      (keys, changes) => {
        fc.pre(keys.length > 0);
        const v1 = stateTreeUpdate(emptyStateRoot(), entriesOf(keys, []));
        const hash1 = stateTreeRootHash(v1);
        const before = keys.map((key) => stateTreeGet(v1, key));
        const batch = mapOf(
          changes.map(([pick, value]) => ({ key: keys[pick % keys.length]!, value })),
        );
        const v2 = stateTreeUpdate(v1, [...batch.values()]);
        assert.deepEqual(stateTreeRootHash(v1), hash1);
        assert.deepEqual(
          keys.map((key) => stateTreeGet(v1, key)),
          before,
        );
        for (const entry of batch.values()) {
          assert.deepEqual(stateTreeGet(v2, entry.key), entry.value);
        }
      },
    ),
  );
});

test('a batch that changes nothing returns the same node and writes none', () => {
  const store = new MemoryStateNodeStore();
  const keys = Array.from({ length: 40 }, (_, i) =>
    keyFromHex((i * 37).toString(16).padStart(4, '0')),
  );
  const root = stateTreeUpdate(emptyStateRoot(store), entriesOf(keys, []));
  const stats = store.stats();
  const noOp = stateTreeUpdate(root, [
    { key: keys[3]!, value: keys[3]! },
    { key: keyFromHex('ffff'), value: null },
    { key: keyFromHex('0001'), value: null },
  ]);
  assert.equal(noOp.ref, root.ref);
  assert.deepEqual(store.stats(), stats);
  // Twin: a new value for one key writes its leaf and the nodes above it, and changes the root.
  const changed = stateTreeUpdate(root, [{ key: keys[3]!, value: new Uint8Array([9]) }]);
  assert.notEqual(changed.ref, root.ref);
  assert.equal(store.stats().leaves, stats.leaves + 1);
  assert.ok(store.stats().internalNodes > stats.internalNodes);
  assert.notDeepEqual(stateTreeRootHash(changed), stateTreeRootHash(root));
});

test('a batch writes one node per touched position, shared by its keys', () => {
  const store = new MemoryStateNodeStore();
  // Four keys under one 200-bit shared prefix: one path of internal nodes down to their split.
  const base = keyFromHex('ab'.repeat(32));
  const keys = [201, 202, 203, 204].map((shared) => deriveKey(base, shared, base));
  stateTreeUpdate(emptyStateRoot(store), entriesOf(keys, []));
  const { internalNodes, leaves } = store.stats();
  assert.equal(leaves, 4);
  // 201 one-sided internal nodes (depths 0-200) above the first split, then the splits at
  // depths 201, 202 and 203: 204 internal nodes in all, each written once.
  assert.equal(internalNodes, 204);
  // Twin: one key per batch writes each path again.
  const separate = new MemoryStateNodeStore();
  let root = emptyStateRoot(separate);
  for (const key of keys) root = stateTreeUpdate(root, [{ key, value: key }]);
  assert.ok(separate.stats().internalNodes > internalNodes);
});

test('update, get and prove refuse keys that are not 32 bytes, naming the argument', () => {
  const root = stateTreeUpdate(emptyStateRoot(), [{ key: zeros32, value: zeros32 }]);
  const invalid = (pattern: RegExp) => (error: unknown) =>
    error instanceof StateTreeError &&
    error.code === StateTreeErrorCode.argumentInvalid &&
    pattern.test(error.message);
  for (const length of [0, 31, 33]) {
    const key = new Uint8Array(length);
    assert.throws(
      () =>
        stateTreeUpdate(root, [
          { key: zeros32, value: null },
          { key, value: zeros32 },
        ]),
      invalid(new RegExp(`entries\\[1\\]\\.key: expected 32 bytes, found ${length}`)),
    );
    assert.throws(() => stateTreeGet(root, key), invalid(/key: expected 32 bytes/));
    assert.throws(() => stateTreeProve(root, key), invalid(/key: expected 32 bytes/));
  }
  const notBytes = [...zeros32] as unknown as Uint8Array;
  assert.throws(
    () => stateTreeUpdate(root, [{ key: notBytes, value: null }]),
    invalid(/entries\[0\]\.key: expected a 32-byte Uint8Array, found array\(32\)/),
  );
  // Twin: the same calls with a 32-byte key succeed.
  assert.deepEqual(stateTreeGet(root, zeros32), zeros32);
  assert.equal(stateTreeUpdate(root, [{ key: zeros32, value: null }]).keyCount, 0);
});

test('update refuses bad values, bad entries and oversized batches', () => {
  const root = emptyStateRoot();
  const invalid = (pattern: RegExp) => (error: unknown) =>
    error instanceof StateTreeError &&
    error.code === StateTreeErrorCode.argumentInvalid &&
    pattern.test(error.message);
  const tooLong = new Uint8Array(stateValueBytesMax + 1);
  assert.throws(
    () => stateTreeUpdate(root, [{ key: zeros32, value: tooLong }]),
    invalid(new RegExp(`entries\\[0\\]\\.value: expected at most ${stateValueBytesMax} bytes`)),
  );
  const undefinedValue = { key: zeros32 } as unknown as StateEntry;
  assert.throws(
    () => stateTreeUpdate(root, [undefinedValue]),
    invalid(/entries\[0\]\.value: expected a Uint8Array, found undefined/),
  );
  assert.throws(
    () => stateTreeUpdate(root, [null as unknown as StateEntry]),
    invalid(/entries\[0\]: expected \{ key, value \}, found null/),
  );
  assert.throws(
    () => stateTreeUpdate(root, 'abc' as unknown as StateEntry[]),
    invalid(/entries: expected an array, found string/),
  );
  const entry = { key: zeros32, value: null };
  assert.throws(
    () => stateTreeUpdate(root, new Array<StateEntry>(stateBatchEntriesMax + 1).fill(entry)),
    invalid(new RegExp(`expected at most ${stateBatchEntriesMax} entries, found`)),
  );
  assert.throws(
    () => stateTreeRootHash({ store: new MemoryStateNodeStore(), ref: 0.5, keyCount: 0 }),
    invalid(/root: expected a StateRoot/),
  );
  // Twin: a value of exactly the maximum length is stored and read back.
  const largest = new Uint8Array(stateValueBytesMax).fill(3);
  const stored = stateTreeUpdate(root, [{ key: zeros32, value: largest }]);
  assert.deepEqual(stateTreeGet(stored, zeros32), largest);
});

test('duplicate keys in one batch are refused before anything is written', () => {
  const store = new MemoryStateNodeStore();
  const root = emptyStateRoot(store);
  const key = keyFromHex('0badcafe');
  const entries: StateEntry[] = [
    { key, value: new Uint8Array([1]) },
    { key: keyFromHex('01'), value: new Uint8Array([2]) },
    { key: Uint8Array.from(key), value: null },
  ];
  assert.throws(
    () => stateTreeUpdate(root, entries),
    (error: unknown) =>
      error instanceof StateTreeError &&
      error.code === StateTreeErrorCode.duplicateKey &&
      /expected distinct keys, found entries\[0\] and entries\[2\] both with key 0badcafe/.test(
        error.message,
      ),
  );
  assert.deepEqual(store.stats().leaves, 0);
  // Twin: the same writes in two batches are accepted, and the later one wins.
  const first = stateTreeUpdate(root, entries.slice(0, 2));
  const second = stateTreeUpdate(first, entries.slice(2));
  assert.equal(stateTreeGet(second, key), null);
  assert.equal(second.keyCount, 1);
});

test('values read back are copies: changing them does not change the tree', () => {
  const value = new Uint8Array([1, 2, 3]);
  const root = stateTreeUpdate(emptyStateRoot(), [{ key: zeros32, value }]);
  const hash = stateTreeRootHash(root);
  value[0] = 99;
  stateTreeGet(root, zeros32)![1] = 99;
  stateTreeRootHash(root)[0]! ^= 1;
  assert.deepEqual(stateTreeGet(root, zeros32), new Uint8Array([1, 2, 3]));
  assert.deepEqual(stateTreeRootHash(root), hash);
});

test('stateTreeCopy copies versions with their roots, sharing nodes between consecutive ones', () => {
  fc.assert(
    fc.property(keySetArbitrary(24), fc.array(fc.nat(), { maxLength: 12 }), (keys, picks) => {
      fc.pre(keys.length > 1);
      const source = new MemoryStateNodeStore();
      const versions: StateRoot[] = [stateTreeUpdate(emptyStateRoot(source), entriesOf(keys, []))];
      for (const pick of picks) {
        const key = keys[pick % keys.length]!;
        const value = pick % 3 === 0 ? null : new Uint8Array([pick & 255]);
        versions.push(stateTreeUpdate(versions[versions.length - 1]!, [{ key, value }]));
      }
      const target = new MemoryStateNodeStore();
      const copies = stateTreeCopy({ roots: versions, to: target });
      assert.equal(copies.length, versions.length);
      versions.forEach((version, i) => {
        const copy = copies[i]!;
        assert.equal(copy.store, target);
        assert.equal(copy.keyCount, version.keyCount);
        assert.deepEqual(stateTreeRootHash(copy), stateTreeRootHash(version));
        assert.deepEqual([...stateTreeEntries(copy)], [...stateTreeEntries(version)]);
      });
      // Sharing: the copy holds no more nodes than the source (it holds fewer when a leaf moved
      // up and was copied again, never more than one full tree per version).
      assert.ok(target.stats().internalNodes <= source.stats().internalNodes);
      // Compaction: copying only the last version keeps one tree's nodes.
      const compact = new MemoryStateNodeStore();
      const [last] = stateTreeCopy({ roots: versions.slice(-1), to: compact });
      assert.deepEqual(stateTreeRootHash(last!), stateTreeRootHash(versions.at(-1)!));
      assert.equal(compact.stats().leaves, versions.at(-1)!.keyCount);
    }),
    { numRuns: 40 },
  );
});

test('stateTreeCopy stops on a source whose stored value no longer matches its leaf hash', () => {
  const source = new MemoryStateNodeStore();
  const keys = [keyFromHex('10'), keyFromHex('20'), keyFromHex('30')];
  const root = stateTreeUpdate(emptyStateRoot(source), entriesOf(keys, []));
  /** A store that returns one value altered, as a corrupted disk would. */
  class CorruptStore implements StateNodeStore {
    writeInternal = (l: StateNodeRef, r: StateNodeRef, h: Uint8Array) =>
      source.writeInternal(l, r, h);
    writeLeaf = (leaf: StateLeafWrite) => source.writeLeaf(leaf);
    copyHash = (ref: StateNodeRef, target: Uint8Array, offset: number) =>
      source.copyHash(ref, target, offset);
    readHash = (ref: StateNodeRef) => source.readHash(ref);
    leftChild = (ref: StateNodeRef) => source.leftChild(ref);
    rightChild = (ref: StateNodeRef) => source.rightChild(ref);
    readLeafKey = (ref: StateNodeRef) => source.readLeafKey(ref);
    readLeafValueHash = (ref: StateNodeRef) => source.readLeafValueHash(ref);
    readLeafValue = (ref: StateNodeRef): Uint8Array => {
      const value = source.readLeafValue(ref);
      value[0]! ^= 1;
      return value;
    };
  }
  const corrupt: StateRoot = { ...root, store: new CorruptStore() };
  assert.throws(
    () => stateTreeCopy({ roots: [corrupt], to: new MemoryStateNodeStore() }),
    (error: unknown) =>
      error instanceof AssertionFailedError && /stored leaf matches its hash/.test(error.message),
  );
  assert.throws(
    () => stateTreeCopy({ roots: 'x' as unknown as StateRoot[], to: source }),
    (error: unknown) =>
      error instanceof StateTreeError && /roots: expected an array/.test(error.message),
  );
  // Twin: the intact source copies.
  const [copy] = stateTreeCopy({ roots: [root], to: new MemoryStateNodeStore() });
  assert.deepEqual(stateTreeRootHash(copy!), stateTreeRootHash(root));
});

test('a small memory store stays small, a large one grows in pages', () => {
  const store = new MemoryStateNodeStore();
  stateTreeUpdate(emptyStateRoot(store), [{ key: zeros32, value: new Uint8Array(10) }]);
  // One leaf: the first 16-node pages of the leaf columns and one 4 KiB value chunk.
  assert.ok(store.stats().bytesAllocated < 8 * 1024, `${store.stats().bytesAllocated} bytes`);
  // Twin: 5,000 keys need more, but within 2× of the packed size (growth doubles).
  const big = new MemoryStateNodeStore();
  const keys = Array.from({ length: 5000 }, (_, i) =>
    nodeSha256(new Uint8Array([i >> 8, i & 255])),
  );
  stateTreeUpdate(emptyStateRoot(big), entriesOf(keys, [new Uint8Array(8)]));
  const { internalNodes, leaves, bytesAllocated } = big.stats();
  const packed = internalNodes * 40 + leaves * (108 + 8);
  assert.ok(bytesAllocated >= packed && bytesAllocated < 2 * packed + 8192, `${bytesAllocated}`);
});
