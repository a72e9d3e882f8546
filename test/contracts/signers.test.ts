// Checks who may sign what, by executing blocks on a small network: each allowed action has a
// refused twin (forged or unregistered signer, another patient, a non-custodian, a replayed
// nonce, a version out of order, a double vote, an expired proposal), with the receipt's code.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { utf8 } from '../../src/base/index.ts';
import { ChainError, assertValidTransaction, signTransaction } from '../../src/chain/index.ts';
import { sha256 } from '../../src/crypto/index.ts';
import {
  type Receipt,
  contractBody,
  readConsent,
  readNextNonce,
  readPatient,
  readRecordHead,
  readRecordVersion,
  readTxResult,
} from '../../src/contracts/index.ts';
import { Network, chainId, idOf, keyOf, provision } from './fixtures.ts';

function refused(receipt: Receipt, code: string): void {
  assert.equal(receipt.ok, false, `expected failure ${code}, the transaction succeeded`);
  assert.equal(receipt.code, code, receipt.message ?? '');
}

function network(): { net: Network; p1: Uint8Array; p2: Uint8Array } {
  const net = new Network();
  net.practitioner('org-a', 'alice', ['doctor']);
  net.practitioner('org-b', 'bob', ['doctor']);
  const p1 = net.patient('p1');
  const p2 = net.patient('p2');
  return { net, p1, p2 };
}

test('a forged signature is refused before execution (chain rule)', () => {
  const { net, p1 } = network();
  const tx = net.tx('patient:p1', 'consent.grant', {
    consentId: idOf('consent:c1'),
    patientId: p1,
    policyRule: 'OPTIN',
    provision: provision('permit'),
  });
  assert.doesNotThrow(() => assertValidTransaction(tx, { chainId }));
  // The patient's key as signer, signed by someone else's key.
  const forged = {
    ...tx,
    signature: net.tx('patient:p2', 'identity.add-delegate', {
      patientId: p1,
      delegateKey: keyOf('x').publicKey,
    }).signature,
  };
  assert.throws(
    () => assertValidTransaction(forged, { chainId }),
    (e) => e instanceof ChainError && e.code === 'bad-signature',
  );
});

test('an unregistered key signing as a patient or an organisation is refused', () => {
  const { net, p1 } = network();
  refused(
    net.run(
      net.tx('mallory', 'consent.grant', {
        consentId: idOf('consent:m'),
        patientId: p1,
        policyRule: 'OPTIN',
        provision: provision('permit'),
      }),
    ),
    'unauthorised',
  );
  refused(
    net.run(
      net.tx('mallory', 'record.anchor', {
        recordId: idOf('record:m'),
        version: 1,
        resourceType: 'Observation',
        patientId: p1,
        custodian: 'org-a',
        contentHash: sha256(utf8('m')),
        securityLabels: [],
      }),
    ),
    'unauthorised',
  );
  refused(
    net.run(
      net.tx('mallory', 'identity.register-practitioner', {
        practitionerId: 'eve',
        publicKey: keyOf('eve').publicKey,
        roles: [],
        active: true,
      }),
    ),
    'unauthorised',
  );
  assert.equal(readConsent(net.state, idOf('consent:m')), null);
});

test("the patient grants and revokes; patient A cannot revoke patient B's consent", () => {
  const { net, p1, p2 } = network();
  net.grant({ consent: 'c2', patient: 'p2', provision: provision('permit') });
  refused(
    net.run(net.tx('patient:p1', 'consent.revoke', { consentId: idOf('consent:c2') })),
    'unauthorised',
  );
  assert.equal(readConsent(net.state, idOf('consent:c2'))?.status, 'active');
  refused(
    net.run(
      net.tx('patient:p1', 'consent.grant', {
        consentId: idOf('consent:c3'),
        patientId: p2,
        policyRule: 'OPTIN',
        provision: provision('permit'),
      }),
    ),
    'unauthorised',
  );
  net.ok(net.tx('patient:p2', 'consent.revoke', { consentId: idOf('consent:c2') }));
  assert.equal(readConsent(net.state, idOf('consent:c2'))?.status, 'inactive');
  refused(
    net.run(net.tx('patient:p2', 'consent.revoke', { consentId: idOf('consent:c2') })),
    'wrong-status',
  );
  // A consent id is used once.
  refused(
    net.run(
      net.tx('patient:p2', 'consent.grant', {
        consentId: idOf('consent:c2'),
        patientId: p2,
        policyRule: 'OPTIN',
        provision: provision('permit'),
      }),
    ),
    'already-exists',
  );
  void p1;
});

test('a delegate signs for the patient; a removed delegate no longer can', () => {
  const { net, p1 } = network();
  net.ok(
    net.tx('patient:p1', 'identity.add-delegate', {
      patientId: p1,
      delegateKey: keyOf('guardian').publicKey,
    }),
  );
  net.grant({ consent: 'd1', patient: 'p1', provision: provision('permit'), signer: 'guardian' });
  refused(
    net.run(
      net.tx('guardian', 'identity.add-delegate', {
        patientId: p1,
        delegateKey: keyOf('other').publicKey,
      }),
    ),
    'unauthorised',
  );
  net.ok(
    net.tx('patient:p1', 'identity.remove-delegate', {
      patientId: p1,
      delegateKey: keyOf('guardian').publicKey,
    }),
  );
  refused(
    net.run(net.tx('guardian', 'consent.revoke', { consentId: idOf('consent:d1') })),
    'unauthorised',
  );
});

test('the patient rotates their key; the old key stops working', () => {
  const { net, p1 } = network();
  net.ok(
    net.tx('patient:p1', 'identity.rotate-patient-key', {
      patientId: p1,
      newPublicKey: keyOf('patient:p1-new').publicKey,
    }),
  );
  assert.deepEqual(readPatient(net.state, p1)?.publicKey, keyOf('patient:p1-new').publicKey);
  refused(
    net.run(
      net.tx('patient:p1', 'consent.grant', {
        consentId: idOf('consent:r1'),
        patientId: p1,
        policyRule: 'OPTIN',
        provision: provision('permit'),
      }),
    ),
    'unauthorised',
  );
  net.ok(
    net.tx('patient:p1-new', 'consent.grant', {
      consentId: idOf('consent:r1'),
      patientId: p1,
      policyRule: 'OPTIN',
      provision: provision('permit'),
    }),
  );
  // An organisation cannot rotate a patient's key.
  refused(
    net.run(
      net.tx('node:org-a', 'identity.rotate-patient-key', {
        patientId: p1,
        newPublicKey: keyOf('evil').publicKey,
      }),
    ),
    'unauthorised',
  );
});

test('enrolment: once per pseudonym and per key, by an organisation only', () => {
  const { net } = network();
  refused(
    net.run(
      net.tx('node:org-b', 'identity.enrol-patient', {
        patientId: idOf('patient:p1'),
        publicKey: keyOf('k').publicKey,
      }),
    ),
    'already-exists',
  );
  refused(
    net.run(
      net.tx('node:org-b', 'identity.enrol-patient', {
        patientId: idOf('patient:p3'),
        publicKey: keyOf('patient:p1').publicKey,
      }),
    ),
    'already-exists',
  );
  refused(
    net.run(
      net.tx('patient:p1', 'identity.enrol-patient', {
        patientId: idOf('patient:p4'),
        publicKey: keyOf('p4').publicKey,
      }),
    ),
    'unauthorised',
  );
  net.ok(
    net.tx('dr:org-a/alice', 'identity.enrol-patient', {
      patientId: idOf('patient:p5'),
      publicKey: keyOf('p5').publicKey,
    }),
  );
});

test('only the custodian anchors; versions go 1, 2, 3 and history never changes', () => {
  const { net, p1 } = network();
  const recordId = net.anchor({ record: 'r1', patientId: p1 });
  const body = (version: number, custodian = 'org-a') => ({
    recordId,
    version,
    resourceType: 'Observation',
    patientId: p1,
    custodian,
    contentHash: sha256(utf8(`v${version}`)),
    securityLabels: ['N'],
  });
  refused(net.run(net.tx('node:org-b', 'record.anchor', body(2))), 'unauthorised');
  refused(net.run(net.tx('node:org-b', 'record.anchor', body(2, 'org-b'))), 'unauthorised');
  refused(net.run(net.tx('dr:org-b/bob', 'record.anchor', body(2))), 'unauthorised');
  refused(net.run(net.tx('node:org-a', 'record.anchor', body(3))), 'version-out-of-order');
  refused(net.run(net.tx('node:org-a', 'record.anchor', body(1))), 'version-out-of-order');
  net.ok(net.tx('dr:org-a/alice', 'record.anchor', body(2)));
  const v1 = readRecordVersion(net.state, recordId, 1);
  net.ok(net.tx('node:org-a', 'record.anchor', body(3)));
  assert.deepEqual(readRecordVersion(net.state, recordId, 1), v1, 'version 1 is unchanged');
  assert.equal(readRecordHead(net.state, recordId)?.version, 3);
  // A record for a patient who is not enrolled is refused.
  refused(
    net.run(
      net.tx('node:org-a', 'record.anchor', {
        ...body(1),
        recordId: idOf('record:x'),
        patientId: idOf('patient:nobody'),
      }),
    ),
    'not-found',
  );
});

test('an erasure is a new version; nothing is anchored after it', () => {
  const { net, p1 } = network();
  const recordId = net.anchor({ record: 'r1', patientId: p1 });
  refused(
    net.run(
      net.tx('node:org-b', 'record.erase', { recordId, version: 2, reasonCode: 'gdpr-art17' }),
    ),
    'unauthorised',
  );
  net.ok(net.tx('node:org-a', 'record.erase', { recordId, version: 2, reasonCode: 'gdpr-art17' }));
  const erased = readRecordVersion(net.state, recordId, 2);
  assert.equal(erased?.status, 'erased');
  assert.equal(erased?.contentHash, null);
  assert.equal(erased?.erasureReason, 'gdpr-art17');
  assert.notEqual(
    readRecordVersion(net.state, recordId, 1)?.contentHash,
    null,
    'history keeps the hash',
  );
  refused(
    net.run(
      net.tx('node:org-a', 'record.anchor', {
        recordId,
        version: 3,
        resourceType: 'Observation',
        patientId: p1,
        custodian: 'org-a',
        contentHash: sha256(utf8('v3')),
        securityLabels: [],
      }),
    ),
    'record-erased',
  );
});

test('nonces: the next one is accepted, a replay or a gap is refused without consuming it', () => {
  const { net } = network();
  const signer = keyOf('node:org-a').publicKey;
  const next = readNextNonce(net.state, signer);
  const tx = net.tx('node:org-a', 'identity.enrol-patient', {
    patientId: idOf('patient:n1'),
    publicKey: keyOf('n1').publicKey,
  });
  assert.equal(tx.nonce, next);
  net.ok(tx);
  refused(net.run(tx), 'bad-nonce');
  const gap = net.tx(
    'node:org-a',
    'identity.enrol-patient',
    { patientId: idOf('patient:n2'), publicKey: keyOf('n2').publicKey },
    { nonce: next + 5 },
  );
  refused(net.run(gap), 'bad-nonce');
  assert.equal(readNextNonce(net.state, signer), next + 1, 'refused nonces are not consumed');
  // A transaction that fails in its contract still consumes its nonce, so it cannot be replayed.
  const failing = net.tx('node:org-a', 'identity.enrol-patient', {
    patientId: idOf('patient:n1'),
    publicKey: keyOf('n3').publicKey,
  });
  refused(net.run(failing), 'already-exists');
  assert.equal(readNextNonce(net.state, signer), next + 2);
  refused(net.run(failing), 'bad-nonce');
});

test('a failed transaction changes nothing but its nonce, and its code is recorded', () => {
  const { net, p1 } = network();
  const before = net.state;
  const good = net.tx('patient:p1', 'consent.grant', {
    consentId: idOf('consent:ok'),
    patientId: p1,
    policyRule: 'OPTIN',
    provision: provision('permit'),
  });
  // Valid body, but a provision with an invalid purpose code fails after writing nothing.
  const bad = net.tx('patient:p1', 'consent.grant', {
    consentId: idOf('consent:bad'),
    patientId: p1,
    policyRule: 'OPTIN',
    provision: provision('permit', { purposes: ['not a code'] }),
  });
  const result = net.block([good, bad]);
  assert.deepEqual(
    result.receipts.map((r) => r.ok),
    [true, false],
  );
  assert.equal(result.receipts[1]!.code, 'invalid-value');
  assert.equal(result.receipts[1]!.events.length, 0);
  assert.equal(readConsent(net.state, idOf('consent:bad')), null);
  assert.notEqual(readConsent(net.state, idOf('consent:ok')), null);
  assert.deepEqual(readTxResult(net.state, net.height, 1), { ok: false, code: 'invalid-value' });
  assert.deepEqual(readTxResult(net.state, net.height, 0), { ok: true, code: null });
  assert.equal(readConsent(before, idOf('consent:ok')), null, 'the previous version is unchanged');
});

test('an unknown kind and a malformed body fail with their codes', () => {
  const { net } = network();
  const keyPair = keyOf('node:org-a');
  const base = { chainId, signer: keyPair.publicKey };
  const nonce = readNextNonce(net.state, keyPair.publicKey);
  const unknown = signTransaction({
    unsigned: {
      ...base,
      kind: 'record.delete',
      body: contractBody('record.erase', {
        recordId: idOf('record:x'),
        version: 1,
        reasonCode: 'x',
      }),
      nonce,
    },
    keyPair,
  });
  refused(net.run(unknown), 'unknown-kind');
  const malformed = signTransaction({
    unsigned: { ...base, kind: 'record.anchor', body: { not: 'an anchor' }, nonce: nonce + 1 },
    keyPair,
  });
  refused(net.run(malformed), 'malformed-body');
});
