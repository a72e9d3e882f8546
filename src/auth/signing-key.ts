/**
 * The node's access-token signing key: an Ed25519 key (RFC 8032) in a MedLedger key file (mode
 * 0600, `keys/`'s format), kept apart from the node's consensus key and created at first start.
 * For jose it becomes a `node:crypto` KeyObject (through its RFC 8037 OKP JWK); its `kid` is the
 * RFC 7638 thumbprint of the public JWK, so a rotated key gets a new `kid` by itself.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { calculateJwkThumbprint } from 'jose';
import type { JWK } from 'jose';

import type { Ed25519KeyPair } from '../crypto/index.ts';
import {
  KeyFileError,
  KeyFileErrorCode,
  generateEd25519KeyPair,
  loadEd25519KeyFile,
  saveKeyFile,
} from '../keys/index.ts';

/** The JWS algorithm of the tokens this node signs (RFC 8037 §3.1). */
export const accessTokenAlgorithm = 'EdDSA';

/** A public key that verifies access tokens: what `verifyAccessToken` needs. */
export interface TokenVerificationKey {
  /** RFC 7638 thumbprint of `publicJwk`, put in each token's `kid` header. */
  readonly kid: string;
  readonly publicKey: KeyObject;
  /** The public JWK as published at `jwks_uri` (`kty`, `crv`, `x`, `kid`, `alg`, `use`). */
  readonly publicJwk: Readonly<JWK>;
}

/** The signing key with its public half. */
export interface TokenSigningKey extends TokenVerificationKey {
  readonly privateKey: KeyObject;
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** The RFC 8037 public JWK of a raw 32-byte Ed25519 public key, with its RFC 7638 `kid`. */
export async function ed25519PublicJwk(publicKey: Uint8Array): Promise<JWK> {
  const jwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: base64url(publicKey) };
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { ...jwk, kid, alg: accessTokenAlgorithm, use: 'sig' };
}

/** Builds the signing key from an Ed25519 key pair (the seed never leaves the KeyObject). */
export async function tokenSigningKeyOf(keyPair: Ed25519KeyPair): Promise<TokenSigningKey> {
  const x = base64url(keyPair.publicKey);
  const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x }, 'sha256');
  const publicJwk: JWK = {
    kty: 'OKP',
    crv: 'Ed25519',
    x,
    kid,
    alg: accessTokenAlgorithm,
    use: 'sig',
  };
  const privateKey = createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', x, d: base64url(keyPair.seed) },
    format: 'jwk',
  });
  const publicKey = createPublicKey(privateKey);
  return { kid, privateKey, publicKey, publicJwk };
}

/**
 * Loads the token-signing key file at `path`, or creates it (a new Ed25519 key, mode 0600, in a
 * directory of mode 0700 if missing) when there is none. Throws `KeyFileError` for a file that
 * exists but cannot be used (too open, malformed, another algorithm): it is never replaced.
 */
export async function loadOrCreateTokenSigningKey(options: {
  path: string;
}): Promise<TokenSigningKey> {
  const { path } = options;
  try {
    return await tokenSigningKeyOf(await loadEd25519KeyFile(path));
  } catch (error) {
    if (!(error instanceof KeyFileError) || error.code !== KeyFileErrorCode.notFound) throw error;
  }
  const keyPair = generateEd25519KeyPair();
  try {
    await saveKeyFile({ path, key: { kind: 'ed25519', seed: keyPair.seed } });
  } catch (error) {
    // Another process created the file first: use that one, so both sign with the same key.
    if (!(error instanceof KeyFileError) || error.code !== KeyFileErrorCode.alreadyExists) {
      throw error;
    }
    return await tokenSigningKeyOf(await loadEd25519KeyFile(path));
  }
  return await tokenSigningKeyOf(keyPair);
}

/**
 * The JWK Set published at `jwks_uri` (RFC 7517 §5): the public halves of the given keys (the
 * current one and any still accepted after a rotation).
 */
export function publicJwks(keys: readonly TokenVerificationKey[]): { keys: JWK[] } {
  return { keys: keys.map((key) => ({ ...key.publicJwk })) };
}
