// Checks that every generated resource is valid FHIR R4 (medplum's validator with the R4
// definitions, plus required code bindings checked against the R4 value sets), that the code
// tables' codes are well formed (LOINC and SNOMED CT check digits), and that suggested consents map to
// the chain through src/fhir's Consent view.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Resource } from '@medplum/fhirtypes';

import { consentToGrantBody } from '../../src/fhir/consent-resource.ts';
import {
  CodeSystemUrl,
  allergies,
  bloodPressure,
  conditions,
  documentTypes,
  encounterTypes,
  generatePopulation,
  labTests,
  medications,
  procedures,
  qualitativeTests,
  reportTypes,
  testAnswers,
  vaccines,
  vitalSigns,
} from '../../src/synthetic/index.ts';
import { assertValidFhir, requiredBindingProblems, uncheckedValueSets } from './fhir-validation.ts';

const population = generatePopulation({
  seed: 11,
  patientCount: 40,
  organisations: [
    { id: 'st-mary', name: 'St Mary Hospital', kind: 'hospital' },
    { id: 'northside', name: 'Northside Clinic', kind: 'clinic' },
    { id: 'central-lab', name: 'Central Laboratory', kind: 'laboratory' },
    { id: 'mutual', name: 'Mutual Health Insurance', kind: 'payer' },
  ],
});

test('every generated resource passes R4 validation and its required bindings', () => {
  const resources: Resource[] = [
    ...population.organisations,
    ...population.practitioners.map((practitioner) => practitioner.resource),
    ...population.patients.flatMap((patient) => [
      patient.resource,
      ...patient.records.map((record) => record.resource),
      ...patient.suggestedConsents,
    ]),
  ];
  const types = new Set<string>(resources.map((resource) => resource.resourceType));
  for (const type of [
    'Observation',
    'Condition',
    'Encounter',
    'MedicationRequest',
    'AllergyIntolerance',
    'Immunization',
    'Procedure',
    'DiagnosticReport',
    'DocumentReference',
    'Patient',
    'Practitioner',
    'Organization',
    'Consent',
  ]) {
    assert.ok(types.has(type), `no ${type} generated`);
  }
  for (const resource of resources) assertValidFhir(resource);
  // What the binding check could not expand here is only the open code systems (mime types and
  // languages, BCP 13 and BCP 47), never a status or category.
  for (const url of uncheckedValueSets) {
    assert.match(url, /\/(mimetypes|languages|all-languages)$/, `unchecked value set ${url}`);
  }
});

test('the required-binding check itself refuses a wrong status and a wrong clinical status system', () => {
  const observation = population.patients[0]!.records.find(
    (record) => record.resource.resourceType === 'Observation',
  )!.resource;
  assert.deepEqual(requiredBindingProblems(observation), []);
  assert.equal(
    requiredBindingProblems({ ...observation, status: 'done' } as unknown as Resource).length,
    1,
  );
  const condition = population.patients
    .flatMap((patient) => patient.records)
    .find((record) => record.resource.resourceType === 'Condition')!.resource;
  const wrongSystem = structuredClone(condition) as Resource & {
    clinicalStatus: { coding: Array<{ system: string }> };
  };
  wrongSystem.clinicalStatus.coding[0]!.system = 'http://snomed.info/sct';
  assert.equal(requiredBindingProblems(wrongSystem).length, 1);
});

test('suggested consents map to consent.grant bodies through the Consent view', () => {
  let count = 0;
  for (const patient of population.patients) {
    for (const consent of patient.suggestedConsents) {
      const body = consentToGrantBody(consent);
      assert.equal(Buffer.from(body.patientId).toString('hex'), patient.pseudonym);
      count += 1;
    }
  }
  assert.ok(count >= population.patients.length, `${count} consents`);
});

/** LOINC's mod-10 check digit (the Luhn algorithm over the code's digits). */
function isLoinc(code: string): boolean {
  if (!/^\d{1,7}-\d$/.test(code)) return false;
  const digits = code.replace('-', '');
  let sum = 0;
  [...digits].reverse().forEach((char, index) => {
    let digit = Number(char);
    if (index % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  });
  return sum % 10 === 0;
}

/** SNOMED CT identifiers end in a Verhoeff check digit. */
function isSnomed(code: string): boolean {
  const d = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
  ];
  const p = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
  ];
  if (!/^\d{6,18}$/.test(code)) return false;
  let check = 0;
  [...code].reverse().forEach((char, index) => {
    check = d[check]![p[index % 8]![Number(char)]!]!;
  });
  return check === 0;
}

test('the code tables hold well-formed codes of 15 to 30 entries, and the checks catch a typo', () => {
  const loinc = [
    ...vitalSigns,
    ...labTests,
    ...qualitativeTests,
    ...reportTypes,
    ...documentTypes,
    bloodPressure.panel,
    bloodPressure.systolic,
    bloodPressure.diastolic,
  ].map((entry) => entry.code);
  for (const code of loinc) assert.ok(isLoinc(code), `LOINC ${code}`);
  const snomed = [
    ...conditions,
    ...procedures,
    ...allergies,
    ...encounterTypes,
    testAnswers.negative,
    testAnswers.positive,
  ].map((entry) => entry.code);
  for (const code of snomed) assert.ok(isSnomed(code), `SNOMED CT ${code}`);
  for (const { icd10 } of conditions)
    assert.match(icd10.code, /^[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$/);
  for (const { code } of medications) assert.match(code, /^\d{4,8}$/);
  for (const { code } of vaccines) assert.match(code, /^\d{2,3}$/);
  // Substance use conditions are the ICD-10-CM F10–F19 block, and carry ETH and 42CFRPart2.
  for (const condition of conditions) {
    const inBlock = /^F1\d/.test(condition.icd10.code);
    assert.equal(inBlock, condition.labels?.includes('42CFRPart2') ?? false, condition.icd10.code);
  }
  for (const table of [
    [...vitalSigns, ...labTests, ...qualitativeTests],
    conditions,
    medications,
    allergies,
    vaccines,
    procedures,
  ]) {
    assert.ok(table.length >= 15 && table.length <= 30, `a table of ${table.length}`);
  }
  assert.equal(isLoinc('8867-5'), false);
  assert.equal(isSnomed('38341004'), false);
  assert.equal(CodeSystemUrl.loinc, 'http://loinc.org');
});
