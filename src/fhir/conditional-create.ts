/**
 * Conditional create (FHIR R4 http.html#ccreate): `If-None-Exist: [search parameters]` runs as a
 * search; no match → create (201), one match → nothing created (200, the match), several → 412.
 */
import { FhirError, preconditionFailed } from './operation-outcome.ts';
import { parseSearchRequest } from './parse-search.ts';
import type { SearchRequest } from './parse-search.ts';

/**
 * The search an `If-None-Exist` header asks for: its value is a query (`identifier=sys|123`),
 * optionally written as `{type}?query`. Throws a 400 `FhirError` when it names no parameter of the
 * type or carries result parameters (`_sort`, `_count`, …).
 */
export function parseIfNoneExist(options: { type: string; header: string }): SearchRequest {
  let query = options.header.trim();
  const question = query.indexOf('?');
  if (question >= 0) {
    const prefix = query.slice(0, question);
    if (prefix !== options.type && prefix !== '') {
      throw new FhirError(
        'invalid',
        `expected If-None-Exist to search ${options.type}, found a search of ${JSON.stringify(prefix.slice(0, 64))}`,
        { expression: ['If-None-Exist'] },
      );
    }
    query = query.slice(question + 1);
  }
  const request = parseSearchRequest({ type: options.type, params: new URLSearchParams(query) });
  const resultParameters =
    request.sort.length + request.include.length + request.revinclude.length > 0 ||
    request.canonicalQuery.includes('_count=') ||
    request.canonicalQuery.includes('_total=') ||
    request.canonicalQuery.includes('_summary=');
  if (request.filters.length === 0 || resultParameters) {
    throw new FhirError(
      'invalid',
      `expected If-None-Exist to hold search parameters of ${options.type} only, found ${JSON.stringify(options.header.slice(0, 120))}`,
      { expression: ['If-None-Exist'] },
    );
  }
  return request;
}

/**
 * What a conditional create does given how many existing resources its search matched (after
 * authorisation): `create` for none, `exists` for one; several → 412 `conflict`.
 */
export function decideConditionalCreate(matchCount: number): 'create' | 'exists' {
  if (matchCount === 0) return 'create';
  if (matchCount === 1) return 'exists';
  throw preconditionFailed(
    `expected If-None-Exist to match at most one resource, found ${matchCount} (http.html#ccreate)`,
  );
}
