// Checks `record.anchor-batch` by executing blocks on a small network: each item obeys exactly the
// rules of `record.anchor`, one refused item fails the whole batch naming it and changes nothing
// but the nonce, and the bound of the batch fits the chain's transaction size and cost limits.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { shortHex, utf8 } from '../../src/base/index.ts';
import {
  type Transaction,
  chainLimits,
  encodeTransaction,
  signTransaction,
} from '../../src/chain/index.ts';
import type { CborValue } from '../../src/codec/index.ts';
import { sha256 } from '../../src/crypto/index.ts';
import {
  type AnchorRecordInput,
  type Receipt,
  contractBody,
  contractLimits,
  readNextNonce,
  readRecordHead,
  readRecordVersion,
} from '../../src/contracts/index.ts';
import { Network, chainId, genesisDocument, idOf, keyOf } from './fixtures.ts';

function network(): { net: Network; p1: Uint8Array; p2: Uint8Array; kept: Uint8Array } {
  const net = new Network();
  net.practitioner('org-a', 'alice', ['doctor']);
  net.practitioner('org-b', 'bob', ['doctor']);
  const p1 = net.patient('p1');
  const p2 = net.patient('p2');
  const kept = net.anchor({ record: 'kept', patientId: p1 });
  return { net, p1, p2, kept };
}

function item(
  record: Uint8Array,
  patientId: Uint8Array,
  overrides: Partial<AnchorRecordInput> = {},
): AnchorRecordInput {
  return {
    recordId: record,
    version: 1,
    resourceType: 'Observation',
    patientId,
    custodian: 'org-a',
    contentHash: sha256(utf8(`content:${shortHex(record)}:${overrides.version ?? 1}`)),
    securityLabels: ['N'],
    ...overrides,
  };
}

function refused(receipt: Receipt, code: string, message: RegExp): void {
  assert.equal(receipt.ok, false, `expected failure ${code}, the batch succeeded`);
  assert.equal(receipt.code, code, receipt.message ?? '');
  assert.match(receipt.message ?? '', message);
  assert.deepEqual(receipt.events, [], 'a refused batch emits no event');
}

/** A `record.anchor-batch` whose body is `anchors` as given, unchecked by the schema. */
function rawBatch(net: Network, signer: string, anchors: CborValue[]): Transaction {
  const keyPair = keyOf(signer);
  return signTransaction({
    unsigned: {
      chainId,
      kind: 'record.anchor-batch',
      body: [anchors],
      signer: keyPair.publicKey,
      nonce: readNextNonce(net.state, keyPair.publicKey),
    },
    keyPair,
  });
}

test('a batch anchors new records and next versions at once, one record.anchored event each', () => {
  const { net, p1, p2, kept } = network();
  const r1 = idOf('record:r1');
  const r2 = idOf('record:r2');
  const receipt = net.ok(
    net.tx('node:org-a', 'record.anchor-batch', {
      anchors: [
        item(r1, p1),
        item(r2, p2, { resourceType: 'Condition', securityLabels: ['R', 'PSY'] }),
        item(kept, p1, { version: 2 }),
        // Versions 1 and 2 of one record: a later item sees the earlier item's write.
        item(idOf('record:r3'), p1),
        item(idOf('record:r3'), p1, { version: 2 }),
      ],
    }),
  );
  assert.deepEqual(
    receipt.events.map((event) => [event.type, event.attributes.version]),
    [
      ['record.anchored', 1],
      ['record.anchored', 1],
      ['record.anchored', 2],
      ['record.anchored', 1],
      ['record.anchored', 2],
    ],
  );
  assert.equal(readRecordHead(net.state, r2)?.resourceType, 'Condition');
  assert.deepEqual(readRecordHead(net.state, r2)?.securityLabels, ['R', 'PSY']);
  assert.equal(readRecordHead(net.state, kept)?.version, 2);
  assert.equal(readRecordHead(net.state, idOf('record:r3'))?.version, 2);
  const version = readRecordVersion(net.state, r1, 1)!;
  assert.equal(version.anchoredHeight, net.height);
  assert.equal(version.custodian, 'org-a');
  // A practitioner of the custodian anchors a batch too, as with record.anchor.
  net.ok(
    net.tx('dr:org-a/alice', 'record.anchor-batch', {
      anchors: [item(r1, p1, { version: 2 })],
    }),
  );
  assert.equal(readRecordHead(net.state, r1)?.version, 2);
});

test('a batch with one refused item fails whole, names the item, and changes nothing but the nonce', () => {
  const { net, p1, kept } = network();
  const signer = keyOf('node:org-a').publicKey;
  const fresh = idOf('record:fresh');
  const cases: Array<{ anchors: AnchorRecordInput[]; code: string; message: RegExp }> = [
    {
      // Version order: the kept record is at version 1, so 3 is out of order.
      anchors: [item(fresh, p1), item(kept, p1, { version: 3 })],
      code: 'version-out-of-order',
      message: new RegExp(
        `^anchors\\[1\\]: record ${shortHex(kept)}: expected version 2, found 3$`,
      ),
    },
    {
      // A patient nobody enrolled.
      anchors: [
        item(fresh, p1),
        item(kept, p1, { version: 2 }),
        item(idOf('record:x'), idOf('patient:nobody')),
      ],
      code: 'not-found',
      message: /^anchors\[2\]: patient [0-9a-f]{16}… is not enrolled$/,
    },
    {
      // The custodian never changes: a version naming another custodian.
      anchors: [item(fresh, p1), item(kept, p1, { version: 2, custodian: 'org-b' })],
      code: 'invalid-value',
      message:
        /^anchors\[1\]: record [0-9a-f]{16}…: custodian, resource type and patient must stay org-a/,
    },
    {
      // The same version twice in one batch.
      anchors: [item(fresh, p1), item(fresh, p1)],
      code: 'version-out-of-order',
      message: /^anchors\[1\]: record [0-9a-f]{16}…: expected version 2, found 1$/,
    },
  ];
  for (const { anchors, code, message } of cases) {
    const nonce = readNextNonce(net.state, signer);
    const receipt = net.run(net.tx('node:org-a', 'record.anchor-batch', { anchors }));
    refused(receipt, code, message);
    assert.equal(readRecordHead(net.state, fresh), null, `${code}: the valid first item is undone`);
    assert.equal(
      readRecordHead(net.state, kept)?.version,
      1,
      `${code}: the kept record is unchanged`,
    );
    assert.equal(readNextNonce(net.state, signer), nonce + 1, `${code}: the nonce is consumed`);
  }
  // The valid twin of the cases above: the same items without the bad one go through.
  net.ok(
    net.tx('node:org-a', 'record.anchor-batch', {
      anchors: [item(fresh, p1), item(kept, p1, { version: 2 })],
    }),
  );
  assert.equal(readRecordHead(net.state, fresh)?.version, 1);
  assert.equal(readRecordHead(net.state, kept)?.version, 2);
});

test('only the custodian anchors a batch: another organisation or its practitioner is refused', () => {
  const { net, p1, kept } = network();
  const theirs = idOf('record:theirs');
  // org-b anchors a new record of its own, then a version of org-a's record: the second item fails.
  refused(
    net.run(
      net.tx('node:org-b', 'record.anchor-batch', {
        anchors: [item(theirs, p1, { custodian: 'org-b' }), item(kept, p1, { version: 2 })],
      }),
    ),
    'unauthorised',
    /^anchors\[1\]: record [0-9a-f]{16}…: only custodian org-a anchors it, signer acts for org-b$/,
  );
  assert.equal(readRecordHead(net.state, theirs), null);
  refused(
    net.run(
      net.tx('dr:org-b/bob', 'record.anchor-batch', {
        anchors: [item(kept, p1, { version: 2 })],
      }),
    ),
    'unauthorised',
    /^anchors\[0\]: record [0-9a-f]{16}…: only custodian org-a anchors it/,
  );
  // An item naming a custodian the signer does not act for.
  refused(
    net.run(
      net.tx('node:org-a', 'record.anchor-batch', {
        anchors: [item(theirs, p1, { custodian: 'org-b' })],
      }),
    ),
    'unauthorised',
    /^anchors\[0\]: .*only custodian org-b anchors it, signer acts for org-a$/,
  );
  assert.equal(readRecordHead(net.state, kept)?.version, 1);
  // The twin: the custodian's own batch of the same records goes through.
  net.ok(
    net.tx('node:org-b', 'record.anchor-batch', {
      anchors: [item(theirs, p1, { custodian: 'org-b' })],
    }),
  );
  assert.equal(readRecordHead(net.state, theirs)?.custodian, 'org-b');
});

test('an empty batch or one above recordAnchorBatchMax is refused as a malformed body', () => {
  const { net, p1 } = network();
  const signer = keyOf('node:org-a').publicKey;
  const encodedItem = (index: number) =>
    contractBody('record.anchor', item(idOf(`record:many-${index}`), p1));
  const max = contractLimits.recordAnchorBatchMax;
  assert.throws(
    () => contractBody('record.anchor-batch', { anchors: [] }),
    /anchors/,
    'the builder refuses an empty batch too',
  );
  for (const [what, anchors] of [
    ['empty', []],
    ['too many', Array.from({ length: max + 1 }, (_, index) => encodedItem(index))],
  ] as const) {
    const nonce = readNextNonce(net.state, signer);
    const receipt = net.run(rawBatch(net, 'node:org-a', [...anchors]));
    assert.equal(receipt.ok, false, `${what}: expected a refusal`);
    assert.equal(receipt.code, 'malformed-body', `${what}: ${receipt.message}`);
    assert.match(receipt.message ?? '', /^record\.anchor-batch body: .*anchors/);
    assert.equal(readRecordHead(net.state, idOf('record:many-0')), null);
    assert.equal(readNextNonce(net.state, signer), nonce + 1);
  }
  // The twin: exactly the bound goes through, and its cost is within txCostMax.
  const receipt = net.ok(
    rawBatch(
      net,
      'node:org-a',
      Array.from({ length: max }, (_, index) => encodedItem(index)),
    ),
  );
  assert.equal(receipt.events.length, max);
  assert.ok(receipt.cost <= contractLimits.txCostMax);
});

test('the largest batch the records service can write fits the chain transaction size and cost', () => {
  // Worst case of what the records service anchors: a 64-byte organisation id, the longest
  // clinical type, every chain label (one confidentiality code and the 7 sensitivity codes),
  // signed by a practitioner (one more read per item than a node).
  const longOrg = 'o'.repeat(contractLimits.identifierBytesMax);
  const net = new Network(genesisDocument({ members: ['org-a', longOrg] }));
  net.practitioner(longOrg, 'alice');
  const p1 = net.patient('p1');
  const labels = ['V', 'ETH', 'HIV', 'PSY', 'STD', 'SDV', 'GDIS', '42CFRPart2'];
  const max = contractLimits.recordAnchorBatchMax;
  const worst = (index: number, version: number) =>
    item(idOf(`record:worst-${index}`), p1, {
      version,
      resourceType: 'AllergyIntolerance',
      custodian: longOrg,
      securityLabels: labels,
    });
  const keyPair = keyOf(`dr:${longOrg}/alice`);
  const sizeOf = (count: number) =>
    encodeTransaction({
      chainId: 'c'.repeat(chainLimits.chainIdBytesMax),
      kind: 'record.anchor-batch',
      body: [
        Array.from({ length: count }, (_, index) =>
          contractBody('record.anchor', worst(index, Number.MAX_SAFE_INTEGER)),
        ),
      ],
      signer: keyPair.publicKey,
      nonce: Number.MAX_SAFE_INTEGER,
      signature: new Uint8Array(64),
    }).length;
  const size = sizeOf(max);
  assert.ok(size <= chainLimits.txBytesMax, `${max} anchors take ${size} bytes`);
  assert.ok(size <= 52_170, `${max} anchors take ${size} bytes, contractLimits says 52,170`);
  // Why the bound is not FHIR's former 500 entries: they would not fit one transaction.
  assert.ok(sizeOf(500) > chainLimits.txBytesMax, `500 anchors take ${sizeOf(500)} bytes`);
  const receipt = net.ok(
    net.tx(`dr:${longOrg}/alice`, 'record.anchor-batch', {
      anchors: Array.from({ length: max }, (_, index) => worst(index, 1)),
    }),
  );
  assert.equal(receipt.events.length, max);
  assert.ok(receipt.cost <= max * 35, `cost ${receipt.cost} for ${max} anchors`);
  assert.ok(500 * (receipt.cost / max) <= contractLimits.txCostMax, 'even 500 would cost less');
});
