// Checks logRootAfterAppend against really appending the same leaves to a twin log (fast-check,
// with sizes 0, 1, powers of two and their neighbours), that it leaves the log unchanged and
// never touches the node store, and that it refuses bad arguments naming them.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import {
  HistoryLog,
  HistoryLogError,
  LogErrorCode,
  type LogNodeStore,
  MemoryLogNodeStore,
  logEmptyRoot,
  logLeafBytesMax,
  logRootAfterAppend,
} from '../../src/merkle/index.ts';

const leafOf = (i: number) => new TextEncoder().encode(`entry ${i}`);

function logOf(size: number, store: LogNodeStore = new MemoryLogNodeStore()): HistoryLog {
  const log = new HistoryLog(store);
  for (let i = 0; i < size; i++) log.append(leafOf(i));
  return log;
}

/** Sizes where the right edge changes shape: 0, 1, every 2^k up to 1024, and 2^k ± 1. */
const edgeSizes = [0, 1];
for (let power = 2; power <= 1024; power *= 2) edgeSizes.push(power - 1, power, power + 1);

const sizes = fc.oneof(fc.constantFrom(...edgeSizes), fc.integer({ min: 0, max: 1100 }));
const leafLists = fc.oneof(
  fc
    .constantFrom(0, 1, 2, 3, 4, 7, 8, 9, 16, 17, 31, 32, 33, 64, 65)
    .chain((count) =>
      fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: count, maxLength: count }),
    ),
  fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 150 }),
);

test('logRootAfterAppend gives the root and size that appending the leaves gives', () => {
  fc.assert(
    fc.property(sizes, leafLists, (size, leaves) => {
      const log = logOf(size);
      const rootBefore = log.root();
      const predicted = logRootAfterAppend(log, leaves);
      const twin = logOf(size);
      for (const leaf of leaves) twin.append(leaf);
      assert.equal(predicted.size, twin.size);
      assert.deepEqual(predicted.root, twin.root());
      // The log itself is unchanged: same size, same root.
      assert.equal(log.size, size);
      assert.deepEqual(log.root(), rootBefore);
    }),
    { numRuns: 300 },
  );
});

test('logRootAfterAppend of a different leaf list gives a different root (its twin)', () => {
  fc.assert(
    fc.property(
      sizes,
      fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 40 }),
      fc.nat(),
      (size, leaves, pick) => {
        const log = logOf(size);
        const changed = leaves.map((leaf) => leaf.slice());
        const index = pick % changed.length;
        changed[index] = Uint8Array.from([...changed[index]!, 0x2a]);
        const twin = logOf(size);
        for (const leaf of leaves) twin.append(leaf);
        assert.notDeepEqual(logRootAfterAppend(log, changed).root, twin.root());
      },
    ),
    { numRuns: 100 },
  );
});

test('logRootAfterAppend of no leaves is the current head; of an empty log, the RFC 9162 root', () => {
  assert.deepEqual(logRootAfterAppend(new HistoryLog(), []), { root: logEmptyRoot(), size: 0 });
  const log = logOf(13);
  assert.deepEqual(logRootAfterAppend(log, []), { root: log.root(), size: 13 });
});

test('logRootAfterAppend reads and writes no stored node: its cost does not grow with the log', () => {
  const counts = { reads: 0, writes: 0 };
  const inner = new MemoryLogNodeStore();
  const counting: LogNodeStore = {
    readLeafCount: () => inner.readLeafCount(),
    writeLeafCount: (count) => {
      counts.writes++;
      inner.writeLeafCount(count);
    },
    readNode: (level, index) => {
      counts.reads++;
      return inner.readNode(level, index);
    },
    writeNode: (level, index, hash) => {
      counts.writes++;
      inner.writeNode(level, index, hash);
    },
  };
  const log = logOf(1000, counting);
  counts.reads = 0;
  counts.writes = 0;
  logRootAfterAppend(log, [leafOf(1), leafOf(2), leafOf(3)]);
  assert.deepEqual(counts, { reads: 0, writes: 0 });
  // Its twin: a real append writes nodes and the leaf count.
  log.append(leafOf(1));
  assert.ok(
    counts.writes >= 2,
    `append writes at least a leaf and the count, did ${counts.writes}`,
  );
});

test('logRootAfterAppend refuses a non-array, a non-bytes leaf and an oversized leaf, by name', () => {
  const log = logOf(5);
  const refuses = (leaves: unknown, pattern: RegExp) =>
    assert.throws(
      () => logRootAfterAppend(log, leaves as Uint8Array[]),
      (error: unknown) => {
        assert.ok(error instanceof HistoryLogError, String(error));
        assert.equal(error.code, LogErrorCode.argumentInvalid);
        assert.match(error.message, pattern);
        return true;
      },
    );
  refuses('leaves', /^leaves: expected an array of leaf data, got string$/);
  refuses([leafOf(0), 'x'], /^leaves\[1\]: expected a Uint8Array, got string$/);
  refuses(
    [new Uint8Array(logLeafBytesMax + 1)],
    /^leaves\[0\]: expected at most 1048576 bytes, got 1048577$/,
  );
  // Refusals leave the log as it was.
  assert.equal(log.size, 5);
});
