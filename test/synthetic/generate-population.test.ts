// Checks the synthetic population by generating it: same seed gives identical output and another
// seed another, pseudonyms unique, every record points to its patient, about a fifth sensitive
// over 200 patients, the staff plan, and refused options (each twin names the option).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ContractRole } from '../../src/contracts/index.ts';
import {
  type OrganisationInput,
  PractitionerRoleCode,
  SyntheticError,
  generatePopulation,
} from '../../src/synthetic/index.ts';

const organisations: OrganisationInput[] = [
  { id: 'st-mary', name: 'St Mary Hospital', kind: 'hospital' },
  { id: 'northside', name: 'Northside Clinic', kind: 'clinic' },
  { id: 'central-lab', name: 'Central Laboratory', kind: 'laboratory' },
  { id: 'mutual', name: 'Mutual Health Insurance', kind: 'payer' },
];

test('the same seed gives the same population; another seed another', () => {
  const a = generatePopulation({ seed: 7, patientCount: 20, organisations });
  const b = generatePopulation({ seed: 7, patientCount: 20, organisations });
  assert.deepEqual(a, b);
  const c = generatePopulation({ seed: 8, patientCount: 20, organisations });
  assert.notDeepEqual(c.patients, a.patients);
  assert.notEqual(c.patients[0]!.pseudonym, a.patients[0]!.pseudonym);
});

test('pseudonyms are 32 hex digits, unique over 200 patients, and every reference points to its patient', () => {
  const { patients } = generatePopulation({ seed: 1, patientCount: 200, organisations });
  assert.equal(patients.length, 200);
  const seen = new Set<string>();
  for (const patient of patients) {
    assert.match(patient.pseudonym, /^[0-9a-f]{32}$/);
    assert.ok(!seen.has(patient.pseudonym), `pseudonym ${patient.pseudonym} twice`);
    seen.add(patient.pseudonym);
    assert.equal(patient.resource.id, patient.pseudonym);
    const own = `Patient/${patient.pseudonym}`;
    for (const { resource } of patient.records) {
      // Every Patient reference anywhere in the resource is the patient's own.
      const references = JSON.stringify(resource).match(/"Patient\/[^"]*"/g) ?? [];
      assert.ok(references.length > 0, `${resource.resourceType} names no patient`);
      for (const found of references) assert.equal(found, `"${own}"`);
    }
    for (const consent of patient.suggestedConsents) assert.equal(consent.patient?.reference, own);
  }
  // Record ids are unique too.
  const ids = patients.flatMap((patient) => patient.records.map((record) => record.resource.id));
  assert.equal(new Set(ids).size, ids.length);
});

test('between 15% and 25% of records carry a sensitivity label (R), the rest are N', () => {
  const { patients } = generatePopulation({ seed: 2025, patientCount: 200, organisations });
  const records = patients.flatMap((patient) => patient.records);
  const sensitive = records.filter((record) => record.securityLabels[0] === 'R');
  const share = sensitive.length / records.length;
  assert.ok(share >= 0.15 && share <= 0.25, `sensitive share ${share.toFixed(3)}, seed 2025`);
  for (const record of records) {
    const [confidentiality, ...labels] = record.securityLabels;
    assert.equal(confidentiality, labels.length > 0 ? 'R' : 'N');
    const meta = record.resource.meta?.security?.map((coding) => coding.code);
    assert.deepEqual(meta, record.securityLabels);
  }
  // Each kind of sensitive information occurs.
  const labels = new Set(records.flatMap((record) => record.securityLabels));
  for (const label of ['HIV', 'ETH', '42CFRPart2', 'PSY', 'STD'])
    assert.ok(labels.has(label), label);
  // Substance use always carries the 42 CFR Part 2 policy with it.
  for (const record of records) {
    assert.equal(
      record.securityLabels.includes('ETH'),
      record.securityLabels.includes('42CFRPart2'),
    );
  }
});

test('every care organisation has a privacy officer and a break-glass practitioner', () => {
  assert.equal(PractitionerRoleCode.breakGlass, ContractRole.breakGlass);
  assert.equal(PractitionerRoleCode.privacyOfficer, ContractRole.privacyOfficer);
  const { practitioners, patients } = generatePopulation({
    seed: 3,
    patientCount: 30,
    organisations,
  });
  for (const { id, kind } of organisations) {
    const staff = practitioners.filter((practitioner) => practitioner.orgId === id);
    const withRole = (role: string) => staff.filter((member) => member.roles.includes(role));
    assert.equal(withRole(ContractRole.privacyOfficer).length, 1, id);
    if (kind !== 'payer') assert.ok(withRole(ContractRole.breakGlass).length >= 1, id);
    for (const member of staff) assert.equal(member.resource.id, `${id}--${member.practitionerId}`);
  }
  // Patients belong to hospitals and clinics; lab results to the laboratory.
  const homes = new Set(patients.map((patient) => patient.custodian));
  assert.ok([...homes].every((home) => home === 'st-mary' || home === 'northside'));
  const custodians = new Set(patients.flatMap((p) => p.records.map((record) => record.custodian)));
  assert.ok(custodians.has('central-lab'));
  assert.ok(!custodians.has('mutual'));
});

const refused: Array<{
  name: string;
  options: Parameters<typeof generatePopulation>[0];
  option: string;
}> = [
  {
    name: 'a negative seed',
    options: { seed: -1, patientCount: 1, organisations },
    option: 'seed',
  },
  {
    name: 'too many patients',
    options: { seed: 1, patientCount: 10_001, organisations },
    option: 'patientCount',
  },
  {
    name: 'no organisation',
    options: { seed: 1, patientCount: 1, organisations: [] },
    option: 'organisations',
  },
  {
    name: 'only payers',
    options: { seed: 1, patientCount: 1, organisations: [organisations[3]!] },
    option: 'organisations',
  },
  {
    name: 'an organisation id with "--"',
    options: {
      seed: 1,
      patientCount: 1,
      organisations: [{ id: 'st--mary', name: 'x', kind: 'hospital' }],
    },
    option: 'organisations[0].id',
  },
  {
    name: 'an organisation twice',
    options: { seed: 1, patientCount: 1, organisations: [organisations[0]!, organisations[0]!] },
    option: 'organisations[1].id',
  },
  {
    name: 'a malformed reference date',
    options: { seed: 1, patientCount: 1, organisations, referenceDate: 'soon' },
    option: 'referenceDate',
  },
];

for (const { name, options, option } of refused) {
  test(`refused: ${name} (${option})`, () => {
    assert.doesNotThrow(() => generatePopulation({ seed: 1, patientCount: 1, organisations }));
    assert.throws(
      () => generatePopulation(options),
      (error: unknown) => error instanceof SyntheticError && error.details.option === option,
    );
  });
}
