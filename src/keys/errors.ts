/** The keys folder's domain error (STYLE.md "Errors"). */
import { MedLedgerError } from '../base/index.ts';

/** Codes of `KeyFileError`. */
export const KeyFileErrorCode = {
  /** No file at the path. */
  notFound: 'not-found',
  /** The path exists but is not a regular file (a directory, a device). */
  notAFile: 'not-a-file',
  /** The file's mode lets its group or other users read, write or run it. */
  tooOpen: 'too-open',
  /** The file is not a well-formed key document; the message says what is wrong. */
  malformed: 'malformed',
  /** The file is not a MedLedger key file, or holds a key of another algorithm. */
  wrongKind: 'wrong-kind',
  /** The file's format version is not one this build reads. */
  unsupportedVersion: 'unsupported-version',
  /** `saveKeyFile` found a file at the path and was not told to overwrite it. */
  alreadyExists: 'already-exists',
} as const;

/** One of the `KeyFileErrorCode` values. */
export type KeyFileErrorCode = (typeof KeyFileErrorCode)[keyof typeof KeyFileErrorCode];

/** A key file that cannot be saved or loaded; `details.path` names the file. */
export class KeyFileError extends MedLedgerError<KeyFileErrorCode> {}
