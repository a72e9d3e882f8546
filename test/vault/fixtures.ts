// Shared fixtures of the vault tests: sample FHIR R4 resources and a KEK from fixed bytes.
import { fromHex } from '../../src/base/index.ts';
import assert from 'node:assert/strict';

import type { FhirResourceJson, PutRecordInput, RecordVault } from '../../src/vault/index.ts';

/** A KEK's key bytes, fixed so that tests can check wrapping with `node:crypto`. */
export const kekBytesA = fromHex(
  '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
);
export const kekBytesB = fromHex(
  'f0e0d0c0b0a090807060504030201000ffeeddccbbaa99887766554433221100',
);

/** One resource of each kind a hospital stores, with nested arrays, unicode and numbers. */
export const sampleResources: readonly FhirResourceJson[] = [
  {
    resourceType: 'Patient',
    id: 'pat-1',
    meta: {
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
    },
    name: [{ family: 'Østergård', given: ['Zoë', 'Ana-María'] }],
    birthDate: '1970-01-01',
    gender: 'female',
  },
  {
    resourceType: 'Observation',
    id: 'obs-1',
    status: 'final',
    code: {
      coding: [
        { system: 'http://loinc.org', code: '2339-0', display: 'Glucose [Mass/volume] in Blood' },
      ],
    },
    subject: { reference: 'Patient/pat-1' },
    effectiveDateTime: '2024-03-01T08:30:00Z',
    valueQuantity: {
      value: 6.3,
      unit: 'mmol/L',
      system: 'http://unitsofmeasure.org',
      code: 'mmol/L',
    },
  },
  {
    resourceType: 'Condition',
    id: 'cond-1',
    clinicalStatus: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' },
      ],
    },
    code: {
      coding: [
        { system: 'http://snomed.info/sct', code: '44054006', display: 'Diabetes mellitus type 2' },
      ],
    },
    subject: { reference: 'Patient/pat-1' },
    note: [{ text: 'Line one\nline "two" \u20ac 😀' }],
  },
  {
    resourceType: 'MedicationRequest',
    id: 'med-1',
    status: 'active',
    intent: 'order',
    medicationCodeableConcept: {
      coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '860975' }],
    },
    subject: { reference: 'Patient/pat-1' },
    dosageInstruction: [
      {
        timing: { repeat: { frequency: 2, period: 1, periodUnit: 'd' } },
        doseAndRate: [{ doseQuantity: { value: 500, unit: 'mg' } }],
      },
    ],
    substitution: { allowedBoolean: false },
    priorPrescription: null,
  },
  {
    resourceType: 'Consent',
    id: 'consent-1',
    status: 'active',
    scope: { coding: [{ code: 'patient-privacy' }] },
    category: [],
    provision: {
      type: 'permit',
      period: { start: '2024-01-01' },
      provision: [{ type: 'deny', securityLabel: [{ code: 'PSY' }] }],
    },
  },
];

let counter = 0;

/** A fresh record id, unique within the test run. */
export function freshId(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A `put` input with defaults for the fields a test does not care about. */
export function putInput(
  overrides: Partial<PutRecordInput> & { resource?: FhirResourceJson } = {},
): PutRecordInput {
  const resource = overrides.resource ?? sampleResources[1]!;
  return {
    recordId: overrides.recordId ?? freshId('rec'),
    version: overrides.version ?? 1,
    resourceType: overrides.resourceType ?? resource.resourceType,
    patientId: overrides.patientId ?? 'patient-a',
    resource,
    lastUpdatedMs: overrides.lastUpdatedMs ?? 1_709_280_000_000,
    securityLabels: overrides.securityLabels ?? ['N'],
    ...(overrides.deleted === undefined ? {} : { deleted: overrides.deleted }),
  };
}

/**
 * The checks of a vault just upgraded from format 1 or 2, `recordId` holding versions 1 and 2
 * from before: they read, have no Provenance, and a version put now keeps one. Closes the vault.
 */
export async function checkUpgradedVault(vault: RecordVault, recordId: string): Promise<void> {
  const provenance = { resourceType: 'Provenance', target: [{ reference: 'x' }] };
  try {
    assert.equal((await vault.get({ recordId })).meta.version, 2);
    assert.equal(await vault.getProvenance({ recordId, version: 2 }), null);
    await vault.put({ ...putInput({ recordId, version: 2 }), replaceUnanchored: true, provenance });
    assert.deepEqual(await vault.getProvenance({ recordId, version: 2 }), provenance);
  } finally {
    await vault.close();
  }
}
