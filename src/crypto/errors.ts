/** The crypto folder's domain error (STYLE.md "Errors"). */
import { MedLedgerError } from '../base/index.ts';

/** Codes of `CryptoError`. */
export const CryptoErrorCode = {
  /** A seed or private key has the wrong length; the message names the argument. */
  invalidSeed: 'invalid-seed',
  /** A public key has the wrong length or does not encode an acceptable point. */
  invalidPublicKey: 'invalid-public-key',
  /** An `Ed25519KeyPair`'s public key is not the one its seed derives. */
  keyPairMismatch: 'key-pair-mismatch',
  /** An X25519 exchange produced the all-zero secret: the peer's key has small order. */
  lowOrderPublicKey: 'low-order-public-key',
} as const;

/** One of the `CryptoErrorCode` values. */
export type CryptoErrorCode = (typeof CryptoErrorCode)[keyof typeof CryptoErrorCode];

/** A key that cannot be used: wrong length, not a valid point, or a mismatched key pair. */
export class CryptoError extends MedLedgerError<CryptoErrorCode> {}

/** Describes what was found where bytes were expected, for error messages. */
export function describeBytes(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (value === null) return 'null';
  return typeof value;
}
