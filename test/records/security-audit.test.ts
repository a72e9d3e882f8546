// Checks decision 0059 through the HTTP routes (fastify inject) in front of the real records
// service, over a chain state built by executing real contract transactions (practitioners,
// patients, records, break-glass grants, audit batches) and the real SQLite security log: each
// refusal before authorisation (bad token, malformed JSON, oversized body, wrong media type) is
// an OperationOutcome and an AuditEvent a privacy officer finds, page by page; patients,
// clinicians and clients without the scope cannot read the log (and are recorded trying); a
// flood is counted, not itemised, and shows in /metrics; the break-glass review queue is paged
// and shows an officer only their organisation's uses and the uses that read its records.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import type { AuditEvent, Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { pino } from 'pino';

import { buildApiServer } from '../../src/api/index.ts';
import {
  type AccessTokenSigner,
  issueAccessToken,
  issueUserToken,
  loadOrCreateTokenSigningKey,
  parseScopes,
  verifyAccessToken,
} from '../../src/auth/index.ts';
import { toHex } from '../../src/base/index.ts';
import { securityAuditMetrics } from '../../src/cli/index.ts';
import { type AuditEventInput, readerOf } from '../../src/contracts/index.ts';
import { generateEd25519KeyPair } from '../../src/keys/index.ts';
import { RecordsService, type RecordsNode, securityAuditLimits } from '../../src/records/index.ts';
import { openSecurityAuditLog } from '../../src/store/index.ts';
import type { RecordVault } from '../../src/vault/index.ts';
import { MemoryNode } from '../api/memory-node.ts';
import { Network, keyOf } from '../contracts/fixtures.ts';

const silent = pino({ level: 'silent' });
const nodeBaseUrl = 'https://ehr-a.example.test';
const fhirBase = `${nodeBaseUrl}/fhir`;
/** Tokens are issued and verified at this instant; the service's clock is the test's. */
const nowMs = Date.parse('2024-05-01T10:00:00.000Z');

const directory = mkdtempSync(join(tmpdir(), 'medledger-security-audit-http-'));
after(() => rmSync(directory, { recursive: true, force: true }));
const signingKey = await loadOrCreateTokenSigningKey({ path: join(directory, 'token.key') });
const signer: AccessTokenSigner = { signingKey, issuer: nodeBaseUrl, audience: fhirBase };

// The chain: org-a holds p1's record r1, org-c holds p2's record r2.
const net = new Network();
net.practitioner('org-a', 'po-ann', ['privacy-officer']);
net.practitioner('org-a', 'dr-ada', ['physician']);
net.practitioner('org-a', 'dr-alf', ['physician', 'break-glass']);
net.practitioner('org-b', 'po-bea', ['privacy-officer']);
net.practitioner('org-b', 'erin', ['physician', 'break-glass']);
net.practitioner('org-c', 'carl', ['physician', 'break-glass']);
const p1 = net.patient('p1', 'org-a');
const p2 = net.patient('p2', 'org-a');
const r1 = net.anchor({ record: 'r1', patientId: p1, orgId: 'org-a' });
const r2 = net.anchor({ record: 'r2', patientId: p2, orgId: 'org-c' });

function breakGlass(orgId: string, practitionerId: string, patientId: Uint8Array): Uint8Array {
  const receipt = net.ok(
    net.tx(`dr:${orgId}/${practitionerId}`, 'access.break-glass', {
      patientId,
      practitionerId,
      purpose: 'BTG',
      reasonCode: 'unconscious',
    }),
  );
  return receipt.txId;
}

/** The requesting node audits its practitioner's break-glass read of `recordId`. */
function auditRead(options: {
  orgId: string;
  practitionerId: string;
  patientId: Uint8Array;
  recordId: Uint8Array;
  breakGlassId: Uint8Array;
}): void {
  const event: AuditEventInput = {
    practitionerId: options.practitionerId,
    clientId: null,
    patientId: options.patientId,
    recordId: options.recordId,
    recordVersion: 1,
    queryHash: null,
    action: 'read',
    purpose: 'BTG',
    decision: 'permit',
    reason: 'break-glass',
    consentId: null,
    breakGlassId: options.breakGlassId,
    time: net.time,
  };
  net.ok(net.tx(`node:${options.orgId}`, 'access.record', { events: [event] }));
}

// g1: org-b's erin reads org-a's r1 (org-a sees it: its record; org-b: its staff).
const g1 = breakGlass('org-b', 'erin', p1);
auditRead({
  orgId: 'org-b',
  practitionerId: 'erin',
  patientId: p1,
  recordId: r1,
  breakGlassId: g1,
});
// g2: org-a's own dr-alf (org-a sees it: its staff), no read yet.
const g2 = breakGlass('org-a', 'dr-alf', p2);
// g3: org-c's carl reads org-c's own r2 (org-a does not see it).
const g3 = breakGlass('org-c', 'carl', p2);
auditRead({
  orgId: 'org-c',
  practitionerId: 'carl',
  patientId: p2,
  recordId: r2,
  breakGlassId: g3,
});
// g4: org-b's erin on p2, no read (org-a does not see it; org-b does).
const g4 = breakGlass('org-b', 'erin', p2);

/** What the records service needs of a node: this committed state; nothing else is used here. */
function recordsNode(): RecordsNode {
  const refuse = () => Promise.reject(new Error('not used by these tests'));
  return {
    chainId: 'medledger-test',
    nodeKey: keyOf('node:org-a').publicKey,
    loadBlock: () => null,
    stateReader: () => ({ ...readerOf(net.state), height: net.height }),
    submitOwnAndWait: refuse,
    subscribe: () => () => undefined,
    submitTransaction: refuse,
    waitForTransaction: () => Promise.resolve(null),
    requestPeer: refuse,
    handlePeerRequests: () => undefined,
  };
}

async function setup() {
  let clock = nowMs;
  const logFile = join(directory, `security-${Math.random().toString(36).slice(2)}.sqlite`);
  const securityLog = openSecurityAuditLog({
    file: logFile,
    limits: {
      rowsMax: securityAuditLimits.rowsMax,
      rotationRows: securityAuditLimits.rotationRows,
      rowBodyBytesMax: securityAuditLimits.rowBodyBytesMax,
      pageRowsMax: securityAuditLimits.pageRowsMax,
    },
  });
  after(() => securityLog.close());
  const service = new RecordsService({
    node: recordsNode(),
    // The vault is not reached: every request here is refused or reads the chain and the log.
    vault: {} as RecordVault,
    orgId: 'org-a',
    nodeKeyPair: keyOf('node:org-a'),
    logger: silent,
    now: () => clock,
    tokenUrl: `${nodeBaseUrl}/auth/token`,
    securityLog,
  });
  const app = await buildApiServer({
    node: new MemoryNode({ chainId: 'medledger-test', keyPair: generateEd25519KeyPair() }),
    logger: silent,
    fhir: {
      service,
      realm: 'medledger org-a',
      publicBaseUrl: fhirBase,
      tokens: {
        verify: (token) =>
          verifyAccessToken(token, {
            keys: [signingKey],
            issuer: nodeBaseUrl,
            audience: fhirBase,
            now: nowMs,
          }),
      },
    },
    extraMetrics: securityAuditMetrics(() => service.securityAudit.counts()),
  });
  after(() => app.close());
  return {
    app,
    logFile,
    securityLog,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

async function userToken(
  principal: { kind: 'practitioner' | 'patient'; id: string },
  options: { org?: string; scopes?: string } = {},
): Promise<string> {
  const issued = await issueUserToken({
    signer,
    now: nowMs,
    principal,
    org: options.org ?? 'org-a',
    scopes: options.scopes ?? (principal.kind === 'patient' ? 'patient/*.rs' : 'user/*.cruds'),
  });
  return issued.accessToken;
}

async function clientToken(scopes: string): Promise<string> {
  const issued = await issueAccessToken({
    signer,
    now: nowMs,
    subject: 'ehr-audit',
    principal: { kind: 'client', id: 'ehr-audit' },
    org: 'org-a',
    scopes: parseScopes(scopes),
  });
  return issued.accessToken;
}

const officer = () => userToken({ kind: 'practitioner', id: 'po-ann' });
const clinician = () => userToken({ kind: 'practitioner', id: 'dr-ada' });
const observation = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
};

type App = Awaited<ReturnType<typeof setup>>['app'];

async function get(app: App, url: string, token: string) {
  return app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
}

/** Every AuditEvent of the security log matching `query`, following `next` links. */
async function allEvents(app: App, query: string, token: string) {
  const events: AuditEvent[] = [];
  const totals: number[] = [];
  let url: string | null = `/fhir/AuditEvent${query}`;
  for (let pages = 0; url !== null && pages < 100; pages++) {
    const response = await get(app, url, token);
    assert.equal(response.statusCode, 200, response.body);
    const bundle = response.json<Bundle<AuditEvent>>();
    totals.push(bundle.total ?? -1);
    events.push(...(bundle.entry ?? []).map((entry) => entry.resource!));
    const next = bundle.link?.find((link) => link.relation === 'next')?.url;
    if (next !== undefined) assert.ok(next.startsWith(fhirBase), next);
    url = next === undefined ? null : next.slice(nodeBaseUrl.length);
  }
  return { events, totals };
}

function detailOf(event: AuditEvent, type: string): string | undefined {
  return event.entity?.[0]?.detail?.find((detail) => detail.type === type)?.valueString;
}

function assertOutcomeAnswer(
  response: { statusCode: number; body: string; json(): unknown },
  status: number,
) {
  assert.equal(response.statusCode, status, response.body);
  assert.equal((response.json() as OperationOutcome).resourceType, 'OperationOutcome');
}

test('refusals before authorisation are OperationOutcomes and AuditEvents a privacy officer finds, paged', async () => {
  const { app, logFile, securityLog } = await setup();
  const clinicianToken = await clinician();
  const secret = 'Bearer-secret-value-not-a-token';

  // A bad token, malformed JSON, an oversized body, a wrong media type.
  assertOutcomeAnswer(
    await app.inject({
      method: 'GET',
      url: '/fhir/Observation?code=8867-4&subject=Patient/abc',
      headers: { authorization: `Bearer ${secret}` },
    }),
    401,
  );
  assertOutcomeAnswer(
    await app.inject({
      method: 'POST',
      url: '/fhir/Observation',
      headers: {
        authorization: `Bearer ${clinicianToken}`,
        'content-type': 'application/fhir+json',
      },
      payload: '{"resourceType": "Observation", "status": ',
    }),
    400,
  );
  assertOutcomeAnswer(
    await app.inject({
      method: 'POST',
      url: '/fhir/Observation',
      headers: {
        authorization: `Bearer ${clinicianToken}`,
        'content-type': 'application/fhir+json',
      },
      payload: JSON.stringify({ ...observation, note: [{ text: 'x'.repeat(1_100_000) }] }),
    }),
    413,
  );
  assertOutcomeAnswer(
    await app.inject({
      method: 'POST',
      url: '/fhir/Observation',
      headers: { authorization: `Bearer ${clinicianToken}`, 'content-type': 'text/plain' },
      payload: JSON.stringify(observation),
    }),
    415,
  );

  const { events, totals } = await allEvents(app, '?_count=2', await officer());
  // Four refusals and the officer's own read (recorded before the first page was read).
  assert.equal(totals[0], 5);
  assert.equal(events.length, 5);
  assert.equal(totals.length, 3, 'five events at two per page: three pages');
  const byStatus = new Map(events.map((event) => [detailOf(event, 'status'), event]));
  const unauthenticated = byStatus.get('401')!;
  assert.equal(unauthenticated.type.code, '110113', 'a bad token is a Security Alert');
  assert.equal(unauthenticated.subtype?.[0]?.code, 'search-type');
  assert.equal(unauthenticated.outcome, '4');
  assert.equal(unauthenticated.agent[0]!.who?.display, 'unauthenticated client');
  assert.equal(unauthenticated.agent[0]!.network?.address, '127.0.0.1');
  assert.equal(detailOf(unauthenticated, 'path'), 'Observation', 'no query values');
  for (const [status, code] of [
    ['400', 'structure'],
    ['413', 'too-long'],
    ['415', 'not-supported'],
  ] as const) {
    const event = byStatus.get(status);
    assert.ok(event !== undefined, `the ${status} refusal is in the log`);
    assert.equal(event.type.code, 'rest');
    assert.equal(event.subtype?.[0]?.code, 'create');
    assert.equal(event.action, 'C');
    assert.equal(detailOf(event, 'method'), 'POST');
    assert.equal(detailOf(event, 'issue-type'), code);
    assert.equal(event.agent[0]!.who?.reference, 'Practitioner/org-a--dr-ada');
    assert.equal(event.source.site, 'org-a');
  }
  const read = byStatus.get('200')!;
  assert.equal(read.outcome, '0', 'reading the log is itself audited');
  assert.equal(read.agent[0]!.who?.reference, 'Practitioner/org-a--po-ann');
  const text = JSON.stringify(events);
  assert.doesNotMatch(text, /eyJ|secret-value|8867-4|subject/, 'no token, no query value');
  // Each of the three pages read is recorded too (newer than the cursor, so paging is unaffected).
  assert.deepEqual(securityLog.verify(), { ok: true, rows: 7, headSequence: 7 });
  assert.equal(statSync(logFile).mode & 0o777, 0o600);

  // Filters: only the Security Alerts; only serious failures (none).
  const alerts = await allEvents(
    app,
    '?type=http://dicom.nema.org/resources/ontology/DCM|110113',
    await officer(),
  );
  assert.deepEqual(
    alerts.events.map((event) => detailOf(event, 'status')),
    ['401'],
  );
  const serious = await allEvents(app, '?outcome=8', await officer());
  assert.equal(serious.events.length, 0);
  assert.equal(serious.totals[0], 0);
  const later = await allEvents(app, '?date=gt2024-05-01T10:00:00Z', await officer());
  assert.equal(later.events.length, 0, 'everything was recorded at 10:00:00');
});

test('bad search parameters and cursors are refused with an OperationOutcome', async () => {
  const { app } = await setup();
  const token = await officer();
  for (const url of [
    '/fhir/AuditEvent?_cursor=not-a-cursor!',
    `/fhir/AuditEvent?_cursor=${Buffer.from('{"b":0}').toString('base64url')}`,
    `/fhir/AuditEvent?type=rest&_cursor=${Buffer.from(JSON.stringify({ b: 5, q: 'x' })).toString('base64url')}`,
    '/fhir/AuditEvent?address=127.0.0.1',
    '/fhir/AuditEvent?_sort=date',
    '/fhir/AuditEvent?date=yesterday',
    '/fhir/AuditEvent?type=http://example.org|rest',
    '/fhir/AuditEvent?_count=0',
  ]) {
    const response = await get(app, url, token);
    assertOutcomeAnswer(response, 400);
  }
  // Service refusals are the service's own answers, not security events; two bad tokens are.
  for (let index = 0; index < 2; index++) {
    await app.inject({
      method: 'GET',
      url: '/fhir/Patient',
      headers: { authorization: 'Bearer x' },
    });
  }
  // The valid twin of the cursor: a next link of the same query works.
  const first = (await get(app, '/fhir/AuditEvent?_count=1', token)).json<Bundle>();
  const next = first.link?.find((link) => link.relation === 'next')?.url;
  assert.ok(next !== undefined);
  assert.equal((await get(app, next.slice(nodeBaseUrl.length), token)).statusCode, 200);
  // Carried over to another query, the same cursor is refused.
  const cursor = new URL(next).searchParams.get('_cursor')!;
  assertOutcomeAnswer(await get(app, `/fhir/AuditEvent?outcome=4&_cursor=${cursor}`, token), 400);
});

test('patients, clinicians and clients without the scope cannot read the security log; each try is recorded', async () => {
  const { app } = await setup();
  // A bad token first, so there is something to hide.
  await app.inject({
    method: 'GET',
    url: '/fhir/Observation',
    headers: { authorization: 'Bearer nonsense' },
  });
  // A patient's search of AuditEvent is always their own access log (on chain): no security event.
  const patient = await userToken({ kind: 'patient', id: toHex(p1) });
  const own = await get(app, '/fhir/AuditEvent', patient);
  assert.equal(own.statusCode, 200, own.body);
  const ownEvents = (own.json<Bundle>().entry ?? []).map((entry) => entry.resource!);
  assert.ok(ownEvents.every((event) => !String(event.id).startsWith('security-')));
  assert.doesNotMatch(own.body, /unauthenticated client|110113/);
  assert.match(own.body, /"total":1/, 'p1 has one event: erin’s break-glass read');

  assertOutcomeAnswer(await get(app, '/fhir/AuditEvent', await clinician()), 403);
  assertOutcomeAnswer(
    await get(app, '/fhir/AuditEvent', await clientToken('system/Observation.rs')),
    403,
  );
  // An officer of another organisation: this node serves org-a.
  assertOutcomeAnswer(
    await get(
      app,
      '/fhir/AuditEvent',
      await userToken({ kind: 'practitioner', id: 'po-bea' }, { org: 'org-b' }),
    ),
    403,
  );
  // The valid twins: a system client with an AuditEvent search scope, and the officer.
  const byClient = await get(app, '/fhir/AuditEvent', await clientToken('system/AuditEvent.rs'));
  assert.equal(byClient.statusCode, 200, byClient.body);
  const { events } = await allEvents(app, '', await officer());
  const refusedReads = events.filter(
    (event) => detailOf(event, 'path') === 'AuditEvent' && event.outcome === '4',
  );
  assert.equal(refusedReads.length, 3, 'the clinician, the client and the other officer');
  assert.ok(
    events.some(
      (event) =>
        detailOf(event, 'path') === 'AuditEvent' &&
        event.outcome === '0' &&
        JSON.stringify(event.agent[0]?.who).includes('ehr-audit'),
    ),
    'the client’s read is recorded',
  );
});

test('a flood is counted, not itemised: one summary event, and the counts in /metrics', async () => {
  const { app, advance } = await setup();
  const flood = securityAuditLimits.anonymousBurstEvents + 50;
  for (let index = 0; index < flood; index++) {
    await app.inject({
      method: 'GET',
      url: '/fhir/Patient',
      headers: { authorization: 'Bearer nonsense' },
    });
  }
  advance(1000);
  const { events, totals } = await allEvents(app, '?_count=100', await officer());
  const summary = events.filter((event) => event.subtype?.[0]?.code === '110133');
  assert.equal(summary.length, 1);
  assert.equal(summary[0]!.entity?.[0]?.detail?.[0]?.valueString, '50');
  assert.match(summary[0]!.outcomeDesc ?? '', /50 refusals .* without a verified token .* 401×50/);
  // The burst itemised, the summary, the officer's read.
  assert.equal(totals[0], securityAuditLimits.anonymousBurstEvents + 2);

  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(metrics.statusCode, 200);
  assert.match(metrics.body, /medledger_height \d+/, 'the node’s own metrics come first');
  assert.match(
    metrics.body,
    new RegExp(`medledger_fhir_refusals_total\\{code="login"\\} ${flood}`),
  );
  assert.match(metrics.body, /medledger_security_audit_dropped_total\{reason="rate-limit"\} 50/);
  assert.match(metrics.body, /medledger_security_audit_dropped_total\{reason="rotated"\} 0/);
  assert.match(
    metrics.body,
    // The burst, the summary and the officer's two page reads (102 events at 100 a page).
    new RegExp(`medledger_security_audit_rows ${securityAuditLimits.anonymousBurstEvents + 3}`),
  );
  assert.match(metrics.body, /medledger_security_audit_events_total\{outcome="4"\} 101/);
});

/** The break-glass ids (hex) of a review queue page. */
function grantsOf(bundle: Bundle): string[] {
  return (bundle.entry ?? [])
    .filter((entry) => entry.search?.mode === 'match')
    .map((entry) => String(entry.resource?.id));
}

test('the review queue shows an officer their staff’s uses and uses that read their records, paged', async () => {
  const { app } = await setup();
  const token = await officer();
  const first = await get(app, '/fhir/$break-glass-review?_count=1', token);
  assert.equal(first.statusCode, 200, first.body);
  const page1 = first.json<Bundle>();
  assert.equal(page1.total, 2, 'g1 (read an org-a record) and g2 (org-a staff), not g3, g4');
  assert.deepEqual(grantsOf(page1), [toHex(g1)]);
  const next = page1.link?.find((link) => link.relation === 'next')?.url;
  assert.ok(next !== undefined && next.startsWith(`${fhirBase}/$break-glass-review?`), next);
  const second = await get(app, next.slice(nodeBaseUrl.length), token);
  assert.equal(second.statusCode, 200, second.body);
  const page2 = second.json<Bundle>();
  assert.deepEqual(grantsOf(page2), [toHex(g2)]);
  assert.equal(page2.total, 2);
  assert.equal(
    page2.link?.find((link) => link.relation === 'next'),
    undefined,
  );
  const all = (await get(app, '/fhir/$break-glass-review', token)).json<Bundle>();
  assert.deepEqual(grantsOf(all), [toHex(g1), toHex(g2)]);
  assert.ok(!JSON.stringify(all).includes(toHex(g3)) && !JSON.stringify(all).includes(toHex(g4)));

  // Invalid twins: a bad cursor, a bad _count, an unknown parameter, a clinician, a patient.
  for (const url of [
    '/fhir/$break-glass-review?_cursor=abc!',
    `/fhir/$break-glass-review?_cursor=${Buffer.from('{"a":-4}').toString('base64url')}`,
    '/fhir/$break-glass-review?_count=zero',
    '/fhir/$break-glass-review?patient=x',
  ]) {
    assertOutcomeAnswer(await get(app, url, token), 400);
  }
  assertOutcomeAnswer(await get(app, '/fhir/$break-glass-review', await clinician()), 403);
  assertOutcomeAnswer(
    await get(
      app,
      '/fhir/$break-glass-review',
      await userToken({ kind: 'patient', id: toHex(p1) }),
    ),
    403,
  );
});

test('an officer of the using organisation sees its staff’s uses, wherever the records are held', async () => {
  // The same chain served by org-b's node: erin's two uses (g1 on org-a's record, g4).
  const service = new RecordsService({
    node: recordsNode(),
    vault: {} as RecordVault,
    orgId: 'org-b',
    nodeKeyPair: keyOf('node:org-b'),
    logger: silent,
    now: () => nowMs,
    tokenUrl: `${nodeBaseUrl}/auth/token`,
  });
  const token = await issueUserToken({
    signer,
    now: nowMs,
    principal: { kind: 'practitioner', id: 'po-bea' },
    org: 'org-b',
    scopes: 'user/*.cruds',
  });
  const verified = await verifyAccessToken(token.accessToken, {
    keys: [signingKey],
    issuer: nodeBaseUrl,
    audience: fhirBase,
    now: nowMs,
  });
  const bundle = await service.breakGlassReviewQueue(
    { token: verified, baseUrl: fhirBase, requestId: 'r-1' },
    { params: {} },
  );
  assert.equal(bundle.total, 2);
  assert.deepEqual(grantsOf(bundle), [toHex(g1), toHex(g4)]);
});
