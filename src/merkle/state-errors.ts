/**
 * The state tree's domain error and the argument checks shared by the tree and its verifier.
 * Every check names the argument it refused, what it expected and what it found.
 */
import { MedLedgerError } from '../base/index.ts';

/** Codes of `StateTreeError` (STYLE.md "Errors"). */
export const StateTreeErrorCode = {
  /** An argument is missing, of the wrong type or length; the message names it. */
  argumentInvalid: 'STATE_ARGUMENT_INVALID',
  /** Two entries of one update batch have the same key. */
  duplicateKey: 'STATE_DUPLICATE_KEY',
  /** A proof is not in canonical form (lengths, depth, bitmap, sibling count, other leaf). */
  proofMalformed: 'STATE_PROOF_MALFORMED',
  /** A proof is well formed but the root it reconstructs differs from the expected root. */
  rootMismatch: 'STATE_ROOT_MISMATCH',
} as const;

/** One of the `StateTreeErrorCode` values. */
export type StateTreeErrorCode = (typeof StateTreeErrorCode)[keyof typeof StateTreeErrorCode];

/** A state-tree failure: a bad argument, a duplicate key in a batch, or a proof that fails. */
export class StateTreeError extends MedLedgerError<StateTreeErrorCode> {}

/** Throws `argumentInvalid` unless `value` is a `Uint8Array` of exactly `length` bytes. */
export function checkStateBytesExact(name: string, value: unknown, length: number): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new StateTreeError(
      StateTreeErrorCode.argumentInvalid,
      `${name}: expected a ${length}-byte Uint8Array, found ${describeState(value)}`,
      { argument: name, found: describeState(value) },
    );
  }
  if (value.length !== length) {
    throw new StateTreeError(
      StateTreeErrorCode.argumentInvalid,
      `${name}: expected ${length} bytes, found ${value.length}`,
      { argument: name, expectedBytes: length, foundBytes: value.length },
    );
  }
  return value;
}

/** Throws `argumentInvalid` unless `value` is a `Uint8Array` of at most `maxBytes` bytes. */
export function checkStateBytesAtMost(name: string, value: unknown, maxBytes: number): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new StateTreeError(
      StateTreeErrorCode.argumentInvalid,
      `${name}: expected a Uint8Array, found ${describeState(value)}`,
      { argument: name, found: describeState(value) },
    );
  }
  if (value.length > maxBytes) {
    throw new StateTreeError(
      StateTreeErrorCode.argumentInvalid,
      `${name}: expected at most ${maxBytes} bytes, found ${value.length}`,
      { argument: name, expectedAtMostBytes: maxBytes, foundBytes: value.length },
    );
  }
  return value;
}

/** A short description of an unexpected argument for error messages (never its content). */
export function describeState(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'number' || typeof value === 'bigint') return `${typeof value} ${value}`;
  return typeof value;
}
