/**
 * The node-local security audit log (decision 0059): an append-only, hash-chained, bounded list
 * of audit events that name no patient (FHIR requests refused before authorisation, reads of the
 * log itself), in its own SQLite file in the node's data folder, mode 0600. Each row's hash
 * covers the previous row's hash and every column (`SHA-256("medledger/security-audit/v1\0" ‖
 * previous hash ‖ JSON [sequence, time, type, subtype, outcome, body])`), and the newest row's
 * sequence and hash are kept in a meta row, so an edited, deleted or reordered row shows in
 * `verify()`. The log is bounded: when it holds `rowsMax` rows the oldest `rotationRows` go,
 * oldest first, and the hash of the last row removed becomes the anchor the remaining chain
 * starts from. The store does not read the clock: the caller dates each row.
 *
 * Rows are opaque here (the body is the caller's JSON text); the records service shapes them as
 * FHIR AuditEvents. Limits, honestly: whoever can write the file can also recompute every hash,
 * so the chain alone detects accidental and naive changes, not a complete rewrite (decision 0059).
 * The node therefore anchors the head (newest sequence and hash) on chain periodically, and
 * `verifyAgainstAnchors` checks the log against those anchored heads (decision 0063): a rewrite
 * of any row an anchored head covers, a cut, or a log replaced whole then shows.
 */
import { chmodSync, closeSync, openSync, statSync } from 'node:fs';

import BetterSqlite3 from 'better-sqlite3';

import { concatBytes, equalBytes, shortHex, toHex, utf8 } from '../base/index.ts';
import { sha256 } from '../crypto/index.ts';
import { StoreError, StoreErrorCode } from './errors.ts';
import { type Database, bytesOf, integerOf, openDatabase, storeErrorOf } from './sqlite.ts';

/** SQLite `application_id` of a security audit log: ASCII "MLSA" (MedLedger security audit). */
export const securityAuditLogApplicationId = 0x4d4c5341;

/** The format of the log this code reads and writes (SQLite `user_version`). */
export const securityAuditLogFormat = 1;

/** The domain tag of a row's hash. */
const rowHashTag = utf8('medledger/security-audit/v1\0');

/** The hash the first row of a fresh log chains from. */
const genesisHash = new Uint8Array(32);

/** The log's bounds; the records service keeps them with its own (`securityAuditLimits`). */
export interface SecurityAuditLogLimits {
  /** Rows kept at most; appending beyond it removes the oldest `rotationRows` first. */
  readonly rowsMax: number;
  /** Rows removed at once when the log is full (fewer, larger deletes). */
  readonly rotationRows: number;
  /** UTF-8 bytes of one row's body at most. */
  readonly rowBodyBytesMax: number;
  /** Rows one `page` returns at most. */
  readonly pageRowsMax: number;
}

/** One event to append: its time (Unix ms), indexed codes and its body (JSON text). */
export interface SecurityAuditEntry {
  readonly time: number;
  /** The event type code (`110113`, `rest`). */
  readonly type: string;
  /** The event subtype code (`read`, `search-type`, `110133` …), or `''`. */
  readonly subtype: string;
  /** The outcome code (`0`, `4`, `8`). */
  readonly outcome: string;
  readonly body: string;
}

/** A stored row. */
export interface SecurityAuditRow extends SecurityAuditEntry {
  /** 1, 2, 3 …: never reused, also across rotation. */
  readonly sequence: number;
  readonly hash: Uint8Array;
}

/** What a page selects; every field narrows it (values within one field are alternatives). */
export interface SecurityAuditFilter {
  readonly types?: readonly string[];
  readonly subtypes?: readonly string[];
  readonly outcomes?: readonly string[];
  /** Inclusive bounds on `time`, Unix ms. */
  readonly timeFrom?: number;
  readonly timeTo?: number;
}

/** A page of rows, newest first, how many rows match the filter in all, and whether older ones do. */
export interface SecurityAuditPage {
  readonly rows: readonly SecurityAuditRow[];
  readonly total: number;
  /** True when rows older than the page's last match too (a `next` page exists). */
  readonly more: boolean;
}

/** The log's counters. */
export interface SecurityAuditLogStats {
  readonly rows: number;
  /** Rows removed by rotation since the log was created (kept in the file). */
  readonly rotatedRows: number;
  /** The sequence of the newest row, 0 when none was ever appended. */
  readonly headSequence: number;
}

/** The result of `verify()`: the chain holds, or the first row where it breaks. */
export type SecurityAuditCheck =
  | { readonly ok: true; readonly rows: number; readonly headSequence: number }
  | { readonly ok: false; readonly sequence: number; readonly problem: string };

/**
 * A head of the log as anchored on chain (contracts' `SecurityLogHead`, decision 0063): the log
 * held `logSize` rows since its creation, and row `logSize` had chain hash `headHash`.
 */
export interface AnchoredSecurityLogHead {
  readonly logSize: number;
  readonly headHash: Uint8Array;
}

/** Where the log stands: its newest row and the rotation anchor its retained rows start from. */
export interface SecurityAuditLogBounds {
  /** The newest row's sequence (0 when none was ever appended) and its chain hash. */
  readonly headSequence: number;
  readonly headHash: Uint8Array;
  /** The last row removed by rotation (0 when none was): rows from `anchorSequence + 1` remain. */
  readonly anchorSequence: number;
  readonly anchorHash: Uint8Array;
}

/**
 * The result of `verifyAgainstAnchors`: the log's own chain holds and agrees with every anchored
 * head it still retains; or the first row where it does not, with both hashes when a hash
 * disagrees (hex, in full: the chain's and the log's).
 */
export type SecurityAuditAnchorCheck =
  | {
      readonly ok: true;
      readonly rows: number;
      readonly headSequence: number;
      /** The newest anchored head whose row the log still retains (null: none is retained). */
      readonly checkedAgainst: AnchoredSecurityLogHead | null;
      /** How many anchored heads were compared with a retained row. */
      readonly anchoredHeadsChecked: number;
      /** Rows after `checkedAgainst` (all retained rows when it is null): not yet anchored. */
      readonly unanchoredRows: number;
      /** The newest anchored head of all, retained or rotated out (null: none anchored). */
      readonly newestAnchored: AnchoredSecurityLogHead | null;
    }
  | {
      readonly ok: false;
      readonly sequence: number;
      readonly problem: string;
      /** The hash the chain anchored for `sequence`, when an anchored head disagrees. */
      readonly anchoredHash: string | null;
      /** The hash the log holds for `sequence` (null when the row is not there). */
      readonly logHash: string | null;
    };

/** The open log. */
export interface SqliteSecurityAuditLog {
  /** Appends one row (removing the oldest first when full); returns its sequence. */
  append(entry: SecurityAuditEntry): { sequence: number };
  /** Rows matching `filter` with a sequence below `beforeSequence`, newest first. */
  page(options: {
    filter?: SecurityAuditFilter;
    beforeSequence?: number;
    count: number;
  }): SecurityAuditPage;
  /** Re-checks every row's hash and the chain from the anchor to the head. */
  verify(): SecurityAuditCheck;
  /**
   * `verify()`, then compares the log with heads anchored on chain (decision 0063): none may be
   * beyond the log's head, and each whose row is retained must have that row's hash.
   */
  verifyAgainstAnchors(anchored: readonly AnchoredSecurityLogHead[]): SecurityAuditAnchorCheck;
  /** The newest row's sequence and chain hash: what the node anchors on chain. */
  head(): { readonly sequence: number; readonly hash: Uint8Array };
  stats(): SecurityAuditLogStats;
  close(): void;
}

/** A log opened read-only (`openSecurityAuditLogReader`): an auditor's view of a stopped node's. */
export interface SecurityAuditLogReader {
  bounds(): SecurityAuditLogBounds;
  verify(): SecurityAuditCheck;
  verifyAgainstAnchors(anchored: readonly AnchoredSecurityLogHead[]): SecurityAuditAnchorCheck;
  close(): void;
}

const schema = `
CREATE TABLE security_audit_events (
  sequence INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  type TEXT NOT NULL,
  subtype TEXT NOT NULL,
  outcome TEXT NOT NULL,
  body TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL
) STRICT;
CREATE INDEX security_audit_events_time ON security_audit_events (time);
CREATE TABLE security_audit_meta (name TEXT PRIMARY KEY, value ANY NOT NULL) STRICT;
CREATE TRIGGER security_audit_no_update BEFORE UPDATE ON security_audit_events
BEGIN SELECT RAISE(ABORT, 'the security audit log is append-only'); END;
CREATE TRIGGER security_audit_rotation_only BEFORE DELETE ON security_audit_events
WHEN OLD.sequence > (SELECT CAST(value AS INTEGER) FROM security_audit_meta WHERE name = 'anchor_sequence')
BEGIN SELECT RAISE(ABORT, 'the security audit log removes rows by rotation only'); END;
`;

const pragmas = [
  'locking_mode = EXCLUSIVE',
  'journal_mode = WAL',
  'synchronous = FULL',
  'secure_delete = ON',
] as const;

/** The hash of a row: it binds the previous row's hash and every column. */
export function securityAuditRowHash(
  previousHash: Uint8Array,
  row: SecurityAuditEntry & { sequence: number },
): Uint8Array {
  const columns = JSON.stringify([
    row.sequence,
    row.time,
    row.type,
    row.subtype,
    row.outcome,
    row.body,
  ]);
  return sha256(concatBytes(rowHashTag, previousHash, utf8(columns)));
}

function checkLimits(limits: SecurityAuditLogLimits): void {
  const positive = (name: keyof SecurityAuditLogLimits) => {
    const value = limits[name];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new StoreError(
        StoreErrorCode.invalidArgument,
        `limits.${name}: expected a positive integer, found ${value}`,
      );
    }
  };
  positive('rowsMax');
  positive('rotationRows');
  positive('rowBodyBytesMax');
  positive('pageRowsMax');
  if (limits.rotationRows > limits.rowsMax) {
    throw new StoreError(
      StoreErrorCode.invalidArgument,
      `limits.rotationRows: expected at most rowsMax (${limits.rowsMax}), found ${limits.rotationRows}`,
    );
  }
}

/** Creates the file with mode 0600, or narrows an existing file's mode to 0600. */
function privateFile(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600));
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
}

function initialise(db: Database, file: string): void {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const tables = db
    .prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'")
    .get() as { n: number };
  if (applicationId === 0 && tables.n === 0) {
    db.transaction(() => {
      db.exec(schema);
      const meta = db.prepare('INSERT INTO security_audit_meta (name, value) VALUES (?, ?)');
      meta.run('anchor_sequence', 0);
      meta.run('anchor_hash', genesisHash);
      meta.run('head_sequence', 0);
      meta.run('head_hash', genesisHash);
      meta.run('rotated_rows', 0);
      db.pragma(`application_id = ${securityAuditLogApplicationId}`);
      db.pragma(`user_version = ${securityAuditLogFormat}`);
    })();
    return;
  }
  assertSecurityLogFile(db, file, applicationId);
}

/**
 * Refuses a database that is not a security audit log of this build's format (`foreign`): the
 * writer's open and the auditor's read-only open check the same two markers.
 */
function assertSecurityLogFile(db: Database, file: string, applicationId: number): void {
  if (applicationId !== securityAuditLogApplicationId) {
    throw new StoreError(
      StoreErrorCode.foreign,
      `${file} is a SQLite database of another application (application_id ${applicationId}, expected ${securityAuditLogApplicationId} for a MedLedger security audit log)`,
      { file },
    );
  }
  const format = db.pragma('user_version', { simple: true }) as number;
  if (format !== securityAuditLogFormat) {
    throw new StoreError(
      StoreErrorCode.foreign,
      `${file} is a security audit log of format ${format}; this build reads format ${securityAuditLogFormat} only`,
      { file, format },
    );
  }
}

/** The WHERE clause and its parameters for a filter. */
function whereOf(
  filter: SecurityAuditFilter,
  beforeSequence: number | undefined,
): { clause: string; values: (string | number)[] } {
  const parts: string[] = [];
  const values: (string | number)[] = [];
  const oneOf = (column: string, options: readonly string[] | undefined) => {
    if (options === undefined) return;
    // No option matches nothing: an empty IN list is not SQL.
    if (options.length === 0) {
      parts.push('0');
      return;
    }
    parts.push(`${column} IN (${options.map(() => '?').join(', ')})`);
    values.push(...options);
  };
  oneOf('type', filter.types);
  oneOf('subtype', filter.subtypes);
  oneOf('outcome', filter.outcomes);
  if (filter.timeFrom !== undefined) {
    parts.push('time >= ?');
    values.push(filter.timeFrom);
  }
  if (filter.timeTo !== undefined) {
    parts.push('time <= ?');
    values.push(filter.timeTo);
  }
  if (beforeSequence !== undefined) {
    parts.push('sequence < ?');
    values.push(beforeSequence);
  }
  return { clause: parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`, values };
}

function rowOf(raw: Record<string, unknown>): SecurityAuditRow {
  const text = (name: string): string => {
    const value = raw[name];
    if (typeof value !== 'string') {
      throw new StoreError(StoreErrorCode.corrupt, `security_audit_events.${name}: expected TEXT`);
    }
    return value;
  };
  return {
    sequence: integerOf(raw['sequence'], 'security_audit_events.sequence'),
    time: integerOf(raw['time'], 'security_audit_events.time'),
    type: text('type'),
    subtype: text('subtype'),
    outcome: text('outcome'),
    body: text('body'),
    hash: bytesOf(raw['hash'], 'security_audit_events.hash'),
  };
}

/**
 * Opens (creating with mode 0600 if absent) the security audit log at `file`. Throws
 * `StoreError` `foreign` for another application's database, `locked` when another process has
 * it open, `invalid-argument` for bad limits.
 */
export function openSecurityAuditLog(options: {
  file: string;
  limits: SecurityAuditLogLimits;
}): SqliteSecurityAuditLog {
  const { file, limits } = options;
  checkLimits(limits);
  let db: Database;
  try {
    privateFile(file);
    db = openDatabase(file, { busyTimeoutMs: 0 });
  } catch (error) {
    throw storeErrorOf(error, file, 'opening the security audit log');
  }
  try {
    for (const pragma of pragmas) db.pragma(pragma);
    initialise(db, file);
  } catch (error) {
    db.close();
    throw storeErrorOf(error, file, 'opening the security audit log');
  }

  const metaGet = db.prepare<[string], { value: unknown }>(
    'SELECT value FROM security_audit_meta WHERE name = ?',
  );
  const metaSet = db.prepare('UPDATE security_audit_meta SET value = ? WHERE name = ?');
  const insert = db.prepare(
    'INSERT INTO security_audit_events (sequence, time, type, subtype, outcome, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const oldest = db.prepare<[number], { sequence: number; hash: Uint8Array }>(
    'SELECT sequence, hash FROM security_audit_events ORDER BY sequence LIMIT 1 OFFSET ?',
  );
  const removeUpTo = db.prepare('DELETE FROM security_audit_events WHERE sequence <= ?');

  const metaInteger = (name: string): number => {
    const value = metaGet.get(name)?.value;
    return integerOf(value, `security_audit_meta.${name}`);
  };
  const metaBytes = (name: string): Uint8Array =>
    bytesOf(metaGet.get(name)?.value, `security_audit_meta.${name}`);

  let rows = (db.prepare('SELECT count(*) AS n FROM security_audit_events').get() as { n: number })
    .n;
  let headSequence = metaInteger('head_sequence');
  let headHash = metaBytes('head_hash');
  let rotatedRows = metaInteger('rotated_rows');
  let closed = false;

  const assertOpen = () => {
    if (closed) throw new StoreError(StoreErrorCode.closed, `${file}: the log is closed`);
  };

  const rotate = () => {
    // The newest row removed becomes the anchor: the remaining chain starts from its hash.
    const last = oldest.get(limits.rotationRows - 1);
    if (last === undefined) return;
    metaSet.run(last.sequence, 'anchor_sequence');
    metaSet.run(last.hash, 'anchor_hash');
    const removed = removeUpTo.run(last.sequence).changes;
    rows -= removed;
    rotatedRows += removed;
    metaSet.run(rotatedRows, 'rotated_rows');
  };

  const appendTransaction = db.transaction((entry: SecurityAuditEntry) => {
    if (rows >= limits.rowsMax) rotate();
    const sequence = headSequence + 1;
    const hash = securityAuditRowHash(headHash, { ...entry, sequence });
    insert.run(
      sequence,
      entry.time,
      entry.type,
      entry.subtype,
      entry.outcome,
      entry.body,
      headHash,
      hash,
    );
    metaSet.run(sequence, 'head_sequence');
    metaSet.run(hash, 'head_hash');
    return { sequence, hash };
  });

  return {
    append(entry) {
      assertOpen();
      if (!Number.isSafeInteger(entry.time) || entry.time < 0) {
        throw new StoreError(
          StoreErrorCode.invalidArgument,
          `time: expected Unix ms, found ${entry.time}`,
        );
      }
      const bodyBytes = Buffer.byteLength(entry.body, 'utf8');
      if (bodyBytes > limits.rowBodyBytesMax) {
        throw new StoreError(
          StoreErrorCode.invalidArgument,
          `body: expected at most ${limits.rowBodyBytesMax} bytes, found ${bodyBytes}`,
        );
      }
      const savedRows = rows;
      const savedRotated = rotatedRows;
      try {
        const { sequence, hash } = appendTransaction(entry);
        rows += 1;
        headSequence = sequence;
        headHash = hash;
        return { sequence };
      } catch (error) {
        // The transaction rolled back: so do the counters.
        rows = savedRows;
        rotatedRows = savedRotated;
        throw storeErrorOf(error, file, 'appending to the security audit log');
      }
    },

    page(options) {
      assertOpen();
      const count = options.count;
      if (!Number.isSafeInteger(count) || count < 1 || count > limits.pageRowsMax) {
        throw new StoreError(
          StoreErrorCode.invalidArgument,
          `count: expected 1 to ${limits.pageRowsMax}, found ${count}`,
        );
      }
      const filter = options.filter ?? {};
      const paged = whereOf(filter, options.beforeSequence);
      const all = whereOf(filter, undefined);
      try {
        const found = db
          .prepare(
            `SELECT sequence, time, type, subtype, outcome, body, hash FROM security_audit_events ${paged.clause} ORDER BY sequence DESC LIMIT ?`,
          )
          .all(...paged.values, count + 1) as Record<string, unknown>[];
        const total = (
          db
            .prepare(`SELECT count(*) AS n FROM security_audit_events ${all.clause}`)
            .get(...all.values) as { n: number }
        ).n;
        return { rows: found.slice(0, count).map(rowOf), total, more: found.length > count };
      } catch (error) {
        throw storeErrorOf(error, file, 'reading the security audit log');
      }
    },

    verify() {
      assertOpen();
      try {
        return verifyChain(db);
      } catch (error) {
        throw storeErrorOf(error, file, 'verifying the security audit log');
      }
    },

    verifyAgainstAnchors(anchored) {
      assertOpen();
      try {
        return checkAgainstAnchors(db, anchored);
      } catch (error) {
        throw storeErrorOf(error, file, 'verifying the security audit log');
      }
    },

    head() {
      return { sequence: headSequence, hash: headHash };
    },

    stats() {
      return { rows, rotatedRows, headSequence };
    },

    close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

/** Reads the meta rows that place the chain: the newest row and the rotation anchor. */
function boundsOf(db: Database): SecurityAuditLogBounds {
  const get = db.prepare<[string], { value: unknown }>(
    'SELECT value FROM security_audit_meta WHERE name = ?',
  );
  const integer = (name: string) => integerOf(get.get(name)?.value, `security_audit_meta.${name}`);
  const bytes = (name: string) => bytesOf(get.get(name)?.value, `security_audit_meta.${name}`);
  return {
    headSequence: integer('head_sequence'),
    headHash: bytes('head_hash'),
    anchorSequence: integer('anchor_sequence'),
    anchorHash: bytes('anchor_hash'),
  };
}

/** Re-checks every row's hash and the chain from the rotation anchor to the head (`verify()`). */
function verifyChain(db: Database): SecurityAuditCheck {
  const bounds = boundsOf(db);
  let expectedSequence = bounds.anchorSequence + 1;
  let previous = bounds.anchorHash;
  let seen = 0;
  const all = db.prepare(
    'SELECT sequence, time, type, subtype, outcome, body, prev_hash, hash FROM security_audit_events ORDER BY sequence',
  );
  for (const raw of all.iterate() as Iterable<Record<string, unknown>>) {
    const row = rowOf(raw);
    if (row.sequence !== expectedSequence) {
      return {
        ok: false,
        sequence: expectedSequence,
        problem: `row ${expectedSequence} is missing: expected sequence ${expectedSequence}, found ${row.sequence} (a row was deleted)`,
      };
    }
    const prevHash = bytesOf(raw['prev_hash'], 'security_audit_events.prev_hash');
    if (!equalBytes(prevHash, previous)) {
      return {
        ok: false,
        sequence: row.sequence,
        problem: `row ${row.sequence}: expected previous hash ${toHex(previous).slice(0, 16)}…, found ${toHex(prevHash).slice(0, 16)}… (the chain was cut before it)`,
      };
    }
    const hash = securityAuditRowHash(previous, row);
    if (!equalBytes(hash, row.hash)) {
      return {
        ok: false,
        sequence: row.sequence,
        problem: `row ${row.sequence}: expected hash ${toHex(hash).slice(0, 16)}… of its columns, found ${toHex(row.hash).slice(0, 16)}… (the row was edited)`,
      };
    }
    previous = row.hash;
    expectedSequence += 1;
    seen += 1;
  }
  const head = bounds.headSequence;
  if (expectedSequence - 1 !== head || !equalBytes(previous, bounds.headHash)) {
    return {
      ok: false,
      sequence: expectedSequence,
      problem: `expected the newest row to be ${head}, found ${expectedSequence - 1} (rows at the end were deleted)`,
    };
  }
  return { ok: true, rows: seen, headSequence: head };
}

/**
 * The log against heads anchored on chain (decision 0063). First the log's own chain
 * (`verifyChain`): an edit that did not recompute the hashes shows there. Then the anchored heads:
 * none may be beyond the log's head (rows anchored once are gone: cut off the end, or the log was
 * replaced), and every head whose row is retained (or is the rotation anchor) must carry that
 * row's hash, so a rewrite that recomputed every hash shows at the oldest anchored head it
 * covers. Rows after the newest retained anchored head are not yet anchored: only their own
 * chain vouches for them.
 */
function checkAgainstAnchors(
  db: Database,
  anchored: readonly AnchoredSecurityLogHead[],
): SecurityAuditAnchorCheck {
  for (const [index, head] of anchored.entries()) {
    if (!Number.isSafeInteger(head.logSize) || head.logSize < 1) {
      throw new StoreError(
        StoreErrorCode.invalidArgument,
        `anchored[${index}].logSize: expected a whole number from 1, found ${head.logSize}`,
      );
    }
    if (head.headHash.length !== genesisHash.length) {
      throw new StoreError(
        StoreErrorCode.invalidArgument,
        `anchored[${index}].headHash: expected ${genesisHash.length} bytes, found ${head.headHash.length}`,
      );
    }
  }
  const chain = verifyChain(db);
  if (!chain.ok) return { ...chain, anchoredHash: null, logHash: null };
  const bounds = boundsOf(db);
  const ascending = [...anchored].sort((a, b) => a.logSize - b.logSize);
  const newest = ascending.at(-1) ?? null;
  if (newest !== null && newest.logSize > bounds.headSequence) {
    return {
      ok: false,
      sequence: newest.logSize,
      problem: `row ${newest.logSize} is missing: the chain anchored this log's head at row ${newest.logSize} (hash ${shortHex(newest.headHash)}), the log ends at row ${bounds.headSequence} (rows were cut off the end, or the log was replaced or deleted and started again)`,
      anchoredHash: toHex(newest.headHash),
      logHash: null,
    };
  }
  const hashAt = db.prepare<[number], { hash: unknown }>(
    'SELECT hash FROM security_audit_events WHERE sequence = ?',
  );
  let checkedAgainst: AnchoredSecurityLogHead | null = null;
  let checked = 0;
  let lastMatch: number | null = null;
  for (const head of ascending) {
    if (head.logSize < bounds.anchorSequence) continue;
    let found: Uint8Array;
    if (head.logSize === bounds.anchorSequence) {
      // Rotated out, but its hash is kept as the anchor the retained rows chain from.
      found = bounds.anchorHash;
    } else {
      const row = hashAt.get(head.logSize);
      // verifyChain found every row from the rotation anchor to the head.
      if (row === undefined) {
        throw new StoreError(
          StoreErrorCode.corrupt,
          `security_audit_events: row ${head.logSize} vanished while the log was checked`,
        );
      }
      found = bytesOf(row.hash, 'security_audit_events.hash');
    }
    checked += 1;
    if (!equalBytes(found, head.headHash)) {
      const since = lastMatch === null ? 'the oldest retained row' : `row ${lastMatch + 1}`;
      return {
        ok: false,
        sequence: head.logSize,
        problem: `row ${head.logSize}: the chain anchored hash ${toHex(head.headHash)}, the log holds ${toHex(found)} (a row from ${since} to ${head.logSize} was rewritten and the hashes recomputed)`,
        anchoredHash: toHex(head.headHash),
        logHash: toHex(found),
      };
    }
    lastMatch = head.logSize;
    checkedAgainst = head;
  }
  return {
    ok: true,
    rows: chain.rows,
    headSequence: bounds.headSequence,
    checkedAgainst,
    anchoredHeadsChecked: checked,
    unanchoredRows:
      bounds.headSequence - Math.max(checkedAgainst?.logSize ?? 0, bounds.anchorSequence),
    newestAnchored: newest,
  };
}

/**
 * Opens the security audit log at `file` read-only, for an auditor (`medledger audit
 * security-log`, decision 0063): never creates, changes or narrows the file. Throws `StoreError`
 * `invalid-argument` when there is no such file, `corrupt` or `foreign` when it is not a
 * security audit log, `locked` when a running node holds it.
 */
export function openSecurityAuditLogReader(options: { file: string }): SecurityAuditLogReader {
  const { file } = options;
  try {
    if (!statSync(file).isFile()) {
      throw new StoreError(StoreErrorCode.invalidArgument, `${file} is not a file`, { file });
    }
  } catch (error) {
    if (error instanceof StoreError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new StoreError(
      StoreErrorCode.invalidArgument,
      `${file}: ${code === 'ENOENT' ? 'no such file' : String(code)}`,
      { file },
    );
  }
  let db: Database;
  try {
    db = new BetterSqlite3(file, { readonly: true, fileMustExist: true, timeout: 0 });
  } catch (error) {
    throw storeErrorOf(error, file, 'opening the security audit log read-only');
  }
  try {
    assertSecurityLogFile(db, file, db.pragma('application_id', { simple: true }) as number);
  } catch (error) {
    db.close();
    throw storeErrorOf(error, file, 'opening the security audit log read-only');
  }
  let closed = false;
  const guarded = <T>(doing: string, run: () => T): T => {
    if (closed) throw new StoreError(StoreErrorCode.closed, `${file}: the log is closed`);
    try {
      return run();
    } catch (error) {
      throw storeErrorOf(error, file, doing);
    }
  };
  return {
    bounds: () => guarded('reading the security audit log', () => boundsOf(db)),
    verify: () => guarded('verifying the security audit log', () => verifyChain(db)),
    verifyAgainstAnchors: (anchored) =>
      guarded('verifying the security audit log', () => checkAgainstAnchors(db, anchored)),
    close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
