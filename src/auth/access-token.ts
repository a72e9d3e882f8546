/**
 * Access tokens: JWTs (RFC 7519) signed by the node with EdDSA (RFC 8037), typed `at+jwt`
 * (RFC 9068 §2.1) so that no other JWT (a client assertion, an ID token) passes for one. Claims:
 * `iss` (the node's base URL), `aud` (the FHIR base URL), `sub`, `exp`, `iat`, `jti`, `scope`
 * (SMART v2) and MedLedger's `org`, `principal`, `fhirUser`, `patient`, `purpose_of_use`
 * (v3-ActReason) and `break_glass_reason`. Time comes in as `now` (milliseconds since 1970).
 */
import { randomUUID } from 'node:crypto';

import { SignJWT, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';

import { assert } from '../base/index.ts';
import { AuthError, AuthErrorCode } from './errors.ts';
import { authLimits } from './limits.ts';
import { formatScopes, parseScopes } from './scopes.ts';
import type { SmartScope } from './scopes.ts';
import { accessTokenAlgorithm } from './signing-key.ts';
import type { TokenSigningKey, TokenVerificationKey } from './signing-key.ts';

/** The JWT `typ` header of access tokens (RFC 9068 §2.1). */
export const accessTokenType = 'at+jwt';

/** Who a token speaks for. */
export type PrincipalKind = 'practitioner' | 'patient' | 'client';

/** The `principal` claim: a practitioner or patient (user tokens) or a client app (backend). */
export interface TokenPrincipal {
  readonly kind: PrincipalKind;
  readonly id: string;
}

/** Purposes of use (v3-ActReason) that mean break-glass (CONVENTIONS.md "Break-glass"). */
export const breakGlassPurposes = ['BTG', 'ETREAT'] as const;

/** `BTG` or `ETREAT`. */
export type BreakGlassPurpose = (typeof breakGlassPurposes)[number];

/** The claims of a MedLedger access token, as in the JWT. */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  /** Expiry, seconds since 1970 (RFC 7519 §4.1.4). */
  readonly exp: number;
  /** Issue time, seconds since 1970. */
  readonly iat: number;
  readonly jti: string;
  /** Granted SMART scopes, space-separated. */
  readonly scope: string;
  /** The organisation whose node issued the token and on whose behalf it acts. */
  readonly org: string;
  readonly principal: TokenPrincipal;
  /** The user's FHIR resource, e.g. `Practitioner/p-17` (SMART `fhirUser`). */
  readonly fhirUser?: string;
  /** The patient pseudonym `patient/` scopes are confined to (SMART launch context). */
  readonly patient?: string;
  /** v3-ActReason code, e.g. `TREAT`, `BTG`, `ETREAT`. */
  readonly purpose_of_use?: string;
  /** Why break-glass was used; present exactly when the purpose is `BTG` or `ETREAT`. */
  readonly break_glass_reason?: string;
}

/** A verified token: its claims and its scopes parsed. */
export interface VerifiedAccessToken {
  readonly claims: AccessTokenClaims;
  readonly scopes: readonly SmartScope[];
}

/** Who signs tokens and for which server: the node's key, base URL and FHIR base URL. */
export interface AccessTokenSigner {
  readonly signingKey: TokenSigningKey;
  /** `iss`: the node's base URL. */
  readonly issuer: string;
  /** `aud`: the FHIR base URL tokens are good for. */
  readonly audience: string;
}

/** A signed token and what the token endpoint answers with it (RFC 6749 §5.1). */
export interface IssuedAccessToken {
  readonly accessToken: string;
  readonly claims: AccessTokenClaims;
  /** Seconds until `exp`. */
  readonly expiresIn: number;
  readonly scope: string;
}

// Identifiers travel in claims and audit events: printable ASCII without spaces.
const identifierPattern = /^[\x21-\x7e]+$/;
const purposeOfUsePattern = /^[A-Z][A-Z0-9]{1,31}$/;
/** True when `text` holds a control character (C0, DEL or C1): none in a reason shown to people. */
function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

/** True for `BTG` and `ETREAT`. */
export function isBreakGlassPurpose(purpose: string | undefined): purpose is BreakGlassPurpose {
  return (breakGlassPurposes as readonly string[]).includes(purpose ?? '');
}

function isIdentifier(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length <= authLimits.identifierCharsMax &&
    identifierPattern.test(value)
  );
}

/**
 * The rules every token obeys, checked when issuing and again when verifying. Returns what is
 * wrong, or null.
 */
function problemWithClaims(
  claims: AccessTokenClaims,
  scopes: readonly SmartScope[],
): string | null {
  const { principal } = claims;
  for (const [name, value] of [
    ['sub', claims.sub],
    ['org', claims.org],
    ['principal.id', principal.id],
    ['jti', claims.jti],
  ] as const) {
    if (!isIdentifier(value)) {
      return `${name} must be 1 to ${authLimits.identifierCharsMax} printable ASCII characters`;
    }
  }
  if (claims.patient !== undefined && !isIdentifier(claims.patient)) {
    return `patient must be 1 to ${authLimits.identifierCharsMax} printable ASCII characters`;
  }
  if (claims.fhirUser !== undefined && !isIdentifier(claims.fhirUser)) {
    return `fhirUser must be 1 to ${authLimits.identifierCharsMax} printable ASCII characters`;
  }
  if (principal.kind === 'patient' && claims.patient !== undefined) {
    if (claims.patient !== principal.id) return 'a patient may hold a token for itself only';
  }
  for (const scope of scopes) {
    if (scope.kind !== 'resource') continue;
    if (scope.context === 'system' && principal.kind !== 'client') {
      return `system/ scopes are for client apps, not for a ${principal.kind}`;
    }
    if (scope.context === 'user' && principal.kind === 'client') {
      return 'user/ scopes need a user (practitioner or patient), not a client app';
    }
    if (scope.context === 'patient' && claims.patient === undefined) {
      return 'patient/ scopes need a patient in context';
    }
  }
  const purpose = claims.purpose_of_use;
  if (purpose !== undefined && !purposeOfUsePattern.test(purpose)) {
    return 'purpose of use must be a v3-ActReason code such as TREAT, BTG or ETREAT';
  }
  const reason = claims.break_glass_reason;
  if (isBreakGlassPurpose(purpose)) {
    if (principal.kind !== 'practitioner') {
      return `purpose of use ${purpose} (break-glass) is for practitioners, not for a ${principal.kind}`;
    }
    if (reason === undefined || reason.trim().length === 0) {
      return `purpose of use ${purpose} (break-glass) needs a reason`;
    }
    if (reason.length > authLimits.breakGlassReasonCharsMax) {
      return `break-glass reason has ${reason.length} characters; at most ${authLimits.breakGlassReasonCharsMax}`;
    }
    if (hasControlCharacter(reason)) {
      return 'break-glass reason must not contain control characters';
    }
  } else if (reason !== undefined) {
    return 'a break-glass reason needs purpose of use BTG or ETREAT';
  }
  return null;
}

/**
 * Signs an access token. Throws `AuthError` `invalid-token-request` when the token must not
 * exist: break-glass (BTG, ETREAT) without a reason or for anyone but a practitioner, `patient/`
 * scopes without a patient, `system/` scopes for a user or `user/` scopes for a client, a
 * lifetime over `authLimits.accessTokenLifetimeSecondsMax`, an identifier that is empty, too long
 * or not printable ASCII.
 */
export async function issueAccessToken(options: {
  signer: AccessTokenSigner;
  /** Milliseconds since 1970. */
  now: number;
  subject: string;
  principal: TokenPrincipal;
  org: string;
  scopes: readonly SmartScope[];
  fhirUser?: string;
  patient?: string;
  purposeOfUse?: string;
  breakGlassReason?: string;
  /** Defaults to `authLimits.accessTokenLifetimeSeconds`. */
  lifetimeSeconds?: number;
}): Promise<IssuedAccessToken> {
  const { signer, now, scopes } = options;
  const lifetimeSeconds = options.lifetimeSeconds ?? authLimits.accessTokenLifetimeSeconds;
  if (
    !Number.isSafeInteger(lifetimeSeconds) ||
    lifetimeSeconds < 1 ||
    lifetimeSeconds > authLimits.accessTokenLifetimeSecondsMax
  ) {
    throw new AuthError(
      AuthErrorCode.invalidTokenRequest,
      `token lifetime must be 1 to ${authLimits.accessTokenLifetimeSecondsMax} seconds, ` +
        `found ${lifetimeSeconds}`,
    );
  }
  if (scopes.length === 0 || scopes.length > authLimits.scopesPerTokenMax) {
    throw new AuthError(
      AuthErrorCode.invalidTokenRequest,
      `a token needs 1 to ${authLimits.scopesPerTokenMax} scopes, found ${scopes.length}`,
    );
  }
  const iat = Math.floor(now / 1000);
  const claims: AccessTokenClaims = {
    iss: signer.issuer,
    aud: signer.audience,
    sub: options.subject,
    exp: iat + lifetimeSeconds,
    iat,
    jti: randomUUID(),
    scope: formatScopes(scopes),
    org: options.org,
    principal: { kind: options.principal.kind, id: options.principal.id },
    ...(options.fhirUser === undefined ? {} : { fhirUser: options.fhirUser }),
    ...(options.patient === undefined ? {} : { patient: options.patient }),
    ...(options.purposeOfUse === undefined ? {} : { purpose_of_use: options.purposeOfUse }),
    ...(options.breakGlassReason === undefined
      ? {}
      : { break_glass_reason: options.breakGlassReason }),
  };
  const problem = problemWithClaims(claims, scopes);
  if (problem !== null) throw new AuthError(AuthErrorCode.invalidTokenRequest, problem);
  const accessToken = await new SignJWT({ ...claims })
    .setProtectedHeader({
      alg: accessTokenAlgorithm,
      kid: signer.signingKey.kid,
      typ: accessTokenType,
    })
    .sign(signer.signingKey.privateKey);
  return { accessToken, claims, expiresIn: lifetimeSeconds, scope: claims.scope };
}

/**
 * Signs a token for a person signed in through the demo sign-in or `medledger demo token`:
 * `sub` and `fhirUser` are `Practitioner/<id>` or `Patient/<id>`, and a patient's token is
 * confined to that patient. Same refusals as `issueAccessToken`, and a client principal is
 * refused (clients get tokens from the token endpoint).
 */
export async function issueUserToken(options: {
  signer: AccessTokenSigner;
  now: number;
  principal: TokenPrincipal;
  org: string;
  /** A scope string or parsed scopes. */
  scopes: string | readonly SmartScope[];
  patient?: string;
  purposeOfUse?: string;
  breakGlassReason?: string;
  lifetimeSeconds?: number;
}): Promise<IssuedAccessToken> {
  const { principal } = options;
  if (principal.kind === 'client') {
    throw new AuthError(
      AuthErrorCode.invalidTokenRequest,
      'a user token is for a practitioner or a patient; a client app uses the token endpoint',
    );
  }
  let scopes: readonly SmartScope[];
  try {
    scopes = typeof options.scopes === 'string' ? parseScopes(options.scopes) : options.scopes;
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    throw new AuthError(AuthErrorCode.invalidTokenRequest, error.message, error.details);
  }
  const fhirUser = `${principal.kind === 'practitioner' ? 'Practitioner' : 'Patient'}/${principal.id}`;
  const patient = options.patient ?? (principal.kind === 'patient' ? principal.id : undefined);
  return await issueAccessToken({
    signer: options.signer,
    now: options.now,
    subject: fhirUser,
    principal,
    org: options.org,
    scopes,
    fhirUser,
    ...(patient === undefined ? {} : { patient }),
    ...(options.purposeOfUse === undefined ? {} : { purposeOfUse: options.purposeOfUse }),
    ...(options.breakGlassReason === undefined
      ? {}
      : { breakGlassReason: options.breakGlassReason }),
    ...(options.lifetimeSeconds === undefined ? {} : { lifetimeSeconds: options.lifetimeSeconds }),
  });
}

function malformed(why: string): AuthError {
  return new AuthError(AuthErrorCode.tokenMalformed, `access token is malformed: ${why}`);
}

function optionalString(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw malformed(`claim ${name} must be a string`);
  return value;
}

function requiredString(payload: JWTPayload, name: string): string {
  const value = optionalString(payload, name);
  if (value === undefined) throw malformed(`claim ${name} is missing`);
  return value;
}

function requiredSeconds(payload: JWTPayload, name: string): number {
  const value = payload[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw malformed(`claim ${name} must be a whole number of seconds`);
  }
  return value;
}

/** Reads the claims of a token whose signature verified, refusing any of the wrong type. */
function claimsOf(payload: JWTPayload): AccessTokenClaims {
  const principal = payload['principal'];
  if (typeof principal !== 'object' || principal === null || Array.isArray(principal)) {
    throw malformed('claim principal must be an object');
  }
  const { kind, id } = principal as Record<string, unknown>;
  if (kind !== 'practitioner' && kind !== 'patient' && kind !== 'client') {
    throw malformed('principal.kind must be practitioner, patient or client');
  }
  if (typeof id !== 'string') throw malformed('principal.id must be a string');
  const fhirUser = optionalString(payload, 'fhirUser');
  const patient = optionalString(payload, 'patient');
  const purposeOfUse = optionalString(payload, 'purpose_of_use');
  const reason = optionalString(payload, 'break_glass_reason');
  return {
    iss: requiredString(payload, 'iss'),
    aud: requiredString(payload, 'aud'),
    sub: requiredString(payload, 'sub'),
    exp: requiredSeconds(payload, 'exp'),
    iat: requiredSeconds(payload, 'iat'),
    jti: requiredString(payload, 'jti'),
    scope: requiredString(payload, 'scope'),
    org: requiredString(payload, 'org'),
    principal: { kind, id },
    ...(fhirUser === undefined ? {} : { fhirUser }),
    ...(patient === undefined ? {} : { patient }),
    ...(purposeOfUse === undefined ? {} : { purpose_of_use: purposeOfUse }),
    ...(reason === undefined ? {} : { break_glass_reason: reason }),
  };
}

/** Maps jose's refusal to ours; the message names the check, never the token. */
function authErrorOfJose(error: unknown, options: { issuer: string; audience: string }): AuthError {
  if (error instanceof joseErrors.JWTExpired) {
    return new AuthError(AuthErrorCode.tokenExpired, 'access token has expired; get a new one');
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new AuthError(AuthErrorCode.badSignature, 'access token signature does not verify');
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') {
      return new AuthError(
        AuthErrorCode.wrongIssuer,
        `access token was not issued by this node (expected issuer ${options.issuer})`,
      );
    }
    if (error.claim === 'aud') {
      return new AuthError(
        AuthErrorCode.wrongAudience,
        `access token is not for this server (expected audience ${options.audience})`,
      );
    }
    return malformed(`claim ${error.claim} is missing or invalid`);
  }
  if (error instanceof joseErrors.JOSEError) return malformed(error.code);
  return malformed('not a JSON Web Token');
}

/**
 * Verifies a bearer token: compact JWS with `alg` EdDSA and `typ` at+jwt, a `kid` naming one of
 * `keys`, a good signature, `iss` and `aud` as given, not expired at `now` (no clock skew: the
 * same node issues and verifies), every claim of the right type, every scope valid, and the
 * token rules `issueAccessToken` enforces. Throws `AuthError`: `token-missing`,
 * `token-malformed`, `bad-signature`, `wrong-issuer`, `wrong-audience`, `token-expired`.
 */
export async function verifyAccessToken(
  token: string | null | undefined,
  options: {
    keys: readonly TokenVerificationKey[];
    issuer: string;
    audience: string;
    /** Milliseconds since 1970. */
    now: number;
  },
): Promise<VerifiedAccessToken> {
  if (token === undefined || token === null || token.length === 0) {
    throw new AuthError(AuthErrorCode.tokenMissing, 'no bearer token; sign in first');
  }
  if (token.length > authLimits.jwtCharsMax) {
    throw malformed(`${token.length} characters; at most ${authLimits.jwtCharsMax}`);
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw malformed('not a JSON Web Token');
  }
  if (header.alg !== accessTokenAlgorithm) {
    throw malformed(`algorithm must be ${accessTokenAlgorithm}`);
  }
  if (header.typ !== accessTokenType) throw malformed(`type must be ${accessTokenType}`);
  const key = options.keys.find((candidate) => candidate.kid === header.kid);
  if (key === undefined) {
    throw new AuthError(
      AuthErrorCode.badSignature,
      'access token is signed by a key this node does not hold',
    );
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key.publicKey, {
      algorithms: [accessTokenAlgorithm],
      typ: accessTokenType,
      issuer: options.issuer,
      audience: options.audience,
      currentDate: new Date(options.now),
      requiredClaims: ['iss', 'aud', 'sub', 'exp', 'iat', 'jti'],
    }));
  } catch (error) {
    throw authErrorOfJose(error, options);
  }
  const claims = claimsOf(payload);
  let scopes: SmartScope[];
  try {
    scopes = parseScopes(claims.scope);
  } catch {
    throw malformed('claim scope holds an invalid scope');
  }
  const problem = problemWithClaims(claims, scopes);
  if (problem !== null) throw malformed(problem);
  return { claims, scopes };
}

/** A break-glass use carried by a token: what the caller checks against the chain and audits. */
export interface BreakGlassRequest {
  readonly purposeOfUse: BreakGlassPurpose;
  readonly reason: string;
  readonly practitionerId: string;
  readonly org: string;
  /** The patient in context, or null when the token names none. */
  readonly patient: string | null;
}

/**
 * The break-glass request of a verified token, or null when its purpose of use is not BTG or
 * ETREAT. The caller still checks the `break-glass` role and the open grant on chain.
 */
export function breakGlassRequestOf(claims: AccessTokenClaims): BreakGlassRequest | null {
  const purpose = claims.purpose_of_use;
  if (!isBreakGlassPurpose(purpose)) return null;
  // Issuing and verifying both refuse a break-glass token without a reason or a practitioner, so
  // claims that break the rule were built by hand: a bug, not input.
  const reason = claims.break_glass_reason;
  assert(reason !== undefined, 'a break-glass token carries a reason');
  assert(claims.principal.kind === 'practitioner', "a break-glass token is a practitioner's");
  return {
    purposeOfUse: purpose,
    reason,
    practitionerId: claims.principal.id,
    org: claims.org,
    patient: claims.patient ?? null,
  };
}
