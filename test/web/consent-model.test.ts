// Checks that the patient portal's Consent mapping (src/web, which may not import src/fhir) says
// exactly what the node's FHIR layer reads from it: for many choices, the FHIR Consent the portal
// sends maps, through fhir's consentToGrantBody, to the very body the portal signs (fast-check).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { encodeCbor } from '../../src/codec/index.ts';
import { contractBody } from '../../src/contracts/index.ts';
import { consentToGrantBody } from '../../src/fhir/index.ts';
import {
  type GrantChoice,
  grantOf,
  provisionOfChoice,
} from '../../src/web/patient-consent-model.ts';

// A practitioner is named `<organisation>/<practitioner id>`, as the contracts hold them.
const recipients: GrantChoice['recipient'][] = [
  { kind: 'organization', id: 'riverside-clinic' },
  { kind: 'organization', id: 'lab2' },
  { kind: 'role', id: 'physician' },
  { kind: 'role', id: 'break-glass' },
  { kind: 'practitioner', id: 'riverside-clinic/dr-lorna-mitchell' },
  { kind: 'practitioner', id: 'st-mary-hospital/dr-7' },
];

test('the portal signs the body the node reads from the Consent it sends', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...recipients),
      fc.subarray(['Observation', 'Condition', 'Encounter', 'MedicationRequest', 'Immunization']),
      fc.subarray(['TREAT', 'ETREAT', 'HPAYMT'], { minLength: 1 }),
      fc.option(fc.constantFrom('2027-01-31', '2030-12-31'), { nil: null }),
      fc.subarray(['PSY', 'HIV', 'SDV', 'ETH', 'R']),
      (recipient, classes, purposes, until, labels) => {
        const provision = provisionOfChoice(
          { recipient, classes, purposes, until, labels },
          Date.UTC(2026, 11, 6, 12),
        );
        const { body, consent } = grantOf({
          consentId: 'ab'.repeat(16),
          patientId: 'cd'.repeat(16),
          provision,
        });
        const read = consentToGrantBody(consent as Parameters<typeof consentToGrantBody>[0]);
        assert.deepEqual(
          encodeCbor(contractBody('consent.grant', read)),
          encodeCbor(contractBody('consent.grant', body)),
        );
      },
    ),
    { numRuns: 200, seed: 6 },
  );
});
