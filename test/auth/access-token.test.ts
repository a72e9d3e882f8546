// Checks access tokens with real EdDSA keys and a fixed clock: issue and verify, each refusal
// with its code (expired, wrong iss/aud, tampered, other key, alg none), break-glass rules,
// the scope step of a request, and the WWW-Authenticate challenge.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SignJWT, decodeJwt, decodeProtectedHeader, generateSecret } from 'jose';

import {
  AuthError,
  AuthErrorCode,
  authLimits,
  authorizeInteraction,
  bearerTokenOf,
  breakGlassRequestOf,
  issueAccessToken,
  issueUserToken,
  parseScopes,
  tokenSigningKeyOf,
  verifyAccessToken,
  wwwAuthenticate,
  type AccessTokenSigner,
} from '../../src/auth/index.ts';
import { generateEd25519KeyPair } from '../../src/keys/index.ts';
import { baseUrl, fhirBaseUrl, newSigner, now, nowSeconds, unsecuredJwt } from './helpers.ts';

const signer = await newSigner();
const verifyOptions = { keys: [signer.signingKey], issuer: baseUrl, audience: fhirBaseUrl, now };

async function practitionerToken(extra: { signer?: AccessTokenSigner } = {}): Promise<string> {
  const issued = await issueUserToken({
    signer: extra.signer ?? signer,
    now,
    principal: { kind: 'practitioner', id: 'dr-ada' },
    org: 'org1',
    scopes: 'user/Observation.rs patient/*.r',
    patient: 'pt-7',
    purposeOfUse: 'TREAT',
  });
  return issued.accessToken;
}

async function refusal(token: string | undefined, options = verifyOptions): Promise<AuthError> {
  try {
    await verifyAccessToken(token, options);
  } catch (error) {
    assert.ok(error instanceof AuthError, String(error));
    return error;
  }
  assert.fail('the token was accepted');
}

test('a user token verifies with its claims and parsed scopes', async () => {
  const issued = await issueUserToken({
    signer,
    now,
    principal: { kind: 'practitioner', id: 'dr-ada' },
    org: 'org1',
    scopes: 'user/Observation.rs patient/*.r',
    patient: 'pt-7',
    purposeOfUse: 'TREAT',
  });
  assert.equal(issued.expiresIn, authLimits.accessTokenLifetimeSeconds);
  assert.equal(issued.scope, 'user/Observation.rs patient/*.r');
  const header = decodeProtectedHeader(issued.accessToken);
  assert.deepEqual(header, { alg: 'EdDSA', kid: signer.signingKey.kid, typ: 'at+jwt' });
  const verified = await verifyAccessToken(issued.accessToken, verifyOptions);
  const { claims } = verified;
  assert.equal(claims.iss, baseUrl);
  assert.equal(claims.aud, fhirBaseUrl);
  assert.equal(claims.sub, 'Practitioner/dr-ada');
  assert.equal(claims.fhirUser, 'Practitioner/dr-ada');
  assert.equal(claims.iat, nowSeconds);
  assert.equal(claims.exp, nowSeconds + authLimits.accessTokenLifetimeSeconds);
  assert.match(claims.jti, /^[0-9a-f-]{36}$/);
  assert.deepEqual(claims.principal, { kind: 'practitioner', id: 'dr-ada' });
  assert.equal(claims.org, 'org1');
  assert.equal(claims.patient, 'pt-7');
  assert.equal(claims.purpose_of_use, 'TREAT');
  assert.equal(claims.break_glass_reason, undefined);
  assert.deepEqual(claims, issued.claims);
  assert.equal(verified.scopes.length, 2);
  assert.equal(breakGlassRequestOf(claims), null);
});

test('each token gets its own jti', async () => {
  const a = decodeJwt(await practitionerToken());
  const b = decodeJwt(await practitionerToken());
  assert.notEqual(a.jti, b.jti);
});

test('a patient token is confined to that patient', async () => {
  const issued = await issueUserToken({
    signer,
    now,
    principal: { kind: 'patient', id: 'pt-7' },
    org: 'org1',
    scopes: 'patient/*.rs',
  });
  const { claims } = await verifyAccessToken(issued.accessToken, verifyOptions);
  assert.equal(claims.patient, 'pt-7');
  assert.equal(claims.fhirUser, 'Patient/pt-7');
  await assert.rejects(
    issueUserToken({
      signer,
      now,
      principal: { kind: 'patient', id: 'pt-7' },
      org: 'org1',
      scopes: 'patient/*.rs',
      patient: 'pt-8',
    }),
    { code: AuthErrorCode.invalidTokenRequest, message: /for itself only/ },
  );
});

test('expires at exp: valid one second before, expired (401 expired) at it', async () => {
  const token = await practitionerToken();
  const exp = nowSeconds + authLimits.accessTokenLifetimeSeconds;
  await verifyAccessToken(token, { ...verifyOptions, now: exp * 1000 - 1000 });
  const error = await refusal(token, { ...verifyOptions, now: exp * 1000 });
  assert.equal(error.code, AuthErrorCode.tokenExpired);
  assert.equal(error.status, 401);
  assert.equal(error.issueType, 'expired');
  assert.equal(error.oauthError, 'invalid_token');
});

test('a missing token is 401 login, and its challenge carries no error code', async () => {
  for (const token of [undefined, '']) {
    const error = await refusal(token);
    assert.equal(error.code, AuthErrorCode.tokenMissing);
    assert.equal(error.status, 401);
    assert.equal(error.issueType, 'login');
    assert.equal(wwwAuthenticate(error, { realm: 'medledger' }), 'Bearer realm="medledger"');
  }
});

test('wrong audience and wrong issuer are refused', async () => {
  const token = await practitionerToken();
  const audience = await refusal(token, {
    ...verifyOptions,
    audience: 'https://other.example/fhir',
  });
  assert.equal(audience.code, AuthErrorCode.wrongAudience);
  assert.equal(audience.issueType, 'login');
  const issuer = await refusal(token, { ...verifyOptions, issuer: 'https://other.example' });
  assert.equal(issuer.code, AuthErrorCode.wrongIssuer);
  assert.equal(issuer.status, 401);
});

test('a tampered token is refused: payload, header or signature changed', async () => {
  const token = await practitionerToken();
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
  const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'user/*.cruds' })).toString(
    'base64url',
  );
  assert.equal(
    (await refusal(`${header}.${widened}.${signature}`)).code,
    AuthErrorCode.badSignature,
  );
  const flipped =
    signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
  assert.equal((await refusal(`${header}.${payload}.${flipped}`)).code, AuthErrorCode.badSignature);
  assert.equal((await refusal(`${header}.${payload}`)).code, AuthErrorCode.tokenMalformed);
  assert.equal((await refusal('not-a-token')).code, AuthErrorCode.tokenMalformed);
  assert.equal(
    (await refusal('a'.repeat(authLimits.jwtCharsMax + 1))).code,
    AuthErrorCode.tokenMalformed,
  );
});

test('a token signed by another key is refused, whatever kid it names', async () => {
  const other = await newSigner();
  const foreign = await practitionerToken({ signer: other });
  assert.equal((await refusal(foreign)).code, AuthErrorCode.badSignature);
  // Another key claiming this node's kid: the signature does not verify.
  const impostor: AccessTokenSigner = {
    ...other,
    signingKey: { ...other.signingKey, kid: signer.signingKey.kid },
  };
  assert.equal(
    (await refusal(await practitionerToken({ signer: impostor }))).code,
    AuthErrorCode.badSignature,
  );
  // After a rotation both keys verify while both are listed.
  await verifyAccessToken(foreign, {
    ...verifyOptions,
    keys: [signer.signingKey, other.signingKey],
  });
});

test('alg none and HS256 are refused', async () => {
  const { claims } = await verifyAccessToken(await practitionerToken(), verifyOptions);
  const none = unsecuredJwt(
    { alg: 'none', typ: 'at+jwt', kid: signer.signingKey.kid },
    { ...claims },
  );
  const noneError = await refusal(none);
  assert.equal(noneError.code, AuthErrorCode.tokenMalformed);
  assert.equal(noneError.status, 401);
  const secret = await generateSecret('HS256');
  const hmac = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: signer.signingKey.kid })
    .sign(secret);
  assert.equal((await refusal(hmac)).code, AuthErrorCode.tokenMalformed);
});

test('a JWT of another type (a client assertion, an ID token) is refused', async () => {
  const { claims } = await verifyAccessToken(await practitionerToken(), verifyOptions);
  for (const typ of [undefined, 'JWT']) {
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid: signer.signingKey.kid, ...(typ ? { typ } : {}) })
      .sign(signer.signingKey.privateKey);
    assert.equal((await refusal(token)).code, AuthErrorCode.tokenMalformed);
  }
});

test('a correctly signed token with claims of the wrong shape is refused as malformed', async () => {
  const { claims } = await verifyAccessToken(await practitionerToken(), verifyOptions);
  const sign = (payload: Record<string, unknown>): Promise<string> =>
    new SignJWT(payload)
      .setProtectedHeader({ alg: 'EdDSA', kid: signer.signingKey.kid, typ: 'at+jwt' })
      .sign(signer.signingKey.privateKey);
  const good = await sign({ ...claims });
  await verifyAccessToken(good, verifyOptions);
  const cases: Record<string, unknown>[] = [
    { ...claims, principal: { kind: 'admin', id: 'x' } },
    { ...claims, principal: 'dr-ada' },
    { ...claims, org: 7 },
    { ...claims, scope: 'user/Observation.rc' },
    { ...claims, purpose_of_use: 'BTG' }, // break-glass without a reason
    { ...claims, break_glass_reason: 'why not' }, // a reason without break-glass
    { ...claims, jti: undefined },
    { ...claims, aud: [fhirBaseUrl, 'https://other.example'] },
  ];
  for (const payload of cases) {
    const error = await refusal(await sign(payload));
    assert.equal(error.code, AuthErrorCode.tokenMalformed, JSON.stringify(payload));
  }
});

test('break-glass needs a practitioner and a bounded reason, and is exposed to the caller', async () => {
  const base = {
    signer,
    now,
    org: 'org1',
    scopes: 'patient/*.r',
    patient: 'pt-7',
  } as const;
  const issued = await issueUserToken({
    ...base,
    principal: { kind: 'practitioner', id: 'dr-ada' },
    purposeOfUse: 'BTG',
    breakGlassReason: 'unconscious patient in the emergency room',
  });
  const { claims } = await verifyAccessToken(issued.accessToken, verifyOptions);
  assert.deepEqual(breakGlassRequestOf(claims), {
    purposeOfUse: 'BTG',
    reason: 'unconscious patient in the emergency room',
    practitionerId: 'dr-ada',
    org: 'org1',
    patient: 'pt-7',
  });
  const refusals: [Record<string, unknown>, RegExp][] = [
    [{ purposeOfUse: 'BTG' }, /needs a reason/],
    [{ purposeOfUse: 'ETREAT', breakGlassReason: '   ' }, /needs a reason/],
    [
      {
        purposeOfUse: 'BTG',
        breakGlassReason: 'x'.repeat(authLimits.breakGlassReasonCharsMax + 1),
      },
      /at most 500/,
    ],
    [{ purposeOfUse: 'BTG', breakGlassReason: 'line\nbreak' }, /control characters/],
    [{ purposeOfUse: 'TREAT', breakGlassReason: 'because' }, /needs purpose of use BTG or ETREAT/],
    [{ purposeOfUse: 'treat' }, /v3-ActReason/],
  ];
  for (const [extra, message] of refusals) {
    await assert.rejects(
      issueUserToken({ ...base, principal: { kind: 'practitioner', id: 'dr-ada' }, ...extra }),
      { code: AuthErrorCode.invalidTokenRequest, message },
      JSON.stringify(extra),
    );
  }
  await assert.rejects(
    issueUserToken({
      ...base,
      principal: { kind: 'patient', id: 'pt-7' },
      purposeOfUse: 'ETREAT',
      breakGlassReason: 'emergency',
    }),
    { code: AuthErrorCode.invalidTokenRequest, message: /for practitioners/ },
  );
  // The longest reason allowed is accepted.
  await issueUserToken({
    ...base,
    principal: { kind: 'practitioner', id: 'dr-ada' },
    purposeOfUse: 'ETREAT',
    breakGlassReason: 'x'.repeat(authLimits.breakGlassReasonCharsMax),
  });
});

test('scope contexts must suit the principal, and lifetimes are bounded', async () => {
  const practitioner = { kind: 'practitioner', id: 'dr-ada' } as const;
  await assert.rejects(
    issueUserToken({ signer, now, principal: practitioner, org: 'org1', scopes: 'patient/*.r' }),
    { code: AuthErrorCode.invalidTokenRequest, message: /need a patient in context/ },
  );
  await assert.rejects(
    issueUserToken({ signer, now, principal: practitioner, org: 'org1', scopes: 'system/*.r' }),
    { code: AuthErrorCode.invalidTokenRequest, message: /for client apps/ },
  );
  await assert.rejects(
    issueUserToken({
      signer,
      now,
      principal: { kind: 'client', id: 'app' },
      org: 'org1',
      scopes: 'system/*.r',
    }),
    { code: AuthErrorCode.invalidTokenRequest },
  );
  await assert.rejects(
    issueAccessToken({
      signer,
      now,
      subject: 'app',
      principal: { kind: 'client', id: 'app' },
      org: 'org1',
      scopes: parseScopes('user/*.r'),
    }),
    { code: AuthErrorCode.invalidTokenRequest, message: /need a user/ },
  );
  await assert.rejects(
    issueUserToken({
      signer,
      now,
      principal: practitioner,
      org: 'org1',
      scopes: 'user/*.r',
      lifetimeSeconds: authLimits.accessTokenLifetimeSecondsMax + 1,
    }),
    { code: AuthErrorCode.invalidTokenRequest, message: /lifetime/ },
  );
  await assert.rejects(
    issueUserToken({
      signer,
      now,
      principal: { kind: 'practitioner', id: 'dr ada' },
      org: 'org1',
      scopes: 'user/*.r',
    }),
    { code: AuthErrorCode.invalidTokenRequest, message: /printable ASCII/ },
  );
  await assert.rejects(
    issueUserToken({ signer, now, principal: practitioner, org: 'org1', scopes: 'user/*.rc' }),
    { code: AuthErrorCode.invalidTokenRequest, message: /not valid/ },
  );
});

test('authorizeInteraction: letter, type, and patient/ scopes only for the token patient', async () => {
  const issued = await issueUserToken({
    signer,
    now,
    principal: { kind: 'practitioner', id: 'dr-ada' },
    org: 'org1',
    scopes: 'patient/Observation.rs user/Patient.r',
    patient: 'pt-7',
  });
  const token = await verifyAccessToken(issued.accessToken, verifyOptions);
  const grant = authorizeInteraction(token, {
    resourceType: 'Observation',
    interaction: 'read',
    patient: 'pt-7',
  });
  assert.equal(grant.context, 'patient');
  const userGrant = authorizeInteraction(token, {
    resourceType: 'Patient',
    interaction: 'read',
    patient: 'pt-8',
  });
  assert.equal(userGrant.context, 'user');
  for (const request of [
    { resourceType: 'Observation', interaction: 'read', patient: 'pt-8' }, // another patient
    { resourceType: 'Observation', interaction: 'search', patient: null }, // not confined
    { resourceType: 'Observation', interaction: 'update', patient: 'pt-7' }, // letter not named
    { resourceType: 'Condition', interaction: 'read', patient: 'pt-7' }, // type not named
  ] as const) {
    let caught: unknown;
    try {
      authorizeInteraction(token, request);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof AuthError, JSON.stringify(request));
    assert.equal(caught.code, AuthErrorCode.insufficientScope);
    assert.equal(caught.status, 403);
    assert.equal(caught.issueType, 'forbidden');
  }
});

test('a client token allows through system/ scopes only', async () => {
  const issued = await issueAccessToken({
    signer,
    now,
    subject: 'lab-app',
    principal: { kind: 'client', id: 'lab-app' },
    org: 'org1',
    scopes: parseScopes('system/Observation.cr'),
  });
  const token = await verifyAccessToken(issued.accessToken, verifyOptions);
  assert.equal(
    authorizeInteraction(token, {
      resourceType: 'Observation',
      interaction: 'create',
      patient: null,
    }).context,
    'system',
  );
  assert.throws(
    () =>
      authorizeInteraction(token, {
        resourceType: 'Observation',
        interaction: 'search',
        patient: null,
      }),
    { code: AuthErrorCode.insufficientScope, message: /needs scope system\/Observation\.s/ },
  );
});

test('WWW-Authenticate follows RFC 6750 §3, with the scope needed and safe characters only', () => {
  const expired = new AuthError(AuthErrorCode.tokenExpired, 'access token has expired');
  assert.equal(
    wwwAuthenticate(expired, { realm: 'medledger' }),
    'Bearer realm="medledger", error="invalid_token", error_description="access token has expired"',
  );
  const scope = new AuthError(AuthErrorCode.insufficientScope, 'needs "more" \\ scope', {
    requiredScope: 'patient/Observation.r user/Observation.r',
  });
  assert.equal(
    wwwAuthenticate(scope, { realm: 'med"ledger' }),
    'Bearer realm="med ledger", error="insufficient_scope", error_description="needs  more    scope", ' +
      'scope="patient/Observation.r user/Observation.r"',
  );
});

test('bearerTokenOf reads the Bearer scheme only', () => {
  assert.equal(bearerTokenOf(undefined), null);
  assert.equal(bearerTokenOf('Basic dXNlcjpwYXNz'), null);
  assert.equal(bearerTokenOf('Bearer abc.def.ghi'), 'abc.def.ghi');
  assert.equal(bearerTokenOf('bearer   abc.def.ghi '), 'abc.def.ghi');
  assert.equal(bearerTokenOf('Bearer'), '');
  assert.equal(bearerTokenOf('Bearerabc'), null);
});

test('a signing key built twice from one key pair has one kid', async () => {
  const keyPair = generateEd25519KeyPair();
  const a = await tokenSigningKeyOf(keyPair);
  const b = await tokenSigningKeyOf(keyPair);
  assert.equal(a.kid, b.kid);
  assert.notEqual(a.kid, (await tokenSigningKeyOf(generateEd25519KeyPair())).kid);
});
