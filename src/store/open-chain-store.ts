/**
 * `openChainStore`: the node's durable store on one SQLite file (decision 0030). Opening checks
 * that the file is a MedLedger chain store for this genesis and that its last block, state root
 * and log root agree (`verify-on-open.ts`); `commitBlock` writes one decided block in one
 * fsynced transaction after checking it against the head.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { equalBytes, fromHex, shortHex, toHex } from '../base/index.ts';
import {
  type Block,
  type Commit,
  CommitSchema,
  blockHash as hashOfHeader,
  decodeBlock,
  encodeBlock,
  transactionRoot,
} from '../chain/index.ts';
import { CodecError } from '../codec/index.ts';
import {
  ContractError,
  type GenesisDocument,
  type Receipt,
  genesisDocumentHash,
  genesisState,
} from '../contracts/index.ts';
import { type Hash, hashBytes } from '../crypto/index.ts';
import type { HistoryLog } from '../merkle/index.ts';
import {
  MemoryStateNodeStore,
  type StateEntry,
  type StateRoot,
  logEmptyRoot,
  logRootAfterAppend,
  stateTreeEntries,
  stateTreeGet,
  stateTreeRootHash,
  stateTreeUpdate,
} from '../merkle/index.ts';

import type {
  ChainStore,
  ChainStoreHead,
  ChainStoreStats,
  CommitBlockEntry,
  TransactionLocation,
} from './chain-store.ts';
import { StoreError, StoreErrorCode } from './errors.ts';
import { type StoreTunables, storeLimits, tunablesOf } from './limits.ts';
import type { PendingIndexes } from './pending-indexes.ts';
import { packTxIds } from './pending-indexes.ts';
import { decodeReceipts, encodeReceipts } from './receipt-schema.ts';
import {
  type Database,
  type Statement,
  bytesOf,
  integerOf,
  openDatabase,
  storeErrorOf,
} from './sqlite.ts';
import type { SqliteLogNodeStore } from './sqlite-log-node-store.ts';
import {
  MetaName,
  chainStoreApplicationId,
  chainStoreFileName,
  chainStoreFormatVersion,
  chainStorePragmas,
  chainStoreTables,
} from './sqlite-schema.ts';
import { StateVersions } from './state-versions.ts';
import { type StoredHead, verifyOnOpen } from './verify-on-open.ts';

/**
 * Opens the chain store in `directory` (created, mode 0700, if absent), for the chain of
 * `genesis`. A new store starts at height 0 with the genesis state. An existing one must have
 * been made for the same genesis document (`wrong-genesis` otherwise) and pass the consistency
 * checks of `verifyOnOpen` (`inconsistent`); a file that is not a chain store is refused
 * (`corrupt`, `foreign`), and so is a store another process has open (`locked`).
 */
export function openChainStore(options: {
  directory: string;
  genesis: GenesisDocument;
  /** Overrides of `storeLimits`' state tunables (tests, benchmarks); the defaults otherwise. */
  limits?: Partial<StoreTunables>;
}): ChainStore {
  const { directory, genesis } = checkOpenOptions(options);
  const tunables = tunablesOf(options.limits);
  let genesisHash: Hash;
  try {
    genesisHash = genesisDocumentHash(genesis);
  } catch (error) {
    if (error instanceof ContractError) {
      throw new StoreError(StoreErrorCode.invalidArgument, `genesis: ${error.message}`);
    }
    throw error;
  }
  try {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw storeErrorOf(error, directory, 'creating the store directory');
  }
  const file = join(directory, chainStoreFileName);
  let database: Database | null = null;
  try {
    database = openDatabase(file, { busyTimeoutMs: storeLimits.busyTimeoutMs });
    for (const pragma of chainStorePragmas) database.pragma(pragma);
    const journalMode = database.pragma('journal_mode', { simple: true });
    if (journalMode !== 'wal') {
      throw new StoreError(
        StoreErrorCode.io,
        `${file}: expected journal mode wal, SQLite set ${String(journalMode)}`,
      );
    }
    if (isEmptyDatabase(database)) createStore(database, genesis, genesisHash);
    checkFileIdentity(database, file);
    const store = new SqliteChainStore({
      database,
      file,
      directory,
      genesis,
      genesisHash,
      tunables,
    });
    database = null;
    return store;
  } catch (error) {
    database?.close();
    throw storeErrorOf(error, file, 'opening the chain store');
  }
}

function checkOpenOptions(options: { directory: string; genesis: GenesisDocument }): {
  directory: string;
  genesis: GenesisDocument;
} {
  const candidate: unknown = options;
  if (typeof candidate !== 'object' || candidate === null) {
    throw new StoreError(
      StoreErrorCode.invalidArgument,
      `options: expected { directory, genesis }, found ${candidate === null ? 'null' : typeof candidate}`,
    );
  }
  if (typeof options.directory !== 'string' || options.directory.length === 0) {
    throw new StoreError(
      StoreErrorCode.invalidArgument,
      `directory: expected a non-empty path, found ${JSON.stringify(options.directory) ?? 'undefined'}`,
    );
  }
  return options;
}

/** A database SQLite created just now (or a creation that never committed): no tables. */
function isEmptyDatabase(database: Database): boolean {
  const row = database.prepare('SELECT count(*) AS tables FROM sqlite_schema').get() as {
    tables: number;
  };
  return (
    row.tables === 0 &&
    database.pragma('application_id', { simple: true }) === 0 &&
    database.pragma('user_version', { simple: true }) === 0
  );
}

/** Creates the tables and the height-0 rows (genesis state, empty log), in one transaction. */
function createStore(database: Database, genesis: GenesisDocument, genesisHash: Hash): void {
  const { state, stateRoot } = genesisState(genesis);
  database.transaction(() => {
    database.pragma(`application_id = ${chainStoreApplicationId}`);
    database.pragma(`user_version = ${chainStoreFormatVersion}`);
    database.exec(chainStoreTables);
    const meta = database.prepare('INSERT INTO meta (name, value) VALUES (?, ?)');
    meta.run(MetaName.genesisHash, genesisHash);
    meta.run(MetaName.genesisStateRoot, stateRoot);
    database
      .prepare(
        'INSERT INTO head (id, height, block_hash, time, state_root, log_size, log_root, checkpoint_height) VALUES (1, 0, ?, ?, ?, 0, ?, 0)',
      )
      .run(genesisHash, genesis.genesisTime, stateRoot, logEmptyRoot());
    const insert = database.prepare('INSERT INTO state_current (key, value) VALUES (?, ?)');
    for (const { key, value } of stateTreeEntries(state)) insert.run(key, value);
  })();
}

/** Refuses a SQLite file of another application or another store format. */
function checkFileIdentity(database: Database, file: string): void {
  const applicationId = database.pragma('application_id', { simple: true }) as number;
  if (applicationId !== chainStoreApplicationId) {
    throw new StoreError(
      StoreErrorCode.foreign,
      `${file} is a SQLite database of another application: expected application_id ` +
        `0x${chainStoreApplicationId.toString(16)} (MedLedger chain store), found 0x${(applicationId >>> 0).toString(16)}`,
      { file, applicationId },
    );
  }
  const version = database.pragma('user_version', { simple: true }) as number;
  if (version !== chainStoreFormatVersion) {
    throw new StoreError(
      StoreErrorCode.foreign,
      `${file} is a chain store of format ${version}; this MedLedger reads format ${chainStoreFormatVersion}`,
      { file, version },
    );
  }
}

/** Prepared statements, made once per open store. */
interface Statements {
  readonly insertBlock: Statement;
  readonly insertTransaction: Statement;
  readonly upsertState: Statement;
  readonly deleteState: Statement;
  readonly insertChange: Statement;
  readonly updateHead: Statement;
  readonly selectBlock: Statement;
  readonly selectBlockHash: Statement;
  readonly selectCommit: Statement;
  readonly selectReceipts: Statement;
  readonly selectTransaction: Statement;
  readonly selectChanges: Statement;
  readonly selectMeta: Statement;
  readonly upsertMeta: Statement;
}

function prepareStatements(database: Database): Statements {
  const prepare = (sql: string) => database.prepare(sql);
  return {
    insertBlock: prepare(
      'INSERT INTO blocks (height, hash, block, commit_certificate, receipts, tx_ids) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    // A transaction included again later (a replay, refused by its nonce) keeps its first place.
    insertTransaction: prepare(
      'INSERT OR IGNORE INTO transactions (tx_id, height, tx_index, log_index) VALUES (?, ?, ?, ?)',
    ),
    upsertState: prepare('INSERT OR REPLACE INTO state_current (key, value) VALUES (?, ?)'),
    deleteState: prepare('DELETE FROM state_current WHERE key = ?'),
    insertChange: prepare(
      'INSERT INTO state_changes (height, key, previous, value) VALUES (?, ?, ?, ?)',
    ),
    updateHead: prepare(
      'UPDATE head SET height = ?, block_hash = ?, time = ?, state_root = ?, log_size = ?, log_root = ?, checkpoint_height = ? WHERE id = 1',
    ),
    selectBlock: prepare('SELECT hash, block FROM blocks WHERE height = ?'),
    selectBlockHash: prepare('SELECT hash FROM blocks WHERE height = ?'),
    selectCommit: prepare('SELECT commit_certificate FROM blocks WHERE height = ?'),
    selectReceipts: prepare('SELECT receipts FROM blocks WHERE height = ?'),
    selectTransaction: prepare(
      'SELECT height, tx_index, log_index FROM transactions WHERE tx_id = ?',
    ),
    // Newest first, so that the last previous value seen for a key is the oldest one.
    selectChanges: prepare(
      'SELECT key, previous FROM state_changes WHERE height > ? AND height <= ? ORDER BY height DESC',
    ),
    selectMeta: prepare('SELECT value FROM meta WHERE name = ?'),
    upsertMeta: prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)'),
  };
}

/** `ChainStore` on an open SQLite database. */
class SqliteChainStore implements ChainStore {
  readonly directory: string;
  readonly #file: string;
  #database: Database | null;
  readonly #statements: Statements;
  readonly #genesisHash: Hash;
  readonly #genesisStateRoot: Hash;
  #head: StoredHead;
  readonly #logStore: SqliteLogNodeStore;
  readonly #log: HistoryLog;
  readonly #versions: StateVersions;
  readonly #tunables: StoreTunables;
  readonly #pending: PendingIndexes;

  constructor(options: {
    database: Database;
    file: string;
    directory: string;
    genesis: GenesisDocument;
    genesisHash: Hash;
    tunables: StoreTunables;
  }) {
    const { database, file, genesis, genesisHash, tunables } = options;
    this.#tunables = tunables;
    this.directory = options.directory;
    this.#file = file;
    this.#database = database;
    this.#statements = prepareStatements(database);
    this.#genesisHash = genesisHash;
    const storedGenesis = this.#readMeta(MetaName.genesisHash);
    if (storedGenesis === null || !equalBytes(storedGenesis, genesisHash)) {
      throw new StoreError(
        StoreErrorCode.wrongGenesis,
        `${file} belongs to another chain: expected genesis ${shortHex(genesisHash)} ` +
          `(chain ${JSON.stringify(genesis.chainId)}), found ${storedGenesis === null ? 'none' : shortHex(storedGenesis)}`,
        {
          expected: toHex(genesisHash),
          found: storedGenesis === null ? null : toHex(storedGenesis),
        },
      );
    }
    const genesisStateRoot = this.#readMeta(MetaName.genesisStateRoot);
    if (genesisStateRoot === null || genesisStateRoot.length !== hashBytes) {
      throw new StoreError(StoreErrorCode.corrupt, `${file}: the genesis state root is missing`);
    }
    this.#genesisStateRoot = genesisStateRoot;
    const nodes = new MemoryStateNodeStore();
    const verified = verifyOnOpen({
      database,
      genesisHash,
      genesisStateRoot,
      genesisTime: genesis.genesisTime,
      nodes,
      rebuildBatchEntries: tunables.stateRebuildBatchEntries,
    });
    this.#head = verified.head;
    this.#logStore = verified.logStore;
    this.#log = verified.log;
    this.#pending = verified.pending;
    this.#versions = new StateVersions({
      nodes,
      height: verified.head.height,
      state: verified.state,
      tunables,
    });
  }

  /** The last committed head; it still answers after `close` (the last head this store saw). */
  head(): ChainStoreHead {
    const head = this.#head;
    return {
      height: head.height,
      blockHash: head.blockHash.slice(),
      time: head.time,
      stateRoot: head.stateRoot.slice(),
      logSize: head.logSize,
      logRoot: head.logRoot.slice(),
    };
  }

  state(): StateRoot {
    this.#open();
    return this.#versions.current();
  }

  log(): HistoryLog {
    this.#open();
    return this.#log;
  }

  latestHeight(): number {
    this.#open();
    return this.#head.height;
  }

  /**
   * The state after `height`: at once for the `storeLimits.recentStateVersions` newest heights,
   * otherwise rebuilt from the newest kept version above it by undoing the recorded changes
   * (cost proportional to the changes between the two heights; the rebuilt root is checked
   * against the block header's before it is returned). Null beyond the head.
   */
  stateAt(height: number): StateRoot | null {
    this.#open();
    checkHeight(height);
    if (height > this.#head.height) return null;
    const kept = this.#versions.get(height);
    if (kept !== undefined) return kept;
    return this.#rebuildStateAt(height);
  }

  /**
   * `StateHistory.commit`: the store records state versions only through `commitBlock`, so this
   * accepts only the version already committed at the head (a no-op) and refuses anything else.
   */
  commit(height: number, state: StateRoot): void {
    this.#open();
    checkHeight(height);
    if (height !== this.#head.height) {
      throw new StoreError(
        StoreErrorCode.wrongHeight,
        `state history: the store is at height ${this.#head.height}, found ${height}; commit blocks with commitBlock`,
      );
    }
    const root = stateTreeRootHash(state);
    if (!equalBytes(root, this.#head.stateRoot)) {
      throw new StoreError(
        StoreErrorCode.wrongBlock,
        `state history: state root at height ${height}: expected ${shortHex(this.#head.stateRoot)}, found ${shortHex(root)}`,
      );
    }
  }

  loadBlock(height: number): Block | null {
    const row = this.#read('loading a block', () => {
      checkHeight(height);
      return this.#statements.selectBlock.get(height) as
        { hash: unknown; block: unknown } | undefined;
    });
    if (row === undefined) return null;
    const stored = bytesOf(row.hash, `block hash at height ${height}`);
    const block = decodeStored(`block at height ${height}`, () =>
      decodeBlock(bytesOf(row.block, `block at height ${height}`)),
    );
    const computed = hashOfHeader(block.header);
    if (!equalBytes(computed, stored) || block.header.height !== height) {
      throw new StoreError(
        StoreErrorCode.inconsistent,
        `block at height ${height}: the stored hash is ${shortHex(stored)}, the stored block (height ${block.header.height}) hashes to ${shortHex(computed)}`,
        { height },
      );
    }
    return block;
  }

  loadBlockHash(height: number): Hash | null {
    const row = this.#read('loading a block hash', () => {
      checkHeight(height);
      return this.#statements.selectBlockHash.get(height) as { hash: unknown } | undefined;
    });
    if (height === 0) return this.#genesisHash.slice();
    return row === undefined ? null : bytesOf(row.hash, `block hash at height ${height}`);
  }

  loadCommit(height: number): Commit | null {
    const row = this.#read('loading a commit', () => {
      checkHeight(height);
      return this.#statements.selectCommit.get(height) as
        { commit_certificate: unknown } | undefined;
    });
    if (row === undefined) return null;
    return decodeStored(`commit of height ${height}`, () =>
      CommitSchema.decode(bytesOf(row.commit_certificate, `commit of height ${height}`)),
    );
  }

  loadReceipts(height: number): readonly Receipt[] | null {
    const row = this.#read('loading receipts', () => {
      checkHeight(height);
      return this.#statements.selectReceipts.get(height) as { receipts: unknown } | undefined;
    });
    if (row === undefined) return null;
    return decodeStored(`receipts of height ${height}`, () =>
      decodeReceipts(bytesOf(row.receipts, `receipts of height ${height}`)),
    );
  }

  findTransaction(txId: Hash): TransactionLocation | null {
    const row = this.#read('finding a transaction', () => {
      checkHash('txId', txId);
      return this.#statements.selectTransaction.get(txId) as
        { height: unknown; tx_index: unknown; log_index: unknown } | undefined;
    });
    // The table holds transactions up to the checkpoint, the memory those after it: a table
    // hit is the earlier, first inclusion.
    if (row === undefined) return this.#pending.transactions.get(toHex(txId)) ?? null;
    return {
      height: integerOf(row.height, 'transaction height'),
      index: integerOf(row.tx_index, 'transaction index'),
      logIndex: integerOf(row.log_index, 'transaction log index'),
    };
  }

  commitBlock(entry: CommitBlockEntry): void {
    const database = this.#open();
    const head = this.#head;
    const { block, commit, txIds, receipts } = entry;
    const { header } = block;
    const height = head.height + 1;
    if (header.height !== height) {
      throw new StoreError(
        StoreErrorCode.wrongHeight,
        `block height: expected ${height} (the head is at ${head.height}), found ${header.height}`,
        { expected: height, found: header.height },
      );
    }
    const refuse = (what: string, expected: string, found: string): never => {
      throw new StoreError(
        StoreErrorCode.wrongBlock,
        `block ${height}: ${what}: expected ${expected}, found ${found}`,
        { height, what },
      );
    };
    if (!equalBytes(header.prevHash, head.blockHash)) {
      refuse('prevHash', shortHex(head.blockHash), shortHex(header.prevHash));
    }
    if (header.time <= head.time) refuse('time', `after ${head.time}`, `${header.time}`);
    const hash = hashOfHeader(header);
    if (!equalBytes(hash, entry.blockHash)) {
      refuse('block hash', shortHex(hash), shortHex(entry.blockHash));
    }
    if (commit.height !== height) refuse('commit height', `${height}`, `${commit.height}`);
    if (!equalBytes(commit.blockHash, hash)) {
      refuse('commit block hash', shortHex(hash), shortHex(commit.blockHash));
    }
    if (txIds.length !== block.txs.length) {
      refuse('txIds', `${block.txs.length} ids, one per transaction`, `${txIds.length}`);
    }
    const txRoot = transactionRoot(txIds);
    if (!equalBytes(txRoot, header.txRoot)) {
      refuse('txRoot of txIds', shortHex(header.txRoot), shortHex(txRoot));
    }
    if (receipts.length !== txIds.length) {
      refuse('receipts', `${txIds.length}, one per transaction`, `${receipts.length}`);
    }
    receipts.forEach((receipt, index) => {
      if (!equalBytes(receipt.txId, txIds[index]!)) {
        refuse(`receipts[${index}].txId`, shortHex(txIds[index]!), shortHex(receipt.txId));
      }
    });
    const logAfter = logRootAfterAppend(this.#log, txIds);
    if (logAfter.size !== header.logSize)
      refuse('logSize', `${logAfter.size}`, `${header.logSize}`);
    if (!equalBytes(logAfter.root, header.logRoot)) {
      refuse('logRoot', shortHex(logAfter.root), shortHex(header.logRoot));
    }
    const stateRoot = stateTreeRootHash(entry.state);
    if (!equalBytes(stateRoot, header.stateRoot)) {
      refuse('stateRoot of state', shortHex(header.stateRoot), shortHex(stateRoot));
    }
    const changes = this.#checkWrites(height, entry.writes, entry.state);
    let encoded: { block: Uint8Array; commit: Uint8Array; receipts: Uint8Array };
    try {
      encoded = {
        block: encodeBlock(block),
        commit: CommitSchema.encode(commit),
        receipts: encodeReceipts(receipts),
      };
    } catch (error) {
      if (error instanceof CodecError)
        refuse('encoding', 'a valid block, commit and receipts', error.message);
      throw error;
    }

    // Every check passed: from here on, a failure is the disk's or a bug, and the in-memory log
    // may already be ahead of the database, so the store closes itself rather than run on.
    const statements = this.#statements;
    const logSizeBefore = head.logSize;
    const pending = this.#pending;
    const checkpoint = height - pending.checkpointHeight >= this.#tunables.indexCheckpointBlocks;
    const checkpointHeight = checkpoint ? height : pending.checkpointHeight;
    try {
      database.transaction(() => {
        statements.insertBlock.run(
          height,
          hash,
          encoded.block,
          encoded.commit,
          encoded.receipts,
          packTxIds(txIds),
        );
        this.#logStore.writing(() => {
          for (const txId of txIds) this.#log.append(txId);
        });
        // Checked before, checked again: the log the database now holds is the header's.
        if (this.#log.size !== header.logSize || !equalBytes(this.#log.root(), header.logRoot)) {
          throw new StoreError(
            StoreErrorCode.inconsistent,
            `block ${height}: the appended log (size ${this.#log.size}) differs from the predicted one`,
          );
        }
        for (const change of changes) {
          statements.insertChange.run(height, change.key, change.previous, change.value);
        }
        if (checkpoint) {
          this.#writeCheckpoint({ height, txIds, logSizeBefore, changes, state: entry.state });
        }
        statements.updateHead.run(
          height,
          hash,
          header.time,
          stateRoot,
          header.logSize,
          header.logRoot,
          checkpointHeight,
        );
      })();
    } catch (error) {
      this.#closeAfterFailure();
      throw storeErrorOf(error, this.#file, `committing block ${height}`);
    }
    this.#head = {
      height,
      blockHash: hash,
      time: header.time,
      stateRoot,
      logSize: header.logSize,
      logRoot: header.logRoot.slice(),
      checkpointHeight,
    };
    if (checkpoint) pending.checkpointed(height);
    else {
      pending.addBlock({
        height,
        txIds,
        logSizeBefore,
        stateKeys: changes.map((change) => change.key),
      });
    }
    this.#versions.add(height, entry.state);
  }

  /**
   * Brings the hash-keyed tables up to `height`, inside that block's transaction: every state key
   * written since the last checkpoint gets its value in `state` (or is deleted), and every
   * transaction since then its location (a transaction already indexed keeps its first).
   */
  #writeCheckpoint(options: {
    height: number;
    txIds: readonly Hash[];
    logSizeBefore: number;
    changes: readonly { key: Uint8Array }[];
    state: StateRoot;
  }): void {
    const statements = this.#statements;
    const keys = new Map(this.#pending.stateKeys);
    for (const { key } of options.changes) keys.set(toHex(key), key);
    for (const key of keys.values()) {
      const value = stateTreeGet(options.state, key);
      if (value === null) statements.deleteState.run(key);
      else statements.upsertState.run(key, value);
    }
    for (const [hex, location] of this.#pending.transactions) {
      statements.insertTransaction.run(
        fromHex(hex),
        location.height,
        location.index,
        location.logIndex,
      );
    }
    options.txIds.forEach((txId, index) => {
      statements.insertTransaction.run(txId, options.height, index, options.logSizeBefore + index);
    });
  }

  saveSigningRecord(record: Uint8Array): void {
    const database = this.#open();
    if (!(record instanceof Uint8Array)) {
      throw new StoreError(
        StoreErrorCode.invalidArgument,
        `record: expected the encoded signing record (Uint8Array), found ${typeof record}`,
      );
    }
    if (record.length > storeLimits.signingRecordBytesMax) {
      throw new StoreError(
        StoreErrorCode.invalidArgument,
        `record: expected at most ${storeLimits.signingRecordBytesMax} bytes (signingRecordBytesMax), found ${record.length}`,
      );
    }
    try {
      // One statement outside a transaction is its own transaction: fsynced before it returns.
      database.transaction(() => this.#statements.upsertMeta.run(MetaName.signingRecord, record))();
    } catch (error) {
      this.#closeAfterFailure();
      throw storeErrorOf(error, this.#file, 'saving the signing record');
    }
  }

  loadSigningRecord(): Uint8Array | null {
    return this.#read('loading the signing record', () => this.#readMeta(MetaName.signingRecord));
  }

  stats(): ChainStoreStats {
    this.#open();
    return { ...this.#versions.stats(), stateKeys: this.#versions.current().keyCount };
  }

  close(): void {
    const database = this.#database;
    if (database === null) return;
    this.#database = null;
    try {
      database.close();
    } catch (error) {
      throw storeErrorOf(error, this.#file, 'closing the chain store');
    }
  }

  /**
   * Checks that `state` is `state()` with exactly `writes` applied (each key written holds its
   * new value, and the key count moved by what the writes inserted and deleted) and returns the
   * changes to persist, each with the value it replaces.
   */
  #checkWrites(
    height: number,
    writes: readonly StateEntry[],
    state: StateRoot,
  ): { key: Uint8Array; value: Uint8Array | null; previous: Uint8Array | null }[] {
    const refuse = (what: string): never => {
      throw new StoreError(StoreErrorCode.wrongBlock, `block ${height}: ${what}`, { height });
    };
    const previousState = this.#versions.current();
    if (state.store !== previousState.store) {
      refuse(
        'state: expected a version built from state() (commitBlockWrites), found one in another node store',
      );
    }
    const seen = new Set<string>();
    const changes: { key: Uint8Array; value: Uint8Array | null; previous: Uint8Array | null }[] =
      [];
    let keyCount = previousState.keyCount;
    for (let index = 0; index < writes.length; index++) {
      const { key, value } = writes[index]!;
      if (!(key instanceof Uint8Array) || key.length !== hashBytes) {
        refuse(`writes[${index}].key: expected ${hashBytes} bytes`);
      }
      const hex = toHex(key);
      if (seen.has(hex)) refuse(`writes[${index}]: key ${shortHex(key)} is written twice`);
      seen.add(hex);
      const previous = stateTreeGet(previousState, key);
      const now = stateTreeGet(state, key);
      const agrees = value === null ? now === null : now !== null && equalBytes(now, value);
      if (!agrees) {
        refuse(
          `writes[${index}] (key ${shortHex(key)}): expected state to hold ${value === null ? 'no value' : shortHex(value)}, found ${now === null ? 'no value' : shortHex(now)}`,
        );
      }
      if (previous === null && value !== null) keyCount++;
      if (previous !== null && value === null) keyCount--;
      changes.push({ key, value, previous });
    }
    if (keyCount !== state.keyCount) {
      refuse(`state: expected ${keyCount} keys after the writes, found ${state.keyCount}`);
    }
    return changes;
  }

  /** Rebuilds the state after `height` from the nearest kept version above it. */
  #rebuildStateAt(height: number): StateRoot {
    const base = this.#versions.nearestAbove(height);
    const undo = new Map<string, StateEntry>();
    this.#read('reading state changes', () => {
      for (const row of this.#statements.selectChanges.iterate(height, base.height) as Iterable<{
        key: unknown;
        previous: unknown;
      }>) {
        const key = bytesOf(row.key, 'state change key');
        const value = row.previous === null ? null : bytesOf(row.previous, 'state change value');
        // Rows come newest first: the last one seen for a key is its value at `height`.
        undo.set(toHex(key), { key, value });
      }
    });
    let state = base.state;
    const entries = [...undo.values()];
    for (let start = 0; start < entries.length; start += this.#tunables.stateRebuildBatchEntries) {
      state = stateTreeUpdate(
        state,
        entries.slice(start, start + this.#tunables.stateRebuildBatchEntries),
      );
    }
    const expected =
      height === 0 ? this.#genesisStateRoot : (this.loadBlock(height)?.header.stateRoot ?? null);
    const found = stateTreeRootHash(state);
    if (expected === null || !equalBytes(expected, found)) {
      throw new StoreError(
        StoreErrorCode.inconsistent,
        `state root at height ${height} rebuilt from the change table: expected ${expected === null ? 'a stored block' : shortHex(expected)}, found ${shortHex(found)}`,
        { height },
      );
    }
    return state;
  }

  #readMeta(name: string): Uint8Array | null {
    const row = this.#statements.selectMeta.get(name) as { value: unknown } | undefined;
    return row === undefined ? null : bytesOf(row.value, `meta ${name}`);
  }

  /** Runs a read, turning SQLite's errors into `StoreError`s (a failed read keeps the store open). */
  #read<T>(doing: string, read: () => T): T {
    this.#open();
    try {
      return read();
    } catch (error) {
      throw storeErrorOf(error, this.#file, doing);
    }
  }

  #open(): Database {
    if (this.#database === null) {
      throw new StoreError(StoreErrorCode.closed, `${this.#file}: the chain store is closed`);
    }
    return this.#database;
  }

  #closeAfterFailure(): void {
    const database = this.#database;
    this.#database = null;
    try {
      database?.close();
    } catch {
      // The write already failed; the error that matters is that one, thrown by the caller.
    }
  }
}

function checkHeight(height: number): void {
  if (!Number.isSafeInteger(height) || height < 0) {
    throw new StoreError(
      StoreErrorCode.invalidArgument,
      `height: expected a non-negative integer, found ${String(height)}`,
    );
  }
}

function checkHash(name: string, value: Uint8Array): void {
  if (!(value instanceof Uint8Array) || value.length !== hashBytes) {
    throw new StoreError(
      StoreErrorCode.invalidArgument,
      `${name}: expected a ${hashBytes}-byte hash, found ${value instanceof Uint8Array ? `${value.length} bytes` : typeof value}`,
    );
  }
}

/** Decodes a stored row; a row that does not decode is a corrupt store. */
function decodeStored<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof CodecError) {
      throw new StoreError(StoreErrorCode.corrupt, `${what} does not decode: ${error.message}`);
    }
    throw error;
  }
}
