/**
 * The `/.well-known/smart-configuration` document (SMART App Launch v2, "Conformance"): what a
 * client needs to find the token endpoint and the keys, and what this server supports. MedLedger
 * offers backend services (client_credentials with private_key_jwt) at the token endpoint; user
 * tokens come from the node's own sign-in, so no authorization endpoint is advertised.
 */
import { clientAssertionAlgorithms } from './token-request.ts';

/** The SMART configuration document. */
export interface SmartConfiguration {
  readonly issuer: string;
  readonly token_endpoint: string;
  readonly jwks_uri: string;
  readonly grant_types_supported: readonly string[];
  readonly token_endpoint_auth_methods_supported: readonly string[];
  readonly token_endpoint_auth_signing_alg_values_supported: readonly string[];
  readonly scopes_supported: readonly string[];
  readonly response_types_supported: readonly string[];
  readonly capabilities: readonly string[];
}

/** The scopes advertised: every context with full and read-only access to any type. */
export const supportedScopeExamples = [
  'system/*.cruds',
  'system/*.rs',
  'user/*.cruds',
  'user/*.rs',
  'patient/*.cruds',
  'patient/*.rs',
] as const;

/**
 * Builds the document for a node at `baseUrl` (its `iss`) whose token endpoint is `tokenUrl`
 * and whose JWK Set (`publicJwks`) is served at `jwksUrl`.
 */
export function smartConfiguration(options: {
  baseUrl: string;
  tokenUrl: string;
  jwksUrl: string;
}): SmartConfiguration {
  return {
    issuer: options.baseUrl,
    token_endpoint: options.tokenUrl,
    jwks_uri: options.jwksUrl,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...clientAssertionAlgorithms],
    scopes_supported: [...supportedScopeExamples],
    response_types_supported: ['token'],
    capabilities: [
      'client-confidential-asymmetric',
      'permission-v2',
      'permission-v1',
      'permission-patient',
      'permission-user',
    ],
  };
}
