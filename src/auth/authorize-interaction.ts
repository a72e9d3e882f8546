/**
 * The scope step of every FHIR request (CONVENTIONS.md "SMART on FHIR v2"): after the token is
 * verified, and before consent is checked, the interaction's letter must be granted by a scope
 * of a context the token may use, and `patient/` scopes reach only the token's patient.
 */
import type { VerifiedAccessToken } from './access-token.ts';
import { AuthError, AuthErrorCode } from './errors.ts';
import { interactionPermission, scopeAllows } from './scopes.ts';
import type { FhirInteraction, ResourceScope, ScopeContext } from './scopes.ts';

/** The interaction a request performs and the patient whose data it touches. */
export interface InteractionRequest {
  readonly resourceType: string;
  readonly interaction: FhirInteraction;
  /**
   * The patient pseudonym the interaction is confined to (for a search, the patient the caller
   * restricts the search to), or null when it is not confined to one patient.
   */
  readonly patient: string | null;
}

/** Which scope allowed the interaction, and in which context. */
export interface InteractionGrant {
  readonly context: ScopeContext;
  /** When it has restrictions, the caller must apply them (see `scopeAllows`). */
  readonly scope: ResourceScope;
}

/** The contexts a token may use for a request, in order of preference. */
function contextsFor(token: VerifiedAccessToken, request: InteractionRequest): ScopeContext[] {
  const { claims } = token;
  const contexts: ScopeContext[] = [];
  if (claims.patient !== undefined && request.patient === claims.patient) contexts.push('patient');
  if (claims.principal.kind === 'client') contexts.push('system');
  else contexts.push('user');
  return contexts;
}

/**
 * The scope that allows `request`, preferring an unrestricted one; throws `AuthError`
 * `insufficient-scope` (403) naming the scopes that would have sufficed in
 * `details.requiredScope` (for the `scope` attribute of RFC 6750 §3).
 */
export function authorizeInteraction(
  token: VerifiedAccessToken,
  request: InteractionRequest,
): InteractionGrant {
  const contexts = contextsFor(token, request);
  const grants: InteractionGrant[] = [];
  for (const context of contexts) {
    const scope = scopeAllows(token.scopes, { ...request, context });
    if (scope !== null) grants.push({ context, scope });
  }
  const grant = grants.find((g) => g.scope.restrictions.length === 0) ?? grants[0];
  if (grant !== undefined) return grant;
  const letter = interactionPermission[request.interaction];
  const needed = contexts.map((context) => `${context}/${request.resourceType}.${letter}`);
  throw new AuthError(
    AuthErrorCode.insufficientScope,
    `${request.interaction} of ${request.resourceType} needs scope ${needed.join(' or ')} ` +
      '(or a wider one); the token grants none',
    { requiredScope: needed.join(' ') },
  );
}
