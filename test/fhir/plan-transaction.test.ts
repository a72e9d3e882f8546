// Checks transaction planning: urn:uuid references rewritten in every reference field, the R4
// processing order, all-or-nothing refusal with every problem listed, the response Bundle, and
// conditional create (If-None-Exist) parsing and outcomes; batch Bundles planned entry by entry.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Bundle, Resource } from '@medplum/fhirtypes';

import {
  FhirError,
  batchResponseBundle,
  decideConditionalCreate,
  parseIfNoneExist,
  planBatch,
  planTransaction,
  transactionResponseBundle,
} from '../../src/fhir/index.ts';

const patientUrn = 'urn:uuid:0f3c3a52-1b6e-4f0e-9d6a-6d2b1b1c0a01';
const encounterUrn = 'urn:uuid:0f3c3a52-1b6e-4f0e-9d6a-6d2b1b1c0a02';

function counter(): { newId: () => string; calls: () => number } {
  let next = 0;
  return { newId: () => `new-${(next += 1)}`, calls: () => next };
}

function transaction(): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: encounterUrn,
        resource: {
          resourceType: 'Encounter',
          status: 'finished',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
          subject: { reference: patientUrn },
        },
        request: { method: 'POST', url: 'Encounter' },
      },
      {
        fullUrl: patientUrn,
        resource: { resourceType: 'Patient', gender: 'female' },
        request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:oid:1|42' },
      },
      {
        resource: {
          resourceType: 'Observation',
          id: 'o1',
          status: 'final',
          code: { text: 'pulse' },
          subject: { reference: patientUrn },
          encounter: { reference: encounterUrn },
          hasMember: [{ reference: 'Observation/other' }],
        },
        request: { method: 'PUT', url: 'Observation/o1', ifMatch: 'W/"2"' },
      },
      { request: { method: 'DELETE', url: 'Condition/c9' } },
      { request: { method: 'GET', url: 'Observation?subject=Patient/7&_count=5' } },
      { request: { method: 'GET', url: 'Patient/7/_history/3' } },
    ],
  };
}

test('creates get new ids, urn:uuid references become Type/id, operations follow R4 order', () => {
  const ids = counter();
  const plan = planTransaction(transaction(), { newId: ids.newId });
  assert.deepEqual(
    plan.operations.map((operation) => [operation.kind, operation.entryIndex]),
    [
      ['delete', 3],
      ['create', 0],
      ['create', 1],
      ['update', 2],
      ['search', 4],
      ['read', 5],
    ],
  );
  assert.deepEqual(
    [...plan.references.entries()],
    [
      [encounterUrn, 'Encounter/new-1'],
      [patientUrn, 'Patient/new-2'],
    ],
  );
  const encounter = plan.operations.find((op) => op.kind === 'create' && op.type === 'Encounter');
  assert.ok(encounter?.kind === 'create');
  assert.equal(encounter.id, 'new-1');
  assert.equal(encounter.resource.id, 'new-1');
  assert.deepEqual((encounter.resource as Resource & { subject: unknown }).subject, {
    reference: 'Patient/new-2',
  });
  const update = plan.operations.find((op) => op.kind === 'update');
  assert.ok(update?.kind === 'update');
  assert.equal(update.ifMatch, '2');
  const observation = update.resource as Resource & {
    subject: unknown;
    encounter: unknown;
    hasMember: unknown;
  };
  assert.deepEqual(observation.subject, { reference: 'Patient/new-2' });
  assert.deepEqual(observation.encounter, { reference: 'Encounter/new-1' });
  assert.deepEqual(observation.hasMember, [{ reference: 'Observation/other' }]);
  const patient = plan.operations.find((op) => op.kind === 'create' && op.type === 'Patient');
  assert.ok(patient?.kind === 'create');
  assert.equal(patient.ifNoneExist?.filters[0]?.parameter.code, 'identifier');
  const read = plan.operations.find((op) => op.kind === 'read');
  assert.ok(read?.kind === 'read');
  assert.equal(read.versionId, '3');
  const search = plan.operations.find((op) => op.kind === 'search');
  assert.ok(search?.kind === 'search');
  assert.equal(search.request.count, 5);
  // The input Bundle is not changed.
  assert.equal(transaction().entry?.[0]?.resource?.id, undefined);
});

function refusedIssues(bundle: unknown): string[] {
  const ids = counter();
  try {
    planTransaction(bundle, { newId: ids.newId });
  } catch (error) {
    assert.ok(error instanceof FhirError);
    assert.equal(error.status, 400);
    assert.equal(ids.calls(), 0, 'a refused Bundle draws no ids');
    return error.toOperationOutcome().issue.map((issue) => issue.diagnostics ?? '');
  }
  assert.fail('expected the transaction to be refused');
}

test('one bad entry refuses the whole Bundle and every problem is listed', () => {
  const bundle = transaction();
  (bundle.entry![1]!.resource as { gender: string }).gender = 'mail';
  bundle.entry![3]!.request!.url = 'Condition/bad id';
  const issues = refusedIssues(bundle);
  assert.equal(issues.length, 2);
  assert.match(issues[0]!, /nothing was done.*administrative-gender/);
  assert.match(issues[1]!, /Condition\/bad id/);
  // Its valid twin is accepted.
  assert.equal(planTransaction(transaction(), counter()).operations.length, 6);
});

test('each kind of malformed transaction is refused', () => {
  const dangling = transaction();
  (dangling.entry![2]!.resource as { subject: unknown }).subject = {
    reference: 'urn:uuid:0f3c3a52-1b6e-4f0e-9d6a-6d2b1b1c0aff',
  };
  assert.match(refusedIssues(dangling)[0]!, /fullUrl of an entry/);
  const twice = transaction();
  twice.entry!.push({ request: { method: 'DELETE', url: 'Observation/o1' } });
  assert.match(refusedIssues(twice)[0]!, /once in a transaction/);
  const mismatch = transaction();
  mismatch.entry![2]!.request!.url = 'Observation/o2';
  assert.match(refusedIssues(mismatch)[0]!, /resource.id o2/);
  const wrongType = transaction();
  wrongType.entry![0]!.request!.url = 'Patient';
  assert.match(refusedIssues(wrongType)[0]!, /resourceType Patient/);
  const patch = transaction();
  patch.entry![3]!.request!.method = 'PATCH';
  assert.match(refusedIssues(patch)[0]!, /POST, PUT, DELETE or GET/);
  const conditional = transaction();
  conditional.entry![3]!.request!.url = 'Condition?code=1';
  assert.match(refusedIssues(conditional)[0]!, /conditional delete/);
  const duplicateUrn = transaction();
  duplicateUrn.entry![1]!.fullUrl = encounterUrn;
  assert.match(refusedIssues(duplicateUrn)[0]!, /once, found it again/);
  assert.throws(
    () => planTransaction({ resourceType: 'Bundle', type: 'batch', entry: [] }, counter()),
    /transaction/,
  );
  assert.throws(() => planTransaction({ resourceType: 'Patient' }, counter()), FhirError);
});

test('the transaction-response Bundle answers entries in request order', () => {
  const bundle = transactionResponseBundle([
    { entryIndex: 1, status: 201, location: 'Patient/new-2/_history/1', etag: 'W/"1"' },
    {
      entryIndex: 0,
      status: 201,
      location: 'Encounter/new-1/_history/1',
      lastModified: '2024-05-01T10:00:00Z',
    },
    { entryIndex: 2, status: 200 },
    { entryIndex: 3, status: 204 },
  ]);
  assert.equal(bundle.type, 'transaction-response');
  assert.deepEqual(
    bundle.entry?.map((entry) => entry.response?.status),
    ['201 Created', '201 Created', '200 OK', '204 No Content'],
  );
  assert.equal(bundle.entry?.[0]?.response?.location, 'Encounter/new-1/_history/1');
  assert.equal(bundle.entry?.[1]?.response?.etag, 'W/"1"');
});

test('the entry count is bounded by what one record.anchor-batch holds', () => {
  const many = (count: number): Bundle => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: Array.from({ length: count }, () => ({
      request: { method: 'GET' as const, url: 'Observation?code=1' },
    })),
  });
  assert.equal(planTransaction(many(256), counter()).operations.length, 256);
  assert.throws(
    () => planTransaction(many(257), counter()),
    (error: unknown) =>
      error instanceof FhirError &&
      /at most 256 entries in a transaction, found 257/.test(error.message),
  );
});

test('newId is told the type and resource of each create (a Patient keeps its pseudonym)', () => {
  const seen: string[] = [];
  const plan = planTransaction(transaction(), {
    newId: ({ type, resource }) => {
      seen.push(`${type}:${resource.resourceType}`);
      return type === 'Patient' ? 'pseudonym-1' : 'new-id';
    },
  });
  assert.deepEqual(seen, ['Encounter:Encounter', 'Patient:Patient']);
  assert.equal(plan.references.get(patientUrn), 'Patient/pseudonym-1');
});

function batch(): Bundle {
  return { ...transaction(), type: 'batch' };
}

test('a batch is planned entry by entry: a bad entry is refused alone, the others go on', () => {
  const bundle = batch();
  // Entry 0 refers to entry 1's urn:uuid: in a batch, entries are independent, so it is refused.
  (bundle.entry![1]!.resource as { gender: string }).gender = 'mail';
  const ids = counter();
  const plan = planBatch(bundle, { newId: ids.newId });
  assert.equal(plan.entryCount, 6);
  assert.deepEqual(
    plan.entries.map((entry) => [
      entry.entryIndex,
      'operation' in entry ? entry.operation.kind : entry.error.status,
    ]),
    [
      [0, 400],
      [1, 400],
      [2, 400],
      [3, 'delete'],
      [4, 'search'],
      [5, 'read'],
    ],
  );
  const messages = plan.entries.map((entry) => ('error' in entry ? entry.error.message : ''));
  assert.match(
    messages[0]!,
    /^entry refused: expected no urn:uuid reference between the entries of a batch/,
  );
  assert.match(messages[1]!, /administrative-gender/);
  assert.match(messages[2]!, /urn:uuid/);
  assert.deepEqual(
    plan.entries[1]!.entryIndex === 1 && 'error' in plan.entries[1]!
      ? plan.entries[1].error.issues[0]?.expression?.[0]?.startsWith('Bundle.entry[1]')
      : null,
    true,
    'the refused entry is named by its own index',
  );
  assert.equal(ids.calls(), 0, 'refused creates draw no ids');
  // The valid twin: independent creates in a batch are each planned with a new id.
  const independent: Bundle = {
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      {
        resource: { resourceType: 'Patient', gender: 'female' },
        request: { method: 'POST', url: 'Patient' },
      },
      {
        resource: { resourceType: 'Patient', gender: 'male' },
        request: { method: 'POST', url: 'Patient' },
      },
    ],
  };
  const planned = planBatch(independent, counter());
  assert.deepEqual(
    planned.entries.map((entry) =>
      'operation' in entry && entry.operation.kind === 'create' ? entry.operation.id : null,
    ),
    ['new-1', 'new-2'],
  );
  assert.throws(() => planBatch(transaction(), counter()), /type batch, found "transaction"/);
});

test('the batch-response Bundle carries each failed entry its status and OperationOutcome', () => {
  const outcome = new FhirError('forbidden', 'access denied', { status: 403 }).toOperationOutcome();
  const bundle = batchResponseBundle([
    { entryIndex: 1, status: 403, outcome },
    { entryIndex: 0, status: 201, location: 'Patient/p/_history/1', etag: 'W/"1"' },
  ]);
  assert.equal(bundle.type, 'batch-response');
  assert.deepEqual(
    bundle.entry?.map((entry) => entry.response?.status),
    ['201 Created', '403 Forbidden'],
  );
  assert.equal(bundle.entry?.[0]?.response?.outcome, undefined);
  assert.equal(bundle.entry?.[1]?.response?.outcome?.issue[0]?.diagnostics, 'access denied');
  assert.equal(bundle.entry?.[1]?.resource, undefined);
});

test('If-None-Exist parses to a search; none creates, one exists, several is 412', () => {
  const request = parseIfNoneExist({ type: 'Patient', header: 'identifier=urn:oid:1|42' });
  assert.equal(request.filters[0]?.values[0], 'urn:oid:1|42');
  assert.equal(
    parseIfNoneExist({ type: 'Patient', header: 'Patient?family=Smith' }).filters.length,
    1,
  );
  assert.throws(
    () => parseIfNoneExist({ type: 'Patient', header: 'Observation?code=1' }),
    /search Patient/,
  );
  assert.throws(() => parseIfNoneExist({ type: 'Patient', header: '' }), /search parameters/);
  assert.throws(
    () => parseIfNoneExist({ type: 'Patient', header: 'family=x&_sort=family' }),
    /search parameters/,
  );
  assert.throws(() => parseIfNoneExist({ type: 'Patient', header: 'shoe=1' }), /shoe/);
  assert.equal(decideConditionalCreate(0), 'create');
  assert.equal(decideConditionalCreate(1), 'exists');
  assert.throws(
    () => decideConditionalCreate(2),
    (error: unknown) =>
      error instanceof FhirError && error.status === 412 && error.code === 'conflict',
  );
});
