/**
 * In-memory matching of a parsed search against one resource (FHIR R4 search.html), evaluating each
 * parameter's FHIRPath expression with medplum's `evalFhirPath`. Written here rather than taken from
 * medplum's `matchesSearchRequest`, which matches strings by substring and ignores `:exact`, and
 * matches `eq` dates by overlap; these follow search.html#string, #token, #date, #reference, #uri.
 */
import { evalFhirPath } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';

import { parseDateRange, periodRange } from './date-range.ts';
import type { DateRange } from './date-range.ts';
import { splitDatePrefix } from './parse-search.ts';
import type { DatePrefix, SearchFilter, SearchRequest } from './parse-search.ts';
import type { SearchParameterDefinition } from './search-parameters.ts';

/** One token a resource carries: a code or identifier value, its system, and texts for `:text`. */
export interface SearchToken {
  readonly system: string | undefined;
  readonly code: string | undefined;
  readonly texts: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The values `parameter` selects in `resource`. */
export function parameterValues(
  resource: Resource,
  parameter: SearchParameterDefinition,
): unknown[] {
  return evalFhirPath(parameter.expression, resource);
}

/**
 * Case, accent and width folding for string search (search.html#string: "case-insensitive and
 * accent-insensitive").
 */
export function foldSearchString(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The strings a string parameter compares: parts of HumanName and Address, or the string. */
export function searchStrings(values: readonly unknown[]): string[] {
  const out: string[] = [];
  const push = (value: unknown): void => {
    if (typeof value === 'string') out.push(value);
    else if (Array.isArray(value)) for (const each of value as unknown[]) push(each);
  };
  for (const value of values) {
    if (typeof value === 'string') {
      out.push(value);
    } else if (isRecord(value)) {
      for (const key of ['text', 'family', 'given', 'prefix', 'suffix']) push(value[key]);
      for (const key of ['line', 'city', 'district', 'state', 'postalCode', 'country']) {
        push(value[key]);
      }
    }
  }
  return out;
}

/** The tokens of coded values: Coding, CodeableConcept, Identifier, ContactPoint or primitives. */
export function searchTokens(values: readonly unknown[]): SearchToken[] {
  const out: SearchToken[] = [];
  for (const value of values) {
    if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') {
      out.push({ system: undefined, code: String(value), texts: [] });
    } else if (isRecord(value)) {
      if (
        Array.isArray(value['coding']) ||
        (value['text'] !== undefined && value['code'] === undefined && value['value'] === undefined)
      ) {
        const text = stringOf(value['text']);
        const codings = (Array.isArray(value['coding']) ? value['coding'] : []) as unknown[];
        for (const coding of codings) {
          if (!isRecord(coding)) continue;
          const display = stringOf(coding['display']);
          out.push({
            system: stringOf(coding['system']),
            code: stringOf(coding['code']),
            texts: [text, display].filter((each): each is string => each !== undefined),
          });
        }
        if (codings.length === 0 && text !== undefined) {
          out.push({ system: undefined, code: undefined, texts: [text] });
        }
      } else if (value['code'] !== undefined) {
        const display = stringOf(value['display']);
        out.push({
          system: stringOf(value['system']),
          code: stringOf(value['code']),
          texts: display === undefined ? [] : [display],
        });
      } else if (value['value'] !== undefined) {
        const typeText = isRecord(value['type']) ? stringOf(value['type']['text']) : undefined;
        out.push({
          system: stringOf(value['system']),
          code: stringOf(value['value']),
          texts: typeText === undefined ? [] : [typeText],
        });
      }
    }
  }
  return out;
}

/** The intervals of date values: date, dateTime, instant or Period. */
export function searchDateRanges(values: readonly unknown[]): DateRange[] {
  const out: DateRange[] = [];
  for (const value of values) {
    let range: DateRange | undefined;
    if (typeof value === 'string') range = parseDateRange(value);
    else if (isRecord(value) && (value['start'] !== undefined || value['end'] !== undefined)) {
      range = periodRange({ start: stringOf(value['start']), end: stringOf(value['end']) });
    }
    if (range !== undefined) out.push(range);
  }
  return out;
}

/**
 * A reference as `Type/id` (or as written, for one that is not of that form): the server's base
 * URL and any `/_history/{vid}` removed.
 */
export function normaliseReference(reference: string, baseUrl: string | undefined): string {
  let out = reference;
  if (baseUrl !== undefined && out.startsWith(`${baseUrl.replace(/\/+$/, '')}/`)) {
    out = out.slice(baseUrl.replace(/\/+$/, '').length + 1);
  }
  const history = out.indexOf('/_history/');
  if (history >= 0) out = out.slice(0, history);
  return out;
}

/** The references of reference values, normalised. */
export function searchReferences(
  values: readonly unknown[],
  baseUrl: string | undefined,
): string[] {
  const out: string[] = [];
  for (const value of values) {
    if (typeof value === 'string') out.push(normaliseReference(value, baseUrl));
    else if (isRecord(value) && typeof value['reference'] === 'string') {
      out.push(normaliseReference(value['reference'], baseUrl));
    }
  }
  return out;
}

function matchesString(values: readonly unknown[], filter: SearchFilter): boolean {
  const strings = searchStrings(values);
  if (filter.modifier === 'exact') {
    return strings.some((text) => filter.values.includes(text));
  }
  const folded = strings.map(foldSearchString);
  return filter.values.some((wanted) => {
    const target = foldSearchString(wanted);
    return folded.some((text) =>
      filter.modifier === 'contains' ? text.includes(target) : text.startsWith(target),
    );
  });
}

/** Splits `system|code` on its first unescaped bar; undefined system when there is no bar. */
function splitToken(value: string): { system: string | undefined; code: string | undefined } {
  for (let index = 0; index < value.length; index += 1) {
    if (value[index] === '\\') {
      index += 1;
    } else if (value[index] === '|') {
      const code = value.slice(index + 1).replace(/\\\|/g, '|');
      return {
        system: value.slice(0, index).replace(/\\\|/g, '|'),
        code: code === '' ? undefined : code,
      };
    }
  }
  return { system: undefined, code: value.replace(/\\\|/g, '|') };
}

function tokenMatches(token: SearchToken, wanted: string, hasBar: boolean): boolean {
  const { system, code } = splitToken(wanted);
  if (!hasBar) return token.code === code;
  if (system === '') return token.system === undefined && token.code === code;
  if (code === undefined) return token.system === system;
  return token.system === system && token.code === code;
}

function hasUnescapedBar(value: string): boolean {
  return splitToken(value).system !== undefined;
}

function matchesToken(values: readonly unknown[], filter: SearchFilter): boolean {
  const tokens = searchTokens(values);
  if (filter.modifier === 'text') {
    return filter.values.some((wanted) => {
      const target = foldSearchString(wanted);
      return tokens.some((token) =>
        token.texts.some((text) => foldSearchString(text).startsWith(target)),
      );
    });
  }
  const any = filter.values.some((wanted) =>
    tokens.some((token) => tokenMatches(token, wanted, hasUnescapedBar(wanted))),
  );
  // search.html#modifiers: `:not` matches every resource that has no matching token, including
  // those without the element.
  return filter.modifier === 'not' ? !any : any;
}

/**
 * One date prefix against one target interval (FHIR R4 search.html#prefix): `eq` the search range
 * contains the target; `gt`/`lt` the target reaches beyond the search range's end/start; `ge`/`le`
 * are those or `eq`; `sa`/`eb` the target lies wholly after/before; `ap` the two overlap.
 */
export function matchesDatePrefix(
  prefix: DatePrefix,
  search: DateRange,
  target: DateRange,
): boolean {
  const eq = search.start <= target.start && target.end <= search.end;
  switch (prefix) {
    case 'eq':
      return eq;
    case 'ne':
      return !eq;
    case 'gt':
      return target.end > search.end;
    case 'lt':
      return target.start < search.start;
    case 'ge':
      return eq || target.end > search.end;
    case 'le':
      return eq || target.start < search.start;
    case 'sa':
      return target.start >= search.end;
    case 'eb':
      return target.end <= search.start;
    case 'ap':
      return target.start < search.end && target.end > search.start;
  }
}

function matchesDate(values: readonly unknown[], filter: SearchFilter): boolean {
  const ranges = searchDateRanges(values);
  return filter.values.some((wanted) => {
    const { prefix, date } = splitDatePrefix(wanted);
    const search = parseDateRange(date);
    if (search === undefined) return false;
    return ranges.some((target) => matchesDatePrefix(prefix, search, target));
  });
}

function matchesReference(
  values: readonly unknown[],
  filter: SearchFilter,
  baseUrl: string | undefined,
): boolean {
  const references = searchReferences(values, baseUrl);
  const typeModifier = filter.modifier;
  return filter.values.some((raw) => {
    const wanted = normaliseReference(raw, baseUrl);
    if (typeModifier !== undefined) return references.includes(`${typeModifier}/${wanted}`);
    if (wanted.includes('/')) return references.includes(wanted);
    // A bare id (search.html#reference: `[parameter]=[id]`) matches a reference to any of the
    // parameter's target types with that id.
    return references.some((reference) => {
      const slash = reference.indexOf('/');
      return (
        slash > 0 &&
        reference.slice(slash + 1) === wanted &&
        filter.parameter.targets.includes(reference.slice(0, slash))
      );
    });
  });
}

function matchesUri(values: readonly unknown[], filter: SearchFilter): boolean {
  return values.some((value) => typeof value === 'string' && filter.values.includes(value));
}

/** True when `resource` satisfies `filter`. */
export function matchesFilter(
  resource: Resource,
  filter: SearchFilter,
  baseUrl: string | undefined,
): boolean {
  const values = parameterValues(resource, filter.parameter);
  if (filter.modifier === 'missing') return (values.length === 0) === (filter.values[0] === 'true');
  switch (filter.parameter.type) {
    case 'string':
      return matchesString(values, filter);
    case 'token':
      return matchesToken(values, filter);
    case 'date':
      return matchesDate(values, filter);
    case 'reference':
      return matchesReference(values, filter, baseUrl);
    case 'uri':
      return matchesUri(values, filter);
  }
}

/**
 * True when `resource` is of the searched type and satisfies every filter (FHIR R4
 * search.html#combining: parameters AND, comma-separated values OR). `baseUrl` lets absolute
 * references to this server match relative ones.
 */
export function matchesSearch(
  resource: Resource,
  request: SearchRequest,
  baseUrl?: string,
): boolean {
  if (resource.resourceType !== request.type) return false;
  return request.filters.every((filter) => matchesFilter(resource, filter, baseUrl));
}
