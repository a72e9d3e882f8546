// Checks properties of `decide` over random consents and requests (fast-check, seeds printed on
// failure): adding a deny never turns a deny into a permit; a revoked consent stops deciding from
// the next block; decisions do not depend on the order in which consents were stored.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { toHex } from '../../src/base/index.ts';
import { stateTreeRootHash } from '../../src/merkle/index.ts';
import {
  type AccessRequest,
  type Actor,
  type Provision,
  decide,
  readConsent,
} from '../../src/contracts/index.ts';
import { Network, genesisDocument, idOf, provision } from './fixtures.ts';

const hour = 60 * 60 * 1000;

function baseNetwork(consentDefault: 'opt-in' | 'opt-out'): Network {
  const net = new Network(genesisDocument({ policy: { consentDefault } }));
  net.practitioner('org-a', 'alice', ['doctor']);
  net.practitioner('org-b', 'bob', ['doctor']);
  net.practitioner('org-b', 'bea', ['nurse']);
  net.practitioner('org-c', 'carol', ['doctor', 'researcher']);
  const p1 = net.patient('p1');
  net.anchor({ record: 'rN', patientId: p1, labels: ['N'] });
  net.anchor({ record: 'rImm', patientId: p1, resourceType: 'Immunization', labels: ['N'] });
  net.anchor({ record: 'rPsy', patientId: p1, resourceType: 'Condition', labels: ['R', 'PSY'] });
  net.anchor({ record: 'rHiv', patientId: p1, labels: ['N', 'HIV'] });
  return net;
}
const bases = { 'opt-in': baseNetwork('opt-in'), 'opt-out': baseNetwork('opt-out') };

const actorArb: fc.Arbitrary<Actor> = fc.constantFrom<Actor>(
  { kind: 'organization', id: 'org-b' },
  { kind: 'organization', id: 'org-c' },
  { kind: 'practitioner', id: 'org-b/bob' },
  { kind: 'role', id: 'nurse' },
  { kind: 'role', id: 'researcher' },
);
/** Mostly empty (no limit on that dimension), as in real consents, else one or two values. */
const subset = <T>(values: readonly T[]): fc.Arbitrary<T[]> =>
  fc.oneof(
    { arbitrary: fc.constant<T[]>([]), weight: 4 },
    { arbitrary: fc.subarray([...values], { minLength: 1, maxLength: 2 }), weight: 1 },
  );

/** Provision limits; `period` is relative to the decision time (filled in by `atTime`). */
const limitsArb: fc.Arbitrary<Limits> = fc.record({
  actors: fc.oneof(
    { arbitrary: fc.constant<Actor[]>([]), weight: 2 },
    {
      arbitrary: fc.uniqueArray(actorArb, {
        minLength: 1,
        maxLength: 2,
        selector: (a) => `${a.kind}:${a.id}`,
      }),
      weight: 1,
    },
  ),
  actions: subset(['access', 'disclose'] as const),
  purposes: subset(['TREAT', 'HPAYMT', 'HRESCH']),
  classes: subset(['Observation', 'Immunization', 'Condition']),
  securityLabels: subset(['N', 'R', 'PSY', 'HIV']),
  records: subset(['rN', 'rPsy']),
  period: fc.option(
    fc.constantFrom<[number, number | null]>([-hour, hour], [hour, null], [-2 * hour, -hour]),
    { nil: null, freq: 4 },
  ),
});

interface Limits {
  readonly actors: Actor[];
  readonly actions: Array<'access' | 'disclose'>;
  readonly purposes: string[];
  readonly classes: string[];
  readonly securityLabels: string[];
  readonly records: string[];
  readonly period: [number, number | null] | null;
}

interface ProvisionSpec {
  readonly type: 'permit' | 'deny';
  readonly limits: Limits;
  readonly children: readonly ProvisionSpec[];
}

const provisionArb: fc.Arbitrary<ProvisionSpec> = fc.letrec<{
  level1: ProvisionSpec;
  level2: ProvisionSpec;
  level3: ProvisionSpec;
}>((tie) => ({
  level3: fc.record({
    type: fc.constantFrom('permit', 'deny'),
    limits: limitsArb,
    children: fc.constant([]),
  }),
  level2: fc.record({
    type: fc.constantFrom('permit', 'deny'),
    limits: limitsArb,
    children: fc.array(tie('level3'), { maxLength: 2 }),
  }),
  level1: fc.record({
    type: fc.constantFrom('permit', 'deny'),
    // The base provision usually carries few limits, as consents do.
    limits: fc.oneof(
      limitsArb.map((l) => ({ ...l, actors: [], records: [], securityLabels: [] })),
      limitsArb,
    ),
    children: fc.array(tie('level2'), { maxLength: 2 }),
  }),
})).level1;

function atTime(spec: ProvisionSpec, now: number): Provision {
  const { period, records, ...rest } = spec.limits;
  return provision(spec.type, {
    ...rest,
    records: records.map((name) => idOf(`record:${name}`)),
    period:
      period === null
        ? null
        : { start: now + period[0], end: period[1] === null ? null : now + period[1] },
    provisions: spec.children.map((child) => atTime(child, now)),
  });
}

interface RequestSpec {
  readonly who: readonly [string, string];
  readonly action: AccessRequest['action'];
  readonly purpose: string;
  readonly record: string | null;
}

const requestArb: fc.Arbitrary<RequestSpec> = fc.record({
  who: fc.constantFrom<readonly [string, string]>(
    ['org-b', 'bob'],
    ['org-b', 'bea'],
    ['org-c', 'carol'],
    ['org-a', 'alice'],
  ),
  action: fc.constantFrom('access', 'disclose', 'use'),
  purpose: fc.constantFrom('TREAT', 'HPAYMT', 'HRESCH'),
  record: fc.constantFrom('rN', 'rImm', 'rPsy', 'rHiv', null),
});

function requestOf(r: RequestSpec): AccessRequest {
  return {
    patientId: idOf('patient:p1'),
    requester: { kind: 'practitioner', orgId: r.who[0], practitionerId: r.who[1] },
    action: r.action,
    purpose: r.purpose,
    recordId: r.record === null ? null : idOf(`record:${r.record}`),
    resourceType: r.record === null ? 'Observation' : null,
    securityLabels: r.record === null ? ['N'] : [],
  };
}

/** Grants `provisions` (ids `consent:<tag>:<i>`) in one block, in the given order. */
function grantAll(
  net: Network,
  tag: string,
  provisions: readonly Provision[],
  order?: readonly number[],
) {
  const indices = order ?? provisions.map((_, i) => i);
  const result = net.block(
    indices.map((i) =>
      net.tx('patient:p1', 'consent.grant', {
        consentId: idOf(`consent:${tag}:${i}`),
        patientId: idOf('patient:p1'),
        policyRule: 'OPTIN',
        provision: provisions[i]!,
      }),
    ),
  );
  assert.ok(
    result.receipts.every((r) => r.ok),
    JSON.stringify(result.receipts.map((r) => r.message)),
  );
}

/** `spec` with a deny provision added as a child of the node at `path` (if room), else as-is. */
function withDenyAt(
  spec: ProvisionSpec,
  path: readonly number[],
  deny: ProvisionSpec,
  depth = 1,
): ProvisionSpec {
  if (path.length === 0 || spec.children.length === 0) {
    return depth < 3 ? { ...spec, children: [...spec.children, { ...deny, children: [] }] } : spec;
  }
  const index = path[0]! % spec.children.length;
  return {
    ...spec,
    children: spec.children.map((child, i) =>
      i === index ? withDenyAt(child, path.slice(1), deny, depth + 1) : child,
    ),
  };
}

test('adding a deny (a new consent or a nested provision) never turns a deny into a permit', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<'opt-in' | 'opt-out'>('opt-in', 'opt-out'),
      fc.array(provisionArb, { maxLength: 3 }),
      fc.record({
        type: fc.constant('deny' as const),
        limits: limitsArb,
        children: fc.constant([]),
      }),
      fc.option(fc.tuple(fc.nat(), fc.array(fc.nat(), { maxLength: 2 })), { nil: null }),
      fc.array(requestArb, { minLength: 1, maxLength: 6 }),
      (network, specs, deny, where, requests) => {
        const before = bases[network].fork();
        const after = bases[network].fork();
        const now = before.time + 1000;
        const withDeny =
          where === null || specs.length === 0
            ? [...specs, deny]
            : specs.map((spec, i) =>
                i === where[0] % specs.length ? withDenyAt(spec, where[1], deny) : spec,
              );
        grantAll(
          before,
          'a',
          specs.map((s) => atTime(s, now)),
        );
        grantAll(
          after,
          'a',
          withDeny.map((s) => atTime(s, now)),
        );
        for (const r of requests) {
          const request = requestOf(r);
          const old = decide(before.state, request, now);
          const next = decide(after.state, request, now);
          if (old.decision === 'deny') {
            assert.equal(next.decision, 'deny', `was ${old.reason}, became ${next.reason}`);
          }
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('a deny that matches every request turns every consent-decided permit into a deny', () => {
  // The twin of the property above: adding a deny does change decisions (the test can fail).
  fc.assert(
    fc.property(fc.array(provisionArb, { minLength: 1, maxLength: 3 }), requestArb, (specs, r) => {
      const before = bases['opt-in'].fork();
      const after = bases['opt-in'].fork();
      const now = before.time + 1000;
      grantAll(
        before,
        'b',
        specs.map((s) => atTime(s, now)),
      );
      grantAll(after, 'b', [...specs.map((s) => atTime(s, now)), provision('deny')]);
      const request = requestOf(r);
      const old = decide(before.state, request, now);
      const next = decide(after.state, request, now);
      if (old.reason === 'consent-permit') {
        assert.equal(next.decision, 'deny');
        assert.equal(next.reason, 'consent-deny');
      }
    }),
    { numRuns: 40 },
  );
});

test('after a revocation, the consent decides nothing from the next block on', () => {
  fc.assert(
    fc.property(
      fc.array(provisionArb, { minLength: 1, maxLength: 3 }),
      fc.nat(),
      fc.array(requestArb, { minLength: 1, maxLength: 6 }),
      (specs, pick, requests) => {
        const net = bases['opt-in'].fork();
        const now = net.time + 10_000;
        grantAll(
          net,
          'r',
          specs.map((s) => atTime(s, now)),
        );
        const revoked = pick % specs.length;
        const revokedId = toHex(idOf(`consent:r:${revoked}`));
        const beforeState = net.state;
        const result = net.block([
          net.tx('patient:p1', 'consent.revoke', { consentId: idOf(`consent:r:${revoked}`) }),
        ]);
        assert.ok(result.receipts[0]!.ok);
        // The state before the revocation's block keeps the consent active; from the block on,
        // it is inactive.
        assert.equal(readConsent(beforeState, idOf(`consent:r:${revoked}`))?.status, 'active');
        assert.equal(readConsent(net.state, idOf(`consent:r:${revoked}`))?.status, 'inactive');
        for (const r of requests) {
          const request = requestOf(r);
          const after = decide(net.state, request, now);
          assert.notEqual(after.consentId === null ? null : toHex(after.consentId), revokedId);
          if (specs.length === 1 && r.who[0] !== 'org-a') {
            // Its only consent revoked, the patient is back to the opt-in default: deny.
            assert.equal(after.decision, 'deny', `after revocation: ${after.reason}`);
          }
        }
      },
    ),
    { numRuns: 60 },
  );
});

test('a revocation signed by the patient is effective, the consent cites no decision after it', () => {
  const net = bases['opt-in'].fork();
  const request = requestOf({
    who: ['org-b', 'bob'],
    action: 'access',
    purpose: 'TREAT',
    record: 'rN',
  });
  grantAll(net, 'one', [provision('permit')]);
  const granted = net.state;
  assert.equal(decide(granted, request, net.time).decision, 'permit');
  net.block([net.tx('patient:p1', 'consent.revoke', { consentId: idOf('consent:one:0') })]);
  assert.equal(
    decide(granted, request, net.time).decision,
    'permit',
    'the earlier block is unchanged',
  );
  assert.equal(decide(net.state, request, net.time).decision, 'deny', 'from the next block: deny');
});

test('decisions and the state root do not depend on the order consents were stored in', () => {
  fc.assert(
    fc.property(
      fc.array(provisionArb, { minLength: 2, maxLength: 4 }),
      fc.array(requestArb, { minLength: 1, maxLength: 6 }),
      fc.nat(),
      (specs, requests, seed) => {
        const forward = bases['opt-in'].fork();
        const shuffled = bases['opt-in'].fork();
        const split = bases['opt-in'].fork();
        const now = forward.time + 10_000;
        const provisions = specs.map((s) => atTime(s, now));
        const order = provisions.map((_, i) => i);
        for (let i = order.length - 1; i > 0; i--) {
          const j = (seed + i * 7919) % (i + 1);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        grantAll(forward, 'o', provisions);
        grantAll(shuffled, 'o', provisions, order);
        // The same consents over several blocks, in reverse order.
        for (const i of [...order].reverse()) grantAll(split, 'o', provisions, [i]);
        assert.equal(
          toHex(stateTreeRootHash(forward.state)),
          toHex(stateTreeRootHash(shuffled.state)),
          'same block, any order: same state root',
        );
        for (const r of requests) {
          const request = requestOf(r);
          const a = decide(forward.state, request, now + 10_000);
          assert.deepEqual(decide(shuffled.state, request, now + 10_000), a);
          assert.deepEqual(decide(split.state, request, now + 10_000), a);
        }
      },
    ),
    { numRuns: 50 },
  );
});
