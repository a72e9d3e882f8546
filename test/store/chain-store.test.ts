// Checks the chain store on real SQLite files in temporary directories: genesis, committing
// blocks and reading them back (also after reopening), every commitBlock check with its refused
// twin (and that a refusal writes nothing), state versions, the signing record, locking, closing.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { toHex } from '../../src/base/index.ts';
import { blockHash, transactionId } from '../../src/chain/index.ts';
import { genesisDocumentHash, genesisState } from '../../src/contracts/index.ts';
import {
  MemoryStateNodeStore,
  logEmptyRoot,
  stateTreeRootHash,
  stateTreeUpdate,
  verifyLogInclusion,
} from '../../src/merkle/index.ts';
import {
  type ChainStore,
  type CommitBlockEntry,
  StoreErrorCode,
  openChainStore,
} from '../../src/store/index.ts';
import {
  assertStoreError,
  commitBlocks,
  nextBlock,
  storeGenesis,
  temporaryDirectory,
  withBlock,
} from './fixtures.ts';

/** Runs `body` with a store in a fresh temporary directory, then closes and removes both. */
function withStore(body: (store: ChainStore, directory: string) => void): void {
  const { directory, remove } = temporaryDirectory();
  const store = openChainStore({ directory, genesis: storeGenesis() });
  try {
    body(store, directory);
  } finally {
    store.close();
    remove();
  }
}

test('a new store starts at height 0 with the genesis hash, time, state and an empty log', () => {
  withStore((store) => {
    const genesis = storeGenesis();
    const head = store.head();
    assert.equal(head.height, 0);
    assert.deepEqual(head.blockHash, genesisDocumentHash(genesis));
    assert.equal(head.time, genesis.genesisTime);
    assert.deepEqual(head.stateRoot, genesisState(genesis).stateRoot);
    assert.deepEqual(stateTreeRootHash(store.state()), head.stateRoot);
    assert.equal(head.logSize, 0);
    assert.deepEqual(head.logRoot, logEmptyRoot());
    assert.equal(store.latestHeight(), 0);
    assert.deepEqual(stateTreeRootHash(store.stateAt(0)!), head.stateRoot);
    // Nothing is stored at height 0 but its hash; nothing at all beyond the head.
    assert.equal(store.loadBlock(0), null);
    assert.deepEqual(store.loadBlockHash(0), genesisDocumentHash(genesis));
    assert.equal(store.loadBlock(1), null);
    assert.equal(store.loadBlockHash(1), null);
    assert.equal(store.loadCommit(1), null);
    assert.equal(store.loadReceipts(1), null);
    assert.equal(store.stateAt(1), null);
    assert.equal(store.loadSigningRecord(), null);
  });
});

for (const stateSnapshotEntriesPerChange of [1, 4, 1000]) {
  test(`committed blocks read back unchanged, before and after reopening (snapshot pace ${stateSnapshotEntriesPerChange} entries per change)`, () => {
    const { directory, remove } = temporaryDirectory();
    const genesis = storeGenesis();
    const limits = { stateSnapshotEntriesPerChange };
    try {
      let store = openChainStore({ directory, genesis, limits });
      const entries = commitBlocks(store, { count: 6, txCount: 13 });
      const check = (reopened: boolean) => {
        const last = entries[entries.length - 1]!;
        const head = store.head();
        assert.equal(head.height, 6, `reopened: ${reopened}`);
        assert.deepEqual(head.blockHash, last.blockHash);
        assert.deepEqual(head.stateRoot, last.block.header.stateRoot);
        assert.deepEqual(head.logRoot, last.block.header.logRoot);
        assert.equal(head.logSize, 6 * 13);
        assert.deepEqual(store.log().root(), head.logRoot);
        for (const entry of entries) {
          const height = entry.block.header.height;
          assert.deepEqual(store.loadBlock(height), entry.block);
          assert.deepEqual(store.loadBlockHash(height), entry.blockHash);
          assert.deepEqual(store.loadCommit(height), entry.commit);
          assert.deepEqual(store.loadReceipts(height), entry.receipts);
          // Every state version, from memory or rebuilt from the change table, has its root.
          assert.deepEqual(stateTreeRootHash(store.stateAt(height)!), entry.block.header.stateRoot);
          entry.txIds.forEach((txId, index) => {
            const found = store.findTransaction(txId);
            assert.ok(found !== null);
            assert.equal(found.height, height);
            assert.equal(found.index, index);
            const proof = store.log().inclusionProof({ index: found.logIndex });
            verifyLogInclusion({
              leafData: txId,
              index: found.logIndex,
              size: head.logSize,
              proof: proof.path,
              root: head.logRoot,
            });
          });
        }
        assert.deepEqual(
          stateTreeRootHash(store.stateAt(0)!),
          genesisState(genesis).stateRoot,
          'height 0 is the genesis state',
        );
        assert.equal(store.findTransaction(new Uint8Array(32)), null);
      };
      check(false);
      store.close();
      store = openChainStore({ directory, genesis, limits });
      check(true);
      // The reopened store goes on committing from where it was, and reopens again.
      commitBlocks(store, { count: 2, txCount: 5 });
      assert.equal(store.head().height, 8);
      store.close();
      store = openChainStore({ directory, genesis, limits });
      assert.equal(store.head().height, 8);
      store.close();
    } finally {
      remove();
    }
  });
}

test('old state versions beyond the in-memory window are rebuilt from the change table', () => {
  const { directory, remove } = temporaryDirectory();
  try {
    const store = openChainStore({
      directory,
      genesis: storeGenesis(),
      limits: { recentStateVersions: 2 },
    });
    const entries = commitBlocks(store, { count: 7, txCount: 9 });
    assert.equal(store.stats().stateVersionsInMemory, 2);
    for (const entry of entries) {
      const height = entry.block.header.height;
      assert.deepEqual(stateTreeRootHash(store.stateAt(height)!), entry.block.header.stateRoot);
    }
    store.close();
  } finally {
    remove();
  }
});

test('the in-memory state store is compacted past its bound, keeping every recent version', () => {
  const { directory, remove } = temporaryDirectory();
  try {
    // A 1-byte floor and a 1 % growth allowance compact whenever the node store has grown since
    // the last compaction; the default bound would never compact in a short test.
    const store = openChainStore({
      directory,
      genesis: storeGenesis(),
      limits: {
        stateCompactionBytesMin: 1,
        stateCompactionGrowthPercent: 1,
        recentStateVersions: 3,
      },
    });
    const entries = commitBlocks(store, { count: 6, txCount: 11 });
    const stats = store.stats();
    assert.ok(stats.stateCompactions >= 2, `compactions: ${stats.stateCompactions}`);
    assert.equal(stats.stateVersionsInMemory, 3);
    for (const entry of entries) {
      const height = entry.block.header.height;
      assert.deepEqual(stateTreeRootHash(store.stateAt(height)!), entry.block.header.stateRoot);
    }
    // Blocks built on the compacted state commit as before.
    commitBlocks(store, { count: 1, txCount: 4 });
    store.close();
  } finally {
    remove();
  }
  // Its twin: with the default bound, a few small blocks never compact.
  withStore((store) => {
    commitBlocks(store, { count: 3, txCount: 5 });
    assert.equal(store.stats().stateCompactions, 0);
  });
});

/** A copy of `entry` whose header has `patch` applied, with its hash and commit redone. */
function withHeader(
  entry: CommitBlockEntry,
  patch: Partial<CommitBlockEntry['block']['header']>,
): CommitBlockEntry {
  return withBlock({
    ...entry,
    block: { ...entry.block, header: { ...entry.block.header, ...patch } },
  });
}

test('commitBlock refuses each kind of mismatch, writes nothing, then takes the right block', () => {
  withStore((store) => {
    commitBlocks(store, { count: 1, txCount: 6 });
    const before = store.head();
    const entry = nextBlock(store, { txCount: 8 });
    const [firstId, secondId] = [entry.txIds[0]!, entry.txIds[1]!];
    const foreignStore = genesisState(storeGenesis(), new MemoryStateNodeStore()).state;
    const cases: Array<[string, CommitBlockEntry, StoreErrorCode, RegExp]> = [
      [
        'height',
        withHeader(entry, { height: 3 }),
        StoreErrorCode.wrongHeight,
        /^block height: expected 2 \(the head is at 1\), found 3$/,
      ],
      [
        'prevHash',
        withHeader(entry, { prevHash: new Uint8Array(32) }),
        StoreErrorCode.wrongBlock,
        /^block 2: prevHash: expected [0-9a-f]{16}…, found 0000000000000000…$/,
      ],
      [
        'time',
        withHeader(entry, { time: before.time }),
        StoreErrorCode.wrongBlock,
        /^block 2: time: expected after \d+, found \d+$/,
      ],
      [
        'block hash',
        { ...entry, blockHash: new Uint8Array(32) },
        StoreErrorCode.wrongBlock,
        /^block 2: block hash: expected [0-9a-f]{16}…, found 0000000000000000…$/,
      ],
      [
        'commit height',
        { ...entry, commit: { ...entry.commit, height: 1 } },
        StoreErrorCode.wrongBlock,
        /^block 2: commit height: expected 2, found 1$/,
      ],
      [
        'commit hash',
        { ...entry, commit: { ...entry.commit, blockHash: new Uint8Array(32) } },
        StoreErrorCode.wrongBlock,
        /^block 2: commit block hash: expected/,
      ],
      [
        'txIds count',
        { ...entry, txIds: entry.txIds.slice(1) },
        StoreErrorCode.wrongBlock,
        /^block 2: txIds: expected 8 ids, one per transaction, found 7$/,
      ],
      [
        // With their receipts, so that only the log can tell: it is appended and rolled back.
        'txIds order',
        {
          ...entry,
          txIds: [secondId, firstId, ...entry.txIds.slice(2)],
          receipts: [entry.receipts[1]!, entry.receipts[0]!, ...entry.receipts.slice(2)],
        },
        StoreErrorCode.wrongBlock,
        /^block 2: logRoot: expected [0-9a-f]{16}…, found [0-9a-f]{16}…$/,
      ],
      [
        'receipts count',
        { ...entry, receipts: entry.receipts.slice(1) },
        StoreErrorCode.wrongBlock,
        /^block 2: receipts: expected 8, one per transaction, found 7$/,
      ],
      [
        'receipt order',
        {
          ...entry,
          receipts: [entry.receipts[1]!, entry.receipts[0]!, ...entry.receipts.slice(2)],
        },
        StoreErrorCode.wrongBlock,
        /^block 2: receipts\[0\]\.txId: expected/,
      ],
      [
        'logSize',
        withHeader(entry, { logSize: entry.block.header.logSize + 1 }),
        StoreErrorCode.wrongBlock,
        /^block 2: logSize: expected 14, found 15$/,
      ],
      [
        'logRoot',
        withHeader(entry, { logRoot: new Uint8Array(32) }),
        StoreErrorCode.wrongBlock,
        /^block 2: logRoot: expected [0-9a-f]{16}…, found 0000000000000000…$/,
      ],
      [
        'stateRoot',
        withHeader(entry, { stateRoot: new Uint8Array(32) }),
        StoreErrorCode.wrongBlock,
        /^block 2: stateRoot of state: expected 0000000000000000…, found [0-9a-f]{16}…$/,
      ],
      [
        'a write missing from the state',
        {
          ...entry,
          writes: [
            ...entry.writes,
            { key: new Uint8Array(32).fill(9), value: new Uint8Array([1]) },
          ],
        },
        StoreErrorCode.wrongBlock,
        /^block 2: state: expected \d+ keys after the writes, found \d+$/,
      ],
      [
        'a write whose value the state does not hold',
        {
          ...entry,
          writes: [
            ...entry.writes.slice(0, -1),
            { key: entry.writes[entry.writes.length - 1]!.key, value: new Uint8Array([1]) },
          ],
        },
        StoreErrorCode.wrongBlock,
        /^block 2: writes\[\d+\] \(key [0-9a-f]{16}…\): expected state to hold 01, found [0-9a-f]+…?$/,
      ],
      [
        'a state change missing from the writes',
        withHeader(
          {
            ...entry,
            state: stateTreeUpdate(entry.state, [
              { key: new Uint8Array(32).fill(7), value: new Uint8Array([1]) },
            ]),
          },
          {
            stateRoot: stateTreeRootHash(
              stateTreeUpdate(entry.state, [
                { key: new Uint8Array(32).fill(7), value: new Uint8Array([1]) },
              ]),
            ),
          },
        ),
        StoreErrorCode.wrongBlock,
        /^block 2: state: expected \d+ keys after the writes, found \d+$/,
      ],
      [
        'a write twice',
        { ...entry, writes: [...entry.writes, entry.writes[0]!] },
        StoreErrorCode.wrongBlock,
        /^block 2: writes\[\d+\]: key [0-9a-f]{16}… is written twice$/,
      ],
      [
        'a state from another node store',
        withHeader(
          { ...entry, state: foreignStore },
          { stateRoot: stateTreeRootHash(foreignStore) },
        ),
        StoreErrorCode.wrongBlock,
        /^block 2: state: expected a version built from state\(\)/,
      ],
    ];
    for (const [name, bad, code, message] of cases) {
      assertStoreError(() => store.commitBlock(bad), code, message);
      assert.deepEqual(store.head(), before, `${name}: the head is unchanged`);
      assert.equal(store.loadBlock(2), null, `${name}: no block was written`);
      assert.equal(store.log().size, before.logSize, `${name}: the log is unchanged`);
      assert.equal(store.findTransaction(firstId), null, `${name}: no transaction was indexed`);
    }
    // The valid twin of every case above commits.
    store.commitBlock(entry);
    assert.equal(store.head().height, 2);
    assert.deepEqual(store.head().blockHash, blockHash(entry.block.header));
    // And the same block again is now at the wrong height.
    assertStoreError(
      () => store.commitBlock(entry),
      StoreErrorCode.wrongHeight,
      /^block height: expected 3 \(the head is at 2\), found 2$/,
    );
  });
});

for (const stateSnapshotEntriesPerChange of [1, 1000]) {
  test(`a replayed transaction keeps its first location (snapshot pace ${stateSnapshotEntriesPerChange} entries per change)`, () => {
    const { directory, remove } = temporaryDirectory();
    const store = openChainStore({
      directory,
      genesis: storeGenesis(),
      limits: { stateSnapshotEntriesPerChange },
    });
    try {
      const [first] = commitBlocks(store, { count: 1, txCount: 4 });
      const replayed = first!.block.txs[1]!;
      const entry = nextBlock(store, { txCount: 4, append: [replayed] });
      assert.equal(entry.receipts[4]!.code, 'bad-nonce');
      store.commitBlock(entry);
      assert.deepEqual(store.findTransaction(transactionId(replayed)), {
        height: 1,
        index: 1,
        logIndex: 1,
      });
      // Its twin: a transaction included once is found where it is.
      assert.deepEqual(store.findTransaction(entry.txIds[0]!), {
        height: 2,
        index: 0,
        logIndex: 4,
      });
      // The log holds the replay's leaf a second time: the log records inclusions.
      assert.equal(store.log().size, 9);
    } finally {
      store.close();
      remove();
    }
  });
}

test('the history log is read-only outside commitBlock; its valid twin is the commit itself', () => {
  withStore((store) => {
    assertStoreError(
      () => store.log().append(new Uint8Array(32)),
      StoreErrorCode.invalidArgument,
      /^the history log is read-only outside commitBlock/,
    );
    assert.equal(store.log().size, 0);
    commitBlocks(store, { count: 1, txCount: 3 });
    assert.equal(store.log().size, 3);
  });
});

test('StateHistory.commit accepts only the version committed at the head', () => {
  withStore((store) => {
    commitBlocks(store, { count: 1, txCount: 3 });
    store.commit(1, store.state());
    assertStoreError(
      () => store.commit(2, store.state()),
      StoreErrorCode.wrongHeight,
      /^state history: the store is at height 1, found 2; commit blocks with commitBlock$/,
    );
    assertStoreError(
      () => store.commit(1, store.stateAt(0)!),
      StoreErrorCode.wrongBlock,
      /^state history: state root at height 1: expected/,
    );
  });
});

test('the signing record is saved, replaced and kept across reopening; bad records are refused', () => {
  const { directory, remove } = temporaryDirectory();
  const genesis = storeGenesis();
  try {
    let store = openChainStore({ directory, genesis });
    store.saveSigningRecord(new Uint8Array([1, 2, 3]));
    assert.deepEqual(store.loadSigningRecord(), new Uint8Array([1, 2, 3]));
    store.saveSigningRecord(new Uint8Array([4, 5]));
    store.close();
    store = openChainStore({ directory, genesis });
    assert.deepEqual(store.loadSigningRecord(), new Uint8Array([4, 5]));
    assertStoreError(
      () => store.saveSigningRecord('record' as unknown as Uint8Array),
      StoreErrorCode.invalidArgument,
      /^record: expected the encoded signing record \(Uint8Array\), found string$/,
    );
    assertStoreError(
      () => store.saveSigningRecord(new Uint8Array(4 * 1024 * 1024 + 1)),
      StoreErrorCode.invalidArgument,
      /^record: expected at most 4194304 bytes \(signingRecordBytesMax\), found 4194305$/,
    );
    assert.deepEqual(store.loadSigningRecord(), new Uint8Array([4, 5]));
    store.close();
  } finally {
    remove();
  }
});

test('a store made for one genesis refuses another; the same genesis opens it', () => {
  const { directory, remove } = temporaryDirectory();
  try {
    openChainStore({ directory, genesis: storeGenesis() }).close();
    assertStoreError(
      () => openChainStore({ directory, genesis: storeGenesis({ chainId: 'another-chain' }) }),
      StoreErrorCode.wrongGenesis,
      /chain\.sqlite belongs to another chain: expected genesis [0-9a-f]{16}… \(chain "another-chain"\), found [0-9a-f]{16}…$/,
    );
    openChainStore({ directory, genesis: storeGenesis() }).close();
  } finally {
    remove();
  }
});

test('a second open of the same store is refused while the first holds it', () => {
  const { directory, remove } = temporaryDirectory();
  try {
    const first = openChainStore({ directory, genesis: storeGenesis() });
    assertStoreError(
      () => openChainStore({ directory, genesis: storeGenesis() }),
      StoreErrorCode.locked,
      /chain\.sqlite is open in another process or connection/,
    );
    first.close();
    openChainStore({ directory, genesis: storeGenesis() }).close();
  } finally {
    remove();
  }
});

test('a closed store refuses every call but head, which keeps the last head', () => {
  const { directory, remove } = temporaryDirectory();
  try {
    const store = openChainStore({ directory, genesis: storeGenesis() });
    const [entry] = commitBlocks(store, { count: 1, txCount: 2 });
    store.close();
    store.close();
    assert.equal(store.head().height, 1);
    const closed = /chain\.sqlite: the chain store is closed$/;
    assertStoreError(() => store.state(), StoreErrorCode.closed, closed);
    assertStoreError(() => store.loadBlock(1), StoreErrorCode.closed, closed);
    assertStoreError(() => store.commitBlock(entry!), StoreErrorCode.closed, closed);
    assertStoreError(
      () => store.saveSigningRecord(new Uint8Array(1)),
      StoreErrorCode.closed,
      closed,
    );
  } finally {
    remove();
  }
});

test('arguments are checked and named: heights, hashes, directory, genesis, limits', () => {
  withStore((store) => {
    for (const bad of [-1, 0.5, Number.NaN, '1' as unknown as number]) {
      assertStoreError(
        () => store.loadBlock(bad),
        StoreErrorCode.invalidArgument,
        /^height: expected a non-negative integer, found /,
      );
    }
    assertStoreError(
      () => store.findTransaction(new Uint8Array(31)),
      StoreErrorCode.invalidArgument,
      /^txId: expected a 32-byte hash, found 31 bytes$/,
    );
  });
  assertStoreError(
    () => openChainStore({ directory: '', genesis: storeGenesis() }),
    StoreErrorCode.invalidArgument,
    /^directory: expected a non-empty path, found ""$/,
  );
  const { directory, remove } = temporaryDirectory();
  try {
    assertStoreError(
      () => openChainStore({ directory, genesis: { ...storeGenesis(), validators: [] } }),
      StoreErrorCode.invalidArgument,
      /^genesis: genesis validators: expected at least one validator$/,
    );
    assertStoreError(
      () =>
        openChainStore({ directory, genesis: storeGenesis(), limits: { recentStateVersions: 0 } }),
      StoreErrorCode.invalidArgument,
      /^limits\.recentStateVersions: expected a positive integer, found 0$/,
    );
  } finally {
    remove();
  }
});

test('the head is a copy: changing it changes nothing in the store', () => {
  withStore((store) => {
    const head = store.head();
    head.blockHash.fill(0);
    assert.notEqual(toHex(store.head().blockHash), toHex(head.blockHash));
  });
});
