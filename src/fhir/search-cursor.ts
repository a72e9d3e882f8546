/**
 * The opaque `_cursor` of a search's `next` link (FHIR R4 http.html#paging: the server decides how
 * paging links look). It is base64url of the offset and a hash of the query it belongs to, so a
 * cursor carried over to a different query is refused rather than paging through the wrong rows.
 */
import { toHex, utf8 } from '../base/index.ts';
import { sha256 } from '../crypto/index.ts';

import { FhirError } from './operation-outcome.ts';

/** Hex characters of the query hash kept in a cursor (128 bits). */
const queryHashCharacters = 32;

/** Largest offset a cursor may carry. */
const cursorOffsetMax = 1_000_000_000;

/** The hash that binds a cursor to `type` and its canonical query. */
export function searchQueryHash(type: string, canonicalQuery: string): string {
  return toHex(sha256(utf8(`medledger/fhir-search/v1\n${type}?${canonicalQuery}`))).slice(
    0,
    queryHashCharacters,
  );
}

/** The cursor for the page starting at `offset` of the query. */
export function encodeSearchCursor(options: { offset: number; queryHash: string }): string {
  return Buffer.from(JSON.stringify({ o: options.offset, q: options.queryHash }), 'utf8').toString(
    'base64url',
  );
}

/**
 * The offset a cursor carries. Throws a 400 `FhirError` when it is not a cursor of this server or
 * was made for another query.
 */
export function decodeSearchCursor(cursor: string, queryHash: string): number {
  let decoded: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new FhirError(
      'value',
      'expected a _cursor from a next link of this server, found another value',
      {
        expression: ['_cursor'],
      },
    );
  }
  const record = decoded as { o?: unknown; q?: unknown } | null;
  const offset = record?.o;
  if (
    typeof offset !== 'number' ||
    !Number.isSafeInteger(offset) ||
    offset < 0 ||
    offset > cursorOffsetMax ||
    typeof record?.q !== 'string'
  ) {
    throw new FhirError(
      'value',
      'expected a _cursor from a next link of this server, found another value',
      {
        expression: ['_cursor'],
      },
    );
  }
  if (record.q !== queryHash) {
    throw new FhirError(
      'invalid',
      'expected a _cursor made for this query, found one made for another query',
      {
        expression: ['_cursor'],
      },
    );
  }
  return offset;
}
