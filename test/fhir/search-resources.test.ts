// Checks the searchset Bundle: _count default and cap, stable multi-key _sort, paging through
// every page returns each match once (fast-check), cursors bound to their query, totals, includes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';
import type { Bundle, Resource } from '@medplum/fhirtypes';

import { FhirError, fhirLimits, searchResources } from '../../src/fhir/index.ts';
import type { SearchParams } from '../../src/fhir/index.ts';

const baseUrl = 'https://node.example/fhir';

function observation(id: string, day: number, status = 'final', patient = '123'): Resource {
  return {
    resourceType: 'Observation',
    id,
    status: status as 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: `2024-05-${String(day).padStart(2, '0')}T10:00:00Z`,
  };
}

function cursorOf(bundle: Bundle): string | undefined {
  const next = bundle.link?.find((link) => link.relation === 'next')?.url;
  return next === undefined ? undefined : (new URL(next).searchParams.get('_cursor') ?? undefined);
}

function idsOf(bundle: Bundle): string[] {
  return (bundle.entry ?? []).map((entry) => entry.resource?.id ?? '?');
}

const many = Array.from({ length: 250 }, (_, index) =>
  observation(`o${String(index).padStart(3, '0')}`, (index % 28) + 1),
);

test('_count defaults to 20 and is capped at searchCountMax; total counts every match', () => {
  const first = searchResources({ type: 'Observation', params: {}, resources: many, baseUrl });
  assert.equal(first.bundle.type, 'searchset');
  assert.equal(first.bundle.total, 250);
  assert.equal(first.bundle.entry?.length, fhirLimits.searchCountDefault);
  const capped = searchResources({
    type: 'Observation',
    params: { _count: '5000' },
    resources: many,
    baseUrl,
  });
  assert.equal(capped.bundle.entry?.length, fhirLimits.searchCountMax);
  const small = searchResources({
    type: 'Observation',
    params: { _count: '3' },
    resources: many,
    baseUrl,
  });
  assert.equal(small.bundle.entry?.length, 3);
  assert.equal(small.bundle.entry?.[0]?.fullUrl, `${baseUrl}/Observation/o000`);
  assert.equal(small.bundle.entry?.[0]?.search?.mode, 'match');
});

test('self and next links; no next link on the last page', () => {
  const page = searchResources({
    type: 'Observation',
    params: { status: 'final', _count: '100' },
    resources: many,
    baseUrl,
  });
  const self = page.bundle.link?.find((link) => link.relation === 'self')?.url;
  assert.equal(self, `${baseUrl}/Observation?_count=100&status=final`);
  assert.ok(cursorOf(page.bundle) !== undefined);
  const all = searchResources({
    type: 'Observation',
    params: { _count: '100', _id: 'o001,o002' },
    resources: many,
    baseUrl,
  });
  assert.equal(
    all.bundle.link?.some((link) => link.relation === 'next'),
    false,
  );
  assert.equal(all.bundle.total, 2);
});

test('_total=none leaves total out; _summary=count gives only the total', () => {
  const none = searchResources({
    type: 'Observation',
    params: { _total: 'none' },
    resources: many,
    baseUrl,
  });
  assert.equal(none.bundle.total, undefined);
  const count = searchResources({
    type: 'Observation',
    params: { _summary: 'count' },
    resources: many,
    baseUrl,
  });
  assert.equal(count.bundle.total, 250);
  assert.equal(count.bundle.entry, undefined);
});

test('_sort by one or more keys, - for descending, ties broken by id, missing values last', () => {
  const resources = [
    observation('c', 2),
    observation('a', 2, 'amended'),
    observation('b', 1),
    observation('d', 3, 'amended'),
    { ...observation('e', 1), effectiveDateTime: undefined },
  ];
  const byDate = searchResources({
    type: 'Observation',
    params: { _sort: 'date' },
    resources,
    baseUrl,
  });
  assert.deepEqual(idsOf(byDate.bundle), ['b', 'a', 'c', 'd', 'e']);
  const byDateDesc = searchResources({
    type: 'Observation',
    params: { _sort: '-date' },
    resources,
    baseUrl,
  });
  assert.deepEqual(idsOf(byDateDesc.bundle), ['d', 'a', 'c', 'b', 'e']);
  const twoKeys = searchResources({
    type: 'Observation',
    params: { _sort: 'status,-date' },
    resources,
    baseUrl,
  });
  assert.deepEqual(idsOf(twoKeys.bundle), ['d', 'a', 'c', 'b', 'e']);
  const shuffled = [...resources].reverse();
  assert.deepEqual(
    idsOf(
      searchResources({
        type: 'Observation',
        params: { _sort: 'date' },
        resources: shuffled,
        baseUrl,
      }).bundle,
    ),
    idsOf(byDate.bundle),
  );
});

function pageThrough(params: SearchParams, resources: readonly Resource[]): string[] {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages += 1) {
    const { bundle } = searchResources({
      type: 'Observation',
      params,
      resources,
      baseUrl,
      ...(cursor === undefined ? {} : { cursor }),
    });
    seen.push(...idsOf(bundle));
    cursor = cursorOf(bundle);
    if (cursor === undefined) return seen;
  }
  assert.fail('paging did not end');
}

test('paging through all pages returns every match exactly once (property)', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(
        fc.record({
          id: fc.stringMatching(/^[a-z0-9]{1,6}$/),
          day: fc.integer({ min: 1, max: 28 }),
          final: fc.boolean(),
        }),
        { selector: (r) => r.id, maxLength: 60 },
      ),
      fc.integer({ min: 1, max: 12 }),
      fc.constantFrom('date', '-date', '_id', 'status,-date', undefined),
      (rows, count, sort) => {
        const resources = rows.map((row) =>
          observation(row.id, row.day, row.final ? 'final' : 'amended'),
        );
        const params: Record<string, string> = { _count: String(count), status: 'final' };
        if (sort !== undefined) params['_sort'] = sort;
        const seen = pageThrough(params, resources);
        const expected = rows
          .filter((row) => row.final)
          .map((row) => row.id)
          .sort();
        assert.deepEqual([...seen].sort(), expected);
        assert.equal(new Set(seen).size, seen.length);
      },
    ),
    { seed: 20240501, numRuns: 60 },
  );
});

test('a cursor from another query, or one not made here, is refused with 400', () => {
  const first = searchResources({
    type: 'Observation',
    params: { _count: '10', status: 'final' },
    resources: many,
    baseUrl,
  });
  const cursor = cursorOf(first.bundle)!;
  const second = searchResources({
    type: 'Observation',
    params: { _count: '10', status: 'final' },
    resources: many,
    baseUrl,
    cursor,
  });
  assert.equal(idsOf(second.bundle)[0], 'o010');
  for (const params of [
    { _count: '10', status: 'amended' },
    { _count: '11', status: 'final' },
  ]) {
    assert.throws(
      () => searchResources({ type: 'Observation', params, resources: many, baseUrl, cursor }),
      (error: unknown) =>
        error instanceof FhirError && error.status === 400 && /another query/.test(error.message),
    );
  }
  assert.throws(
    () =>
      searchResources({
        type: 'Patient',
        params: { _count: '10' },
        resources: [],
        baseUrl,
        cursor,
      }),
    (error: unknown) => error instanceof FhirError && error.status === 400,
  );
  for (const forged of [
    'not a cursor!',
    Buffer.from('{"o":-1,"q":"x"}').toString('base64url'),
    'e30',
  ]) {
    assert.throws(
      () =>
        searchResources({
          type: 'Observation',
          params: { _count: '10', status: 'final', _cursor: forged },
          resources: many,
          baseUrl,
        }),
      (error: unknown) => error instanceof FhirError && error.status === 400,
    );
  }
});

test('the total counts only the candidates passed: hidden rows never show in counts', () => {
  const visible = many.slice(0, 7);
  const { bundle } = searchResources({
    type: 'Observation',
    params: {},
    resources: visible,
    baseUrl,
    suppressed: true,
  });
  assert.equal(bundle.total, 7);
  const outcome = bundle.entry?.find((entry) => entry.search?.mode === 'outcome')?.resource;
  assert.equal(outcome?.resourceType, 'OperationOutcome');
  assert.doesNotMatch(JSON.stringify(outcome), /243|250/);
});

test('_include and _revinclude take only resources from the authorised pool', () => {
  const patient: Resource = { resourceType: 'Patient', id: '123' };
  const provenance: Resource = {
    resourceType: 'Provenance',
    id: 'prov1',
    target: [{ reference: 'Observation/o000' }],
    recorded: '2024-05-01T10:00:00Z',
    agent: [{ who: { reference: 'Practitioner/1' } }],
  };
  const params = { _id: 'o000', _include: 'Observation:subject', _revinclude: 'Provenance:target' };
  const withPool = searchResources({
    type: 'Observation',
    params,
    resources: many,
    baseUrl,
    includeCandidates: [patient, provenance],
  });
  assert.deepEqual(
    withPool.bundle.entry?.map((entry) => [entry.resource?.resourceType, entry.search?.mode]),
    [
      ['Observation', 'match'],
      ['Patient', 'include'],
      ['Provenance', 'include'],
    ],
  );
  assert.equal(withPool.bundle.total, 1);
  const without = searchResources({
    type: 'Observation',
    params,
    resources: many,
    baseUrl,
    includeCandidates: [],
  });
  assert.equal(without.bundle.entry?.length, 1);
  assert.equal(withPool.request.include[0]?.parameter.code, 'subject');
  assert.equal(withPool.request.revinclude[0]?.sourceType, 'Provenance');
});
