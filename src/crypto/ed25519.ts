/**
 * Ed25519 signatures (RFC 8032 §5.1) through libsodium (`sodium-native`).
 *
 * Verification is a consensus rule: every node must reach the same verdict on every signature,
 * including hostile ones. The verdict is libsodium's `crypto_sign_verify_detached` on the pinned
 * `sodium-native` version, with exact lengths checked first; the README of this folder lists what
 * it rejects beyond RFC 8032 (small-order keys and R, non-canonical keys, S ≥ L) and where
 * `node:crypto` (OpenSSL) decides differently. Never decide validity with another library.
 */
import sodium from 'sodium-native';

import { equalBytes, shortHex, toHex } from '../base/index.ts';
import { CryptoError, CryptoErrorCode, describeBytes } from './errors.ts';

/** Length in bytes of an Ed25519 public key, the encoded point A (RFC 8032 §5.1.5). */
export const ed25519PublicKeyBytes = 32;

/** Length in bytes of an Ed25519 secret key, the seed that SHA-512 expands (RFC 8032 §5.1.5). */
export const ed25519SeedBytes = 32;

/** Length in bytes of an Ed25519 signature `R ‖ S` (RFC 8032 §5.1.6). */
export const ed25519SignatureBytes = 64;

/** libsodium's secret key is `seed ‖ publicKey`. */
const libsodiumSecretKeyBytes = ed25519SeedBytes + ed25519PublicKeyBytes;

/**
 * An Ed25519 key pair: the 32-byte seed (RFC 8032's "secret key") and the public key it derives.
 * Treat both arrays as immutable; build key pairs with `ed25519KeyPairFromSeed`.
 */
export type Ed25519KeyPair = { readonly publicKey: Uint8Array; readonly seed: Uint8Array };

/**
 * libsodium's 64-byte secret key per key pair, derived once. Weak keys let a key pair and its
 * secret key be collected together; the secret never leaves this module.
 */
const secretKeys = new WeakMap<Ed25519KeyPair, Uint8Array>();

function checkSeed(seed: unknown, name: string): asserts seed is Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length !== ed25519SeedBytes) {
    throw new CryptoError(
      CryptoErrorCode.invalidSeed,
      `${name}: expected an Ed25519 seed of ${ed25519SeedBytes} bytes, got ${describeBytes(seed)}`,
      { argument: name, expectedBytes: ed25519SeedBytes, found: describeBytes(seed) },
    );
  }
}

function deriveKeys(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const publicKey = new Uint8Array(ed25519PublicKeyBytes);
  const secretKey = new Uint8Array(libsodiumSecretKeyBytes);
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed);
  return { publicKey, secretKey };
}

/**
 * Derives the key pair of a 32-byte seed (RFC 8032 §5.1.5). Pure: the caller supplies the seed's
 * randomness (`keys/` draws it). The seed is copied, so the caller may wipe its own buffer.
 */
export function ed25519KeyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
  checkSeed(seed, 'seed');
  const { publicKey, secretKey } = deriveKeys(seed);
  const keyPair: Ed25519KeyPair = Object.freeze({ publicKey, seed: new Uint8Array(seed) });
  secretKeys.set(keyPair, secretKey);
  return keyPair;
}

/**
 * The libsodium secret key of a key pair built elsewhere (for example by hand from a file). Its
 * public key must be the one the seed derives: signing one seed under two public keys reveals
 * the private scalar (the Ed25519 "double public key" oracle), so a mismatch is refused.
 */
function secretKeyOf(keyPair: Ed25519KeyPair): Uint8Array {
  const cached = secretKeys.get(keyPair);
  if (cached !== undefined) return cached;
  checkSeed(keyPair.seed, 'keyPair.seed');
  const derived = deriveKeys(keyPair.seed);
  const publicKey: unknown = keyPair.publicKey;
  if (!(publicKey instanceof Uint8Array) || !equalBytes(publicKey, derived.publicKey)) {
    throw new CryptoError(
      CryptoErrorCode.keyPairMismatch,
      `keyPair.publicKey: expected ${shortHex(derived.publicKey)} (derived from the seed), got ` +
        (publicKey instanceof Uint8Array ? shortHex(publicKey) : describeBytes(publicKey)),
      { expected: toHex(derived.publicKey) },
    );
  }
  secretKeys.set(keyPair, derived.secretKey);
  return derived.secretKey;
}

/**
 * Signs `message` (RFC 8032 §5.1.6): deterministic, 64 bytes `R ‖ S`. Throws `CryptoError`
 * `key-pair-mismatch` when the key pair's public key is not the one its seed derives.
 */
export function ed25519Sign(options: { message: Uint8Array; keyPair: Ed25519KeyPair }): Uint8Array {
  const { message, keyPair } = options;
  const secretKey = secretKeyOf(keyPair);
  const signature = new Uint8Array(ed25519SignatureBytes);
  sodium.crypto_sign_detached(signature, message, secretKey);
  return signature;
}

/**
 * Verifies an Ed25519 signature (RFC 8032 §5.1.7, with libsodium's stricter checks: see the
 * README). Never throws on peer data: a public key or signature of the wrong length, or an
 * argument that is not a `Uint8Array`, is simply not valid. `sodium-native` alone would read the
 * first 64 bytes of a longer signature, so the exact length is checked here.
 */
export function ed25519Verify(options: {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}): boolean {
  const { publicKey, message, signature } = options;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ed25519PublicKeyBytes) {
    return false;
  }
  if (!(signature instanceof Uint8Array) || signature.length !== ed25519SignatureBytes) {
    return false;
  }
  if (!(message instanceof Uint8Array)) return false;
  return sodium.crypto_sign_verify_detached(signature, message, publicKey);
}

/**
 * Whether `publicKey` is a key honest key generation can produce: 32 bytes, the canonical
 * encoding of a curve point in the prime-order subgroup (RFC 8032 §5.1.3 decoding, plus
 * libsodium's `crypto_core_ed25519_is_valid_point`, which refuses small-order and mixed-order
 * points). Stricter than `ed25519Verify`, which accepts mixed-order keys.
 */
export function isEd25519PublicKey(publicKey: unknown): publicKey is Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ed25519PublicKeyBytes) {
    return false;
  }
  return sodium.crypto_core_ed25519_is_valid_point(publicKey);
}

/**
 * Throws `CryptoError` `invalid-public-key` unless `isEd25519PublicKey(publicKey)`. For
 * boundaries where a key enters the system (registering an organisation, a node, a patient),
 * so that no key of small or mixed order is ever stored. `name` is the argument's name for the
 * message.
 */
export function assertEd25519PublicKey(
  publicKey: unknown,
  name: string = 'publicKey',
): asserts publicKey is Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ed25519PublicKeyBytes) {
    throw new CryptoError(
      CryptoErrorCode.invalidPublicKey,
      `${name}: expected an Ed25519 public key of ${ed25519PublicKeyBytes} bytes, got ` +
        describeBytes(publicKey),
      { argument: name, expectedBytes: ed25519PublicKeyBytes, found: describeBytes(publicKey) },
    );
  }
  if (!sodium.crypto_core_ed25519_is_valid_point(publicKey)) {
    throw new CryptoError(
      CryptoErrorCode.invalidPublicKey,
      `${name}: expected the canonical encoding of an Ed25519 point of prime order, got ` +
        `${shortHex(publicKey)} (not on the curve, not canonical, or of small or mixed order)`,
      { argument: name, found: toHex(publicKey) },
    );
  }
}
