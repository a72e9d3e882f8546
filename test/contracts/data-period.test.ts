// Checks data months and Consent.provision.dataPeriod (decision 0029): month arithmetic against
// Date.UTC, anchors carrying a data month (and refusing one out of range), grants refusing an
// empty data period, and, with fast-check, that a data period on permits never turns a deny into
// a permit while a data period covering all time leaves a deny as it was.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import type { CborValue } from '../../src/codec/index.ts';
import {
  type AccessRequest,
  ContractError,
  type Period,
  type Provision,
  contractLimits,
  dataMonthOf,
  dataMonthStartMs,
  decide,
  readRecordHead,
  readRecordVersion,
} from '../../src/contracts/index.ts';
import { signTransaction } from '../../src/chain/index.ts';
import { Network, genesisDocument, idOf, keyOf, provision } from './fixtures.ts';

test('dataMonthOf and dataMonthStartMs agree with Date.UTC from 1970 to 2400 and in 9999', () => {
  const years = [...Array.from({ length: 431 }, (_, i) => 1970 + i), 9998, 9999];
  for (const year of years) {
    for (let month = 1; month <= 12; month++) {
      const dataMonth = dataMonthOf(year, month);
      assert.equal(dataMonthStartMs(dataMonth), Date.UTC(year, month - 1, 1), `${year}-${month}`);
    }
  }
  assert.equal(dataMonthOf(1970, 1), 0);
  assert.equal(dataMonthOf(9999, 12), contractLimits.dataMonthMax);
});

test('dataMonthOf refuses months outside January 1970 to December 9999', () => {
  for (const [year, month] of [
    [1969, 12],
    [2020, 0],
    [2020, 13],
    [10_000, 1],
    [2020.5, 1],
    [2020, 1.5],
  ] as const) {
    assert.throws(
      () => dataMonthOf(year, month),
      (error: unknown) => error instanceof ContractError && error.code === 'invalid-value',
      `${year}-${month}`,
    );
  }
});

function network(): { net: Network; patientId: Uint8Array } {
  const net = new Network();
  const patientId = net.patient('p1');
  return { net, patientId };
}

test('an anchor stores its data month, and an erasure marker keeps it', () => {
  const { net, patientId } = network();
  const recordId = net.anchor({ record: 'r1', patientId, dataMonth: dataMonthOf(2021, 6) });
  assert.equal(readRecordHead(net.state, recordId)?.dataMonth, dataMonthOf(2021, 6));
  net.ok(
    net.tx('node:org-a', 'record.erase', { recordId, version: 2, reasonCode: 'patient-request' }),
  );
  assert.equal(readRecordHead(net.state, recordId)?.status, 'erased');
  assert.equal(readRecordVersion(net.state, recordId, 2)?.dataMonth, dataMonthOf(2021, 6));
  // Left out, the data month is null (unknown).
  const other = net.anchor({ record: 'r2', patientId });
  assert.equal(readRecordHead(net.state, other)?.dataMonth, null);
});

test('an anchor whose data month is past December 9999 is refused as a malformed body', () => {
  const { net, patientId } = network();
  const valid = net.tx('node:org-a', 'record.anchor', {
    recordId: idOf('record:r1'),
    version: 1,
    resourceType: 'Observation',
    patientId,
    custodian: 'org-a',
    contentHash: new Uint8Array(32),
    securityLabels: ['N'],
    dataMonth: contractLimits.dataMonthMax,
  });
  // The same body with the last field (dataMonth) one past the bound, re-signed.
  const fields = [...(valid.body as readonly CborValue[])];
  fields[fields.length - 1] = contractLimits.dataMonthMax + 1;
  const keyPair = keyOf('node:org-a');
  const tooLate = signTransaction({
    unsigned: { ...valid, body: fields, nonce: valid.nonce + 1 },
    keyPair,
  });
  const receipts = net.block([valid, tooLate]).receipts;
  assert.equal(receipts[0]!.ok, true, receipts[0]!.message ?? '');
  assert.equal(receipts[1]!.code, 'malformed-body');
  assert.match(receipts[1]!.message ?? '', /dataMonth/);
});

test('a grant whose data period ends before it starts is refused, naming the field', () => {
  const { net, patientId } = network();
  const grant = (dataPeriod: Period) =>
    net.run(
      net.tx('patient:p1', 'consent.grant', {
        consentId: idOf(`consent:${dataPeriod.start}-${dataPeriod.end}`),
        patientId,
        policyRule: 'OPTIN',
        provision: provision('permit', {
          provisions: [provision('deny', { dataPeriod })],
        }),
      }),
    );
  const ok = grant({ start: Date.UTC(2020, 0, 1), end: Date.UTC(2023, 0, 1) });
  assert.equal(ok.ok, true, ok.message ?? '');
  const refused = grant({ start: Date.UTC(2023, 0, 1), end: Date.UTC(2020, 0, 1) });
  assert.equal(refused.code, 'invalid-value');
  assert.match(
    refused.message ?? '',
    /provision\.provisions\[0\]\.dataPeriod: expected end after start/,
  );
});

// Properties over random consents with data periods and records with and without data months.

const records = ['r2019', 'r2021', 'rDec2022', 'r2024', 'rUnknown'] as const;
const recordMonths: Record<(typeof records)[number], number | null> = {
  r2019: dataMonthOf(2019, 2),
  r2021: dataMonthOf(2021, 6),
  rDec2022: dataMonthOf(2022, 12),
  r2024: dataMonthOf(2024, 1),
  rUnknown: null,
};

function baseNetwork(consentDefault: 'opt-in' | 'opt-out'): Network {
  const net = new Network(genesisDocument({ policy: { consentDefault } }));
  net.practitioner('org-b', 'bob', ['doctor']);
  const patientId = net.patient('p1');
  for (const record of records) {
    net.anchor({ record, patientId, dataMonth: recordMonths[record] });
  }
  return net;
}
const bases = { 'opt-in': baseNetwork('opt-in'), 'opt-out': baseNetwork('opt-out') };

/** Data periods around the records' months, with sharp and mid-month bounds, some open. */
const dataPeriodArb: fc.Arbitrary<Period> = fc
  .tuple(
    fc.constantFrom(
      Date.UTC(2018, 0, 1),
      Date.UTC(2020, 0, 1),
      Date.UTC(2021, 5, 15),
      Date.UTC(2022, 11, 1),
      Date.UTC(2022, 11, 20),
    ),
    fc.option(fc.constantFrom(Date.UTC(2021, 6, 1), Date.UTC(2022, 11, 15), Date.UTC(2023, 0, 1)), {
      nil: null,
    }),
  )
  .filter(([start, end]) => end === null || end > start)
  .map(([start, end]) => ({ start, end }));

interface Spec {
  readonly type: 'permit' | 'deny';
  readonly purposes: string[];
  readonly dataPeriod: Period | null;
  readonly children: readonly Spec[];
}

const leafArb: fc.Arbitrary<Spec> = fc.record({
  type: fc.constantFrom('permit', 'deny'),
  purposes: fc.constantFrom([], ['TREAT'], ['HRESCH']),
  dataPeriod: fc.option(dataPeriodArb, { nil: null, freq: 2 }),
  children: fc.constant([]),
});
const specArb: fc.Arbitrary<Spec> = fc.record({
  type: fc.constantFrom('permit', 'deny'),
  purposes: fc.constantFrom([], ['TREAT']),
  dataPeriod: fc.option(dataPeriodArb, { nil: null, freq: 3 }),
  children: fc.array(leafArb, { maxLength: 3 }),
});

function provisionOf(spec: Spec): Provision {
  return provision(spec.type, {
    purposes: spec.purposes,
    dataPeriod: spec.dataPeriod,
    provisions: spec.children.map(provisionOf),
  });
}

/** Whether `spec` or a provision below it is a deny. */
function hasDeny(spec: Spec): boolean {
  return spec.type === 'deny' || spec.children.some(hasDeny);
}

/**
 * `spec` with `period` as the data period of every permit that has none and no deny below it.
 * (A permit with deny exceptions is left alone: limiting it limits its exceptions too, as any
 * limit of a FHIR provision does, so a deny nested in it may stop applying.)
 */
function narrowPermits(spec: Spec, period: Period): Spec {
  const narrowed = spec.type === 'permit' && !hasDeny(spec) && spec.dataPeriod === null;
  return {
    ...spec,
    dataPeriod: narrowed ? period : spec.dataPeriod,
    children: spec.children.map((child) => narrowPermits(child, period)),
  };
}

/** `spec` with every deny's data period dropped or set to all time (`allTime`). */
function denyPeriods(spec: Spec, period: Period | null): Spec {
  return {
    ...spec,
    dataPeriod: spec.type === 'deny' ? period : spec.dataPeriod,
    children: spec.children.map((child) => denyPeriods(child, period)),
  };
}

function granted(network: 'opt-in' | 'opt-out', specs: readonly Spec[]): Network {
  const net = bases[network].fork();
  const receipts = net.block(
    specs.map((spec, i) =>
      net.tx('patient:p1', 'consent.grant', {
        consentId: idOf(`consent:${i}`),
        patientId: idOf('patient:p1'),
        policyRule: 'OPTIN',
        provision: provisionOf(spec),
      }),
    ),
  ).receipts;
  assert.ok(
    receipts.every((receipt) => receipt.ok),
    JSON.stringify(receipts.map((r) => r.message)),
  );
  return net;
}

const requestArb = fc.record({
  record: fc.constantFrom<(typeof records)[number] | null>(...records, null),
  purpose: fc.constantFrom('TREAT', 'HRESCH'),
});

function requestOf(r: { record: string | null; purpose: string }): AccessRequest {
  return {
    patientId: idOf('patient:p1'),
    requester: { kind: 'practitioner', orgId: 'org-b', practitionerId: 'bob' },
    action: 'access',
    purpose: r.purpose,
    recordId: r.record === null ? null : idOf(`record:${r.record}`),
    resourceType: r.record === null ? 'Observation' : null,
    securityLabels: r.record === null ? ['N'] : [],
  };
}

test('adding a deny with a data period (a consent or an exception) never turns a deny into a permit', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<'opt-in' | 'opt-out'>('opt-in', 'opt-out'),
      fc.array(specArb, { maxLength: 3 }),
      dataPeriodArb,
      fc.option(fc.nat(), { nil: null }),
      fc.array(requestArb, { minLength: 1, maxLength: 6 }),
      (network, specs, period, where, requests) => {
        const deny: Spec = { type: 'deny', purposes: [], dataPeriod: period, children: [] };
        const withDeny =
          where === null || specs.length === 0
            ? [...specs, deny]
            : specs.map((spec, i) =>
                i === where % specs.length ? { ...spec, children: [...spec.children, deny] } : spec,
              );
        const before = granted(network, specs);
        const after = granted(network, withDeny);
        const now = before.time + 1000;
        for (const r of requests) {
          const old = decide(before.state, requestOf(r), now);
          const next = decide(after.state, requestOf(r), now);
          if (old.decision === 'deny') {
            assert.equal(next.decision, 'deny', `was ${old.reason}, became ${next.reason}`);
          }
        }
      },
    ),
    { numRuns: 120 },
  );
});

test('a data period on permits never turns a deny into a permit', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<'opt-in' | 'opt-out'>('opt-in', 'opt-out'),
      fc.array(specArb, { minLength: 1, maxLength: 3 }),
      dataPeriodArb,
      fc.array(requestArb, { minLength: 1, maxLength: 6 }),
      (network, specs, period, requests) => {
        const before = granted(network, specs);
        const after = granted(
          network,
          specs.map((spec) => narrowPermits(spec, period)),
        );
        const now = before.time + 1000;
        for (const r of requests) {
          const old = decide(before.state, requestOf(r), now);
          const next = decide(after.state, requestOf(r), now);
          if (old.decision === 'deny') {
            assert.equal(next.decision, 'deny', `was ${old.reason}, became ${next.reason}`);
          }
        }
      },
    ),
    { numRuns: 120 },
  );
});

test('a deny whose data period covers all time decides records as the same deny without it', () => {
  // The twin of the property above: data periods do change decisions (a deny limited to some
  // months lets other months through), so only an all-time period leaves them as they were.
  const allTime: Period = { start: 0, end: null };
  fc.assert(
    fc.property(
      fc.constantFrom<'opt-in' | 'opt-out'>('opt-in', 'opt-out'),
      fc.array(specArb, { minLength: 1, maxLength: 3 }),
      fc.constantFrom(...records),
      (network, specs, record) => {
        const plain = granted(
          network,
          specs.map((spec) => denyPeriods(spec, null)),
        );
        const covered = granted(
          network,
          specs.map((spec) => denyPeriods(spec, allTime)),
        );
        const now = plain.time + 1000;
        const request = requestOf({ record, purpose: 'TREAT' });
        const expected = decide(plain.state, request, now);
        const found = decide(covered.state, request, now);
        assert.equal(found.decision, expected.decision, `${expected.reason} / ${found.reason}`);
        assert.equal(found.reason, expected.reason);
      },
    ),
    { numRuns: 120 },
  );
  // And one that can fail: the same deny limited to 2020–2022 permits the 2024 record.
  const limited = granted('opt-out', [
    {
      type: 'deny',
      purposes: [],
      dataPeriod: { start: Date.UTC(2020, 0, 1), end: Date.UTC(2023, 0, 1) },
      children: [],
    },
  ]);
  const now = limited.time + 1000;
  assert.equal(
    decide(limited.state, requestOf({ record: 'r2024', purpose: 'TREAT' }), now).decision,
    'permit',
  );
  assert.equal(
    decide(limited.state, requestOf({ record: 'r2021', purpose: 'TREAT' }), now).decision,
    'deny',
  );
});
