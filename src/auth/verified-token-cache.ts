/**
 * A bounded cache of verified access tokens in front of `verifyAccessToken`: a client that sends
 * the same bearer token with every request (SMART on FHIR clients keep one until it expires) has
 * its EdDSA signature checked once, not on every request. Only a successful verification is kept,
 * keyed by the whole token string (so a different or altered token is verified afresh), and only
 * until the token's `exp`: a hit re-checks expiry against the current time, exactly as the
 * verifier would (a token's `nbf`, if any, was already passed when it verified, and stays
 * passed). `bench:fhir` measured the verification at about 3–4% of a node's time under
 * creates.
 */
import { AuthError, AuthErrorCode } from './errors.ts';

import type { VerifiedAccessToken } from './access-token.ts';

/** Verifies one token at a time (auth's `verifyAccessToken`, partly applied). */
export type AccessTokenVerifier = (
  token: string | null | undefined,
) => Promise<VerifiedAccessToken>;

/**
 * Wraps `verify` with a cache of at most `entriesMax` verified tokens. When it is full the oldest
 * entry is forgotten (forgetting only costs a later re-verification). `nowMs` is the clock.
 */
export function cachedTokenVerifier(options: {
  verify: AccessTokenVerifier;
  entriesMax: number;
  nowMs: () => number;
}): AccessTokenVerifier {
  const { verify, entriesMax, nowMs } = options;
  if (!Number.isSafeInteger(entriesMax) || entriesMax < 1) {
    throw new RangeError(`entriesMax: expected a positive integer, found ${entriesMax}`);
  }
  const verified = new Map<string, VerifiedAccessToken>();
  return async (token) => {
    if (typeof token === 'string') {
      const hit = verified.get(token);
      if (hit !== undefined) {
        if (nowMs() < hit.claims.exp * 1000) return hit;
        verified.delete(token);
        throw new AuthError(AuthErrorCode.tokenExpired, 'access token has expired; get a new one');
      }
    }
    const result = await verify(token);
    if (typeof token === 'string') {
      if (verified.size >= entriesMax) {
        const oldest = verified.keys().next();
        if (oldest.done !== true) verified.delete(oldest.value);
      }
      verified.set(token, result);
    }
    return result;
  };
}
