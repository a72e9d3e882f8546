/**
 * The `WWW-Authenticate` challenge of a refused bearer token (RFC 6750 §3): `Bearer realm=…`,
 * then `error` and `error_description` unless the request carried no token at all (§3.1), and
 * `scope` when more scope is needed.
 */
import type { AuthError } from './errors.ts';

// RFC 6750 §3: error_description and scope use %x20-21 / %x23-5B / %x5D-7E only.
const disallowed = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;

function quoted(text: string): string {
  return `"${text.replace(disallowed, ' ')}"`;
}

/** The header value for `error`, e.g. `Bearer realm="medledger", error="invalid_token", …`. */
export function wwwAuthenticate(error: AuthError, options: { realm: string }): string {
  const parts = [`Bearer realm=${quoted(options.realm)}`];
  if (error.oauthError !== null) {
    parts.push(`error=${quoted(error.oauthError)}`, `error_description=${quoted(error.message)}`);
    const scope = error.details['requiredScope'];
    if (typeof scope === 'string') parts.push(`scope=${quoted(scope)}`);
  }
  return parts.join(', ');
}

/**
 * The credentials of a `Bearer` `Authorization` header (RFC 6750 §2.1; the scheme is
 * case-insensitive), or null when the header is absent or uses another scheme. What follows the
 * scheme is returned as it is: `verifyAccessToken` refuses it if it is not a token.
 */
export function bearerTokenOf(authorization: string | undefined): string | null {
  if (authorization === undefined) return null;
  const match = /^Bearer(?: +(.*))?$/i.exec(authorization.trim());
  if (match === null) return null;
  return (match[1] ?? '').trim();
}
