// Checks FhirError and OperationOutcome: each error kind gets the HTTP status and IssueType of
// CONVENTIONS.md, disallowed pairs are refused, and unknown exceptions are normalised without leaks.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AssertionFailedError, MedLedgerError } from '../../src/base/index.ts';
import {
  FhirError,
  fhirIssueTypesOfStatus,
  informationOutcome,
  operationOutcome,
  outcomeOfError,
  preconditionFailed,
  suppressedIssue,
} from '../../src/fhir/index.ts';
import type { FhirErrorStatus, FhirIssueType } from '../../src/fhir/index.ts';

const conventions: Array<[FhirIssueType, FhirErrorStatus]> = [
  ['invalid', 400],
  ['structure', 400],
  ['required', 400],
  ['value', 400],
  ['login', 401],
  ['expired', 401],
  ['forbidden', 403],
  ['not-found', 404],
  ['conflict', 409],
  ['deleted', 410],
  ['business-rule', 422],
  ['throttled', 429],
  ['exception', 500],
];

test('each IssueType gets the status CONVENTIONS.md maps it to, in an OperationOutcome', () => {
  for (const [code, status] of conventions) {
    const error = new FhirError(code, `expected x, found y (${code})`);
    assert.ok(error instanceof MedLedgerError);
    assert.equal(error.status, status, code);
    assert.equal(error.code, code);
    const outcome = error.toOperationOutcome();
    assert.equal(outcome.resourceType, 'OperationOutcome');
    assert.equal(outcome.issue[0]!.code, code);
    assert.equal(outcome.issue[0]!.severity, status === 500 ? 'fatal' : 'error');
    assert.equal(outcome.issue[0]!.diagnostics, `expected x, found y (${code})`);
    assert.deepEqual(outcomeOfError(error), { status, outcome });
  }
});

test('412 is conflict; a status with an IssueType it does not allow is a programmer error', () => {
  const error = preconditionFailed('expected version 2, found 3');
  assert.equal(error.status, 412);
  assert.equal(error.code, 'conflict');
  assert.throws(() => new FhirError('forbidden', 'x', { status: 404 }), AssertionFailedError);
  assert.throws(() => new FhirError('invalid', 'x', { status: 412 }), AssertionFailedError);
  for (const [status, codes] of Object.entries(fhirIssueTypesOfStatus)) {
    for (const code of codes) {
      assert.equal(
        new FhirError(code, 'x', { status: Number(status) as FhirErrorStatus }).status,
        Number(status),
      );
    }
  }
});

test('unknown exceptions become 500 exception with no message or stack', () => {
  const secret = new Error('database password is hunter2 at /srv/db');
  for (const thrown of [
    secret,
    'a string',
    { stack: 'x' },
    null,
    new MedLedgerError('x', 'inner detail'),
  ]) {
    const { status, outcome } = outcomeOfError(thrown);
    assert.equal(status, 500);
    assert.equal(outcome.issue.length, 1);
    assert.equal(outcome.issue[0]!.code, 'exception');
    const text = JSON.stringify(outcome);
    assert.ok(
      !text.includes('hunter2') && !text.includes('inner detail') && !text.includes('stack'),
    );
  }
});

test('expressions, extra issues, information and suppressed outcomes', () => {
  const error = new FhirError('value', 'bad status', {
    expression: ['Observation.status'],
    issues: [{ severity: 'error', code: 'value', diagnostics: 'bad comparator' }],
  });
  const outcome = error.toOperationOutcome();
  assert.deepEqual(outcome.issue[0]!.expression, ['Observation.status']);
  assert.equal(outcome.issue.length, 2);
  assert.equal(informationOutcome('deleted').issue[0]!.severity, 'information');
  const suppressed = suppressedIssue();
  assert.equal(suppressed.code, 'suppressed');
  assert.equal(suppressed.severity, 'information');
  assert.doesNotMatch(suppressed.diagnostics!, /\d/);
  assert.throws(() => operationOutcome([]), AssertionFailedError);
});
