// Checks the audit batcher's bound against a stand-in for the node's `submitOwnAndWait` that
// never commits: events in flight count against the queue, a full queue refuses with a 429 that
// carries Retry-After, and batches hold at most auditBatchEventsMax events.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import pino from 'pino';

import type { AuditEventInput } from '../../src/contracts/index.ts';
import { FhirError } from '../../src/fhir/index.ts';
import { AuditBatcher } from '../../src/records/index.ts';
import { recordsLimits } from '../../src/records/limits.ts';

function eventAt(time: number): AuditEventInput {
  return {
    practitionerId: 'dr-ada',
    clientId: null,
    patientId: new Uint8Array(16).fill(7),
    recordId: null,
    recordVersion: null,
    queryHash: null,
    action: 'read',
    purpose: 'TREAT',
    decision: 'permit',
    reason: 'consent',
    consentId: null,
    breakGlassId: null,
    time,
  };
}

test('a full audit queue refuses the next event with 429 and Retry-After; batches are bounded', async () => {
  const batchSizes: number[] = [];
  const node = {
    submitOwnAndWait: (_kind: string, body: { events: unknown[] }) => {
      batchSizes.push(body.events.length);
      return new Promise<never>(() => {}); // never commits
    },
  };
  const batcher = new AuditBatcher({
    node: node as unknown as ConstructorParameters<typeof AuditBatcher>[0]['node'],
    logger: pino({ level: 'silent' }),
  });
  for (let i = 0; i < recordsLimits.auditQueueEventsMax; i += 1) batcher.record(eventAt(i));
  assert.equal(batcher.counts.queued, recordsLimits.auditQueueEventsMax);
  assert.throws(
    () => batcher.record(eventAt(-1)),
    (error: unknown) =>
      error instanceof FhirError &&
      error.status === 429 &&
      error.code === 'throttled' &&
      error.details['retryAfterSeconds'] === recordsLimits.auditQueueRetryAfterSeconds,
  );
  // The timers send what they may; what is in flight still counts against the bound.
  await new Promise((resolve) => setTimeout(resolve, recordsLimits.auditBatchDelayMs + 50));
  assert.equal(batchSizes.length, recordsLimits.auditBatchesInFlightMax);
  assert.ok(batchSizes.every((size) => size === recordsLimits.auditBatchEventsMax));
  assert.equal(batcher.counts.queued, recordsLimits.auditQueueEventsMax);
  assert.throws(() => batcher.record(eventAt(-2)), FhirError);
});

test('below the bound an event is queued and sent in a batch', async () => {
  const batchSizes: number[] = [];
  const node = {
    submitOwnAndWait: (_kind: string, body: { events: unknown[] }) => {
      batchSizes.push(body.events.length);
      return Promise.resolve({ receipt: { ok: true } });
    },
  };
  const batcher = new AuditBatcher({
    node: node as unknown as ConstructorParameters<typeof AuditBatcher>[0]['node'],
    logger: pino({ level: 'silent' }),
  });
  batcher.record(eventAt(1));
  batcher.record(eventAt(2));
  await batcher.flush();
  assert.deepEqual(batchSizes, [2]);
  assert.deepEqual(batcher.counts, { sent: 2, failed: 0, queued: 0 });
});
