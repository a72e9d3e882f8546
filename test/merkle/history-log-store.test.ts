// Checks the history log's node storage: reopening, a crash between writes, a corrupt store,
// chunk boundaries, a full log and sizes beyond 2^32, using in-memory LogNodeStore implementations.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import fc from 'fast-check';

import { AssertionFailedError, toHex } from '../../src/base/index.ts';
import {
  HistoryLog,
  HistoryLogError,
  LogErrorCode,
  MemoryLogNodeStore,
  logLeafHash,
  logNodeHash,
  logSizeMax,
  memoryLogChunkNodes,
  verifyLogConsistency,
  verifyLogInclusion,
} from '../../src/merkle/index.ts';
import type { LogNodeStore } from '../../src/merkle/index.ts';

function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

const leafOf = (i: number) => new TextEncoder().encode(`record ${i}`);

/** The RFC 9162 §2.1.1 root of leaves 0..size-1, computed level by level with node:crypto. */
function referenceRoot(size: number): Uint8Array {
  if (size === 0) return sha256();
  let level = Array.from({ length: size }, (_, i) => sha256(Uint8Array.of(0), leafOf(i)));
  // Pairing left to right and carrying an odd last node up is the same tree as MTH's split at the
  // largest power of two below n.
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2)
      next.push(sha256(Uint8Array.of(1), level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

function isLogError(code: string, pattern: RegExp) {
  return (error: unknown) =>
    error instanceof HistoryLogError && error.code === code && pattern.test(error.message);
}

test('a log reopened on its store has the same roots and proofs and appends on identically', () => {
  const store = new MemoryLogNodeStore();
  const first = new HistoryLog(store);
  const whole = new HistoryLog();
  for (let i = 0; i < 45; i++) whole.append(leafOf(i));
  for (const stop of [1, 2, 3, 7, 8, 13, 32, 45]) {
    while (first.size < stop) first.append(leafOf(first.size));
    const reopened = new HistoryLog(store);
    assert.equal(reopened.size, stop);
    assert.equal(toHex(reopened.root()), toHex(referenceRoot(stop)));
    assert.deepEqual(
      reopened.inclusionProof({ index: stop - 1 }),
      whole.inclusionProof({ index: stop - 1, size: stop }),
    );
    assert.deepEqual(
      reopened.consistencyProof({ oldSize: 1 }),
      whole.consistencyProof({ oldSize: 1, newSize: stop }),
    );
  }
  const reopened = new HistoryLog(store);
  assert.equal(reopened.append(leafOf(45)), 45);
  assert.equal(toHex(reopened.root()), toHex(referenceRoot(46)));
});

test('a store missing a node of its right edge stops the log from opening', () => {
  const store = new MemoryLogNodeStore();
  const log = new HistoryLog(store);
  for (let i = 0; i < 6; i++) log.append(leafOf(i));
  // Six leaves: the right edge is node (2, 0) and node (1, 2); claim a seventh leaf without it.
  store.writeLeafCount(7);
  assert.throws(() => new HistoryLog(store), AssertionFailedError);
  store.writeLeafCount(6);
  assert.equal(new HistoryLog(store).size, 6);
});

test('nodes written by an append that crashed before the leaf count are rewritten on the next', () => {
  const store = new MemoryLogNodeStore();
  const log = new HistoryLog(store);
  for (let i = 0; i < 7; i++) log.append(leafOf(i));
  // A crash after writing the leaf node of a different eighth leaf, before writeLeafCount(8).
  store.writeNode(0, 7, logLeafHash(new TextEncoder().encode('lost in the crash')));
  const reopened = new HistoryLog(store);
  assert.equal(reopened.size, 7);
  reopened.append(leafOf(7));
  assert.equal(toHex(reopened.root()), toHex(referenceRoot(8)));
  assert.equal(toHex(reopened.leafHash(7)), toHex(logLeafHash(leafOf(7))));
});

test('the memory store refuses writes out of index order and reports unwritten nodes', () => {
  const store = new MemoryLogNodeStore();
  const hash = logLeafHash(leafOf(0));
  assert.equal(store.readNode(0, 0), undefined);
  store.writeNode(0, 0, hash);
  assert.deepEqual(store.readNode(0, 0), hash);
  assert.equal(store.readNode(0, 1), undefined);
  assert.equal(store.readNode(3, 0), undefined);
  assert.throws(() => store.writeNode(0, 2, hash), AssertionFailedError);
  assert.throws(() => store.writeNode(1, 0, hash.subarray(1)), AssertionFailedError);
  assert.throws(() => store.writeLeafCount(-1), AssertionFailedError);
});

test('handing out hashes never exposes the store: mutating them leaves the log intact', () => {
  const log = new HistoryLog();
  for (let i = 0; i < 6; i++) log.append(leafOf(i));
  const root = log.root(4);
  root.fill(0);
  log.leafHash(3).fill(0);
  for (const hash of log.inclusionProof({ index: 5 }).path) hash.fill(0);
  assert.equal(toHex(log.root(4)), toHex(referenceRoot(4)));
  assert.equal(toHex(log.root()), toHex(referenceRoot(6)));
  verifyLogInclusion({
    index: 5,
    size: 6,
    proof: log.inclusionProof({ index: 5 }).path,
    root: log.root(),
    leafData: leafOf(5),
  });
});

test('roots stay right across memory chunk boundaries, and the store stays about 64 bytes a leaf', () => {
  const store = new MemoryLogNodeStore();
  const log = new HistoryLog(store);
  const size = memoryLogChunkNodes + 3;
  for (let i = 0; i < size; i++) log.append(leafOf(i));
  assert.equal(toHex(log.root()), toHex(referenceRoot(size)));
  assert.equal(toHex(log.root(memoryLogChunkNodes)), toHex(referenceRoot(memoryLogChunkNodes)));
  assert.equal(
    toHex(log.leafHash(memoryLogChunkNodes + 1)),
    toHex(logLeafHash(leafOf(memoryLogChunkNodes + 1))),
  );
  const proof = log.inclusionProof({ index: memoryLogChunkNodes + 2 });
  verifyLogInclusion({
    index: memoryLogChunkNodes + 2,
    size,
    proof: proof.path,
    root: log.root(),
    leafData: leafOf(size - 1),
  });
  assert.ok(store.allocatedBytes <= 3 * 32 * size, `${store.allocatedBytes} bytes`);
  assert.notEqual(
    toHex(log.root(memoryLogChunkNodes + 1)),
    toHex(referenceRoot(memoryLogChunkNodes)),
  );
});

/**
 * A store that pretends to hold a log of `leafCount` leaves of a 16-leaf repeating pattern:
 * node (level, index) depends on index mod 2^(4 - level) below level 4 and only on the level
 * above, so every node of a tree with up to 2^53 - 1 leaves is a table lookup.
 */
class PeriodicLogNodeStore implements LogNodeStore {
  static readonly periodLevels = 4;
  readonly #table: Uint8Array[][] = [];
  readonly #tall: Uint8Array[] = [];
  #leafCount: number;
  writes = 0;

  constructor(leafCount: number) {
    this.#leafCount = leafCount;
    const period = 2 ** PeriodicLogNodeStore.periodLevels;
    let row = Array.from({ length: period }, (_, i) => logLeafHash(Uint8Array.of(i)));
    for (let level = 0; level <= PeriodicLogNodeStore.periodLevels; level++) {
      this.#table.push(row);
      row = Array.from({ length: row.length / 2 }, (_, i) =>
        logNodeHash(row[2 * i]!, row[2 * i + 1]!),
      );
    }
    let node = this.#table[PeriodicLogNodeStore.periodLevels]![0]!;
    for (let level = 0; level <= 54; level++) {
      this.#tall.push(node);
      if (level >= PeriodicLogNodeStore.periodLevels) node = logNodeHash(node, node);
    }
  }

  /** The node by BigInt arithmetic, as an independent check of the log's number arithmetic. */
  static nodeOf(store: PeriodicLogNodeStore, level: number, index: bigint): Uint8Array {
    if (level >= PeriodicLogNodeStore.periodLevels) return store.#tall[level]!;
    const width = 2n ** BigInt(PeriodicLogNodeStore.periodLevels - level);
    return store.#table[level]![Number(index % width)]!;
  }

  readLeafCount(): number {
    return this.#leafCount;
  }
  writeLeafCount(count: number): void {
    this.#leafCount = count;
  }
  readNode(level: number, index: number): Uint8Array | undefined {
    const end = (BigInt(index) + 1n) * 2n ** BigInt(level);
    if (end > BigInt(this.#leafCount)) return undefined;
    return PeriodicLogNodeStore.nodeOf(this, level, BigInt(index));
  }
  writeNode(): void {
    this.writes++;
  }
}

/** The root of the periodic log of `size` leaves, folding its perfect pieces with BigInt sizes. */
function periodicRoot(store: PeriodicLogNodeStore, size: bigint): Uint8Array {
  const pieces: Uint8Array[] = [];
  let offset = 0n;
  for (let level = 53; level >= 0; level--) {
    const width = 2n ** BigInt(level);
    if ((size & width) !== 0n) {
      pieces.push(PeriodicLogNodeStore.nodeOf(store, level, offset / width));
      offset += width;
    }
  }
  let root = pieces.pop()!;
  while (pieces.length > 0) root = logNodeHash(pieces.pop()!, root);
  return root;
}

const beyond32Bits = fc.integer({ min: 2 ** 32 + 1, max: logSizeMax });

test('property: beyond 2^32 leaves roots match BigInt arithmetic and proofs verify', () => {
  fc.assert(
    fc.property(
      beyond32Bits,
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (size, a, b) => {
        const store = new PeriodicLogNodeStore(size);
        const log = new HistoryLog(store);
        const root = log.root();
        assert.equal(toHex(root), toHex(periodicRoot(store, BigInt(size))));
        const index = Math.min(size - 1, Math.floor(a * size));
        const inclusion = log.inclusionProof({ index });
        assert.ok(inclusion.path.length <= 53);
        verifyLogInclusion({
          index,
          size,
          proof: inclusion.path,
          root,
          leafHash: log.leafHash(index),
        });
        const oldSize = Math.max(1, Math.floor(b * size));
        const oldRoot = log.root(oldSize);
        assert.equal(toHex(oldRoot), toHex(periodicRoot(store, BigInt(oldSize))));
        const consistency = log.consistencyProof({ oldSize });
        assert.ok(consistency.path.length <= 54);
        verifyLogConsistency({
          oldSize,
          newSize: size,
          oldRoot,
          newRoot: root,
          proof: consistency.path,
        });
      },
    ),
    { numRuns: 100 },
  );
});

test('property: beyond 2^32 leaves a flipped proof bit or a neighbouring index fails', () => {
  fc.assert(
    fc.property(
      beyond32Bits,
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.nat(),
      fc.nat(255),
      (size, a, pick, bit) => {
        const log = new HistoryLog(new PeriodicLogNodeStore(size));
        const index = Math.min(size - 2, Math.floor(a * size));
        const { path } = log.inclusionProof({ index });
        const flipped = path.map((hash, i) =>
          i === pick % path.length
            ? hash.map((byte, j) => (j === bit % 32 ? byte ^ (1 << (bit % 8)) : byte))
            : hash,
        );
        const root = log.root();
        const leafHash = log.leafHash(index);
        assert.throws(
          () => verifyLogInclusion({ index, size, proof: flipped, root, leafHash }),
          isLogError(LogErrorCode.rootMismatch, /computed root/),
        );
        // Neighbouring leaves of the pattern differ, so claiming the next index must fail.
        assert.throws(
          () => verifyLogInclusion({ index: index + 1, size, proof: path, root, leafHash }),
          HistoryLogError,
        );
      },
    ),
    { numRuns: 100 },
  );
});

test('a log of logSizeMax leaves refuses to append; one leaf less still appends', () => {
  const full = new HistoryLog(new PeriodicLogNodeStore(logSizeMax));
  assert.equal(full.size, logSizeMax);
  assert.throws(
    () => full.append(leafOf(0)),
    isLogError(LogErrorCode.full, /holds 9007199254740991 leaves/),
  );
  assert.throws(
    () => full.appendLeafHash(logLeafHash(leafOf(0))),
    isLogError(LogErrorCode.full, /full/),
  );
  const store = new PeriodicLogNodeStore(logSizeMax - 1);
  const almost = new HistoryLog(store);
  assert.equal(almost.append(Uint8Array.of(14)), logSizeMax - 1);
  assert.equal(almost.size, logSizeMax);
  // Leaf 2^53 - 2 of the pattern is input 14, and its even index closes no perfect subtree, so
  // only the leaf itself is written.
  assert.equal(store.writes, 1);
  assert.equal(toHex(almost.root()), toHex(periodicRoot(store, BigInt(logSizeMax))));
});

test('a store that reports an impossible leaf count is refused, naming it', () => {
  for (const count of [-1, 1.5, logSizeMax + 1, Number.NaN]) {
    const store = new MemoryLogNodeStore();
    const lying: LogNodeStore = {
      readLeafCount: () => count,
      writeLeafCount: (n) => store.writeLeafCount(n),
      readNode: (level, index) => store.readNode(level, index),
      writeNode: (level, index, hash) => store.writeNode(level, index, hash),
    };
    assert.throws(
      () => new HistoryLog(lying),
      isLogError(LogErrorCode.argumentInvalid, /^store leaf count: /),
    );
  }
});
