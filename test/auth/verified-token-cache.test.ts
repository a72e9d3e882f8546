// Checks the verified-token cache with real EdDSA tokens and a settable clock: a repeated token
// is verified once, an altered, expired or unknown token is still refused, and the bound holds.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  AuthError,
  AuthErrorCode,
  cachedTokenVerifier,
  issueUserToken,
  verifyAccessToken,
  type AccessTokenVerifier,
} from '../../src/auth/index.ts';
import { baseUrl, fhirBaseUrl, newSigner, now } from './helpers.ts';

const signer = await newSigner();

async function tokenFor(id: string): Promise<string> {
  const issued = await issueUserToken({
    signer,
    now,
    principal: { kind: 'practitioner', id },
    org: 'org1',
    scopes: 'user/Observation.rs',
    purposeOfUse: 'TREAT',
  });
  return issued.accessToken;
}

/** A cached verifier over the real one, counting the real verifications; `clock.ms` is "now". */
function countingVerifier(entriesMax: number): {
  verify: AccessTokenVerifier;
  calls: () => number;
  clock: { ms: number };
} {
  const clock = { ms: now };
  let calls = 0;
  const verify = cachedTokenVerifier({
    verify: (token) => {
      calls += 1;
      return verifyAccessToken(token, {
        keys: [signer.signingKey],
        issuer: baseUrl,
        audience: fhirBaseUrl,
        now: clock.ms,
      });
    },
    entriesMax,
    nowMs: () => clock.ms,
  });
  return { verify, calls: () => calls, clock };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AuthError, `expected an AuthError, found ${String(error)}`);
    return error.code;
  }
  assert.fail('expected a refusal');
}

test('a token sent again is answered from the cache with the same claims', async () => {
  const { verify, calls } = countingVerifier(8);
  const token = await tokenFor('dr-ada');
  const first = await verify(token);
  const second = await verify(token);
  assert.equal(calls(), 1);
  assert.deepEqual(second, first);
  assert.equal(second.claims.principal.id, 'dr-ada');
});

test('an altered token is verified afresh and refused, and does not disturb the cached one', async () => {
  const { verify, calls } = countingVerifier(8);
  const token = await tokenFor('dr-ada');
  await verify(token);
  const last = token.at(-2) === 'A' ? 'B' : 'A';
  const altered = `${token.slice(0, -2)}${last}${token.slice(-1)}`;
  assert.equal(await refusal(verify(altered)), AuthErrorCode.badSignature);
  assert.equal(calls(), 2);
  assert.equal((await verify(token)).claims.principal.id, 'dr-ada');
  assert.equal(calls(), 2);
});

test('a cached token is refused as expired once its exp has passed', async () => {
  const { verify, clock } = countingVerifier(8);
  const token = await tokenFor('dr-ada');
  const verified = await verify(token);
  clock.ms = verified.claims.exp * 1000 - 1;
  assert.equal((await verify(token)).claims.principal.id, 'dr-ada');
  clock.ms = verified.claims.exp * 1000;
  assert.equal(await refusal(verify(token)), AuthErrorCode.tokenExpired);
  // Forgotten, then refused again by the real verifier with the same code.
  assert.equal(await refusal(verify(token)), AuthErrorCode.tokenExpired);
});

test('a missing token and a refused token are never cached', async () => {
  const { verify, calls } = countingVerifier(8);
  assert.equal(await refusal(verify(null)), AuthErrorCode.tokenMissing);
  assert.equal(await refusal(verify('not.a.token')), AuthErrorCode.tokenMalformed);
  assert.equal(await refusal(verify('not.a.token')), AuthErrorCode.tokenMalformed);
  assert.equal(calls(), 3);
});

test('the cache holds at most entriesMax tokens, forgetting the oldest first', async () => {
  const { verify, calls } = countingVerifier(2);
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((id) => tokenFor(`dr-${id}`)));
  await verify(a);
  await verify(b);
  await verify(c); // forgets a
  assert.equal(calls(), 3);
  await verify(c);
  await verify(b);
  assert.equal(calls(), 3);
  await verify(a);
  assert.equal(calls(), 4);
});

test('a bound that is not a positive integer is refused', () => {
  for (const entriesMax of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () =>
        cachedTokenVerifier({
          verify: () => Promise.reject(new Error('unused')),
          entriesMax,
          nowMs: () => now,
        }),
      /entriesMax: expected a positive integer/,
    );
  }
});
