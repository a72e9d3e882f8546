// Runs `medledger demo` as a real process with four node processes: it prints the nodes' URLs,
// seeds synthetic users, records and consents, `demo token` signs users in to the FHIR API,
// `status` reads a node, Ctrl-C (SIGINT) stops every node with exit code 0, and a second run
// resumes the same chain without seeding again; wrong folders, users and arguments are refused
// in one line.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { type DemoUsersDocument, medledgerBin } from '../../src/cli/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'medledger-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function medledger(...args: string[]) {
  return spawnSync(process.execPath, [medledgerBin, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
}

test('demo refuses a folder that is not a demo folder and a wrong node count', () => {
  const other = join(dir, 'precious');
  mkdirSync(other);
  writeFileSync(join(other, 'notes.txt'), 'keep me');
  const fresh = medledger('demo', '--data', other, '--fresh');
  assert.notEqual(fresh.status, 0);
  assert.match(
    fresh.stderr,
    /--fresh: .*precious is not a demo folder \(no demo\.json\); refusing to delete it/,
  );
  assert.ok(existsSync(join(other, 'notes.txt')), 'the folder was left alone');
  const reuse = medledger('demo', '--data', other);
  assert.notEqual(reuse.status, 0);
  assert.match(reuse.stderr, /--data: .*precious exists and is not a demo folder/);
  const zero = medledger('demo', '--nodes', '0');
  assert.notEqual(zero.status, 0);
  assert.match(zero.stderr, /--nodes must be between 1 and 10, got 0/);
});

test('demo token and demo users refuse a folder that is not a seeded demo', () => {
  const none = medledger('demo', 'token', 'hospital/anyone', '--data', join(dir, 'missing'));
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /--data: .*missing is not a demo folder \(no demo\.json\)/);
  const unseeded = join(dir, 'unseeded');
  mkdirSync(unseeded);
  writeFileSync(join(unseeded, 'demo.json'), '{}');
  const users = medledger('demo', 'users', '--data', unseeded);
  assert.notEqual(users.status, 0);
  assert.match(users.stderr, /the demo in .*unseeded is not seeded \(no users\.json\)/);
  const breakGlass = medledger(
    'demo',
    'token',
    'clinic/er-x',
    '--purpose',
    'BTG',
    '--data',
    unseeded,
  );
  assert.notEqual(breakGlass.status, 0);
  assert.match(breakGlass.stderr, /--purpose BTG is break-glass and needs --reason/);
});

/** A GET of the FHIR API with a bearer token: status and parsed body. */
async function fhirGet(url: string, token: string, path: string) {
  const response = await fetch(`${url}/fhir/${path}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
  });
  return {
    status: response.status,
    body: (await response.json()) as {
      resourceType: string;
      id?: string;
      total?: number;
      entry?: { resource: { id: string; resourceType: string } }[];
      issue?: { code: string; diagnostics?: string }[];
    },
  };
}

function tokenOf(data: string, user: string, ...extra: string[]): string {
  const run = medledger('demo', 'token', user, '--data', data, ...extra);
  assert.equal(run.status, 0, run.stderr);
  const token = run.stdout.trim();
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a JWS in compact form');
  return token;
}

/** The errors in every node's log, so a node that did not stop cleanly says why. */
function nodeLogErrors(data: string): string {
  const lines: string[] = [];
  for (const org of ['st-mary-hospital', 'riverside-clinic', 'central-laboratory', 'unity-payer']) {
    const file = join(data, org, 'node.log');
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      // Errors, and whatever is not a log record: an uncaught error's stack goes to stderr.
      if (line !== '' && !/^\{"level":[1-4]0,|^medledger node /.test(line)) {
        lines.push(`${org}: ${line}`);
      }
    }
  }
  return lines.slice(-40).join('\n');
}

test('demo runs four node processes, stops them on SIGINT, and a second run resumes the chain', async (t) => {
  const data = join(dir, 'demo');
  const child = spawn(process.execPath, [medledgerBin, 'demo', '--data', data], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  // When an assertion fails first, the demo still stops its nodes before the folder goes.
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      await exited;
    }
  });
  const deadline = Date.now() + 120_000;
  let seeded: RegExpExecArray | null = null;
  while ((seeded = /seeded: (\d+) patients, (\d+) records, (\d+) consents/.exec(stdout)) === null) {
    assert.ok(Date.now() < deadline, `the demo did not seed in 120 s:\n${stdout}\n${stderr}`);
    assert.equal(child.exitCode, null, `the demo exited early:\n${stdout}\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.equal(Number(seeded[1]), 24, stdout);
  assert.ok(Number(seeded[2]) > 24 * 10, `records: ${seeded[2]}`);
  assert.ok(Number(seeded[3]) >= 24, `consents: ${seeded[3]}`);
  const urls = [...stdout.matchAll(/ (http:\/\/127\.0\.0\.1:\d+) /g)].map((m) => m[1]!);
  assert.equal(urls.length, 4, stdout);
  for (const org of ['st-mary-hospital', 'riverside-clinic', 'central-laboratory', 'unity-payer']) {
    assert.match(stdout, new RegExp(`${org} +http://127\\.0\\.0\\.1:\\d+`));
  }
  const status = medledger('status', '--url', urls[1]!);
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /chain +medledger-demo-[0-9a-f]{8}/);
  const heightBefore = Number(/height +(\d+)/.exec(status.stdout)![1]);
  assert.ok(heightBefore >= 1);
  const json = medledger('status', '--url', urls[2]!, '--json');
  assert.equal((JSON.parse(json.stdout) as { validators: unknown[] }).validators.length, 4);

  // The seeded users: every name once, and `demo users` prints them all.
  const usersFile = readFileSync(join(data, 'users.json'), 'utf8');
  const users = (JSON.parse(usersFile) as DemoUsersDocument).users;
  assert.equal(new Set(users.map((user) => user.name)).size, users.length);
  const listed = medledger('demo', 'users', '--data', data);
  assert.equal(listed.status, 0, listed.stderr);
  assert.equal(listed.stdout.trim().split('\n').length, users.length + 1);
  const doctor = users.find(
    (user) => user.orgId === 'st-mary-hospital' && user.roles.includes('doctor'),
  )!;
  const clinicDoctor = users.find(
    (user) => user.orgId === 'riverside-clinic' && user.roles.includes('doctor'),
  )!;
  const patient = users.find((user) => user.kind === 'patient')!;
  assert.equal(doctor.url, urls[0]);

  // A hospital doctor's token reads one of the hospital's records; a clinic doctor's token is
  // signed by the clinic's node, so the hospital's node refuses it.
  const doctorToken = tokenOf(data, doctor.name);
  const search = await fhirGet(doctor.url, doctorToken, 'Encounter?_count=1');
  assert.equal(search.status, 200, JSON.stringify(search.body));
  const encounterId = search.body.entry?.[0]?.resource.id;
  assert.ok(encounterId !== undefined, JSON.stringify(search.body));
  const read = await fhirGet(doctor.url, doctorToken, `Encounter/${encounterId}`);
  assert.equal(read.status, 200, JSON.stringify(read.body));
  assert.equal(read.body.resourceType, 'Encounter');
  assert.equal(read.body.id, encounterId);
  const foreign = await fhirGet(
    doctor.url,
    tokenOf(data, clinicDoctor.name),
    `Encounter/${encounterId}`,
  );
  assert.equal(foreign.status, 401, JSON.stringify(foreign.body));
  assert.equal(foreign.body.issue?.[0]?.code, 'login');

  // A patient reads their own access log once the audit batch of the writes has committed.
  const patientToken = tokenOf(data, patient.name);
  for (;;) {
    const log = await fhirGet(patient.url, patientToken, `AuditEvent?patient=${patient.id}`);
    assert.equal(log.status, 200, JSON.stringify(log.body));
    assert.equal(log.body.resourceType, 'Bundle');
    if ((log.body.entry?.length ?? 0) >= 1) break;
    assert.ok(Date.now() < deadline, `no audit event of ${patient.id} in time`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }

  const unknown = medledger('demo', 'token', 'hospital/nobody-at-all', '--data', data);
  assert.notEqual(unknown.status, 0);
  assert.match(unknown.stderr, /unknown demo user "hospital\/nobody-at-all"; try [a-z]+\/[a-z]/);
  assert.match(unknown.stderr, /medledger demo users lists all \d+/);

  child.kill('SIGINT');
  assert.equal(await exited, 0, `${stdout}\n${stderr}\n${nodeLogErrors(data)}`);
  assert.match(stdout, /stopped \(exit codes 0, 0, 0, 0\)/);
  assert.equal(stderr, '');

  const second = medledger('demo', '--data', data, '--duration', '5');
  assert.equal(second.status, 0, `${second.stdout}\n${second.stderr}`);
  assert.match(second.stdout, /resuming the demo network in /);
  assert.doesNotMatch(second.stdout, /seeding|seeded/);
  assert.equal(readFileSync(join(data, 'users.json'), 'utf8'), usersFile);
  const firstLine = /heights st-mary-hospital (\d+)/.exec(second.stdout);
  assert.ok(firstLine !== null, second.stdout);
  assert.ok(
    Number(firstLine[1]) >= heightBefore,
    `resumed at ${firstLine[1]}, was at ${heightBefore}`,
  );
});
