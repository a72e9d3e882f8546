// Checks the group commit of record anchors against a recording stand-in for the node's
// `submitOwnAndWait` (the contracts' own tests cover `record.anchor-batch` itself): anchors queued
// within the delay share a transaction (a full batch at once), a lone anchor goes alone, batches are bounded, a refused batch is
// retried anchor by anchor, and a failed submission fails every anchor of its batch.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { AnchorRecordInput } from '../../src/contracts/index.ts';
import type { TransactionLocation } from '../../src/node/index.ts';
import { AnchorBatcher } from '../../src/records/anchor-batcher.ts';
import { recordsLimits } from '../../src/records/limits.ts';

/** The version that the stand-in's "contract" refuses. */
const refusedVersion = 99;

type Sent = { kind: string; versions: number[] };

function standInNode(options: { fail?: boolean } = {}) {
  const sent: Sent[] = [];
  let next = 0;
  const node = {
    submitOwnAndWait(kind: string, body: unknown): Promise<TransactionLocation> {
      const anchors =
        kind === 'record.anchor-batch'
          ? (body as { anchors: AnchorRecordInput[] }).anchors
          : [body as AnchorRecordInput];
      const versions = anchors.map((anchor) => anchor.version);
      sent.push({ kind, versions });
      if (options.fail === true) return Promise.reject(new Error('not committed in time'));
      const ok = !versions.includes(refusedVersion);
      next += 1;
      return Promise.resolve({
        txId: new Uint8Array(32).fill(next),
        height: next,
        index: 0,
        logIndex: next,
        receipt: {
          txId: new Uint8Array(32).fill(next),
          ok,
          code: ok ? null : 'version-out-of-order',
          message: ok ? null : 'expected version 1, found 99',
          events: [],
          cost: 1,
        },
      } as TransactionLocation);
    },
  };
  return { node: node as ConstructorParameters<typeof AnchorBatcher>[0]['node'], sent };
}

function anchorOf(version: number): AnchorRecordInput {
  return {
    recordId: new Uint8Array(16).fill(version),
    version,
    resourceType: 'Observation',
    patientId: new Uint8Array(16).fill(7),
    custodian: 'hospital',
    contentHash: new Uint8Array(32).fill(version),
    securityLabels: [],
  };
}

test('anchors queued in one turn go as one record.anchor-batch and share its location', async () => {
  const { node, sent } = standInNode();
  const batcher = new AnchorBatcher({ node });
  const locations = await Promise.all([1, 2, 3].map((v) => batcher.anchor(anchorOf(v))));
  assert.deepEqual(sent, [{ kind: 'record.anchor-batch', versions: [1, 2, 3] }]);
  assert.ok(locations.every((location) => location === locations[0]));
  assert.ok(locations[0]!.receipt.ok);
  assert.deepEqual(batcher.counts, { batches: 1, batchedAnchors: 3, retriedAnchors: 0 });
});

test('a lone anchor goes as a plain record.anchor', async () => {
  const { node, sent } = standInNode();
  const batcher = new AnchorBatcher({ node });
  await batcher.anchor(anchorOf(1));
  await batcher.anchor(anchorOf(2));
  assert.deepEqual(sent, [
    { kind: 'record.anchor', versions: [1] },
    { kind: 'record.anchor', versions: [2] },
  ]);
  assert.equal(batcher.counts.batches, 0);
});

test('a turn with more than anchorBatchMax anchors is split into bounded batches', async () => {
  const { node, sent } = standInNode();
  const batcher = new AnchorBatcher({ node });
  const count = 2 * recordsLimits.anchorBatchMax + 1;
  await Promise.all(Array.from({ length: count }, (_, i) => batcher.anchor(anchorOf(i + 1))));
  assert.deepEqual(
    sent.map((item) => item.versions.length),
    [recordsLimits.anchorBatchMax, recordsLimits.anchorBatchMax, 1],
  );
  assert.deepEqual(
    sent.map((item) => item.kind),
    ['record.anchor-batch', 'record.anchor-batch', 'record.anchor'],
  );
  assert.deepEqual(
    sent.flatMap((item) => item.versions),
    Array.from({ length: count }, (_, i) => i + 1),
  );
});

test('a refused batch is sent again anchor by anchor, and only the faulty one is refused', async () => {
  const { node, sent } = standInNode();
  const batcher = new AnchorBatcher({ node });
  const [good, bad, alsoGood] = await Promise.all(
    [1, refusedVersion, 3].map((v) => batcher.anchor(anchorOf(v))),
  );
  assert.deepEqual(sent, [
    { kind: 'record.anchor-batch', versions: [1, refusedVersion, 3] },
    { kind: 'record.anchor', versions: [1] },
    { kind: 'record.anchor', versions: [refusedVersion] },
    { kind: 'record.anchor', versions: [3] },
  ]);
  assert.equal(good!.receipt.ok, true);
  assert.equal(alsoGood!.receipt.ok, true);
  assert.equal(bad!.receipt.ok, false);
  assert.equal(bad!.receipt.code, 'version-out-of-order');
  assert.notEqual(good!.txId, alsoGood!.txId);
  assert.equal(batcher.counts.retriedAnchors, 3);
});

test('a batch that was not committed fails every anchor in it with the same error', async () => {
  const { node, sent } = standInNode({ fail: true });
  const batcher = new AnchorBatcher({ node });
  const outcomes = await Promise.allSettled([1, 2].map((v) => batcher.anchor(anchorOf(v))));
  assert.equal(sent.length, 1);
  for (const outcome of outcomes) {
    assert.equal(outcome.status, 'rejected');
    assert.match(String(outcome.reason), /not committed in time/);
  }
});

test('anchors queued apart within the delay share a batch; a full batch goes at once', async () => {
  const { node, sent } = standInNode();
  const batcher = new AnchorBatcher({ node });
  const first = batcher.anchor(anchorOf(1));
  // Another turn of the event loop, well within the delay.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(sent.length, 0);
  const second = batcher.anchor(anchorOf(2));
  await Promise.all([first, second]);
  assert.deepEqual(sent, [{ kind: 'record.anchor-batch', versions: [1, 2] }]);

  const full = Array.from({ length: recordsLimits.anchorBatchMax }, (_, i) =>
    batcher.anchor(anchorOf(10 + i)),
  );
  // Sent before this test yields: a full batch does not wait for the delay.
  assert.equal(sent.length, 2);
  assert.equal(sent[1]!.versions.length, recordsLimits.anchorBatchMax);
  await Promise.all(full);
});
