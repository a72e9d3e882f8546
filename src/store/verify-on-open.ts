/**
 * The checks a store passes before the node may run on it (issue 5: "the node checks that its
 * last block, state root and log root agree, and refuses to run on a store that does not"):
 *
 * 1. the head row names the last stored block, and no block lies beyond it;
 * 2. that block hashes to the head's hash, and its header carries the head's height, time,
 *    state root, log root and log size (at height 0: the genesis hash, state root and time);
 * 3. the history log rebuilt from its stored nodes (RFC 9162 right edge) has the header's root at
 *    the header's size, and its last leaves are the last block's transaction ids;
 * 4. the state tree rebuilt from the last complete snapshot and the changes recorded after it has
 *    the header's state root.
 *
 * Each refusal is a `StoreError` (`inconsistent`, or `corrupt` for a row that does not decode)
 * naming what disagrees, the height, what was expected and what was found.
 */
import { AssertionFailedError, equalBytes, shortHex, toHex } from '../base/index.ts';
import { type BlockHeader, blockHash, decodeBlock, transactionId } from '../chain/index.ts';
import { CodecError } from '../codec/index.ts';
import { type Hash, hashBytes } from '../crypto/index.ts';
import {
  HistoryLog,
  HistoryLogError,
  type MemoryStateNodeStore,
  type StateEntry,
  type StateRoot,
  StateTreeError,
  emptyStateRoot,
  logEmptyRoot,
  logLeafHash,
  stateTreeRootHash,
  stateTreeUpdate,
} from '../merkle/index.ts';

import { StoreError, StoreErrorCode } from './errors.ts';
import { type Database, bytesOf, integerOf } from './sqlite.ts';
import { SqliteLogNodeStore } from './sqlite-log-node-store.ts';
import { stateSnapshotRanges } from './sqlite-schema.ts';
import { decodeSnapshotEntries, decodeStateChanges } from './state-records.ts';
import type { SnapshotProgress } from './state-snapshot.ts';
import { TransactionIndex } from './transaction-index.ts';

/** The head row as stored. */
export interface StoredHead {
  readonly height: number;
  readonly blockHash: Hash;
  readonly time: number;
  readonly stateRoot: Hash;
  readonly logSize: number;
  readonly logRoot: Hash;
  /** Where the rolling state snapshot stands (decision 0031). */
  readonly snapshot: SnapshotProgress;
}

/** What a store that passed the checks opens with. */
export interface VerifiedStore {
  readonly head: StoredHead;
  readonly logStore: SqliteLogNodeStore;
  readonly log: HistoryLog;
  readonly state: StateRoot;
  readonly transactions: TransactionIndex;
}

function inconsistent(message: string, height: number): StoreError {
  return new StoreError(StoreErrorCode.inconsistent, message, { height });
}

/** Reads the one head row. */
export function readHead(database: Database): StoredHead {
  const rows = database.prepare('SELECT * FROM head').all() as Record<string, unknown>[];
  const row = rows[0];
  if (rows.length !== 1 || row === undefined) {
    throw new StoreError(
      StoreErrorCode.corrupt,
      `the head table: expected exactly one row, found ${rows.length}`,
    );
  }
  return {
    height: integerOf(row.height, 'head height'),
    blockHash: bytesOf(row.block_hash, 'head block hash'),
    time: integerOf(row.time, 'head time'),
    stateRoot: bytesOf(row.state_root, 'head state root'),
    logSize: integerOf(row.log_size, 'head log size'),
    logRoot: bytesOf(row.log_root, 'head log root'),
    snapshot: {
      generation: integerOf(row.snapshot_generation, 'head snapshot generation'),
      height: integerOf(row.snapshot_height, 'head snapshot height'),
      buildingRange: integerOf(row.building_range, 'head building range'),
      buildingHeight: integerOf(row.building_height, 'head building height'),
    },
  };
}

/** Runs the four checks and returns the head, the log and the rebuilt state. */
export function verifyOnOpen(options: {
  database: Database;
  genesisHash: Hash;
  genesisStateRoot: Hash;
  genesisTime: number;
  nodes: MemoryStateNodeStore;
  rebuildBatchEntries: number;
}): VerifiedStore {
  const { database } = options;
  const head = readHead(database);
  const { height } = head;
  const last = database.prepare('SELECT max(height) AS height FROM blocks').get() as {
    height: unknown;
  };
  const lastHeight = last.height === null ? 0 : integerOf(last.height, 'last block height');
  if (lastHeight !== height) {
    throw inconsistent(
      `last block: the head says height ${height}, the blocks table ends at height ${lastHeight}`,
      height,
    );
  }
  const expected = expectedHead(database, head, options);
  const compare = (what: string, want: Uint8Array | number, found: Uint8Array | number) => {
    const same = typeof want === 'number' ? want === found : equalBytes(want, found as Uint8Array);
    if (!same) {
      const show = (value: Uint8Array | number) =>
        typeof value === 'number' ? `${value}` : shortHex(value);
      throw inconsistent(
        `${what} at height ${height}: expected ${show(want)} (${expected.source}), found ${show(found)} (the stored head)`,
        height,
      );
    }
  };
  compare('block hash', expected.blockHash, head.blockHash);
  compare('block time', expected.time, head.time);
  compare('state root', expected.stateRoot, head.stateRoot);
  compare('log size', expected.logSize, head.logSize);
  compare('log root', expected.logRoot, head.logRoot);

  const { snapshot } = head;
  if (
    snapshot.height > height ||
    snapshot.buildingRange < 0 ||
    snapshot.buildingRange >= stateSnapshotRanges ||
    (snapshot.buildingRange > 0 && snapshot.buildingHeight > height)
  ) {
    throw inconsistent(
      `state snapshot: expected heights at most the head's ${height} and a range below ${stateSnapshotRanges}, ` +
        `found height ${snapshot.height}, range ${snapshot.buildingRange} begun at ${snapshot.buildingHeight}`,
      height,
    );
  }
  const logStore = new SqliteLogNodeStore(database, head.logSize);
  const log = verifyLog(logStore, head, expected.txIds);
  const state = rebuildState({
    database,
    nodes: options.nodes,
    head,
    batchEntries: options.rebuildBatchEntries,
  });
  const transactions = readTransactions(database, head);
  return { head, logStore, log, state, transactions };
}

/** What the head must be: read from the last block, or from genesis at height 0. */
function expectedHead(
  database: Database,
  head: StoredHead,
  genesis: { genesisHash: Hash; genesisStateRoot: Hash; genesisTime: number },
): StoredHead & { source: string; txIds: readonly Hash[] } {
  if (head.height === 0) {
    return {
      height: 0,
      blockHash: genesis.genesisHash,
      time: genesis.genesisTime,
      stateRoot: genesis.genesisStateRoot,
      logSize: 0,
      logRoot: logEmptyRoot(),
      snapshot: head.snapshot,
      source: 'genesis',
      txIds: [],
    };
  }
  const row = database
    .prepare('SELECT hash, block FROM blocks WHERE height = ?')
    .get(head.height) as { hash: unknown; block: unknown } | undefined;
  const what = `block at height ${head.height}`;
  if (row === undefined) throw inconsistent(`${what}: missing`, head.height);
  let header: BlockHeader;
  let txIds: Hash[];
  try {
    const block = decodeBlock(bytesOf(row.block, what));
    header = block.header;
    txIds = block.txs.map(transactionId);
  } catch (error) {
    if (error instanceof CodecError) {
      throw new StoreError(StoreErrorCode.corrupt, `${what} does not decode: ${error.message}`, {
        height: head.height,
      });
    }
    throw error;
  }
  const computed = blockHash(header);
  const storedHash = bytesOf(row.hash, `${what}: hash`);
  if (!equalBytes(computed, storedHash)) {
    throw inconsistent(
      `block hash at height ${head.height}: expected ${shortHex(computed)} (the stored block's header), found ${shortHex(storedHash)} (the blocks table)`,
      head.height,
    );
  }
  if (header.height !== head.height) {
    throw inconsistent(
      `block height: expected ${head.height} (the head), found ${header.height} (the stored block's header)`,
      head.height,
    );
  }
  return {
    height: header.height,
    blockHash: computed,
    time: header.time,
    stateRoot: header.stateRoot,
    logSize: header.logSize,
    logRoot: header.logRoot,
    snapshot: head.snapshot,
    source: "the last block's header",
    txIds,
  };
}

/** Opens the log at the head's size and checks its root and its last leaves. */
function verifyLog(
  logStore: SqliteLogNodeStore,
  head: StoredHead,
  lastTxIds: readonly Hash[],
): HistoryLog {
  const { height, logSize } = head;
  let log: HistoryLog;
  let root: Hash;
  try {
    log = new HistoryLog(logStore);
    root = log.root();
  } catch (error) {
    // A missing or malformed node makes the log's own assertions fail.
    if (error instanceof AssertionFailedError || error instanceof HistoryLogError) {
      throw inconsistent(
        `log root at height ${height}: the stored log nodes for size ${logSize} are incomplete (${error.message})`,
        height,
      );
    }
    throw error;
  }
  if (!equalBytes(root, head.logRoot)) {
    throw inconsistent(
      `log root at height ${height} (size ${logSize}): expected ${shortHex(head.logRoot)} (the last block's header), found ${shortHex(root)} (rebuilt from the stored log nodes)`,
      height,
    );
  }
  const first = logSize - lastTxIds.length;
  if (first < 0) {
    throw inconsistent(
      `log size at height ${height}: expected at least the last block's ${lastTxIds.length} transactions, found ${logSize}`,
      height,
    );
  }
  lastTxIds.forEach((txId, index) => {
    const found = log.leafHash(first + index);
    if (!equalBytes(found, logLeafHash(txId))) {
      throw inconsistent(
        `log leaf ${first + index} at height ${height}: expected the leaf of transaction ${shortHex(txId)}, found leaf hash ${shortHex(found)}`,
        height,
      );
    }
  });
  return log;
}

/**
 * Rebuilds the current state tree: the last complete snapshot generation (one row per key range),
 * then the changes of every block after its height, in height order (decision 0031), and checks
 * the root against the head's, which the last block's header carries.
 */
function rebuildState(options: {
  database: Database;
  nodes: MemoryStateNodeStore;
  head: StoredHead;
  batchEntries: number;
}): StateRoot {
  const { database, head, batchEntries } = options;
  const { height, snapshot } = head;
  let state = emptyStateRoot(options.nodes);
  const rows = database
    .prepare(
      'SELECT key_range, entries FROM state_snapshot WHERE generation = ? ORDER BY key_range',
    )
    .all(snapshot.generation) as { key_range: unknown; entries: unknown }[];
  if (rows.length !== stateSnapshotRanges) {
    throw inconsistent(
      `state snapshot generation ${snapshot.generation}: expected ${stateSnapshotRanges} key ranges, found ${rows.length}`,
      height,
    );
  }
  try {
    let batch: StateEntry[] = [];
    for (const row of rows) {
      const what = `state snapshot range ${String(row.key_range)}`;
      for (const entry of decodeSnapshotEntries(bytesOf(row.entries, what), what)) {
        batch.push(entry);
        if (batch.length === batchEntries) {
          state = stateTreeUpdate(state, batch);
          batch = [];
        }
      }
    }
    state = stateTreeUpdate(state, batch);
    const since = new Map<string, StateEntry>();
    // Oldest first, so that the last value seen for a key is its current one. The iteration
    // starts here, so that no error above leaves it open.
    const changes = database
      .prepare('SELECT height, changes FROM state_changes WHERE height > ? ORDER BY height ASC')
      .iterate(snapshot.height) as Iterable<{ height: unknown; changes: unknown }>;
    for (const row of changes) {
      const what = `state changes of block ${String(row.height)}`;
      for (const change of decodeStateChanges(bytesOf(row.changes, what), what)) {
        since.set(toHex(change.key), { key: change.key, value: change.value });
      }
    }
    const entries = [...since.values()];
    for (let start = 0; start < entries.length; start += batchEntries) {
      state = stateTreeUpdate(state, entries.slice(start, start + batchEntries));
    }
  } catch (error) {
    if (error instanceof StateTreeError) {
      throw new StoreError(
        StoreErrorCode.corrupt,
        `state at height ${height}: a stored key or value is malformed (${error.message})`,
        { height },
      );
    }
    throw error;
  }
  const root = stateTreeRootHash(state);
  if (!equalBytes(root, head.stateRoot)) {
    throw inconsistent(
      `state root at height ${height} (${state.keyCount} keys): expected ${shortHex(head.stateRoot)} (the last block's header), found ${shortHex(root)} (rebuilt from the stored state)`,
      height,
    );
  }
  return state;
}

/** Builds the transaction index from every block's packed ids, checking the log sizes agree. */
function readTransactions(database: Database, head: StoredHead): TransactionIndex {
  const index = new TransactionIndex();
  const rows = database
    .prepare('SELECT height, tx_ids, log_size FROM blocks ORDER BY height ASC')
    .iterate() as Iterable<{ height: unknown; tx_ids: unknown; log_size: unknown }>;
  let logSize = 0;
  for (const row of rows) {
    const height = integerOf(row.height, 'block height');
    const packed = bytesOf(row.tx_ids, `transaction ids of block ${height}`);
    if (packed.length % hashBytes !== 0) {
      throw new StoreError(
        StoreErrorCode.corrupt,
        `transaction ids of block ${height}: expected a multiple of ${hashBytes} bytes, found ${packed.length}`,
        { height },
      );
    }
    logSize += packed.length / hashBytes;
    const stored = integerOf(row.log_size, `log size of block ${height}`);
    if (stored !== logSize) {
      throw inconsistent(
        `log size after block ${height}: expected ${logSize} (the transactions up to it), found ${stored}`,
        head.height,
      );
    }
    index.addPacked(height, packed);
  }
  if (logSize !== head.logSize) {
    throw inconsistent(
      `log size at height ${head.height}: expected ${head.logSize} (the head), found ${logSize} transactions in the blocks`,
      head.height,
    );
  }
  return index;
}
