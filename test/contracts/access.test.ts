// Checks access audit and break-glass by executing blocks: audit batches stored per patient in
// order and refused when inconsistent; break-glass opened only by the designated group, time-
// limited, listed until a privacy officer of the same organisation closes its review.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { toHex, utf8 } from '../../src/base/index.ts';
import { sha256 } from '../../src/crypto/index.ts';
import {
  type AuditEventInput,
  type Receipt,
  countAuditEvents,
  decide,
  defaultNetworkPolicy,
  listAuditEvents,
  listUnreviewedBreakGlass,
  readBreakGlass,
} from '../../src/contracts/index.ts';
import { Network, idOf } from './fixtures.ts';

function refused(receipt: Receipt, code: string): void {
  assert.equal(receipt.ok, false, `expected failure ${code}, the transaction succeeded`);
  assert.equal(receipt.code, code, receipt.message ?? '');
}

function network() {
  const net = new Network();
  net.practitioner('org-a', 'alice', ['doctor', 'privacy-officer']);
  net.practitioner('org-b', 'bob', ['doctor']);
  net.practitioner('org-b', 'erin', ['doctor', 'break-glass']);
  net.practitioner('org-b', 'olga', ['privacy-officer']);
  const p1 = net.patient('p1');
  const p2 = net.patient('p2');
  const r1 = net.anchor({ record: 'r1', patientId: p1 });
  return { net, p1, p2, r1 };
}

function event(net: Network, overrides: Partial<AuditEventInput>): AuditEventInput {
  return {
    practitionerId: 'bob',
    clientId: null,
    patientId: idOf('patient:p1'),
    recordId: idOf('record:r1'),
    recordVersion: 1,
    queryHash: null,
    action: 'read',
    purpose: 'TREAT',
    decision: 'deny',
    reason: 'default-opt-in',
    consentId: null,
    breakGlassId: null,
    time: net.time,
    ...overrides,
  };
}

test('audit events are stored per patient, in order, permits and denials alike', () => {
  const { net, p1, p2 } = network();
  const events = [
    event(net, {}),
    event(net, { decision: 'permit', reason: 'custodian-own-record', practitionerId: null }),
    event(net, {
      patientId: p2,
      recordId: null,
      recordVersion: null,
      queryHash: sha256(utf8('GET /Observation?patient=x')),
      action: 'search',
    }),
  ];
  net.ok(net.tx('node:org-b', 'access.record', { events }));
  net.ok(net.tx('node:org-b', 'access.record', { events: [event(net, { action: 'vread' })] }));
  assert.equal(countAuditEvents(net.state, p1), 3);
  assert.equal(countAuditEvents(net.state, p2), 1);
  const log = listAuditEvents(net.state, { patientId: p1 });
  assert.deepEqual(
    log.map((e) => [e.sequence, e.event.action, e.event.decision, e.orgId]),
    [
      [0, 'read', 'deny', 'org-b'],
      [1, 'read', 'permit', 'org-b'],
      [2, 'vread', 'deny', 'org-b'],
    ],
  );
  assert.deepEqual(
    listAuditEvents(net.state, { patientId: p1, from: 2, limit: 5 }).map((e) => e.sequence),
    [2],
  );
});

test('inconsistent audit events are refused and the whole batch writes nothing', () => {
  const { net, p1, p2 } = network();
  const bad: Array<[string, Partial<AuditEventInput>, string?]> = [
    ['unregistered practitioner', { practitionerId: 'nobody' }],
    ['record of another patient', { patientId: p2 }],
    ['version not anchored', { recordVersion: 2 }],
    ['both record and query', { queryHash: sha256(utf8('q')) }],
    ['neither record nor query', { recordId: null, recordVersion: null }],
    ['time after the block', { time: net.time + 10 * 60 * 1000 }],
    ['time too old', { time: net.time - defaultNetworkPolicy.auditLagMaxMs - 60_000 }],
    ['unknown consent', { consentId: idOf('consent:none') }],
    [
      'patient not enrolled',
      {
        patientId: idOf('patient:none'),
        recordId: null,
        recordVersion: null,
        queryHash: sha256(utf8('q')),
      },
      'not-found',
    ],
  ];
  for (const [what, overrides, code = 'invalid-value'] of bad) {
    const receipt = net.run(
      net.tx('node:org-b', 'access.record', { events: [event(net, {}), event(net, overrides)] }),
    );
    assert.equal(receipt.code, code, `${what}: ${receipt.message}`);
    assert.equal(receipt.ok, false, what);
  }
  assert.equal(countAuditEvents(net.state, p1), 0);
  // Only a member's node submits audit events (the deciding node), not a practitioner.
  refused(
    net.run(net.tx('dr:org-b/bob', 'access.record', { events: [event(net, {})] })),
    'unauthorised',
  );
});

test('break-glass: only the designated group opens it, with a time limit, for review', () => {
  const { net, p1 } = network();
  refused(
    net.run(
      net.tx('dr:org-b/bob', 'access.break-glass', {
        patientId: p1,
        practitionerId: 'bob',
        purpose: 'BTG',
        reasonCode: 'unconscious',
      }),
    ),
    'unauthorised',
  );
  refused(
    net.run(
      net.tx('dr:org-b/bob', 'access.break-glass', {
        patientId: p1,
        practitionerId: 'erin',
        purpose: 'BTG',
        reasonCode: 'unconscious',
      }),
    ),
    'unauthorised',
  );
  refused(
    net.run(
      net.tx('dr:org-b/erin', 'access.break-glass', {
        patientId: idOf('patient:none'),
        practitionerId: 'erin',
        purpose: 'BTG',
        reasonCode: 'unconscious',
      }),
    ),
    'not-found',
  );
  const receipt = net.ok(
    net.tx('dr:org-b/erin', 'access.break-glass', {
      patientId: p1,
      practitionerId: 'erin',
      purpose: 'ETREAT',
      reasonCode: 'cardiac-arrest',
    }),
  );
  const opened = receipt.events.find((e) => e.type === 'access.break-glass-opened');
  assert.equal(opened?.attributes.patientId, toHex(p1), 'the patient is notified');
  const grant = readBreakGlass(net.state, receipt.txId)!;
  assert.equal(grant.expiresTime - grant.openedTime, defaultNetworkPolicy.breakGlassDurationMs);
  const request = {
    patientId: p1,
    requester: { kind: 'practitioner' as const, orgId: 'org-b', practitionerId: 'erin' },
    action: 'access' as const,
    purpose: 'ETREAT',
    recordId: idOf('record:r1'),
    resourceType: null,
    securityLabels: [],
  };
  assert.equal(decide(net.state, request, grant.openedTime + 1000).reason, 'break-glass');
  assert.equal(decide(net.state, request, grant.expiresTime).reason, 'break-glass-not-open');
  // The node audits the break-glass access, citing the grant.
  net.ok(
    net.tx('node:org-b', 'access.record', {
      events: [
        event(net, {
          practitionerId: 'erin',
          purpose: 'ETREAT',
          decision: 'permit',
          reason: 'break-glass',
          breakGlassId: receipt.txId,
        }),
      ],
    }),
  );
  assert.deepEqual(
    listUnreviewedBreakGlass(net.state).map((g) => toHex(g.breakGlassId)),
    [toHex(receipt.txId)],
  );
});

test('a privacy officer of the same organisation closes each review once', () => {
  const { net, p1 } = network();
  const open = () =>
    net.ok(
      net.tx('dr:org-b/erin', 'access.break-glass', {
        patientId: p1,
        practitionerId: 'erin',
        purpose: 'BTG',
        reasonCode: 'unconscious',
      }),
    ).txId;
  const first = open();
  const second = open();
  const third = open();
  assert.equal(listUnreviewedBreakGlass(net.state).length, 3);
  refused(
    net.run(
      net.tx('dr:org-a/alice', 'access.close-review', {
        breakGlassId: first,
        outcome: 'justified',
        noteCode: null,
      }),
    ),
    'unauthorised',
  );
  refused(
    net.run(
      net.tx('dr:org-b/bob', 'access.close-review', {
        breakGlassId: first,
        outcome: 'justified',
        noteCode: null,
      }),
    ),
    'unauthorised',
  );
  refused(
    net.run(
      net.tx('dr:org-b/erin', 'access.close-review', {
        breakGlassId: first,
        outcome: 'justified',
        noteCode: null,
      }),
    ),
    'unauthorised',
  );
  net.ok(
    net.tx('dr:org-b/olga', 'access.close-review', {
      breakGlassId: second,
      outcome: 'unjustified',
      noteCode: 'no-emergency',
    }),
  );
  assert.deepEqual(
    listUnreviewedBreakGlass(net.state).map((g) => toHex(g.breakGlassId)),
    [toHex(first), toHex(third)],
  );
  net.ok(
    net.tx('dr:org-b/olga', 'access.close-review', {
      breakGlassId: first,
      outcome: 'justified',
      noteCode: null,
    }),
  );
  refused(
    net.run(
      net.tx('dr:org-b/olga', 'access.close-review', {
        breakGlassId: first,
        outcome: 'justified',
        noteCode: null,
      }),
    ),
    'wrong-status',
  );
  assert.deepEqual(
    listUnreviewedBreakGlass(net.state).map((g) => toHex(g.breakGlassId)),
    [toHex(third)],
  );
  assert.equal(readBreakGlass(net.state, second)?.review?.outcome, 'unjustified');
  net.ok(
    net.tx('dr:org-b/olga', 'access.close-review', {
      breakGlassId: third,
      outcome: 'inconclusive',
      noteCode: null,
    }),
  );
  assert.deepEqual(listUnreviewedBreakGlass(net.state), []);
});
