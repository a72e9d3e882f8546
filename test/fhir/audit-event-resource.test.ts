// Checks the BALP-shaped AuditEvent view: audit events and break-glass grants committed on a
// fixture chain are mapped, validated as R4 (with required bindings), and their type, subtype,
// action, outcome, agents, source and entities compared with the BALP codes; a wrong height is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { AuditEvent } from '@medplum/fhirtypes';

import { toHex, utf8 } from '../../src/base/index.ts';
import { sha256 } from '../../src/crypto/index.ts';
import {
  type AuditEventInput,
  listAuditEvents,
  readBreakGlass,
  readRecordHead,
} from '../../src/contracts/index.ts';
import {
  auditEventRecordToFhir,
  breakGlassAuditEvent,
  provisionFhirPath,
} from '../../src/fhir/audit-event-resource.ts';
import { FhirViewError, fhirInstant } from '../../src/fhir/consent-resource.ts';
import { Network, idOf, keyOf, provision } from '../contracts/fixtures.ts';
import { assertValidFhir } from '../synthetic/fhir-validation.ts';

const dicom = 'http://dicom.nema.org/resources/ontology/DCM';
const p1 = idOf('patient:p1');
const r1 = idOf('record:r1');

function network() {
  const net = new Network();
  net.practitioner('org-b', 'bob', ['doctor']);
  net.practitioner('org-b', 'erin', ['doctor', 'break-glass']);
  net.ok(
    net.tx('node:org-b', 'identity.register-client', {
      clientId: 'app',
      publicKey: keyOf('client:org-b/app').publicKey,
      scopes: ['user/Observation.rs'],
      active: true,
    }),
  );
  net.patient('p1');
  net.anchor({ record: 'r1', patientId: p1, version: 1 });
  net.anchor({ record: 'r1', patientId: p1, version: 2 });
  const consentId = net.grant({
    consent: 'c1',
    patient: 'p1',
    provision: provision('permit', { provisions: [provision('deny', { purposes: ['HMARKT'] })] }),
  });
  return { net, consentId };
}

function event(net: Network, overrides: Partial<AuditEventInput>): AuditEventInput {
  return {
    practitionerId: 'bob',
    clientId: null,
    patientId: p1,
    recordId: r1,
    recordVersion: 2,
    queryHash: null,
    action: 'read',
    purpose: 'TREAT',
    decision: 'permit',
    reason: 'consent-permit',
    consentId: null,
    breakGlassId: null,
    time: net.time,
    ...overrides,
  };
}

/** Commits `events` from org-b's node and returns their FHIR views, each checked as R4. */
function commitAndView(
  net: Network,
  events: AuditEventInput[],
  provisionPath: readonly number[] | null = null,
): AuditEvent[] {
  net.ok(net.tx('node:org-b', 'access.record', { events }));
  const stored = listAuditEvents(net.state, { patientId: p1 }).slice(-events.length);
  return stored.map((record) => {
    const view = auditEventRecordToFhir(
      record,
      { height: net.height, time: net.time },
      {
        resourceTypeOf: (id) => readRecordHead(net.state, id)?.resourceType ?? null,
        provisionPath,
      },
    );
    assertValidFhir(view);
    return view;
  });
}

const codes = (view: AuditEvent) => ({
  type: `${view.type.system}#${view.type.code}`,
  subtype: (view.subtype ?? []).map((coding) => `${coding.system}#${coding.code}`),
  action: view.action,
  outcome: view.outcome,
});

test('a permitted read is a BALP patient read: rest/read, R, success, user, org, node, entities', () => {
  const { net, consentId } = network();
  const [view] = commitAndView(net, [event(net, { consentId })], [0]);
  assert.ok(view !== undefined);
  assert.deepEqual(codes(view), {
    type: 'http://terminology.hl7.org/CodeSystem/audit-event-type#rest',
    subtype: ['http://hl7.org/fhir/restful-interaction#read'],
    action: 'R',
    outcome: '0',
  });
  assert.equal(view.id, `${toHex(p1)}-0`);
  assert.equal(view.recorded, fhirInstant(net.time - 1000));
  assert.equal(view.meta?.lastUpdated, fhirInstant(net.time));
  assert.deepEqual(view.extension, [
    { url: 'urn:medledger:fhir:block-height', valueUnsignedInt: net.height },
  ]);
  assert.deepEqual(view.purposeOfEvent?.[0]?.coding?.[0]?.code, 'TREAT');
  const [user, organisation, node] = view.agent;
  assert.equal(user?.type?.coding?.[0]?.code, 'IRCP');
  assert.deepEqual(user?.who, { reference: 'Practitioner/org-b--bob' });
  assert.equal(user?.requestor, true);
  assert.equal(user?.purposeOfUse?.[0]?.coding?.[0]?.code, 'TREAT');
  assert.deepEqual(organisation?.who, { reference: 'Organization/org-b' });
  assert.equal(organisation?.requestor, false);
  assert.equal(node?.type?.coding?.[0]?.code, '110153');
  assert.deepEqual(view.source.observer, { reference: 'Organization/org-b' });
  const [patient, data, consent] = view.entity ?? [];
  assert.deepEqual(patient?.what, { reference: `Patient/${toHex(p1)}` });
  assert.equal(patient?.role?.code, '1');
  assert.deepEqual(data?.what, { reference: `Observation/${toHex(r1)}/_history/2` });
  assert.equal(data?.role?.code, '4');
  assert.deepEqual(consent?.what, { reference: `Consent/${toHex(consentId)}` });
  assert.equal(consent?.type?.code, 'Consent');
  assert.deepEqual(consent?.detail, [
    { type: 'provision', valueString: 'Consent.provision.provision[0]' },
  ]);
});

test('a denial is outcome 4 (minor failure) with the reason in outcomeDesc', () => {
  const { net, consentId } = network();
  const [view] = commitAndView(
    net,
    [event(net, { decision: 'deny', reason: 'consent-deny', purpose: 'HMARKT', consentId })],
    [0],
  );
  assert.equal(view?.outcome, '4');
  assert.equal(view?.outcomeDesc, 'deny: consent-deny');
  // Its twin, a permit, is a success.
  const [permit] = commitAndView(net, [event(net, {})]);
  assert.equal(permit?.outcome, '0');
  assert.equal(permit?.outcomeDesc, 'permit: consent-permit');
});

test('each REST interaction has its restful-interaction subtype and C/R/U/D/E action', () => {
  const { net } = network();
  const expected: Array<[AuditEventInput['action'], string, string]> = [
    ['create', 'create', 'C'],
    ['read', 'read', 'R'],
    ['vread', 'vread', 'R'],
    ['update', 'update', 'U'],
    ['patch', 'patch', 'U'],
    ['delete', 'delete', 'D'],
    ['history', 'history-instance', 'R'],
  ];
  const views = commitAndView(
    net,
    expected.map(([action]) => event(net, { action })),
  );
  expected.forEach(([, subtype, action], index) => {
    assert.equal(views[index]?.subtype?.[0]?.code, subtype);
    assert.equal(views[index]?.action, action);
  });
  // Writes have the node as destination (DCM 110152), reads as source (110153), as in BALP.
  assert.equal(views[0]?.agent.at(-1)?.type?.coding?.[0]?.code, '110152');
  assert.equal(views[1]?.agent.at(-1)?.type?.coding?.[0]?.code, '110153');
});

test('a search by a client app has the query hash entity (object-role 24) and no record', () => {
  const { net } = network();
  const queryHash = sha256(utf8('GET /Observation?patient=x&category=laboratory'));
  const [view] = commitAndView(net, [
    event(net, {
      practitionerId: null,
      clientId: 'app',
      recordId: null,
      recordVersion: null,
      queryHash,
      action: 'search',
    }),
  ]);
  assert.ok(view !== undefined);
  assert.deepEqual(codes(view).subtype, ['http://hl7.org/fhir/restful-interaction#search-type']);
  assert.equal(view.action, 'E');
  const [client] = view.agent;
  assert.equal(client?.type?.coding?.[0]?.code, '110150');
  assert.deepEqual(client?.who, { reference: 'Device/org-b--app' });
  assert.equal(client?.requestor, true);
  const query = view.entity?.[1];
  assert.equal(query?.role?.code, '24');
  assert.equal(query?.query, Buffer.from(queryHash).toString('base64'));
  assert.equal(query?.what, undefined);
});

test('a disclosure is a BALP privacy disclosure at the source: DCM 110106 Export, disclose', () => {
  const { net } = network();
  const [view] = commitAndView(net, [event(net, { action: 'disclose' })]);
  assert.ok(view !== undefined);
  assert.deepEqual(codes(view), {
    type: `${dicom}#110106`,
    subtype: [
      'http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle#disclose',
      'http://hl7.org/fhir/restful-interaction#read',
    ],
    action: 'R',
    outcome: '0',
  });
});

test('break-glass: access under a grant names it; the grant is a Security Alert 110127 / 110138', () => {
  const { net } = network();
  const receipt = net.ok(
    net.tx('dr:org-b/erin', 'access.break-glass', {
      patientId: p1,
      practitionerId: 'erin',
      purpose: 'BTG',
      reasonCode: 'unconscious',
    }),
  );
  const grant = readBreakGlass(net.state, receipt.txId);
  assert.ok(grant !== null);
  const [access] = commitAndView(net, [
    event(net, {
      practitionerId: 'erin',
      purpose: 'BTG',
      reason: 'break-glass',
      breakGlassId: grant.breakGlassId,
    }),
  ]);
  assert.deepEqual(access?.entity?.at(-1)?.what, {
    identifier: { system: 'urn:medledger:break-glass', value: toHex(grant.breakGlassId) },
  });
  assert.equal(access?.purposeOfEvent?.[0]?.coding?.[0]?.code, 'BTG');

  const start = breakGlassAuditEvent(grant, 'start');
  const stop = breakGlassAuditEvent(grant, 'stop');
  for (const view of [start, stop]) assertValidFhir(view);
  assert.deepEqual(codes(start), {
    type: `${dicom}#110113`,
    subtype: [`${dicom}#110127`],
    action: 'E',
    outcome: '0',
  });
  assert.deepEqual(codes(stop).subtype, [`${dicom}#110138`]);
  assert.equal(start.recorded, fhirInstant(grant.openedTime));
  assert.equal(stop.recorded, fhirInstant(grant.expiresTime));
  assert.notEqual(start.id, stop.id);
  assert.ok(start.id!.length <= 64);
  assert.deepEqual(start.agent[0]?.who, { reference: 'Practitioner/org-b--erin' });
  assert.deepEqual(start.entity?.[1]?.detail, [{ type: 'reason', valueString: 'unconscious' }]);
});

test('the provision path reads as a FHIR path', () => {
  assert.equal(provisionFhirPath([]), 'Consent.provision');
  assert.equal(provisionFhirPath([1, 0]), 'Consent.provision.provision[1].provision[0]');
});

test('refused: a block height other than the one that committed the event', () => {
  const { net } = network();
  net.ok(net.tx('node:org-b', 'access.record', { events: [event(net, {})] }));
  const [stored] = listAuditEvents(net.state, { patientId: p1 });
  assert.ok(stored !== undefined);
  assert.doesNotThrow(() => auditEventRecordToFhir(stored, { height: net.height, time: net.time }));
  assert.throws(
    () => auditEventRecordToFhir(stored, { height: net.height - 1, time: net.time }),
    (error: unknown) => error instanceof FhirViewError && error.details.path === 'committed.height',
  );
});

test('without the record type, the record entity is a logical reference with its version', () => {
  const { net } = network();
  net.ok(net.tx('node:org-b', 'access.record', { events: [event(net, {})] }));
  const [stored] = listAuditEvents(net.state, { patientId: p1 });
  const view = auditEventRecordToFhir(stored!, { height: net.height, time: net.time });
  assertValidFhir(view);
  assert.deepEqual(view.entity?.[1]?.what, {
    identifier: { system: 'urn:medledger:record', value: toHex(r1) },
  });
  assert.deepEqual(view.entity?.[1]?.detail, [{ type: 'version', valueString: '2' }]);
});
