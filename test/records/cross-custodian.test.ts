// Checks decision 0060 against four real node processes on 127.0.0.1: a search about one patient
// at organisation B also finds that patient's records held by A once the patient consented to B
// (paged and totalled over the union, sensitive records left out and uncounted, one audit event
// per search on B's side and one logged decision per record on A's), a patient reads their
// records held elsewhere through their home node only, and an unreachable custodian is a 503
// with Retry-After for a read and a warning for a search.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import type {
  AuditEvent,
  Bundle,
  Consent,
  Observation,
  OperationOutcome,
} from '@medplum/fhirtypes';

import { toHex } from '../../src/base/index.ts';
import {
  type DemoUser,
  fhirRequest,
  grantConsent,
  issueDemoToken,
  newConsentId,
  submitContractTransaction,
} from '../../src/cli/index.ts';
import type { Ed25519KeyPair } from '../../src/crypto/index.ts';
import { generateEd25519KeyPair, loadEd25519KeyFile } from '../../src/keys/index.ts';
import { recordsLimits } from '../../src/records/index.ts';
import { TestNetwork, sleep } from '../net/harness.ts';

const actCode = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const actReason = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const recipient = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }],
};

const lab = 0; // organisation A: holds most records
const clinic = 1; // organisation B: the patient's home, where the clinician searches
const other = 2; // organisation C: no consent

let network: TestNetwork;
let nodeKeys: Ed25519KeyPair[];
// Patient X, enrolled by B (their home organisation), with records at A and B.
const patientKey = generateEd25519KeyPair();
const patientId = toHex(patientKey.publicKey.slice(0, 16));
// Patient Y, enrolled by A, with a record at A.
const otherKey = generateEd25519KeyPair();
const otherPatientId = toHex(otherKey.publicKey.slice(0, 16));

/** Ids of the records created by the tests, by name. */
const ids = {
  labGeneral: [] as string[],
  labSensitive: '',
  clinicOwn: '',
  otherPatientAtLab: '',
};

function orgOf(index: number): string {
  return network.nodes[index]!.orgId;
}

function token(index: number, user: DemoUser): Promise<string> {
  return issueDemoToken({
    dataDir: network.nodes[index]!.dataDir,
    baseUrl: network.url(index),
    user,
  });
}

const clinician = (index: number, practitionerId: string): DemoUser => ({
  kind: 'practitioner',
  orgId: orgOf(index),
  practitionerId,
});
const patientAt = (index: number, id = patientId): DemoUser => ({
  kind: 'patient',
  orgId: orgOf(index),
  patientId: id,
});

function observation(code: string, patient: string, labels: string[] = []): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code, display: 'test result' }] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: '2026-11-02T09:30:00Z',
    valueString: `synthetic value ${code}`,
    ...(labels.length === 0
      ? {}
      : { meta: { security: labels.map((label) => ({ system: actCode, code: label })) } }),
  };
}

async function create(index: number, practitionerId: string, body: Observation): Promise<string> {
  const created = await fhirRequest<Observation>({
    url: network.url(index),
    token: await token(index, clinician(index, practitionerId)),
    method: 'POST',
    path: 'Observation',
    body,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.id!;
}

async function search(index: number, user: DemoUser, path: string) {
  return fhirRequest<Bundle>({
    url: network.url(index),
    token: await token(index, user),
    method: 'GET',
    path,
  });
}

function matchIds(bundle: Bundle): string[] {
  return (bundle.entry ?? [])
    .filter((entry) => entry.search?.mode === 'match')
    .map((entry) => entry.resource!.id!);
}

function outcomeIssues(bundle: Bundle): string {
  return JSON.stringify(
    (bundle.entry ?? [])
      .filter((entry) => entry.search?.mode === 'outcome')
      .map((entry) => (entry.resource as OperationOutcome).issue),
  );
}

async function synced(): Promise<void> {
  const heights = await network.heights(network.running());
  await network.waitForHeight(Math.max(...heights), network.running(), 10_000);
}

/** Every page of a search, following `next` links; the pages' bundles in order. */
async function allPages(index: number, user: DemoUser, path: string): Promise<Bundle[]> {
  const pages: Bundle[] = [];
  let next: string | null = path;
  while (next !== null && pages.length < 10) {
    const answer = await search(index, user, next);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    pages.push(answer.body);
    const link = answer.body.link?.find((entry) => entry.relation === 'next')?.url;
    next = link === undefined ? null : link.slice(link.indexOf('/fhir/') + '/fhir/'.length);
  }
  return pages;
}

/** The search AuditEvents by `practitionerId` in patient X's access log, read by the patient. */
async function searchEventsBy(practitionerId: string): Promise<AuditEvent[]> {
  const log = await fhirRequest<Bundle<AuditEvent>>({
    url: network.url(clinic),
    token: await token(clinic, patientAt(clinic)),
    method: 'GET',
    path: `AuditEvent?patient=${patientId}&_count=100`,
  });
  assert.equal(log.status, 200, JSON.stringify(log.body));
  return (log.body.entry ?? [])
    .map((entry) => entry.resource!)
    .filter(
      (event) => event.action === 'E' && JSON.stringify(event.agent).includes(practitionerId),
    );
}

/** Waits until the access log holds at least `count` search events by `practitionerId`. */
async function awaitSearchEvents(practitionerId: string, count: number): Promise<AuditEvent[]> {
  let events: AuditEvent[] = [];
  for (let attempt = 0; attempt < 100; attempt++) {
    events = await searchEventsBy(practitionerId);
    if (events.length >= count) break;
    await sleep(200);
  }
  return events;
}

/** The custodian's logged decisions on share requests made for searches. */
function loggedSearchShares(index: number): { decision: string; reason: string }[] {
  return readFileSync(network.nodes[index]!.logFile, 'utf8')
    .split('\n')
    .filter((line) => line.includes('shared record request decided'))
    .map((line) => JSON.parse(line) as { action: string; decision: string; reason: string })
    .filter((entry) => entry.action === 'search');
}

before(async () => {
  network = await TestNetwork.create({ validators: 4, loadSigners: 0, logLevel: 'info' });
  await network.startValidators();
  nodeKeys = await Promise.all(network.nodes.map((node) => loadEd25519KeyFile(node.keyFile)));
  const submit = (index: number, kind: string, body: Record<string, unknown>) =>
    submitContractTransaction({
      url: network.url(index),
      chainId: network.chainId,
      keyPair: nodeKeys[index]!,
      kind: kind as 'identity.register-practitioner',
      body: body as never,
    });
  // Node-key transactions before any FHIR traffic (the records service shares their nonces).
  for (const [index, practitionerId] of [
    [lab, 'dr-ada'],
    [clinic, 'dr-bo'],
    [other, 'dr-cy'],
  ] as const) {
    await submit(index, 'identity.register-practitioner', {
      practitionerId,
      publicKey: generateEd25519KeyPair().publicKey,
      roles: ['physician'],
      active: true,
    });
  }
  await submit(clinic, 'identity.enrol-patient', {
    patientId: Buffer.from(patientId, 'hex'),
    publicKey: patientKey.publicKey,
  });
  await submit(lab, 'identity.enrol-patient', {
    patientId: Buffer.from(otherPatientId, 'hex'),
    publicKey: otherKey.publicKey,
  });
  await synced();
});

after(async () => {
  await network?.destroy();
});

test('a clinician at B finds the Observations of X held by A only after X consents to B, paged over the union', async () => {
  ids.labGeneral.push(await create(lab, 'dr-ada', observation('2339-0', patientId)));
  ids.labGeneral.push(await create(lab, 'dr-ada', observation('2345-7', patientId)));
  ids.labSensitive = await create(lab, 'dr-ada', observation('5195-3', patientId, ['R', 'ETH']));
  ids.otherPatientAtLab = await create(lab, 'dr-ada', observation('2339-0', otherPatientId));
  await synced();
  const bo = clinician(clinic, 'dr-bo');

  // Before consent: 200, nothing found, and the total does not count what is hidden.
  const refused = await search(clinic, bo, `Observation?patient=${patientId}`);
  assert.equal(refused.status, 200, JSON.stringify(refused.body));
  assert.equal(refused.body.total, 0);
  assert.deepEqual(matchIds(refused.body), []);

  // X consents to B (for treatment, no sensitive label named); B also holds one of its own.
  ids.clinicOwn = await create(clinic, 'dr-bo', observation('718-7', patientId));
  const consent: Consent & { id: string } = {
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
    provision: {
      type: 'permit',
      actor: [{ role: recipient, reference: { reference: `Organization/${orgOf(clinic)}` } }],
      purpose: [{ system: actReason, code: 'TREAT' }],
    },
  };
  const granted = await grantConsent({
    url: network.url(clinic),
    chainId: network.chainId,
    token: await token(clinic, patientAt(clinic)),
    patientKeyPair: patientKey,
    consent,
  });
  assert.equal(granted.status, 201, JSON.stringify(granted.body));
  await synced();

  // After: A's two general Observations and B's own, paged two at a time over the union. The
  // sensitive one (a general consent does not name ETH) and Y's are neither listed nor counted.
  const expected = [...ids.labGeneral, ids.clinicOwn].sort();
  const pages = await allPages(clinic, bo, `Observation?patient=${patientId}&_count=2`);
  assert.equal(pages.length, 2);
  assert.deepEqual(
    pages.map((page) => matchIds(page).length),
    [2, 1],
  );
  assert.deepEqual(
    pages.map((page) => page.total),
    [3, 3],
  );
  assert.deepEqual(pages.flatMap(matchIds).sort(), expected);
  const found = pages.flatMap((page) => page.entry ?? []).map((entry) => entry.resource!);
  const fromLab = found.find((resource) => resource.id === ids.labGeneral[0]) as Observation;
  assert.equal(fromLab.valueString, 'synthetic value 2339-0', 'the content A stored');
  // The same by `subject=Patient/…`, with a filter matched after fetching.
  const byCode = await search(clinic, bo, `Observation?subject=Patient/${patientId}&code=2345-7`);
  assert.equal(byCode.status, 200, JSON.stringify(byCode.body));
  assert.deepEqual(matchIds(byCode.body), [ids.labGeneral[1]]);
  assert.equal(byCode.body.total, 1);

  // Twin: a malformed query is refused before any custodian is asked (A's log is counted in
  // the next test).
  const malformed = await search(clinic, bo, `Observation?patient=${patientId}&colour=blue`);
  assert.equal(malformed.status, 400, JSON.stringify(malformed.body));

  // Twins: a search naming no patient stays on B's vault; a clinician of C (no consent) finds
  // nothing, and its total says nothing either.
  const unnamed = await search(clinic, bo, 'Observation?status=final');
  assert.equal(unnamed.status, 200, JSON.stringify(unnamed.body));
  assert.deepEqual(matchIds(unnamed.body), [ids.clinicOwn]);
  const atOther = await search(
    other,
    clinician(other, 'dr-cy'),
    `Observation?patient=${patientId}`,
  );
  assert.equal(atOther.status, 200, JSON.stringify(atOther.body));
  assert.equal(atOther.body.total, 0);
  assert.deepEqual(matchIds(atOther.body), []);
});

test('each cross-custodian search is audited once in the patient log, and each fetched record once at A', async () => {
  // The searches of the test above by dr-bo that touched X: before consent (deny), two pages,
  // the `code` search, and `status=final` on B's vault (permit): one event each, however many
  // records and custodians each touched.
  const events = await awaitSearchEvents('dr-bo', 5);
  assert.equal(events.length, 5, JSON.stringify(events.map((event) => event.outcome)));
  assert.equal(events.filter((event) => event.outcome === '4').length, 1, 'the refused search');
  assert.equal(events.filter((event) => event.outcome === '0').length, 4, 'the permitted ones');
  for (const event of events) {
    assert.ok(
      event.entity?.some((entity) => entity.query !== undefined),
      'a search event carries the hash of its query',
    );
  }
  // A decided each record fetched for a search once: the two general Observations for each of
  // the two pages and for the `code` search; never the sensitive one, never before consent.
  let decisions: { decision: string; reason: string }[] = [];
  for (let attempt = 0; attempt < 50 && decisions.length < 6; attempt++) {
    decisions = loggedSearchShares(lab);
    if (decisions.length < 6) await sleep(100);
  }
  assert.equal(decisions.length, 6, JSON.stringify(decisions));
  assert.ok(decisions.every((entry) => entry.decision === 'permit'));
  // Twin: C's search, refused by C's own decision, never reached A.
  const cyEvents = await awaitSearchEvents('dr-cy', 1);
  assert.equal(cyEvents.length, 1);
  assert.equal(cyEvents[0]!.outcome, '4');
});

test('a patient reads their record held by another organisation through their home node only', async () => {
  const atHome = patientAt(clinic);
  const read = async (index: number, user: DemoUser, id: string) =>
    fhirRequest<Observation>({
      url: network.url(index),
      token: await token(index, user),
      method: 'GET',
      path: `Observation/${id}`,
    });
  // X at B reads X's record held by A: 200, the content A holds (B checked its anchored hash).
  const own = await read(clinic, atHome, ids.labGeneral[0]!);
  assert.equal(own.status, 200, JSON.stringify(own.body));
  const atLab = await read(lab, clinician(lab, 'dr-ada'), ids.labGeneral[0]!);
  assert.equal(atLab.status, 200, JSON.stringify(atLab.body));
  assert.deepEqual(own.body, atLab.body);
  // The patient reads their sensitive record too (their own consent does not bind them).
  const sensitive = await read(clinic, atHome, ids.labSensitive);
  assert.equal(sensitive.status, 200, JSON.stringify(sensitive.body));

  // Twins: another patient's record held elsewhere is 403; X's record through a node that is not
  // X's home (C) is refused before anything is asked of A.
  const another = await read(clinic, atHome, ids.otherPatientAtLab);
  assert.equal(another.status, 403, JSON.stringify(another.body));
  const notHome = await read(other, patientAt(other), ids.labGeneral[0]!);
  assert.equal(notHome.status, 422, JSON.stringify(notHome.body));
  assert.match(JSON.stringify(notHome.body), /home organisation/);

  // The patient's own search covers every organisation, sensitive records included.
  const mine = await search(clinic, atHome, 'Observation');
  assert.equal(mine.status, 200, JSON.stringify(mine.body));
  assert.deepEqual(
    matchIds(mine.body).sort(),
    [...ids.labGeneral, ids.labSensitive, ids.clinicOwn].sort(),
  );
  assert.equal(mine.body.total, 4);
});

test('an unreachable custodian: a read is 503 with Retry-After, a search warns and counts what it reached', async () => {
  // Three validators of four keep committing (n = 3f + 1, f = 1).
  await network.processes[lab]!.stop();
  const bo = clinician(clinic, 'dr-bo');
  const read = await fhirRequest<Observation>({
    url: network.url(clinic),
    token: await token(clinic, bo),
    method: 'GET',
    path: `Observation/${ids.labGeneral[0]!}`,
  });
  assert.equal(read.status, 503, JSON.stringify(read.body));
  assert.equal(read.headers.get('retry-after'), String(recordsLimits.custodianRetryAfterSeconds));
  assert.match(JSON.stringify(read.body), /"code":"transient"/);
  // Twin: B's own record needs no custodian: 200, no Retry-After.
  const local = await fhirRequest<Observation>({
    url: network.url(clinic),
    token: await token(clinic, bo),
    method: 'GET',
    path: `Observation/${ids.clinicOwn}`,
  });
  assert.equal(local.status, 200, JSON.stringify(local.body));
  assert.equal(local.headers.get('retry-after'), null);

  const searched = await search(clinic, bo, `Observation?patient=${patientId}`);
  assert.equal(searched.status, 200, JSON.stringify(searched.body));
  assert.deepEqual(matchIds(searched.body), [ids.clinicOwn]);
  assert.equal(searched.body.total, 1);
  assert.match(outcomeIssues(searched.body), /"code":"incomplete"/);
  assert.match(outcomeIssues(searched.body), new RegExp(orgOf(lab)));
});
