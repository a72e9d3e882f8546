/** The vault's domain error (STYLE.md "Errors"). */
import { MedLedgerError } from '../base/index.ts';

/** Codes of `VaultError`. */
export const VaultErrorCode = {
  /** An argument is missing, of the wrong type or out of range; the message names it. */
  invalidArgument: 'invalid-argument',
  /** A resource, label list or other input is over its limit in `vaultLimits`. */
  tooLarge: 'too-large',
  /** `put` of a version that is not the record's next one (a gap or a duplicate). */
  versionConflict: 'version-conflict',
  /** `put` of a version whose resource type or patient differs from the record's. */
  recordMismatch: 'record-mismatch',
  /** No such record, or no such version of it. */
  notFound: 'not-found',
  /**
   * A stored byte was changed: a ciphertext, nonce, tag, wrapped key, salt, content hash or
   * authenticated metadata column does not verify. The record must not be served.
   */
  integrity: 'integrity',
  /** The record's data key was destroyed by `erasePatient`: its content is gone for good. */
  erased: 'erased',
  /** The key-encryption key given is not the one that wraps this vault's data keys. */
  wrongKek: 'wrong-kek',
  /** The database is not a vault, or a vault of a format this build does not read. */
  foreign: 'foreign',
  /** The database refused a read or a write (SQLite or PostgreSQL error, I/O). */
  storage: 'storage',
  /** The vault was closed. */
  closed: 'closed',
  /** An HPKE-sealed record does not open: wrong key, or `enc`, ciphertext, aad or info changed. */
  sealedRecordInvalid: 'sealed-record-invalid',
} as const;

/** One of the `VaultErrorCode` values. */
export type VaultErrorCode = (typeof VaultErrorCode)[keyof typeof VaultErrorCode];

/** A vault failure: refused input, a record that does not verify, or a storage error. */
export class VaultError extends MedLedgerError<VaultErrorCode> {}
