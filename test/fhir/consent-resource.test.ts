// Checks the FHIR Consent view: every IHE PCF pattern goes FHIR → grant body → chain → record →
// FHIR unchanged and valid R4, decides on chain as written, and each unrepresentable twin is refused
// with its FHIR path named.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Consent, ConsentProvision } from '@medplum/fhirtypes';

import { toHex } from '../../src/base/index.ts';
import {
  type AccessRequest,
  contractBody,
  decide,
  readConsent,
  readRecordHead,
} from '../../src/contracts/index.ts';
import {
  FhirViewError,
  actorReference,
  consentGrantTransactionBody,
  consentRecordToFhir,
  consentToGrantBody,
  fhirInstant,
} from '../../src/fhir/consent-resource.ts';
import { Network, blockIntervalMs, genesisDocument, idOf } from '../contracts/fixtures.ts';
import { assertValidFhir } from '../synthetic/fhir-validation.ts';

const patient = toHex(idOf('patient:p1'));
const labResult = toHex(idOf('record:lab'));
const loinc = 'http://loinc.org';
const actReason = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const actCode = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const confidentiality = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const consentAction = 'http://terminology.hl7.org/CodeSystem/consentaction';
const resourceTypes = 'http://hl7.org/fhir/resource-types';
const recipient = {
  coding: [
    {
      system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
      code: 'IRCP',
      display: 'information recipient',
    },
  ],
};

const action = (code: string) => ({ coding: [{ system: consentAction, code }] });
const purpose = (code: string) => ({ system: actReason, code });
const organisation = (id: string) => ({
  role: recipient,
  reference: { reference: `Organization/${id}` },
});
const practitioner = (fhirId: string) => ({
  role: recipient,
  reference: { reference: `Practitioner/${fhirId}` },
});

/** A Consent in the form the view writes it, granted at `time`. */
function consent(
  name: string,
  policyRule: string,
  provision: ConsentProvision,
  time: number,
): Consent {
  const patientReference = `Patient/${patient}`;
  return {
    resourceType: 'Consent',
    id: toHex(idOf(`consent:${name}`)),
    meta: { versionId: '1', lastUpdated: fhirInstant(time) },
    status: 'active',
    scope: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/consentscope',
          code: 'patient-privacy',
          display: 'Privacy Consent',
        },
      ],
    },
    category: [{ coding: [{ system: loinc, code: '59284-0', display: 'Patient Consent' }] }],
    patient: { reference: patientReference },
    dateTime: fhirInstant(time),
    performer: [{ reference: patientReference }],
    policyRule: { coding: [{ system: actCode, code: policyRule }] },
    provision,
  };
}

/** The IHE PCF patterns (basic, intermediate, advanced) as FHIR provisions. */
const patterns: Record<string, { policyRule: string; provision: ConsentProvision }> = {
  'basic opt-in': { policyRule: 'OPTIN', provision: { type: 'permit' } },
  'basic opt-out': { policyRule: 'OPTOUT', provision: { type: 'deny' } },
  'deny one organisation, except one of its practitioners for treatment': {
    policyRule: 'OPTIN',
    provision: {
      type: 'permit',
      provision: [
        {
          type: 'deny',
          actor: [organisation('org-c')],
          provision: [
            { type: 'permit', actor: [practitioner('org-c--carol')], purpose: [purpose('TREAT')] },
          ],
        },
      ],
    },
  },
  'deny one practitioner and one client application': {
    policyRule: 'OPTINR',
    provision: {
      type: 'permit',
      provision: [
        {
          type: 'deny',
          actor: [
            practitioner('org-b--bob'),
            { role: recipient, reference: { reference: 'Device/org-b--app' } },
          ],
        },
      ],
    },
  },
  'deny sensitive categories': {
    policyRule: 'OPTINR',
    provision: {
      type: 'permit',
      provision: [
        {
          type: 'deny',
          securityLabel: [
            { system: actCode, code: 'PSY' },
            { system: actCode, code: 'HIV' },
            { system: actCode, code: 'ETH' },
            { system: actCode, code: '42CFRPart2' },
            { system: confidentiality, code: 'R' },
          ],
        },
      ],
    },
  },
  'research only, by role, for lab data of 2020 to 2022': {
    policyRule: 'OPTOUTE',
    provision: {
      type: 'deny',
      provision: [
        {
          type: 'permit',
          actor: [
            {
              role: { coding: [{ system: 'urn:medledger:practitioner-role', code: 'researcher' }] },
              reference: {
                type: 'PractitionerRole',
                identifier: { system: 'urn:medledger:practitioner-role', value: 'researcher' },
              },
            },
          ],
          action: [action('access'), action('use')],
          purpose: [purpose('HRESCH')],
          class: [
            { system: resourceTypes, code: 'Observation' },
            { system: resourceTypes, code: 'DiagnosticReport' },
          ],
          dataPeriod: { start: '2020-01-01T00:00:00.000Z', end: '2022-12-31T23:59:59.999Z' },
        },
      ],
    },
  },
  'time-limited permit for one organisation': {
    policyRule: 'OPTIN',
    provision: {
      type: 'permit',
      period: { start: '2023-06-01T00:00:00.000Z', end: '2033-05-31T23:59:59.999Z' },
      actor: [organisation('org-b')],
      action: [action('access'), action('disclose'), action('correct'), action('collect')],
      purpose: [purpose('TREAT'), purpose('HPAYMT')],
    },
  },
  'break-glass restricted, one record withheld': {
    policyRule: 'OPTIN',
    provision: {
      type: 'permit',
      provision: [
        { type: 'deny', purpose: [purpose('BTG'), purpose('ETREAT')] },
        {
          type: 'deny',
          data: [{ meaning: 'instance', reference: { reference: `Observation/${labResult}` } }],
        },
      ],
    },
  },
};

function baseNetwork(): Network {
  const net = new Network(genesisDocument());
  net.practitioner('org-b', 'bob', ['doctor']);
  net.practitioner('org-b', 'erin', ['doctor', 'break-glass']);
  net.practitioner('org-c', 'carol', ['doctor', 'researcher']);
  net.patient('p1');
  net.anchor({ record: 'lab', patientId: idOf('patient:p1'), orgId: 'org-a' });
  return net;
}

function resourceTypeOf(net: Network) {
  return (recordId: Uint8Array) => readRecordHead(net.state, recordId)?.resourceType ?? null;
}

for (const [name, { policyRule, provision }] of Object.entries(patterns)) {
  test(`PCF pattern "${name}": FHIR → body → chain → FHIR is stable and valid R4`, () => {
    const net = baseNetwork();
    const input = consent(name, policyRule, provision, net.time + blockIntervalMs);
    assertValidFhir(input);
    const body = consentToGrantBody(input);
    assert.deepEqual(consentGrantTransactionBody(input), contractBody('consent.grant', body));
    net.ok(net.tx('patient:p1', 'consent.grant', body));
    const record = readConsent(net.state, body.consentId);
    assert.ok(record !== null);
    const output = consentRecordToFhir(record, { resourceTypeOf: resourceTypeOf(net) });
    assert.deepEqual(output, input);
    // Once more: the view of the view is the same body.
    assert.deepEqual(consentToGrantBody(output), body);
  });
}

test('the mapped consents decide on chain as their FHIR text says', () => {
  const request = (practitionerId: string, orgId: string, purposeCode: string): AccessRequest => ({
    patientId: idOf('patient:p1'),
    requester: { kind: 'practitioner', orgId, practitionerId },
    action: 'access',
    purpose: purposeCode,
    recordId: null,
    resourceType: 'Observation',
    securityLabels: [],
  });
  const cases: Array<{ pattern: string; request: AccessRequest; decision: 'permit' | 'deny' }> = [
    { pattern: 'basic opt-in', request: request('bob', 'org-b', 'TREAT'), decision: 'permit' },
    { pattern: 'basic opt-out', request: request('bob', 'org-b', 'TREAT'), decision: 'deny' },
    {
      pattern: 'deny one organisation, except one of its practitioners for treatment',
      request: request('carol', 'org-c', 'TREAT'),
      decision: 'permit',
    },
    {
      pattern: 'deny one organisation, except one of its practitioners for treatment',
      request: request('carol', 'org-c', 'HPAYMT'),
      decision: 'deny',
    },
    {
      pattern: 'deny one practitioner and one client application',
      request: request('bob', 'org-b', 'TREAT'),
      decision: 'deny',
    },
    {
      pattern: 'deny one practitioner and one client application',
      request: request('erin', 'org-b', 'TREAT'),
      decision: 'permit',
    },
  ];
  for (const { pattern, request: asked, decision } of cases) {
    const net = baseNetwork();
    const { policyRule, provision } = patterns[pattern]!;
    const body = consentToGrantBody(consent(pattern, policyRule, provision, net.time + 1000));
    net.ok(net.tx('patient:p1', 'consent.grant', body));
    assert.equal(decide(net.state, asked, net.time).decision, decision, `${pattern}`);
  }
});

test('a revoked consent reads back as status inactive, version 2, still valid R4', () => {
  const net = baseNetwork();
  const { policyRule, provision } = patterns['basic opt-in']!;
  const body = consentToGrantBody(consent('revoked', policyRule, provision, net.time + 1000));
  net.ok(net.tx('patient:p1', 'consent.grant', body));
  net.ok(net.tx('patient:p1', 'consent.revoke', { consentId: body.consentId }));
  const output = consentRecordToFhir(readConsent(net.state, body.consentId)!);
  assert.equal(output.status, 'inactive');
  assert.deepEqual(output.meta, { versionId: '2', lastUpdated: fhirInstant(net.time) });
  assertValidFhir(output);
  // An inactive consent is no grant: its twin is refused.
  assert.throws(() => consentToGrantBody(output), /Consent\.status/);
});

test('ids that are not FHIR ids become logical references, and read back the same', () => {
  const net = baseNetwork();
  const provision = {
    type: 'deny' as const,
    actor: [
      { role: recipient, reference: actorReference({ kind: 'organization', id: 'org_x' }) },
      { role: recipient, reference: actorReference({ kind: 'practitioner', id: 'org-a/dr_1' }) },
      { role: recipient, reference: actorReference({ kind: 'practitioner', id: 'a--b/c' }) },
    ],
    data: [
      {
        meaning: 'instance' as const,
        reference: { identifier: { system: 'urn:medledger:record', value: 'ab'.repeat(16) } },
      },
    ],
  };
  assert.deepEqual(provision.actor[0]!.reference, {
    type: 'Organization',
    identifier: { system: 'urn:medledger:organization', value: 'org_x' },
  });
  const input = consent(
    'logical',
    'OPTOUT',
    { type: 'permit', provision: [provision] },
    net.time + 1000,
  );
  assertValidFhir(input);
  const body = consentToGrantBody(input);
  assert.deepEqual(
    body.provision.provisions[0]!.actors.map((actor) => `${actor.kind}:${actor.id}`),
    ['organization:org_x', 'practitioner:org-a/dr_1', 'practitioner:a--b/c'],
  );
  net.ok(net.tx('patient:p1', 'consent.grant', body));
  assert.deepEqual(consentRecordToFhir(readConsent(net.state, body.consentId)!), input);
});

test('FHIR periods are inclusive at their precision; the chain holds [start, end)', () => {
  const body = consentToGrantBody(
    consent(
      'dates',
      'OPTIN',
      {
        type: 'permit',
        period: { start: '2024-03-01T10:00:00+02:00', end: '2024-03-31' },
        dataPeriod: { start: '2020', end: '2022-12' },
      },
      0,
    ),
  );
  assert.deepEqual(body.provision.period, {
    start: Date.UTC(2024, 2, 1, 8),
    end: Date.UTC(2024, 3, 1),
  });
  assert.deepEqual(body.provision.dataPeriod, {
    start: Date.UTC(2020, 0, 1),
    end: Date.UTC(2023, 0, 1),
  });
});

/** Refusals: each twin changes one element of a valid consent; the error names its path. */
const twins: Array<{ name: string; change: (c: Consent) => void; path: string }> = [
  { name: 'an id that is no pseudonym', change: (c) => (c.id = 'consent-1'), path: 'Consent.id' },
  { name: 'a draft', change: (c) => (c.status = 'draft'), path: 'Consent.status' },
  {
    name: 'a treatment scope',
    change: (c) => (c.scope.coding![0]!.code = 'treatment'),
    path: 'Consent.scope.coding[0].code',
  },
  {
    name: 'another category',
    change: (c) => (c.category[0]!.coding![0]!.code = '64292-6'),
    path: 'Consent.category[0].coding[0].code',
  },
  {
    name: 'a patient that is no pseudonym',
    change: (c) => (c.patient = { reference: 'Patient/123' }),
    path: 'Consent.patient.reference',
  },
  {
    name: 'a patient by identifier',
    change: (c) => (c.patient = { identifier: { system: 'urn:oid:1.2.3', value: '42' } }),
    path: 'Consent.patient.identifier',
  },
  {
    name: 'a performer other than the patient',
    change: (c) => (c.performer = [{ reference: `Patient/${'0'.repeat(32)}` }]),
    path: 'Consent.performer[0].reference',
  },
  { name: 'no policy rule', change: (c) => delete c.policyRule, path: 'Consent.policyRule' },
  {
    name: 'an unknown policy rule',
    change: (c) => (c.policyRule = { coding: [{ system: actCode, code: 'HIPAA-NPP' }] }),
    path: 'Consent.policyRule.coding[0].code',
  },
  {
    name: 'a source document',
    change: (c) => (c.sourceReference = { reference: 'DocumentReference/x' }),
    path: 'Consent.sourceReference',
  },
  { name: 'no provision', change: (c) => delete c.provision, path: 'Consent.provision' },
  {
    name: 'a provision without type',
    change: (c) => delete c.provision!.type,
    path: 'Consent.provision.type',
  },
  {
    name: 'a related person as actor',
    change: (c) =>
      (c.provision!.provision = [
        { type: 'deny' },
        { type: 'deny', actor: [{ role: recipient, reference: { reference: 'RelatedPerson/x' } }] },
      ]),
    path: 'Consent.provision.provision[1].actor[0].reference.reference',
  },
  {
    name: 'an actor role other than information recipient',
    change: (c) =>
      (c.provision!.actor = [
        {
          role: { coding: [{ ...recipient.coding[0]!, code: 'PRCP' }] },
          reference: { reference: 'Organization/org-b' },
        },
      ]),
    path: 'Consent.provision.actor[0].role.coding[0].code',
  },
  {
    name: 'a practitioner id without organisation',
    change: (c) => (c.provision!.actor = [practitioner('bob')]),
    path: 'Consent.provision.actor[0].reference.reference',
  },
  {
    name: 'a REST verb as action',
    change: (c) => (c.provision!.action = [action('read')]),
    path: 'Consent.provision.action[0].coding[0].code',
  },
  {
    name: 'an unknown purpose of use',
    change: (c) => (c.provision!.purpose = [purpose('HOLIDAY')]),
    path: 'Consent.provision.purpose[0].code',
  },
  {
    name: 'a purpose from another system',
    change: (c) => (c.provision!.purpose = [{ system: 'urn:other', code: 'TREAT' }]),
    path: 'Consent.provision.purpose[0].system',
  },
  {
    name: 'a purpose named twice',
    change: (c) => (c.provision!.purpose = [purpose('TREAT'), purpose('TREAT')]),
    path: 'Consent.provision.purpose[1]',
  },
  {
    name: 'an unknown sensitivity label',
    change: (c) => (c.provision!.securityLabel = [{ system: actCode, code: 'NOPE' }]),
    path: 'Consent.provision.securityLabel[0].code',
  },
  {
    name: 'a clinical code (provision.code)',
    change: (c) => (c.provision!.code = [{ coding: [{ system: loinc, code: '8480-6' }] }]),
    path: 'Consent.provision.code',
  },
  {
    name: 'a modifier extension',
    change: (c) => (c.provision!.modifierExtension = [{ url: 'urn:x', valueBoolean: true }]),
    path: 'Consent.provision.modifierExtension',
  },
  {
    name: 'data related to a record rather than the record',
    change: (c) =>
      (c.provision!.data = [
        { meaning: 'related', reference: { reference: `Observation/${labResult}` } },
      ]),
    path: 'Consent.provision.data[0].meaning',
  },
  {
    name: 'a versioned data reference',
    change: (c) =>
      (c.provision!.data = [
        { meaning: 'instance', reference: { reference: `Observation/${labResult}/_history/2` } },
      ]),
    path: 'Consent.provision.data[0].reference.reference',
  },
  {
    name: 'a period without start',
    change: (c) => (c.provision!.period = { end: '2030-01-01' }),
    path: 'Consent.provision.period.start',
  },
  {
    name: 'a period ending before it starts',
    change: (c) => (c.provision!.period = { start: '2030-01-01', end: '2029-01-01' }),
    path: 'Consent.provision.period.end',
  },
  {
    name: 'a malformed data period',
    change: (c) => (c.provision!.dataPeriod = { start: '2020-02-30' }),
    path: 'Consent.provision.dataPeriod.start',
  },
  {
    name: 'nesting four levels deep',
    change: (c) =>
      (c.provision!.provision = [
        { type: 'deny', provision: [{ type: 'permit', provision: [{ type: 'deny' }] }] },
      ]),
    path: 'Consent.provision.provision[0].provision[0].provision[0]',
  },
  {
    name: 'seventeen exceptions under one provision',
    change: (c) =>
      (c.provision!.provision = Array.from({ length: 17 }, () => ({ type: 'deny' as const }))),
    path: 'Consent.provision.provision',
  },
];

for (const { name, change, path } of twins) {
  test(`refused: ${name} (${path})`, () => {
    const valid = consent('twin', 'OPTIN', { type: 'permit' }, 0);
    assert.doesNotThrow(() => consentToGrantBody(valid));
    const twin = structuredClone(valid);
    change(twin);
    assert.throws(
      () => consentToGrantBody(twin),
      (error: unknown) =>
        error instanceof FhirViewError &&
        error.details.path === path &&
        error.message.startsWith(`${path}: `),
    );
  });
}
