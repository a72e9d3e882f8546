/**
 * The seeded users of a demo folder (`users.json`): every practitioner and patient the seeding
 * registered or enrolled, each under a short, unique, lower-case login name
 * (`hospital/dr-ada-lovelace`, `patient/grace-hopper`), for `medledger demo token <user>` and
 * `medledger demo users`. The names are synthetic (src/synthetic); the file holds no keys.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { MedLedgerError } from '../base/index.ts';
import type { DemoUser } from './records-client.ts';

/** The users file of a demo folder. */
export const demoUsersFile = 'users.json';
const demoUsersKind = 'medledger-demo-users';

/** One seeded user as `users.json` lists it. */
export interface DemoUserEntry {
  /** Login name: `<organisation or "patient">/<slug>`, lower case, unique in the file. */
  readonly name: string;
  readonly kind: 'practitioner' | 'patient';
  /** The practitioner's organisation, or the patient's custodian. */
  readonly orgId: string;
  /** The practitioner id (`dr-1`) or the patient's pseudonym (32 hex digits). */
  readonly id: string;
  /** Role codes on chain (practitioners); empty for patients. */
  readonly roles: readonly string[];
  /** The synthetic person's display name. */
  readonly displayName: string;
  /** The node to call: the organisation's (a patient's custodian's) `http://127.0.0.1:<port>`. */
  readonly url: string;
}

/** What the seeding wrote. */
export interface DemoSeedCounts {
  readonly patients: number;
  readonly records: number;
  readonly consents: number;
}

/** `users.json`. */
export interface DemoUsersDocument {
  readonly kind: typeof demoUsersKind;
  readonly version: 1;
  readonly chainId: string;
  readonly seed: number;
  readonly counts: DemoSeedCounts;
  readonly users: readonly DemoUserEntry[];
}

/** Builds the document `saveDemoUsers` writes. */
export function makeDemoUsersDocument(options: {
  chainId: string;
  seed: number;
  counts: DemoSeedCounts;
  users: readonly DemoUserEntry[];
}): DemoUsersDocument {
  return { kind: demoUsersKind, version: 1, ...options };
}

/** Letters that do not decompose into a Latin letter and an accent. */
const latinLetters: Readonly<Record<string, string>> = {
  ł: 'l',
  ø: 'o',
  æ: 'ae',
  œ: 'oe',
  ß: 'ss',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
};

/**
 * A lower-case slug of a person's name for a login name: the words (split at spaces, hyphens and
 * dots) in Latin letters without accents and digits, joined by single hyphens
 * (`Zoë O'Brien-Smith` → `zoe-obrien-smith`); `fallback` when nothing is left.
 */
export function loginSlug(text: string, fallback: string): string {
  const words = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[łøæœßđðþı]/g, (letter) => latinLetters[letter] ?? '')
    .split(/[\s\-_.]+/)
    .map((word) => word.replace(/[^a-z0-9]/g, ''))
    .filter((word) => word.length > 0);
  const slug = words.join('-').slice(0, 40).replace(/-+$/, '');
  return slug.length > 0 ? slug : fallback;
}

/**
 * Makes `names` unique in order: the first of a name keeps it, later ones get `-2`, `-3`, …
 * (skipping any suffixed name that is already taken).
 */
export function uniqueLoginNames(names: readonly string[]): string[] {
  const taken = new Set<string>();
  const counts = new Map<string, number>();
  const wanted = new Set(names);
  return names.map((name) => {
    let candidate = name;
    let n = counts.get(name) ?? 1;
    while (taken.has(candidate) || (n > 1 && wanted.has(candidate))) {
      n++;
      candidate = `${name}-${n}`;
    }
    counts.set(name, n);
    taken.add(candidate);
    return candidate;
  });
}

/**
 * The short prefix of an organisation's login names: its kind (`hospital`, `clinic`, `lab`,
 * `payer`) when it is the only one of its kind, otherwise its id.
 */
export function organisationPrefixes(
  organisations: readonly { orgId: string; kind: string }[],
): Map<string, string> {
  const short = (kind: string) => (kind === 'laboratory' ? 'lab' : kind);
  const perKind = new Map<string, number>();
  for (const { kind } of organisations) perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
  return new Map(
    organisations.map(({ orgId, kind }) => [orgId, perKind.get(kind) === 1 ? short(kind) : orgId]),
  );
}

/** The demo user of an entry, as `issueDemoToken` takes it. */
export function demoUserOf(entry: DemoUserEntry): DemoUser {
  return entry.kind === 'practitioner'
    ? { kind: 'practitioner', orgId: entry.orgId, practitionerId: entry.id }
    : { kind: 'patient', orgId: entry.orgId, patientId: entry.id };
}

/** Reads `users.json` of the demo folder `dir`, with errors that say what to do. */
export function loadDemoUsers(dir: string): DemoUsersDocument {
  if (!existsSync(join(dir, 'demo.json'))) {
    throw new MedLedgerError(
      'no-demo',
      `--data: ${dir} is not a demo folder (no demo.json); start the demo first with medledger demo --data ${dir}`,
    );
  }
  const file = join(dir, demoUsersFile);
  if (!existsSync(file)) {
    throw new MedLedgerError(
      'demo-not-seeded',
      `the demo in ${dir} is not seeded (no ${demoUsersFile}): its first run was stopped before seeding finished; start a new one with medledger demo --data ${dir} --fresh`,
    );
  }
  let document: Partial<DemoUsersDocument>;
  try {
    document = JSON.parse(readFileSync(file, 'utf8')) as Partial<DemoUsersDocument>;
  } catch (error) {
    throw new MedLedgerError(
      'bad-demo-folder',
      `${file} is not valid JSON (${(error as Error).message}); start afresh with --fresh`,
    );
  }
  if (document.kind !== demoUsersKind || document.version !== 1 || !Array.isArray(document.users)) {
    throw new MedLedgerError(
      'bad-demo-folder',
      `${file} is not a MedLedger demo users file; start afresh with --fresh`,
    );
  }
  return document as DemoUsersDocument;
}

/** Finds `name` (case-insensitive); an unknown name is refused with a few names to try. */
export function findDemoUser(document: DemoUsersDocument, name: string): DemoUserEntry {
  const wanted = name.trim().toLowerCase();
  const found = document.users.find((user) => user.name === wanted);
  if (found !== undefined) return found;
  const near = document.users.filter((user) => user.name.includes(wanted.split('/').pop() ?? ''));
  const suggestions = (near.length > 0 && wanted.length > 0 ? near : exampleUsers(document))
    .slice(0, 5)
    .map((user) => user.name);
  throw new MedLedgerError(
    'unknown-user',
    `unknown demo user ${JSON.stringify(name)}; try ${suggestions.join(', ')} (medledger demo users lists all ${document.users.length})`,
  );
}

/**
 * A few users worth showing first: one clinician per organisation, a privacy officer, a
 * break-glass clinician and two patients.
 */
export function exampleUsers(document: DemoUsersDocument): DemoUserEntry[] {
  const picked: DemoUserEntry[] = [];
  const add = (user: DemoUserEntry | undefined) => {
    if (user !== undefined && !picked.includes(user)) picked.push(user);
  };
  const practitioners = document.users.filter((user) => user.kind === 'practitioner');
  const organisations = [...new Set(practitioners.map((user) => user.orgId))];
  for (const orgId of organisations) {
    const staff = practitioners.filter((user) => user.orgId === orgId);
    add(
      staff.find(
        (user) =>
          !user.roles.includes('break-glass') &&
          ['doctor', 'lab-technician', 'claims'].some((role) => user.roles.includes(role)),
      ) ?? staff[0],
    );
  }
  add(practitioners.find((user) => user.roles.includes('privacy-officer')));
  add(practitioners.find((user) => user.roles.includes('break-glass')));
  for (const user of document.users.filter((entry) => entry.kind === 'patient').slice(0, 2)) {
    add(user);
  }
  return picked;
}

/** The users as a text table, one line each (`medledger demo users`). */
export function formatDemoUsers(users: readonly DemoUserEntry[]): string[] {
  const rows = [
    ['user', 'kind', 'organisation', 'roles', 'id', 'node'],
    ...users.map((user) => [
      user.name,
      user.kind,
      user.orgId,
      user.roles.join(',') || '-',
      user.id,
      user.url,
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  '),
  );
}
