/**
 * Validation of a resource body before it is stored (FHIR R4 validation.html, http.html#create):
 * JSON size and depth limits, a supported `resourceType` that matches the URL, a FHIR id, medplum's
 * structural validation (cardinality, datatypes, invariants) and the required-binding check that
 * medplum leaves out (`check-required-bindings.ts`).
 */
import { OperationOutcomeError, validateResource as medplumValidateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

import { utf8 } from '../base/index.ts';

import { checkRequiredBindings } from './check-required-bindings.ts';
import { fhirLimits } from './limits.ts';
import { loadDefinitions } from './load-definitions.ts';
import { FhirError } from './operation-outcome.ts';
import { isFhirId, isSupportedResourceType, supportedResourceTypes } from './resource-types.ts';

/** Options of `validateResource`. */
export interface ValidateResourceOptions {
  /** The type named by the URL (`POST /fhir/Observation`); the body's `resourceType` must match. */
  readonly type?: string;
}

function issue(
  code: 'invalid' | 'structure' | 'required' | 'value',
  diagnostics: string,
  expression?: string,
): OperationOutcomeIssue {
  return {
    severity: 'error',
    code,
    diagnostics,
    ...(expression !== undefined ? { expression: [expression] } : {}),
  };
}

function typeOfJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * The first way `value` exceeds the JSON limits (depth in levels, count of values), or undefined.
 * Iterative, so a hostile depth cannot exhaust the stack.
 */
export function jsonBoundsProblem(value: unknown): string | undefined {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  let count = 0;
  while (stack.length > 0) {
    const next = stack.pop()!;
    count += 1;
    if (count > fhirLimits.jsonValueCountMax) {
      return `expected at most ${fhirLimits.jsonValueCountMax} JSON values, found more`;
    }
    if (next.value === null || typeof next.value !== 'object') continue;
    if (next.depth > fhirLimits.jsonDepthMax) {
      return `expected JSON nested at most ${fhirLimits.jsonDepthMax} levels deep, found deeper`;
    }
    const children = Array.isArray(next.value) ? next.value : Object.values(next.value);
    for (const child of children as unknown[]) stack.push({ value: child, depth: next.depth + 1 });
  }
  return undefined;
}

const badRequestIssueTypes: readonly string[] = ['invalid', 'structure', 'required', 'value'];

/**
 * medplum's issue as a 400 issue of CONVENTIONS.md: its IssueType kept when it is one of
 * invalid/structure/required/value, else `invalid` (the parent of `invariant` and the others in
 * FHIR R4 valueset-issue-type.html); its text also as `diagnostics`.
 */
function asBadRequestIssue(found: OperationOutcomeIssue): OperationOutcomeIssue {
  const diagnostics = found.diagnostics ?? found.details?.text;
  return {
    ...found,
    code: badRequestIssueTypes.includes(found.code) ? found.code : 'invalid',
    ...(diagnostics !== undefined ? { diagnostics } : {}),
  };
}

function medplumIssues(resource: Resource): OperationOutcomeIssue[] {
  let found: OperationOutcomeIssue[];
  try {
    found = medplumValidateResource(resource);
  } catch (error) {
    // medplum throws an OperationOutcomeError carrying every issue it found.
    if (!(error instanceof OperationOutcomeError)) throw error;
    found = error.outcome.issue ?? [];
  }
  return found
    .filter((each) => each.severity === 'error' || each.severity === 'fatal')
    .map(asBadRequestIssue);
}

/**
 * Every problem found in `resource`, as OperationOutcome issues (empty when valid). Checks, in
 * order, stopping after the first group that fails: the JSON limits of `fhirLimits`; a JSON
 * object whose `resourceType` is one of `supportedResourceTypes` and equals `options.type`; a FHIR
 * id when `id` is present; medplum's validation; the required bindings.
 */
export function validateResource(
  resource: unknown,
  options: ValidateResourceOptions = {},
): OperationOutcomeIssue[] {
  const bounds = jsonBoundsProblem(resource);
  if (bounds !== undefined) return [issue('structure', bounds)];
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
    return [issue('structure', `expected a JSON object, found ${typeOfJson(resource)}`)];
  }
  const body = resource as Record<string, unknown>;
  const resourceType = body['resourceType'];
  if (typeof resourceType !== 'string') {
    return [issue('required', 'expected a string resourceType, found none', 'resourceType')];
  }
  if (!isSupportedResourceType(resourceType)) {
    return [
      issue(
        'invalid',
        `expected a resourceType of ${supportedResourceTypes.join(', ')}, found ${JSON.stringify(resourceType.slice(0, 64))}`,
        'resourceType',
      ),
    ];
  }
  if (options.type !== undefined && options.type !== resourceType) {
    return [
      issue(
        'invalid',
        `expected resourceType ${options.type} as in the URL, found ${resourceType}`,
        `${resourceType}.resourceType`,
      ),
    ];
  }
  const id = body['id'];
  if (id !== undefined && !isFhirId(id)) {
    return [
      issue(
        'value',
        `expected a FHIR id (1-${fhirLimits.idCharactersMax} of A-Z a-z 0-9 - .), found ${JSON.stringify(id).slice(0, 80)}`,
        `${resourceType}.id`,
      ),
    ];
  }
  loadDefinitions();
  const structural = medplumIssues(body as unknown as Resource);
  if (structural.length > 0) return structural;
  return checkRequiredBindings(body as unknown as Resource);
}

/**
 * Throws a 400 `FhirError` listing every issue `validateResource` finds; returns the resource,
 * typed, when it is valid.
 */
export function assertValidResource(
  resource: unknown,
  options: ValidateResourceOptions = {},
): Resource {
  if (
    typeof resource === 'object' &&
    resource !== null &&
    parsedValidResources.has(resource) &&
    (options.type === undefined ||
      options.type === (resource as { resourceType?: unknown }).resourceType)
  ) {
    return resource as Resource;
  }
  const issues = validateResource(resource, options);
  const [first, ...rest] = issues;
  if (first !== undefined) {
    throw new FhirError(
      first.code as 'invalid' | 'structure' | 'required' | 'value',
      first.diagnostics ?? first.details?.text ?? 'invalid resource',
      { expression: first.expression ?? [], issues: rest },
    );
  }
  return resource as Resource;
}

/** The longest nesting of `[` and `{` in JSON text, ignoring brackets inside strings. */
function jsonTextDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c) index += 1;
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x7b || char === 0x5b) {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (char === 0x7d || char === 0x5d) {
      depth -= 1;
    }
  }
  return deepest;
}

/**
 * Parses a request body and validates it as a resource of `options.type` (FHIR R4 json.html):
 * refuses more than `fhirLimits.resourceBytesMax` bytes or `jsonDepthMax` levels before parsing,
 * then reports every issue of `validateResource` as one 400 `FhirError`.
 */
export function parseResourceJson(text: string, options: ValidateResourceOptions = {}): Resource {
  const bytes = utf8(text).length;
  if (bytes > fhirLimits.resourceBytesMax) {
    throw new FhirError(
      'structure',
      `expected a body of at most ${fhirLimits.resourceBytesMax} bytes, found ${bytes}`,
    );
  }
  const depth = jsonTextDepth(text);
  if (depth > fhirLimits.jsonDepthMax) {
    throw new FhirError(
      'structure',
      `expected JSON nested at most ${fhirLimits.jsonDepthMax} levels deep, found ${depth}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FhirError('structure', 'expected a JSON body, found text that does not parse');
  }
  const resource = assertValidResource(value, options);
  deepFreeze(resource);
  parsedValidResources.add(resource);
  return resource;
}

/**
 * Resources `parseResourceJson` parsed and found valid, deep-frozen so that they cannot change
 * afterwards: `assertValidResource` returns such an object at once instead of validating it
 * again (the HTTP layer validates a body as it parses it, and the records service validates what
 * it is given; in `npm run bench:fhir`'s CPU profile the second validation of each create was
 * about 4 % of the four nodes' busy time). Held by identity in a WeakSet, so it keeps nothing
 * alive; only objects this module parsed itself are added.
 */
const parsedValidResources = new WeakSet<object>();

/** Freezes a parsed JSON value and everything in it (an explicit stack, no recursion). */
function deepFreeze(value: unknown): void {
  const stack: unknown[] = [value];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (typeof next !== 'object' || next === null || Object.isFrozen(next)) continue;
    Object.freeze(next);
    for (const child of Object.values(next)) stack.push(child);
  }
}
