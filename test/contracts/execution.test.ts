// Checks the execution frame: state keys equal their specified tagged hash (fast-check), blocks
// must follow the state's head, execution is deterministic, a transaction's cost is bounded,
// and lists of codes are refused with a value twice.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { toHex, utf8 } from '../../src/base/index.ts';
import { hashTagged, sha256 } from '../../src/crypto/index.ts';
import {
  ContractError,
  StateNamespace,
  contractLimits,
  executeBlock,
  readChainHead,
  stateKey,
  stateKeyTag,
} from '../../src/contracts/index.ts';
import { stateTreeRootHash } from '../../src/merkle/index.ts';
import { Network, chainId, idOf, keyOf } from './fixtures.ts';

const namespaces = Object.values(StateNamespace);

test('stateKey is hashTagged(stateKeyTag, utf8(namespace), ...parts)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...namespaces),
      fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 4 }),
      (namespace, parts) => {
        const expected = hashTagged(stateKeyTag, utf8(namespace), ...parts);
        assert.equal(toHex(stateKey(namespace, ...parts)), toHex(expected));
      },
    ),
  );
  // Large parts take the plain path and agree too.
  const big = new Uint8Array(5000).fill(7);
  assert.equal(
    toHex(stateKey(StateNamespace.consent, big)),
    toHex(hashTagged(stateKeyTag, utf8(StateNamespace.consent), big)),
  );
});

test('keys of different namespaces or differently split parts differ', () => {
  const id = idOf('x');
  assert.notEqual(
    toHex(stateKey(StateNamespace.consent, id)),
    toHex(stateKey(StateNamespace.patient, id)),
  );
  const ab = stateKey(StateNamespace.practitioner, utf8('ab'), utf8('c'));
  const a_bc = stateKey(StateNamespace.practitioner, utf8('a'), utf8('bc'));
  assert.notEqual(toHex(ab), toHex(a_bc));
});

test('a block must follow the state: next height, later time, same chain', () => {
  const net = new Network();
  const head = readChainHead(net.state)!;
  assert.deepEqual(head, { chainId, height: 0, time: net.time });
  const context = {
    chainId,
    height: 1,
    time: net.time + 1,
    proposer: keyOf('node:org-a').publicKey,
  };
  const wrong: Array<Partial<typeof context>> = [
    { height: 2 },
    { time: net.time },
    { chainId: 'other' },
  ];
  for (const change of wrong) {
    assert.throws(
      () => executeBlock({ state: net.state, context: { ...context, ...change }, txs: [] }),
      (e) => e instanceof ContractError && e.code === 'wrong-block',
    );
  }
  const result = executeBlock({ state: net.state, context, txs: [] });
  assert.equal(readChainHead(result.state)?.height, 1);
});

test('execution is deterministic: the same block on the same state gives the same root', () => {
  const net = new Network();
  const txs = [0, 1, 2].map((i) =>
    net.tx('node:org-a', 'identity.enrol-patient', {
      patientId: idOf(`patient:${i}`),
      publicKey: keyOf(`patient:${i}`).publicKey,
    }),
  );
  const context = {
    chainId,
    height: 1,
    time: net.time + 1000,
    proposer: keyOf('node:org-a').publicKey,
  };
  const a = executeBlock({ state: net.state, context, txs });
  const b = executeBlock({ state: net.state, context, txs });
  assert.equal(toHex(a.stateRoot), toHex(b.stateRoot));
  assert.deepEqual(a.receipts, b.receipts);
  // Another order of the same transactions is another block: nonces make it fail, root differs.
  const c = executeBlock({ state: net.state, context, txs: [txs[1]!, txs[0]!, txs[2]!] });
  assert.notEqual(toHex(c.stateRoot), toHex(a.stateRoot));
  assert.equal(c.receipts[0]!.code, 'bad-nonce');
  assert.equal(toHex(stateTreeRootHash(a.state)), toHex(a.stateRoot));
});

test('every receipt stays within the cost bound; a batch at the bound still fits', () => {
  const net = new Network();
  net.practitioner('org-b', 'bob');
  const patientId = net.patient('p1');
  const events = Array.from({ length: contractLimits.auditBatchEventsMax }, (_, i) => ({
    practitionerId: 'bob',
    clientId: null,
    patientId,
    recordId: null,
    recordVersion: null,
    queryHash: sha256(utf8(`query ${i}`)),
    action: 'search' as const,
    purpose: 'TREAT',
    decision: 'deny' as const,
    reason: 'default-opt-in',
    consentId: null,
    breakGlassId: null,
    time: net.time,
  }));
  const receipt = net.ok(net.tx('node:org-b', 'access.record', { events }));
  assert.ok(receipt.cost > 0 && receipt.cost <= contractLimits.txCostMax, `cost ${receipt.cost}`);
  // One event more than the bound cannot even be encoded as a body.
  assert.throws(() => net.tx('node:org-b', 'access.record', { events: [...events, events[0]!] }));
});

test('a list of codes with a value twice is refused, short or long; distinct values pass', () => {
  const net = new Network();
  const patientId = net.patient('p1');
  const anchor = (record: string, labels: string[]) =>
    net.run(
      net.tx('node:org-a', 'record.anchor', {
        recordId: idOf(`record:${record}`),
        version: 1,
        resourceType: 'Observation',
        patientId,
        custodian: 'org-a',
        contentHash: sha256(utf8(record)),
        securityLabels: labels,
      }),
    );
  for (const labels of [
    ['N', 'N'],
    ['N', 'R', 'PSY', 'R'],
    ['N', 'R', 'PSY', 'HIV', 'ETH', 'HIV'],
  ]) {
    const receipt = anchor(`dup-${labels.length}`, labels);
    assert.equal(receipt.code, 'invalid-value', labels.join());
    assert.match(
      receipt.message ?? '',
      /securityLabels: expected distinct values, found "[A-Z]+" twice/,
    );
  }
  for (const labels of [['N'], ['N', 'R', 'PSY', 'HIV'], ['N', 'R', 'PSY', 'HIV', 'ETH', 'STD']]) {
    const receipt = anchor(`ok-${labels.length}`, labels);
    assert.equal(receipt.ok, true, receipt.message ?? '');
  }
});
