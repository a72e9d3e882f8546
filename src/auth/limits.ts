/** Every tunable number of SMART on FHIR authorisation, named with its unit (STYLE.md "Limits"). */
export const authLimits = {
  /** Lifetime of an access token this node issues, in seconds (short: there is no revocation). */
  accessTokenLifetimeSeconds: 15 * 60,
  /** Longest lifetime a caller may ask for, in seconds. */
  accessTokenLifetimeSecondsMax: 60 * 60,
  /** Longest time a client assertion may live ahead of now, in seconds (SMART Backend Services). */
  clientAssertionLifetimeSecondsMax: 5 * 60,
  /** Clock difference tolerated between a client and this node, in seconds. */
  clockSkewSeconds: 30,
  /** Most `jti`s remembered by the replay cache at once. */
  replayCacheEntriesMax: 10_000,
  /** Longest access token or client assertion accepted, in characters. */
  jwtCharsMax: 8 * 1024,
  /** Longest `jti`, client id or other identifier claim, in characters. */
  identifierCharsMax: 256,
  /** Longest single scope, in characters (contracts' `scopeBytesMax` is 128 bytes). */
  scopeCharsMax: 256,
  /** Most scopes in one request or token. */
  scopesPerTokenMax: 64,
  /** Longest `scope` parameter or claim, in characters. */
  scopeStringCharsMax: 8 * 1024,
  /** Most `param=value` restrictions on one granular scope. */
  scopeRestrictionsMax: 8,
  /** Longest break-glass reason, in characters. */
  breakGlassReasonCharsMax: 500,
  /** Most public keys in one registered client's JWK set. */
  clientKeysMax: 16,
  /** Longest token endpoint form parameter, in characters. */
  formValueCharsMax: 16 * 1024,
  /**
   * Most verified access tokens a node remembers (`cachedTokenVerifier`); each entry is the token
   * string and its claims, about 2 KB.
   */
  verifiedTokenCacheEntriesMax: 1024,
} as const;
