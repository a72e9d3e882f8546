// Checks the records issue's scenarios against four real node processes on 127.0.0.1: a
// clinician of organisation B reads a record held by A only while the patient's consent allows
// it (403 before, 200 after, 403 from the block after the revocation), a sensitive record needs a
// consent that names its label, break-glass opens access and is flagged, the patient sees every
// access and denial, and a changed byte in A's vault is an integrity error for that record only.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type {
  AuditEvent,
  Bundle,
  Consent,
  ConsentProvision,
  Observation,
  Provenance,
} from '@medplum/fhirtypes';
import Database from 'better-sqlite3';
import { Client } from 'fhir-kit-client';

import { toHex } from '../../src/base/index.ts';
import {
  type DemoUser,
  fhirRequest,
  grantConsent,
  issueDemoToken,
  newConsentId,
  revokeConsent,
  signContractTransaction,
  submitContractTransaction,
} from '../../src/cli/index.ts';
import { type Ed25519KeyPair, ed25519Verify } from '../../src/crypto/index.ts';
import { provenanceSignatureOf } from '../../src/fhir/index.ts';
import { generateEd25519KeyPair, loadEd25519KeyFile } from '../../src/keys/index.ts';
import { parseBundle, trustGenesis, verifyBundle } from '../../src/verify/index.ts';
import { TestNetwork, sleep } from '../net/harness.ts';

const actCode = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const actReason = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const recipient = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }],
};

let network: TestNetwork;
let nodeKeys: Ed25519KeyPair[];
const patientKey = generateEd25519KeyPair();
const patientId = toHex(patientKey.publicKey.slice(0, 16));
// A second patient, with no consent at all, for break-glass.
const unconsciousKey = generateEd25519KeyPair();
const unconsciousId = toHex(unconsciousKey.publicKey.slice(0, 16));
// A third, who asks for erasure.
const erasedKey = generateEd25519KeyPair();
const erasedId = toHex(erasedKey.publicKey.slice(0, 16));
// B's privacy officer keeps their key: they sign the closing of break-glass reviews.
const officerKey = generateEd25519KeyPair();
const custodian = 0; // organisation A holds the records
const requester = 1; // organisation B asks for them

function orgOf(index: number): string {
  return network.nodes[index]!.orgId;
}

function token(index: number, user: DemoUser, extra: { purpose?: string; reason?: string } = {}) {
  return issueDemoToken({
    dataDir: network.nodes[index]!.dataDir,
    baseUrl: network.url(index),
    user,
    ...(extra.purpose === undefined ? {} : { purposeOfUse: extra.purpose }),
    ...(extra.reason === undefined ? {} : { breakGlassReason: extra.reason }),
  });
}

const clinicianA: DemoUser = { kind: 'practitioner', orgId: '', practitionerId: 'dr-ada' };
const clinicianB: DemoUser = { kind: 'practitioner', orgId: '', practitionerId: 'dr-bo' };
const emergencyB: DemoUser = { kind: 'practitioner', orgId: '', practitionerId: 'dr-erin' };
const patientUser = (): DemoUser => ({ kind: 'patient', orgId: orgOf(custodian), patientId });

function withOrg(user: DemoUser, index: number): DemoUser {
  return { ...user, orgId: orgOf(index) };
}

function observation(code: string, labels: string[] = [], patient = patientId): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code, display: 'test result' }] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: '2026-11-02T09:30:00Z',
    valueString: 'synthetic value',
    ...(labels.length === 0
      ? {}
      : { meta: { security: labels.map((label) => ({ system: actCode, code: label })) } }),
  };
}

function consentOf(provision: ConsentProvision): Consent & { id: string } {
  return {
    resourceType: 'Consent',
    id: newConsentId(),
    status: 'active',
    scope: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' },
      ],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patientId}` },
    performer: [{ reference: `Patient/${patientId}` }],
    policyRule: { coding: [{ system: actCode, code: 'OPTIN' }] },
    provision,
  };
}

/**
 * Waits until every node has committed what the most advanced one has: a consent committed on
 * A reaches B's state a few milliseconds later (each node applies the block on its own).
 */
async function synced(): Promise<void> {
  const heights = await network.heights([0, 1, 2, 3]);
  await network.waitForHeight(Math.max(...heights), [0, 1, 2, 3], 10_000);
}

/** The events about record `id` whose agent is B's clinician. */
function clinicianEvents(events: readonly AuditEvent[], id: string): AuditEvent[] {
  return events.filter(
    (event) => JSON.stringify(event).includes(id) && JSON.stringify(event.agent).includes('dr-bo'),
  );
}

async function readAsB(id: string, user = clinicianB, extra = {}) {
  return fhirRequest<Observation>({
    url: network.url(requester),
    token: await token(requester, withOrg(user, requester), extra),
    method: 'GET',
    path: `Observation/${id}`,
  });
}

before(async () => {
  network = await TestNetwork.create({ validators: 4, loadSigners: 0, logLevel: 'warn' });
  await network.startValidators();
  nodeKeys = await Promise.all(network.nodes.map((node) => loadEd25519KeyFile(node.keyFile)));
  const register = (
    index: number,
    practitionerId: string,
    roles: string[],
    publicKey = generateEd25519KeyPair().publicKey,
  ) =>
    submitContractTransaction({
      url: network.url(index),
      chainId: network.chainId,
      keyPair: nodeKeys[index]!,
      kind: 'identity.register-practitioner',
      body: { practitionerId, publicKey, roles, active: true },
    });
  await register(custodian, 'dr-ada', ['physician']);
  await register(requester, 'dr-bo', ['physician']);
  await register(requester, 'dr-erin', ['physician', 'break-glass']);
  await register(requester, 'po-bea', ['privacy-officer'], officerKey.publicKey);
  await register(custodian, 'po-cal', ['privacy-officer']);
  await submitContractTransaction({
    url: network.url(custodian),
    chainId: network.chainId,
    keyPair: nodeKeys[custodian]!,
    kind: 'identity.enrol-patient',
    body: { patientId: Buffer.from(patientId, 'hex'), publicKey: patientKey.publicKey },
  });
  await submitContractTransaction({
    url: network.url(custodian),
    chainId: network.chainId,
    keyPair: nodeKeys[custodian]!,
    kind: 'identity.enrol-patient',
    body: { patientId: Buffer.from(unconsciousId, 'hex'), publicKey: unconsciousKey.publicKey },
  });
  // Node-key transactions before any FHIR traffic: the records service's own transactions
  // (anchors, audit batches) share the node key's nonces.
  await submitContractTransaction({
    url: network.url(custodian),
    chainId: network.chainId,
    keyPair: nodeKeys[custodian]!,
    kind: 'identity.enrol-patient',
    body: { patientId: Buffer.from(erasedId, 'hex'), publicKey: erasedKey.publicKey },
  });
});

after(async () => {
  await network?.destroy();
});

test('a record of A is read by B only under the patient consent, from the block after revocation denied again', async () => {
  const tokenA = await token(custodian, withOrg(clinicianA, custodian));
  const created = await fhirRequest<Observation>({
    url: network.url(custodian),
    token: tokenA,
    method: 'POST',
    path: 'Observation',
    body: observation('2339-0'),
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id!;
  assert.match(created.headers.get('location') ?? '', new RegExp(`/Observation/${id}/_history/1$`));
  assert.equal(created.headers.get('etag'), 'W/"1"');

  // The write's Provenance: a detached JWS by the custodian node over the stored version.
  const provenance = await fhirRequest<Provenance>({
    url: network.url(custodian),
    token: tokenA,
    method: 'GET',
    path: `Provenance/${id}-v1`,
  });
  assert.equal(provenance.status, 200, JSON.stringify(provenance.body));
  const signed = provenanceSignatureOf(provenance.body, created.body);
  assert.ok(
    ed25519Verify({
      publicKey: nodeKeys[custodian]!.publicKey,
      message: signed.signingInput,
      signature: signed.signature,
    }),
    'the Provenance signature verifies with the custodian node key',
  );

  // Without consent: 403, with a clear OperationOutcome.
  const denied = await readAsB(id);
  assert.equal(denied.status, 403);
  assert.equal(
    (denied.body as unknown as { resourceType: string }).resourceType,
    'OperationOutcome',
  );
  assert.match(JSON.stringify(denied.body), /default-opt-in|not consented/);

  // The patient permits B for treatment: 200, the content as A stored it.
  const patientToken = await token(custodian, patientUser());
  const consent = consentOf({
    type: 'permit',
    actor: [{ role: recipient, reference: { reference: `Organization/${orgOf(requester)}` } }],
    purpose: [{ system: actReason, code: 'TREAT' }],
  });
  const granted = await grantConsent({
    url: network.url(custodian),
    chainId: network.chainId,
    token: patientToken,
    patientKeyPair: patientKey,
    consent,
  });
  assert.equal(granted.status, 201, JSON.stringify(granted.body));
  await synced();
  const allowed = await readAsB(id);
  assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
  assert.equal(allowed.body.id, id);
  assert.equal(allowed.body.valueString, 'synthetic value');
  // The same through a FHIR client library MedLedger did not write.
  const client = new Client({
    baseUrl: `${network.url(requester)}/fhir`,
    customHeaders: {
      Authorization: `Bearer ${await token(requester, withOrg(clinicianB, requester))}`,
    },
  });
  const viaClient = (await client.read({
    resourceType: 'Observation',
    id,
  })) as unknown as Observation;
  assert.equal(viaClient.valueString, 'synthetic value');

  // Revoked: denied again.
  const revoked = await revokeConsent({
    url: network.url(custodian),
    chainId: network.chainId,
    token: patientToken,
    patientKeyPair: patientKey,
    consentId: consent.id,
  });
  assert.equal(revoked.status, 204, JSON.stringify(revoked.body));
  await synced();
  const deniedAgain = await readAsB(id);
  assert.equal(deniedAgain.status, 403);
});

test('a sensitive record needs a consent that names its label; the patient sees every access and denial', async () => {
  const tokenA = await token(custodian, withOrg(clinicianA, custodian));
  const created = await fhirRequest<Observation>({
    url: network.url(custodian),
    token: tokenA,
    method: 'POST',
    path: 'Observation',
    body: observation('5195-3', ['R', 'ETH']),
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id!;
  const patientToken = await token(custodian, patientUser());
  const general = consentOf({
    type: 'permit',
    actor: [{ role: recipient, reference: { reference: `Organization/${orgOf(requester)}` } }],
  });
  assert.equal(
    (
      await grantConsent({
        url: network.url(custodian),
        chainId: network.chainId,
        token: patientToken,
        patientKeyPair: patientKey,
        consent: general,
      })
    ).status,
    201,
  );
  await synced();
  const underGeneral = await readAsB(id);
  assert.equal(underGeneral.status, 403);
  assert.match(JSON.stringify(underGeneral.body), /sensitive/);

  const naming = consentOf({
    type: 'permit',
    actor: [{ role: recipient, reference: { reference: `Organization/${orgOf(requester)}` } }],
    securityLabel: [{ system: actCode, code: 'ETH' }],
  });
  assert.equal(
    (
      await grantConsent({
        url: network.url(custodian),
        chainId: network.chainId,
        token: patientToken,
        patientKeyPair: patientKey,
        consent: naming,
      })
    ).status,
    201,
  );
  await synced();
  const underNaming = await readAsB(id);
  assert.equal(underNaming.status, 200, JSON.stringify(underNaming.body));

  // The access log: the denial and the permit of this record both appear, by whom and why.
  let events: AuditEvent[] = [];
  for (let attempt = 0; attempt < 100; attempt++) {
    const log = await fhirRequest<Bundle<AuditEvent>>({
      url: network.url(custodian),
      token: patientToken,
      method: 'GET',
      path: `AuditEvent?patient=${patientId}&_count=100`,
    });
    assert.equal(log.status, 200, JSON.stringify(log.body));
    // Paging links keep the patient (a `next` without it would be refused).
    for (const link of log.body.link ?? []) {
      assert.equal(new URL(link.url).searchParams.get('patient'), patientId, link.relation);
    }
    events = (log.body.entry ?? []).map((entry) => entry.resource!);
    const byClinician = JSON.stringify(clinicianEvents(events, id));
    if (/"outcome":"4"/.test(byClinician) && /"outcome":"0"/.test(byClinician)) break;
    await sleep(200);
  }
  const byClinician = clinicianEvents(events, id);
  assert.ok(
    byClinician.some((event) => event.outcome === '4'),
    'the denial is in the log',
  );
  assert.ok(
    byClinician.some((event) => event.outcome === '0'),
    'the permitted read is in the log',
  );
  assert.ok(
    byClinician.every((event) => event.purposeOfEvent !== undefined || event.agent.length > 0),
    'each says why or who',
  );
});

test('break-glass opens access for a designated clinician with a reason, and is flagged', async () => {
  const tokenA = await token(custodian, withOrg(clinicianA, custodian));
  const created = await fhirRequest<Observation>({
    url: network.url(custodian),
    token: tokenA,
    method: 'POST',
    path: 'Observation',
    body: observation('2951-2', [], unconsciousId),
  });
  assert.equal(created.status, 201);
  const id = created.body.id!;
  // The patient listens for notifications about their data (server-sent events).
  const controller = new AbortController();
  const stream = await fetch(`${network.url(custodian)}/fhir/$notifications`, {
    headers: {
      authorization: `Bearer ${await token(custodian, {
        kind: 'patient',
        orgId: orgOf(custodian),
        patientId: unconsciousId,
      })}`,
    },
    signal: controller.signal,
  });
  assert.equal(stream.status, 200);
  assert.match(stream.headers.get('content-type') ?? '', /text\/event-stream/);
  let received = '';
  const reading = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream.body!) received += decoder.decode(chunk as Uint8Array);
    } catch {
      // aborted below
    }
  })();
  // A clinician without the role cannot break the glass.
  const refused = await readAsB(id, clinicianB, { purpose: 'BTG', reason: 'unconscious' });
  assert.equal(refused.status, 403);
  // The designated clinician can, with a reason.
  const opened = await readAsB(id, emergencyB, { purpose: 'BTG', reason: 'unconscious' });
  assert.equal(opened.status, 200, JSON.stringify(opened.body));
  // Without break-glass, the same clinician is still refused.
  const plain = await readAsB(id, emergencyB);
  assert.equal(plain.status, 403);
  // The patient was told.
  for (let attempt = 0; attempt < 100 && !received.includes('break-glass-opened'); attempt++) {
    await sleep(100);
  }
  controller.abort();
  await reading;
  assert.match(received, /event: access\.break-glass-opened/);
  assert.match(received, /dr-erin/);
  // The use waits for review in the privacy officer's queue; a clinician may not see the queue.
  const officer: DemoUser = {
    kind: 'practitioner',
    orgId: orgOf(requester),
    practitionerId: 'po-bea',
  };
  const queue = await fhirRequest<Bundle<AuditEvent>>({
    url: network.url(requester),
    token: await token(requester, officer),
    method: 'GET',
    path: '$break-glass-review',
  });
  assert.equal(queue.status, 200, JSON.stringify(queue.body));
  assert.ok(
    (queue.body.entry ?? []).some((entry) => JSON.stringify(entry.resource).includes('dr-erin')),
    JSON.stringify(queue.body),
  );
  const notOfficer = await fhirRequest({
    url: network.url(requester),
    token: await token(requester, withOrg(emergencyB, requester)),
    method: 'GET',
    path: '$break-glass-review',
  });
  assert.equal(notOfficer.status, 403);
});

test('a privacy officer closes a break-glass review with their own signed transaction', async () => {
  const officer: DemoUser = {
    kind: 'practitioner',
    orgId: orgOf(requester),
    practitionerId: 'po-bea',
  };
  const officerToken = await token(requester, officer);
  const queue = async () => {
    const answer = await fhirRequest<Bundle<AuditEvent>>({
      url: network.url(requester),
      token: officerToken,
      method: 'GET',
      path: '$break-glass-review',
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return (answer.body.entry ?? []).map((entry) => entry.resource!);
  };
  // The grant of the break-glass test above, opened by B's emergency clinician.
  const grant = (await queue()).find((event) => JSON.stringify(event.agent).includes('dr-erin'));
  assert.ok(grant?.id !== undefined, 'the break-glass use awaits review');
  const breakGlassId = Buffer.from(grant.id, 'hex');
  const sign = (outcome: 'justified' | 'unjustified', keyPair = officerKey) =>
    signContractTransaction({
      url: network.url(requester),
      chainId: network.chainId,
      keyPair,
      kind: 'access.close-review',
      body: { breakGlassId, outcome, noteCode: 'emergency-confirmed' },
    });
  const close = async (signed: Uint8Array | null, bearer = officerToken) =>
    fhirRequest({
      url: network.url(requester),
      token: bearer,
      method: 'POST',
      path: '$break-glass-review',
      headers:
        signed === null
          ? {}
          : { 'x-medledger-transaction': Buffer.from(signed).toString('base64url') },
    });

  // Refused: no signed transaction; a clinician's token; a key that is not the officer's.
  const unsigned = await close(null);
  assert.equal(unsigned.status, 400, JSON.stringify(unsigned.body));
  assert.match(JSON.stringify(unsigned.body), /signed by the privacy officer/);
  const byClinician = await close(
    await sign('justified'),
    await token(requester, withOrg(clinicianB, requester)),
  );
  assert.equal(byClinician.status, 403, JSON.stringify(byClinician.body));
  const otherKey = await close(await sign('justified', generateEd25519KeyPair()));
  assert.equal(otherKey.status, 403, JSON.stringify(otherKey.body));

  const closed = await close(await sign('justified'));
  assert.equal(closed.status, 200, JSON.stringify(closed.body));
  assert.match(JSON.stringify(closed.body), /reviewed: justified \(emergency-confirmed\)/);
  assert.ok(
    (await queue()).every((event) => event.id !== grant.id),
    'the closed review left the queue',
  );
  // A review closes once: the contract refuses the second.
  const again = await close(await sign('unjustified'));
  assert.equal(again.status, 403, JSON.stringify(again.body));
  assert.match(JSON.stringify(again.body), /already reviewed/);
});

test('Patient/$shared lists the patients who shared with the caller; $everything reads across custodians', async () => {
  const tokenA = await token(custodian, withOrg(clinicianA, custodian));
  const tokenB = await token(requester, withOrg(clinicianB, requester));
  for (const id of [patientId, unconsciousId]) {
    const created = await fhirRequest({
      url: network.url(custodian),
      token: tokenA,
      method: 'POST',
      path: 'Patient',
      body: { resourceType: 'Patient', id, gender: 'unknown' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  }
  // A record whose label (PSY) the patient's consents to B do not name.
  const sensitive = await fhirRequest<Observation>({
    url: network.url(custodian),
    token: tokenA,
    method: 'POST',
    path: 'Observation',
    body: observation('44249-1', ['R', 'PSY']),
  });
  assert.equal(sensitive.status, 201, JSON.stringify(sensitive.body));
  await synced();

  // B's clinician: the patient with a consent for B (the general one above) is listed, the one
  // without is not; each listed Patient is the custodian's record.
  const shared = await fhirRequest<Bundle>({
    url: network.url(requester),
    token: tokenB,
    method: 'GET',
    path: 'Patient/$shared',
  });
  assert.equal(shared.status, 200, JSON.stringify(shared.body));
  const listed = (shared.body.entry ?? []).map((entry) => entry.resource!);
  assert.ok(
    listed.some((resource) => resource.resourceType === 'Patient' && resource.id === patientId),
  );
  assert.ok(listed.every((resource) => resource.id !== unconsciousId));
  // A's own patients are not "shared" with A: A finds them with a search.
  const ownA = await fhirRequest<Bundle>({
    url: network.url(custodian),
    token: tokenA,
    method: 'GET',
    path: 'Patient/$shared',
  });
  assert.equal(ownA.status, 200);
  assert.ok((ownA.body.entry ?? []).every((entry) => entry.resource?.id !== patientId));
  const byPatient = await fhirRequest({
    url: network.url(custodian),
    token: await token(custodian, patientUser()),
    method: 'GET',
    path: 'Patient/$shared',
  });
  assert.equal(byPatient.status, 403);

  // $everything from B: the Patient and the records the consents permit, fetched from A; the
  // PSY record is withheld with a `suppressed` issue that does not count it.
  const everything = await fhirRequest<Bundle>({
    url: network.url(requester),
    token: tokenB,
    method: 'GET',
    path: `Patient/${patientId}/$everything`,
  });
  assert.equal(everything.status, 200, JSON.stringify(everything.body));
  const entries = everything.body.entry ?? [];
  const resources = entries
    .filter((entry) => entry.search?.mode === 'match')
    .map((entry) => entry.resource!);
  assert.equal(resources[0]?.resourceType, 'Patient');
  assert.ok(resources.some((resource) => resource.resourceType === 'Observation'));
  assert.ok(resources.every((resource) => resource.id !== sensitive.body.id));
  assert.equal(everything.body.total, resources.length);
  const outcome = entries.find((entry) => entry.search?.mode === 'outcome')?.resource;
  assert.match(JSON.stringify(outcome), /"code":"suppressed"/);
  // The custodian's clinician sees every record of their own patient, the PSY one included.
  const atCustodian = await fhirRequest<Bundle>({
    url: network.url(custodian),
    token: tokenA,
    method: 'GET',
    path: `Patient/${patientId}/$everything`,
  });
  assert.equal(atCustodian.status, 200);
  assert.ok(
    (atCustodian.body.entry ?? []).some((entry) => entry.resource?.id === sensitive.body.id),
  );

  // Without consent: the whole request is refused with what the clinician can do.
  const refused = await fhirRequest({
    url: network.url(requester),
    token: tokenB,
    method: 'GET',
    path: `Patient/${unconsciousId}/$everything`,
  });
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.match(JSON.stringify(refused.body), /Ask the patient for consent/);
  const unknown = await fhirRequest({
    url: network.url(requester),
    token: tokenB,
    method: 'GET',
    path: `Patient/${'0'.repeat(32)}/$everything`,
  });
  assert.equal(unknown.status, 404);
});

test('erasure: the records become unreadable on every node; the chain still agrees', async () => {
  const tokenA = await token(custodian, withOrg(clinicianA, custodian));
  const created = await fhirRequest<Observation>({
    url: network.url(custodian),
    token: tokenA,
    method: 'POST',
    path: 'Observation',
    body: observation('8302-2', [], erasedId),
  });
  assert.equal(created.status, 201);
  const id = created.body.id!;
  const patientToken = await token(custodian, {
    kind: 'patient',
    orgId: orgOf(custodian),
    patientId: erasedId,
  });
  // Only the patient or a privacy officer may ask; a clinician may not.
  const byClinician = await fhirRequest({
    url: network.url(custodian),
    token: tokenA,
    method: 'POST',
    path: `Patient/${erasedId}/$erase`,
  });
  assert.equal(byClinician.status, 403);
  const erased = await fhirRequest({
    url: network.url(custodian),
    token: patientToken,
    method: 'POST',
    path: `Patient/${erasedId}/$erase?reason=patient-request`,
  });
  assert.equal(erased.status, 200, JSON.stringify(erased.body));
  assert.match(JSON.stringify(erased.body), /erased 1 records/);
  for (const path of [`Observation/${id}`, `Observation/${id}/_history/1`]) {
    const read = await fhirRequest({
      url: network.url(custodian),
      token: tokenA,
      method: 'GET',
      path,
    });
    assert.equal(read.status, 410, `${path}: ${JSON.stringify(read.body)}`);
  }
  const fromB = await readAsB(id);
  assert.equal(fromB.status, 410);
  // Any node, not only the custodian, proves the erasure and the hash history that stays, and
  // the patient's complete access log: each bundle checks offline from the genesis file alone.
  const genesis = trustGenesis(JSON.parse(readFileSync(join(network.dir, 'genesis.json'), 'utf8')));
  const bundleFrom = async (path: string) => {
    const response = await fetch(`${network.url(2)}/chain/bundles/${path}`);
    assert.equal(response.status, 200, path);
    return verifyBundle(parseBundle(await response.json()), genesis);
  };
  const erasure = await bundleFrom(`erasure?record=${id}`);
  assert.equal(erasure.claim.kind === 'erasure' && erasure.claim.erasedVersion, 2);
  const version = await bundleFrom(`record-version?record=${id}&version=1`);
  assert.equal(version.claim.kind === 'record-version' && version.claim.record.status, 'active');
  const accessLog = await bundleFrom(`access-log?patient=${erasedId}&from=0&to=${Date.now()}`);
  assert.equal(accessLog.claim.kind, 'access-log');
  if (accessLog.claim.kind === 'access-log') {
    // The period ends now: events may still be recorded within the audit lag.
    assert.equal(accessLog.claim.coversPeriod, false);
    assert.ok(
      accessLog.claim.events.every((event) => event.recordId === null || event.recordId === id),
    );
  }
  const heights = await network.heights([0, 1, 2, 3]);
  await network.assertAgree([0, 1, 2, 3], Math.min(...heights));
});

test('update with If-Match, delete, and history keep every version; another organisation cannot write', async () => {
  const tokenA = await token(custodian, withOrg(clinicianA, custodian));
  const created = await fhirRequest<Observation>({
    url: network.url(custodian),
    token: tokenA,
    method: 'POST',
    path: 'Observation',
    body: observation('29463-7'),
  });
  assert.equal(created.status, 201);
  const id = created.body.id!;
  const changed = { ...created.body, valueString: 'corrected value' };
  const stale = await fhirRequest({
    url: network.url(custodian),
    token: tokenA,
    method: 'PUT',
    path: `Observation/${id}`,
    body: changed,
    headers: { 'if-match': 'W/"7"' },
  });
  assert.equal(stale.status, 412);
  const updated = await fhirRequest<Observation>({
    url: network.url(custodian),
    token: tokenA,
    method: 'PUT',
    path: `Observation/${id}`,
    body: changed,
    headers: { 'if-match': 'W/"1"' },
  });
  assert.equal(updated.status, 200, JSON.stringify(updated.body));
  assert.equal(updated.body.meta?.versionId, '2');
  const byOther = await fhirRequest({
    url: network.url(requester),
    token: await token(requester, withOrg(clinicianB, requester)),
    method: 'PUT',
    path: `Observation/${id}`,
    body: changed,
  });
  assert.equal(byOther.status, 403);
  const deleted = await fhirRequest({
    url: network.url(custodian),
    token: tokenA,
    method: 'DELETE',
    path: `Observation/${id}`,
  });
  assert.equal(deleted.status, 204);
  const gone = await fhirRequest({
    url: network.url(custodian),
    token: tokenA,
    method: 'GET',
    path: `Observation/${id}`,
  });
  assert.equal(gone.status, 410);
  const first = await fhirRequest<Observation>({
    url: network.url(custodian),
    token: tokenA,
    method: 'GET',
    path: `Observation/${id}/_history/1`,
  });
  assert.equal(first.status, 200);
  assert.equal(first.body.valueString, 'synthetic value');
  const history = await fhirRequest<Bundle>({
    url: network.url(custodian),
    token: tokenA,
    method: 'GET',
    path: `Observation/${id}/_history`,
  });
  assert.equal(history.status, 200);
  assert.equal(history.body.entry?.length, 3);
});

test('one byte changed in a stored ciphertext is an integrity error for that record only', async () => {
  const tokenA = await token(custodian, withOrg(clinicianA, custodian));
  const make = async (code: string) => {
    const answer = await fhirRequest<Observation>({
      url: network.url(custodian),
      token: tokenA,
      method: 'POST',
      path: 'Observation',
      body: observation(code),
    });
    assert.equal(answer.status, 201);
    return answer.body.id!;
  };
  const victim = await make('718-7');
  const bystander = await make('4544-3');
  // The node holds its vault exclusively: change the byte while it is stopped.
  assert.equal(await network.processes[custodian]!.stop(), 0);
  const db = new Database(`${network.nodes[custodian]!.dataDir}/vault.sqlite`);
  try {
    const row = db
      .prepare('SELECT ciphertext FROM vault_versions WHERE record_id = ? AND version = 1')
      .get(victim) as { ciphertext: Buffer };
    const changed = Buffer.from(row.ciphertext);
    changed[0]! ^= 0x01;
    db.prepare('UPDATE vault_versions SET ciphertext = ? WHERE record_id = ? AND version = 1').run(
      changed,
      victim,
    );
  } finally {
    db.close();
  }
  await network.processes[custodian]!.start();
  const read = await fhirRequest({
    url: network.url(custodian),
    token: tokenA,
    method: 'GET',
    path: `Observation/${victim}`,
  });
  assert.equal(read.status, 500);
  assert.match(JSON.stringify(read.body), /integrity/);
  const other = await fhirRequest({
    url: network.url(custodian),
    token: tokenA,
    method: 'GET',
    path: `Observation/${bystander}`,
  });
  assert.equal(other.status, 200);
});
