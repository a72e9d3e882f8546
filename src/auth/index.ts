// The public surface of auth/: SMART on FHIR v2 scopes, access tokens, the backend-services
// token endpoint and the SMART configuration, without HTTP (see README.md).
export {
  scopePermissions,
  interactionPermission,
  passThroughScopes,
  parseScope,
  parseScopes,
  formatScope,
  formatScopes,
  scopeAllows,
  matchingScopes,
  grantScopes,
  type ScopeContext,
  type ScopePermission,
  type FhirInteraction,
  type ScopeRestriction,
  type ScopeSyntax,
  type ResourceScope,
  type PassThroughScope,
  type PassThroughScopeName,
  type SmartScope,
  type ScopeRequest,
} from './scopes.ts';
export {
  accessTokenType,
  breakGlassPurposes,
  isBreakGlassPurpose,
  issueAccessToken,
  issueUserToken,
  verifyAccessToken,
  breakGlassRequestOf,
  type PrincipalKind,
  type TokenPrincipal,
  type BreakGlassPurpose,
  type AccessTokenClaims,
  type VerifiedAccessToken,
  type AccessTokenSigner,
  type IssuedAccessToken,
  type BreakGlassRequest,
} from './access-token.ts';
export {
  authorizeInteraction,
  type InteractionRequest,
  type InteractionGrant,
} from './authorize-interaction.ts';
export {
  accessTokenAlgorithm,
  ed25519PublicJwk,
  tokenSigningKeyOf,
  loadOrCreateTokenSigningKey,
  publicJwks,
  type TokenSigningKey,
  type TokenVerificationKey,
} from './signing-key.ts';
export {
  jwtBearerAssertionType,
  clientAssertionAlgorithms,
  handleTokenRequest,
  type RegisteredClient,
  type ClientRegistry,
  type TokenRequestForm,
  type TokenRequestOptions,
  type TokenResponseBody,
  type TokenErrorBody,
  type TokenEndpointResponse,
} from './token-request.ts';
export { MemoryReplayCache, type ReplayCache, type ReplayCheck } from './replay-cache.ts';
export { wwwAuthenticate, bearerTokenOf } from './www-authenticate.ts';
export {
  smartConfiguration,
  supportedScopeExamples,
  type SmartConfiguration,
} from './smart-configuration.ts';
export { authLimits } from './limits.ts';
export {
  AuthError,
  AuthErrorCode,
  authErrorInfo,
  type AuthErrorInfo,
  type AuthIssueType,
  type OAuthErrorCode,
} from './errors.ts';
export { cachedTokenVerifier, type AccessTokenVerifier } from './verified-token-cache.ts';
