// Checks SMART v2 scope parsing, formatting, matching and granting with tables of valid and
// invalid scopes and fast-check properties over generated scopes and requests.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import {
  AuthError,
  AuthErrorCode,
  formatScope,
  formatScopes,
  grantScopes,
  interactionPermission,
  matchingScopes,
  parseScope,
  parseScopes,
  scopeAllows,
  type FhirInteraction,
  type ScopeRequest,
  type SmartScope,
} from '../../src/auth/index.ts';

const interactions: readonly FhirInteraction[] = [
  'create',
  'read',
  'vread',
  'update',
  'delete',
  'history',
  'search',
];

test('parses v2, v1, granular and pass-through scopes', () => {
  assert.deepEqual(parseScope('patient/Observation.rs'), {
    kind: 'resource',
    context: 'patient',
    resourceType: 'Observation',
    permissions: ['r', 's'],
    restrictions: [],
    syntax: 'v2',
  });
  assert.deepEqual(parseScope('system/*.cruds'), {
    kind: 'resource',
    context: 'system',
    resourceType: '*',
    permissions: ['c', 'r', 'u', 'd', 's'],
    restrictions: [],
    syntax: 'v2',
  });
  const granular = parseScope(
    'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory',
  );
  assert.equal(granular.kind, 'resource');
  assert.deepEqual(granular.kind === 'resource' && granular.restrictions, [
    {
      name: 'category',
      value: 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory',
    },
  ]);
  const twoRestrictions = parseScope(
    'user/Condition.s?category=problem-list-item&clinical-status=active',
  );
  assert.deepEqual(twoRestrictions.kind === 'resource' && twoRestrictions.restrictions, [
    { name: 'category', value: 'problem-list-item' },
    { name: 'clinical-status', value: 'active' },
  ]);
  for (const [text, permissions, syntax] of [
    ['user/Patient.read', ['r', 's'], 'v1-read'],
    ['user/Patient.write', ['c', 'u', 'd'], 'v1-write'],
    ['patient/*.*', ['c', 'r', 'u', 'd', 's'], 'v1-all'],
  ] as const) {
    const scope = parseScope(text);
    assert.equal(scope.kind, 'resource', text);
    assert.deepEqual(scope.kind === 'resource' && scope.permissions, permissions, text);
    assert.equal(scope.kind === 'resource' && scope.syntax, syntax, text);
  }
  for (const name of ['openid', 'fhirUser', 'launch', 'launch/patient', 'offline_access']) {
    assert.deepEqual(parseScope(name), { kind: 'pass-through', name });
  }
});

test('refuses malformed scopes with invalid-scope naming the scope', () => {
  const bad = [
    'patient/Observation.rc', // letters out of order
    'patient/Observation.rr', // repeated letter
    'patient/Observation.srud', // out of order
    'patient/Observation.', // no letters
    'patient/Observation', // no dot
    'patient/Observation.x', // unknown letter
    'patient/Observation.R', // upper case
    'doctor/Observation.r', // unknown context
    'Observation.r', // no context
    'patient/observation.r', // type not capitalised
    'patient/Obs-ervation.r', // not a type name
    'patient/.r', // empty type
    'patient/Observation.rs?', // empty restriction
    'patient/Observation.rs?category', // restriction without value
    'patient/Observation.rs?category=', // empty value
    'patient/Observation.rs?=lab', // no name
    'patient/Observation.rs?category=a&&code=b', // empty part
    'patient/Observation.read?category=lab', // restriction on v1
    'patient/Observation.rs?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9', // too many restrictions
    'patient/Observation.r s', // space inside
    'patient/Observation."r"', // quote
    'patient/Observation.r\\', // backslash
    'patient/Observación.r', // not ASCII
    'launch/encounter2', // unknown pass-through
    'profile', // not supported
    '',
    `patient/${'A'.repeat(300)}.r`, // too long
  ];
  for (const text of bad) {
    assert.throws(
      () => parseScope(text),
      (error: unknown) =>
        error instanceof AuthError &&
        error.code === AuthErrorCode.invalidScope &&
        error.message.startsWith('scope "'),
      JSON.stringify(text),
    );
  }
});

test('parses scope strings: runs of spaces tolerated, repeats kept once, empty refused', () => {
  assert.deepEqual(parseScopes('system/Patient.rs  system/Patient.rs openid').map(formatScope), [
    'system/Patient.rs',
    'openid',
  ]);
  assert.throws(() => parseScopes(''), { code: AuthErrorCode.invalidScope });
  assert.throws(() => parseScopes('   '), { code: AuthErrorCode.invalidScope });
  assert.throws(() => parseScopes('system/Patient.rs rubbish'), {
    code: AuthErrorCode.invalidScope,
  });
  // 65 distinct valid scopes: one over the limit.
  const many = Array.from(
    { length: 65 },
    (_, i) => `system/T${String.fromCharCode(97 + (i % 26))}${'x'.repeat(Math.floor(i / 26))}.r`,
  );
  assert.equal(parseScopes(many.slice(0, 64).join(' ')).length, 64);
  assert.throws(() => parseScopes(many.join(' ')), /names 65 scopes; at most 64/);
});

test('maps each interaction to its letter', () => {
  assert.deepEqual(interactionPermission, {
    create: 'c',
    read: 'r',
    vread: 'r',
    history: 'r',
    update: 'u',
    delete: 'd',
    search: 's',
  });
});

test('allows by context, type and letter: a table', () => {
  const scopes = parseScopes('patient/Observation.rs user/Patient.r system/*.c');
  const table: [ScopeRequest, string | null][] = [
    [
      { context: 'patient', resourceType: 'Observation', interaction: 'read' },
      'patient/Observation.rs',
    ],
    [
      { context: 'patient', resourceType: 'Observation', interaction: 'vread' },
      'patient/Observation.rs',
    ],
    [
      { context: 'patient', resourceType: 'Observation', interaction: 'history' },
      'patient/Observation.rs',
    ],
    [
      { context: 'patient', resourceType: 'Observation', interaction: 'search' },
      'patient/Observation.rs',
    ],
    [{ context: 'patient', resourceType: 'Observation', interaction: 'create' }, null],
    [{ context: 'patient', resourceType: 'Observation', interaction: 'update' }, null],
    [{ context: 'patient', resourceType: 'Observation', interaction: 'delete' }, null],
    [{ context: 'user', resourceType: 'Observation', interaction: 'read' }, null],
    [{ context: 'patient', resourceType: 'Condition', interaction: 'read' }, null],
    [{ context: 'user', resourceType: 'Patient', interaction: 'read' }, 'user/Patient.r'],
    [{ context: 'user', resourceType: 'Patient', interaction: 'search' }, null],
    [{ context: 'system', resourceType: 'Condition', interaction: 'create' }, 'system/*.c'],
    [{ context: 'system', resourceType: 'Condition', interaction: 'read' }, null],
  ];
  for (const [request, expected] of table) {
    const found = scopeAllows(scopes, request);
    assert.equal(found === null ? null : formatScope(found), expected, JSON.stringify(request));
  }
  // v1 read = rs and write = cud.
  const v1 = parseScopes('user/Observation.read user/Condition.write');
  assert.notEqual(
    scopeAllows(v1, { context: 'user', resourceType: 'Observation', interaction: 'search' }),
    null,
  );
  assert.equal(
    scopeAllows(v1, { context: 'user', resourceType: 'Observation', interaction: 'update' }),
    null,
  );
  assert.notEqual(
    scopeAllows(v1, { context: 'user', resourceType: 'Condition', interaction: 'delete' }),
    null,
  );
  assert.equal(
    scopeAllows(v1, { context: 'user', resourceType: 'Condition', interaction: 'read' }),
    null,
  );
});

test('prefers an unrestricted scope, and lists every restricted one', () => {
  const request: ScopeRequest = {
    context: 'patient',
    resourceType: 'Observation',
    interaction: 'search',
  };
  const restrictedOnly = parseScopes(
    'patient/Observation.rs?category=laboratory patient/Observation.s?category=vital-signs',
  );
  assert.equal(
    formatScope(scopeAllows(restrictedOnly, request)!),
    'patient/Observation.rs?category=laboratory',
  );
  assert.deepEqual(matchingScopes(restrictedOnly, request).map(formatScope), [
    'patient/Observation.rs?category=laboratory',
    'patient/Observation.s?category=vital-signs',
  ]);
  const withFull = parseScopes('patient/Observation.rs?category=laboratory patient/*.rs');
  assert.equal(formatScope(scopeAllows(withFull, request)!), 'patient/*.rs');
});

test('grants requested scopes narrowed to allowed ones', () => {
  const grant = (requested: string, allowed: string): string =>
    formatScopes(grantScopes({ requested: parseScopes(requested), allowed: parseScopes(allowed) }));
  assert.equal(grant('system/Observation.rs', 'system/*.cruds'), 'system/Observation.rs');
  assert.equal(grant('system/Observation.read', 'system/*.rs'), 'system/Observation.read');
  assert.equal(grant('system/*.rs', 'system/Observation.cruds'), 'system/Observation.rs');
  assert.equal(grant('system/Observation.cruds', 'system/Observation.rs'), 'system/Observation.rs');
  assert.equal(grant('system/Observation.cud', 'system/Observation.rs'), '');
  assert.equal(grant('system/Observation.rs', 'user/Observation.rs'), '');
  assert.equal(grant('system/Observation.rs', 'system/Patient.rs'), '');
  assert.equal(
    grant('system/Observation.rs', 'system/Observation.rs?category=laboratory'),
    'system/Observation.rs?category=laboratory',
  );
  assert.equal(
    grant('system/Observation.rs?category=laboratory', 'system/Observation.rs'),
    'system/Observation.rs?category=laboratory',
  );
  assert.equal(grant('openid fhirUser', 'openid system/*.rs'), 'openid');
});

// Generators of valid scopes, so that properties range over the whole grammar.
const contextArbitrary = fc.constantFrom('patient', 'user', 'system');
const typeArbitrary = fc.constantFrom('*', 'Observation', 'Patient', 'Condition', 'Encounter');
const lettersArbitrary = fc
  .subarray(['c', 'r', 'u', 'd', 's'], { minLength: 1 })
  .map((letters) => letters.join(''));
const restrictionArbitrary = fc.record({
  name: fc.constantFrom('category', 'code', '_security', 'status'),
  value: fc.stringMatching(/^[A-Za-z0-9:/|._-]{1,20}$/),
});
const scopeTextArbitrary: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      contextArbitrary,
      typeArbitrary,
      lettersArbitrary,
      fc.array(restrictionArbitrary, { maxLength: 3 }),
    )
    .map(([context, type, letters, restrictions]) => {
      const query = restrictions.map((r) => `${r.name}=${r.value}`).join('&');
      return `${context}/${type}.${letters}${query === '' ? '' : `?${query}`}`;
    }),
  fc
    .tuple(contextArbitrary, typeArbitrary, fc.constantFrom('read', 'write', '*'))
    .map(([context, type, word]) => `${context}/${type}.${word}`),
  fc.constantFrom('openid', 'fhirUser', 'launch', 'launch/patient', 'offline_access'),
);
const scopesArbitrary = fc.array(scopeTextArbitrary.map(parseScope), { maxLength: 6 });
const requestArbitrary: fc.Arbitrary<ScopeRequest> = fc.record({
  context: contextArbitrary,
  resourceType: fc.constantFrom('Observation', 'Patient', 'Condition', 'Encounter', 'Consent'),
  interaction: fc.constantFrom(...interactions),
});

test('property: format(parse(s)) is s for every valid scope', () => {
  fc.assert(
    fc.property(scopeTextArbitrary, (text) => {
      assert.equal(formatScope(parseScope(text)), text);
    }),
  );
});

test('property: a string of letters parses exactly when its letters are cruds in order, once each', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[a-z]{0,6}$/), (letters) => {
      const valid = letters.length > 0 && /^c?r?u?d?s?$/.test(letters);
      const v1 = letters === 'read' || letters === 'write';
      let parsed: SmartScope | null = null;
      try {
        parsed = parseScope(`user/Observation.${letters}`);
      } catch (error) {
        assert.ok(error instanceof AuthError && error.code === AuthErrorCode.invalidScope);
      }
      assert.equal(parsed !== null, valid || v1, letters);
    }),
  );
});

test('property: adding scopes never removes access', () => {
  fc.assert(
    fc.property(scopesArbitrary, scopesArbitrary, requestArbitrary, (some, more, request) => {
      if (scopeAllows(some, request) === null) return;
      assert.notEqual(scopeAllows([...some, ...more], request), null);
      assert.notEqual(scopeAllows([...more, ...some], request), null);
    }),
  );
});

test('property: a scope never allows a letter it does not name, nor another context or type', () => {
  fc.assert(
    fc.property(scopeTextArbitrary.map(parseScope), requestArbitrary, (scope, request) => {
      const found = scopeAllows([scope], request);
      if (found === null) return;
      assert.equal(found, scope);
      assert.ok(found.permissions.includes(interactionPermission[request.interaction]));
      assert.equal(found.context, request.context);
      assert.ok(found.resourceType === '*' || found.resourceType === request.resourceType);
    }),
  );
});

test('property: a grant allows nothing that the request or the allowance does not', () => {
  fc.assert(
    fc.property(
      scopesArbitrary,
      scopesArbitrary,
      requestArbitrary,
      (requested, allowed, request) => {
        const granted = grantScopes({ requested, allowed });
        for (const scope of granted) assert.doesNotThrow(() => parseScope(formatScope(scope)));
        if (scopeAllows(granted, request) === null) return;
        assert.notEqual(scopeAllows(requested, request), null);
        assert.notEqual(scopeAllows(allowed, request), null);
      },
    ),
  );
});

test('property: what is requested and allowed without restrictions is granted', () => {
  fc.assert(
    fc.property(
      scopesArbitrary,
      scopesArbitrary,
      requestArbitrary,
      (requested, allowed, request) => {
        const unrestricted = (scopes: readonly SmartScope[]): SmartScope[] =>
          scopes.filter((scope) => scope.kind !== 'resource' || scope.restrictions.length === 0);
        const wanted = unrestricted(requested);
        const permitted = unrestricted(allowed);
        if (scopeAllows(wanted, request) === null || scopeAllows(permitted, request) === null)
          return;
        assert.notEqual(
          scopeAllows(grantScopes({ requested: wanted, allowed: permitted }), request),
          null,
        );
      },
    ),
  );
});
