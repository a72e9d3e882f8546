// Checks the in-memory node store's regions (decision 0066): every node of a key region has its
// descendants in that region; copying one region at a time (`beginRegionCopy` … `copyLeafFrom`
// / `copyInternalFrom` … `finishRegionCopy`) gives a store in which the kept versions read and
// hash as before, while the store it came from still serves every version it held, even when
// written to afterwards; after all sixteen regions the store holds exactly the live nodes; and
// during one region's copy the store grows by about that region's share, not by the state.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import fc from 'fast-check';

import {
  MemoryStateNodeStore,
  type StateEntry,
  type StateNodeRef,
  type StateRoot,
  emptyStateRoot,
  isStateProofValid,
  memoryStateRegions,
  memoryStateTopRegion,
  stateEmptyRef,
  stateTreeGet,
  stateTreeProve,
  stateTreeRootHash,
  stateTreeUpdate,
} from '../../src/merkle/index.ts';

/** Key `i`: SHA-256 of its number, so keys spread over the regions as contract keys do. */
function keyOf(i: number): Uint8Array {
  return createHash('sha256').update(`key ${i}`).digest();
}

function valueOf(i: number, version: number): Uint8Array {
  return Uint8Array.from({ length: 20 + (i % 60) }, (_, j) => (i * 31 + version * 7 + j) & 0xff);
}

/** The model of a version: key number → value. */
type Model = Map<number, Uint8Array>;

/**
 * Copies the nodes of `region` and of the top reachable from `ref` into the fresh pages of a
 * region copy, sharing the other regions' subtrees; `copied` remembers what was copied (the
 * versions share nodes, as the store's own compaction does with its twins).
 */
function copyRegion(
  store: MemoryStateNodeStore,
  ref: StateNodeRef,
  copied: Map<StateNodeRef, StateNodeRef>,
): StateNodeRef {
  if (ref === stateEmptyRef || !store.copiesInRegionCopy(ref)) return ref;
  const done = copied.get(ref);
  if (done !== undefined) return done;
  let copy: StateNodeRef;
  if (ref < 0) {
    copy = store.copyLeafFrom(store, ref);
  } else {
    const left = copyRegion(store, store.leftChild(ref), copied);
    const right = copyRegion(store, store.rightChild(ref), copied);
    copy = store.copyInternalFrom(store, ref, left, right);
  }
  copied.set(ref, copy);
  return copy;
}

/** Compacts `region` of the versions `kept` (all in one store); returns them in the new store. */
function compactRegion(kept: readonly StateRoot[], region: number): StateRoot[] {
  const store = kept[0]!.store as MemoryStateNodeStore;
  store.beginRegionCopy(region);
  const copied = new Map<StateNodeRef, StateNodeRef>();
  const refs = kept.map((root) => copyRegion(store, root.ref, copied));
  const next = store.finishRegionCopy();
  return kept.map((root, index) => ({ store: next, ref: refs[index]!, keyCount: root.keyCount }));
}

function assertReads(root: StateRoot, model: Model, keys: number, label: string): void {
  assert.equal(root.keyCount, model.size, `${label}: key count`);
  for (let i = 0; i < keys; i++) {
    const value = stateTreeGet(root, keyOf(i));
    assert.deepEqual(value, model.get(i) ?? null, `${label}: key ${i}`);
  }
}

/** Distinct internal nodes and leaves reachable from the roots. */
function reachable(roots: readonly StateRoot[]): { internal: number; leaves: number } {
  const seen = new Set<StateNodeRef>();
  const store = roots[0]!.store as MemoryStateNodeStore;
  const stack = roots.map((root) => root.ref);
  while (stack.length > 0) {
    const ref = stack.pop()!;
    if (ref === stateEmptyRef || seen.has(ref)) continue;
    seen.add(ref);
    if (ref > 0) stack.push(store.leftChild(ref), store.rightChild(ref));
  }
  const internal = [...seen].filter((ref) => ref > 0).length;
  return { internal, leaves: seen.size - internal };
}

/** Every node of a key region has only children of that region; leaves sit in their key's. */
function assertRegionsNest(root: StateRoot): void {
  const store = root.store as MemoryStateNodeStore;
  const stack = [root.ref];
  while (stack.length > 0) {
    const ref = stack.pop()!;
    if (ref === stateEmptyRef) continue;
    const region = store.regionOf(ref);
    if (ref < 0) {
      assert.equal(region, store.readLeafKey(ref)[0]! >> 4, 'a leaf sits in its key region');
      continue;
    }
    for (const child of [store.leftChild(ref), store.rightChild(ref)]) {
      if (child === stateEmptyRef) continue;
      if (region !== memoryStateTopRegion) {
        assert.equal(store.regionOf(child), region, 'a region node has children of its region');
      }
      stack.push(child);
    }
  }
}

test('sixteen key regions and a top; every region node has children of its own region only', () => {
  assert.equal(memoryStateRegions, 16);
  assert.equal(memoryStateTopRegion, 16);
  const keys = 3000;
  const root = stateTreeUpdate(
    emptyStateRoot(new MemoryStateNodeStore()),
    Array.from({ length: keys }, (_, i) => ({ key: keyOf(i), value: valueOf(i, 0) })),
  );
  assertRegionsNest(root);
  const store = root.store as MemoryStateNodeStore;
  assert.equal(store.regionOf(root.ref), memoryStateTopRegion, 'the root of a wide tree is top');
  // A tree whose keys all fall in one region lives entirely in that region, root included.
  const narrow: StateEntry[] = [];
  for (let i = 0; narrow.length < 50; i++) {
    if (keyOf(i)[0]! >> 4 === 9) narrow.push({ key: keyOf(i), value: valueOf(i, 0) });
  }
  const one = stateTreeUpdate(emptyStateRoot(new MemoryStateNodeStore()), narrow);
  assert.equal((one.store as MemoryStateNodeStore).regionOf(one.ref), 9);
  assertRegionsNest(one);
});

test('region by region, kept versions read and prove as before; older stores keep serving theirs', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.tuple(fc.nat(199), fc.boolean()), { minLength: 1, maxLength: 60 }), {
        minLength: 3,
        maxLength: 7,
      }),
      fc.array(fc.nat(memoryStateRegions - 1), { minLength: 1, maxLength: 20 }),
      (batches, regions) => {
        const keys = 200;
        let model: Model = new Map();
        let head = emptyStateRoot(new MemoryStateNodeStore());
        // Every version built, with its model, and the handle as built (its own store).
        const history: { root: StateRoot; model: Model }[] = [];
        const apply = (batch: readonly [number, boolean][], version: number) => {
          const entries = new Map<number, Uint8Array | null>();
          for (const [i, remove] of batch) entries.set(i, remove ? null : valueOf(i, version));
          model = new Map(model);
          for (const [i, value] of entries) {
            if (value === null) model.delete(i);
            else model.set(i, value);
          }
          head = stateTreeUpdate(
            head,
            [...entries].map(([i, value]) => ({ key: keyOf(i), value })),
          );
          history.push({ root: head, model });
        };
        for (const [version, batch] of batches.entries()) apply(batch, version);
        // Compact one region at a time (the last two versions kept), writing a version between.
        for (const [step, region] of regions.entries()) {
          const kept = history.slice(-2);
          const copies = compactRegion(
            kept.map((entry) => entry.root),
            region,
          );
          for (const [index, copy] of copies.entries()) {
            const original = kept[index]!.root;
            assert.deepEqual(stateTreeRootHash(copy), stateTreeRootHash(original));
            assertReads(copy, kept[index]!.model, keys, `step ${step}, kept ${index}`);
            const key = keyOf(step % keys);
            const proved = stateTreeProve(copy, key);
            assert.ok(
              isStateProofValid({
                rootHash: stateTreeRootHash(copy),
                key,
                value: proved.value,
                proof: proved.proof,
              }),
            );
          }
          assertRegionsNest(copies[1]!);
          history[history.length - 2] = { root: copies[0]!, model: kept[0]!.model };
          history[history.length - 1] = { root: copies[1]!, model: kept[1]!.model };
          head = copies[1]!;
          apply(batches[step % batches.length]!, 100 + step);
        }
        // Every handle ever made, in whichever store it was made, still reads its version.
        for (const [index, { root, model: expected }] of history.entries()) {
          assertReads(root, expected, keys, `version ${index}`);
        }
      },
    ),
    { numRuns: 40 },
  );
});

test('after all sixteen regions the store holds exactly the live nodes; a copy adds about one region', () => {
  const keys = 20_000;
  let root = stateTreeUpdate(
    emptyStateRoot(new MemoryStateNodeStore()),
    Array.from({ length: keys }, (_, i) => ({ key: keyOf(i), value: valueOf(i, 0) })),
  );
  // Ten more versions, each rewriting 2,000 keys: garbage in every region.
  const versions = [root];
  const model: Model = new Map(Array.from({ length: keys }, (_, i) => [i, valueOf(i, 0)]));
  for (let version = 1; version <= 10; version++) {
    const changed = Array.from({ length: 2000 }, (_, j) => (version * 7919 + j * 13) % keys);
    for (const i of changed) model.set(i, valueOf(i, version));
    root = stateTreeUpdate(
      root,
      changed.map((i) => ({ key: keyOf(i), value: valueOf(i, version) })),
    );
    versions.push(root);
  }
  let kept = versions.slice(-2);
  const before = (root.store as MemoryStateNodeStore).stats();
  const live = reachable(kept);
  assert.ok(before.internalNodes + before.leaves > 1.5 * (live.internal + live.leaves));
  let largestGrowth = 0;
  for (let region = 0; region < memoryStateRegions; region++) {
    const store = kept[0]!.store as MemoryStateNodeStore;
    const bytesBefore = store.stats().nodeBytesAllocated;
    store.beginRegionCopy(region);
    const copied = new Map<StateNodeRef, StateNodeRef>();
    const refs = kept.map((version) => copyRegion(store, version.ref, copied));
    largestGrowth = Math.max(largestGrowth, store.stats().nodeBytesAllocated - bytesBefore);
    const next = store.finishRegionCopy();
    kept = kept.map((version, index) => ({ ...version, store: next, ref: refs[index]! }));
    // The old store still reads its versions: nothing was taken from it.
    assert.deepEqual(
      stateTreeGet(versions[10]!, keyOf(region)),
      stateTreeGet(kept[1]!, keyOf(region)),
    );
  }
  const after = (kept[0]!.store as MemoryStateNodeStore).stats();
  assert.deepEqual(
    { internal: after.internalNodes, leaves: after.leaves },
    reachable(kept),
    'the store holds the kept versions nodes and nothing else',
  );
  assert.deepEqual(reachable(kept), live);
  assert.ok(after.nodeBytesAllocated < before.nodeBytesAllocated / 1.5);
  // One region's copy is about a sixteenth of the live nodes (a 4,096-node page of slack).
  const liveBytes = live.internal * 40 + live.leaves * 108;
  assert.ok(
    largestGrowth < liveBytes / 8,
    `a region copy added ${largestGrowth} bytes; the live nodes take ${liveBytes}`,
  );
  assert.deepEqual(stateTreeRootHash(kept[1]!), stateTreeRootHash(versions[10]!));
  assertReads(kept[1]!, model, keys, 'the head after all regions');
});

test('a store written after a region copy took over writes to pages of its own', () => {
  const entries = Array.from({ length: 500 }, (_, i) => ({ key: keyOf(i), value: valueOf(i, 0) }));
  const old = stateTreeUpdate(emptyStateRoot(new MemoryStateNodeStore()), entries);
  const [copy] = compactRegion([old], 3);
  // Both stores take writes now; neither disturbs the other.
  const fromOld = stateTreeUpdate(old, [{ key: keyOf(1), value: valueOf(1, 5) }]);
  const fromCopy = stateTreeUpdate(copy!, [{ key: keyOf(2), value: valueOf(2, 6) }]);
  const expected = (changes: Record<number, Uint8Array>): Model => {
    const model: Model = new Map(entries.map((_, i) => [i, valueOf(i, 0)]));
    for (const [i, value] of Object.entries(changes)) model.set(Number(i), value);
    return model;
  };
  assertReads(fromOld, expected({ 1: valueOf(1, 5) }), 500, 'written to the old store');
  assertReads(fromCopy, expected({ 2: valueOf(2, 6) }), 500, 'written to the new store');
  assertReads(old, expected({}), 500, 'the old version');
  assertReads(copy!, expected({}), 500, 'its copy');
});

test('region copies are refused out of order, out of range, or without one under way', () => {
  const store = new MemoryStateNodeStore();
  const root = stateTreeUpdate(emptyStateRoot(store), [{ key: keyOf(1), value: valueOf(1, 0) }]);
  assert.throws(
    () => store.copyLeafFrom(store, root.ref),
    /a copy within a store is a region copy/,
  );
  assert.throws(() => store.finishRegionCopy(), /a region copy is under way/);
  assert.throws(() => store.beginRegionCopy(16), /one of the key regions/);
  assert.throws(() => store.beginRegionCopy(-1), /one of the key regions/);
  assert.throws(() => store.beginRegionCopy(1.5), /one of the key regions/);
  store.beginRegionCopy(0);
  assert.throws(() => store.beginRegionCopy(1), /one region copy at a time/);
  assert.throws(() => store.regionOf(12345), /ref names a stored internal node/);
  assert.throws(() => store.regionOf(-999), /ref names a stored leaf/);
});
