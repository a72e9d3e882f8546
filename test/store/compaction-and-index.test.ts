// Checks, on real SQLite stores, the parts of the store spread over commits: an in-memory state
// compaction copied a slice per commit (every kept version stays readable, with the header's
// root, at every step), the rolling state snapshot (the store reopens consistent after every
// block, whichever ranges were written), and the transaction index's fingerprint table (an id
// that shares a committed id's fingerprint is not found).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { transactionId } from '../../src/chain/index.ts';
import { stateTreeRootHash } from '../../src/merkle/index.ts';
import { type CommitBlockEntry, StoreErrorCode, openChainStore } from '../../src/store/index.ts';
import {
  assertStoreError,
  commitBlocks,
  nextBlock,
  storeGenesis,
  temporaryDirectory,
} from './fixtures.ts';

test('a compaction spread over several commits keeps every kept version readable at each step', () => {
  const { directory, remove } = temporaryDirectory();
  try {
    // A 1-byte floor and a 1 % growth allowance start a compaction whenever the store has grown;
    // a 1-node floor per commit leaves only the catch-up rule (twice what a block added), so a
    // compaction takes several commits.
    const limits = {
      stateCompactionBytesMin: 1,
      stateCompactionGrowthPercent: 1,
      stateCompactionNodesPerCommit: 1,
      stateCompactionCopyPerAddedNode: 2,
      recentStateVersions: 3,
    };
    const store = openChainStore({ directory, genesis: storeGenesis(), limits });
    const entries: CommitBlockEntry[] = [];
    let commitsWhileCompacting = 0;
    for (let i = 0; i < 12; i++) {
      // Blocks of growing size, so that the versions kept differ in shape.
      const entry = nextBlock(store, { txCount: 4 + 3 * i });
      store.commitBlock(entry);
      entries.push(entry);
      const stats = store.stats();
      if (stats.stateCompacting) commitsWhileCompacting++;
      assert.ok(stats.stateVersionsInMemory <= 3, `versions: ${stats.stateVersionsInMemory}`);
      for (const kept of entries.slice(-3)) {
        const height = kept.block.header.height;
        assert.deepEqual(
          stateTreeRootHash(store.stateAt(height)!),
          kept.block.header.stateRoot,
          `height ${height} after commit ${i + 1}`,
        );
      }
    }
    const stats = store.stats();
    assert.ok(stats.stateCompactions >= 2, `compactions: ${stats.stateCompactions}`);
    assert.ok(commitsWhileCompacting >= 2, `commits while compacting: ${commitsWhileCompacting}`);
    // Older versions are rebuilt from the recorded changes, against the compacted head.
    for (const entry of entries) {
      const height = entry.block.header.height;
      assert.deepEqual(stateTreeRootHash(store.stateAt(height)!), entry.block.header.stateRoot);
    }
    store.close();
    const reopened = openChainStore({ directory, genesis: storeGenesis() });
    assert.deepEqual(
      reopened.head().stateRoot,
      entries[entries.length - 1]!.block.header.stateRoot,
    );
    commitBlocks(reopened, { count: 1, txCount: 5 });
    reopened.close();
  } finally {
    remove();
  }
  // Its twins: a per-commit slice of 0 nodes, or a copy that would only keep pace with the
  // head (never finishing), is refused, naming the limit.
  const { directory: other, remove: removeOther } = temporaryDirectory();
  try {
    assertStoreError(
      () =>
        openChainStore({
          directory: other,
          genesis: storeGenesis(),
          limits: { stateCompactionNodesPerCommit: 0 },
        }),
      StoreErrorCode.invalidArgument,
      /^limits\.stateCompactionNodesPerCommit: expected a positive integer, found 0$/,
    );
    assertStoreError(
      () =>
        openChainStore({
          directory: other,
          genesis: storeGenesis(),
          limits: { stateCompactionCopyPerAddedNode: 1 },
        }),
      StoreErrorCode.invalidArgument,
      /^limits\.stateCompactionCopyPerAddedNode: expected at least 2, found 1$/,
    );
  } finally {
    removeOther();
  }
});

for (const stateSnapshotEntriesPerChange of [1, 3]) {
  test(`the store reopens consistent after every block as the snapshot rolls (pace ${stateSnapshotEntriesPerChange})`, () => {
    const { directory, remove } = temporaryDirectory();
    const genesis = storeGenesis();
    const limits = { stateSnapshotEntriesPerChange };
    try {
      const committed: CommitBlockEntry[] = [];
      for (let i = 0; i < 10; i++) {
        const store = openChainStore({ directory, genesis, limits });
        try {
          if (committed.length > 0) {
            const last = committed[committed.length - 1]!;
            assert.deepEqual(store.head().stateRoot, last.block.header.stateRoot);
            assert.deepEqual(stateTreeRootHash(store.state()), last.block.header.stateRoot);
            // Every transaction committed so far is found where it was committed.
            for (const entry of committed) {
              const height = entry.block.header.height;
              const index = entry.txIds.length - 1;
              const found = store.findTransaction(entry.txIds[index]!);
              assert.equal(found?.height, height, `a transaction of block ${height}`);
              assert.equal(found?.index, index);
              assert.equal(found?.logIndex, entry.block.header.logSize - 1);
            }
          }
          const entry = nextBlock(store, { txCount: 5 + 7 * (i % 3) });
          store.commitBlock(entry);
          committed.push(entry);
        } finally {
          store.close();
        }
      }
    } finally {
      remove();
    }
  });
}

test('an id that shares a committed id’s fingerprint is not found; the committed one is', () => {
  const { directory, remove } = temporaryDirectory();
  try {
    const store = openChainStore({ directory, genesis: storeGenesis() });
    const [entry] = commitBlocks(store, { count: 1, txCount: 6 });
    const committed = transactionId(entry!.block.txs[2]!);
    assert.deepEqual(store.findTransaction(committed), { height: 1, index: 2, logIndex: 2 });
    // Same first four bytes (the index's fingerprint), a different id: the block is read and
    // the id is not in it.
    const twin = committed.slice();
    twin[31]! ^= 1;
    assert.equal(store.findTransaction(twin), null);
    // And an id with another fingerprint is not found either.
    const other = committed.slice();
    other[0]! ^= 1;
    assert.equal(store.findTransaction(other), null);
    store.close();
  } finally {
    remove();
  }
});
