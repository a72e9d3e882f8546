// Checks the demo's login names (slugs, uniqueness, organisation prefixes) on hand-made inputs
// and on the demo's real synthetic population, the look-up of a user by name, and that the
// users the root README names are the ones every new demo seeds.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  type DemoSeedNode,
  demoPopulation,
  demoUserEntries,
  exampleUsers,
  findDemoUser,
  formatDemoUsers,
  loginSlug,
  makeDemoUsersDocument,
  organisationPrefixes,
  uniqueLoginNames,
} from '../../src/cli/index.ts';

const nodes: DemoSeedNode[] = [
  { orgId: 'st-mary-hospital', kind: 'hospital', url: 'http://127.0.0.1:1001' },
  { orgId: 'riverside-clinic', kind: 'clinic', url: 'http://127.0.0.1:1002' },
  { orgId: 'central-laboratory', kind: 'laboratory', url: 'http://127.0.0.1:1003' },
  { orgId: 'unity-payer', kind: 'payer', url: 'http://127.0.0.1:1004' },
].map((node) => ({ ...node, keyFile: 'unused', dataDir: 'unused' }) as DemoSeedNode);

test('loginSlug lowers case, drops accents and apostrophes, and joins words with one hyphen', () => {
  assert.equal(loginSlug("Dr. Zoë O'Brien-Smith", 'x'), 'dr-zoe-obrien-smith');
  assert.equal(loginSlug('  Ada   Lovelace ', 'x'), 'ada-lovelace');
  assert.equal(loginSlug('Łukasz Żółć', 'x'), 'lukasz-zolc');
  assert.equal(loginSlug('Jean-Luc  Picard_2', 'x'), 'jean-luc-picard-2');
});

test('loginSlug falls back when nothing of the name is left', () => {
  assert.equal(loginSlug('', 'dr-1'), 'dr-1');
  assert.equal(loginSlug('王 秀英', 'pat-1'), 'pat-1');
});

test('uniqueLoginNames keeps the first of a name and numbers the later ones', () => {
  assert.deepEqual(uniqueLoginNames(['a/x', 'a/y', 'a/x', 'a/x']), [
    'a/x',
    'a/y',
    'a/x-2',
    'a/x-3',
  ]);
});

test('uniqueLoginNames never hands out a numbered name that another user has as their own', () => {
  const names = uniqueLoginNames(['p/ann', 'p/ann', 'p/ann-2']);
  assert.deepEqual(names, ['p/ann', 'p/ann-3', 'p/ann-2']);
  assert.equal(new Set(names).size, names.length);
});

test('organisationPrefixes use the kind when it is unique and the id when it is not', () => {
  const prefixes = organisationPrefixes([
    { orgId: 'central-laboratory', kind: 'laboratory' },
    { orgId: 'st-mary-hospital', kind: 'hospital' },
    { orgId: 'regional-hospital-5', kind: 'hospital' },
  ]);
  assert.equal(prefixes.get('central-laboratory'), 'lab');
  assert.equal(prefixes.get('st-mary-hospital'), 'st-mary-hospital');
  assert.equal(prefixes.get('regional-hospital-5'), 'regional-hospital-5');
});

test("the demo population's users have unique, short, lower-case names and their node's URL", () => {
  const population = demoPopulation(nodes);
  const users = demoUserEntries({ population, nodes });
  assert.equal(users.length, population.practitioners.length + population.patients.length);
  assert.equal(new Set(users.map((user) => user.name)).size, users.length);
  for (const user of users) {
    assert.match(user.name, /^(hospital|clinic|lab|payer|patient)\/[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.ok(user.name.length <= 60, user.name);
    assert.equal(user.url, nodes.find((node) => node.orgId === user.orgId)!.url);
  }
  const doctor = users.find((user) => user.orgId === 'st-mary-hospital' && user.id === 'dr-1')!;
  assert.match(doctor.name, /^hospital\/dr-/);
  assert.deepEqual(doctor.roles, ['doctor']);
  for (const patient of population.patients) {
    const user = users.find((entry) => entry.id === patient.pseudonym)!;
    assert.equal(user.kind, 'patient');
    assert.equal(user.orgId, patient.custodian);
  }
});

test('exampleUsers shows a clinician per organisation, a privacy officer, break-glass and two patients', () => {
  const users = demoUserEntries({ population: demoPopulation(nodes), nodes });
  const examples = exampleUsers(
    makeDemoUsersDocument({
      chainId: 'c',
      seed: 1,
      counts: { patients: 0, records: 0, consents: 0 },
      users,
    }),
  );
  const clinicians = examples.filter(
    (user) => user.kind === 'practitioner' && !user.roles.includes('privacy-officer'),
  );
  assert.deepEqual(
    [...new Set(clinicians.map((user) => user.orgId))].sort(),
    nodes.map((node) => node.orgId).sort(),
  );
  assert.ok(examples.some((user) => user.roles.includes('privacy-officer')));
  assert.ok(examples.some((user) => user.roles.includes('break-glass')));
  assert.equal(examples.filter((user) => user.kind === 'patient').length, 2);
});

test('findDemoUser finds a name in any case and refuses an unknown one with names to try', () => {
  const users = demoUserEntries({ population: demoPopulation(nodes), nodes });
  const document = makeDemoUsersDocument({
    chainId: 'c',
    seed: 1,
    counts: { patients: 0, records: 0, consents: 0 },
    users,
  });
  const first = users[0]!;
  assert.equal(findDemoUser(document, first.name.toUpperCase()), first);
  assert.throws(
    () => findDemoUser(document, 'hospital/nobody'),
    (error: Error) =>
      /^unknown demo user "hospital\/nobody"; try [a-z]+\/[a-z].*\(medledger demo users lists all \d+\)$/.test(
        error.message,
      ),
  );
  const table = formatDemoUsers(users);
  assert.equal(table.length, users.length + 1);
  assert.match(table[0]!, /^user +kind +organisation +roles +id +node$/);
});

test('the users and patient ids the root README names are seeded in every new demo', () => {
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Signing in to the demo'),
    readme.indexOf('## Status'),
  );
  const users = demoUserEntries({ population: demoPopulation(nodes), nodes });
  const named = [...section.matchAll(/\b(?:hospital|clinic|lab|payer|patient)\/[a-z0-9-]+/g)].map(
    (match) => match[0],
  );
  const pseudonyms = [...section.matchAll(/\b[0-9a-f]{32}\b/g)].map((match) => match[0]);
  assert.ok(named.length >= 8 && pseudonyms.length >= 2, 'the section names users and patients');
  for (const name of named) {
    assert.ok(
      users.some((user) => user.name === name),
      `README names ${name}, not a seeded user`,
    );
  }
  for (const id of pseudonyms) {
    assert.ok(
      users.some((user) => user.kind === 'patient' && user.id === id),
      `README names patient ${id}, not seeded`,
    );
  }
});
