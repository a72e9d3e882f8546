/**
 * The history log's domain error and the argument checks shared by the tree and the verifiers.
 * Every check names the argument it refused, what it expected and what it found.
 */
import { MedLedgerError } from '../base/index.ts';
import { hashBytes } from '../crypto/index.ts';

import { logSizeMax } from './log-limits.ts';

/** Codes of `HistoryLogError` (STYLE.md "Errors"). */
export const LogErrorCode = {
  /** An argument is out of range or malformed; the message names it. */
  argumentInvalid: 'LOG_ARGUMENT_INVALID',
  /** The log already holds `logSizeMax` leaves. */
  full: 'LOG_FULL',
  /** A proof has more or fewer hashes than RFC 9162 §2.1.3.2 / §2.1.4.2 consume for its sizes. */
  proofLengthMismatch: 'LOG_PROOF_LENGTH_MISMATCH',
  /** A root computed from a proof differs from the root it must match. */
  rootMismatch: 'LOG_ROOT_MISMATCH',
} as const;

/** One of the `LogErrorCode` values. */
export type LogErrorCode = (typeof LogErrorCode)[keyof typeof LogErrorCode];

/** A history-log failure: a bad argument, a full log, or a proof that does not verify. */
export class HistoryLogError extends MedLedgerError<LogErrorCode> {}

/** Throws `argumentInvalid` unless `value` is an integer in [0, max]; `maxName` says what max is. */
export function checkCount(
  name: string,
  value: unknown,
  max: number = logSizeMax,
  maxName: string = 'logSizeMax',
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new HistoryLogError(
      LogErrorCode.argumentInvalid,
      `${name}: expected a non-negative integer, got ${describe(value)}`,
      { argument: name, found: describe(value) },
    );
  }
  if (value > max) {
    throw new HistoryLogError(
      LogErrorCode.argumentInvalid,
      `${name}: expected at most ${maxName} ${max}, got ${value}`,
      { argument: name, expectedAtMost: max, found: value },
    );
  }
  return value;
}

/** Throws `argumentInvalid` unless `value` is an integer in [0, limit): `index` below `size`. */
export function checkIndex(name: string, value: unknown, limitName: string, limit: number): number {
  checkCount(name, value);
  const index = value as number;
  if (index >= limit) {
    throw new HistoryLogError(
      LogErrorCode.argumentInvalid,
      `${name}: expected below ${limitName} ${limit}, got ${index}`,
      { argument: name, expectedBelow: limit, found: index },
    );
  }
  return index;
}

/** Throws `argumentInvalid` unless `value` is a 32-byte `Uint8Array`. */
export function checkHash(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new HistoryLogError(
      LogErrorCode.argumentInvalid,
      `${name}: expected a ${hashBytes}-byte Uint8Array, got ${describe(value)}`,
      { argument: name, found: describe(value) },
    );
  }
  if (value.length !== hashBytes) {
    throw new HistoryLogError(
      LogErrorCode.argumentInvalid,
      `${name}: expected a ${hashBytes}-byte hash, got ${value.length} bytes`,
      { argument: name, expectedBytes: hashBytes, foundBytes: value.length },
    );
  }
  return value;
}

/** Throws `argumentInvalid` unless `value` is a `Uint8Array` of at most `maxBytes` bytes. */
export function checkBytes(name: string, value: unknown, maxBytes: number): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new HistoryLogError(
      LogErrorCode.argumentInvalid,
      `${name}: expected a Uint8Array, got ${describe(value)}`,
      { argument: name, found: describe(value) },
    );
  }
  if (value.length > maxBytes) {
    throw new HistoryLogError(
      LogErrorCode.argumentInvalid,
      `${name}: expected at most ${maxBytes} bytes, got ${value.length}`,
      { argument: name, expectedAtMostBytes: maxBytes, foundBytes: value.length },
    );
  }
  return value;
}

/** Throws `argumentInvalid` unless `value` is an array of 32-byte hashes; names the bad element. */
export function checkHashList(name: string, value: unknown): readonly Uint8Array[] {
  if (!Array.isArray(value)) {
    throw new HistoryLogError(
      LogErrorCode.argumentInvalid,
      `${name}: expected an array of ${hashBytes}-byte hashes, got ${describe(value)}`,
      { argument: name, found: describe(value) },
    );
  }
  const list = value as readonly unknown[];
  for (let i = 0; i < list.length; i++) checkHash(`${name}[${i}]`, list[i]);
  return list as readonly Uint8Array[];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'number' || typeof value === 'bigint') return `${typeof value} ${value}`;
  return typeof value;
}
