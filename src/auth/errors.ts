/**
 * The auth folder's domain error (STYLE.md "Errors"). Each code carries the HTTP status it is
 * answered with, the FHIR IssueType of the OperationOutcome at the FHIR edge
 * (hl7.org/fhir/R4/valueset-issue-type.html), and the OAuth error code: RFC 6749 §5.2 at the
 * token endpoint, RFC 6750 §3.1 in `WWW-Authenticate` at the resource server.
 */
import { MedLedgerError } from '../base/index.ts';

/** Codes of `AuthError`; `authErrorInfo` maps each to its status, IssueType and OAuth error. */
export const AuthErrorCode = {
  /** No bearer token in the request (RFC 6750 §3.1: no error code in the challenge). */
  tokenMissing: 'token-missing',
  /** Not a compact JWS, not JSON, a claim of the wrong type, or an algorithm not accepted. */
  tokenMalformed: 'token-malformed',
  /** Signed by a key this node does not hold, or the signature does not verify. */
  badSignature: 'bad-signature',
  /** `iss` is not this node's base URL. */
  wrongIssuer: 'wrong-issuer',
  /** `aud` is not this FHIR server's base URL. */
  wrongAudience: 'wrong-audience',
  /** `exp` has passed. */
  tokenExpired: 'token-expired',
  /** The token is valid but names no scope that allows the interaction. */
  insufficientScope: 'insufficient-scope',
  /** A token was asked for that must not exist (break-glass without a reason, and the like). */
  invalidTokenRequest: 'invalid-token-request',
  /** Token endpoint: a parameter missing, repeated or malformed (RFC 6749 §5.2). */
  invalidRequest: 'invalid-request',
  /** Token endpoint: client authentication failed (RFC 6749 §5.2, RFC 7523 §3.2, SMART). */
  invalidClient: 'invalid-client',
  /** Token endpoint: the scope is malformed, or none of it is allowed to the client. */
  invalidScope: 'invalid-scope',
  /** Token endpoint: `grant_type` is not `client_credentials`. */
  unsupportedGrantType: 'unsupported-grant-type',
  /** Token endpoint: the `jti` replay cache is full of unexpired entries; retry later. */
  replayCacheFull: 'replay-cache-full',
} as const;

/** One of the `AuthErrorCode` values. */
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

/** FHIR R4 IssueType codes used by this folder. */
export type AuthIssueType = 'login' | 'expired' | 'forbidden' | 'invalid' | 'transient';

/** OAuth error codes: RFC 6749 §5.2, RFC 6750 §3.1, and RFC 6749 §4.1.2.1's `temporarily_unavailable`. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_scope'
  | 'unsupported_grant_type'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'temporarily_unavailable';

/** What an `AuthError` code means on the wire. */
export interface AuthErrorInfo {
  /** HTTP status (RFC 9110 §15). */
  readonly status: 400 | 401 | 403 | 503;
  /** FHIR IssueType of the OperationOutcome (CONVENTIONS.md: 401 login/expired, 403 forbidden). */
  readonly issueType: AuthIssueType;
  /** OAuth error code; null when the answer carries none (a request without a token). */
  readonly oauthError: OAuthErrorCode | null;
}

/** Status, IssueType and OAuth error of every code. */
export const authErrorInfo: Readonly<Record<AuthErrorCode, AuthErrorInfo>> = {
  'token-missing': { status: 401, issueType: 'login', oauthError: null },
  'token-malformed': { status: 401, issueType: 'login', oauthError: 'invalid_token' },
  'bad-signature': { status: 401, issueType: 'login', oauthError: 'invalid_token' },
  'wrong-issuer': { status: 401, issueType: 'login', oauthError: 'invalid_token' },
  'wrong-audience': { status: 401, issueType: 'login', oauthError: 'invalid_token' },
  'token-expired': { status: 401, issueType: 'expired', oauthError: 'invalid_token' },
  'insufficient-scope': { status: 403, issueType: 'forbidden', oauthError: 'insufficient_scope' },
  'invalid-token-request': { status: 400, issueType: 'invalid', oauthError: 'invalid_request' },
  'invalid-request': { status: 400, issueType: 'invalid', oauthError: 'invalid_request' },
  'invalid-client': { status: 401, issueType: 'login', oauthError: 'invalid_client' },
  'invalid-scope': { status: 400, issueType: 'invalid', oauthError: 'invalid_scope' },
  'unsupported-grant-type': {
    status: 400,
    issueType: 'invalid',
    oauthError: 'unsupported_grant_type',
  },
  'replay-cache-full': {
    status: 503,
    issueType: 'transient',
    oauthError: 'temporarily_unavailable',
  },
};

/**
 * A token or token request that is refused. The message says what was expected and what was
 * found, and never holds a token. `details.requiredScope` (insufficient scope) and
 * `details.retryAfterSeconds` (replay cache full) are set where they apply.
 */
export class AuthError extends MedLedgerError<AuthErrorCode> {
  /** HTTP status of the answer. */
  get status(): AuthErrorInfo['status'] {
    return authErrorInfo[this.code].status;
  }

  /** FHIR IssueType of the OperationOutcome. */
  get issueType(): AuthIssueType {
    return authErrorInfo[this.code].issueType;
  }

  /** OAuth error code of the answer, or null. */
  get oauthError(): OAuthErrorCode | null {
    return authErrorInfo[this.code].oauthError;
  }
}
