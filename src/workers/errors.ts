/** The workers folder's domain error (STYLE.md "Errors"). */
import { MedLedgerError } from '../base/index.ts';

/** Codes of `VerifyPoolError`. */
export const VerifyPoolErrorCode = {
  /** `createVerifyPool` was given a thread count or bound out of range. */
  invalidOptions: 'invalid-options',
  /** Too many batches are pending; the caller should retry later or slow down. */
  busy: 'busy',
  /** One batch has more items or message bytes than `verifyPoolLimits` allows. */
  batchTooLarge: 'batch-too-large',
  /** A thread stopped while it held part of the batch. */
  workerCrashed: 'worker-crashed',
  /** Every thread has stopped and no restarts are left. */
  poolFailed: 'pool-failed',
  /** The pool was closed before the batch was answered, or before it was submitted. */
  closed: 'closed',
} as const;

/** One of the `VerifyPoolErrorCode` values. */
export type VerifyPoolErrorCode = (typeof VerifyPoolErrorCode)[keyof typeof VerifyPoolErrorCode];

/** A batch the verify pool could not answer. Never a verdict: invalid signatures are `false`. */
export class VerifyPoolError extends MedLedgerError<VerifyPoolErrorCode> {}
