// Checks `access.security-log-head` (decision 0063) by executing blocks on a small network: a
// member's node anchors its own organisation's security log head (state per size and latest,
// event, bounded cost), each with its refused twin: a replay, a rewind, a practitioner's or a
// patient's key, a removed member's node; another organisation's node writes only its own heads.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { toHex, utf8 } from '../../src/base/index.ts';
import { hashTagged, sha256 } from '../../src/crypto/index.ts';
import {
  type Receipt,
  SecurityLogHeadSchema,
  StateNamespace,
  contractBody,
  contractLimits,
  defaultNetworkPolicy,
  listSecurityLogHeads,
  readNextNonce,
  readSecurityLogAnchor,
  readSecurityLogHead,
  stateKey,
  stateKeyTag,
  textPart,
  u64Part,
} from '../../src/contracts/index.ts';
import { stateTreeGet } from '../../src/merkle/index.ts';
import { Network, genesisDocument, keyOf } from './fixtures.ts';

function refused(receipt: Receipt, code: string): void {
  assert.equal(receipt.ok, false, `expected failure ${code}, the transaction succeeded`);
  assert.equal(receipt.code, code, receipt.message ?? '');
}

function hashOf(label: string): Uint8Array {
  return sha256(utf8(`security-log-row:${label}`));
}

test('a member node anchors its security log head: latest and per-size state, event, cost', () => {
  const net = new Network();
  const receipt = net.ok(
    net.tx('node:org-a', 'access.security-log-head', { logSize: 12, headHash: hashOf('12') }),
  );
  const head = readSecurityLogHead(net.state, 'org-a');
  assert.deepEqual(head, {
    orgId: 'org-a',
    logSize: 12,
    headHash: hashOf('12'),
    previousLogSize: 0,
    anchoredHeight: net.height,
    anchoredTime: net.time,
  });
  assert.deepEqual(readSecurityLogAnchor(net.state, 'org-a', 12), head);
  assert.equal(readSecurityLogAnchor(net.state, 'org-a', 11), null);
  assert.equal(readSecurityLogHead(net.state, 'org-b'), null);
  assert.deepEqual(receipt.events, [
    {
      type: 'access.security-log-anchored',
      attributes: {
        orgId: 'org-a',
        logSize: 12,
        previousLogSize: 0,
        headHash: toHex(hashOf('12')),
      },
    },
  ]);
  // Three reads (principal, member, latest head), two writes of one small value, one event.
  assert.ok(receipt.cost > 0 && receipt.cost <= 64, `cost ${receipt.cost}`);
  assert.ok(receipt.cost * 100 < contractLimits.txCostMax);

  // The next head links back to the one before; the list walks from the latest.
  net.ok(net.tx('node:org-a', 'access.security-log-head', { logSize: 40, headHash: hashOf('40') }));
  net.ok(net.tx('node:org-a', 'access.security-log-head', { logSize: 41, headHash: hashOf('41') }));
  const heads = listSecurityLogHeads(net.state, { orgId: 'org-a' });
  assert.deepEqual(
    heads.map((h) => [h.logSize, h.previousLogSize]),
    [
      [41, 40],
      [40, 12],
      [12, 0],
    ],
  );
  assert.deepEqual(
    listSecurityLogHeads(net.state, { orgId: 'org-a', fromLogSize: 40, limit: 1 }).map(
      (h) => h.logSize,
    ),
    [40],
  );
  // The per-size entry was written once and never rewritten by later anchors.
  assert.equal(readSecurityLogAnchor(net.state, 'org-a', 12)!.anchoredHeight, head.anchoredHeight);
  // The key layout of decision 0021, as an auditor computes it to ask for a proof.
  const key = stateKey(StateNamespace.securityLogAnchor, textPart('org-a'), u64Part(12));
  assert.deepEqual(
    key,
    hashTagged(stateKeyTag, utf8('access.security-log-anchor'), utf8('org-a'), u64Part(12)),
  );
  assert.deepEqual(
    SecurityLogHeadSchema.decode(stateTreeGet(net.state, key)!),
    readSecurityLogAnchor(net.state, 'org-a', 12),
  );
});

test('queries refuse bad arguments', () => {
  const net = new Network();
  assert.throws(() => readSecurityLogAnchor(net.state, 'org-a', 0), /logSize: expected/);
  assert.throws(
    () => listSecurityLogHeads(net.state, { orgId: 'org-a', limit: 0 }),
    /limit: expected 1 to/,
  );
  assert.deepEqual(listSecurityLogHeads(net.state, { orgId: 'org-a' }), []);
});

test('a replay or a rewind of the log size is refused and writes nothing', () => {
  const net = new Network();
  net.ok(net.tx('node:org-a', 'access.security-log-head', { logSize: 20, headHash: hashOf('20') }));
  const before = readSecurityLogHead(net.state, 'org-a');

  // The same size again (a replayed head with a fresh nonce): refused.
  const replay = net.run(
    net.tx('node:org-a', 'access.security-log-head', { logSize: 20, headHash: hashOf('20') }),
  );
  refused(replay, 'log-size-not-increasing');
  assert.match(replay.message!, /logSize: expected more than 20.*found 20/);

  // A smaller size (the log was rewound or replaced): refused, with another hash too.
  const rewind = net.run(
    net.tx('node:org-a', 'access.security-log-head', { logSize: 5, headHash: hashOf('other') }),
  );
  refused(rewind, 'log-size-not-increasing');
  assert.match(rewind.message!, /found 5 \(a replay, or the log was rewound\)/);
  assert.deepEqual(readSecurityLogHead(net.state, 'org-a'), before);
  assert.equal(readSecurityLogAnchor(net.state, 'org-a', 5), null);
  assert.deepEqual(rewind.events, []);
  // A failed transaction still uses its nonce (it cannot be replayed either).
  assert.equal(readNextNonce(net.state, keyOf('node:org-a').publicKey), 3);

  // The same transaction bytes again: the chain's nonce rule refuses it first.
  const tx = net.tx('node:org-a', 'access.security-log-head', {
    logSize: 21,
    headHash: hashOf('21'),
  });
  net.ok(tx);
  refused(net.run(tx), 'bad-nonce');
});

test("another organisation's node anchors only its own organisation's head", () => {
  const net = new Network();
  net.ok(net.tx('node:org-a', 'access.security-log-head', { logSize: 30, headHash: hashOf('a') }));
  // org-b's node cannot touch org-a's list: the organisation is the signer's, never the body's.
  const receipt = net.ok(
    net.tx('node:org-b', 'access.security-log-head', { logSize: 2, headHash: hashOf('b') }),
  );
  assert.equal(receipt.events[0]!.attributes['orgId'], 'org-b');
  assert.equal(readSecurityLogHead(net.state, 'org-a')!.logSize, 30);
  assert.deepEqual(readSecurityLogHead(net.state, 'org-a')!.headHash, hashOf('a'));
  assert.equal(readSecurityLogHead(net.state, 'org-b')!.logSize, 2);
  assert.equal(readSecurityLogAnchor(net.state, 'org-a', 2), null);
});

test('a signer that is not a member node is refused: practitioner, patient, unknown key', () => {
  const net = new Network();
  net.practitioner('org-a', 'alice', ['doctor', 'privacy-officer']);
  net.patient('p1');
  for (const signer of ['dr:org-a/alice', 'patient:p1', 'node:not-a-member']) {
    const receipt = net.run(
      net.tx(signer, 'access.security-log-head', { logSize: 1, headHash: hashOf(signer) }),
    );
    refused(receipt, 'unauthorised');
    assert.match(receipt.message!, /expected a member's node key/);
  }
  assert.equal(readSecurityLogHead(net.state, 'org-a'), null);
});

test('a removed member node is refused; the heads it anchored stay', () => {
  const net = new Network(genesisDocument({ members: ['org-a', 'org-b', 'org-c', 'org-d'] }));
  net.ok(net.tx('node:org-d', 'access.security-log-head', { logSize: 7, headHash: hashOf('d') }));
  const remove = {
    type: 'remove-member' as const,
    member: null,
    orgId: 'org-d',
    nodeKey: null,
    validators: null,
    policy: null,
  };
  const proposal = net.ok(net.tx('node:org-a', 'membership.propose', { change: remove }));
  net.ok(net.tx('node:org-b', 'membership.vote', { proposalId: proposal.txId }));
  net.ok(net.tx('node:org-c', 'membership.vote', { proposalId: proposal.txId }));
  for (let i = 0; i <= defaultNetworkPolicy.changeDelayHeights; i++) net.block([]);
  const receipt = net.run(
    net.tx('node:org-d', 'access.security-log-head', { logSize: 8, headHash: hashOf('d8') }),
  );
  refused(receipt, 'unauthorised');
  assert.equal(readSecurityLogHead(net.state, 'org-d')!.logSize, 7);
});

test('the body is checked by its schema: size from 1, a 32-byte hash', () => {
  assert.throws(
    () => contractBody('access.security-log-head', { logSize: 0, headHash: hashOf('x') }),
    /logSize/,
  );
  assert.throws(
    () => contractBody('access.security-log-head', { logSize: 1, headHash: new Uint8Array(31) }),
    /headHash/,
  );
  assert.ok(contractBody('access.security-log-head', { logSize: 1, headHash: hashOf('x') }));
});
