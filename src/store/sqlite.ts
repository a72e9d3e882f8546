/**
 * The thin layer over better-sqlite3 (synchronous SQLite bindings, decision 0030): opening a
 * database, reading BLOB columns as plain `Uint8Array`s, and turning SQLite's errors into
 * `StoreError`s that say which file and what failed.
 */
import BetterSqlite3 from 'better-sqlite3';

import { StoreError, StoreErrorCode } from './errors.ts';

/** An open SQLite connection. */
export type Database = BetterSqlite3.Database;
/** A prepared SQLite statement. */
export type Statement = BetterSqlite3.Statement;

/** Opens (creating if absent) the SQLite file at `file`. */
export function openDatabase(file: string, options: { busyTimeoutMs: number }): Database {
  return new BetterSqlite3(file, { timeout: options.busyTimeoutMs });
}

/**
 * A BLOB column as a plain `Uint8Array` over the same memory (better-sqlite3 returns a fresh
 * `Buffer` per row, so no copy is needed); anything else is a corrupt row.
 */
export function bytesOf(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new StoreError(
      StoreErrorCode.corrupt,
      `${what}: expected a BLOB, found ${value === null ? 'NULL' : typeof value}`,
    );
  }
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** An INTEGER column as a safe integer; anything else is a corrupt row. */
export function integerOf(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new StoreError(
      StoreErrorCode.corrupt,
      `${what}: expected an integer, found ${value === null ? 'NULL' : typeof value}`,
    );
  }
  return value;
}

/** SQLite's result code of an error thrown by better-sqlite3 (`SQLITE_BUSY`, …), if it has one. */
export function sqliteCodeOf(error: unknown): string | null {
  if (error instanceof BetterSqlite3.SqliteError) return error.code;
  return null;
}

/**
 * The `StoreError` for an error SQLite threw while `doing` something with `file`: a file that is
 * not a database or is malformed is `corrupt`, a lock held elsewhere is `locked`, anything else
 * `io`. Errors that are already `StoreError`s pass through.
 */
export function storeErrorOf(error: unknown, file: string, doing: string): Error {
  if (error instanceof StoreError) return error;
  const code = sqliteCodeOf(error);
  const reason = error instanceof Error ? error.message : String(error);
  // Neither SQLite's nor the file system's: a programmer error or a failed assertion, which
  // must not be disguised as a storage failure.
  if (code === null && !isFileSystemError(error)) {
    return error instanceof Error ? error : new Error(reason);
  }
  if (
    code === 'SQLITE_NOTADB' ||
    code === 'SQLITE_CORRUPT' ||
    code?.startsWith('SQLITE_CORRUPT_')
  ) {
    return new StoreError(
      StoreErrorCode.corrupt,
      `${file} is not a readable MedLedger chain store (${doing}): ${reason} (${code})`,
      { file, sqliteCode: code },
    );
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new StoreError(
      StoreErrorCode.locked,
      `${file} is open in another process or connection (${doing}): ${reason}`,
      { file, sqliteCode: code },
    );
  }
  return new StoreError(
    StoreErrorCode.io,
    `${file}: ${doing} failed: ${reason}${code === null ? '' : ` (${code})`}`,
    { file, sqliteCode: code },
  );
}

function isFileSystemError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}
