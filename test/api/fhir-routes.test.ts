// Checks the FHIR R4 routes over fastify's inject and a real socket (also with fhir-kit-client),
// against an in-memory test double of the records service and real node-signed SMART tokens:
// every interaction beside its refusals, each refusal an OperationOutcome that is audited.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { Client } from 'fhir-kit-client';
import { pino } from 'pino';

import {
  apiLimits,
  buildApiServer,
  startApiServer,
  type FhirRoutesOptions,
} from '../../src/api/index.ts';
import {
  issueUserToken,
  loadOrCreateTokenSigningKey,
  verifyAccessToken,
  type AccessTokenSigner,
} from '../../src/auth/index.ts';
import { FhirError } from '../../src/fhir/index.ts';
import { generateEd25519KeyPair } from '../../src/keys/index.ts';
import { MemoryFhirService } from './memory-fhir-service.ts';
import { MemoryNode } from './memory-node.ts';

const silent = pino({ level: 'silent' });
const nodeBaseUrl = 'https://ehr.example.test';
const fhirBase = `${nodeBaseUrl}/fhir`;
const realm = 'medledger-test';
const fhirJson = 'application/fhir+json; charset=utf-8';
/** Tokens are issued and verified at this instant, so no test depends on the wall clock. */
const nowMs = Date.parse('2024-05-01T10:00:00.000Z');

const keyDirectory = mkdtempSync(join(tmpdir(), 'medledger-fhir-routes-'));
after(() => rmSync(keyDirectory, { recursive: true, force: true }));
const signingKey = await loadOrCreateTokenSigningKey({ path: join(keyDirectory, 'token.key') });
const signer: AccessTokenSigner = { signingKey, issuer: nodeBaseUrl, audience: fhirBase };

async function tokenFor(
  options: { scopes?: string; now?: number; signer?: AccessTokenSigner } = {},
): Promise<string> {
  const issued = await issueUserToken({
    signer: options.signer ?? signer,
    now: options.now ?? nowMs,
    principal: { kind: 'practitioner', id: 'p-17' },
    org: 'org-a',
    scopes: options.scopes ?? 'user/*.cruds',
  });
  return issued.accessToken;
}

function verifierFor(audience: () => string): FhirRoutesOptions['tokens'] {
  return {
    verify: (token) =>
      verifyAccessToken(token, {
        keys: [signingKey],
        issuer: nodeBaseUrl,
        audience: audience(),
        now: nowMs,
      }),
  };
}

async function setup(options: { publicBaseUrl?: string | null } = {}) {
  const node = new MemoryNode({ chainId: 'fhir-test', keyPair: generateEd25519KeyPair() });
  const service = new MemoryFhirService();
  const publicBaseUrl = options.publicBaseUrl === undefined ? fhirBase : options.publicBaseUrl;
  const app = await buildApiServer({
    node,
    logger: silent,
    fhir: {
      service,
      tokens: verifierFor(() => fhirBase),
      realm,
      ...(publicBaseUrl === null ? {} : { publicBaseUrl }),
    },
  });
  const token = await tokenFor();
  const auth = { authorization: `Bearer ${token}` };
  return { app, service, token, auth };
}

type Setup = Awaited<ReturnType<typeof setup>>;

interface InjectedResponse {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  json(): unknown;
}

/** Asserts a FHIR error answer: status, FHIR JSON, an OperationOutcome with that IssueType. */
function assertOutcome(
  response: InjectedResponse,
  status: number,
  code: string,
  diagnostics?: RegExp,
): OperationOutcome {
  assert.equal(response.statusCode, status, response.body);
  assert.equal(response.headers['content-type'], fhirJson);
  const outcome = response.json() as OperationOutcome;
  assert.equal(outcome.resourceType, 'OperationOutcome');
  const issue = outcome.issue?.[0];
  assert.ok(issue !== undefined, 'an OperationOutcome has an issue');
  assert.equal(issue.code, code);
  assert.ok(issue.severity === 'error' || issue.severity === 'fatal');
  if (diagnostics !== undefined) assert.match(issue.diagnostics ?? '', diagnostics);
  assert.doesNotMatch(response.body, /at .*\.ts:\d+/, 'no stack trace');
  return outcome;
}

/** Asserts the last rejection handed to the service. */
function assertRejected(
  service: MemoryFhirService,
  expected: { method: string; path: string; status: number; code: string; withToken: boolean },
) {
  const rejection = service.rejections.at(-1);
  assert.ok(rejection !== undefined, 'the refusal was handed to recordRejection');
  assert.equal(rejection.method, expected.method);
  assert.equal(rejection.path, expected.path);
  assert.equal(rejection.status, expected.status);
  assert.equal(rejection.code, expected.code);
  assert.equal(rejection.token !== null, expected.withToken);
  // inject's socket is 127.0.0.1: the address the security log keeps (decision 0059).
  assert.equal(rejection.address, '127.0.0.1');
  if (rejection.token !== null) assert.equal(rejection.token.claims.sub, 'Practitioner/p-17');
}

const observation = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }], text: 'Heart rate' },
  subject: { reference: 'Patient/pat-1' },
  valueQuantity: { value: 72, unit: 'beats/minute' },
};

function create(s: Setup, body: unknown, headers: Record<string, string> = {}) {
  return s.app.inject({
    method: 'POST',
    url: '/fhir/Observation',
    headers: { ...s.auth, 'content-type': 'application/fhir+json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

test('GET /fhir/metadata answers the CapabilityStatement without a token; _format=xml is 406', async () => {
  const s = await setup();
  const response = await s.app.inject({ method: 'GET', url: '/fhir/metadata' });
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['content-type'], fhirJson);
  const statement = response.json<{ resourceType: string; fhirVersion: string }>();
  assert.equal(statement.resourceType, 'CapabilityStatement');
  assert.equal(statement.fhirVersion, '4.0.1');
  assert.match(response.body, /ehr\.example\.test\/fhir/, 'built for the public base URL');

  const json = await s.app.inject({ method: 'GET', url: '/fhir/metadata?_format=json' });
  assert.equal(json.statusCode, 200);
  // An unencoded `+` arrives as a space; it still means FHIR JSON.
  const plus = await s.app.inject({
    method: 'GET',
    url: '/fhir/metadata?_format=application/fhir+json',
  });
  assert.equal(plus.statusCode, 200);

  const xml = await s.app.inject({ method: 'GET', url: '/fhir/metadata?_format=xml' });
  assertOutcome(xml, 406, 'not-supported', /JSON only/);
  assertRejected(s.service, {
    method: 'GET',
    path: 'metadata',
    status: 406,
    code: 'not-supported',
    withToken: false,
  });
  await s.app.close();
});

test('create answers 201 with Location, ETag and Last-Modified; the service gets a verified context', async () => {
  const s = await setup();
  const response = await create(s, observation);
  assert.equal(response.statusCode, 201, response.body);
  assert.equal(response.headers['content-type'], fhirJson);
  const created = response.json<Resource>();
  assert.equal(created.id, 'm1');
  assert.equal(created.meta?.versionId, '1');
  assert.equal(response.headers['location'], `${fhirBase}/Observation/m1/_history/1`);
  assert.equal(response.headers['etag'], 'W/"1"');
  assert.equal(
    response.headers['last-modified'],
    new Date(created.meta.lastUpdated!).toUTCString(),
  );
  assert.match(
    String(response.headers['last-modified']),
    /^\w{3}, \d{2} \w{3} \d{4} [\d:]{8} GMT$/,
  );

  const call = s.service.calls.at(-1)!;
  assert.equal(call.interaction, 'create');
  assert.equal(call.context.baseUrl, fhirBase);
  assert.equal(call.context.token.claims.sub, 'Practitioner/p-17');
  assert.match(call.context.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/);
  assert.equal(response.headers['x-request-id'], call.context.requestId);
  assert.deepEqual(call.request, {
    type: 'Observation',
    resource: observation,
    ifNoneExist: null,
    signedTransaction: null,
  });

  // application/json is accepted as well, and each request gets a fresh id.
  const plain = await create(s, observation, { 'content-type': 'application/json' });
  assert.equal(plain.statusCode, 201, plain.body);
  assert.equal(plain.headers['location'], `${fhirBase}/Observation/m2/_history/1`);
  assert.notEqual(s.service.calls.at(-1)!.context.requestId, call.context.requestId);
  assert.equal(s.service.rejections.length, 0);
  await s.app.close();
});

test('conditional create: If-None-Exist goes to the service raw; one match answers 200, two 412', async () => {
  const s = await setup();
  assert.equal((await create(s, observation)).statusCode, 201);
  const ifNoneExist = 'code=http://loinc.org|8867-4';
  const matched = await create(s, observation, { 'if-none-exist': ifNoneExist });
  assert.equal(matched.statusCode, 200, matched.body);
  assert.equal(matched.json<Resource>().id, 'm1');
  assert.equal(matched.headers['etag'], 'W/"1"');
  assert.equal(
    (s.service.calls.at(-1)!.request as { ifNoneExist: string }).ifNoneExist,
    ifNoneExist,
  );
  assert.equal((await create(s, observation)).statusCode, 201);
  assertOutcome(
    await create(s, observation, { 'if-none-exist': ifNoneExist }),
    412,
    'conflict',
    /at most one/,
  );
  await s.app.close();
});

test('read, vread, update with If-Match, delete, read after delete (410), history', async () => {
  const s = await setup();
  const created = await create(s, observation);
  assert.equal(created.statusCode, 201);

  const read = await s.app.inject({ method: 'GET', url: '/fhir/Observation/m1', headers: s.auth });
  assert.equal(read.statusCode, 200, read.body);
  assert.equal(read.headers['content-type'], fhirJson);
  assert.equal(read.headers['etag'], 'W/"1"');
  assert.equal(read.headers['last-modified'], created.headers['last-modified']);
  assert.deepEqual(read.json(), created.json());

  const changed = { ...observation, id: 'm1', valueQuantity: { value: 80, unit: 'beats/minute' } };
  const put = (ifMatch?: string) =>
    s.app.inject({
      method: 'PUT',
      url: '/fhir/Observation/m1',
      headers: {
        ...s.auth,
        'content-type': 'application/fhir+json',
        ...(ifMatch === undefined ? {} : { 'if-match': ifMatch }),
      },
      payload: JSON.stringify(changed),
    });
  const updated = await put('W/"1"');
  assert.equal(updated.statusCode, 200, updated.body);
  assert.equal(updated.headers['etag'], 'W/"2"');
  assert.equal(updated.headers['location'], undefined, 'an update that created nothing');
  assert.equal((s.service.calls.at(-1)!.request as { ifMatch: string }).ifMatch, 'W/"1"');
  assertOutcome(await put('W/"1"'), 412, 'conflict', /W\/"2"/);

  const vread = await s.app.inject({
    method: 'GET',
    url: '/fhir/Observation/m1/_history/1',
    headers: s.auth,
  });
  assert.equal(vread.statusCode, 200, vread.body);
  assert.equal(vread.headers['etag'], 'W/"1"');
  assert.equal(vread.json<{ valueQuantity: { value: number } }>().valueQuantity.value, 72);
  assertOutcome(
    await s.app.inject({
      method: 'GET',
      url: '/fhir/Observation/m1/_history/9',
      headers: s.auth,
    }),
    404,
    'not-found',
  );

  const deleted = await s.app.inject({
    method: 'DELETE',
    url: '/fhir/Observation/m1',
    headers: s.auth,
  });
  assert.equal(deleted.statusCode, 204, deleted.body);
  assert.equal(deleted.body, '');
  const again = await s.app.inject({
    method: 'DELETE',
    url: '/fhir/Observation/m1',
    headers: s.auth,
  });
  assert.equal(again.statusCode, 204, 'delete is idempotent');
  assertOutcome(
    await s.app.inject({ method: 'GET', url: '/fhir/Observation/m1', headers: s.auth }),
    410,
    'deleted',
  );
  assertOutcome(
    await s.app.inject({ method: 'GET', url: '/fhir/Observation/nope', headers: s.auth }),
    404,
    'not-found',
  );

  const history = await s.app.inject({
    method: 'GET',
    url: '/fhir/Observation/m1/_history',
    headers: s.auth,
  });
  assert.equal(history.statusCode, 200, history.body);
  assert.equal(history.headers['content-type'], fhirJson);
  const bundle = history.json<Bundle>();
  assert.equal(bundle.type, 'history');
  assert.equal(bundle.total, 3);
  assert.deepEqual(
    bundle.entry?.map((entry) => entry.request?.method),
    ['DELETE', 'PUT', 'POST'],
  );
  // Refusals by the service are its own to audit: none were handed back as rejections.
  assert.equal(s.service.rejections.length, 0);
  await s.app.close();
});

test('update refuses a body whose id differs from the URL (400) and can create (201 + Location)', async () => {
  const s = await setup();
  const put = (url: string, body: unknown) =>
    s.app.inject({
      method: 'PUT',
      url,
      headers: { ...s.auth, 'content-type': 'application/fhir+json' },
      payload: JSON.stringify(body),
    });
  assertOutcome(
    await put('/fhir/Observation/a1', { ...observation, id: 'b2' }),
    400,
    'invalid',
    /a1/,
  );
  assertOutcome(await put('/fhir/Observation/a1', observation), 400, 'invalid', /found none/);
  assert.equal(s.service.calls.length, 0);
  assertRejected(s.service, {
    method: 'PUT',
    path: 'Observation/a1',
    status: 400,
    code: 'invalid',
    withToken: true,
  });
  const created = await put('/fhir/Observation/a1', { ...observation, id: 'a1' });
  assert.equal(created.statusCode, 201, created.body);
  assert.equal(created.headers['location'], `${fhirBase}/Observation/a1/_history/1`);
  await s.app.close();
});

test('search by GET and by POST _search (form merged with the query) answers a searchset', async () => {
  const s = await setup();
  await create(s, observation);
  await create(s, { ...observation, status: 'amended' });
  const get = await s.app.inject({
    method: 'GET',
    url: '/fhir/Observation?status=final&_count=5',
    headers: s.auth,
  });
  assert.equal(get.statusCode, 200, get.body);
  assert.equal(get.headers['content-type'], fhirJson);
  const bundle = get.json<Bundle>();
  assert.equal(bundle.type, 'searchset');
  assert.equal(bundle.total, 1);
  assert.deepEqual((s.service.calls.at(-1)!.request as { params: unknown }).params, {
    status: ['final'],
    _count: ['5'],
  });

  const post = await s.app.inject({
    method: 'POST',
    url: '/fhir/Observation/_search?_count=5',
    headers: { ...s.auth, 'content-type': 'application/x-www-form-urlencoded' },
    // Repeats stay repeats (FHIR ANDs them); commas are the service's to split (OR).
    payload: 'status=final,amended&code=8867-4&code=http%3A%2F%2Floinc.org%7C8867-4',
  });
  assert.equal(post.statusCode, 200, post.body);
  assert.equal(post.json<Bundle>().total, 2);
  assert.deepEqual((s.service.calls.at(-1)!.request as { params: unknown }).params, {
    _count: ['5'],
    status: ['final,amended'],
    code: ['8867-4', 'http://loinc.org|8867-4'],
  });

  const empty = await s.app.inject({
    method: 'POST',
    url: '/fhir/Observation/_search',
    headers: s.auth,
  });
  assert.equal(empty.statusCode, 200, empty.body);
  assert.equal(empty.json<Bundle>().total, 2);

  assertOutcome(
    await s.app.inject({
      method: 'POST',
      url: '/fhir/Observation/_search',
      headers: { ...s.auth, 'content-type': 'application/fhir+json' },
      payload: '{}',
    }),
    415,
    'not-supported',
    /form-urlencoded/,
  );
  // A parameter the type does not have is the service's 400, not a rejection.
  assertOutcome(
    await s.app.inject({ method: 'GET', url: '/fhir/Observation?colour=red', headers: s.auth }),
    400,
    'invalid',
  );
  await s.app.close();
});

test('transaction: POST /fhir with a Bundle answers a transaction-response; a batch a batch-response', async () => {
  const s = await setup();
  const patientUrn = 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a';
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: patientUrn,
        resource: { resourceType: 'Patient', name: [{ family: 'Test' }] },
        request: { method: 'POST', url: 'Patient' },
      },
      {
        resource: { ...observation, subject: { reference: patientUrn } },
        request: { method: 'POST', url: 'Observation' },
      },
    ],
  };
  const post = (body: unknown) =>
    s.app.inject({
      method: 'POST',
      url: '/fhir',
      headers: { ...s.auth, 'content-type': 'application/fhir+json' },
      payload: JSON.stringify(body),
    });
  const response = await post(bundle);
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['content-type'], fhirJson);
  const answer = response.json<Bundle>();
  assert.equal(answer.type, 'transaction-response');
  assert.deepEqual(
    answer.entry?.map((entry) => entry.response?.status),
    ['201 Created', '201 Created'],
  );
  const observationId = answer.entry[1]!.resource!.id!;
  const patientId = answer.entry[0]!.resource!.id!;
  const read = await s.app.inject({
    method: 'GET',
    url: `/fhir/Observation/${observationId}`,
    headers: s.auth,
  });
  assert.equal(
    read.json<{ subject: { reference: string } }>().subject.reference,
    `Patient/${patientId}`,
  );

  // A batch reaches the service: its entries are independent, so the Observation that refers to
  // the Patient entry's urn:uuid fails alone, with its outcome, and the Patient is created.
  const batch = await post({ ...bundle, type: 'batch' });
  assert.equal(batch.statusCode, 200, batch.body);
  const batchAnswer = batch.json<Bundle>();
  assert.equal(batchAnswer.type, 'batch-response');
  assert.deepEqual(
    batchAnswer.entry?.map((entry) => entry.response?.status),
    ['201 Created', '400 Bad Request'],
  );
  assert.match(
    batchAnswer.entry?.[1]?.response?.outcome?.issue[0]?.diagnostics ?? '',
    /no urn:uuid reference between the entries of a batch/,
  );
  assert.equal(batchAnswer.entry?.[0]?.response?.outcome, undefined);
  assertOutcome(
    await post({ ...bundle, type: 'collection' }),
    400,
    'invalid',
    /transaction or batch, found "collection"/,
  );
  assertOutcome(await post(observation), 400, 'invalid', /Bundle/);
  assertOutcome(await post([1, 2]), 400, 'structure');
  assert.equal(s.service.rejections.length, 3);
  assertRejected(s.service, {
    method: 'POST',
    path: '',
    status: 400,
    code: 'structure',
    withToken: true,
  });
  await s.app.close();
});

test('no, malformed, expired, tampered or foreign tokens are 401 with WWW-Authenticate, and audited', async () => {
  const s = await setup();
  const read = (authorization?: string) =>
    s.app.inject({
      method: 'GET',
      url: '/fhir/Observation/m1?x=1',
      headers: authorization === undefined ? {} : { authorization },
    });

  const missing = await read();
  assertOutcome(missing, 401, 'login', /no bearer token/);
  assert.equal(missing.headers['www-authenticate'], `Bearer realm="${realm}"`);
  assertRejected(s.service, {
    method: 'GET',
    path: 'Observation/m1',
    status: 401,
    code: 'login',
    withToken: false,
  });
  assertOutcome(await read('Basic dXNlcjpwYXNz'), 401, 'login');
  assertOutcome(await read('Bearer'), 401, 'login');

  const garbage = await read('Bearer not-a-token');
  assertOutcome(garbage, 401, 'login');
  assert.match(String(garbage.headers['www-authenticate']), /error="invalid_token"/);

  const expired = await read(`Bearer ${await tokenFor({ now: nowMs - 2 * 60 * 60 * 1000 })}`);
  assertOutcome(expired, 401, 'expired', /expired/);
  assert.match(String(expired.headers['www-authenticate']), /error="invalid_token"/);
  assertRejected(s.service, {
    method: 'GET',
    path: 'Observation/m1',
    status: 401,
    code: 'expired',
    withToken: false,
  });

  // A payload changed after signing: the signature no longer verifies.
  const [header, payload, signature] = s.token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
    scope: string;
  };
  const forged = Buffer.from(JSON.stringify({ ...claims, scope: 'user/*.cruds openid' })).toString(
    'base64url',
  );
  const tampered = await read(`Bearer ${header}.${forged}.${signature}`);
  assertOutcome(tampered, 401, 'login', /signature/);

  const otherKey = await loadOrCreateTokenSigningKey({ path: join(keyDirectory, 'other.key') });
  const stranger = await tokenFor({ signer: { ...signer, signingKey: otherKey } });
  assertOutcome(await read(`Bearer ${stranger}`), 401, 'login');
  const elsewhere = await tokenFor({ signer: { ...signer, audience: 'https://other/fhir' } });
  assertOutcome(await read(`Bearer ${elsewhere}`), 401, 'login', /audience/);

  assert.equal(s.service.calls.length, 0, 'nothing reached the service');
  assert.equal(s.service.rejections.length, 8);
  assert.doesNotMatch(JSON.stringify(s.service.rejections), /eyJ/, 'no token in the audit');
  await s.app.close();
});

test('too little scope is the service 403 with an insufficient_scope challenge', async () => {
  const s = await setup();
  const readOnly = await tokenFor({ scopes: 'user/Observation.rs' });
  const response = await create(s, observation, { authorization: `Bearer ${readOnly}` });
  assertOutcome(response, 403, 'forbidden', /Observation\.c/);
  assert.match(String(response.headers['www-authenticate']), /error="insufficient_scope"/);
  assert.match(String(response.headers['www-authenticate']), /scope="user\/Observation\.c"/);
  assert.equal(s.service.calls.length, 1, 'the service decided');
  assert.equal(s.service.rejections.length, 0, 'and audits it itself');
  await s.app.close();
});

test('bodies: wrong media type 415, bad JSON 400, too large 413, type mismatch 400 — all audited', async () => {
  const s = await setup();
  assertOutcome(
    await create(s, observation, { 'content-type': 'text/plain' }),
    415,
    'not-supported',
    /application\/fhir\+json/,
  );
  assertRejected(s.service, {
    method: 'POST',
    path: 'Observation',
    status: 415,
    code: 'not-supported',
    withToken: true,
  });
  assertOutcome(
    await create(s, '<Observation/>', { 'content-type': 'application/fhir+xml' }),
    415,
    'not-supported',
  );
  assertOutcome(
    await create(s, 'status=final', { 'content-type': 'application/x-www-form-urlencoded' }),
    415,
    'not-supported',
  );
  assertOutcome(
    await create(s, observation, { 'content-type': 'application/fhir+json; charset=iso-8859-1' }),
    415,
    'not-supported',
    /UTF-8/,
  );

  assertOutcome(await create(s, '{"resourceType": "Observation",'), 400, 'structure', /parse/);
  assertRejected(s.service, {
    method: 'POST',
    path: 'Observation',
    status: 400,
    code: 'structure',
    withToken: true,
  });
  assertOutcome(await create(s, ''), 400, 'structure');
  assertOutcome(await create(s, '['.repeat(100) + ']'.repeat(100)), 400, 'structure', /nested/);
  const noBody = await s.app.inject({
    method: 'POST',
    url: '/fhir/Observation',
    headers: s.auth,
  });
  assertOutcome(noBody, 400, 'required', /no body/);

  const huge = JSON.stringify({
    ...observation,
    note: [{ text: 'x'.repeat(apiLimits.fhirBodyBytesMax) }],
  });
  const tooLarge = await create(s, huge);
  assertOutcome(tooLarge, 413, 'too-long', new RegExp(String(apiLimits.fhirBodyBytesMax)));
  assertRejected(s.service, {
    method: 'POST',
    path: 'Observation',
    status: 413,
    code: 'too-long',
    withToken: true,
  });

  assertOutcome(
    await create(s, { ...observation, resourceType: 'Condition' }),
    400,
    'invalid',
    /expected resourceType Observation/,
  );
  assertOutcome(await create(s, { ...observation, status: 'nonsense' }), 400, 'value');
  assert.equal(s.service.calls.length, 0, 'nothing reached the service');
  assert.equal(s.service.rejections.length, 11);
  await s.app.close();
});

test('an unauthenticated body is refused before it is read', async () => {
  const s = await setup();
  const huge = 'x'.repeat(apiLimits.fhirBodyBytesMax + 1);
  const response = await s.app.inject({
    method: 'POST',
    url: '/fhir/Observation',
    headers: { 'content-type': 'application/fhir+json' },
    payload: huge,
  });
  assertOutcome(response, 401, 'login');
  await s.app.close();
});

test('_format and Accept: JSON is served, XML is refused with 406', async () => {
  const s = await setup();
  await create(s, observation);
  const read = (query: string, headers: Record<string, string> = {}) =>
    s.app.inject({
      method: 'GET',
      url: `/fhir/Observation/m1${query}`,
      headers: { ...s.auth, ...headers },
    });
  assert.equal((await read('?_format=application/fhir%2Bjson')).statusCode, 200);
  assert.equal((await read('', { accept: 'application/fhir+json' })).statusCode, 200);
  assert.equal(
    (await read('', { accept: 'text/html,application/xml;q=0.9,*/*;q=0.8' })).statusCode,
    200,
  );
  const pretty = await read('?_pretty=true');
  assert.match(pretty.body, /\n {2}"resourceType"/);
  assertOutcome(await read('?_format=xml'), 406, 'not-supported', /JSON only/);
  assertOutcome(await read('?_format=application/fhir%2Bxml'), 406, 'not-supported');
  assertOutcome(await read('', { accept: 'application/fhir+xml' }), 406, 'not-supported');
  assertOutcome(
    await read('', { accept: 'application/fhir+xml, application/json;q=0' }),
    406,
    'not-supported',
  );
  assert.equal(s.service.calls.length, 5);
  await s.app.close();
});

test('PATCH is 405 with Allow; unknown paths and types under /fhir are 404 OperationOutcomes', async () => {
  const s = await setup();
  const patch = await s.app.inject({
    method: 'PATCH',
    url: '/fhir/Observation/m1',
    headers: { ...s.auth, 'content-type': 'application/json-patch+json' },
    payload: '[{"op":"remove","path":"/status"}]',
  });
  assertOutcome(patch, 405, 'not-supported', /PATCH is not supported/);
  assert.equal(patch.headers['allow'], 'GET, PUT, DELETE');
  assertRejected(s.service, {
    method: 'PATCH',
    path: 'Observation/m1',
    status: 405,
    code: 'not-supported',
    withToken: false,
  });

  for (const url of [
    '/fhir/Observation/m1/extra/path/here',
    '/fhir',
    '/fhir/',
    '/fhir/observation',
    '/fhir/Medication',
    '/fhir/Observation/_history',
    '/fhir/Patient/p1/$summary',
  ]) {
    assertOutcome(await s.app.inject({ method: 'GET', url, headers: s.auth }), 404, 'not-found');
  }
  assertRejected(s.service, {
    method: 'GET',
    path: 'Patient/p1/$summary',
    status: 404,
    code: 'not-found',
    withToken: false,
  });
  assertOutcome(
    await s.app.inject({ method: 'GET', url: '/fhir/Observation/a_b', headers: s.auth }),
    400,
    'value',
    /id: expected a FHIR id/,
  );
  assert.equal(s.service.calls.length, 0);

  // A URL fastify cannot decode is refused before routing, still as an audited outcome.
  assertOutcome(
    await s.app.inject({ method: 'GET', url: '/fhir/Observation/%zz', headers: s.auth }),
    400,
    'invalid',
    /percent-encoding/,
  );
  assertRejected(s.service, {
    method: 'GET',
    path: 'Observation/%zz',
    status: 400,
    code: 'invalid',
    withToken: false,
  });

  // Outside /fhir the API keeps its JSON errors.
  const elsewhere = await s.app.inject({ method: 'GET', url: '/nothing' });
  assert.equal(elsewhere.statusCode, 404);
  assert.equal(elsewhere.json<{ error: { code: string } }>().error.code, 'not-found');
  const badUrl = await s.app.inject({ method: 'GET', url: '/chain/blocks/%zz' });
  assert.equal(badUrl.statusCode, 400);
  assert.equal(badUrl.json<{ error: { code: string } }>().error.code, 'bad-request');
  const health = await s.app.inject({ method: 'GET', url: '/health' });
  assert.equal(health.statusCode, 200);
  await s.app.close();
});

test('an internal failure of the service is a 500 exception that leaks nothing', async () => {
  const s = await setup();
  s.service.failure = new Error('sqlite at /var/lib/medledger/secret.db: patient Jane Roe');
  const response = await s.app.inject({
    method: 'GET',
    url: '/fhir/Observation?status=final',
    headers: s.auth,
  });
  assertOutcome(response, 500, 'exception', /^internal error$/);
  assert.doesNotMatch(response.body, /secret|Jane|sqlite/);
  assert.equal(s.service.rejections.length, 0, 'the service saw it (and audits it)');
  await s.app.close();
});

test('X-MedLedger-Transaction on a Consent write reaches the service as bytes; malformed is 400', async () => {
  const s = await setup();
  const consent = {
    resourceType: 'Consent',
    status: 'active',
    scope: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' },
      ],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: 'Patient/pat-1' },
    policyRule: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }],
    },
  };
  const signed = new Uint8Array([0x84, 0x00, 0xff, 0x10, 0x20, 0xfe]);
  const post = (header: string | undefined, type = 'Consent', body: unknown = consent) =>
    s.app.inject({
      method: 'POST',
      url: `/fhir/${type}`,
      headers: {
        ...s.auth,
        'content-type': 'application/fhir+json',
        ...(header === undefined ? {} : { 'x-medledger-transaction': header }),
      },
      payload: JSON.stringify(body),
    });
  const accepted = await post(Buffer.from(signed).toString('base64url'));
  assert.equal(accepted.statusCode, 201, accepted.body);
  const request = s.service.calls.at(-1)!.request as { signedTransaction: Uint8Array | null };
  assert.deepEqual(request.signedTransaction, signed);

  const none = await post(undefined);
  assert.equal(none.statusCode, 201, none.body);
  assert.equal(
    (s.service.calls.at(-1)!.request as { signedTransaction: unknown }).signedTransaction,
    null,
  );

  for (const bad of ['not base64!', 'hB', 'hAD/', 'hAD+', 'abcde']) {
    assertOutcome(await post(bad), 400, 'value', /X-MedLedger-Transaction/);
  }
  assertRejected(s.service, {
    method: 'POST',
    path: 'Consent',
    status: 400,
    code: 'value',
    withToken: true,
  });
  const oversized = Buffer.alloc(apiLimits.fhirSignedTransactionBytesMax + 1).toString('base64url');
  assertOutcome(await post(oversized), 400, 'value', /at most \d+ bytes/);

  // Other types ignore the header: it carries consent transactions only.
  const ignored = await post('not base64!', 'Observation', observation);
  assert.equal(ignored.statusCode, 201, ignored.body);
  await s.app.close();
});

test('MedLedger operations: Patient/$shared, Patient/{id}/$everything, closing a break-glass review', async () => {
  const s = await setup();
  const get = (url: string, auth = s.auth) => s.app.inject({ method: 'GET', url, headers: auth });
  const shared = await get('/fhir/Patient/$shared');
  assert.equal(shared.statusCode, 200, shared.body);
  assert.equal(shared.json<Bundle>().type, 'searchset');
  assert.equal(s.service.calls.at(-1)!.interaction, 'shared-patients');
  assertOutcome(await get('/fhir/Patient/$shared', {} as typeof s.auth), 401, 'login');

  const everything = await get('/fhir/Patient/pat-1/$everything');
  assert.equal(everything.statusCode, 200, everything.body);
  assert.deepEqual(s.service.calls.at(-1)!.request, { id: 'pat-1' });
  assertOutcome(await get('/fhir/Patient/not%20an%20id/$everything'), 400, 'value', /id/);

  const signed = new Uint8Array([0x84, 0x01, 0x02, 0xfe]);
  const close = (header: string | undefined) =>
    s.app.inject({
      method: 'POST',
      url: '/fhir/$break-glass-review',
      headers: {
        ...s.auth,
        ...(header === undefined ? {} : { 'x-medledger-transaction': header }),
      },
    });
  const closed = await close(Buffer.from(signed).toString('base64url'));
  assert.equal(closed.statusCode, 200, closed.body);
  assert.equal(closed.json<OperationOutcome>().resourceType, 'OperationOutcome');
  assert.equal(s.service.calls.at(-1)!.interaction, 'close-break-glass-review');
  assert.deepEqual(
    (s.service.calls.at(-1)!.request as { signedTransaction: Uint8Array }).signedTransaction,
    signed,
  );
  const none = await close(undefined);
  assert.equal(none.statusCode, 200, none.body);
  assert.equal(
    (s.service.calls.at(-1)!.request as { signedTransaction: unknown }).signedTransaction,
    null,
  );
  assertOutcome(await close('not base64!'), 400, 'value', /X-MedLedger-Transaction/);
  assertRejected(s.service, {
    method: 'POST',
    path: '$break-glass-review',
    status: 400,
    code: 'value',
    withToken: true,
  });
  await s.app.close();
});

test('the base URL is the public one, never the Host header', async () => {
  const s = await setup();
  const response = await create(s, observation, { host: 'evil.example' });
  assert.equal(response.statusCode, 201);
  assert.equal(response.headers['location'], `${fhirBase}/Observation/m1/_history/1`);
  await s.app.close();
  await assert.rejects(
    buildApiServer({
      node: new MemoryNode({ chainId: 'x', keyPair: generateEd25519KeyPair() }),
      logger: silent,
      fhir: {
        service: new MemoryFhirService(),
        tokens: verifierFor(() => fhirBase),
        realm,
        publicBaseUrl: 'ftp://ehr.example/fhir',
      },
    }),
    /publicBaseUrl: expected http or https/,
  );
});

/**
 * The API on a real socket at 127.0.0.1 with no publicBaseUrl (the base is the address the
 * connection arrived on), and a token for that base.
 */
async function listenOnSocket(chainId: string) {
  const node = new MemoryNode({ chainId, keyPair: generateEd25519KeyPair() });
  const service = new MemoryFhirService();
  let listeningBase = '';
  const server = await startApiServer({
    node,
    host: '127.0.0.1',
    port: 0,
    logger: silent,
    fhir: { service, tokens: verifierFor(() => listeningBase), realm },
  });
  listeningBase = `http://127.0.0.1:${server.address.port}/fhir`;
  const token = await tokenFor({ signer: { ...signer, audience: listeningBase } });
  return { service, server, listeningBase, token };
}

test('over a real socket: fhir-kit-client creates, reads and searches; Host cannot move the base', async () => {
  const { service, server, listeningBase, token } = await listenOnSocket('fhir-socket');
  try {
    const client = new Client({
      baseUrl: listeningBase,
      customHeaders: { Authorization: `Bearer ${token}` },
    });

    const statement = (await client.capabilityStatement()) as unknown as { fhirVersion: string };
    assert.equal(statement.fhirVersion, '4.0.1');
    const created = (await client.create({
      resourceType: 'Observation',
      body: observation,
    })) as unknown as Resource;
    assert.equal(created.id, 'm1');
    assert.equal(created.meta?.versionId, '1');
    const read = (await client.read({ resourceType: 'Observation', id: 'm1' })) as Resource;
    assert.deepEqual(read, created);
    const found = (await client.search({
      resourceType: 'Observation',
      searchParams: { status: 'final' },
    })) as unknown as Bundle;
    assert.equal(found.type, 'searchset');
    assert.equal(found.total, 1);
    assert.equal(found.entry?.[0]?.fullUrl, `${listeningBase}/Observation/m1`);
    const posted = (await client.search({
      resourceType: 'Observation',
      searchParams: { status: 'final' },
      options: { postSearch: true },
    })) as unknown as Bundle;
    assert.equal(posted.total, 1);
    await assert.rejects(
      client.read({ resourceType: 'Observation', id: 'missing' }),
      (error: { response?: { status: number; data: OperationOutcome } }) =>
        error.response?.status === 404 && error.response.data.resourceType === 'OperationOutcome',
    );

    // A spoofed Host header does not change where Location points.
    const answer = await new Promise<{ status: number; location: string | undefined }>(
      (resolve, reject) => {
        const request = httpRequest(
          {
            host: '127.0.0.1',
            port: server.address.port,
            method: 'POST',
            path: '/fhir/Observation',
            headers: {
              host: 'evil.example',
              authorization: `Bearer ${token}`,
              'content-type': 'application/fhir+json',
            },
          },
          (response) => {
            response.resume();
            response.on('end', () =>
              resolve({
                status: response.statusCode ?? 0,
                location: response.headers.location,
              }),
            );
          },
        );
        request.on('error', reject);
        request.end(JSON.stringify(observation));
      },
    );
    assert.equal(answer.status, 201);
    assert.equal(answer.location, `${listeningBase}/Observation/m2/_history/1`);
    assert.equal(service.calls.at(-1)!.context.baseUrl, listeningBase);
  } finally {
    await server.close();
  }
});

test('a 503 of the service carries Retry-After when it says when to retry, and only then', async () => {
  const s = await setup();
  const read = () => s.app.inject({ method: 'GET', url: '/fhir/Observation/o-1', headers: s.auth });
  s.service.failure = new FhirError('transient', 'the custodian org-b did not answer', {
    status: 503,
    details: { retryAfterSeconds: 5 },
  });
  const busy = await read();
  assertOutcome(busy, 503, 'transient', /did not answer/);
  assert.equal(busy.headers['retry-after'], '5');
  // Twins: no delay given, or one that is not a positive whole number of seconds: no header.
  for (const details of [{}, { retryAfterSeconds: 0 }, { retryAfterSeconds: 2.5 }]) {
    s.service.failure = new FhirError('transient', 'the custodian org-b did not answer', {
      status: 503,
      details,
    });
    const answer = await read();
    assertOutcome(answer, 503, 'transient');
    assert.equal(answer.headers['retry-after'], undefined, JSON.stringify(details));
  }
  await s.app.close();
});

test('$notifications over a real socket: events reach the client; leaving or closing the server unsubscribes', async () => {
  const { service, server, listeningBase, token } = await listenOnSocket('fhir-notify');
  const waitFor = async (condition: () => boolean, what: string) => {
    for (let attempt = 0; attempt < 100 && !condition(); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(condition(), what);
  };
  const listen = () =>
    fetch(`${listeningBase}/$notifications`, { headers: { authorization: `Bearer ${token}` } });
  try {
    const refused = await fetch(`${listeningBase}/$notifications`);
    assert.equal(refused.status, 401, 'no token, no stream');
    await refused.text();

    const first = await listen();
    assert.equal(first.status, 200);
    assert.match(first.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.ok(first.headers.get('x-request-id'));
    await waitFor(() => service.notificationListeners.size === 1, 'subscribed');
    // Still subscribed a while later: the request having been read does not end the stream.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(service.notificationListeners.size, 1);
    const notification = {
      type: 'access.break-glass-opened',
      height: 7,
      time: nowMs,
      attributes: { patientId: 'pat-1', practitionerId: 'dr-erin' },
    };
    service.notify(notification);
    const reader = first.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!/event: [^]*\n\n/.test(text)) {
      const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    assert.match(text, /event: access\.break-glass-opened\ndata: (.+)\n\n/);
    assert.deepEqual(JSON.parse(/data: (.+)\n\n/.exec(text)![1]!), notification);
    await reader.cancel();
    await waitFor(
      () => service.notificationListeners.size === 0,
      'a client that leaves is unsubscribed',
    );

    const second = await listen();
    assert.equal(second.status, 200);
    await waitFor(() => service.notificationListeners.size === 1, 'subscribed again');
    await server.close();
    assert.equal(service.notificationListeners.size, 0, 'closing the server unsubscribes');
    assert.equal(await second.text(), ': subscribed\n\n');
  } finally {
    await server.close();
  }
});
