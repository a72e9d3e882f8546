// Checks the review page's reading of the paged break-glass queue with stand-in pages, without a
// browser: it follows `next` links as same-origin paths, keeps the server's total, and stops at
// reviewQueuePagesMax pages, saying that more remain.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { AuditEvent, Bundle } from '@medplum/fhirtypes';

import { loadReviewQueue, reviewQueuePagesMax } from '../../src/web/review-queue.ts';

/** A queue of `count` uses served 100 a page, with absolute `next` links as the server writes. */
function pagedQueue(count: number): {
  fetchPage: (path: string) => Promise<Bundle<AuditEvent>>;
  asked: string[];
} {
  const asked: string[] = [];
  const fetchPage = (path: string): Promise<Bundle<AuditEvent>> => {
    asked.push(path);
    const cursor = Number(new URL(path, 'http://x').searchParams.get('_cursor') ?? 0);
    const events = Array.from({ length: Math.max(0, Math.min(100, count - cursor)) }, (_, i) => ({
      resourceType: 'AuditEvent' as const,
      id: `use-${cursor + i}`,
      type: { code: '110113' },
      recorded: '2026-01-01T00:00:00Z',
      agent: [],
      source: { observer: {} },
    }));
    const next = cursor + 100 < count ? cursor + 100 : null;
    return Promise.resolve({
      resourceType: 'Bundle',
      type: 'searchset',
      total: count,
      entry: [
        ...events.map((resource) => ({ resource })),
        { resource: { resourceType: 'OperationOutcome', issue: [] } },
      ],
      link: [
        { relation: 'self', url: `http://127.0.0.1:8080${path}` },
        ...(next === null
          ? []
          : [
              {
                relation: 'next',
                url: `http://127.0.0.1:8080/fhir/$break-glass-review?_count=100&_cursor=${next}`,
              },
            ]),
      ],
    } as Bundle<AuditEvent>);
  };
  return { fetchPage, asked };
}

test('every page of a queue is read, following next links as same-origin paths', async () => {
  const { fetchPage, asked } = pagedQueue(250);
  const queue = await loadReviewQueue(fetchPage);
  assert.equal(queue.events.length, 250);
  assert.equal(queue.total, 250);
  assert.equal(queue.more, false);
  assert.deepEqual(asked, [
    '/fhir/$break-glass-review',
    '/fhir/$break-glass-review?_count=100&_cursor=100',
    '/fhir/$break-glass-review?_count=100&_cursor=200',
  ]);
  assert.equal(new Set(queue.events.map((event) => event.id)).size, 250);
});

test('a queue longer than the page bound stops there and says more remain', async () => {
  const count = reviewQueuePagesMax * 100 + 1;
  const { fetchPage, asked } = pagedQueue(count);
  const queue = await loadReviewQueue(fetchPage);
  assert.equal(asked.length, reviewQueuePagesMax);
  assert.equal(queue.events.length, reviewQueuePagesMax * 100);
  assert.equal(queue.total, count);
  assert.equal(queue.more, true);
});

test('an empty queue is one page with nothing in it', async () => {
  const { fetchPage, asked } = pagedQueue(0);
  const queue = await loadReviewQueue(fetchPage);
  assert.deepEqual(queue, { events: [], total: 0, more: false });
  assert.equal(asked.length, 1);
});
