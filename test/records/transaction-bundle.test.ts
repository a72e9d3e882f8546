// Checks FHIR transaction and batch Bundles against four real node processes on 127.0.0.1: a
// transaction writes a Patient, an Observation and a Condition with urn:uuid references
// rewritten, all anchored by ONE record.anchor-batch whose record-version bundles verify offline;
// a bad code, an unenrolled patient, a missing scope or a Consent entry refuses the whole Bundle
// and nothing is written (search, history and the chain's anchors unchanged); a conditional
// create finds its match and re-points references; a batch runs each entry on its own.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { Bundle, BundleEntry, Condition, Observation, Resource } from '@medplum/fhirtypes';
import { Client } from 'fhir-kit-client';

import { fromHex, toHex } from '../../src/base/index.ts';
import { issueUserToken } from '../../src/auth/index.ts';
import { decodeTransaction } from '../../src/chain/index.ts';
import {
  type DemoUser,
  fhirRequest,
  issueDemoToken,
  loadNodeTokenKey,
} from '../../src/cli/index.ts';
import { decodeContractBody } from '../../src/contracts/index.ts';
import { generateEd25519KeyPair } from '../../src/keys/index.ts';
import { parseBundle, trustGenesis, verifyBundle } from '../../src/verify/index.ts';
import type { TestNetwork } from '../net/harness.ts';
import { startNetworkWithStaff } from './network-with-staff.ts';

const loinc = 'http://loinc.org';
const snomed = 'http://snomed.info/sct';
const custodian = 0;

let network: TestNetwork;
const patientKey = generateEd25519KeyPair();
const patientId = toHex(patientKey.publicKey.slice(0, 16));
const unenrolled = toHex(generateEd25519KeyPair().publicKey.slice(0, 16));

const clinician = (): DemoUser => ({
  kind: 'practitioner',
  orgId: network.nodes[custodian]!.orgId,
  practitionerId: 'dr-tess',
});

async function token(): Promise<string> {
  return issueDemoToken({
    dataDir: network.nodes[custodian]!.dataDir,
    baseUrl: network.url(custodian),
    user: clinician(),
  });
}

/** A token of the same clinician that may write Observations only. */
async function observationOnlyToken(): Promise<string> {
  const baseUrl = network.url(custodian);
  const issued = await issueUserToken({
    signer: {
      signingKey: await loadNodeTokenKey(network.nodes[custodian]!.dataDir),
      issuer: baseUrl,
      audience: `${baseUrl}/fhir`,
    },
    now: Date.now(),
    principal: { kind: 'practitioner', id: 'dr-tess' },
    org: clinician().orgId,
    scopes: 'user/Observation.cruds user/Patient.rs openid fhirUser',
  });
  return issued.accessToken;
}

function urn(n: number): string {
  return `urn:uuid:7d3e1c2a-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

function observation(code: string, subject: string): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: loinc, code, display: 'synthetic test' }] },
    subject: { reference: subject },
    effectiveDateTime: '2026-11-02T09:30:00Z',
    valueString: 'synthetic value',
  };
}

function condition(code: string, subject: string, evidence: string): Condition {
  return {
    resourceType: 'Condition',
    clinicalStatus: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' },
      ],
    },
    code: { coding: [{ system: snomed, code, display: 'synthetic condition' }] },
    subject: { reference: subject },
    evidence: [{ detail: [{ reference: evidence }] }],
  };
}

function post(url: string, resource: Resource, fullUrl?: string): BundleEntry {
  return {
    ...(fullUrl === undefined ? {} : { fullUrl }),
    resource,
    request: { method: 'POST', url },
  };
}

async function postBundle(bundle: Bundle, bearer?: string) {
  return fhirRequest<Bundle>({
    url: network.url(custodian),
    token: bearer ?? (await token()),
    method: 'POST',
    path: '',
    body: bundle,
  });
}

async function get<T = Resource>(path: string) {
  return fhirRequest<T>({ url: network.url(custodian), token: await token(), method: 'GET', path });
}

/** How many Observations and Conditions of the patient a search finds, and the chain anchors. */
async function counts(): Promise<{ observations: number; conditions: number; anchored: number }> {
  const observations = await get<Bundle>(`Observation?subject=Patient/${patientId}`);
  const conditions = await get<Bundle>(`Condition?subject=Patient/${patientId}`);
  // $everything lists the patient's records from the chain's record.anchored events.
  const everything = await get<Bundle>(`Patient/${patientId}/$everything`);
  assert.equal(observations.status, 200, JSON.stringify(observations.body));
  assert.equal(everything.status, 200, JSON.stringify(everything.body));
  return {
    observations: observations.body.total ?? -1,
    conditions: conditions.body.total ?? -1,
    anchored: everything.body.entry?.filter((entry) => entry.resource !== undefined).length ?? -1,
  };
}

function idOfLocation(location: string | undefined): string {
  const match = /^[A-Za-z]+\/([0-9a-f]{32})\/_history\/\d+$/.exec(location ?? '');
  assert.ok(match !== null, `expected a location Type/id/_history/n, found ${location}`);
  return match[1]!;
}

async function bundleOf(recordId: string, version: number) {
  const genesis = trustGenesis(JSON.parse(readFileSync(join(network.dir, 'genesis.json'), 'utf8')));
  const response = await fetch(
    `${network.url(2)}/chain/bundles/record-version?record=${recordId}&version=${version}`,
  );
  assert.equal(response.status, 200, `record-version bundle of ${recordId}`);
  const json = (await response.json()) as { claim: { anchor: { transaction: string } } };
  return { json, verified: verifyBundle(parseBundle(json), genesis) };
}

before(async () => {
  network = await startNetworkWithStaff({ custodian, practitionerId: 'dr-tess', patientKey });
});

after(async () => {
  await network?.destroy();
});

let firstObservationId = '';

test('a transaction writes a Patient, an Observation and a Condition with urn:uuid references rewritten, in one record.anchor-batch', async () => {
  const before = await counts();
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      post('Patient', { resourceType: 'Patient', id: patientId, gender: 'female' }, urn(1)),
      post('Observation', observation('2339-0', urn(1)), urn(2)),
      post('Condition', condition('44054006', urn(1), urn(2)), urn(3)),
      { request: { method: 'GET', url: `Condition?subject=Patient/${patientId}` } },
    ],
  };
  const answer = await postBundle(bundle);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.equal(answer.body.type, 'transaction-response');
  const entries = answer.body.entry ?? [];
  assert.deepEqual(
    entries.map((entry) => entry.response?.status),
    ['201 Created', '201 Created', '201 Created', '200 OK'],
  );
  assert.equal(idOfLocation(entries[0]!.response?.location), patientId, 'a Patient keeps its id');
  const observationId = idOfLocation(entries[1]!.response?.location);
  const conditionId = idOfLocation(entries[2]!.response?.location);
  firstObservationId = observationId;
  for (const entry of entries.slice(0, 3)) {
    assert.equal(entry.response?.etag, 'W/"1"');
    assert.ok(entry.response?.lastModified !== undefined);
  }
  // The search entry ran after the writes and sees the new Condition.
  const searched = entries[3]!.resource as Bundle;
  assert.ok(searched.entry?.some((entry) => entry.resource?.id === conditionId));
  // Read back: every urn:uuid became Type/id.
  const readCondition = await get<Condition>(`Condition/${conditionId}`);
  assert.equal(readCondition.status, 200, JSON.stringify(readCondition.body));
  assert.equal(readCondition.body.subject.reference, `Patient/${patientId}`);
  assert.equal(
    readCondition.body.evidence?.[0]?.detail?.[0]?.reference,
    `Observation/${observationId}`,
  );
  const readObservation = await get<Observation>(`Observation/${observationId}`);
  assert.equal(readObservation.body.subject?.reference, `Patient/${patientId}`);
  const after = await counts();
  assert.deepEqual(after, {
    observations: before.observations + 1,
    conditions: before.conditions + 1,
    anchored: before.anchored + 3,
  });
  // One record.anchor-batch holds the three versions, and each version's bundle verifies
  // offline from the genesis file, naming that same transaction.
  const proofs = await Promise.all(
    [patientId, observationId, conditionId].map((id) => bundleOf(id, 1)),
  );
  const txIds = new Set(
    proofs.map(({ verified }) =>
      verified.claim.kind === 'record-version' ? verified.claim.anchor.txId : null,
    ),
  );
  assert.equal(txIds.size, 1, 'one transaction anchors every version of the Bundle');
  const tx = decodeTransaction(fromHex(proofs[0]!.json.claim.anchor.transaction));
  assert.equal(tx.kind, 'record.anchor-batch');
  const anchors = decodeContractBody('record.anchor-batch', tx.body).anchors;
  assert.deepEqual(
    anchors.map((anchor) => [toHex(anchor.recordId), anchor.resourceType, anchor.version]).sort(),
    [
      [patientId, 'Patient', 1],
      [observationId, 'Observation', 1],
      [conditionId, 'Condition', 1],
    ].sort(),
  );
  for (const [index, { verified }] of proofs.entries()) {
    assert.ok(verified.claim.kind === 'record-version');
    assert.equal(verified.claim.anchor.kind, 'record.anchor-batch');
    assert.notEqual(verified.claim.batchIndex, null, `proof ${index}`);
  }
});

test('one bad entry (code, patient, scope, a Consent) refuses the whole transaction and writes nothing', async () => {
  const before = await counts();
  const valid = (bad: Resource): Bundle => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      post('Observation', observation('8867-4', `Patient/${patientId}`), urn(11)),
      post('Condition', bad, urn(12)),
    ],
  });
  const badCode = { ...condition('38341003', `Patient/${patientId}`, urn(11)) } as Condition;
  (badCode.clinicalStatus!.coding![0] as { code: string }).code = 'smouldering';
  const cases: Array<{
    what: string;
    bundle: Bundle;
    token?: string;
    status: number;
    message: RegExp;
  }> = [
    {
      what: 'a code outside its required binding',
      bundle: valid(badCode),
      status: 400,
      message: /smouldering|clinical/,
    },
    {
      what: 'a patient nobody enrolled',
      bundle: valid(condition('38341003', `Patient/${unenrolled}`, urn(11))),
      status: 422,
      message: /^Bundle\.entry\[1\]: Patient\/[0-9a-f]{32} is not enrolled/,
    },
    {
      what: 'no scope to create Conditions',
      bundle: valid(condition('38341003', `Patient/${patientId}`, urn(11))),
      token: await observationOnlyToken(),
      status: 403,
      message: /^Bundle\.entry\[1\]: create of Condition needs scope/,
    },
    {
      what: 'a Consent entry',
      bundle: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          post('Observation', observation('8867-4', `Patient/${patientId}`)),
          post('Consent', {
            resourceType: 'Consent',
            status: 'active',
            scope: {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/consentscope',
                  code: 'patient-privacy',
                },
              ],
            },
            category: [{ coding: [{ system: loinc, code: '59284-0' }] }],
            patient: { reference: `Patient/${patientId}` },
            policyRule: {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' },
              ],
            },
          }),
        ],
      },
      status: 422,
      message:
        /^Bundle\.entry\[1\]: a Consent is not written in a Bundle: .*POST it to \/fhir\/Consent/,
    },
  ];
  for (const { what, bundle, token: bearer, status, message } of cases) {
    const answer = await postBundle(bundle, bearer);
    assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
    const outcome = answer.body as unknown as {
      resourceType: string;
      issue: Array<{ diagnostics: string }>;
    };
    assert.equal(outcome.resourceType, 'OperationOutcome', what);
    assert.match(outcome.issue[0]!.diagnostics, message, what);
    assert.deepEqual(await counts(), before, `${what}: nothing was written or anchored`);
  }
  // The valid twin of the same Bundle is written whole.
  const twin = await postBundle(valid(condition('38341003', `Patient/${patientId}`, urn(11))));
  assert.equal(twin.status, 200, JSON.stringify(twin.body));
  assert.deepEqual(await counts(), {
    observations: before.observations + 1,
    conditions: before.conditions + 1,
    anchored: before.anchored + 2,
  });
});

test('a conditional create in a transaction that finds its match creates nothing and re-points references', async () => {
  assert.notEqual(firstObservationId, '', 'the first test created the Observation');
  const before = await counts();
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: urn(21),
        resource: observation('2339-0', `Patient/${patientId}`),
        request: {
          method: 'POST',
          url: 'Observation',
          ifNoneExist: `code=${loinc}|2339-0&subject=Patient/${patientId}`,
        },
      },
      post('Condition', condition('73211009', `Patient/${patientId}`, urn(21)), urn(22)),
    ],
  };
  const answer = await postBundle(bundle);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const entries = answer.body.entry ?? [];
  assert.deepEqual(
    entries.map((entry) => entry.response?.status),
    ['200 OK', '201 Created'],
  );
  assert.equal(idOfLocation(entries[0]!.response?.location), firstObservationId);
  const conditionId = idOfLocation(entries[1]!.response?.location);
  const read = await get<Condition>(`Condition/${conditionId}`);
  assert.equal(
    read.body.evidence?.[0]?.detail?.[0]?.reference,
    `Observation/${firstObservationId}`,
  );
  // Its twin: with a condition that matches nothing, the Observation is created.
  const created = await postBundle({
    ...bundle,
    entry: [
      {
        ...bundle.entry![0]!,
        request: { ...bundle.entry![0]!.request!, ifNoneExist: `code=${loinc}|1234-5` },
      },
      bundle.entry![1]!,
    ],
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  assert.deepEqual(
    created.body.entry?.map((entry) => entry.response?.status),
    ['201 Created', '201 Created'],
  );
  assert.deepEqual(await counts(), {
    observations: before.observations + 1,
    conditions: before.conditions + 2,
    anchored: before.anchored + 3,
  });
});

test('a batch runs each entry on its own: a failing entry answers its outcome, the others go on; fhir-kit-client sends a transaction', async () => {
  const before = await counts();
  const answer = await postBundle({
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      post('Observation', observation('8310-5', `Patient/${patientId}`)),
      post('Observation', observation('8310-5', `Patient/${unenrolled}`)),
      { request: { method: 'GET', url: `Observation/${firstObservationId}` } },
      { request: { method: 'DELETE', url: `Observation/${'0'.repeat(32)}` } },
    ],
  });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.equal(answer.body.type, 'batch-response');
  const entries = answer.body.entry ?? [];
  assert.deepEqual(
    entries.map((entry) => entry.response?.status),
    ['201 Created', '422 Unprocessable Entity', '200 OK', '404 Not Found'],
  );
  assert.match(
    entries[1]!.response?.outcome?.issue[0]?.diagnostics ?? '',
    /Patient\/[0-9a-f]{32} is not enrolled/,
  );
  assert.equal(entries[0]!.response?.outcome, undefined);
  assert.equal(entries[2]!.resource?.id, firstObservationId);
  assert.deepEqual(await counts(), {
    observations: before.observations + 1,
    conditions: before.conditions,
    anchored: before.anchored + 1,
  });

  // A FHIR client library MedLedger did not write sends a transaction and reads the answer.
  const client = new Client({
    baseUrl: `${network.url(custodian)}/fhir`,
    customHeaders: { Authorization: `Bearer ${await token()}` },
  });
  const viaClient = (await client.transaction({
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        post('Observation', observation('8480-6', `Patient/${patientId}`), urn(31)),
        post('Condition', condition('271737000', `Patient/${patientId}`, urn(31))),
      ],
    },
  })) as unknown as Bundle;
  assert.equal(viaClient.type, 'transaction-response');
  const observationId = idOfLocation(viaClient.entry?.[0]?.response?.location);
  const conditionId = idOfLocation(viaClient.entry?.[1]?.response?.location);
  const read = (await client.read({
    resourceType: 'Condition',
    id: conditionId,
  })) as unknown as Condition;
  assert.equal(read.evidence?.[0]?.detail?.[0]?.reference, `Observation/${observationId}`);
  // Its refused twin: the client sees the 400 OperationOutcome of a Bundle with a bad entry.
  await assert.rejects(
    client.transaction({
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          post('Observation', {
            ...observation('8480-6', `Patient/${patientId}`),
            status: 'done',
          } as unknown as Observation),
        ],
      },
    }),
    (error: { response?: { status?: number } }) => error.response?.status === 400,
  );
});
