/**
 * The history interaction's answer (FHIR R4 http.html#history, bundle.html#history): a `history`
 * Bundle whose entries carry each version with its `request` (what was done) and `response`
 * (status, ETag, lastModified); a deleted version has no resource.
 */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';

import { assert } from '../base/index.ts';

import { fhirLimits } from './limits.ts';
import { formatEtag } from './resource-version.ts';

/** One version of one resource, as stored. */
export interface HistoryVersion {
  readonly type: string;
  readonly id: string;
  readonly versionId: string;
  /** Instant the version was written (meta.lastUpdated). */
  readonly lastUpdated: string;
  /** The interaction that made the version. */
  readonly interaction: 'create' | 'update' | 'delete';
  /** The version's content; absent for a delete. */
  readonly resource?: Resource;
}

const requestOf = {
  create: { method: 'POST', status: '201 Created' },
  update: { method: 'PUT', status: '200 OK' },
  delete: { method: 'DELETE', status: '204 No Content' },
} as const;

/**
 * A `history` Bundle of `versions`, given newest first (http.html#history: "sorted with oldest
 * versions last"). `total` defaults to the number of versions; `selfUrl` and `nextUrl` become links.
 */
export function historyBundle(options: {
  baseUrl: string;
  versions: readonly HistoryVersion[];
  selfUrl: string;
  nextUrl?: string;
  total?: number;
}): Bundle {
  assert(
    options.versions.length <= fhirLimits.historyEntryCountMax,
    'a history page holds at most historyEntryCountMax versions',
  );
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const entry: BundleEntry[] = options.versions.map((version) => {
    const { method, status } = requestOf[version.interaction];
    return {
      fullUrl: `${baseUrl}/${version.type}/${version.id}`,
      ...(version.resource !== undefined && version.interaction !== 'delete'
        ? { resource: version.resource }
        : {}),
      request: {
        method,
        url: version.interaction === 'create' ? version.type : `${version.type}/${version.id}`,
      },
      response: {
        status,
        etag: formatEtag(version.versionId),
        lastModified: version.lastUpdated,
        ...(version.interaction === 'delete'
          ? {}
          : { location: `${version.type}/${version.id}/_history/${version.versionId}` }),
      },
    };
  });
  return {
    resourceType: 'Bundle',
    type: 'history',
    total: options.total ?? options.versions.length,
    link: [
      { relation: 'self', url: options.selfUrl },
      ...(options.nextUrl !== undefined ? [{ relation: 'next', url: options.nextUrl }] : []),
    ],
    ...(entry.length > 0 ? { entry } : {}),
  };
}
