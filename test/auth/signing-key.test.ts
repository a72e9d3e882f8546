// Checks the token-signing key file on real files in a temp dir (created with mode 0600 at first
// start, reused after, refused when too open), the JWK Set and the SMART configuration document.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { SignJWT, createLocalJWKSet, jwtVerify } from 'jose';

import {
  loadOrCreateTokenSigningKey,
  publicJwks,
  smartConfiguration,
} from '../../src/auth/index.ts';
import { KeyFileError, KeyFileErrorCode } from '../../src/keys/index.ts';

const directory = mkdtempSync(join(tmpdir(), 'medledger-auth-'));
after(() => rmSync(directory, { recursive: true, force: true }));

test('creates the key file with mode 0600 at first start and reuses it after', async () => {
  const path = join(directory, 'keys', 'token-signing.key');
  const previous = process.umask(0);
  let first;
  try {
    first = await loadOrCreateTokenSigningKey({ path });
  } finally {
    process.umask(previous);
  }
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(join(directory, 'keys')).mode & 0o777, 0o700);
  const second = await loadOrCreateTokenSigningKey({ path });
  assert.equal(second.kid, first.kid);
  assert.deepEqual(second.publicJwk, first.publicJwk);
  // A token signed with the first verifies with the second: the same key.
  const token = await new SignJWT({ sub: 'x' })
    .setProtectedHeader({ alg: 'EdDSA', kid: first.kid })
    .sign(first.privateKey);
  await jwtVerify(token, second.publicKey);
});

test('refuses a key file readable by others rather than replacing it', async () => {
  const path = join(directory, 'open.key');
  const created = await loadOrCreateTokenSigningKey({ path });
  chmodSync(path, 0o644);
  await assert.rejects(loadOrCreateTokenSigningKey({ path }), (error: unknown) => {
    return error instanceof KeyFileError && error.code === KeyFileErrorCode.tooOpen;
  });
  chmodSync(path, 0o600);
  assert.equal((await loadOrCreateTokenSigningKey({ path })).kid, created.kid);
});

test('the JWK Set holds public keys only, and verifies tokens through jose', async () => {
  const key = await loadOrCreateTokenSigningKey({ path: join(directory, 'jwks.key') });
  const jwks = publicJwks([key]);
  assert.equal(jwks.keys.length, 1);
  const [jwk] = jwks.keys;
  assert.deepEqual(Object.keys(jwk ?? {}).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
  assert.equal(jwk?.kty, 'OKP');
  assert.equal(jwk?.crv, 'Ed25519');
  assert.equal(jwk?.d, undefined);
  const token = await new SignJWT({ sub: 'x' })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
    .sign(key.privateKey);
  await jwtVerify(token, createLocalJWKSet(jwks));
});

test('the SMART configuration names the endpoints, methods, algorithms and capabilities', () => {
  const document = smartConfiguration({
    baseUrl: 'https://node1.example.org',
    tokenUrl: 'https://node1.example.org/auth/token',
    jwksUrl: 'https://node1.example.org/.well-known/jwks.json',
  });
  assert.equal(document.issuer, 'https://node1.example.org');
  assert.equal(document.token_endpoint, 'https://node1.example.org/auth/token');
  assert.equal(document.jwks_uri, 'https://node1.example.org/.well-known/jwks.json');
  assert.deepEqual(document.token_endpoint_auth_methods_supported, ['private_key_jwt']);
  assert.deepEqual(document.token_endpoint_auth_signing_alg_values_supported, [
    'RS384',
    'ES384',
    'EdDSA',
  ]);
  assert.deepEqual(document.grant_types_supported, ['client_credentials']);
  for (const capability of [
    'permission-v2',
    'client-confidential-asymmetric',
    'permission-patient',
    'permission-user',
  ]) {
    assert.ok(document.capabilities.includes(capability), capability);
  }
  assert.ok(document.scopes_supported.includes('system/*.rs'));
});
