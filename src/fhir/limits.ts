/**
 * Bounds of the FHIR edge (TIGER_STYLE: every size has a limit, named with its unit). Input beyond
 * them is refused with a 400 OperationOutcome naming the limit, never truncated.
 */
import { contractLimits } from '../contracts/index.ts';

export const fhirLimits = {
  /** Largest resource or Bundle body, in UTF-8 bytes. */
  resourceBytesMax: 4 * 1024 * 1024,
  /** Deepest nesting of JSON objects and arrays in one body, in levels. */
  jsonDepthMax: 48,
  /** Most JSON values (objects, arrays, primitives) in one body. */
  jsonValueCountMax: 200_000,
  /** Longest FHIR id, in characters (FHIR R4 datatypes.html#id). */
  idCharactersMax: 64,
  /** Page size of a search without `_count`, in resources. */
  searchCountDefault: 20,
  /** Largest page of a search; a larger `_count` is capped to it, in resources. */
  searchCountMax: 100,
  /** Most search parameters (after `&` splitting) in one search. */
  searchParameterCountMax: 64,
  /** Most comma-separated values in one search parameter. */
  searchValueCountMax: 32,
  /** Longest single search parameter value, in characters. */
  searchValueCharactersMax: 1024,
  /** Most `_sort` keys in one search. */
  sortKeyCountMax: 8,
  /** Most `_include` plus `_revinclude` requests in one search. */
  includeCountMax: 8,
  /** Longest `_cursor` value, in characters. */
  cursorCharactersMax: 256,
  /**
   * Most entries in one transaction or batch Bundle: a transaction's writes are anchored in one
   * `record.anchor-batch`, so no more than it holds (decision 0058; it was 500, which would not
   * fit the chain's 64 KiB transaction).
   */
  transactionEntryCountMax: contractLimits.recordAnchorBatchMax,
  /** Most entries in one history Bundle page. */
  historyEntryCountMax: 1000,
} as const;
