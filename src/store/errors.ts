/**
 * The store's one error type (STYLE.md "Errors"): a stable code, a message that says what was
 * expected and what was found (heights, short hashes), and a typed payload.
 */
import { MedLedgerError } from '../base/index.ts';

/** Codes of `StoreError`. */
export const StoreErrorCode = {
  /** The directory holds a store made for another genesis document (another chain). */
  wrongGenesis: 'wrong-genesis',
  /** A block handed to `commitBlock` is not at the next height. */
  wrongHeight: 'wrong-height',
  /**
   * A block handed to `commitBlock` disagrees with the head or with itself (previous hash, block
   * hash, commit, transaction ids, receipts, log root or size, state root, state writes).
   */
  wrongBlock: 'wrong-block',
  /** At open (or when rebuilding a past state), the stored block, state and log disagree. */
  inconsistent: 'inconsistent',
  /** The file is not a SQLite database, or a stored row cannot be decoded. */
  corrupt: 'corrupt',
  /** A SQLite database of another application, or of a store format this code does not know. */
  foreign: 'foreign',
  /** Another process (or connection) has the store open. */
  locked: 'locked',
  /** The file system or SQLite refused a read or a write; the store closed itself. */
  io: 'io',
  /** The store was closed (by `close`, or after a failed write). */
  closed: 'closed',
  /** An argument out of range or of the wrong type; the message names it. */
  invalidArgument: 'invalid-argument',
} as const;

/** One of the `StoreErrorCode` values. */
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

/** A store failure: a refused block, a store that does not open, or an I/O error. */
export class StoreError extends MedLedgerError<StoreErrorCode> {}
