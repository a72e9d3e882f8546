/**
 * `openChainStore`: the node's durable store on one SQLite file (decision 0030). Opening checks
 * that the file is a MedLedger chain store for this genesis and that its last block, state root
 * and log root agree (`verify-on-open.ts`); `commitBlock` writes one decided block in one
 * fsynced transaction after checking it against the head.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { equalBytes, shortHex, toHex } from '../base/index.ts';
import {
  type Block,
  type Commit,
  CommitSchema,
  blockHash as hashOfHeader,
  decodeBlock,
  encodeBlock,
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
import {
  HistoryLog,
  MemoryStateNodeStore,
  type StateEntry,
  type StateRoot,
  logEmptyRoot,
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
  stateSnapshotRanges,
} from './sqlite-schema.ts';
import {
  type StateChange,
  decodeStateChanges,
  encodeSnapshotEntries,
  encodeStateChanges,
} from './state-records.ts';
import { type SnapshotProgress, SnapshotPacer, stateRangeEntries } from './state-snapshot.ts';
import { StateVersions } from './state-versions.ts';
import { type TransactionIndex, indexInPacked, packTxIds } from './transaction-index.ts';
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
        'INSERT INTO head (id, height, block_hash, time, state_root, log_size, log_root, snapshot_generation, snapshot_height, building_range, building_height) VALUES (1, 0, ?, ?, ?, 0, ?, 1, 0, 0, 0)',
      )
      .run(genesisHash, genesis.genesisTime, stateRoot, logEmptyRoot());
    // Generation 1 of the snapshot: the genesis state, every range written at height 0.
    const insert = database.prepare(
      'INSERT INTO state_snapshot (generation, key_range, height, entries) VALUES (1, ?, 0, ?)',
    );
    for (let range = 0; range < stateSnapshotRanges; range++) {
      insert.run(range, encodeSnapshotEntries(stateRangeEntries(state, range)));
    }
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
  readonly insertChanges: Statement;
  readonly upsertSnapshotRange: Statement;
  readonly deleteOldSnapshotRange: Statement;
  readonly updateHead: Statement;
  readonly selectBlock: Statement;
  readonly selectBlockHash: Statement;
  readonly selectCommit: Statement;
  readonly selectReceipts: Statement;
  readonly selectTxIds: Statement;
  readonly selectChanges: Statement;
  readonly selectMeta: Statement;
  readonly upsertMeta: Statement;
}

function prepareStatements(database: Database): Statements {
  const prepare = (sql: string) => database.prepare(sql);
  return {
    insertBlock: prepare(
      'INSERT INTO blocks (height, hash, log_size, tx_ids, block, commit_certificate, receipts) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    insertChanges: prepare('INSERT INTO state_changes (height, changes) VALUES (?, ?)'),
    upsertSnapshotRange: prepare(
      'INSERT OR REPLACE INTO state_snapshot (generation, key_range, height, entries) VALUES (?, ?, ?, ?)',
    ),
    deleteOldSnapshotRange: prepare(
      'DELETE FROM state_snapshot WHERE generation < ? AND key_range = ?',
    ),
    updateHead: prepare(
      'UPDATE head SET height = ?, block_hash = ?, time = ?, state_root = ?, log_size = ?, log_root = ?, snapshot_generation = ?, snapshot_height = ?, building_range = ?, building_height = ? WHERE id = 1',
    ),
    selectBlock: prepare('SELECT hash, block FROM blocks WHERE height = ?'),
    selectBlockHash: prepare('SELECT hash FROM blocks WHERE height = ?'),
    selectCommit: prepare('SELECT commit_certificate FROM blocks WHERE height = ?'),
    selectReceipts: prepare('SELECT receipts FROM blocks WHERE height = ?'),
    selectTxIds: prepare('SELECT tx_ids, log_size FROM blocks WHERE height = ?'),
    // Newest first, so that the last previous value seen for a key is the oldest one.
    selectChanges: prepare(
      'SELECT height, changes FROM state_changes WHERE height > ? AND height <= ? ORDER BY height DESC',
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
  #log: HistoryLog;
  readonly #versions: StateVersions;
  readonly #tunables: StoreTunables;
  readonly #transactions: TransactionIndex;
  readonly #pacer: SnapshotPacer;

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
    this.#transactions = verified.transactions;
    this.#pacer = new SnapshotPacer(tunables.stateSnapshotEntriesPerChange);
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
    return this.#read('finding a transaction', () => {
      checkHash('txId', txId);
      // Candidates lowest first: the first block that really holds the id is its first place
      // (a transaction included again later, a replay refused by its nonce, keeps it).
      for (const height of this.#transactions.candidates(txId)) {
        const row = this.#statements.selectTxIds.get(height) as
          { tx_ids: unknown; log_size: unknown } | undefined;
        if (row === undefined) continue;
        const packed = bytesOf(row.tx_ids, `transaction ids of block ${height}`);
        const index = indexInPacked(packed, txId);
        if (index < 0) continue;
        const logSize = integerOf(row.log_size, `log size of block ${height}`);
        return { height, index, logIndex: logSize - packed.length / hashBytes + index };
      }
      return null;
    });
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
    // The ids are not hashed into a txRoot again here: they are the leaves appended to the log
    // below, whose root must equal the header's logRoot, which binds them to the signed header
    // (the block's own txRoot was checked by block validation).
    if (txIds.length !== block.txs.length) {
      refuse('txIds', `${block.txs.length} ids, one per transaction`, `${txIds.length}`);
    }
    if (header.logSize !== head.logSize + txIds.length) {
      refuse('logSize', `${head.logSize + txIds.length}`, `${header.logSize}`);
    }
    if (receipts.length !== txIds.length) {
      refuse('receipts', `${txIds.length}, one per transaction`, `${receipts.length}`);
    }
    for (let index = 0; index < receipts.length; index++) {
      if (!equalBytes(receipts[index]!.txId, txIds[index]!)) {
        refuse(`receipts[${index}].txId`, shortHex(txIds[index]!), shortHex(receipts[index]!.txId));
      }
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
    const snapshot = this.#snapshotRanges(height, changes.length, entry.state);

    // Every check that needs no writing passed. The log is appended inside the transaction and
    // its root checked there: a mismatch rolls the transaction back and reopens the log from the
    // rolled-back rows, so a refused block still writes nothing. Any other failure from here on
    // is the disk's or a bug, and the store closes itself rather than run on.
    const statements = this.#statements;
    // Set by the log check inside the transaction (a closure, hence the widened type).
    let logRefusal = null as StoreError | null;
    try {
      database.transaction(() => {
        statements.insertBlock.run(
          height,
          hash,
          header.logSize,
          packTxIds(txIds),
          encoded.block,
          encoded.commit,
          encoded.receipts,
        );
        this.#logStore.writing(() => {
          for (const txId of txIds) this.#log.append(txId);
          const root = this.#log.root();
          if (!equalBytes(root, header.logRoot)) {
            const refusal = new StoreError(
              StoreErrorCode.wrongBlock,
              `block ${height}: logRoot: expected ${shortHex(root)}, found ${shortHex(header.logRoot)}`,
              { height, what: 'logRoot' },
            );
            logRefusal = refusal;
            throw refusal;
          }
        });
        statements.insertChanges.run(height, encodeStateChanges(changes));
        for (const range of snapshot.ranges) {
          statements.upsertSnapshotRange.run(
            snapshot.generation,
            range.range,
            height,
            range.entries,
          );
          // The generation before the complete one is garbage: its rows go range by range as
          // the new ones are written, never all in one commit (a delete reads every overflow
          // page of the rows it removes).
          statements.deleteOldSnapshotRange.run(head.snapshot.generation, range.range);
        }
        const progress = snapshot.progress;
        statements.updateHead.run(
          height,
          hash,
          header.time,
          stateRoot,
          header.logSize,
          header.logRoot,
          progress.generation,
          progress.height,
          progress.buildingRange,
          progress.buildingHeight,
        );
      })();
    } catch (error) {
      if (error instanceof StoreError && error === logRefusal) {
        this.#reopenLog(head.logSize);
        throw error;
      }
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
      snapshot: snapshot.progress,
    };
    this.#transactions.addBlock(height, txIds);
    this.#versions.add(height, entry.state);
  }

  /**
   * The snapshot ranges block `height` rewrites (from its state, `state`), and where the snapshot
   * stands after them: the pacer decides how many, and the block that writes the last range of a
   * generation makes that generation the complete one (decision 0031).
   */
  #snapshotRanges(
    height: number,
    changes: number,
    state: StateRoot,
  ): {
    generation: number;
    ranges: { range: number; entries: Uint8Array }[];
    progress: SnapshotProgress;
  } {
    const current = this.#head.snapshot;
    const count = this.#pacer.rangesFor({
      changes,
      stateKeys: state.keyCount,
      rangesLeft: stateSnapshotRanges - current.buildingRange,
    });
    const generation = current.generation + 1;
    const ranges: { range: number; entries: Uint8Array }[] = [];
    for (let range = current.buildingRange; range < current.buildingRange + count; range++) {
      ranges.push({ range, entries: encodeSnapshotEntries(stateRangeEntries(state, range)) });
    }
    if (count === 0) return { generation, ranges, progress: current };
    const buildingHeight = current.buildingRange === 0 ? height : current.buildingHeight;
    const next = current.buildingRange + count;
    const progress: SnapshotProgress =
      next === stateSnapshotRanges
        ? { generation, height: buildingHeight, buildingRange: 0, buildingHeight: 0 }
        : { ...current, buildingRange: next, buildingHeight };
    return { generation, ranges, progress };
  }

  /** After a refused append rolled back: the log as the database holds it again. */
  #reopenLog(logSize: number): void {
    this.#logStore.reset(logSize);
    this.#log = new HistoryLog(this.#logStore);
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
   * Returns the changes to record, each with the value it replaces (read from `state()`, one
   * lookup per write), after cheap checks that `state` is `state()` with exactly `writes`
   * applied: the same node store, well-formed keys written once, the key count moved by what the
   * writes inserted and deleted, and the first and last writes' values present in `state`. The
   * full agreement is checked at the next open, where the state rebuilt from the recorded
   * changes must have the header's root (STYLE.md: checked when written, again when read).
   */
  #checkWrites(height: number, writes: readonly StateEntry[], state: StateRoot): StateChange[] {
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
    const changes: StateChange[] = [];
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
      if (previous === null && value !== null) keyCount++;
      if (previous !== null && value === null) keyCount--;
      changes.push({ key, value, previous });
    }
    if (keyCount !== state.keyCount) {
      refuse(`state: expected ${keyCount} keys after the writes, found ${state.keyCount}`);
    }
    for (const index of writes.length === 0 ? [] : [0, writes.length - 1]) {
      const { key, value } = writes[index]!;
      const now = stateTreeGet(state, key);
      const agrees = value === null ? now === null : now !== null && equalBytes(now, value);
      if (!agrees) {
        refuse(
          `writes[${index}] (key ${shortHex(key)}): expected state to hold ${value === null ? 'no value' : shortHex(value)}, found ${now === null ? 'no value' : shortHex(now)}`,
        );
      }
    }
    return changes;
  }

  /** Rebuilds the state after `height` from the nearest kept version above it. */
  #rebuildStateAt(height: number): StateRoot {
    const base = this.#versions.nearestAbove(height);
    const undo = new Map<string, StateEntry>();
    this.#read('reading state changes', () => {
      for (const row of this.#statements.selectChanges.iterate(height, base.height) as Iterable<{
        height: unknown;
        changes: unknown;
      }>) {
        const what = `state changes of block ${String(row.height)}`;
        // Blocks come newest first: the last change seen for a key holds its value at `height`.
        for (const change of decodeStateChanges(bytesOf(row.changes, what), what)) {
          undo.set(toHex(change.key), { key: change.key, value: change.previous });
        }
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
