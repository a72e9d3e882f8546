// Checks transaction planning: urn:uuid references rewritten in every reference field, the R4
// processing order, all-or-nothing refusal with every problem listed, the response Bundle, and
// conditional create (If-None-Exist) parsing and outcomes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Bundle, Resource } from '@medplum/fhirtypes';

import {
  FhirError,
  decideConditionalCreate,
  parseIfNoneExist,
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
