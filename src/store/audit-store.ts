/**
 * `auditChainStore`: re-verifies a node's whole chain store from its genesis document, over a
 * read-only SQLite connection of its own, and reports the first inconsistency (issue 7, item 4:
 * "audit-store finds a single changed byte anywhere in a node's store"; decision 0070).
 *
 * Unlike `openChainStore`, which checks only what a node needs to run (the last block, the state
 * and log roots; `verify-on-open.ts`) and may write, the audit re-derives every stored byte it
 * can from genesis and compares: SQLite's own page check, the schema, the meta rows, then per
 * height the block (strict decoding, hash, chain rules and signatures through chain's
 * `assertValidBlock`), its commit (≥ 2/3 of that height's validator set), the packed ids, the
 * re-executed transactions' state root, receipts and state changes (byte for byte), every history
 * log node the block's ids wrote, and every state snapshot row written at that height; at the end
 * the head row, the rows beyond the chain, the snapshot's layout and the signing record.
 */
import { Buffer } from 'node:buffer';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

import BetterSqlite3 from 'better-sqlite3';

import { equalBytes, shortHex, toHex } from '../base/index.ts';
import {
  type Block,
  type BlockContext,
  type BlockHeader,
  ChainError,
  type Commit,
  CommitSchema,
  type ValidatorSet,
  assertValidBlock,
  assertValidCommit,
  blockHash,
  decodeBlock,
  encodeBlock,
  transactionId,
  validatorSetHash,
} from '../chain/index.ts';
import { type CborValue, CodecError, decodeCbor } from '../codec/index.ts';
import {
  ContractError,
  type GenesisDocument,
  type Receipt,
  commitBlockWrites,
  executeTransactions,
  genesisDocumentHash,
  genesisState,
  readValidatorSet,
} from '../contracts/index.ts';
import { type Hash, hashBytes } from '../crypto/index.ts';
import {
  HistoryLog,
  MemoryLogNodeStore,
  MemoryStateNodeStore,
  type StateEntry,
  type StateRoot,
  logEmptyRoot,
  stateTreeCopy,
  stateTreeGet,
} from '../merkle/index.ts';

import { StoreError, StoreErrorCode } from './errors.ts';
import { storeLimits } from './limits.ts';
import { decodeReceipts, encodeReceipts } from './receipt-schema.ts';
import { type Database, sqliteCodeOf, storeErrorOf } from './sqlite.ts';
import {
  MetaName,
  chainStoreApplicationId,
  chainStoreFileName,
  chainStoreFormatVersion,
  chainStoreTables,
  stateSnapshotRanges,
} from './sqlite-schema.ts';
import {
  type StateChange,
  decodeSnapshotEntries,
  decodeStateChanges,
  encodeSnapshotEntries,
  encodeStateChanges,
} from './state-records.ts';
import { stateRangeEntries } from './state-snapshot.ts';
import { packTxIds } from './transaction-index.ts';

/** What a failure names: a table of the store, its schema, or the file itself. */
export const StoreAuditTable = {
  file: 'file',
  schema: 'sqlite_schema',
  meta: 'meta',
  head: 'head',
  blocks: 'blocks',
  stateChanges: 'state_changes',
  logNodes: 'log_nodes',
  stateSnapshot: 'state_snapshot',
} as const;

/** One of the `StoreAuditTable` values. */
export type StoreAuditTable = (typeof StoreAuditTable)[keyof typeof StoreAuditTable];

/** The first inconsistency an audit found, precisely enough to find the byte. */
export interface StoreAuditFailure {
  readonly table: StoreAuditTable;
  /** The row: `height 812`, `level 0, index 17`, `generation 3, range 31`, `signing-record`. */
  readonly row: string;
  /** The block height the failure belongs to, when it belongs to one. */
  readonly height: number | null;
  /** The column or the part of it (`hash`, `header stateRoot`, `receipts`, `entries`). */
  readonly field: string;
  /** What the audit derived from genesis, and what the store holds (short hex), when values. */
  readonly expected: string | null;
  readonly found: string | null;
  /** The failure as one line: `blocks height 812: header stateRoot: expected …, found …`. */
  readonly message: string;
}

/** What an audit covered (as far as it got, when it stopped at a failure). */
export interface StoreAuditSummary {
  readonly file: string;
  readonly fileBytes: number;
  readonly chainId: string;
  /** `genesisDocumentHash` of the genesis document audited against, hex. */
  readonly genesisHash: string;
  /** Blocks audited, from height 1 on. */
  readonly heights: number;
  readonly transactions: number;
  readonly logSize: number;
  readonly logNodes: number;
  /** Keys of the state after the last audited height. */
  readonly stateKeys: number;
  readonly snapshotRows: number;
  /** The consensus signing record: absent, or checked (null until the audit gets there). */
  readonly signingRecord: 'absent' | 'checked' | null;
}

/** The outcome of `auditChainStore`. */
export type StoreAuditResult =
  | { readonly ok: true; readonly summary: StoreAuditSummary }
  | {
      readonly ok: false;
      readonly failure: StoreAuditFailure;
      readonly summary: StoreAuditSummary;
    };

/** Where an audit stands, for a progress display. */
export interface StoreAuditProgress {
  /** SQLite's page check, the blocks in height order, then the checks of the whole. */
  readonly step: 'integrity-check' | 'blocks' | 'final-checks';
  /** Heights audited so far. */
  readonly height: number;
  /** The last stored block's height: the number of heights to audit. */
  readonly lastHeight: number;
  readonly transactions: number;
}

/**
 * A check of the consensus signing record, which the store holds as bytes only (store may not
 * import consensus): returns what is wrong with `record`, or null. The caller (cli) decodes it
 * with consensus's schema and checks its signatures against the audited chain.
 */
export type SigningRecordCheck = (options: {
  readonly record: Uint8Array;
  readonly chainId: string;
  /** The last stored block's height. */
  readonly lastHeight: number;
  /** The context a block of `height` is checked against (1 … lastHeight + 1), else null. */
  readonly blockContextAt: (height: number) => BlockContext | null;
}) => string | null;

/** Options of `auditChainStore`. */
export interface AuditChainStoreOptions {
  /** The node's data directory, which holds `chain.sqlite`. */
  readonly directory: string;
  /** The genesis document of the node's chain (parsed and checked by contracts). */
  readonly genesis: GenesisDocument;
  /** Called before the page check, after every block, and before the final checks. */
  readonly onProgress?: (progress: StoreAuditProgress) => void;
  /**
   * The signing record's check; without one, the record must be canonical CBOR of the shape of
   * consensus's `SigningRecord` (an array whose first item is a height at most the next one).
   */
  readonly checkSigningRecord?: SigningRecordCheck;
}

/**
 * Above this many bytes the audit's in-memory state tree (which, like merkle's store, never frees
 * a node) is copied down to the current version, and again whenever it doubles since the last
 * copy, so that memory follows the state, not the chain's history of it.
 */
const auditStateBytesMin = 64 * 1024 * 1024;

/** Lines of `PRAGMA integrity_check` read; the first is reported, the count with it. */
const integrityErrorsMax = 20;

/** The first 16 bytes of every SQLite database file (SQLite file format §1.3). */
const sqliteMagic = 'SQLite format 3\0';

/**
 * Audits the chain store in `directory` against `genesis` (see the file comment) and returns
 * the first inconsistency, or a summary when there is none. Never writes: the database is opened
 * read-only, inside one read transaction (a consistent snapshot, and a node cannot start on the
 * store meanwhile). Throws `StoreError` when there is nothing to audit: a missing directory or
 * store file (`invalid-argument`), a file that is not SQLite (`corrupt`) or not a chain store
 * (`foreign`), a store a running node holds (`locked`), a store of another genesis document
 * (`wrong-genesis`), or a file the system refuses to read (`io`).
 */
export function auditChainStore(options: AuditChainStoreOptions): StoreAuditResult {
  const { directory, genesis } = checkAuditOptions(options);
  let genesisHash: Hash;
  try {
    genesisHash = genesisDocumentHash(genesis);
  } catch (error) {
    if (error instanceof ContractError) {
      throw new StoreError(StoreErrorCode.invalidArgument, `genesis: ${error.message}`);
    }
    throw error;
  }
  const file = join(directory, chainStoreFileName);
  const fileBytes = checkStoreFile(directory, file);
  let database: Database;
  try {
    database = new BetterSqlite3(file, {
      readonly: true,
      fileMustExist: true,
      timeout: storeLimits.busyTimeoutMs,
    });
  } catch (error) {
    throw storeErrorOf(error, file, 'opening the chain store read-only');
  }
  try {
    return new StoreAudit({ database, file, fileBytes, genesis, genesisHash, options }).run();
  } finally {
    database.close();
  }
}

function checkAuditOptions(options: AuditChainStoreOptions): AuditChainStoreOptions {
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

/** Checks that `file` is a SQLite file in an existing `directory`; returns its size. */
function checkStoreFile(directory: string, file: string): number {
  const kindOf = (path: string): 'file' | 'directory' | 'other' | 'missing' => {
    try {
      const stat = statSync(path);
      return stat.isFile() ? 'file' : stat.isDirectory() ? 'directory' : 'other';
    } catch {
      return 'missing';
    }
  };
  const directoryKind = kindOf(directory);
  if (directoryKind !== 'directory') {
    throw new StoreError(
      StoreErrorCode.invalidArgument,
      `${directory}: expected the node's data directory, found ${directoryKind === 'missing' ? 'nothing there' : 'a file'}`,
    );
  }
  if (kindOf(file) !== 'file') {
    throw new StoreError(
      StoreErrorCode.invalidArgument,
      `${directory} holds no chain store: expected the file ${chainStoreFileName} in it`,
    );
  }
  const head = new Uint8Array(sqliteMagic.length);
  let size: number;
  let read: number;
  try {
    size = statSync(file).size;
    const descriptor = openSync(file, 'r');
    try {
      read = readSync(descriptor, head, 0, head.length, 0);
    } finally {
      closeSync(descriptor);
    }
  } catch (error) {
    throw storeErrorOf(error, file, 'reading the file header');
  }
  const magic = Buffer.from(head.subarray(0, read)).toString('latin1');
  if (magic !== sqliteMagic) {
    throw new StoreError(
      StoreErrorCode.corrupt,
      `${file} is not a SQLite database: expected it to begin with "SQLite format 3", found ${read === 0 ? 'an empty file' : JSON.stringify(magic.replace(/\0/g, '\\0'))}`,
      { file },
    );
  }
  return size;
}

/** Where a failure is: a table and a row, and the height the row belongs to. */
interface Place {
  readonly table: StoreAuditTable;
  readonly row: string;
  readonly height?: number;
}

/** What is wrong: a value against what it should be, or a sentence. */
type Detail =
  | {
      readonly expected: string;
      readonly found: string;
      readonly expectedFrom?: string;
      readonly foundFrom?: string;
    }
  | { readonly text: string };

/** Thrown inside the audit to stop at the first failure; never leaves `StoreAudit.run`. */
class AuditStop extends Error {
  readonly failure: StoreAuditFailure;

  constructor(failure: StoreAuditFailure) {
    super(failure.message);
    this.failure = failure;
  }
}

/** The failure at `place`. */
function failureOf(place: Place, field: string, detail: Detail): StoreAuditFailure {
  const where = place.row === '' ? place.table : `${place.table} ${place.row}`;
  const from = (source: string | undefined) => (source === undefined ? '' : ` (${source})`);
  const what =
    'text' in detail
      ? detail.text
      : `expected ${detail.expected}${from(detail.expectedFrom)}, found ${detail.found}${from(detail.foundFrom)}`;
  return {
    table: place.table,
    row: place.row,
    height: place.height ?? null,
    field,
    expected: 'text' in detail ? null : detail.expected,
    found: 'text' in detail ? null : detail.found,
    message: `${where}: ${field}: ${what}`,
  };
}

/** Stops the audit at the failure at `place`. */
function stop(place: Place, field: string, detail: Detail): never {
  throw new AuditStop(failureOf(place, field, detail));
}

/** A column's SQLite type as JavaScript sees it (better-sqlite3: BLOB → Buffer, TEXT → string). */
function describeColumn(value: unknown): string {
  if (value === null) return 'NULL';
  if (value instanceof Uint8Array) return `a ${value.length}-byte BLOB`;
  if (typeof value === 'string') return `TEXT (${value.length} characters)`;
  if (typeof value === 'number') return `${Number.isInteger(value) ? 'INTEGER' : 'REAL'} ${value}`;
  return typeof value;
}

/** A BLOB column (of `length` bytes, if given) as a `Uint8Array` over the same memory. */
function blobAt(place: Place, field: string, value: unknown, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array) || (length !== undefined && value.length !== length)) {
    stop(place, field, {
      expected: length === undefined ? 'a BLOB' : `a ${length}-byte BLOB`,
      found: describeColumn(value),
    });
  }
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** An INTEGER column, at least `min`. */
function integerAt(place: Place, field: string, value: unknown, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    stop(place, field, {
      expected: `an INTEGER of at least ${min}`,
      found: describeColumn(value),
    });
  }
  return value;
}

/** A value for a message: short hex and its length, or `none`. */
function show(value: Uint8Array | null): string {
  if (value === null) return 'none';
  return value.length <= 8
    ? `${toHex(value) || '(empty)'}`
    : `${shortHex(value)} (${value.length} bytes)`;
}

/**
 * Two byte strings for a message, formatted by `format` (short hex by default); when that shows
 * them the same (they differ past the first 8 bytes), each gets the bytes where they differ.
 */
function hexPair(
  expected: Uint8Array | null,
  found: Uint8Array | null,
  format: (value: Uint8Array) => string = shortHex,
): { expected: string; found: string } {
  const text = (value: Uint8Array | null) => (value === null ? 'none' : format(value));
  if (expected === null || found === null || text(expected) !== text(found)) {
    return { expected: text(expected), found: text(found) };
  }
  const at = firstDifference(expected, found);
  const near = (value: Uint8Array) =>
    `${text(value)} (byte ${at}: ${toHex(value.subarray(at, at + 4))}…)`;
  return { expected: near(expected), found: near(found) };
}

/** The first byte where `a` and `b` differ (or the shorter length). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) if (a[index] !== b[index]) return index;
  return length;
}

/** Why two encodings differ when their decoded values agree field by field. */
function byteDifference(expected: Uint8Array, found: Uint8Array): string {
  const at = firstDifference(expected, found);
  return `${expected.length} bytes expected, ${found.length} found, first difference at byte ${at}`;
}

/** The prepared statements of an audit. */
interface AuditStatements {
  readonly block: BetterSqlite3.Statement;
  readonly blockBytes: BetterSqlite3.Statement;
  readonly changes: BetterSqlite3.Statement;
  readonly logNodes: BetterSqlite3.Statement;
  readonly snapshotEntries: BetterSqlite3.Statement;
}

/** A snapshot row's key, as listed before the blocks are audited. */
interface SnapshotRow {
  readonly generation: number;
  readonly range: number;
  readonly height: number;
}

/** The head row as stored, its columns checked for type only. */
interface HeadRow {
  readonly height: number;
  readonly blockHash: Uint8Array;
  readonly time: number;
  readonly stateRoot: Uint8Array;
  readonly logSize: number;
  readonly logRoot: Uint8Array;
  readonly snapshotGeneration: number;
  readonly snapshotHeight: number;
  readonly buildingRange: number;
  readonly buildingHeight: number;
}

/** What the audit keeps of the last audited block (or of genesis, before block 1). */
interface Tip {
  readonly height: number;
  readonly hash: Hash;
  readonly time: number;
  readonly logSize: number;
  readonly stateRoot: Hash;
  readonly logRoot: Hash;
}

/** One audit over an open read-only database. */
class StoreAudit {
  readonly #database: Database;
  readonly #file: string;
  readonly #fileBytes: number;
  readonly #genesis: GenesisDocument;
  readonly #genesisHash: Hash;
  readonly #onProgress: ((progress: StoreAuditProgress) => void) | undefined;
  readonly #checkSigningRecord: SigningRecordCheck | undefined;
  readonly #chainId: string;
  /** What SQLite was doing, for a read that fails (a malformed page the check did not reach). */
  #doing = 'opening the store';
  #statements: AuditStatements | null = null;
  #signingRecord: Uint8Array | null = null;
  #head: HeadRow | null = null;
  #snapshotRows: SnapshotRow[] = [];
  readonly #snapshotByHeight = new Map<number, SnapshotRow[]>();
  #lastHeight = 0;
  #state: StateRoot | null = null;
  #stateBytesAfterCopy = 0;
  #tip: Tip | null = null;
  readonly #logNodes = new MemoryLogNodeStore();
  readonly #log = new HistoryLog(this.#logNodes);
  /** Validator sets by the first height they hold for, ascending (decision 0036). */
  readonly #sets: { from: number; set: ValidatorSet; hash: Hash }[] = [];
  #heights = 0;
  #transactions = 0;
  #signingRecordState: 'absent' | 'checked' | null = null;

  constructor(options: {
    database: Database;
    file: string;
    fileBytes: number;
    genesis: GenesisDocument;
    genesisHash: Hash;
    options: AuditChainStoreOptions;
  }) {
    this.#database = options.database;
    this.#file = options.file;
    this.#fileBytes = options.fileBytes;
    this.#genesis = options.genesis;
    this.#genesisHash = options.genesisHash;
    this.#chainId = options.genesis.chainId;
    this.#onProgress = options.options.onProgress;
    this.#checkSigningRecord = options.options.checkSigningRecord;
  }

  run(): StoreAuditResult {
    const database = this.#database;
    let failure: StoreAuditFailure | null = null;
    try {
      // One read transaction for the whole audit: every statement sees the same snapshot, and
      // the shared lock it holds keeps a node (which opens with an exclusive lock) from starting.
      database.exec('BEGIN');
      try {
        this.#audit();
      } finally {
        if (database.inTransaction) database.exec('ROLLBACK');
      }
    } catch (error) {
      if (error instanceof AuditStop) failure = error.failure;
      else failure = this.#failureOfSqlite(error);
    }
    const summary = this.#summary();
    return failure === null ? { ok: true, summary } : { ok: false, failure, summary };
  }

  /** A SQLite error while reading: a lock is `locked` (thrown); damage is a failure. */
  #failureOfSqlite(error: unknown): StoreAuditFailure {
    const code = sqliteCodeOf(error);
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new StoreError(
        StoreErrorCode.locked,
        `${this.#file} is locked: a running node (or another process) has it open; stop the node or copy its folder (${chainStoreFileName} with its -wal file) and audit the copy`,
        { file: this.#file, sqliteCode: code },
      );
    }
    if (code === null) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    return failureOf({ table: StoreAuditTable.file, row: '' }, 'SQLite', {
      text: `reading failed while ${this.#doing}: ${reason} (${code})`,
    });
  }

  #summary(): StoreAuditSummary {
    return {
      file: this.#file,
      fileBytes: this.#fileBytes,
      chainId: this.#chainId,
      genesisHash: toHex(this.#genesisHash),
      heights: this.#heights,
      transactions: this.#transactions,
      logSize: this.#log.size,
      logNodes: countLogNodes(this.#log.size),
      stateKeys: this.#state?.keyCount ?? 0,
      snapshotRows: this.#snapshotRows.length,
      signingRecord: this.#signingRecordState,
    };
  }

  #progress(step: StoreAuditProgress['step']): void {
    this.#onProgress?.({
      step,
      height: this.#heights,
      lastHeight: this.#lastHeight,
      transactions: this.#transactions,
    });
  }

  #audit(): void {
    this.#checkIdentity();
    this.#progress('integrity-check');
    this.#checkIntegrity();
    this.#checkSchema();
    this.#statements = this.#prepare();
    this.#readHead();
    this.#readLastHeight();
    this.#checkMeta();
    this.#readSnapshotRows();
    this.#auditGenesis();
    this.#progress('blocks');
    for (let height = 1; height <= this.#lastHeight; height++) {
      this.#auditHeight(height);
      this.#progress('blocks');
    }
    this.#progress('final-checks');
    this.#checkHead();
    this.#checkRowsBeyondChain();
    this.#checkLogNodeCount();
    this.#checkSnapshotLayout();
    this.#checkSigningRecordRow();
  }

  // ------------------------------------------------------------------------------------------
  // The file

  /** The file's application id and format, and whether it is a chain store at all. */
  #checkIdentity(): void {
    const database = this.#database;
    this.#doing = 'reading the file header';
    // The first read takes the shared lock: a running node's exclusive lock makes it fail here.
    const applicationId = database.pragma('application_id', { simple: true }) as number;
    const version = database.pragma('user_version', { simple: true }) as number;
    if (applicationId === chainStoreApplicationId && version === chainStoreFormatVersion) return;
    const tables = (
      database
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .all() as {
        name: string;
      }[]
    ).map((row) => row.name);
    const expected = expectedSchema()
      .filter((row) => row.type === 'table')
      .map((row) => row.name);
    // Exactly the store's tables: a chain store whose header was changed, not another file.
    if (tables.join(',') !== expected.join(',')) {
      throw new StoreError(
        StoreErrorCode.foreign,
        `${this.#file} is not a MedLedger chain store of format ${chainStoreFormatVersion}: its application_id is 0x${(applicationId >>> 0).toString(16)}, user_version ${version}, tables ${tables.join(', ') || 'none'}`,
        { file: this.#file, applicationId, version },
      );
    }
    const place = { table: StoreAuditTable.file, row: 'header' };
    if (applicationId !== chainStoreApplicationId) {
      stop(place, 'application_id', {
        expected: `0x${chainStoreApplicationId.toString(16)} (MedLedger chain store)`,
        found: `0x${(applicationId >>> 0).toString(16)}`,
      });
    }
    stop(place, 'user_version', {
      expected: `${chainStoreFormatVersion} (the store format)`,
      found: `${version}`,
    });
  }

  /** SQLite's own check of every page (sqlite.org/pragma.html#pragma_integrity_check). */
  #checkIntegrity(): void {
    this.#doing = 'running PRAGMA integrity_check';
    const rows = this.#database.pragma(`integrity_check(${integrityErrorsMax})`) as {
      integrity_check: string;
    }[];
    const first = rows[0]?.integrity_check;
    if (rows.length === 1 && first === 'ok') return;
    const more =
      rows.length > 1
        ? ` (and ${rows.length - 1} more${rows.length === integrityErrorsMax ? ' at least' : ''})`
        : '';
    stop({ table: StoreAuditTable.file, row: 'pages' }, 'integrity_check', {
      text: `SQLite reports ${JSON.stringify(first ?? 'nothing')}${more}`,
    });
  }

  /** The tables exactly as the store creates them (names and SQL). */
  #checkSchema(): void {
    this.#doing = 'reading the schema';
    const found = this.#database
      .prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name')
      .all() as SchemaRow[];
    const expected = expectedSchema();
    for (let index = 0; index < Math.max(found.length, expected.length); index++) {
      const want = expected[index];
      const have = found[index];
      if (want === undefined || have === undefined) {
        stop({ table: StoreAuditTable.schema, row: '' }, 'entries', {
          expected: `${expected.length} (${expected.map((row) => row.name).join(', ')})`,
          found: `${found.length} (${found.map((row) => String(row.name)).join(', ')})`,
        });
      }
      for (const column of ['type', 'name', 'tbl_name', 'sql'] as const) {
        if (have[column] !== want[column]) {
          stop(
            { table: StoreAuditTable.schema, row: `entry ${JSON.stringify(want.name)}` },
            column,
            {
              expected: JSON.stringify(want[column]),
              found: JSON.stringify(have[column]),
              expectedFrom: 'the store format',
            },
          );
        }
      }
    }
  }

  #prepare(): AuditStatements {
    const prepare = (sql: string) => this.#database.prepare(sql);
    return {
      block: prepare(
        'SELECT hash, log_size, tx_ids, block, commit_certificate, receipts FROM blocks WHERE height = ?',
      ),
      blockBytes: prepare('SELECT block FROM blocks WHERE height = ?'),
      changes: prepare('SELECT changes FROM state_changes WHERE height = ?'),
      logNodes: prepare(
        'SELECT node_index, hash FROM log_nodes WHERE level = ? AND node_index >= ? AND node_index < ? ORDER BY node_index',
      ),
      snapshotEntries: prepare(
        'SELECT entries FROM state_snapshot WHERE generation = ? AND key_range = ?',
      ),
    };
  }

  // ------------------------------------------------------------------------------------------
  // Meta, head, the list of snapshot rows, genesis

  #readHead(): void {
    this.#doing = 'reading the head row';
    const rows = this.#database.prepare('SELECT * FROM head').all() as Record<string, unknown>[];
    const row = rows[0];
    if (rows.length !== 1 || row === undefined) {
      stop({ table: StoreAuditTable.head, row: '' }, 'rows', {
        expected: '1',
        found: `${rows.length}`,
      });
    }
    const place = { table: StoreAuditTable.head, row: `id ${String(row.id)}` };
    if (row.id !== 1) stop(place, 'id', { expected: '1', found: describeColumn(row.id) });
    this.#head = {
      height: integerAt(place, 'height', row.height),
      blockHash: blobAt(place, 'block_hash', row.block_hash, hashBytes),
      time: integerAt(place, 'time', row.time),
      stateRoot: blobAt(place, 'state_root', row.state_root, hashBytes),
      logSize: integerAt(place, 'log_size', row.log_size),
      logRoot: blobAt(place, 'log_root', row.log_root, hashBytes),
      snapshotGeneration: integerAt(place, 'snapshot_generation', row.snapshot_generation, 1),
      snapshotHeight: integerAt(place, 'snapshot_height', row.snapshot_height),
      buildingRange: integerAt(place, 'building_range', row.building_range),
      buildingHeight: integerAt(place, 'building_height', row.building_height),
    };
  }

  /** The last block's height; rows below height 1 are refused here, gaps at their height. */
  #readLastHeight(): void {
    this.#doing = 'reading the height range of blocks';
    for (const table of [StoreAuditTable.blocks, StoreAuditTable.stateChanges]) {
      const row = this.#database
        .prepare(`SELECT min(height) AS first, max(height) AS last FROM ${table}`)
        .get() as { first: number | null; last: number | null };
      if (row.first !== null && row.first < 1) {
        stop({ table, row: `height ${row.first}`, height: row.first }, 'height', {
          expected: 'heights from 1 (height 0 is the genesis document)',
          found: `${row.first}`,
        });
      }
      if (table === StoreAuditTable.blocks) this.#lastHeight = row.last ?? 0;
    }
  }

  #checkMeta(): void {
    this.#doing = 'reading the meta rows';
    const rows = this.#database.prepare('SELECT name, value FROM meta ORDER BY name').all() as {
      name: unknown;
      value: unknown;
    }[];
    const known: readonly string[] = Object.values(MetaName);
    const values = new Map<string, unknown>();
    for (const row of rows) {
      if (typeof row.name !== 'string' || !known.includes(row.name)) {
        stop({ table: StoreAuditTable.meta, row: `name ${describeColumn(row.name)}` }, 'name', {
          expected: `one of ${known.join(', ')}`,
          found: describeColumn(row.name),
        });
      }
      values.set(row.name, row.value);
    }
    const placeOf = (name: string) => ({ table: StoreAuditTable.meta, row: name });
    for (const name of [MetaName.genesisHash, MetaName.genesisStateRoot]) {
      if (!values.has(name)) stop(placeOf(name), 'row', { text: 'missing' });
    }
    const storedGenesis = blobAt(
      placeOf(MetaName.genesisHash),
      'value',
      values.get(MetaName.genesisHash),
      hashBytes,
    );
    if (!equalBytes(storedGenesis, this.#genesisHash)) {
      // A genesis document of another chain, or a changed row: the first block (or, at height
      // 0, the head) names the genesis too, and tells the two apart.
      if (!this.#chainNamesGenesis()) {
        throw new StoreError(
          StoreErrorCode.wrongGenesis,
          `${this.#file} belongs to another chain: its genesis is ${shortHex(storedGenesis)}, the genesis document given (chain ${JSON.stringify(this.#chainId)}) hashes to ${shortHex(this.#genesisHash)}`,
          { expected: toHex(this.#genesisHash), found: toHex(storedGenesis) },
        );
      }
      stop(placeOf(MetaName.genesisHash), 'value', {
        ...hexPair(this.#genesisHash, storedGenesis),
        expectedFrom: 'the genesis document, which block 1 (or the head) names too',
      });
    }
    const storedRoot = blobAt(
      placeOf(MetaName.genesisStateRoot),
      'value',
      values.get(MetaName.genesisStateRoot),
      hashBytes,
    );
    const { stateRoot } = genesisState(this.#genesis);
    if (!equalBytes(storedRoot, stateRoot)) {
      stop(placeOf(MetaName.genesisStateRoot), 'value', {
        ...hexPair(stateRoot, storedRoot),
        expectedFrom: 'the genesis state',
      });
    }
    if (values.has(MetaName.signingRecord)) {
      this.#signingRecord = blobAt(
        placeOf(MetaName.signingRecord),
        'value',
        values.get(MetaName.signingRecord),
      );
    }
  }

  /** Whether block 1's prevHash (or, with no block, the head's hash) is the given genesis's. */
  #chainNamesGenesis(): boolean {
    if (this.#lastHeight === 0) return equalBytes(this.#head!.blockHash, this.#genesisHash);
    const row = this.#statements!.blockBytes.get(1) as { block: unknown } | undefined;
    if (row === undefined || !(row.block instanceof Uint8Array)) return false;
    try {
      return equalBytes(decodeBlock(row.block).header.prevHash, this.#genesisHash);
    } catch (error) {
      if (error instanceof CodecError) return false;
      throw error;
    }
  }

  /** Lists the snapshot rows (without their entries), checking their key columns' types. */
  #readSnapshotRows(): void {
    this.#doing = 'listing the state snapshot rows';
    const rows = this.#database
      .prepare(
        'SELECT generation, key_range, height FROM state_snapshot ORDER BY generation, key_range',
      )
      .all() as { generation: unknown; key_range: unknown; height: unknown }[];
    for (const row of rows) {
      const place = {
        table: StoreAuditTable.stateSnapshot,
        row: `generation ${String(row.generation)}, range ${String(row.key_range)}`,
      };
      const snapshotRow: SnapshotRow = {
        generation: integerAt(place, 'generation', row.generation, 1),
        range: integerAt(place, 'key_range', row.key_range),
        height: integerAt(place, 'height', row.height),
      };
      if (snapshotRow.range >= stateSnapshotRanges) {
        stop(place, 'key_range', {
          expected: `below ${stateSnapshotRanges}`,
          found: `${snapshotRow.range}`,
        });
      }
      if (snapshotRow.height > this.#lastHeight) {
        stop({ ...place, height: snapshotRow.height }, 'height', {
          expected: `at most ${this.#lastHeight}`,
          expectedFrom: 'the last block',
          found: `${snapshotRow.height}`,
        });
      }
      this.#snapshotRows.push(snapshotRow);
      const list = this.#snapshotByHeight.get(snapshotRow.height) ?? [];
      list.push(snapshotRow);
      this.#snapshotByHeight.set(snapshotRow.height, list);
    }
  }

  /** Height 0: the genesis state, its validator set, and the snapshot rows written at 0. */
  #auditGenesis(): void {
    const { state, stateRoot } = genesisState(this.#genesis, new MemoryStateNodeStore());
    this.#state = state;
    const set = readValidatorSet(state);
    // The genesis document's validators were checked by parseGenesisDocument.
    if (set === null) throw new Error('the genesis state has no validator set');
    this.#sets.push({ from: 1, set, hash: validatorSetHash(set) });
    this.#tip = {
      height: 0,
      hash: this.#genesisHash,
      time: this.#genesis.genesisTime,
      logSize: 0,
      stateRoot,
      logRoot: logEmptyRoot(),
    };
    this.#checkSnapshotRowsAt(0, state);
  }

  // ------------------------------------------------------------------------------------------
  // One height

  #setAt(height: number): ValidatorSet {
    let found = this.#sets[0]!.set;
    for (const entry of this.#sets) if (entry.from <= height) found = entry.set;
    return found;
  }

  #auditHeight(height: number): void {
    const statements = this.#statements!;
    const tip = this.#tip!;
    const place = { table: StoreAuditTable.blocks, row: `height ${height}`, height };
    this.#doing = `reading block ${height}`;
    const row = statements.block.get(height) as Record<string, unknown> | undefined;
    if (row === undefined) {
      stop(place, 'row', {
        text: `missing (the blocks table ends at height ${this.#lastHeight}, and heights are contiguous from 1)`,
      });
    }
    const storedHash = blobAt(place, 'hash', row.hash, hashBytes);
    const storedLogSize = integerAt(place, 'log_size', row.log_size);
    const storedTxIds = blobAt(place, 'tx_ids', row.tx_ids);
    const blockBytes = blobAt(place, 'block', row.block);
    const commitBytes = blobAt(place, 'commit_certificate', row.commit_certificate);
    const receiptBytes = blobAt(place, 'receipts', row.receipts);

    // The block: strictly decoded, canonical, at this height, hashing to the hash column.
    let block: Block;
    try {
      block = decodeBlock(blockBytes);
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      stop(place, 'block', { text: `does not decode: ${error.message}` });
    }
    const reencoded = encodeBlock(block);
    if (!equalBytes(reencoded, blockBytes)) {
      stop(place, 'block', {
        text: `not the canonical encoding of the block it decodes to (${byteDifference(reencoded, blockBytes)})`,
      });
    }
    const { header } = block;
    if (header.height !== height) {
      stop(place, 'block header height', { expected: `${height}`, found: `${header.height}` });
    }
    const hash = blockHash(header);
    if (!equalBytes(hash, storedHash)) {
      stop(place, 'hash', {
        ...hexPair(hash, storedHash),
        expectedFrom: "the stored block's header",

        foundFrom: 'the hash column',
      });
    }

    // The chain rules, the previous block's commit in this block, and every signature.
    const context: BlockContext = {
      chainId: this.#chainId,
      height,
      prevHash: tip.hash,
      prevTime: tip.time,
      prevLogSize: tip.logSize,
      validatorSet: this.#setAt(height),
      prevValidatorSet: this.#setAt(Math.max(1, height - 1)),
    };
    if (block.lastCommit !== null && height > 1) {
      try {
        assertValidCommit({
          chainId: this.#chainId,
          commit: block.lastCommit,
          height: height - 1,
          blockHash: tip.hash,
          validatorSet: context.prevValidatorSet,
        });
      } catch (error) {
        if (!(error instanceof ChainError)) throw error;
        stop(place, `block lastCommit (the commit of block ${height - 1})`, {
          text: error.message,
        });
      }
    }
    try {
      assertValidBlock(block, context);
    } catch (error) {
      if (!(error instanceof ChainError)) throw error;
      stop(place, `block ${fieldOfChainError(error)}`, { text: error.message });
    }

    // The commit certificate stored beside the block.
    let commit: Commit;
    try {
      commit = CommitSchema.decode(commitBytes);
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      stop(place, 'commit_certificate', { text: `does not decode: ${error.message}` });
    }
    const commitEncoded = CommitSchema.encode(commit);
    if (!equalBytes(commitEncoded, commitBytes)) {
      stop(place, 'commit_certificate', {
        text: `not the canonical encoding of the commit it decodes to (${byteDifference(commitEncoded, commitBytes)})`,
      });
    }
    try {
      assertValidCommit({
        chainId: this.#chainId,
        commit,
        height,
        blockHash: hash,
        validatorSet: context.validatorSet,
      });
    } catch (error) {
      if (!(error instanceof ChainError)) throw error;
      stop(place, 'commit_certificate', { text: error.message });
    }

    // The packed transaction ids and the log size column.
    const txIds = block.txs.map(transactionId);
    const packed = packTxIds(txIds);
    if (!equalBytes(packed, storedTxIds)) {
      stop(place, 'tx_ids', { text: describeTxIds(txIds, storedTxIds) });
    }
    if (storedLogSize !== header.logSize) {
      stop(place, 'log_size', {
        expected: `${header.logSize}`,
        expectedFrom: "the header's logSize",
        found: `${storedLogSize}`,
      });
    }

    // Re-execution from the state of the height before: state root, receipts, state changes.
    const before = this.#state!;
    let writes: readonly StateEntry[];
    let receipts: readonly Receipt[];
    try {
      ({ writes, receipts } = executeTransactions({
        state: before,
        context: { chainId: this.#chainId, height, time: header.time, proposer: header.proposer },
        txs: block.txs,
        txIds,
      }));
    } catch (error) {
      if (!(error instanceof ContractError)) throw error;
      stop(place, 'block', { text: `re-execution refuses it: ${error.message}` });
    }
    const after = commitBlockWrites(before, writes);
    if (!equalBytes(after.stateRoot, header.stateRoot)) {
      stop(place, 'header stateRoot', {
        ...hexPair(after.stateRoot, header.stateRoot),
        expectedFrom: 're-execution',

        foundFrom: 'the header',
      });
    }
    const receiptsEncoded = encodeReceipts(receipts);
    if (!equalBytes(receiptsEncoded, receiptBytes)) {
      stop(place, 'receipts', { text: describeReceipts(receipts, receiptsEncoded, receiptBytes) });
    }
    const changesPlace = { table: StoreAuditTable.stateChanges, row: `height ${height}`, height };
    this.#doing = `reading the state changes of block ${height}`;
    const changesRow = statements.changes.get(height) as { changes: unknown } | undefined;
    if (changesRow === undefined) stop(changesPlace, 'row', { text: 'missing' });
    const storedChanges = blobAt(changesPlace, 'changes', changesRow.changes);
    const changes: StateChange[] = writes.map((write) => ({
      key: write.key,
      previous: stateTreeGet(before, write.key),
      value: write.value,
    }));
    const changesEncoded = encodeStateChanges(changes);
    if (!equalBytes(changesEncoded, storedChanges)) {
      stop(changesPlace, 'changes', {
        text: describeChanges(changes, changesEncoded, storedChanges, height),
      });
    }

    // The history log: the ids appended to the audit's own log, its root and size against the
    // header's, and every node those appends wrote against the stored row.
    const logSizeBefore = this.#log.size;
    for (const txId of txIds) this.#log.append(txId);
    const logRoot = this.#log.root();
    if (!equalBytes(logRoot, header.logRoot)) {
      stop(place, 'header logRoot', {
        ...hexPair(logRoot, header.logRoot),
        expectedFrom: 'the log of every transaction id up to this block',

        foundFrom: 'the header',
      });
    }
    this.#checkLogNodes(height, logSizeBefore, this.#log.size);

    // The state after this height: the snapshot rows written at it, the validator set of
    // height + 2, and a copy when the in-memory tree has grown too much.
    this.#heights = height;
    this.#transactions += block.txs.length;
    this.#state = after.state;
    this.#checkSnapshotRowsAt(height, after.state);
    const set = readValidatorSet(after.state);
    if (set === null) {
      stop(place, 'state', { text: 'the state after it has no validator set (membership)' });
    }
    const setHash = validatorSetHash(set);
    if (!equalBytes(setHash, this.#sets[this.#sets.length - 1]!.hash)) {
      this.#sets.push({ from: height + 2, set, hash: setHash });
    }
    this.#tip = {
      height,
      hash,
      time: header.time,
      logSize: header.logSize,
      stateRoot: header.stateRoot,
      logRoot: header.logRoot,
    };
    this.#compactState();
  }

  /** The log nodes the appends of block `height` wrote: leaves [from, to) and their parents. */
  #checkLogNodes(height: number, from: number, to: number): void {
    this.#doing = `reading the log nodes of block ${height}`;
    for (let level = 0, width = 1; width <= to; level++, width *= 2) {
      const first = Math.floor(from / width);
      const end = Math.floor(to / width);
      if (first === end) continue;
      const rows = this.#statements!.logNodes.all(level, first, end) as {
        node_index: unknown;
        hash: unknown;
      }[];
      let index = first;
      for (const row of rows) {
        const place = {
          table: StoreAuditTable.logNodes,
          row: `level ${level}, index ${index}`,
          height,
        };
        if (row.node_index !== index) {
          stop(place, 'row', { text: `missing (written by block ${height})` });
        }
        const stored = blobAt(place, 'hash', row.hash, hashBytes);
        const expected = this.#logNodes.readNode(level, index)!;
        if (!equalBytes(stored, expected)) {
          stop(place, 'hash', {
            ...hexPair(expected, stored),
            expectedFrom: `recomputed from the transaction ids up to block ${height}`,
          });
        }
        index++;
      }
      if (index !== end) {
        stop(
          { table: StoreAuditTable.logNodes, row: `level ${level}, index ${index}`, height },
          'row',
          { text: `missing (written by block ${height})` },
        );
      }
    }
  }

  /** Every snapshot row written at `height` holds its key range of the state after `height`. */
  #checkSnapshotRowsAt(height: number, state: StateRoot): void {
    for (const row of this.#snapshotByHeight.get(height) ?? []) {
      const place = {
        table: StoreAuditTable.stateSnapshot,
        row: `generation ${row.generation}, range ${row.range}`,
        height,
      };
      this.#doing = `reading state snapshot generation ${row.generation} range ${row.range}`;
      const stored = this.#statements!.snapshotEntries.get(row.generation, row.range) as {
        entries: unknown;
      };
      const storedEntries = blobAt(place, 'entries', stored.entries);
      const entries = stateRangeEntries(state, row.range);
      const expected = encodeSnapshotEntries(entries);
      if (!equalBytes(expected, storedEntries)) {
        stop(place, 'entries', {
          text: describeSnapshot(entries, expected, storedEntries, height),
        });
      }
    }
  }

  /** Copies the state down to its current version when the tree's store has grown too much. */
  #compactState(): void {
    const state = this.#state!;
    if (!(state.store instanceof MemoryStateNodeStore)) return;
    const bytes = state.store.stats().bytesAllocated;
    if (bytes < Math.max(auditStateBytesMin, 2 * this.#stateBytesAfterCopy)) return;
    const [copy] = stateTreeCopy({ roots: [state], to: new MemoryStateNodeStore() });
    this.#state = copy!;
    this.#stateBytesAfterCopy = (copy!.store as MemoryStateNodeStore).stats().bytesAllocated;
  }

  // ------------------------------------------------------------------------------------------
  // The whole

  /** The head row names the last block (or genesis), with its time, roots and log size. */
  #checkHead(): void {
    const head = this.#head!;
    const tip = this.#tip!;
    const place = { table: StoreAuditTable.head, row: 'id 1', height: tip.height };
    const source = tip.height === 0 ? 'genesis' : `block ${tip.height}, the last block`;
    const compare = (field: string, expected: Uint8Array | number, found: Uint8Array | number) => {
      const same =
        typeof expected === 'number'
          ? expected === found
          : equalBytes(expected, found as Uint8Array);
      if (same) return;
      const pair =
        typeof expected === 'number'
          ? { expected: `${expected}`, found: `${found as number}` }
          : hexPair(expected, found as Uint8Array);
      stop(place, field, { ...pair, expectedFrom: source });
    };
    compare('height', tip.height, head.height);
    compare('block_hash', tip.hash, head.blockHash);
    compare('time', tip.time, head.time);
    compare('state_root', tip.stateRoot, head.stateRoot);
    compare('log_size', tip.logSize, head.logSize);
    compare('log_root', tip.logRoot, head.logRoot);
  }

  /** No state changes row beyond the last block (blocks end there by definition). */
  #checkRowsBeyondChain(): void {
    this.#doing = 'reading the state changes beyond the last block';
    const row = this.#database
      .prepare('SELECT height FROM state_changes WHERE height > ? ORDER BY height LIMIT 1')
      .get(this.#lastHeight) as { height: number } | undefined;
    if (row !== undefined) {
      stop(
        { table: StoreAuditTable.stateChanges, row: `height ${row.height}`, height: row.height },
        'row',
        { text: `beyond the last block (${this.#lastHeight}): no block has these changes` },
      );
    }
  }

  /** Exactly the nodes of a log of the final size: none beyond it, on no level. */
  #checkLogNodeCount(): void {
    this.#doing = 'counting the log nodes';
    const size = this.#log.size;
    const row = this.#database
      .prepare(
        'SELECT level, node_index FROM log_nodes WHERE typeof(level) != ? OR typeof(node_index) != ? OR level < 0 OR node_index < 0 OR node_index >= (? >> level) OR level > 62 ORDER BY level, node_index LIMIT 1',
      )
      .get('integer', 'integer', size) as { level: unknown; node_index: unknown } | undefined;
    if (row !== undefined) {
      stop(
        {
          table: StoreAuditTable.logNodes,
          row: `level ${String(row.level)}, index ${String(row.node_index)}`,
        },
        'row',
        {
          text: `not a node of the history log of size ${size} (the transactions of blocks 1 to ${this.#lastHeight})`,
        },
      );
    }
  }

  /**
   * The rows the rolling snapshot must hold (decision 0031): the complete generation G (all 256
   * ranges, range 0 written at the head's `snapshot_height`), the ranges [0, B) of G + 1 being
   * built (range 0 at `building_height`), and the ranges [B, 256) of G − 1 not yet deleted;
   * written in that order, so their heights never go down (and go up between generations). When
   * the rows disagree with the head, the rows alone decide which of the two changed: if they
   * form a layout by themselves (G the last generation with all 256 ranges), the head is wrong;
   * otherwise the first row out of place is named.
   */
  #checkSnapshotLayout(): void {
    const head = this.#head!;
    const headPlace = { table: StoreAuditTable.head, row: 'id 1' };
    const rowPlace = (row: { generation: number; range: number; height?: number }) => ({
      table: StoreAuditTable.stateSnapshot,
      row: `generation ${row.generation}, range ${row.range}`,
      ...(row.height === undefined ? {} : { height: row.height }),
    });
    const byHead = this.#snapshotMismatch(head.snapshotGeneration, head.buildingRange);
    if (byHead.missing.length > 0 || byHead.unexpected.length > 0) {
      const counts = new Map<number, number>();
      for (const row of this.#snapshotRows) {
        counts.set(row.generation, (counts.get(row.generation) ?? 0) + 1);
      }
      const complete = [...counts.entries()]
        .filter(([, count]) => count === stateSnapshotRanges)
        .map(([generation]) => generation);
      const generation = complete.length === 0 ? null : Math.max(...complete);
      if (generation !== null) {
        const building = counts.get(generation + 1) ?? 0;
        const byRows = this.#snapshotMismatch(generation, building);
        if (byRows.missing.length === 0 && byRows.unexpected.length === 0) {
          const headIsWrong = generation !== head.snapshotGeneration;
          stop(headPlace, headIsWrong ? 'snapshot_generation' : 'building_range', {
            expected: `${headIsWrong ? generation : building}`,
            expectedFrom: headIsWrong
              ? 'the last generation of the state_snapshot rows with all 256 ranges'
              : `the ranges of generation ${generation + 1} in the state_snapshot rows`,
            found: `${headIsWrong ? head.snapshotGeneration : head.buildingRange}`,
          });
        }
      }
      const layout = `the head's complete generation ${head.snapshotGeneration}, building range ${head.buildingRange}`;
      const unexpected = byHead.unexpected[0];
      if (unexpected !== undefined) {
        stop(rowPlace(unexpected), 'row', { text: `not expected (by ${layout})` });
      }
      stop(rowPlace(byHead.missing[0]!), 'row', { text: `missing (expected by ${layout})` });
    }
    const generation = head.snapshotGeneration;
    if (head.buildingRange === 0 && head.buildingHeight !== 0) {
      stop(headPlace, 'building_height', {
        expected: '0 (no range of the next generation is written)',
        found: `${head.buildingHeight}`,
      });
    }
    const ordered = byHead.ordered;
    const first = (wanted: number) =>
      ordered.find((row) => row.generation === wanted && row.range === 0);
    const complete = first(generation)!;
    // Which of the two changed cannot be told here: each names the other.
    if (complete.height !== head.snapshotHeight) {
      stop(headPlace, 'snapshot_height', {
        text: `${head.snapshotHeight}, but the state_snapshot row of generation ${generation}, range 0 says it was written at height ${complete.height}: one of the two is wrong`,
      });
    }
    const next = first(generation + 1);
    if (next !== undefined && next.height !== head.buildingHeight) {
      stop(headPlace, 'building_height', {
        text: `${head.buildingHeight}, but the state_snapshot row of generation ${generation + 1}, range 0 says it was written at height ${next.height}: one of the two is wrong`,
      });
    }
    for (let index = 1; index < ordered.length; index++) {
      const previous = ordered[index - 1]!;
      const row = ordered[index]!;
      const newGeneration = row.generation !== previous.generation;
      if (row.height < previous.height || (newGeneration && row.height === previous.height)) {
        stop(rowPlace(row), 'height', {
          expected: `${newGeneration ? 'above' : 'at least'} ${previous.height}`,
          expectedFrom: `generation ${previous.generation}, range ${previous.range}, written before it`,
          found: `${row.height}`,
        });
      }
    }
  }

  /**
   * The snapshot rows a head of complete generation `generation` and building range `building`
   * expects, against those stored: the ones missing, the ones not expected (in key order), and
   * the expected ones in the order they were written.
   */
  #snapshotMismatch(
    generation: number,
    building: number,
  ): { missing: SnapshotRow[]; unexpected: SnapshotRow[]; ordered: SnapshotRow[] } {
    const found = new Map(this.#snapshotRows.map((row) => [`${row.generation}/${row.range}`, row]));
    const parts = [
      {
        generation: generation - 1,
        from: building,
        to: generation >= 2 ? stateSnapshotRanges : building,
      },
      { generation, from: 0, to: stateSnapshotRanges },
      { generation: generation + 1, from: 0, to: Math.min(building, stateSnapshotRanges) },
    ];
    const missing: SnapshotRow[] = [];
    const ordered: SnapshotRow[] = [];
    for (const part of parts) {
      for (let range = part.from; range < part.to; range++) {
        const key = `${part.generation}/${range}`;
        const row = found.get(key);
        if (row === undefined) missing.push({ generation: part.generation, range, height: -1 });
        else ordered.push(row);
        found.delete(key);
      }
    }
    return { missing, unexpected: [...found.values()], ordered };
  }

  /** The consensus signing record, if the node ever signed. */
  #checkSigningRecordRow(): void {
    const record = this.#signingRecord;
    if (record === null) {
      this.#signingRecordState = 'absent';
      return;
    }
    const place = { table: StoreAuditTable.meta, row: MetaName.signingRecord };
    if (record.length > storeLimits.signingRecordBytesMax) {
      stop(place, 'value', {
        expected: `at most ${storeLimits.signingRecordBytesMax} bytes (signingRecordBytesMax)`,
        found: `${record.length} bytes`,
      });
    }
    const problem =
      this.#checkSigningRecord === undefined
        ? checkSigningRecordShape(record, this.#lastHeight)
        : this.#checkSigningRecord({
            record,
            chainId: this.#chainId,
            lastHeight: this.#lastHeight,
            blockContextAt: (height) => this.#blockContextAt(height),
          });
    if (problem !== null) stop(place, 'value', { text: problem });
    this.#signingRecordState = 'checked';
  }

  /** The context of a block at `height` on the audited chain (its predecessor is audited). */
  #blockContextAt(height: number): BlockContext | null {
    if (!Number.isSafeInteger(height) || height < 1 || height > this.#lastHeight + 1) return null;
    let previous: { hash: Hash; time: number; logSize: number };
    if (height - 1 === this.#tip!.height) previous = this.#tip!;
    else if (height === 1) {
      previous = { hash: this.#genesisHash, time: this.#genesis.genesisTime, logSize: 0 };
    } else {
      const row = this.#statements!.blockBytes.get(height - 1) as { block: Uint8Array };
      const header: BlockHeader = decodeBlock(row.block).header;
      previous = { hash: blockHash(header), time: header.time, logSize: header.logSize };
    }
    return {
      chainId: this.#chainId,
      height,
      prevHash: previous.hash,
      prevTime: previous.time,
      prevLogSize: previous.logSize,
      validatorSet: this.#setAt(height),
      prevValidatorSet: this.#setAt(Math.max(1, height - 1)),
    };
  }
}

/** A row of `sqlite_schema`. */
interface SchemaRow {
  readonly type: string;
  readonly name: string;
  readonly tbl_name: string;
  readonly sql: string | null;
}

let expectedSchemaRows: SchemaRow[] | null = null;

/** `sqlite_schema` of a new store: the tables created in an in-memory database. */
function expectedSchema(): SchemaRow[] {
  if (expectedSchemaRows === null) {
    const memory = new BetterSqlite3(':memory:');
    try {
      memory.exec(chainStoreTables);
      expectedSchemaRows = memory
        .prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name')
        .all() as SchemaRow[];
    } finally {
      memory.close();
    }
  }
  return expectedSchemaRows;
}

/** Nodes of a history log of `size` leaves: every perfect subtree (RFC 9162 §2.1.1). */
function countLogNodes(size: number): number {
  let count = 0;
  for (let width = 1; width <= size; width *= 2) count += Math.floor(size / width);
  return count;
}

/** The field of a block a `ChainError` of `assertValidBlock` names. */
function fieldOfChainError(error: ChainError): string {
  if (error.message.startsWith('transaction ')) return 'txs';
  switch (error.code) {
    case 'wrong-chain':
      return 'header chainId';
    case 'wrong-height':
      return 'header height';
    case 'wrong-time':
      return 'header time';
    case 'wrong-prev-hash':
      return 'header prevHash';
    case 'wrong-tx-root':
      return 'header txRoot';
    case 'wrong-validators-hash':
      return 'header validatorsHash';
    case 'unknown-proposer':
      return 'header proposer';
    case 'bad-field':
      return 'header logSize';
    case 'missing-commit':
    case 'unexpected-commit':
      return 'lastCommit';
    case 'too-large':
    case 'duplicate-transaction':
      return 'txs';
    case 'bad-signature':
    case 'wrong-round':
    case 'unknown-validator':
    case 'duplicate-signature':
    case 'wrong-block-hash':
    case 'no-quorum':
      return 'lastCommit';
  }
}

/** Where the stored packed ids differ from the block's transaction ids. */
function describeTxIds(txIds: readonly Hash[], stored: Uint8Array): string {
  if (stored.length !== txIds.length * hashBytes) {
    return `expected ${txIds.length} ids (${txIds.length * hashBytes} bytes, one per transaction of the block), found ${stored.length} bytes`;
  }
  const index = Math.floor(firstDifference(packTxIds(txIds), stored) / hashBytes);
  const found = stored.subarray(index * hashBytes, (index + 1) * hashBytes);
  const pair = hexPair(txIds[index]!, found);
  return `id ${index}: expected ${pair.expected} (transaction ${index} of the block), found ${pair.found}`;
}

function describeReceipts(
  receipts: readonly Receipt[],
  expected: Uint8Array,
  stored: Uint8Array,
): string {
  let decoded: Receipt[];
  try {
    decoded = decodeReceipts(stored);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    return `do not decode: ${error.message}`;
  }
  if (decoded.length !== receipts.length) {
    return `expected ${receipts.length} receipts (re-execution), found ${decoded.length}`;
  }
  for (let index = 0; index < receipts.length; index++) {
    const want = receipts[index]!;
    const have = decoded[index]!;
    const fields: [string, string, string][] = [
      ['txId', hexPair(want.txId, have.txId).expected, hexPair(want.txId, have.txId).found],
      ['ok', `${want.ok}`, `${have.ok}`],
      ['code', JSON.stringify(want.code), JSON.stringify(have.code)],
      ['message', JSON.stringify(want.message), JSON.stringify(have.message)],
      ['events', JSON.stringify(want.events), JSON.stringify(have.events)],
      ['cost', `${want.cost}`, `${have.cost}`],
    ];
    for (const [field, expectedValue, foundValue] of fields) {
      if (expectedValue !== foundValue) {
        return `receipt ${index} ${field}: expected ${clip(expectedValue)} (re-execution), found ${clip(foundValue)}`;
      }
    }
  }
  return `not the canonical encoding of the receipts (${byteDifference(expected, stored)})`;
}

function describeChanges(
  changes: readonly StateChange[],
  expected: Uint8Array,
  stored: Uint8Array,
  height: number,
): string {
  let decoded: StateChange[];
  try {
    decoded = decodeStateChanges(stored, `state changes of block ${height}`);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    return `do not decode: ${error.message}`;
  }
  if (decoded.length !== changes.length) {
    return `expected ${changes.length} changes (re-execution), found ${decoded.length}`;
  }
  for (let index = 0; index < changes.length; index++) {
    const want = changes[index]!;
    const have = decoded[index]!;
    for (const field of ['key', 'previous', 'value'] as const) {
      const a = want[field];
      const b = have[field];
      const same = a === null || b === null ? a === b : equalBytes(a, b);
      if (!same) {
        const pair = hexPair(a, b, show);
        return `change ${index} (key ${shortHex(want.key)}) ${field}: expected ${pair.expected} (re-execution), found ${pair.found}`;
      }
    }
  }
  return byteDifference(expected, stored);
}

function describeSnapshot(
  entries: readonly { key: Uint8Array; value: Uint8Array | null }[],
  expected: Uint8Array,
  stored: Uint8Array,
  height: number,
): string {
  const source = `the state after height ${height}, where the row says it was written`;
  let decoded: StateEntry[];
  try {
    decoded = decodeSnapshotEntries(stored, 'entries');
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    return `do not decode: ${error.message}`;
  }
  if (decoded.length !== entries.length) {
    return `expected ${entries.length} entries (${source}), found ${decoded.length}`;
  }
  for (let index = 0; index < entries.length; index++) {
    const want = entries[index]!;
    const have = decoded[index]!;
    if (!equalBytes(want.key, have.key)) {
      const pair = hexPair(want.key, have.key);
      return `entry ${index} key: expected ${pair.expected} (${source}), found ${pair.found}`;
    }
    if (!equalBytes(want.value!, have.value!)) {
      const pair = hexPair(want.value, have.value, show);
      return `entry ${index} (key ${shortHex(want.key)}) value: expected ${pair.expected} (${source}), found ${pair.found}`;
    }
  }
  return byteDifference(expected, stored);
}

function clip(text: string): string {
  return text.length <= 80 ? text : `${text.slice(0, 77)}…`;
}

/**
 * The signing record's check without consensus: canonical CBOR (RFC 8949 §4.2.1) of an array, as
 * consensus's `SigningRecordSchema` struct encodes, whose first item, the height, is at most the
 * height after the last block (a validator signs at a height only after committing the one
 * before it).
 */
function checkSigningRecordShape(record: Uint8Array, lastHeight: number): string | null {
  let value: CborValue;
  try {
    value = decodeCbor(record);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    return `does not decode as canonical CBOR: ${error.message}`;
  }
  if (!Array.isArray(value))
    return 'expected an array (consensus SigningRecord), found another CBOR item';
  const height: CborValue | undefined = (value as readonly CborValue[])[0];
  if (typeof height !== 'number' || height < 1 || height > lastHeight + 1) {
    return `height: expected 1 to ${lastHeight + 1} (the height after the last block), found ${JSON.stringify(height)}`;
  }
  return null;
}
