// Checks the backend-services token endpoint with real RS384, ES384 and EdDSA client keys and a
// fixed clock: good assertions get tokens; each bad request gets its RFC 6749 §5.2 error.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SignJWT, UnsecuredJWT, generateSecret } from 'jose';
import type { JWTPayload } from 'jose';

import {
  MemoryReplayCache,
  authLimits,
  handleTokenRequest,
  verifyAccessToken,
  type RegisteredClient,
  type TokenEndpointResponse,
} from '../../src/auth/index.ts';
import {
  assertionOf,
  baseUrl,
  fhirBaseUrl,
  formOf,
  newClientKey,
  newSigner,
  now,
  nowSeconds,
  optionsOf,
  tokenUrl,
} from './helpers.ts';

const signer = await newSigner();
const rsaKey = await newClientKey('RS384', 'rsa-1');
const ecKey = await newClientKey('ES384', 'ec-1');
const edKey = await newClientKey('EdDSA', 'ed-1');
const strangerKey = await newClientKey('ES384', 'ec-1'); // same kid as ecKey, another key

const labApp: RegisteredClient = {
  clientId: 'lab-app',
  orgId: 'org1',
  jwks: [rsaKey.publicJwk, ecKey.publicJwk, edKey.publicJwk],
  allowedScopes: ['system/Observation.cruds', 'system/Patient.rs', 'user/*.cruds', 'not a scope!'],
};
const clients = [labApp];

async function request(
  form: Record<string, unknown> | URLSearchParams,
  extra: { replayCache?: MemoryReplayCache; now?: number } = {},
): Promise<TokenEndpointResponse> {
  return await handleTokenRequest(form, optionsOf({ signer, clients, ...extra }));
}

function assertRefused(
  response: TokenEndpointResponse,
  expected: { status: number; error: string; description?: RegExp },
): void {
  assert.equal(response.status, expected.status, JSON.stringify(response.body));
  assert.ok('error' in response.body);
  assert.equal(response.body.error, expected.error);
  assert.match(response.body.error_description, expected.description ?? /./);
  assert.match(response.body.error_description, /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
  assert.equal(response.headers['cache-control'], 'no-store');
}

async function assertion(options: {
  claims?: JWTPayload;
  header?: Record<string, unknown>;
  jti?: string;
  key?: typeof rsaKey;
  clientId?: string;
}): Promise<string> {
  return await assertionOf({
    key: options.key ?? ecKey,
    clientId: options.clientId ?? 'lab-app',
    ...options,
  });
}

test('a good assertion signed with RS384, ES384 or EdDSA gets a bearer token', async () => {
  for (const key of [rsaKey, ecKey, edKey]) {
    const response = await request(formOf(await assertion({ key }), 'system/Observation.rs'));
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.ok('access_token' in response.body);
    assert.equal(response.body.token_type, 'bearer');
    assert.equal(response.body.expires_in, authLimits.accessTokenLifetimeSeconds);
    assert.equal(response.body.scope, 'system/Observation.rs');
    assert.deepEqual(response.headers, { 'cache-control': 'no-store', pragma: 'no-cache' });
    const { claims } = await verifyAccessToken(response.body.access_token, {
      keys: [signer.signingKey],
      issuer: baseUrl,
      audience: fhirBaseUrl,
      now,
    });
    assert.equal(claims.sub, 'lab-app');
    assert.deepEqual(claims.principal, { kind: 'client', id: 'lab-app' });
    assert.equal(claims.org, 'org1');
    assert.equal(claims.patient, undefined);
  }
});

test('granted scopes are the requested system/ scopes narrowed to the allowed ones', async () => {
  const response = await request(
    formOf(await assertion({}), 'system/*.rs system/Condition.r user/Observation.r openid'),
  );
  assert.equal(response.status, 200);
  assert.ok('scope' in response.body);
  assert.equal(response.body.scope, 'system/Observation.rs system/Patient.rs');
});

test('a URLSearchParams body works the same, and a repeated parameter is invalid_request', async () => {
  const params = new URLSearchParams(formOf(await assertion({}), 'system/Patient.r'));
  assert.equal((await request(params)).status, 200);
  const twice = new URLSearchParams(formOf(await assertion({}), 'system/Patient.r'));
  twice.append('scope', 'system/Observation.r');
  assertRefused(await request(twice), {
    status: 400,
    error: 'invalid_request',
    description: /more than once/,
  });
  const asArray = {
    ...formOf(await assertion({}), 'system/Patient.r'),
    grant_type: ['client_credentials', 'x'],
  };
  assertRefused(await request(asArray), { status: 400, error: 'invalid_request' });
});

test('grant type: missing is invalid_request, another is unsupported_grant_type', async () => {
  const form = formOf(await assertion({}), 'system/Patient.r');
  assertRefused(await request({ ...form, grant_type: undefined }), {
    status: 400,
    error: 'invalid_request',
  });
  for (const grantType of ['authorization_code', 'password', 'refresh_token', '']) {
    assertRefused(await request({ ...form, grant_type: grantType }), {
      status: 400,
      error: 'unsupported_grant_type',
    });
  }
});

test('no client authentication, or another assertion type, is invalid_client', async () => {
  const form = formOf(await assertion({}), 'system/Patient.r');
  assertRefused(await request({ ...form, client_assertion: undefined }), {
    status: 401,
    error: 'invalid_client',
  });
  assertRefused(
    await request({
      ...form,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
    }),
    {
      status: 401,
      error: 'invalid_client',
    },
  );
  assertRefused(await request({ ...form, client_assertion: 'garbage' }), {
    status: 401,
    error: 'invalid_client',
  });
});

test('a missing scope is invalid_request; a malformed or disallowed one invalid_scope', async () => {
  const form = (scope: string | undefined): Promise<TokenEndpointResponse> =>
    assertion({}).then((a) => request({ ...formOf(a, ''), scope }));
  assertRefused(await form(undefined), { status: 400, error: 'invalid_request' });
  assertRefused(await form(''), { status: 400, error: 'invalid_scope' });
  assertRefused(await form('system/Observation.rc'), { status: 400, error: 'invalid_scope' });
  assertRefused(await form('system/Condition.rs'), {
    status: 400,
    error: 'invalid_scope',
    description: /none of the requested scopes/,
  });
  assertRefused(await form('system/Patient.cud'), { status: 400, error: 'invalid_scope' });
  // user/ is allowed to the client but means nothing without a user.
  assertRefused(await form('user/Observation.rs'), { status: 400, error: 'invalid_scope' });
});

test('each bad assertion is invalid_client (401)', async () => {
  const cases: [string, Promise<string>, RegExp][] = [
    [
      'wrong aud',
      assertion({ claims: { aud: 'https://other.example/token' } }),
      /aud must be the token URL/,
    ],
    ['no aud', assertion({ claims: { aud: undefined } }), /aud/],
    ['iss is not sub', assertion({ claims: { sub: 'other-app' } }), /sub must equal iss/],
    ['unknown client', assertion({ clientId: 'ghost-app' }), /ghost-app is not registered/],
    ['unknown kid', assertion({ header: { kid: 'ec-9' } }), /no key with kid ec-9/],
    ['no kid', assertion({ header: { kid: undefined } }), /no kid/],
    ['bad signature', assertion({ key: strangerKey }), /signature does not verify/],
    [
      'alg of another key',
      assertion({ key: ecKey, header: { kid: 'rsa-1' } }),
      /not a public ES384 key/,
    ],
    [
      'exp too far',
      assertion({
        claims: {
          exp:
            nowSeconds +
            authLimits.clientAssertionLifetimeSecondsMax +
            authLimits.clockSkewSeconds +
            1,
        },
      }),
      /at most 300 seconds ahead/,
    ],
    [
      'exp past',
      assertion({ claims: { exp: nowSeconds - authLimits.clockSkewSeconds - 1 } }),
      /expired/,
    ],
    ['no exp', assertion({ claims: { exp: undefined } }), /exp/],
    ['no jti', assertion({ claims: { jti: undefined } }), /jti/],
    [
      'jti too long',
      assertion({ jti: 'j'.repeat(authLimits.identifierCharsMax + 1) }),
      /jti must be/,
    ],
    ['iat in the future', assertion({ claims: { iat: nowSeconds + 120 } }), /iat is in the future/],
    ['nbf in the future', assertion({ claims: { nbf: nowSeconds + 120 } }), /nbf/],
  ];
  for (const [name, pending, description] of cases) {
    const response = await request(formOf(await pending, 'system/Patient.r'));
    assertRefused(response, { status: 401, error: 'invalid_client', description });
    assert.ok(!('access_token' in response.body), name);
  }
});

test('exp at the bound is accepted (give or take the clock skew), one second more is not', async () => {
  const bound =
    nowSeconds + authLimits.clientAssertionLifetimeSecondsMax + authLimits.clockSkewSeconds;
  assert.equal(
    (await request(formOf(await assertion({ claims: { exp: bound } }), 'system/Patient.r'))).status,
    200,
  );
  assert.equal(
    (await request(formOf(await assertion({ claims: { exp: bound + 1 } }), 'system/Patient.r')))
      .status,
    401,
  );
});

test('alg none and HS256 assertions are invalid_client', async () => {
  const claims = {
    iss: 'lab-app',
    sub: 'lab-app',
    aud: tokenUrl,
    exp: nowSeconds + 60,
    jti: 'none-1',
  };
  const none = new UnsecuredJWT(claims).encode();
  assertRefused(await request(formOf(none, 'system/Patient.r')), {
    status: 401,
    error: 'invalid_client',
    description: /algorithm none is not accepted/,
  });
  const secret = await generateSecret('HS256');
  const hmac = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', kid: 'ec-1' })
    .sign(secret);
  assertRefused(await request(formOf(hmac, 'system/Patient.r')), {
    status: 401,
    error: 'invalid_client',
    description: /algorithm HS256 is not accepted/,
  });
});

test('a replayed jti is refused, even when the first request failed on scope', async () => {
  const replayCache = new MemoryReplayCache({ entriesMax: 100 });
  const signed = await assertion({ jti: 'once' });
  assert.equal((await request(formOf(signed, 'system/Patient.r'), { replayCache })).status, 200);
  assertRefused(await request(formOf(signed, 'system/Patient.r'), { replayCache }), {
    status: 401,
    error: 'invalid_client',
    description: /jti has been used before/,
  });
  // Another assertion reusing the jti is refused too.
  assertRefused(
    await request(formOf(await assertion({ jti: 'once', key: rsaKey }), 'system/Patient.r'), {
      replayCache,
    }),
    {
      status: 401,
      error: 'invalid_client',
    },
  );
  const scopeless = await assertion({ jti: 'twice' });
  assertRefused(await request(formOf(scopeless, 'system/Condition.r'), { replayCache }), {
    status: 400,
    error: 'invalid_scope',
  });
  assertRefused(await request(formOf(scopeless, 'system/Patient.r'), { replayCache }), {
    status: 401,
    error: 'invalid_client',
  });
  // The same jti from another client is not a replay.
  const otherClients = [labApp, { ...labApp, clientId: 'other-app' }];
  const fromOther = await assertionOf({ key: ecKey, clientId: 'other-app', jti: 'once' });
  const response = await handleTokenRequest(
    formOf(fromOther, 'system/Patient.r'),
    optionsOf({ signer, clients: otherClients, replayCache }),
  );
  assert.equal(response.status, 200);
});

test('a bad assertion does not use up its jti (only the client can fill the cache)', async () => {
  const replayCache = new MemoryReplayCache({ entriesMax: 100 });
  await request(formOf(await assertion({ jti: 'j1', key: strangerKey }), 'system/Patient.r'), {
    replayCache,
  });
  assert.equal(replayCache.size, 0);
  assert.equal(
    (await request(formOf(await assertion({ jti: 'j1' }), 'system/Patient.r'), { replayCache }))
      .status,
    200,
  );
  assert.equal(replayCache.size, 1);
});

test('a full replay cache refuses with 503 and retry-after until entries expire', async () => {
  const replayCache = new MemoryReplayCache({ entriesMax: 3 });
  for (const jti of ['a', 'b', 'c']) {
    assert.equal(
      (await request(formOf(await assertion({ jti }), 'system/Patient.r'), { replayCache })).status,
      200,
    );
  }
  const full = await request(formOf(await assertion({ jti: 'd' }), 'system/Patient.r'), {
    replayCache,
  });
  assertRefused(full, { status: 503, error: 'temporarily_unavailable' });
  // Entries live until exp (now + 240 s) plus the clock skew.
  assert.equal(full.headers['retry-after'], String(240 + authLimits.clockSkewSeconds));
  assert.equal(replayCache.size, 3);
  const later = now + (240 + authLimits.clockSkewSeconds) * 1000;
  const fresh = await assertionOf({
    key: ecKey,
    clientId: 'lab-app',
    jti: 'd',
    claims: { exp: later / 1000 + 60, iat: later / 1000 },
  });
  assert.equal(
    (await request(formOf(fresh, 'system/Patient.r'), { replayCache, now: later })).status,
    200,
  );
  assert.equal(replayCache.size, 1);
});
