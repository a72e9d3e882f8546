/**
 * Server-owned metadata of a stored version and the ETag of versioned updates (FHIR R4
 * http.html#create: the server sets `id`, `meta.versionId` and `meta.lastUpdated`;
 * http.html#concurrency: `ETag: W/"{versionId}"` and `If-Match` → 412 on a mismatch).
 */
import type { Resource } from '@medplum/fhirtypes';

import { FhirError, preconditionFailed } from './operation-outcome.ts';
import { parseDateRange } from './date-range.ts';
import { isFhirId } from './resource-types.ts';

const instantPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** True when `text` is a FHIR instant (FHIR R4 datatypes.html#instant). */
export function isFhirInstant(text: unknown): text is string {
  return (
    typeof text === 'string' && instantPattern.test(text) && parseDateRange(text) !== undefined
  );
}

/**
 * A copy of `resource` with the server's `id`, `meta.versionId` and `meta.lastUpdated`; whatever
 * the client sent in those is replaced, the rest of `meta` (security labels, tags, profiles) kept.
 * `lastUpdated` is an instant given by the caller (no clock here).
 */
export function withServerMeta<T extends Resource>(
  resource: T,
  options: { id: string; versionId: string; lastUpdated: string },
): T {
  if (!isFhirId(options.id)) {
    throw new FhirError(
      'value',
      `expected a FHIR id, found ${JSON.stringify(String(options.id).slice(0, 80))}`,
    );
  }
  if (!isFhirId(options.versionId)) {
    throw new FhirError(
      'value',
      `expected a FHIR id as versionId, found ${JSON.stringify(String(options.versionId).slice(0, 80))}`,
    );
  }
  if (!isFhirInstant(options.lastUpdated)) {
    throw new FhirError(
      'value',
      `expected lastUpdated to be a FHIR instant, found ${JSON.stringify(String(options.lastUpdated).slice(0, 80))}`,
    );
  }
  return {
    ...resource,
    id: options.id,
    meta: { ...resource.meta, versionId: options.versionId, lastUpdated: options.lastUpdated },
  };
}

/** The ETag of a version: `W/"{versionId}"` (FHIR R4 http.html#versioning). */
export function formatEtag(versionId: string): string {
  return `W/"${versionId}"`;
}

/**
 * The versionId in an ETag or `If-Match` value, weak (`W/"3"`) or strong (`"3"`). Throws a 400
 * `FhirError` for anything else.
 */
export function parseEtag(value: string): string {
  const match = /^(?:W\/)?"([A-Za-z0-9\-.]{1,64})"$/.exec(value.trim());
  if (match === null) {
    throw new FhirError(
      'value',
      `expected an ETag like W/"3", found ${JSON.stringify(value.slice(0, 80))}`,
      {
        expression: ['If-Match'],
      },
    );
  }
  return match[1]!;
}

/**
 * Checks an `If-Match` header against the current version (FHIR R4 http.html#concurrency): nothing
 * when absent or equal; a 412 `conflict` naming both versions when they differ.
 */
export function assertIfMatch(options: {
  ifMatch: string | undefined;
  currentVersionId: string;
}): void {
  if (options.ifMatch === undefined) return;
  const wanted = parseEtag(options.ifMatch);
  if (wanted !== options.currentVersionId) {
    throw preconditionFailed(
      `expected If-Match to name the current version ${formatEtag(options.currentVersionId)}, found ${formatEtag(wanted)}`,
    );
  }
}

/** `{baseUrl}/{type}/{id}/_history/{versionId}`: the `Location` of a create or update. */
export function versionLocation(options: {
  baseUrl: string;
  type: string;
  id: string;
  versionId: string;
}): string {
  return `${options.baseUrl.replace(/\/+$/, '')}/${options.type}/${options.id}/_history/${options.versionId}`;
}
