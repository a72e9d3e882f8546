/**
 * Parsing of a FHIR search request (FHIR R4 search.html): parameters of the type with their
 * modifiers and comma-separated values, and the result parameters `_sort`, `_count`, `_total`,
 * `_summary=count`, `_include`, `_revinclude` and `_cursor`. A parameter this server does not
 * know is refused with 400 naming it (search.html#errors allows refusing); `_format` and `_pretty`
 * are ignored (http.html#parameters).
 */
import { fhirLimits } from './limits.ts';
import { FhirError } from './operation-outcome.ts';
import { isSupportedResourceType } from './resource-types.ts';
import type { SupportedResourceType } from './resource-types.ts';
import { parseDateRange } from './date-range.ts';
import { searchParametersOf } from './search-parameters.ts';
import type { SearchParameterDefinition } from './search-parameters.ts';

/** Query parameters as a web framework gives them, or as `URLSearchParams`. */
export type SearchParams =
  | URLSearchParams
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | readonly (readonly [string, string])[];

/** Prefixes of date values (FHIR R4 search.html#prefix). */
export const datePrefixes = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
export type DatePrefix = (typeof datePrefixes)[number];

/** One parameter of the query: its values are alternatives (OR); parameters combine by AND. */
export interface SearchFilter {
  readonly parameter: SearchParameterDefinition;
  /**
   * `exact`/`contains` (string), `not`/`text` (token), `missing` (any), or a resource type
   * (reference, `subject:Patient`); undefined when there is none.
   */
  readonly modifier: string | undefined;
  readonly values: readonly string[];
}

/** One `_sort` key (FHIR R4 search.html#sort). */
export interface SortKey {
  readonly parameter: SearchParameterDefinition;
  readonly descending: boolean;
}

/** One `_include` or `_revinclude` (FHIR R4 search.html#include). */
export interface IncludeRequest {
  /** The type whose reference parameter is followed (`Observation` in `Observation:subject`). */
  readonly sourceType: SupportedResourceType;
  readonly parameter: SearchParameterDefinition;
  /** Only references to this type are followed, when given. */
  readonly targetType: string | undefined;
  readonly iterate: boolean;
}

/** A parsed search: what to match, how to sort, how much to return and what to include. */
export interface SearchRequest {
  readonly type: SupportedResourceType;
  readonly filters: readonly SearchFilter[];
  readonly sort: readonly SortKey[];
  /** Page size, capped to `fhirLimits.searchCountMax`; 0 for `_summary=count`. */
  readonly count: number;
  readonly total: 'none' | 'estimate' | 'accurate';
  readonly include: readonly IncludeRequest[];
  readonly revinclude: readonly IncludeRequest[];
  readonly cursor: string | undefined;
  /** The query without `_cursor` and the ignored parameters, in a canonical order. */
  readonly canonicalQuery: string;
}

/** Parameters accepted and ignored: they change the answer's format, never its content. */
export const ignoredSearchParameters: readonly string[] = ['_format', '_pretty'];

const modifiersOfType: Readonly<Record<SearchParameterDefinition['type'], readonly string[]>> = {
  string: ['exact', 'contains', 'missing'],
  token: ['not', 'text', 'missing'],
  date: ['missing'],
  reference: ['missing'],
  uri: ['missing'],
};

/** The params as ordered pairs. */
export function searchParamPairs(params: SearchParams): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (params instanceof URLSearchParams) {
    for (const [key, value] of params) pairs.push([key, value]);
  } else if (Array.isArray(params)) {
    for (const [key, value] of params as readonly (readonly [string, string])[]) {
      pairs.push([key, value]);
    }
  } else {
    const record = params as Readonly<Record<string, string | readonly string[] | undefined>>;
    for (const [key, value] of Object.entries(record)) {
      if (value === undefined) continue;
      if (typeof value === 'string') pairs.push([key, value]);
      else for (const each of value) pairs.push([key, each]);
    }
  }
  return pairs;
}

/**
 * Splits a parameter value on unescaped commas and removes the escapes `\,` `\$` `\|` `\\`
 * (FHIR R4 search.html#escaping). The `|` of a token stays escaped as `\|` so the token matcher
 * can tell it from the separator.
 */
export function splitSearchValue(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < value.length; index += 1) {
    const char = value[index]!;
    if (char === '\\' && index + 1 < value.length) {
      const next = value[index + 1]!;
      current += next === '|' ? '\\|' : next;
      index += 1;
    } else if (char === ',') {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

/** A date search value split into its prefix (default `eq`) and the date. */
export function splitDatePrefix(value: string): { prefix: DatePrefix; date: string } {
  const head = value.slice(0, 2);
  if ((datePrefixes as readonly string[]).includes(head)) {
    return { prefix: head as DatePrefix, date: value.slice(2) };
  }
  return { prefix: 'eq', date: value };
}

function bad(message: string, name: string): FhirError {
  return new FhirError('invalid', message, { expression: [name] });
}

function parameterOf(type: string, code: string, name: string): SearchParameterDefinition {
  const parameter = searchParametersOf(type).get(code);
  if (parameter === undefined) {
    throw bad(`unknown search parameter ${JSON.stringify(name)} for ${type}`, name);
  }
  return parameter;
}

function parseFilter(type: string, name: string, value: string): SearchFilter {
  const colon = name.indexOf(':');
  const code = colon < 0 ? name : name.slice(0, colon);
  const modifier = colon < 0 ? undefined : name.slice(colon + 1);
  const parameter = parameterOf(type, code, name);
  if (modifier !== undefined && !modifiersOfType[parameter.type].includes(modifier)) {
    const isTargetType = parameter.type === 'reference' && parameter.targets.includes(modifier);
    if (!isTargetType) {
      throw bad(
        `expected a modifier of ${parameter.type} parameter ${code} (${modifiersOfType[parameter.type].join(', ')}${parameter.type === 'reference' ? ', or a target type' : ''}), found ${JSON.stringify(modifier)}`,
        name,
      );
    }
  }
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') {
      throw bad(`expected ${name} to be true or false, found ${JSON.stringify(value)}`, name);
    }
    return { parameter, modifier, values: [value] };
  }
  const values = splitSearchValue(value);
  if (values.length > fhirLimits.searchValueCountMax) {
    throw bad(
      `expected at most ${fhirLimits.searchValueCountMax} values in ${name}, found ${values.length}`,
      name,
    );
  }
  for (const each of values) {
    if (each === '') throw bad(`expected a value in ${name}, found an empty one`, name);
    if (parameter.type === 'date' && parseDateRange(splitDatePrefix(each).date) === undefined) {
      throw new FhirError(
        'value',
        `expected ${name} to be a date with an optional prefix (${datePrefixes.join(', ')}), found ${JSON.stringify(each)}`,
        { expression: [name] },
      );
    }
  }
  return { parameter, modifier, values };
}

function parseSort(type: string, value: string): SortKey[] {
  const keys = value.split(',');
  if (keys.length > fhirLimits.sortKeyCountMax) {
    throw bad(
      `expected at most ${fhirLimits.sortKeyCountMax} _sort keys, found ${keys.length}`,
      '_sort',
    );
  }
  return keys.map((key) => {
    const descending = key.startsWith('-');
    const code = descending ? key.slice(1) : key;
    return { parameter: parameterOf(type, code, `_sort=${key}`), descending };
  });
}

function parseCount(value: string): number {
  if (!/^\d{1,9}$/.test(value)) {
    throw new FhirError(
      'value',
      `expected _count to be a whole number, found ${JSON.stringify(value)}`,
      {
        expression: ['_count'],
      },
    );
  }
  return Math.min(Number(value), fhirLimits.searchCountMax);
}

function parseInclude(
  type: SupportedResourceType,
  name: '_include' | '_revinclude',
  modifier: string | undefined,
  value: string,
): IncludeRequest {
  if (modifier !== undefined && modifier !== 'iterate') {
    throw bad(`expected ${name} or ${name}:iterate, found ${name}:${modifier}`, name);
  }
  const [sourceType, code, targetType, ...rest] = value.split(':');
  if (sourceType === undefined || code === undefined || rest.length > 0) {
    throw bad(`expected ${name}=Type:parameter[:targetType], found ${JSON.stringify(value)}`, name);
  }
  if (!isSupportedResourceType(sourceType)) {
    throw bad(
      `expected a supported source type in ${name}, found ${JSON.stringify(sourceType)}`,
      name,
    );
  }
  if (name === '_include' && modifier === undefined && sourceType !== type) {
    throw bad(`expected ${name} to start with ${type}, found ${JSON.stringify(value)}`, name);
  }
  const parameter = parameterOf(sourceType, code, `${name}=${value}`);
  if (parameter.type !== 'reference') {
    throw bad(`expected a reference parameter in ${name}, found ${parameter.type} ${code}`, name);
  }
  if (targetType !== undefined && !parameter.targets.includes(targetType)) {
    throw bad(
      `expected a target type of ${sourceType}:${code} (${parameter.targets.join(', ')}), found ${JSON.stringify(targetType)}`,
      name,
    );
  }
  return { sourceType, parameter, targetType, iterate: modifier === 'iterate' };
}

/** Percent-encoding that leaves the characters FHIR queries read best unescaped. */
function encodeQueryPart(text: string): string {
  return encodeURIComponent(text).replace(/%3A/g, ':').replace(/%7C/g, '|').replace(/%2C/g, ',');
}

/** `key=value&…` of the pairs, sorted by key then value so equal queries read the same. */
export function formatQuery(pairs: readonly (readonly [string, string])[]): string {
  return [...pairs]
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${encodeQueryPart(key)}=${encodeQueryPart(value)}`)
    .join('&');
}

/**
 * Parses the query of `GET /fhir/{type}?…` or the form body of `POST /fhir/{type}/_search`
 * (FHIR R4 search.html). Throws a 400 `FhirError` naming the first parameter at fault.
 */
export function parseSearchRequest(options: { type: string; params: SearchParams }): SearchRequest {
  const { type } = options;
  if (!isSupportedResourceType(type)) {
    throw new FhirError(
      'not-found',
      `expected a supported resource type, found ${JSON.stringify(type.slice(0, 64))}`,
    );
  }
  const pairs = searchParamPairs(options.params);
  if (pairs.length > fhirLimits.searchParameterCountMax) {
    throw bad(
      `expected at most ${fhirLimits.searchParameterCountMax} search parameters, found ${pairs.length}`,
      'query',
    );
  }
  const filters: SearchFilter[] = [];
  let sort: SortKey[] = [];
  let count: number = fhirLimits.searchCountDefault;
  let total: SearchRequest['total'] = 'accurate';
  const include: IncludeRequest[] = [];
  const revinclude: IncludeRequest[] = [];
  let cursor: string | undefined;
  const kept: Array<[string, string]> = [];
  for (const [name, value] of pairs) {
    if (value.length > fhirLimits.searchValueCharactersMax) {
      throw bad(
        `expected ${name} of at most ${fhirLimits.searchValueCharactersMax} characters, found ${value.length}`,
        name,
      );
    }
    const colon = name.indexOf(':');
    const base = colon < 0 ? name : name.slice(0, colon);
    const modifier = colon < 0 ? undefined : name.slice(colon + 1);
    if (ignoredSearchParameters.includes(base)) continue;
    if (base === '_cursor') {
      cursor = value;
      continue;
    }
    kept.push([name, value]);
    switch (base) {
      case '_sort':
        sort = parseSort(type, value);
        break;
      case '_count':
        count = parseCount(value);
        break;
      case '_total':
        if (value !== 'none' && value !== 'estimate' && value !== 'accurate') {
          throw bad(
            `expected _total to be none, estimate or accurate, found ${JSON.stringify(value)}`,
            name,
          );
        }
        total = value;
        break;
      case '_summary':
        if (value !== 'count') {
          throw bad(
            `expected _summary=count (the only summary supported), found ${JSON.stringify(value)}`,
            name,
          );
        }
        count = 0;
        break;
      case '_include':
      case '_revinclude':
        (base === '_include' ? include : revinclude).push(
          parseInclude(type, base, modifier, value),
        );
        if (include.length + revinclude.length > fhirLimits.includeCountMax) {
          throw bad(
            `expected at most ${fhirLimits.includeCountMax} _include and _revinclude, found more`,
            name,
          );
        }
        break;
      default:
        filters.push(parseFilter(type, name, value));
    }
  }
  if (cursor !== undefined && cursor.length > fhirLimits.cursorCharactersMax) {
    throw bad(
      `expected a _cursor of at most ${fhirLimits.cursorCharactersMax} characters, found ${cursor.length}`,
      '_cursor',
    );
  }
  return {
    type,
    filters,
    sort,
    count,
    total,
    include,
    revinclude,
    cursor,
    canonicalQuery: formatQuery(kept),
  };
}
