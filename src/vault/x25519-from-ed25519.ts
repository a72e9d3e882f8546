/**
 * A node's X25519 key (RFC 7748) from its Ed25519 node key (RFC 8032), so that the key already
 * registered on chain for a node can also receive HPKE-sealed records: libsodium's
 * `crypto_sign_ed25519_pk_to_curve25519` (the birational map u = (1 + y) / (1 − y) from the
 * Edwards curve to Montgomery form, RFC 7748 §4.1) and `crypto_sign_ed25519_sk_to_curve25519`
 * (the clamped first half of SHA-512(seed), the same scalar Ed25519 signs with, RFC 8032
 * §5.1.5). Using one key for signatures and key agreement is sound for this pair of schemes
 * (Thormarker, "On using the same key pair for Ed25519 and an X25519 based KEM", 2021).
 */
import sodium from 'sodium-native';

import { assert, equalBytes } from '../base/index.ts';
import {
  assertEd25519PublicKey,
  ed25519KeyPairFromSeed,
  x25519KeyPairFromSeed,
} from '../crypto/index.ts';
import type { Ed25519KeyPair, X25519KeyPair } from '../crypto/index.ts';
import { VaultError, VaultErrorCode } from './errors.ts';

/** The two libsodium conversions; types/sodium-native.d.ts does not declare them yet. */
type Ed25519ToCurve25519 = {
  crypto_sign_ed25519_pk_to_curve25519(
    x25519PublicKey: Uint8Array,
    ed25519PublicKey: Uint8Array,
  ): void;
  crypto_sign_ed25519_sk_to_curve25519(
    x25519PrivateKey: Uint8Array,
    ed25519SecretKey: Uint8Array,
  ): void;
};

const conversions = sodium as unknown as Ed25519ToCurve25519;

/**
 * The X25519 public key of an Ed25519 public key. Throws `CryptoError` `invalid-public-key` for a
 * key that is not a canonical point of the prime-order subgroup (crypto/'s rule for node keys).
 */
export function x25519PublicKeyFromEd25519(publicKey: Uint8Array): Uint8Array {
  assertEd25519PublicKey(publicKey, 'publicKey');
  const x25519PublicKey = new Uint8Array(32);
  conversions.crypto_sign_ed25519_pk_to_curve25519(x25519PublicKey, publicKey);
  return x25519PublicKey;
}

/**
 * The X25519 key pair of an Ed25519 key pair. Throws `VaultError` `invalid-argument` when the key
 * pair's public key is not the one its seed derives.
 */
export function x25519KeyPairFromEd25519(keyPair: Ed25519KeyPair): X25519KeyPair {
  const derived = ed25519KeyPairFromSeed(keyPair.seed);
  if (
    !(keyPair.publicKey instanceof Uint8Array) ||
    !equalBytes(derived.publicKey, keyPair.publicKey)
  ) {
    throw new VaultError(
      VaultErrorCode.invalidArgument,
      'keyPair: its public key is not the one its seed derives',
      { argument: 'keyPair' },
    );
  }
  // libsodium's secret key is seed ‖ public key; only the seed is read.
  const secretKey = new Uint8Array(64);
  secretKey.set(keyPair.seed);
  secretKey.set(keyPair.publicKey, 32);
  const privateKey = new Uint8Array(32);
  try {
    conversions.crypto_sign_ed25519_sk_to_curve25519(privateKey, secretKey);
  } finally {
    secretKey.fill(0);
  }
  const x25519 = x25519KeyPairFromSeed(privateKey);
  privateKey.fill(0);
  // Both conversions must land on the same key pair; if not, libsodium or this code is broken.
  assert(
    equalBytes(x25519.publicKey, x25519PublicKeyFromEd25519(keyPair.publicKey)),
    'the converted X25519 keys form a pair',
  );
  return x25519;
}
