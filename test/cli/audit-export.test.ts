// Runs `medledger audit export | check | break-glass` as child processes against a seeded four-process `medledger demo`: after reads, a denial and a break-glass use of one patient, the export is a FHIR Bundle whose AuditEvents (two FHIR pages) are exactly the proven events and whose Binary verifies from the genesis file; tampered exports are refused naming what; bad arguments and refused tokens exit 2; the break-glass use is reported unreviewed.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import type { AuditEvent, Binary, Bundle, Composition } from '@medplum/fhirtypes';

import {
  type DemoUserEntry,
  type FhirAnswer,
  fhirRequest,
  issueDemoToken,
  loadDemoUsers,
} from '../../src/cli/index.ts';
import { AuditSystem } from '../../src/fhir/index.ts';
import {
  type VerifiedBundle,
  isoTime,
  parseBundleText,
  trustGenesis,
  verifyBundle,
} from '../../src/verify/index.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'medledger-audit-'));
const data = join(dir, 'demo');
const genesisFile = join(data, 'genesis.json');
const startedAt = Date.now();
/** Reads of the patient's record, so that the period's AuditEvents span two FHIR pages (100). */
const readCount = 100;
const day = 86_400_000;
const from = isoTime(startedAt - day).slice(0, 10);
const to = isoTime(startedAt + day).slice(0, 10);

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node --import tsx src/cli/main.ts …`, with MEDLEDGER_TOKEN only when given. */
function medledger(args: readonly string[], token?: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.MEDLEDGER_TOKEN;
  if (token !== undefined) env.MEDLEDGER_TOKEN = token;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: repoRoot, env, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

let demo: ChildProcess | undefined;
let demoExited: Promise<number | null> = Promise.resolve(0);
let users: readonly DemoUserEntry[] = [];
let patient: DemoUserEntry;
let officer: DemoUserEntry;
let doctor: DemoUserEntry;
let hospitalUrl = '';

function user(predicate: (entry: DemoUserEntry) => boolean, what: string): DemoUserEntry {
  const found = users.find(predicate);
  assert.ok(found !== undefined, `no seeded ${what}`);
  return found;
}

function tokenOf(entry: DemoUserEntry, breakGlassReason?: string): Promise<string> {
  return issueDemoToken({
    dataDir: join(data, entry.orgId, 'data'),
    baseUrl: entry.url,
    user:
      entry.kind === 'practitioner'
        ? { kind: 'practitioner', orgId: entry.orgId, practitionerId: entry.id }
        : { kind: 'patient', orgId: entry.orgId, patientId: entry.id },
    ...(breakGlassReason === undefined
      ? {}
      : { purposeOfUse: 'BTG', breakGlassReason: breakGlassReason }),
  });
}

/** The access log of the patient since the test started, proven by the node (no token, no audit). */
async function provenSinceStart(): Promise<VerifiedBundle> {
  const query = new URLSearchParams({
    patient: patient.id,
    from: String(startedAt),
    to: String(startedAt + day),
  });
  const response = await fetch(`${hospitalUrl}/chain/bundles/access-log?${query.toString()}`);
  assert.equal(response.status, 200);
  const genesis = trustGenesis(JSON.parse(readFileSync(genesisFile, 'utf8')));
  return verifyBundle(parseBundleText(await response.text()), genesis);
}

function inPeriodEvents(verified: VerifiedBundle) {
  assert.equal(verified.claim.kind, 'access-log');
  return verified.claim.kind === 'access-log'
    ? verified.claim.events.filter((event) => event.inPeriod)
    : [];
}

before(async () => {
  demo = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--data', data], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child = demo;
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  demoExited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  while (!/seeded: \d+ patients/.test(stdout)) {
    assert.ok(Date.now() < deadline, `the demo did not seed in 120 s:\n${stdout}\n${stderr}`);
    assert.equal(child.exitCode, null, `the demo exited early:\n${stdout}\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  users = loadDemoUsers(data).users;
  // Doyle Crist, a St Mary patient, shares with the laboratory only (README): the clinic's
  // doctor is refused unless its emergency doctor breaks the glass.
  patient = user((entry) => entry.name === 'patient/doyle-crist', 'patient Doyle Crist');
  officer = user(
    (entry) => entry.orgId === patient.orgId && entry.roles.includes('privacy-officer'),
    'privacy officer of the hospital',
  );
  doctor = user(
    (entry) => entry.orgId === patient.orgId && entry.roles.includes('doctor'),
    'doctor of the hospital',
  );
  const clinicDoctor = user(
    (entry) =>
      entry.orgId === 'riverside-clinic' &&
      entry.roles.includes('doctor') &&
      !entry.roles.includes('break-glass'),
    'doctor of the clinic',
  );
  const emergency = user(
    (entry) => entry.orgId === 'riverside-clinic' && entry.roles.includes('break-glass'),
    'emergency doctor of the clinic',
  );
  hospitalUrl = patient.url;

  const doctorToken = await tokenOf(doctor);
  const search = await fhirRequest<Bundle>({
    url: hospitalUrl,
    token: doctorToken,
    method: 'GET',
    path: `Encounter?patient=${patient.id}&_count=1`,
  });
  assert.equal(search.status, 200, JSON.stringify(search.body));
  const encounter = search.body.entry?.[0]?.resource?.id;
  assert.ok(encounter !== undefined, 'the patient has an Encounter');
  for (let done = 0; done < readCount; done += 20) {
    const answers: FhirAnswer[] = await Promise.all(
      Array.from({ length: 20 }, () =>
        fhirRequest({
          url: hospitalUrl,
          token: doctorToken,
          method: 'GET',
          path: `Encounter/${encounter}`,
        }),
      ),
    );
    for (const answer of answers) assert.equal(answer.status, 200);
  }
  const refused = await fhirRequest({
    url: clinicDoctor.url,
    token: await tokenOf(clinicDoctor),
    method: 'GET',
    path: `Encounter/${encounter}`,
  });
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  const brokeGlass = await fhirRequest({
    url: emergency.url,
    token: await tokenOf(emergency, 'unconscious'),
    method: 'GET',
    path: `Encounter/${encounter}`,
  });
  assert.equal(brokeGlass.status, 200, JSON.stringify(brokeGlass.body));

  // The search, the reads, the denial and the break-glass read: committed in audit batches.
  for (;;) {
    const events = inPeriodEvents(await provenSinceStart());
    const settled =
      events.length >= readCount + 3 &&
      events.some((event) => event.decision === 'deny') &&
      events.some((event) => event.breakGlassId !== null);
    if (settled) break;
    assert.ok(Date.now() < deadline, `the audit events were not committed: ${events.length}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
});

after(async () => {
  if (demo !== undefined && demo.exitCode === null && demo.signalCode === null) {
    demo.kill('SIGINT');
    await demoExited;
  }
  rmSync(dir, { recursive: true, force: true });
});

function exportArgs(out: string): string[] {
  return [
    'audit',
    'export',
    '--node',
    hospitalUrl,
    '--patient',
    patient.id,
    '--from',
    from,
    '--to',
    to,
    '--genesis',
    genesisFile,
    '--out',
    out,
  ];
}

const exportFile = join(dir, 'accounting.json');

test('audit export writes one FHIR Bundle whose AuditEvents are exactly the proven events; audit check verifies it', async () => {
  const run = await medledger(exportArgs(exportFile), await tokenOf(officer));
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  const counts = /events in the period: (\d+) \((\d+) denied, (\d+) break-glass\)/.exec(run.stdout);
  assert.ok(counts !== null, run.stdout);
  assert.ok(Number(counts[1]) >= readCount + 3, run.stdout);
  assert.ok(Number(counts[2]) >= 1 && Number(counts[3]) >= 1, run.stdout);
  assert.match(run.stdout, /complete for blocks 1\.\.\d+: every event about this patient/);
  // The network's audit lag is a day: a period ending tomorrow is not closed yet.
  assert.match(run.stdout, /period closed: no: an event of the period may still be recorded/);
  assert.match(run.stdout, /written to .*accounting\.json: a FHIR R4 collection Bundle/);

  const bundle = JSON.parse(readFileSync(exportFile, 'utf8')) as Bundle;
  assert.equal(bundle.resourceType, 'Bundle');
  assert.equal(bundle.type, 'collection');
  const resources = (bundle.entry ?? []).map((entry) => entry.resource!);
  const composition = resources[0] as Composition;
  const binary = resources.at(-1) as Binary;
  const events = resources.slice(1, -1) as AuditEvent[];
  assert.equal(composition.resourceType, 'Composition');
  assert.equal(composition.subject?.reference, `Patient/${patient.id}`);
  assert.match(composition.text?.div ?? '', /events in the period: \d+/);
  assert.equal(binary.resourceType, 'Binary');
  assert.equal(binary.contentType, 'application/vnd.medledger.verification-bundle+json');
  assert.ok(events.every((event) => event.resourceType === 'AuditEvent'));
  assert.equal(events.length, Number(counts[1]), 'one AuditEvent per event of the period');

  // The embedded bundle verifies here too, and its events of the period are the AuditEvents.
  const genesis = trustGenesis(JSON.parse(readFileSync(genesisFile, 'utf8')));
  const verified = verifyBundle(
    parseBundleText(Buffer.from(binary.data!, 'base64').toString('utf8')),
    genesis,
  );
  const proven = inPeriodEvents(verified);
  assert.deepEqual(
    events.map((event) => event.id),
    proven.map((event) => `${patient.id}-${event.sequence}`),
  );
  for (const [index, event] of events.entries()) {
    const height = event.extension?.find((each) => each.url === AuditSystem.blockHeight);
    assert.equal(height?.valueUnsignedInt, proven[index]!.recordedHeight);
    assert.equal(event.outcome, proven[index]!.decision === 'permit' ? '0' : '4');
  }

  const check = await medledger(['audit', 'check', exportFile, '--genesis', genesisFile]);
  assert.equal(check.status, 0, `${check.stdout}\n${check.stderr}`);
  assert.match(check.stdout, /^VERIFIED /);
  assert.match(check.stdout, /events in the period: \d+ \(\d+ denied, \d+ break-glass\)/);
  assert.match(check.stdout, /its \d+ AuditEvent\(s\) are exactly the proven events/);
});

test('audit check refuses a tampered export, naming what differs', async () => {
  const original = readFileSync(exportFile, 'utf8');
  const tampered = (name: string, change: (bundle: Bundle) => void): string => {
    const bundle = JSON.parse(original) as Bundle;
    change(bundle);
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(bundle));
    return file;
  };
  const events = (bundle: Bundle) =>
    (bundle.entry ?? []).filter((entry) => entry.resource?.resourceType === 'AuditEvent');
  const removed = tampered('removed', (bundle) => {
    const denial = events(bundle).find((entry) => (entry.resource as AuditEvent).outcome === '4');
    bundle.entry = bundle.entry!.filter((entry) => entry !== denial);
  });
  const relabelled = tampered('relabelled', (bundle) => {
    const denial = events(bundle).find((entry) => (entry.resource as AuditEvent).outcome === '4');
    (denial!.resource as AuditEvent).outcome = '0';
  });
  const binaryEdited = tampered('binary', (bundle) => {
    const binary = bundle.entry!.at(-1)!.resource as Binary;
    const proof = JSON.parse(Buffer.from(binary.data!, 'base64').toString('utf8')) as {
      claim: { events: unknown[] };
    };
    proof.claim.events.pop();
    binary.data = Buffer.from(JSON.stringify(proof), 'utf8').toString('base64');
  });
  const [removedRun, relabelledRun, binaryRun] = await Promise.all(
    [removed, relabelled, binaryEdited].map((file) =>
      medledger(['audit', 'check', file, '--genesis', genesisFile]),
    ),
  );
  assert.equal(removedRun!.status, 1, removedRun!.stderr);
  assert.match(
    removedRun!.stderr,
    /NOT VERIFIED: .*proven event \d+ \(read deny, .*\) is missing from the AuditEvents/,
  );
  assert.equal(relabelledRun!.status, 1, relabelledRun!.stderr);
  assert.match(
    relabelledRun!.stderr,
    /NOT VERIFIED: .*AuditEvent\/[0-9a-f]{32}-\d+: outcome is "0", the proven event gives "4"/,
  );
  assert.equal(binaryRun!.status, 1, binaryRun!.stderr);
  assert.match(
    binaryRun!.stderr,
    /NOT VERIFIED: the verification bundle in the Binary does not verify from the genesis file: claim\.events: /,
  );
});

test('bad arguments, a wrong token and a user without the right exit 2 with a clear message', async () => {
  const out = join(dir, 'refused.json');
  const officerToken = await tokenOf(officer);
  const withoutPatient = exportArgs(out).filter(
    (_, index, all) => all[index] !== '--patient' && all[index - 1] !== '--patient',
  );
  const badDate = exportArgs(out).map((arg) => (arg === from ? '2026-02-31' : arg));
  const [missing, date, wrongToken, forbidden, noToken] = await Promise.all([
    medledger(withoutPatient, officerToken),
    medledger(badDate, officerToken),
    medledger(exportArgs(out), 'not.a.token'),
    medledger(exportArgs(out), await tokenOf(doctor)),
    medledger(exportArgs(out)),
  ]);
  assert.equal(missing.status, 2, missing.stderr);
  assert.match(missing.stderr, /audit export: --patient: missing; pass the FHIR Patient id/);
  assert.equal(date.status, 2, date.stderr);
  assert.match(date.stderr, /--from: expected a date \(2026-12-01\).*found "2026-02-31"/);
  assert.equal(wrongToken.status, 2, wrongToken.stderr);
  assert.match(wrongToken.stderr, /the node refused the token \(401 login: /);
  assert.equal(forbidden.status, 2, forbidden.stderr);
  assert.match(
    forbidden.stderr,
    /forbidden \(403 forbidden: only the patient and privacy officers/,
  );
  assert.equal(noToken.status, 2, noToken.stderr);
  assert.match(
    noToken.stderr,
    /--token: missing; pass a bearer token with --token or in MEDLEDGER_TOKEN/,
  );
});

test('audit break-glass reports the use not yet reviewed, for privacy officers only', async () => {
  const args = ['audit', 'break-glass', '--node', hospitalUrl];
  const officerToken = await tokenOf(officer);
  const [table, json, refused] = await Promise.all([
    medledger(args, officerToken),
    medledger([...args, '--json'], officerToken),
    medledger(args, await tokenOf(doctor)),
  ]);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /break-glass uses? awaits? review/);
  assert.match(
    table.stdout,
    new RegExp(`riverside-clinic/\\S+ +riverside-clinic +${patient.id} +BTG +unconscious `),
  );
  assert.equal(json.status, 0, json.stderr);
  const report = JSON.parse(json.stdout) as {
    uses: {
      patient: string;
      purpose: string;
      reason: string;
      unreviewedMs: number;
      active: boolean;
    }[];
  };
  const use = report.uses.find((each) => each.patient === patient.id);
  assert.ok(use !== undefined, json.stdout);
  assert.equal(use.purpose, 'BTG');
  assert.equal(use.reason, 'unconscious');
  assert.ok(use.unreviewedMs >= 0 && use.active);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(
    refused.stderr,
    /forbidden \(403 forbidden: the break-glass review queue is for privacy officers\)/,
  );
});
