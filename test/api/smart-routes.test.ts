// Checks the SMART endpoints through fastify's inject: the discovery document, the JWK Set, and
// the token endpoint with a real ES384 client assertion (jose), a replay refused, form errors
// answered the OAuth way, and the issued token used on the FHIR API of the same server.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { pino } from 'pino';

import { apiLimits, buildApiServer } from '../../src/api/index.ts';
import {
  MemoryReplayCache,
  loadOrCreateTokenSigningKey,
  verifyAccessToken,
  type AccessTokenSigner,
  type RegisteredClient,
} from '../../src/auth/index.ts';
import { generateEd25519KeyPair } from '../../src/keys/index.ts';
import { MemoryFhirService } from './memory-fhir-service.ts';
import { MemoryNode } from './memory-node.ts';

const silent = pino({ level: 'silent' });
const baseUrl = 'https://ehr.example.test';
const fhirBase = `${baseUrl}/fhir`;
const tokenUrl = `${baseUrl}/auth/token`;
/** The server's clock and the assertions' times: fixed, so no test depends on the wall clock. */
const nowMs = Date.parse('2024-05-01T10:00:00.000Z');
const nowSeconds = Math.floor(nowMs / 1000);

const keyDirectory = mkdtempSync(join(tmpdir(), 'medledger-smart-routes-'));
after(() => rmSync(keyDirectory, { recursive: true, force: true }));
const signingKey = await loadOrCreateTokenSigningKey({ path: join(keyDirectory, 'token.key') });
const signer: AccessTokenSigner = { signingKey, issuer: baseUrl, audience: fhirBase };

const clientKeys = await generateKeyPair('ES384');
const client: RegisteredClient = {
  clientId: 'lab-backend',
  orgId: 'org-lab',
  jwks: [{ ...(await exportJWK(clientKeys.publicKey)), kid: 'lab-key-1', alg: 'ES384' }],
  allowedScopes: ['system/Observation.rs'],
};

function assertion(options: { jti?: string; audience?: string } = {}): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES384', kid: 'lab-key-1', typ: 'JWT' })
    .setIssuer(client.clientId)
    .setSubject(client.clientId)
    .setAudience(options.audience ?? tokenUrl)
    .setJti(options.jti ?? randomUUID())
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + 240)
    .sign(clientKeys.privateKey);
}

function tokenForm(clientAssertion: string, scope = 'system/Observation.rs'): string {
  return new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: clientAssertion,
    scope,
  }).toString();
}

async function setup() {
  const service = new MemoryFhirService();
  const app = await buildApiServer({
    node: new MemoryNode({ chainId: 'smart-test', keyPair: generateEd25519KeyPair() }),
    logger: silent,
    smart: {
      baseUrl,
      signer,
      verificationKeys: [signingKey],
      clients: { findClient: (id) => (id === client.clientId ? client : null) },
      replayCache: new MemoryReplayCache({ entriesMax: 16 }),
      now: () => nowMs,
    },
    fhir: {
      service,
      tokens: {
        verify: (token) =>
          verifyAccessToken(token, {
            keys: [signingKey],
            issuer: baseUrl,
            audience: fhirBase,
            now: nowMs,
          }),
      },
      realm: 'medledger-test',
      publicBaseUrl: fhirBase,
    },
  });
  const postToken = (payload: string, contentType = 'application/x-www-form-urlencoded') =>
    app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': contentType },
      payload,
    });
  return { app, service, postToken };
}

function assertOAuthError(
  response: { statusCode: number; headers: Record<string, unknown>; json(): unknown; body: string },
  status: number,
  error: string,
) {
  assert.equal(response.statusCode, status, response.body);
  assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(response.headers['cache-control'], 'no-store');
  const body = response.json() as { error: string; error_description: string };
  assert.equal(body.error, error);
  assert.equal(typeof body.error_description, 'string');
  assert.doesNotMatch(response.body, /eyJ/, 'no token or assertion echoed');
}

test('the SMART configuration is served at the root and below the FHIR base', async () => {
  const { app } = await setup();
  for (const url of ['/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration']) {
    const response = await app.inject({ method: 'GET', url });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
    const configuration = response.json<{
      issuer: string;
      token_endpoint: string;
      jwks_uri: string;
      token_endpoint_auth_methods_supported: string[];
      capabilities: string[];
    }>();
    assert.equal(configuration.issuer, baseUrl);
    assert.equal(configuration.token_endpoint, tokenUrl);
    assert.equal(configuration.jwks_uri, `${baseUrl}/auth/jwks`);
    assert.deepEqual(configuration.token_endpoint_auth_methods_supported, ['private_key_jwt']);
    assert.ok(configuration.capabilities.includes('permission-v2'));
    assert.ok(configuration.capabilities.includes('client-confidential-asymmetric'));
  }
  await app.close();
});

test('GET /auth/jwks publishes the public signing key only', async () => {
  const { app } = await setup();
  const response = await app.inject({ method: 'GET', url: '/auth/jwks' });
  assert.equal(response.statusCode, 200, response.body);
  const jwks = response.json<{ keys: Array<Record<string, string>> }>();
  assert.equal(jwks.keys.length, 1);
  const [key] = jwks.keys;
  assert.equal(key!['kty'], 'OKP');
  assert.equal(key!['crv'], 'Ed25519');
  assert.equal(key!['kid'], signingKey.kid);
  assert.equal(key!['d'], undefined, 'no private part');
  await app.close();
});

test('POST /auth/token: an ES384 assertion gets a token the FHIR API accepts; its replay is refused', async () => {
  const { app, service, postToken } = await setup();
  const signed = await assertion();
  const response = await postToken(tokenForm(signed, 'system/Observation.rs system/Patient.rs'));
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['cache-control'], 'no-store');
  assert.equal(response.headers['pragma'], 'no-cache');
  const body = response.json<{
    access_token: string;
    token_type: string;
    expires_in: number;
    scope: string;
  }>();
  assert.equal(body.token_type, 'bearer');
  assert.equal(body.scope, 'system/Observation.rs', 'narrowed to what the client is allowed');
  assert.ok(body.expires_in > 0);
  const verified = await verifyAccessToken(body.access_token, {
    keys: [signingKey],
    issuer: baseUrl,
    audience: fhirBase,
    now: nowMs,
  });
  assert.deepEqual(verified.claims.principal, { kind: 'client', id: client.clientId });

  const authorization = `Bearer ${body.access_token}`;
  const search = await app.inject({
    method: 'GET',
    url: '/fhir/Observation',
    headers: { authorization },
  });
  assert.equal(search.statusCode, 200, search.body);
  const write = await app.inject({
    method: 'POST',
    url: '/fhir/Observation',
    headers: { authorization, 'content-type': 'application/fhir+json' },
    payload: JSON.stringify({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Heart rate' },
    }),
  });
  assert.equal(write.statusCode, 403, 'system/Observation.rs cannot create');
  assert.equal(service.calls.length, 2);

  assertOAuthError(await postToken(tokenForm(signed)), 401, 'invalid_client');
  await app.close();
});

test('POST /auth/token refusals: wrong audience, grant type, media type, no body, too large', async () => {
  const { postToken, app } = await setup();
  assertOAuthError(
    await postToken(tokenForm(await assertion({ audience: `${baseUrl}/other` }))),
    401,
    'invalid_client',
  );
  assertOAuthError(
    await postToken(
      new URLSearchParams({ grant_type: 'authorization_code', code: 'x' }).toString(),
    ),
    400,
    'unsupported_grant_type',
  );
  assertOAuthError(
    await postToken(JSON.stringify({ grant_type: 'client_credentials' }), 'application/json'),
    400,
    'invalid_request',
  );
  const noBody = await app.inject({ method: 'POST', url: '/auth/token' });
  assertOAuthError(noBody, 400, 'invalid_request');
  const tooLarge = await postToken(`scope=${'a'.repeat(apiLimits.tokenBodyBytesMax)}`);
  assertOAuthError(tooLarge, 413, 'invalid_request');
  // A fresh assertion still works after all of that.
  assert.equal((await postToken(tokenForm(await assertion()))).statusCode, 200);
  await app.close();
});

test('a signer whose issuer is not the base URL is refused when the server is built', async () => {
  await assert.rejects(
    buildApiServer({
      node: new MemoryNode({ chainId: 'smart-bad', keyPair: generateEd25519KeyPair() }),
      logger: silent,
      smart: {
        baseUrl: 'https://elsewhere.example',
        signer,
        verificationKeys: [signingKey],
        clients: { findClient: () => null },
        replayCache: new MemoryReplayCache({ entriesMax: 1 }),
        now: () => nowMs,
      },
    }),
    /issuer .* must be the base URL/,
  );
});
