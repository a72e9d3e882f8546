/**
 * The token endpoint of SMART Backend Services (SMART App Launch v2, "Backend Services"):
 * `grant_type=client_credentials` with client authentication by a signed JWT (`private_key_jwt`,
 * RFC 7523 §2.2 and §3, RFC 7521 §4.2). No HTTP here: the caller passes the parsed
 * `application/x-www-form-urlencoded` body and sends back the status, headers and JSON body.
 */
import type { JWK, JWTPayload } from 'jose';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify } from 'jose';

import { assert } from '../base/index.ts';
import { issueAccessToken } from './access-token.ts';
import type { AccessTokenSigner } from './access-token.ts';
import { AuthError, AuthErrorCode } from './errors.ts';
import type { OAuthErrorCode } from './errors.ts';
import { authLimits } from './limits.ts';
import type { ReplayCache } from './replay-cache.ts';
import { formatScopes, grantScopes, parseScope, parseScopes } from './scopes.ts';
import type { SmartScope } from './scopes.ts';

/** The only `client_assertion_type` accepted (RFC 7523 §2.2). */
export const jwtBearerAssertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Algorithms a client may sign its assertion with: SMART's two, and EdDSA (RFC 8037). */
export const clientAssertionAlgorithms = ['RS384', 'ES384', 'EdDSA'] as const;

/** A client app registered with this node's organisation (on chain: `identity.register-client`). */
export interface RegisteredClient {
  readonly clientId: string;
  readonly orgId: string;
  /** The client's public keys (RFC 7517), each with a `kid`. */
  readonly jwks: readonly JWK[];
  /** SMART scopes the organisation allows the client, e.g. `system/Observation.rs`. */
  readonly allowedScopes: readonly string[];
}

/** Finds active registered clients; null for an unknown or deactivated client. */
export interface ClientRegistry {
  findClient(clientId: string): Promise<RegisteredClient | null> | RegisteredClient | null;
}

/** The success body (RFC 6749 §5.1, SMART Backend Services). */
export interface TokenResponseBody {
  readonly access_token: string;
  readonly token_type: 'bearer';
  readonly expires_in: number;
  readonly scope: string;
}

/** The error body (RFC 6749 §5.2). */
export interface TokenErrorBody {
  readonly error: OAuthErrorCode;
  readonly error_description: string;
}

/** What the HTTP layer sends back; `headers` always forbid caching (RFC 6749 §5.1). */
export type TokenEndpointResponse =
  | {
      readonly status: 200;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: TokenResponseBody;
    }
  | {
      readonly status: 400 | 401 | 503;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: TokenErrorBody;
      readonly error: AuthError;
    };

/** A parsed form body: one value per name; repeated names arrive as arrays and are refused. */
export type TokenRequestForm = URLSearchParams | Readonly<Record<string, unknown>>;

const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

// RFC 6749 §5.2: error_description uses %x20-21 / %x23-5B / %x5D-7E only.
const notDescribable = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;

function describable(message: string): string {
  return message.replace(notDescribable, '?');
}

/** A value from the request, quoted in a message: shortened, so a huge header stays out. */
function echo(value: unknown): string {
  const text = String(value);
  return text.length <= 64 ? text : `${text.slice(0, 64)}…`;
}

function fail(code: AuthErrorCode, message: string): AuthError {
  return new AuthError(code, message);
}

function invalidClient(why: string): AuthError {
  return fail(AuthErrorCode.invalidClient, `client authentication failed: ${why}`);
}

/** One form parameter: absent → undefined; repeated, not a string or too long → refused. */
function parameter(form: TokenRequestForm, name: string): string | undefined {
  let value: unknown;
  if (form instanceof URLSearchParams) {
    const all = form.getAll(name);
    value = all.length > 1 ? all : all[0];
  } else {
    value = Object.hasOwn(form, name) ? form[name] : undefined;
  }
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    throw fail(AuthErrorCode.invalidRequest, `parameter ${name} appears more than once`);
  }
  if (typeof value !== 'string') {
    throw fail(AuthErrorCode.invalidRequest, `parameter ${name} must be a string`);
  }
  if (value.length > authLimits.formValueCharsMax) {
    throw fail(
      AuthErrorCode.invalidRequest,
      `parameter ${name} has ${value.length} characters; at most ${authLimits.formValueCharsMax}`,
    );
  }
  return value;
}

function isAssertionAlgorithm(alg: unknown): alg is (typeof clientAssertionAlgorithms)[number] {
  return (clientAssertionAlgorithms as readonly unknown[]).includes(alg);
}

function joseRefusal(error: unknown, tokenUrl: string): AuthError {
  if (error instanceof joseErrors.JWTExpired) return invalidClient('client_assertion has expired');
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return invalidClient('client_assertion signature does not verify with the key its kid names');
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') {
      return invalidClient(`client_assertion aud must be the token URL ${tokenUrl}`);
    }
    return invalidClient(`client_assertion claim ${error.claim} is missing or invalid`);
  }
  if (error instanceof joseErrors.JOSEError)
    return invalidClient(`client_assertion: ${error.code}`);
  return invalidClient('client_assertion is not a signed JWT');
}

/**
 * Authenticates the client by its assertion (RFC 7523 §3, SMART Backend Services): `alg` one of
 * `clientAssertionAlgorithms`, a `kid` naming one of the client's keys, `iss` = `sub` = a
 * registered client id, `aud` = the token URL, `exp` in the future and at most
 * `clientAssertionLifetimeSecondsMax` ahead (give or take `clockSkewSeconds`), and a `jti` never
 * seen before. Every failure is `invalid_client`, as SMART Backend Services requires.
 */
async function authenticateClient(
  assertion: string,
  options: { clients: ClientRegistry; tokenUrl: string; now: number; replayCache: ReplayCache },
): Promise<RegisteredClient> {
  const { tokenUrl, now } = options;
  if (assertion.length > authLimits.jwtCharsMax) {
    throw invalidClient(`client_assertion is longer than ${authLimits.jwtCharsMax} characters`);
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  let unverified: JWTPayload;
  try {
    header = decodeProtectedHeader(assertion);
    unverified = decodeJwt(assertion);
  } catch {
    throw invalidClient('client_assertion is not a signed JWT');
  }
  const alg = header.alg;
  if (!isAssertionAlgorithm(alg)) {
    throw invalidClient(
      `client_assertion algorithm ${echo(alg)} is not accepted; use one of ` +
        clientAssertionAlgorithms.join(', '),
    );
  }
  const kid = header.kid;
  if (typeof kid !== 'string' || kid.length === 0) {
    throw invalidClient('client_assertion header has no kid');
  }
  const clientId = unverified.iss;
  if (
    typeof clientId !== 'string' ||
    clientId.length === 0 ||
    clientId.length > authLimits.identifierCharsMax
  ) {
    throw invalidClient('client_assertion iss must be the client id');
  }
  if (unverified.sub !== clientId) {
    throw invalidClient('client_assertion sub must equal iss (the client id)');
  }
  const client = await options.clients.findClient(clientId);
  if (client === null || client.clientId !== clientId) {
    throw invalidClient(`client ${echo(clientId)} is not registered with this node`);
  }
  const jwks = client.jwks.slice(0, authLimits.clientKeysMax);
  const jwk = jwks.find((candidate) => candidate.kid === kid);
  if (jwk === undefined) throw invalidClient(`client ${clientId} has no key with kid ${echo(kid)}`);
  if ((jwk.alg !== undefined && jwk.alg !== alg) || jwk.d !== undefined) {
    throw invalidClient(`key ${kid} of client ${clientId} is not a public ${alg} key`);
  }
  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK(jwk, alg);
  } catch {
    throw invalidClient(`key ${kid} of client ${clientId} cannot verify ${alg}`);
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(assertion, key, {
      algorithms: [alg],
      issuer: clientId,
      subject: clientId,
      audience: tokenUrl,
      currentDate: new Date(now),
      clockTolerance: authLimits.clockSkewSeconds,
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
    }));
  } catch (error) {
    throw joseRefusal(error, tokenUrl);
  }
  const nowSeconds = Math.floor(now / 1000);
  const exp = payload.exp;
  const latest =
    nowSeconds + authLimits.clientAssertionLifetimeSecondsMax + authLimits.clockSkewSeconds;
  if (typeof exp !== 'number' || exp > latest) {
    throw invalidClient(
      `client_assertion exp must be at most ${authLimits.clientAssertionLifetimeSecondsMax} ` +
        'seconds ahead',
    );
  }
  if (typeof payload.iat === 'number' && payload.iat > nowSeconds + authLimits.clockSkewSeconds) {
    throw invalidClient('client_assertion iat is in the future');
  }
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > authLimits.identifierCharsMax) {
    throw invalidClient(
      `client_assertion jti must be 1 to ${authLimits.identifierCharsMax} characters`,
    );
  }
  // Checked after the signature, so nobody but the client can fill the cache with its jtis.
  const check = options.replayCache.remember({
    key: JSON.stringify([clientId, jti]),
    expiresAtMs: (exp + authLimits.clockSkewSeconds) * 1000,
    nowMs: now,
  });
  switch (check.outcome) {
    case 'fresh':
      return client;
    case 'replayed':
      throw invalidClient('client_assertion jti has been used before');
    case 'full':
      throw new AuthError(
        AuthErrorCode.replayCacheFull,
        'too many client assertions are in flight; retry later',
        { retryAfterSeconds: Math.ceil(check.retryAfterMs / 1000) },
      );
  }
}

/** The allowed scopes a client-credentials token can hold: `system/` resource scopes. */
function systemScopes(scopes: readonly SmartScope[]): SmartScope[] {
  return scopes.filter((scope) => scope.kind === 'resource' && scope.context === 'system');
}

function parsedAllowedScopes(allowed: readonly string[]): SmartScope[] {
  const scopes: SmartScope[] = [];
  // A scope registered on chain that this build cannot parse grants nothing.
  for (const text of allowed) {
    try {
      scopes.push(parseScope(text));
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
    }
  }
  return scopes;
}

async function tokenResponse(
  form: TokenRequestForm,
  options: TokenRequestOptions,
): Promise<TokenResponseBody> {
  const grantType = parameter(form, 'grant_type');
  if (grantType === undefined) throw fail(AuthErrorCode.invalidRequest, 'grant_type is missing');
  if (grantType !== 'client_credentials') {
    throw fail(
      AuthErrorCode.unsupportedGrantType,
      'grant_type must be client_credentials (SMART Backend Services)',
    );
  }
  const assertionType = parameter(form, 'client_assertion_type');
  const assertion = parameter(form, 'client_assertion');
  if (assertionType === undefined || assertion === undefined) {
    throw invalidClient('client_assertion_type and client_assertion are required');
  }
  if (assertionType !== jwtBearerAssertionType) {
    throw invalidClient(`client_assertion_type must be ${jwtBearerAssertionType}`);
  }
  const scopeText = parameter(form, 'scope');
  if (scopeText === undefined) throw fail(AuthErrorCode.invalidRequest, 'scope is missing');
  const client = await authenticateClient(assertion, options);
  const requested = parseScopes(scopeText);
  const granted = grantScopes({
    requested: systemScopes(requested),
    allowed: systemScopes(parsedAllowedScopes(client.allowedScopes)),
  });
  if (granted.length === 0) {
    throw fail(
      AuthErrorCode.invalidScope,
      `none of the requested scopes is allowed to client ${client.clientId} ` +
        '(backend services get system/ scopes only)',
    );
  }
  if (granted.length > authLimits.scopesPerTokenMax) {
    throw fail(
      AuthErrorCode.invalidScope,
      `the grant would hold ${granted.length} scopes; at most ${authLimits.scopesPerTokenMax}`,
    );
  }
  const issued = await issueAccessToken({
    signer: options.signer,
    now: options.now,
    subject: client.clientId,
    principal: { kind: 'client', id: client.clientId },
    org: client.orgId,
    scopes: granted,
  });
  return {
    access_token: issued.accessToken,
    token_type: 'bearer',
    expires_in: issued.expiresIn,
    scope: formatScopes(granted),
  };
}

/** What the token endpoint needs besides the form. */
export interface TokenRequestOptions {
  readonly clients: ClientRegistry;
  /** Milliseconds since 1970. */
  readonly now: number;
  /** This endpoint's URL: the `aud` every client assertion must carry. */
  readonly tokenUrl: string;
  readonly replayCache: ReplayCache;
  readonly signer: AccessTokenSigner;
}

/**
 * Answers a token request. Success: 200 with `{ access_token, token_type: 'bearer', expires_in,
 * scope }`, the scope being the requested `system/` scopes narrowed to the client's allowed ones.
 * Refusals (RFC 6749 §5.2): `unsupported_grant_type` and `invalid_request` (400),
 * `invalid_client` (401) for every failure of client authentication, `invalid_scope` (400), and
 * 503 `temporarily_unavailable` with `retry-after` when the replay cache is full. Errors other
 * than `AuthError` are bugs and are thrown.
 */
export async function handleTokenRequest(
  form: TokenRequestForm,
  options: TokenRequestOptions,
): Promise<TokenEndpointResponse> {
  try {
    return { status: 200, headers: noStore, body: await tokenResponse(form, options) };
  } catch (error) {
    if (!(error instanceof AuthError) || error.oauthError === null) throw error;
    const retryAfter = error.details['retryAfterSeconds'];
    const status = error.status;
    assert(status !== 403, 'the token endpoint raises no scope-of-request refusal');
    return {
      status,
      headers:
        typeof retryAfter === 'number'
          ? { ...noStore, 'retry-after': String(retryAfter) }
          : noStore,
      body: { error: error.oauthError, error_description: describable(error.message) },
      error,
    };
  }
}
