/**
 * Reading the break-glass review queue (`GET /fhir/$break-glass-review`), which the server pages
 * (decision 0059): the privacy-review page follows its `next` links up to a bound.
 */
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';

/** Pages of the review queue read at most (100 uses each); beyond them the page says so. */
export const reviewQueuePagesMax = 10;

/** What the queue's pages held: the events read, the server's total, and whether more remain. */
export interface ReviewQueuePages {
  readonly events: readonly AuditEvent[];
  readonly total: number | null;
  readonly more: boolean;
}

/**
 * Reads the review queue page by page, following each Bundle's `next` link (decision 0059: the
 * queue is paged), at most `reviewQueuePagesMax` pages. `fetchPage` gets a same-origin path.
 */
export async function loadReviewQueue(
  fetchPage: (path: string) => Promise<Bundle<AuditEvent>>,
): Promise<ReviewQueuePages> {
  const events: AuditEvent[] = [];
  let total: number | null = null;
  let path: string | null = '/fhir/$break-glass-review';
  for (let page = 0; path !== null && page < reviewQueuePagesMax; page += 1) {
    const bundle: Bundle<AuditEvent> = await fetchPage(path);
    total ??= bundle.total ?? null;
    for (const entry of bundle.entry ?? []) {
      if (entry.resource?.resourceType === 'AuditEvent') events.push(entry.resource);
    }
    const next = bundle.link?.find((link) => link.relation === 'next')?.url;
    // The server writes absolute links; the app asks its own origin for the same path.
    if (next === undefined) path = null;
    else {
      const url = new URL(next, 'http://origin');
      path = `${url.pathname}${url.search}`;
    }
  }
  return { events, total, more: path !== null };
}
