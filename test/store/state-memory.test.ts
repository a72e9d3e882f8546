// Checks, on real SQLite stores, the memory bounds of decision 0045: only the newest state
// versions stay in memory (older ones are released and rebuilt from the change records, every
// committed root still verifying), compactions share the value chunks unless they hold more
// garbage than the limit allows (then copy them), and a restart rebuilds the same root.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { stateTreeRootHash } from '../../src/merkle/index.ts';
import {
  type CommitBlockEntry,
  StoreErrorCode,
  openChainStore,
  storeLimits,
} from '../../src/store/index.ts';
import { assertStoreError, nextBlock, storeGenesis, temporaryDirectory } from './fixtures.ts';

/** The `limits` option of `openChainStore`. */
type StoreLimitOverrides = NonNullable<Parameters<typeof openChainStore>[0]['limits']>;

/** Commits `blocks` fixture blocks with `limits`; checks every root at every step; reopens. */
function runStore(limits: StoreLimitOverrides, blocks: number) {
  const { directory, remove } = temporaryDirectory();
  try {
    const store = openChainStore({ directory, genesis: storeGenesis(), limits });
    const versionsKept = limits.recentStateVersions ?? storeLimits.recentStateVersions;
    const entries: CommitBlockEntry[] = [];
    for (let i = 0; i < blocks; i++) {
      const entry = nextBlock(store, { txCount: 8 + 4 * i });
      store.commitBlock(entry);
      entries.push(entry);
      const stats = store.stats();
      assert.ok(
        stats.stateVersionsInMemory <= versionsKept,
        `versions ${stats.stateVersionsInMemory}`,
      );
      assert.ok(stats.stateValueBytes <= stats.stateStoreBytes);
      // Every committed root verifies: the kept versions at once, the released ones rebuilt.
      for (const committed of entries) {
        const height = committed.block.header.height;
        assert.deepEqual(
          stateTreeRootHash(store.stateAt(height)!),
          committed.block.header.stateRoot,
          `height ${height} after commit ${i + 1}`,
        );
      }
    }
    const stats = store.stats();
    store.close();
    const reopened = openChainStore({ directory, genesis: storeGenesis(), limits });
    assert.deepEqual(
      reopened.head().stateRoot,
      entries[entries.length - 1]!.block.header.stateRoot,
    );
    reopened.close();
    return stats;
  } finally {
    remove();
  }
}

test('by default two versions stay in memory; released ones are rebuilt with their roots', () => {
  assert.equal(storeLimits.recentStateVersions, 2);
  const stats = runStore({}, 6);
  assert.equal(stats.stateVersionsInMemory, 2);
  // Far below the compaction floor: nothing was compacted, the values were measured at open.
  assert.equal(stats.stateCompactions, 0);
});

test('compactions share the value chunks while they hold little garbage', () => {
  const stats = runStore(
    {
      stateCompactionBytesMin: 1,
      stateCompactionGrowthPercent: 1,
      stateCompactionNodesPerCommit: 1,
      stateCompactionCopyPerAddedNode: 2,
      // Anchors add live values, few overwritten ones: never 10 times the live values of garbage.
      stateValueGarbagePercent: 1000,
    },
    10,
  );
  assert.ok(stats.stateCompactions >= 2, `compactions: ${stats.stateCompactions}`);
  assert.equal(stats.stateValueCompactions, 0);
  assert.ok(stats.stateLiveValueBytes > 0);
  assert.ok(stats.stateLiveValueBytes <= stats.stateValueBytes);
});

test('a compaction copies the values too once their garbage passes the limit', () => {
  const stats = runStore(
    {
      stateCompactionBytesMin: 1,
      stateCompactionGrowthPercent: 1,
      stateCompactionNodesPerCommit: 1,
      stateCompactionCopyPerAddedNode: 2,
      // Any overwritten nonce is more garbage than 1 % of the live values allows.
      stateValueGarbagePercent: 1,
    },
    10,
  );
  assert.ok(stats.stateValueCompactions >= 1, `value compactions: ${stats.stateValueCompactions}`);
  assert.ok(stats.stateCompactions >= stats.stateValueCompactions);
});

test('a garbage allowance that is not a positive integer is refused, naming the limit', () => {
  const { directory, remove } = temporaryDirectory();
  try {
    assertStoreError(
      () =>
        openChainStore({
          directory,
          genesis: storeGenesis(),
          limits: { stateValueGarbagePercent: 0 },
        }),
      StoreErrorCode.invalidArgument,
      /^limits\.stateValueGarbagePercent: expected a positive integer, found 0$/,
    );
  } finally {
    remove();
  }
});
