/**
 * The search parameters of each supported type: the R4 core SearchParameters (FHIR R4
 * searchparameter-registry.html) of types string, token, date, reference and uri that have a
 * FHIRPath expression, as indexed by medplum. Number, quantity, composite and special parameters
 * are not offered: a search that names one is refused with 400.
 */
import { getSearchParameters } from '@medplum/core';

import { loadDefinitions, loadedSearchParameters } from './load-definitions.ts';

/** The parameter types this library matches (FHIR R4 search.html#ptypes). */
export const supportedSearchParameterTypes = [
  'string',
  'token',
  'date',
  'reference',
  'uri',
] as const;

export type SearchParameterType = (typeof supportedSearchParameterTypes)[number];

/** One search parameter of one resource type. */
export interface SearchParameterDefinition {
  readonly code: string;
  readonly type: SearchParameterType;
  /** FHIRPath expression narrowed to the resource type where the definition is shared. */
  readonly expression: string;
  /** Resource types a reference parameter may point to. */
  readonly targets: readonly string[];
  /** Canonical URL of the SearchParameter definition. */
  readonly url: string;
}

const cache = new Map<string, ReadonlyMap<string, SearchParameterDefinition>>();

/**
 * Keeps the parts of a union expression shared by many types (`AllergyIntolerance.recordedDate |
 * … | Observation.effective`) that apply to `type`, so matching does not evaluate the others.
 */
function narrowExpression(expression: string, type: string): string {
  const parts = expression.split(' | ').map((part) => part.trim());
  const own = parts.filter(
    (part) =>
      part.startsWith(`${type}.`) ||
      part.startsWith(`(${type}.`) ||
      part === type ||
      part.startsWith('Resource.'),
  );
  if (
    own.length === 0 ||
    own.some((part) => (part.match(/\(/g) ?? []).length !== (part.match(/\)/g) ?? []).length)
  ) {
    return expression;
  }
  return own.join(' | ');
}

function isSupportedType(type: string): type is SearchParameterType {
  return (supportedSearchParameterTypes as readonly string[]).includes(type);
}

/** The search parameters of `type`, by code; empty for a type without any. */
export function searchParametersOf(type: string): ReadonlyMap<string, SearchParameterDefinition> {
  const cached = cache.get(type);
  if (cached !== undefined) return cached;
  loadDefinitions();
  // Only parameters of the R4 core bundle: medplum adds its own (`_compartment`) to the registry.
  const r4Urls = new Map<string, string>();
  for (const parameter of loadedSearchParameters()) {
    const bases = parameter.base as readonly string[];
    if (bases.includes(type) || bases.includes('Resource') || bases.includes('DomainResource')) {
      r4Urls.set(parameter.code, parameter.url);
    }
  }
  const result = new Map<string, SearchParameterDefinition>();
  for (const [code, parameter] of Object.entries(getSearchParameters(type) ?? {})) {
    const url = r4Urls.get(code);
    if (url === undefined || parameter.expression === undefined) continue;
    if (!isSupportedType(parameter.type)) continue;
    result.set(code, {
      code,
      type: parameter.type,
      expression: narrowExpression(parameter.expression, type),
      targets: [...(parameter.target ?? [])],
      url,
    });
  }
  const sorted = new Map([...result.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  cache.set(type, sorted);
  return sorted;
}
