// Checks resource validation with valid and invalid twins: JSON limits, types, ids, medplum's
// structural checks and the required-binding check medplum leaves out, through the public surface.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { validateResource as medplumValidateResource } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';

import {
  FhirError,
  assertValidResource,
  fhirLimits,
  jsonBoundsProblem,
  parseResourceJson,
  supportedResourceTypes,
  uncheckableRequiredBindings,
  validateResource,
  valueSetCodes,
} from '../../src/fhir/index.ts';

const observation = {
  resourceType: 'Observation',
  id: 'obs-1',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  subject: { reference: 'Patient/123' },
  effectiveDateTime: '2024-05-01T10:00:00Z',
  valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
};

function codesOf(resource: unknown, type?: string): string[] {
  return validateResource(resource, type === undefined ? {} : { type }).map((issue) => issue.code);
}

test('a valid Observation has no issues; its bad-status twin has one naming the element', () => {
  assert.deepEqual(validateResource(observation, { type: 'Observation' }), []);
  const bad = { ...observation, status: 'finalised' };
  const issues = validateResource(bad, { type: 'Observation' });
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.code, 'value');
  assert.deepEqual(issues[0]!.expression, ['Observation.status']);
  assert.match(issues[0]!.diagnostics!, /observation-status.*found "finalised"/);
});

test('medplum alone accepts Observation.status "finalised": the required-binding check is ours', () => {
  const bad = { ...observation, status: 'finalised' } as Resource;
  const medplumErrors = medplumValidateResource(bad).filter((issue) => issue.severity === 'error');
  assert.deepEqual(medplumErrors, []);
  assert.notDeepEqual(validateResource(bad), []);
});

test('required bindings on CodeableConcept, nested datatypes and contained resources', () => {
  const allergy = {
    resourceType: 'AllergyIntolerance',
    patient: { reference: 'Patient/1' },
    clinicalStatus: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical',
          code: 'active',
        },
      ],
    },
  };
  assert.deepEqual(validateResource(allergy), []);
  const wrongSystem = {
    ...allergy,
    clinicalStatus: { coding: [{ system: 'http://example.org/other', code: 'active' }] },
  };
  assert.deepEqual(codesOf(wrongSystem), ['value']);
  const textOnly = { ...allergy, clinicalStatus: { text: 'active' } };
  assert.match(validateResource(textOnly)[0]!.diagnostics!, /found no coding/);

  const comparator = { ...observation, valueQuantity: { value: 1, comparator: '<' } };
  assert.deepEqual(validateResource(comparator), []);
  const badComparator = { ...observation, valueQuantity: { value: 1, comparator: '<<' } };
  assert.match(validateResource(badComparator)[0]!.diagnostics!, /quantity-comparator/);

  const patient = { resourceType: 'Patient', gender: 'female' };
  const containing = { ...observation, contained: [{ ...patient, id: 'p' }] };
  assert.deepEqual(validateResource(containing), []);
  const badContained = { ...observation, contained: [{ ...patient, id: 'p', gender: 'mail' }] };
  assert.match(validateResource(badContained)[0]!.diagnostics!, /administrative-gender/);
});

test('unknown, unsupported and mismatched resource types are refused', () => {
  assert.deepEqual(codesOf({ resourceType: 'Nonsense' }), ['invalid']);
  assert.deepEqual(codesOf({ resourceType: 'Organization', name: 'x' }), ['invalid']);
  assert.deepEqual(codesOf({ status: 'final' }), ['required']);
  assert.deepEqual(codesOf(observation, 'Patient'), ['invalid']);
  assert.deepEqual(codesOf(observation, 'Observation'), []);
  assert.deepEqual(codesOf([observation]), ['structure']);
  assert.deepEqual(codesOf(null), ['structure']);
});

test('ids must be FHIR ids', () => {
  assert.deepEqual(codesOf({ ...observation, id: 'A-z.0' }), []);
  assert.deepEqual(codesOf({ ...observation, id: 'a b' }), ['value']);
  assert.deepEqual(codesOf({ ...observation, id: 'x'.repeat(65) }), ['value']);
  assert.deepEqual(codesOf({ ...observation, id: 'x'.repeat(64) }), []);
  assert.deepEqual(codesOf({ ...observation, id: 7 }), ['value']);
});

test('structural errors from medplum come back as 400 issue types', () => {
  const missingStatus: Record<string, unknown> = { ...observation };
  delete missingStatus['status'];
  const issues = validateResource(missingStatus);
  assert.ok(issues.length >= 1);
  for (const issue of issues)
    assert.ok(['invalid', 'structure', 'required', 'value'].includes(issue.code));
  assert.ok(validateResource({ ...observation, unknownField: 1 }).length >= 1);
  assert.ok(validateResource({ ...observation, effectiveDateTime: '2024-13-01' }).length >= 1);
});

test('over-deep and oversized JSON is refused before anything else', () => {
  let deep: unknown = 'leaf';
  for (let level = 0; level < fhirLimits.jsonDepthMax + 2; level += 1) deep = { nested: deep };
  assert.deepEqual(codesOf({ ...observation, extension: [deep] }), ['structure']);
  // The twin: exactly jsonDepthMax levels is within the bound, one more is not.
  let atLimit: unknown = 'leaf';
  for (let level = 0; level < fhirLimits.jsonDepthMax; level += 1) atLimit = [atLimit];
  assert.equal(jsonBoundsProblem(atLimit), undefined);
  assert.match(jsonBoundsProblem([atLimit]) ?? '', /levels deep/);

  const deepText = `${'['.repeat(fhirLimits.jsonDepthMax + 1)}${']'.repeat(fhirLimits.jsonDepthMax + 1)}`;
  assert.throws(
    () => parseResourceJson(deepText),
    (error: unknown) => {
      return (
        error instanceof FhirError && error.status === 400 && /levels deep/.test(error.message)
      );
    },
  );
  const big = JSON.stringify({
    ...observation,
    id: undefined,
    text: { status: 'generated', div: 'x'.repeat(fhirLimits.resourceBytesMax) },
  });
  assert.throws(() => parseResourceJson(big), /at most 4194304 bytes/);
  // Brackets inside strings do not count as depth.
  const bracketsInString = JSON.stringify({
    ...observation,
    id: 'obs-2',
    note: [{ text: '['.repeat(200) }],
  });
  assert.equal(parseResourceJson(bracketsInString, { type: 'Observation' }).id, 'obs-2');
  assert.throws(
    () => parseResourceJson('{"resourceType": '),
    (error: unknown) => {
      return error instanceof FhirError && error.code === 'structure';
    },
  );
});

test('assertValidResource throws one 400 FhirError carrying every issue', () => {
  const twoBad = {
    ...observation,
    status: 'finalised',
    valueQuantity: { value: 1, comparator: '<<' },
  };
  assert.throws(
    () => assertValidResource(twoBad),
    (error: unknown) => {
      assert.ok(error instanceof FhirError);
      assert.equal(error.status, 400);
      assert.equal(error.toOperationOutcome().issue.length, 2);
      return true;
    },
  );
  assert.equal(assertValidResource(observation).id, 'obs-1');
});

test('value sets expand from local definitions; external ones are listed as unchecked', () => {
  assert.deepEqual(
    [...(valueSetCodes('http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1') ?? [])].sort(),
    [
      'http://hl7.org/fhir/administrative-gender|female',
      'http://hl7.org/fhir/administrative-gender|male',
      'http://hl7.org/fhir/administrative-gender|other',
      'http://hl7.org/fhir/administrative-gender|unknown',
    ],
  );
  assert.equal(valueSetCodes('http://hl7.org/fhir/ValueSet/mimetypes'), null);
  assert.equal(valueSetCodes('http://example.org/ValueSet/nowhere'), null);
  // Pinned: README.md lists exactly these as the required bindings that are not checked.
  assert.deepEqual(uncheckableRequiredBindings(supportedResourceTypes), [
    { path: 'Attachment.contentType', valueSet: 'http://hl7.org/fhir/ValueSet/mimetypes' },
    { path: 'Signature.sigFormat', valueSet: 'http://hl7.org/fhir/ValueSet/mimetypes' },
    { path: 'Signature.targetFormat', valueSet: 'http://hl7.org/fhir/ValueSet/mimetypes' },
  ]);
});

const loinc = (code: string): unknown => ({ coding: [{ system: 'http://loinc.org', code }] });
const clinical = (system: string, code: string): unknown => ({
  coding: [{ system: `http://terminology.hl7.org/CodeSystem/${system}`, code }],
});

test('a typical instance of every supported type is valid; each with one bad code is not', () => {
  const subject = { reference: 'Patient/p1' };
  const examples: Array<[unknown, string]> = [
    [
      { resourceType: 'Patient', gender: 'male', name: [{ use: 'official', family: 'Doe' }] },
      'gender',
    ],
    [{ resourceType: 'Observation', status: 'final', code: loinc('8867-4'), subject }, 'status'],
    [
      {
        resourceType: 'Condition',
        subject,
        clinicalStatus: clinical('condition-clinical', 'active'),
        verificationStatus: clinical('condition-ver-status', 'confirmed'),
        code: { text: 'asthma' },
      },
      'clinicalStatus',
    ],
    [
      {
        resourceType: 'Encounter',
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject,
      },
      'status',
    ],
    [
      {
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'order',
        medicationCodeableConcept: { text: 'aspirin' },
        subject,
      },
      'intent',
    ],
    [
      {
        resourceType: 'AllergyIntolerance',
        patient: subject,
        type: 'allergy',
        criticality: 'high',
        clinicalStatus: clinical('allergyintolerance-clinical', 'active'),
      },
      'criticality',
    ],
    [
      {
        resourceType: 'Immunization',
        status: 'completed',
        vaccineCode: { text: 'flu' },
        patient: subject,
        occurrenceDateTime: '2024-01-01',
      },
      'status',
    ],
    [{ resourceType: 'Procedure', status: 'completed', subject, code: { text: 'x' } }, 'status'],
    [
      { resourceType: 'DiagnosticReport', status: 'final', code: loinc('58410-2'), subject },
      'status',
    ],
    [
      {
        resourceType: 'DocumentReference',
        status: 'current',
        subject,
        content: [{ attachment: { contentType: 'text/plain', data: 'aGVsbG8=' } }],
      },
      'status',
    ],
    [
      {
        resourceType: 'Consent',
        status: 'active',
        scope: clinical('consentscope', 'patient-privacy'),
        category: [loinc('59284-0')],
        patient: subject,
        policyRule: clinical('consentpolicycodes', 'hipaa-auth'),
        provision: { type: 'permit' },
      },
      'status',
    ],
    [
      {
        resourceType: 'AuditEvent',
        type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110110' },
        action: 'R',
        recorded: '2024-05-01T10:00:00Z',
        outcome: '0',
        agent: [{ requestor: true, who: { reference: 'Practitioner/1' } }],
        source: { observer: { reference: 'Device/node-1' } },
      },
      'action',
    ],
    [
      {
        resourceType: 'Provenance',
        target: [{ reference: 'Observation/o1/_history/1' }],
        recorded: '2024-05-01T10:00:00Z',
        agent: [{ who: { reference: 'Practitioner/1' } }],
      },
      'target',
    ],
  ];
  assert.deepEqual(
    examples.map(([resource]) => (resource as { resourceType: string }).resourceType).sort(),
    [...supportedResourceTypes].sort(),
  );
  for (const [resource, field] of examples) {
    const type = (resource as { resourceType: string }).resourceType;
    assert.deepEqual(validateResource(resource), [], type);
    const value = (resource as Record<string, unknown>)[field];
    const broken =
      typeof value === 'string'
        ? { ...(resource as object), [field]: 'not-a-code' }
        : field === 'target'
          ? { ...(resource as object), target: [] }
          : { ...(resource as object), [field]: clinical('nowhere', 'x') };
    assert.notDeepEqual(validateResource(broken), [], `${type}.${field}`);
  }
});

test('a parsed valid resource is frozen and not validated twice; anything else is still validated', () => {
  const parsed = parseResourceJson(JSON.stringify(observation), { type: 'Observation' });
  assert.ok(Object.isFrozen(parsed));
  assert.ok(Object.isFrozen((parsed as { code: { coding: object[] } }).code.coding[0]));
  assert.throws(() => {
    (parsed as { status: string }).status = 'finalised';
  }, TypeError);
  // The same object passes at once, as itself, under its own type…
  assert.equal(assertValidResource(parsed, { type: 'Observation' }), parsed);
  assert.equal(assertValidResource(parsed), parsed);
  // …but not under another type.
  assert.throws(
    () => assertValidResource(parsed, { type: 'Patient' }),
    (error: unknown) =>
      error instanceof FhirError && /expected resourceType Patient/.test(error.message),
  );
  // A copy, even of a valid parsed resource, is validated again: its bad twin is refused.
  const copy = { ...parsed, status: 'finalised' };
  assert.throws(
    () => assertValidResource(copy, { type: 'Observation' }),
    (error: unknown) => error instanceof FhirError && error.code === 'value',
  );
  // An object never parsed here is validated, and not frozen by it.
  const literal = { ...observation };
  assert.equal(assertValidResource(literal, { type: 'Observation' }), literal);
  assert.ok(!Object.isFrozen(literal));
});
