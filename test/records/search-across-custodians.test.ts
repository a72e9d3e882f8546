// Checks the node-free parts of a search across custodians and of a patient's share request
// (decision 0060) on plain values: which single patient a search names, which records held
// elsewhere are fetched (decided first, bounded, newest first), bounded concurrency, and who the
// custodian takes a share request to be from.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fromHex, toHex } from '../../src/base/index.ts';
import type { AccessDecision, RecordVersion } from '../../src/contracts/index.ts';
import {
  remoteSearchCandidates,
  searchedPatientOf,
  settleBounded,
} from '../../src/records/search-across-custodians.ts';
import { patientShareRefusals, shareRequesterOf } from '../../src/records/share-requester.ts';

const patientX = 'a'.repeat(32);
const patientY = 'b'.repeat(32);

test('a search names one patient by patient, subject or a patient token; anything else stays local', () => {
  const of = (
    params: Record<string, string[]>,
    type = 'Observation',
    confined: string | null = null,
  ) => searchedPatientOf({ type, params, confinedPatient: confined });
  assert.equal(of({ patient: [patientX] }), patientX);
  assert.equal(of({ patient: [`Patient/${patientX}`] }), patientX);
  assert.equal(of({ subject: [`Patient/${patientX}`], code: ['1234-5'] }), patientX);
  assert.equal(of({ patient: [`${patientX},${patientX}`], subject: [patientX] }), patientX);
  assert.equal(of({ _id: [patientX] }, 'Patient'), patientX);
  assert.equal(of({ code: ['1234-5'] }, 'Observation', patientY), patientY);
  // A patient token wins over the parameters (they can only narrow within that patient).
  assert.equal(of({ patient: [patientX] }, 'Observation', patientY), patientY);

  // Invalid twins: no patient, two patients, an id of another shape, an absolute reference,
  // a modifier, `_id` outside a Patient search, a malformed token patient.
  assert.equal(of({ code: ['1234-5'] }), null);
  assert.equal(of({ patient: [`${patientX},${patientY}`] }), null);
  assert.equal(of({ patient: [patientX], subject: [`Patient/${patientY}`] }), null);
  assert.equal(of({ patient: ['pat-1'] }), null);
  assert.equal(of({ subject: [`https://elsewhere.example/fhir/Patient/${patientX}`] }), null);
  assert.equal(of({ 'subject:Patient': [patientX] }), null);
  assert.equal(of({ _id: [patientX] }, 'Observation'), null);
  assert.equal(of({}, 'Observation', 'not-a-pseudonym'), null);
});

function head(index: number, overrides: Partial<RecordVersion> = {}): RecordVersion {
  return {
    recordId: fromHex(index.toString(16).padStart(32, '0')),
    version: 1,
    resourceType: 'Observation',
    patientId: fromHex(patientX),
    custodian: 'lab',
    contentHash: new Uint8Array(32),
    securityLabels: ['N'],
    dataMonth: null,
    status: 'active',
    erasureReason: null,
    anchoredHeight: index,
    anchoredTime: index,
    anchoredBy: new Uint8Array(32),
    ...overrides,
  };
}

function decisionOf(decision: 'permit' | 'deny', reason: string): AccessDecision {
  return {
    decision,
    reason,
    consentId: null,
    provisionPath: null,
    breakGlassId: null,
  } as AccessDecision;
}

test('remote candidates: the permitted records of the type held elsewhere, newest first, bounded', () => {
  const heads = new Map<string, RecordVersion>([
    [toHex(head(1).recordId), head(1)],
    [toHex(head(2).recordId), head(2, { custodian: 'clinic' })], // held here
    [toHex(head(3).recordId), head(3, { resourceType: 'Condition' })], // another type
    [toHex(head(4).recordId), head(4, { status: 'erased' })],
    [toHex(head(5).recordId), head(5, { securityLabels: ['R', 'ETH'] })], // denied below
    [toHex(head(6).recordId), head(6)],
    [toHex(head(7).recordId), head(7)],
  ]);
  const decided: string[] = [];
  const select = (candidatesMax: number) =>
    remoteSearchCandidates({
      recordIds: [...heads.keys(), 'f'.repeat(32)], // the last is not anchored (null head)
      headOf: (id) => heads.get(id) ?? null,
      type: 'Observation',
      orgId: 'clinic',
      decideRecord: (candidate) => {
        decided.push(toHex(candidate.recordId));
        return candidate.securityLabels.includes('ETH')
          ? decisionOf('deny', 'sensitive-label-not-named')
          : decisionOf('permit', 'consent-permit');
      },
      candidatesMax,
    });
  const all = select(10);
  assert.deepEqual(
    all.permitted.map((candidate) => candidate.head.anchoredHeight),
    [7, 6, 1],
  );
  assert.equal(all.truncated, false);
  assert.equal(all.denial?.reason, 'sensitive-label-not-named');
  // Only records of the type held elsewhere and active reach the decision.
  assert.deepEqual(
    decided.map((id) => heads.get(id)!.anchoredHeight),
    [7, 6, 5, 1],
  );

  // The bound counts permitted records only: two of three permitted, truncated.
  const bounded = select(2);
  assert.deepEqual(
    bounded.permitted.map((candidate) => candidate.head.anchoredHeight),
    [7, 6],
  );
  assert.equal(bounded.truncated, true);
  // Twin: exactly as many permitted as the bound is not truncated (the denied one is not counted).
  assert.equal(select(3).truncated, false);
});

test('settleBounded runs at most the bound at once, keeps order, and waits for every failure', async () => {
  let running = 0;
  let most = 0;
  const results = await settleBounded([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
    running += 1;
    most = Math.max(most, running);
    await new Promise((resolve) => setImmediate(resolve));
    running -= 1;
    if (item % 3 === 0) throw new Error(`item ${item}`);
    return item * 10;
  });
  assert.equal(most, 3);
  assert.equal(running, 0, 'nothing left running');
  assert.deepEqual(
    results.map((result) => (result.status === 'fulfilled' ? result.value : 'failed')),
    [10, 20, 'failed', 40, 50, 'failed', 70],
  );
  assert.deepEqual(await settleBounded([], 3, () => Promise.resolve(1)), []);
  // Twin: a bound below one is a programmer error.
  await assert.rejects(
    settleBounded([1], 0, () => Promise.resolve(1)),
    /at least one/,
  );
});

test('the custodian takes a patient for their own record only, from their home organisation', () => {
  const patient = {
    patientId: fromHex(patientX),
    publicKey: new Uint8Array(32).fill(7),
    enrolledBy: 'clinic',
  };
  const asked = (options: {
    requesterId?: string;
    peerOrg?: string;
    recordPatient?: string;
    enrolled?: typeof patient | null;
  }) =>
    shareRequesterOf({
      share: { requesterKind: 'patient', requesterId: options.requesterId ?? patientX },
      peerOrg: options.peerOrg ?? 'clinic',
      recordPatientId: fromHex(options.recordPatient ?? patientX),
      patient: options.enrolled === undefined ? patient : options.enrolled,
    });
  assert.deepEqual(asked({}), { requester: { kind: 'patient', publicKey: patient.publicKey } });
  assert.deepEqual(asked({ recordPatient: patientY }), {
    refusal: patientShareRefusals.recordOfAnotherPatient,
  });
  assert.deepEqual(asked({ peerOrg: 'payer' }), {
    refusal: patientShareRefusals.notHomeOrganisation,
  });
  assert.deepEqual(asked({ enrolled: null }), { refusal: patientShareRefusals.unknownRequester });
  assert.deepEqual(asked({ requesterId: patientY }), {
    refusal: patientShareRefusals.unknownRequester,
  });
  // Staff: of the organisation the link authenticated, never of a claim in the request.
  assert.deepEqual(
    shareRequesterOf({
      share: { requesterKind: 'practitioner', requesterId: 'dr-bo' },
      peerOrg: 'clinic',
      recordPatientId: fromHex(patientX),
      patient: null,
    }),
    { requester: { kind: 'practitioner', orgId: 'clinic', practitionerId: 'dr-bo' } },
  );
  assert.deepEqual(
    shareRequesterOf({
      share: { requesterKind: 'client', requesterId: 'ehr-app' },
      peerOrg: 'payer',
      recordPatientId: fromHex(patientX),
      patient: null,
    }),
    { requester: { kind: 'client', orgId: 'payer', clientId: 'ehr-app' } },
  );
});
