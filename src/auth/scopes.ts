/**
 * SMART on FHIR scopes (SMART App Launch v2, "Scopes and Launch Context"):
 * `(patient|user|system)/(Type|*).[c][r][u][d][s]`, letters in that order, each at most once,
 * with optional granular restrictions `?name=value&…` (e.g. `?category=…|laboratory`), the v1
 * forms `.read` (= rs), `.write` (= cud) and `.*` (= cruds), and the launch and identity scopes
 * `launch`, `launch/patient`, `openid`, `fhirUser`, `offline_access`, `online_access`, which are
 * passed through unchanged. A scope string (RFC 6749 §3.3) is scope tokens separated by spaces.
 */
import { AuthError, AuthErrorCode } from './errors.ts';
import { authLimits } from './limits.ts';

/** Whose data a resource scope is about: one patient, what the user may see, or a backend. */
export type ScopeContext = 'patient' | 'user' | 'system';

/** The five SMART v2 permission letters, in the only order they may appear. */
export const scopePermissions = ['c', 'r', 'u', 'd', 's'] as const;

/** One SMART v2 permission letter: create, read, update, delete, search. */
export type ScopePermission = (typeof scopePermissions)[number];

/** A FHIR R4 REST interaction (hl7.org/fhir/R4/http.html) a request performs. */
export type FhirInteraction =
  'create' | 'read' | 'vread' | 'update' | 'delete' | 'history' | 'search';

/** The letter each interaction needs (SMART v2 §Scopes; instance history reads: `r`). */
export const interactionPermission: Readonly<Record<FhirInteraction, ScopePermission>> = {
  create: 'c',
  read: 'r',
  vread: 'r',
  history: 'r',
  update: 'u',
  delete: 'd',
  search: 's',
};

/** A granular restriction `name=value`, kept as written for the caller to apply as a search. */
export interface ScopeRestriction {
  readonly name: string;
  readonly value: string;
}

/** How the permissions of a resource scope were written: v2 letters or a v1 word. */
export type ScopeSyntax = 'v2' | 'v1-read' | 'v1-write' | 'v1-all';

/** A resource scope such as `patient/Observation.rs?category=laboratory`. */
export interface ResourceScope {
  readonly kind: 'resource';
  readonly context: ScopeContext;
  /** A FHIR resource type, or `*` for every type. */
  readonly resourceType: string;
  /** The letters granted, in `cruds` order, never empty. */
  readonly permissions: readonly ScopePermission[];
  /** Granular restrictions (v2 only), in the order written; all must hold. */
  readonly restrictions: readonly ScopeRestriction[];
  readonly syntax: ScopeSyntax;
}

/** The launch and identity scopes MedLedger passes through without giving them a meaning. */
export const passThroughScopes = [
  'openid',
  'fhirUser',
  'launch',
  'launch/patient',
  'offline_access',
  'online_access',
] as const;

/** One of `passThroughScopes`. */
export type PassThroughScopeName = (typeof passThroughScopes)[number];

/** A launch or identity scope, such as `openid` or `launch/patient`. */
export interface PassThroughScope {
  readonly kind: 'pass-through';
  readonly name: PassThroughScopeName;
}

/** One parsed SMART scope. */
export type SmartScope = ResourceScope | PassThroughScope;

const resourceTypePattern = /^(?:\*|[A-Z][A-Za-z]{0,63})$/;
const restrictionNamePattern = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;
// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
const scopeTokenPattern = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

const v1Permissions: Readonly<Record<string, readonly ScopePermission[]>> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ['c', 'r', 'u', 'd', 's'],
};

const v1SyntaxOf: Readonly<Record<string, ScopeSyntax>> = {
  read: 'v1-read',
  write: 'v1-write',
  '*': 'v1-all',
};

function invalidScope(scope: string, why: string): AuthError {
  return new AuthError(AuthErrorCode.invalidScope, `scope "${scope}" is not valid: ${why}`, {
    scope,
  });
}

function isPassThroughName(text: string): text is PassThroughScopeName {
  return (passThroughScopes as readonly string[]).includes(text);
}

/** Parses the letters after the dot: each of `cruds` at most once, in that order, at least one. */
function parseLetters(scope: string, letters: string): ScopePermission[] {
  if (letters.length === 0) throw invalidScope(scope, 'expected permission letters after "."');
  const permissions: ScopePermission[] = [];
  let lastIndex = -1;
  for (const letter of letters) {
    const index = (scopePermissions as readonly string[]).indexOf(letter);
    if (index < 0) {
      throw invalidScope(scope, `expected letters of "cruds", found "${letter}"`);
    }
    if (index <= lastIndex) {
      throw invalidScope(
        scope,
        `letters must appear at most once and in the order c, r, u, d, s; found "${letters}"`,
      );
    }
    lastIndex = index;
    permissions.push(letter as ScopePermission);
  }
  return permissions;
}

function parseRestrictions(scope: string, query: string): ScopeRestriction[] {
  const parts = query.split('&');
  if (parts.length > authLimits.scopeRestrictionsMax) {
    throw invalidScope(
      scope,
      `at most ${authLimits.scopeRestrictionsMax} restrictions, found ${parts.length}`,
    );
  }
  return parts.map((part) => {
    const equals = part.indexOf('=');
    const name = equals < 0 ? part : part.slice(0, equals);
    const value = equals < 0 ? '' : part.slice(equals + 1);
    if (!restrictionNamePattern.test(name)) {
      throw invalidScope(scope, `expected a search parameter name before "=", found "${name}"`);
    }
    if (value.length === 0) throw invalidScope(scope, `restriction "${name}" has no value`);
    return { name, value };
  });
}

/**
 * Parses one scope token. Throws `AuthError` `invalid-scope` naming the scope and what is wrong
 * with it: an unknown context, a bad resource type, letters out of order or repeated (`rc`,
 * `rr`), no letters, a malformed restriction, or a restriction on a v1 scope.
 */
export function parseScope(text: string): SmartScope {
  if (text.length > authLimits.scopeCharsMax) {
    throw invalidScope(
      text.slice(0, 32) + '…',
      `at most ${authLimits.scopeCharsMax} characters, found ${text.length}`,
    );
  }
  if (!scopeTokenPattern.test(text)) {
    throw invalidScope(text, 'expected printable ASCII without spaces, quotes or backslashes');
  }
  if (isPassThroughName(text)) return { kind: 'pass-through', name: text };
  const slash = text.indexOf('/');
  const context = text.slice(0, slash);
  if (slash < 0 || (context !== 'patient' && context !== 'user' && context !== 'system')) {
    throw invalidScope(text, 'expected "patient/", "user/" or "system/" or a launch scope');
  }
  const rest = text.slice(slash + 1);
  const question = rest.indexOf('?');
  const body = question < 0 ? rest : rest.slice(0, question);
  const dot = body.indexOf('.');
  if (dot < 0) throw invalidScope(text, 'expected "<Type>.<permissions>" after the context');
  const resourceType = body.slice(0, dot);
  const letters = body.slice(dot + 1);
  if (!resourceTypePattern.test(resourceType)) {
    throw invalidScope(text, `expected a FHIR resource type or "*", found "${resourceType}"`);
  }
  const v1 = v1Permissions[letters];
  if (v1 !== undefined) {
    if (question >= 0) throw invalidScope(text, 'restrictions need v2 permission letters');
    return {
      kind: 'resource',
      context,
      resourceType,
      permissions: v1,
      restrictions: [],
      syntax: v1SyntaxOf[letters] ?? 'v2',
    };
  }
  const permissions = parseLetters(text, letters);
  const restrictions = question < 0 ? [] : parseRestrictions(text, rest.slice(question + 1));
  return { kind: 'resource', context, resourceType, permissions, restrictions, syntax: 'v2' };
}

/** Writes one scope back as its token; `formatScope(parseScope(s)) === s` for every valid `s`. */
export function formatScope(scope: SmartScope): string {
  if (scope.kind === 'pass-through') return scope.name;
  let letters: string;
  switch (scope.syntax) {
    case 'v1-read':
      letters = 'read';
      break;
    case 'v1-write':
      letters = 'write';
      break;
    case 'v1-all':
      letters = '*';
      break;
    case 'v2':
      letters = scope.permissions.join('');
      break;
  }
  const base = `${scope.context}/${scope.resourceType}.${letters}`;
  if (scope.restrictions.length === 0) return base;
  return `${base}?${scope.restrictions.map((r) => `${r.name}=${r.value}`).join('&')}`;
}

/**
 * Parses a space-separated scope string (RFC 6749 §3.3). Runs of spaces are tolerated, repeated
 * scopes kept once. Throws `AuthError` `invalid-scope` for an empty string, too many scopes, or
 * any invalid scope.
 */
export function parseScopes(text: string): SmartScope[] {
  if (text.length > authLimits.scopeStringCharsMax) {
    throw new AuthError(
      AuthErrorCode.invalidScope,
      `scope string has ${text.length} characters; at most ${authLimits.scopeStringCharsMax}`,
    );
  }
  const tokens = [...new Set(text.split(' ').filter((token) => token.length > 0))];
  if (tokens.length === 0) {
    throw new AuthError(AuthErrorCode.invalidScope, 'scope string names no scope');
  }
  if (tokens.length > authLimits.scopesPerTokenMax) {
    throw new AuthError(
      AuthErrorCode.invalidScope,
      `scope string names ${tokens.length} scopes; at most ${authLimits.scopesPerTokenMax}`,
    );
  }
  return tokens.map(parseScope);
}

/** Writes scopes as one space-separated string, in order. */
export function formatScopes(scopes: readonly SmartScope[]): string {
  return scopes.map(formatScope).join(' ');
}

/** The question `scopeAllows` answers: may this interaction run in this context? */
export interface ScopeRequest {
  readonly context: ScopeContext;
  /** The FHIR resource type the interaction touches (never `*`). */
  readonly resourceType: string;
  readonly interaction: FhirInteraction;
}

function matches(scope: SmartScope, request: ScopeRequest): scope is ResourceScope {
  return (
    scope.kind === 'resource' &&
    scope.context === request.context &&
    (scope.resourceType === '*' || scope.resourceType === request.resourceType) &&
    scope.permissions.includes(interactionPermission[request.interaction])
  );
}

/** Every resource scope that allows the request, in order. Restricted ones allow it in part. */
export function matchingScopes(
  scopes: readonly SmartScope[],
  request: ScopeRequest,
): ResourceScope[] {
  return scopes.filter((scope): scope is ResourceScope => matches(scope, request));
}

/**
 * The scope that allows the request, or null when none does (SMART v2 §Scopes: the context must
 * match, the type must be the one named or `*`, and the interaction's letter must be named).
 * An unrestricted scope is preferred. When the scope returned has restrictions, every matching
 * scope has some, and the caller must confine the interaction to what at least one of them
 * allows (`matchingScopes` lists them all).
 */
export function scopeAllows(
  scopes: readonly SmartScope[],
  request: ScopeRequest,
): ResourceScope | null {
  const found = matchingScopes(scopes, request);
  return found.find((scope) => scope.restrictions.length === 0) ?? found[0] ?? null;
}

function sameRestriction(a: ScopeRestriction, b: ScopeRestriction): boolean {
  return a.name === b.name && a.value === b.value;
}

/** True when `wider` allows everything `narrower` allows (same context). */
function covers(wider: ResourceScope, narrower: ResourceScope): boolean {
  return (
    wider.context === narrower.context &&
    (wider.resourceType === '*' || wider.resourceType === narrower.resourceType) &&
    narrower.permissions.every((letter) => wider.permissions.includes(letter)) &&
    wider.restrictions.every((r) => narrower.restrictions.some((n) => sameRestriction(r, n)))
  );
}

/** What both scopes allow, as one v2 scope, or null when they share nothing. */
function intersect(a: ResourceScope, b: ResourceScope): ResourceScope | null {
  if (a.context !== b.context) return null;
  let resourceType: string;
  if (a.resourceType === '*') resourceType = b.resourceType;
  else if (b.resourceType === '*' || b.resourceType === a.resourceType) {
    resourceType = a.resourceType;
  } else return null;
  const permissions = a.permissions.filter((letter) => b.permissions.includes(letter));
  if (permissions.length === 0) return null;
  // Restrictions are conjunctions, so the intersection must satisfy both sides' restrictions.
  const restrictions = [
    ...a.restrictions,
    ...b.restrictions.filter((r) => !a.restrictions.some((s) => sameRestriction(r, s))),
  ];
  if (restrictions.length > authLimits.scopeRestrictionsMax) return null;
  return {
    kind: 'resource',
    context: a.context,
    resourceType,
    permissions,
    restrictions,
    syntax: 'v2',
  };
}

/**
 * The scopes to grant: what was requested, narrowed to what is allowed. A requested scope that an
 * allowed scope covers is granted as written; otherwise its intersections with the allowed scopes
 * are granted in v2 syntax (`patient/*.rs` against `patient/Observation.cruds` gives
 * `patient/Observation.rs`). Pass-through scopes are granted only when allowed by name. The
 * result never allows an interaction that the requested or the allowed scopes do not.
 */
export function grantScopes(options: {
  requested: readonly SmartScope[];
  allowed: readonly SmartScope[];
}): SmartScope[] {
  const { requested, allowed } = options;
  const granted = new Map<string, SmartScope>();
  const add = (scope: SmartScope): void => {
    const text = formatScope(scope);
    if (!granted.has(text)) granted.set(text, scope);
  };
  for (const want of requested) {
    if (want.kind === 'pass-through') {
      if (allowed.some((have) => have.kind === 'pass-through' && have.name === want.name)) {
        add(want);
      }
      continue;
    }
    const allowedResources = allowed.filter((have) => have.kind === 'resource');
    if (allowedResources.some((have) => covers(have, want))) {
      add(want);
      continue;
    }
    for (const have of allowedResources) {
      const both = intersect(want, have);
      if (both !== null) add(both);
    }
  }
  return [...granted.values()];
}
