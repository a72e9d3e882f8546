/**
 * The search interaction on already-authorised candidates (FHIR R4 http.html#search,
 * search.html): match, sort, page with an opaque cursor, add `_include`/`_revinclude` resources
 * from an authorised pool, and build the `searchset` Bundle with `total`, `self` and `next` links
 * and `fullUrl`s (bundle.html#searchset).
 *
 * The caller filters candidates by consent and security labels BEFORE calling: totals and pages
 * are computed here from what it passes, so a row it has not removed would be counted
 * (CONVENTIONS.md: filter before paging and totals, or counts leak hidden rows).
 */
import type { Bundle, BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';

import { assert } from '../base/index.ts';

import { operationOutcome, suppressedIssue } from './operation-outcome.ts';
import {
  foldSearchString,
  matchesSearch,
  parameterValues,
  searchDateRanges,
  searchReferences,
  searchStrings,
  searchTokens,
} from './match-search.ts';
import { parseSearchRequest } from './parse-search.ts';
import type { IncludeRequest, SearchParams, SearchRequest, SortKey } from './parse-search.ts';
import { decodeSearchCursor, encodeSearchCursor, searchQueryHash } from './search-cursor.ts';

/** Most passes of `_include:iterate` / `_revinclude:iterate` over newly included resources. */
export const includeIterationsMax = 3;

/** Options of `searchResources`. */
export interface SearchResourcesOptions {
  readonly type: string;
  readonly params: SearchParams;
  /** Candidates the caller has ALREADY authorised (consent, labels); others are never counted. */
  readonly resources: readonly Resource[];
  /** The FHIR base URL (`https://node.example/fhir`), without a trailing slash. */
  readonly baseUrl: string;
  /** A cursor given apart from `params` (it wins over `_cursor` in them). */
  readonly cursor?: string;
  /**
   * Authorised resources that `_include` and `_revinclude` may add. Resources not in this pool are
   * never included, so the caller authorises included resources the same way as matches.
   */
  readonly includeCandidates?: readonly Resource[];
  /** Adds an OperationOutcome entry with a `suppressed` issue (no count) when true. */
  readonly suppressed?: boolean;
}

/** What `searchResources` found. */
export interface SearchResult {
  readonly bundle: Bundle;
  readonly request: SearchRequest;
  /** Every match, before paging. */
  readonly total: number;
  /** The matches on this page, in order. */
  readonly page: readonly Resource[];
  readonly included: readonly Resource[];
}

type SortValue = string | number | undefined;

function compareValues(a: SortValue, b: SortValue): number {
  if (a === b) return 0;
  // Resources without a value sort last in both directions.
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a < b ? -1 : 1;
}

function sortValue(resource: Resource, key: SortKey, baseUrl: string): SortValue {
  const values = parameterValues(resource, key.parameter);
  let candidates: Array<string | number> = [];
  switch (key.parameter.type) {
    case 'date': {
      const ranges = searchDateRanges(values);
      candidates = ranges.map((range) => (key.descending ? range.end : range.start));
      break;
    }
    case 'string':
      candidates = searchStrings(values).map(foldSearchString);
      break;
    case 'token':
      candidates = searchTokens(values).flatMap((token) =>
        token.code === undefined ? [] : [token.code],
      );
      break;
    case 'reference':
      candidates = searchReferences(values, baseUrl);
      break;
    case 'uri':
      candidates = values.filter((value): value is string => typeof value === 'string');
      break;
  }
  if (candidates.length === 0) return undefined;
  // search.html#sort: with many values, ascending uses the lowest and descending the highest.
  return candidates.reduce((best, each) =>
    key.descending ? (each > best ? each : best) : each < best ? each : best,
  );
}

function idOf(resource: Resource): string {
  return resource.id ?? '';
}

/** Sorts matches by the `_sort` keys, then by id, then by input order: a total, stable order. */
export function sortResources(
  resources: readonly Resource[],
  sort: readonly SortKey[],
  baseUrl: string,
): Resource[] {
  const keyed = resources.map((resource, index) => ({
    resource,
    index,
    values: sort.map((key) => sortValue(resource, key, baseUrl)),
  }));
  keyed.sort((a, b) => {
    for (let position = 0; position < sort.length; position += 1) {
      const order = compareValues(a.values[position], b.values[position]);
      if (order !== 0) {
        const bothPresent = a.values[position] !== undefined && b.values[position] !== undefined;
        return bothPresent && sort[position]!.descending ? -order : order;
      }
    }
    const byId = compareValues(idOf(a.resource), idOf(b.resource));
    return byId !== 0 ? byId : a.index - b.index;
  });
  return keyed.map((entry) => entry.resource);
}

function keyOf(resource: Resource): string {
  return `${resource.resourceType}/${idOf(resource)}`;
}

function referencesOf(resource: Resource, include: IncludeRequest, baseUrl: string): string[] {
  if (resource.resourceType !== include.sourceType) return [];
  return searchReferences(parameterValues(resource, include.parameter), baseUrl).filter(
    (reference) =>
      include.targetType === undefined || reference.startsWith(`${include.targetType}/`),
  );
}

/** The resources of `pool` that the page's `_include`s and `_revinclude`s reach. */
function includedResources(
  page: readonly Resource[],
  request: SearchRequest,
  pool: readonly Resource[],
  baseUrl: string,
): Resource[] {
  if (request.include.length + request.revinclude.length === 0) return [];
  const byKey = new Map(pool.map((resource) => [keyOf(resource), resource]));
  const seen = new Set(page.map(keyOf));
  const out: Resource[] = [];
  let frontier: readonly Resource[] = page;
  for (let pass = 0; pass <= includeIterationsMax && frontier.length > 0; pass += 1) {
    const next: Resource[] = [];
    const add = (resource: Resource): void => {
      const key = keyOf(resource);
      if (seen.has(key)) return;
      seen.add(key);
      out.push(resource);
      next.push(resource);
    };
    const iterateOnly = pass > 0;
    for (const include of request.include) {
      if (iterateOnly && !include.iterate) continue;
      for (const resource of frontier) {
        for (const reference of referencesOf(resource, include, baseUrl)) {
          const target = byKey.get(reference);
          if (target !== undefined) add(target);
        }
      }
    }
    for (const include of request.revinclude) {
      if (iterateOnly && !include.iterate) continue;
      const wanted = new Set(frontier.map(keyOf));
      for (const candidate of pool) {
        if (referencesOf(candidate, include, baseUrl).some((reference) => wanted.has(reference))) {
          add(candidate);
        }
      }
    }
    frontier = next;
  }
  return sortResources(out, [], baseUrl).sort((a, b) =>
    a.resourceType < b.resourceType ? -1 : a.resourceType > b.resourceType ? 1 : 0,
  );
}

function searchUrl(baseUrl: string, type: string, query: string, cursor?: string): string {
  const parts = [query, cursor === undefined ? '' : `_cursor=${cursor}`].filter(
    (part) => part !== '',
  );
  return parts.length === 0 ? `${baseUrl}/${type}` : `${baseUrl}/${type}?${parts.join('&')}`;
}

/**
 * Runs a search over authorised candidates and builds its `searchset` Bundle (FHIR R4
 * bundle.html#searchset). Throws a 400 `FhirError` for a bad query or a cursor of another query.
 */
export function searchResources(options: SearchResourcesOptions): SearchResult {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const request = parseSearchRequest({ type: options.type, params: options.params });
  for (const resource of options.resources) {
    assert(resource.id !== undefined, 'search candidates are stored resources, each with an id');
  }
  const queryHash = searchQueryHash(request.type, request.canonicalQuery);
  const cursor = options.cursor ?? request.cursor;
  const offset = cursor === undefined ? 0 : decodeSearchCursor(cursor, queryHash);
  const matches = sortResources(
    options.resources.filter((resource) => matchesSearch(resource, request, baseUrl)),
    request.sort,
    baseUrl,
  );
  const page = matches.slice(offset, offset + request.count);
  const included = includedResources(page, request, options.includeCandidates ?? [], baseUrl);
  const link: BundleLink[] = [
    { relation: 'self', url: searchUrl(baseUrl, request.type, request.canonicalQuery, cursor) },
  ];
  if (request.count > 0 && offset + request.count < matches.length) {
    const next = encodeSearchCursor({ offset: offset + request.count, queryHash });
    link.push({
      relation: 'next',
      url: searchUrl(baseUrl, request.type, request.canonicalQuery, next),
    });
  }
  const entry: BundleEntry[] = [
    ...page.map((resource) => ({
      fullUrl: `${baseUrl}/${keyOf(resource)}`,
      resource,
      search: { mode: 'match' as const },
    })),
    ...included.map((resource) => ({
      fullUrl: `${baseUrl}/${keyOf(resource)}`,
      resource,
      search: { mode: 'include' as const },
    })),
  ];
  if (options.suppressed === true) {
    entry.push({ resource: operationOutcome([suppressedIssue()]), search: { mode: 'outcome' } });
  }
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(request.total === 'none' ? {} : { total: matches.length }),
    link,
    ...(entry.length > 0 ? { entry } : {}),
  };
  return { bundle, request, total: matches.length, page, included };
}
