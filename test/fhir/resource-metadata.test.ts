// Checks resource metadata helpers: server meta, ETags and If-Match (412), security labels,
// the patient a resource is about, history Bundles, and date ranges against Date.UTC (fast-check).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';
import type { Resource } from '@medplum/fhirtypes';

import {
  FhirError,
  actCodeSystem,
  assertIfMatch,
  confidentialitySystem,
  formatEtag,
  historyBundle,
  parseDateRange,
  parseEtag,
  patientReferenceOf,
  securityLabelsOf,
  versionLocation,
  withServerMeta,
} from '../../src/fhir/index.ts';

const labelled: Resource = {
  resourceType: 'Observation',
  id: 'client-chosen',
  status: 'final',
  code: { text: 'x' },
  meta: {
    versionId: '99',
    security: [
      { system: confidentialitySystem, code: 'R' },
      { system: actCodeSystem, code: 'PSY' },
      { system: actCodeSystem, code: 'HIV' },
      { system: actCodeSystem, code: '42CFRPart2' },
      { system: 'http://example.org/labels', code: 'local' },
    ],
  },
};

test('withServerMeta replaces id, versionId and lastUpdated and keeps the labels', () => {
  const stored = withServerMeta(labelled, {
    id: 'o1',
    versionId: '1',
    lastUpdated: '2024-05-01T10:00:00.123Z',
  });
  assert.equal(stored.id, 'o1');
  assert.equal(stored.meta?.versionId, '1');
  assert.equal(stored.meta?.lastUpdated, '2024-05-01T10:00:00.123Z');
  assert.equal(stored.meta?.security?.length, 5);
  assert.equal(labelled.id, 'client-chosen');
  assert.throws(
    () =>
      withServerMeta(labelled, { id: 'o 1', versionId: '1', lastUpdated: '2024-05-01T10:00:00Z' }),
    FhirError,
  );
  assert.throws(
    () => withServerMeta(labelled, { id: 'o1', versionId: '1', lastUpdated: '2024-05-01' }),
    /instant/,
  );
  assert.equal(
    versionLocation({
      baseUrl: 'https://n.example/fhir/',
      type: 'Observation',
      id: 'o1',
      versionId: '2',
    }),
    'https://n.example/fhir/Observation/o1/_history/2',
  );
});

test('ETags format as W/"n", parse weak or strong, and a mismatched If-Match is 412', () => {
  assert.equal(formatEtag('3'), 'W/"3"');
  assert.equal(parseEtag('W/"3"'), '3');
  assert.equal(parseEtag('"3"'), '3');
  assert.throws(
    () => parseEtag('3'),
    (error: unknown) => error instanceof FhirError && error.status === 400,
  );
  assert.throws(() => parseEtag('W/"a b"'), FhirError);
  assert.doesNotThrow(() => assertIfMatch({ ifMatch: undefined, currentVersionId: '3' }));
  assert.doesNotThrow(() => assertIfMatch({ ifMatch: 'W/"3"', currentVersionId: '3' }));
  assert.throws(
    () => assertIfMatch({ ifMatch: 'W/"2"', currentVersionId: '3' }),
    (error: unknown) =>
      error instanceof FhirError &&
      error.status === 412 &&
      error.code === 'conflict' &&
      /W\/"3".*W\/"2"/.test(error.message),
  );
});

test('security labels split into confidentiality, sensitivity and other', () => {
  const labels = securityLabelsOf(labelled);
  assert.equal(labels.confidentiality, 'R');
  assert.deepEqual(labels.sensitivity, ['HIV', 'PSY', '42CFRPart2']);
  assert.deepEqual(labels.other, [{ system: 'http://example.org/labels', code: 'local' }]);
  assert.deepEqual(securityLabelsOf({ resourceType: 'Patient' }), {
    confidentiality: undefined,
    sensitivity: [],
    other: [],
  });
  // A code of the wrong system is not a sensitivity label.
  const wrongSystem = securityLabelsOf({
    resourceType: 'Patient',
    meta: { security: [{ system: confidentialitySystem, code: 'HIV' }] },
  });
  assert.deepEqual(wrongSystem.sensitivity, []);
  assert.equal(wrongSystem.other.length, 1);
  const two = {
    resourceType: 'Patient',
    meta: {
      security: [
        { system: confidentialitySystem, code: 'N' },
        { system: confidentialitySystem, code: 'V' },
      ],
    },
  } as Resource;
  assert.throws(
    () => securityLabelsOf(two),
    (error: unknown) =>
      error instanceof FhirError && error.status === 400 && /N and V/.test(error.message),
  );
});

test('patientReferenceOf finds the patient of a Patient, subject or patient; nothing else', () => {
  assert.equal(patientReferenceOf({ resourceType: 'Patient', id: 'p1' }), 'p1');
  assert.equal(
    patientReferenceOf({
      resourceType: 'Observation',
      status: 'final',
      code: {},
      subject: { reference: 'Patient/123' },
    }),
    '123',
  );
  assert.equal(
    patientReferenceOf({
      resourceType: 'AllergyIntolerance',
      patient: { reference: 'Patient/9/_history/2' },
    }),
    '9',
  );
  assert.equal(
    patientReferenceOf({
      resourceType: 'Observation',
      status: 'final',
      code: {},
      subject: { reference: 'Group/123' },
    }),
    undefined,
  );
  assert.equal(
    patientReferenceOf({
      resourceType: 'Observation',
      status: 'final',
      code: {},
      subject: { reference: 'https://other.example/fhir/Patient/123' },
    }),
    undefined,
  );
  assert.equal(
    patientReferenceOf({ resourceType: 'Observation', status: 'final', code: {} }),
    undefined,
  );
  assert.equal(patientReferenceOf({ resourceType: 'Patient' }), undefined);
});

test('history Bundles carry request and response per version; deletes have no resource', () => {
  const bundle = historyBundle({
    baseUrl: 'https://n.example/fhir',
    selfUrl: 'https://n.example/fhir/Patient/p1/_history',
    versions: [
      {
        type: 'Patient',
        id: 'p1',
        versionId: '3',
        lastUpdated: '2024-05-03T00:00:00Z',
        interaction: 'delete',
      },
      {
        type: 'Patient',
        id: 'p1',
        versionId: '2',
        lastUpdated: '2024-05-02T00:00:00Z',
        interaction: 'update',
        resource: { resourceType: 'Patient', id: 'p1' },
      },
      {
        type: 'Patient',
        id: 'p1',
        versionId: '1',
        lastUpdated: '2024-05-01T00:00:00Z',
        interaction: 'create',
        resource: { resourceType: 'Patient', id: 'p1' },
      },
    ],
  });
  assert.equal(bundle.type, 'history');
  assert.equal(bundle.total, 3);
  assert.deepEqual(
    bundle.entry?.map((entry) => [
      entry.request?.method,
      entry.request?.url,
      entry.response?.status,
      entry.response?.etag,
      entry.resource !== undefined,
    ]),
    [
      ['DELETE', 'Patient/p1', '204 No Content', 'W/"3"', false],
      ['PUT', 'Patient/p1', '200 OK', 'W/"2"', true],
      ['POST', 'Patient', '201 Created', 'W/"1"', true],
    ],
  );
  assert.equal(bundle.entry?.[0]?.fullUrl, 'https://n.example/fhir/Patient/p1');
});

test('date ranges agree with Date.UTC and cover their precision (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 9999 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 31 }),
      fc.integer({ min: 0, max: 23 }),
      fc.integer({ min: 0, max: 59 }),
      fc.integer({ min: -14 * 60, max: 14 * 60 }),
      (year, month, day, hour, minute, offset) => {
        const pad = (n: number, width = 2): string => String(Math.abs(n)).padStart(width, '0');
        const date = `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
        const utc = new Date(0);
        utc.setUTCFullYear(year, month - 1, day);
        const valid = utc.getUTCMonth() === month - 1;
        const range = parseDateRange(date);
        if (!valid) return assert.equal(range, undefined);
        assert.deepEqual(range, { start: utc.getTime(), end: utc.getTime() + 86_400_000 });
        const zone = `${offset < 0 ? '-' : '+'}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
        const instant = parseDateRange(`${date}T${pad(hour)}:${pad(minute)}:00${zone}`);
        assert.equal(instant?.start, utc.getTime() + (hour * 60 + minute - offset) * 60_000);
        assert.equal(instant.end - instant.start, 1000);
      },
    ),
    { seed: 42, numRuns: 300 },
  );
  assert.equal(parseDateRange('2024-02-30'), undefined);
  assert.deepEqual(parseDateRange('2024-02'), {
    start: Date.UTC(2024, 1, 1),
    end: Date.UTC(2024, 2, 1),
  });
  assert.deepEqual(parseDateRange('2024'), {
    start: Date.UTC(2024, 0, 1),
    end: Date.UTC(2025, 0, 1),
  });
});
