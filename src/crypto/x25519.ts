/**
 * X25519 Diffie-Hellman (RFC 7748 §5, §6.1) through `node:crypto`, for HPKE (RFC 9180) when a
 * node seals a record to another node. Raw 32-byte keys go in and out; they are wrapped into
 * `KeyObject`s with the fixed DER prefixes of RFC 8410 (PKCS #8 for the private key, SPKI for
 * the public key), which is the only raw-key import `node:crypto` offers on Node 20.
 */
import { createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { fromHex } from '../base/index.ts';
import { CryptoError, CryptoErrorCode, describeBytes } from './errors.ts';

/** Length in bytes of an X25519 public key, the u-coordinate (RFC 7748 §5). */
export const x25519PublicKeyBytes = 32;

/** Length in bytes of an X25519 private key, the scalar before clamping (RFC 7748 §5). */
export const x25519PrivateKeyBytes = 32;

/** Length in bytes of an X25519 shared secret (RFC 7748 §6.1). */
export const x25519SharedSecretBytes = 32;

/** An X25519 key pair of raw 32-byte keys. */
export type X25519KeyPair = { readonly publicKey: Uint8Array; readonly privateKey: Uint8Array };

/** `OneAsymmetricKey { version 0, AlgorithmIdentifier id-X25519, OCTET STRING { key } }`. */
const pkcs8Prefix = fromHex('302e020100300506032b656e04220420');

/** `SubjectPublicKeyInfo { AlgorithmIdentifier id-X25519, BIT STRING key }`. */
const spkiPrefix = fromHex('302a300506032b656e032100');

function checkKey(
  value: unknown,
  name: string,
  code: CryptoErrorCode,
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== 32) {
    throw new CryptoError(
      code,
      `${name}: expected an X25519 key of 32 bytes, got ${describeBytes(value)}`,
      { argument: name, expectedBytes: 32, found: describeBytes(value) },
    );
  }
}

function privateKeyObject(privateKey: Uint8Array): KeyObject {
  const der = new Uint8Array(pkcs8Prefix.length + x25519PrivateKeyBytes);
  der.set(pkcs8Prefix);
  der.set(privateKey, pkcs8Prefix.length);
  return createPrivateKey({ key: Buffer.from(der.buffer), format: 'der', type: 'pkcs8' });
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const der = new Uint8Array(spkiPrefix.length + x25519PublicKeyBytes);
  der.set(spkiPrefix);
  der.set(publicKey, spkiPrefix.length);
  return createPublicKey({ key: Buffer.from(der.buffer), format: 'der', type: 'spki' });
}

function isDerivationFailure(error: unknown): boolean {
  return (
    error instanceof Error && 'code' in error && error.code === 'ERR_OSSL_FAILED_DURING_DERIVATION'
  );
}

/**
 * The X25519 key pair of a 32-byte private key: `publicKey = X25519(seed, 9)` (RFC 7748 §6.1).
 * Pure: the caller supplies the randomness. The private key is a copy of the seed.
 */
export function x25519KeyPairFromSeed(seed: Uint8Array): X25519KeyPair {
  checkKey(seed, 'seed', CryptoErrorCode.invalidSeed);
  const spki = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(spkiPrefix.length));
  return Object.freeze({ publicKey, privateKey: new Uint8Array(seed) });
}

/**
 * `X25519(privateKey, publicKey)` (RFC 7748 §6.1). Throws `CryptoError` `low-order-public-key`
 * when the result is all zeros, the check §6.1 recommends: the peer's key then has small order
 * and the "secret" is known to everyone.
 */
export function x25519SharedSecret(options: {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}): Uint8Array {
  const { privateKey, publicKey } = options;
  checkKey(privateKey, 'privateKey', CryptoErrorCode.invalidSeed);
  checkKey(publicKey, 'publicKey', CryptoErrorCode.invalidPublicKey);
  const keys = { privateKey: privateKeyObject(privateKey), publicKey: publicKeyObject(publicKey) };
  let secret: Uint8Array;
  try {
    secret = diffieHellman(keys);
  } catch (error) {
    // OpenSSL refuses to derive exactly when the output would be all zeros (a small-order u).
    if (!isDerivationFailure(error)) throw error;
    secret = new Uint8Array(x25519SharedSecretBytes);
  }
  if (secret.every((byte) => byte === 0)) {
    throw new CryptoError(
      CryptoErrorCode.lowOrderPublicKey,
      'publicKey: expected an X25519 public key of large order, got a point of small order ' +
        '(the shared secret would be all zeros)',
      { argument: 'publicKey' },
    );
  }
  return new Uint8Array(secret);
}
