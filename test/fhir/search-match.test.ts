// Checks search parsing and matching per parameter type (string, token, date, reference, uri,
// _id, _lastUpdated, :missing) with a match and a non-match for each, and 400s for bad queries.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Resource } from '@medplum/fhirtypes';

import {
  FhirError,
  matchesSearch,
  parseSearchRequest,
  searchResources,
} from '../../src/fhir/index.ts';
import type { SearchParams } from '../../src/fhir/index.ts';

const baseUrl = 'https://node.example/fhir';

function matches(type: string, params: SearchParams, resource: Resource): boolean {
  return matchesSearch(resource, parseSearchRequest({ type, params }), baseUrl);
}

const patient: Resource = {
  resourceType: 'Patient',
  id: 'p1',
  meta: { lastUpdated: '2024-03-10T12:00:00Z' },
  active: true,
  gender: 'female',
  birthDate: '1980-06-15',
  name: [{ family: 'Müller', given: ['Anna', 'Lena'] }],
  identifier: [{ system: 'urn:oid:1.2.36.146.595.217.0.1', value: 'MRN-12345' }],
  address: [{ city: 'Zürich', country: 'CH' }],
};

const observation: Resource = {
  resourceType: 'Observation',
  id: 'o1',
  status: 'final',
  category: [
    {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/observation-category',
          code: 'vital-signs',
        },
      ],
    },
  ],
  code: {
    coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }],
    text: 'Pulse',
  },
  subject: { reference: 'Patient/123' },
  effectiveDateTime: '2024-05-01T10:30:00Z',
};

const encounter: Resource = {
  resourceType: 'Encounter',
  id: 'e1',
  status: 'finished',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
  subject: { reference: `${baseUrl}/Patient/123` },
  period: { start: '2024-05-01T08:00:00Z', end: '2024-05-03T17:00:00Z' },
};

test('string: default is a case- and accent-insensitive prefix on any name part', () => {
  assert.ok(matches('Patient', { family: 'mul' }, patient));
  assert.ok(matches('Patient', { family: 'MÜLLER' }, patient));
  assert.ok(matches('Patient', { name: 'len' }, patient));
  assert.ok(matches('Patient', { 'address-city': 'zur' }, patient));
  assert.ok(!matches('Patient', { family: 'ller' }, patient));
  assert.ok(!matches('Patient', { family: 'Schmidt' }, patient));
});

test('string: :exact is whole and case-sensitive, :contains is a substring', () => {
  assert.ok(matches('Patient', { 'family:exact': 'Müller' }, patient));
  assert.ok(!matches('Patient', { 'family:exact': 'müller' }, patient));
  assert.ok(!matches('Patient', { 'family:exact': 'Mül' }, patient));
  assert.ok(matches('Patient', { 'family:contains': 'LLE' }, patient));
  assert.ok(!matches('Patient', { 'family:contains': 'xyz' }, patient));
});

test('token: code, system|code, |code, system|, :not and :text', () => {
  assert.ok(matches('Observation', { code: '8867-4' }, observation));
  assert.ok(matches('Observation', { code: 'http://loinc.org|8867-4' }, observation));
  assert.ok(!matches('Observation', { code: 'http://snomed.info/sct|8867-4' }, observation));
  assert.ok(!matches('Observation', { code: '|8867-4' }, observation));
  assert.ok(matches('Observation', { code: 'http://loinc.org|' }, observation));
  assert.ok(!matches('Observation', { code: '1234-5' }, observation));
  assert.ok(matches('Observation', { code: '1234-5,8867-4' }, observation));
  assert.ok(matches('Observation', { 'code:not': '1234-5' }, observation));
  assert.ok(!matches('Observation', { 'code:not': '8867-4' }, observation));
  assert.ok(matches('Observation', { 'code:text': 'heart' }, observation));
  assert.ok(matches('Observation', { 'code:text': 'pul' }, observation));
  assert.ok(!matches('Observation', { 'code:text': 'blood' }, observation));
  assert.ok(matches('Observation', { status: 'final' }, observation));
  assert.ok(!matches('Observation', { status: 'preliminary' }, observation));
  assert.ok(
    matches('Patient', { identifier: 'urn:oid:1.2.36.146.595.217.0.1|MRN-12345' }, patient),
  );
  assert.ok(!matches('Patient', { identifier: 'urn:oid:9|MRN-12345' }, patient));
  assert.ok(matches('Patient', { gender: 'female', active: 'true' }, patient));
  assert.ok(!matches('Patient', { active: 'false' }, patient));
  assert.ok(matches('Encounter', { class: 'AMB' }, encounter));
});

test('token: repeated parameters combine by AND, commas by OR', () => {
  assert.ok(
    matches(
      'Observation',
      [
        ['status', 'final'],
        ['code', '8867-4'],
      ],
      observation,
    ),
  );
  assert.ok(
    !matches(
      'Observation',
      [
        ['status', 'final'],
        ['code', '1234-5'],
      ],
      observation,
    ),
  );
});

test('date: eq, ge, lt and the other prefixes on a dateTime, a date and a Period', () => {
  // A dateTime
  assert.ok(matches('Observation', { date: '2024-05-01' }, observation));
  assert.ok(matches('Observation', { date: 'eq2024-05' }, observation));
  assert.ok(!matches('Observation', { date: 'eq2024-05-02' }, observation));
  assert.ok(matches('Observation', { date: 'ge2024-05-01' }, observation));
  assert.ok(!matches('Observation', { date: 'ge2024-05-02' }, observation));
  assert.ok(matches('Observation', { date: 'lt2024-05-02' }, observation));
  assert.ok(!matches('Observation', { date: 'lt2024-05-01' }, observation));
  assert.ok(matches('Observation', { date: 'gt2024-04-30' }, observation));
  assert.ok(matches('Observation', { date: 'le2024-05-01T10:30:00Z' }, observation));
  assert.ok(matches('Observation', { date: 'sa2024-04-30' }, observation));
  assert.ok(!matches('Observation', { date: 'sa2024-05-01' }, observation));
  assert.ok(matches('Observation', { date: 'eb2024-05-02' }, observation));
  assert.ok(matches('Observation', { date: 'ne2024-06' }, observation));
  assert.ok(!matches('Observation', { date: 'ne2024-05' }, observation));
  // A time zone moves the instant: 10:30Z is 12:30+02:00.
  assert.ok(matches('Observation', { date: 'ge2024-05-01T12:30:00+02:00' }, observation));
  assert.ok(!matches('Observation', { date: 'gt2024-05-01T12:30:00+02:00' }, observation));
  // A date (day precision)
  assert.ok(matches('Patient', { birthdate: '1980-06-15' }, patient));
  assert.ok(matches('Patient', { birthdate: '1980' }, patient));
  assert.ok(!matches('Patient', { birthdate: '1980-06-15T10:00:00Z' }, patient));
  assert.ok(matches('Patient', { birthdate: 'lt1981' }, patient));
  assert.ok(!matches('Patient', { birthdate: 'lt1980-06-15' }, patient));
  assert.ok(matches('Patient', { birthdate: 'ge1980-06-15' }, patient));
  // A Period from May 1 to May 3
  assert.ok(matches('Encounter', { date: 'eq2024-05' }, encounter));
  assert.ok(!matches('Encounter', { date: 'eq2024-05-02' }, encounter));
  assert.ok(matches('Encounter', { date: 'ge2024-05-02' }, encounter));
  assert.ok(!matches('Encounter', { date: 'ge2024-05-04' }, encounter));
  assert.ok(matches('Encounter', { date: 'lt2024-05-02' }, encounter));
  assert.ok(!matches('Encounter', { date: 'lt2024-05-01' }, encounter));
  assert.ok(matches('Encounter', { date: 'ap2024-05-02' }, encounter));
  const open: Resource = { ...encounter, period: { start: '2024-05-01T08:00:00Z' } };
  assert.ok(matches('Encounter', { date: 'gt2030' }, open));
  assert.ok(!matches('Encounter', { date: 'lt2024-05-01' }, open));
});

test('reference: Type/id, bare id, :Type, absolute URL of this server, and non-matches', () => {
  assert.ok(matches('Observation', { subject: 'Patient/123' }, observation));
  assert.ok(matches('Observation', { patient: 'Patient/123' }, observation));
  assert.ok(matches('Observation', { subject: '123' }, observation));
  assert.ok(matches('Observation', { 'subject:Patient': '123' }, observation));
  assert.ok(matches('Observation', { subject: `${baseUrl}/Patient/123` }, observation));
  assert.ok(!matches('Observation', { subject: 'Patient/124' }, observation));
  assert.ok(!matches('Observation', { subject: 'Group/123' }, observation));
  assert.ok(!matches('Observation', { 'subject:Group': '123' }, observation));
  assert.ok(matches('Encounter', { subject: 'Patient/123' }, encounter));
  const versioned: Resource = { ...observation, subject: { reference: 'Patient/123/_history/4' } };
  assert.ok(matches('Observation', { subject: 'Patient/123' }, versioned));
});

test('_id, _lastUpdated, uri and :missing', () => {
  assert.ok(matches('Patient', { _id: 'p1' }, patient));
  assert.ok(matches('Patient', { _id: 'p0,p1' }, patient));
  assert.ok(!matches('Patient', { _id: 'p2' }, patient));
  assert.ok(matches('Patient', { _lastUpdated: 'ge2024-03-10' }, patient));
  assert.ok(!matches('Patient', { _lastUpdated: 'gt2024-03-10' }, patient));
  assert.ok(matches('Patient', { 'address-postalcode:missing': 'true' }, patient));
  assert.ok(!matches('Patient', { 'address-city:missing': 'true' }, patient));
  assert.ok(!matches('Patient', { 'gender:missing': 'true' }, patient));
  assert.ok(matches('Patient', { 'gender:missing': 'false' }, patient));
  const profiled: Resource = {
    ...patient,
    meta: { profile: ['http://example.org/StructureDefinition/p'] },
  };
  assert.ok(matches('Patient', { _profile: 'http://example.org/StructureDefinition/p' }, profiled));
  assert.ok(!matches('Patient', { _profile: 'http://example.org/StructureDefinition' }, profiled));
  assert.ok(!matches('Observation', {}, patient));
});

function refusal(type: string, params: SearchParams): FhirError {
  try {
    parseSearchRequest({ type, params });
  } catch (error) {
    assert.ok(error instanceof FhirError);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(params)} to be refused`);
}

test('unknown parameters, modifiers and bad values are 400s naming the parameter', () => {
  const unknown = refusal('Patient', { shoeSize: '42' });
  assert.equal(unknown.status, 400);
  assert.match(unknown.message, /shoeSize/);
  assert.deepEqual(unknown.toOperationOutcome().issue[0]!.expression, ['shoeSize']);
  assert.match(refusal('Patient', { _compartment: 'Patient/1' }).message, /_compartment/);
  assert.match(refusal('Patient', { 'family:below': 'x' }).message, /modifier/);
  assert.match(refusal('Observation', { 'subject:Medication': 'x' }).message, /modifier/);
  assert.match(refusal('Observation', { date: 'ge2024-13' }).message, /date/);
  assert.match(refusal('Observation', { date: 'xx' }).message, /date/);
  assert.match(refusal('Observation', { 'code:missing': 'maybe' }).message, /true or false/);
  assert.match(refusal('Observation', { 'value-quantity': '5' }).message, /value-quantity/);
  assert.match(refusal('Observation', { _count: 'ten' }).message, /_count/);
  assert.match(refusal('Observation', { _sort: 'shoeSize' }).message, /shoeSize/);
  assert.match(refusal('Observation', { _include: 'Observation:code' }).message, /reference/);
  assert.match(refusal('Observation', { _summary: 'true' }).message, /_summary/);
  assert.equal(refusal('Nonsense', {}).status, 404);
  // _format and _pretty change only the form of the answer and are ignored.
  const request = parseSearchRequest({
    type: 'Patient',
    params: { _format: 'json', _pretty: 'true' },
  });
  assert.deepEqual(request.filters, []);
  assert.equal(request.canonicalQuery, '');
});

test('escaped commas stay inside one value', () => {
  const named: Resource = { ...patient, name: [{ family: 'Smith, Jr' }] };
  assert.ok(matches('Patient', { 'family:exact': 'Smith\\, Jr' }, named));
  assert.ok(!matches('Patient', { 'family:exact': 'Smith, Jr' }, named));
});

test('searchResources runs the same matcher', () => {
  const { bundle } = searchResources({
    type: 'Observation',
    params: { subject: 'Patient/123' },
    resources: [observation, { ...observation, id: 'o2', subject: { reference: 'Patient/9' } }],
    baseUrl,
  });
  assert.deepEqual(
    bundle.entry?.map((entry) => entry.resource?.id),
    ['o1'],
  );
});
