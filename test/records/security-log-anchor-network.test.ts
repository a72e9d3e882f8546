// Checks decision 0063 with four real node processes on 127.0.0.1 (anchoring every 500 ms through
// MEDLEDGER_SECURITY_LOG_ANCHOR_INTERVAL_MS): a request with a bad token is refused and lands in
// node-0's security log, whose head is then anchored on chain within the interval; with node-0
// stopped, `medledger audit security-log` proves the heads from the genesis file through another
// node and passes, then fails naming the row once a row of node-0's security-audit.sqlite is
// edited, and again (naming both hashes) once every hash was recomputed; bad arguments exit 2.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import Database from 'better-sqlite3';

import { fromHex, toHex } from '../../src/base/index.ts';
import { medledgerBin } from '../../src/cli/index.ts';
import {
  SecurityLogHeadSchema,
  StateNamespace,
  stateKey,
  textPart,
} from '../../src/contracts/index.ts';
import { securityAuditRowHash } from '../../src/store/index.ts';
import { TestNetwork, sleep } from '../net/harness.ts';

const anchorIntervalMs = 500;
let network: TestNetwork;

before(async () => {
  network = await TestNetwork.create({ validators: 4, loadSigners: 0, logLevel: 'warn' });
  await Promise.all(
    network.processes.map((process) =>
      process.start({
        extraEnv: { MEDLEDGER_SECURITY_LOG_ANCHOR_INTERVAL_MS: String(anchorIntervalMs) },
      }),
    ),
  );
});
after(async () => {
  await network.destroy();
});

/** `medledger audit security-log …` as a child process. */
function auditSecurityLog(
  ...args: string[]
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [medledgerBin, 'audit', 'security-log', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** node-0's newest anchored head as node `index` serves it (unproven: the CLI proves it). */
async function anchoredSize(index: number): Promise<number> {
  const key = stateKey(StateNamespace.securityLogHead, textPart('node-0'));
  const response = await fetch(`${network.url(index)}/chain/proofs/state?key=${toHex(key)}`);
  // Before the first block the route answers 400 (no height to prove at): nothing anchored yet.
  if (!response.ok) return 0;
  const body = (await response.json()) as { proof: { value: string | null } };
  return body.proof.value === null
    ? 0
    : SecurityLogHeadSchema.decode(fromHex(body.proof.value)).logSize;
}

test('a refusal is anchored within the interval; the CLI passes, then catches an edited row', async () => {
  const refused = await fetch(`${network.url(0)}/fhir/Patient`, {
    headers: { authorization: 'Bearer not-a-token' },
  });
  assert.equal(refused.status, 401);
  const refusedAt = Date.now();
  let size = 0;
  // The interval, a block or two to commit, and slack for a loaded machine.
  while (size === 0 && Date.now() - refusedAt < anchorIntervalMs + 15_000) {
    await sleep(100);
    size = await anchoredSize(1);
  }
  assert.ok(size >= 1, 'the head of node-0 is anchored on chain');

  // Stopped cleanly (its last head goes too if it can); three of four keep the chain going.
  assert.equal(await network.processes[0]!.stop(), 0);
  const dataDir = network.nodes[0]!.dataDir;
  const args = [
    '--data',
    dataDir,
    '--org',
    'node-0',
    '--node',
    network.url(1),
    '--genesis',
    join(network.dir, 'genesis.json'),
  ];
  const passing = await auditSecurityLog(...args);
  assert.equal(passing.status, 0, passing.stderr);
  assert.match(passing.stdout, /^VERIFIED .*node-0's security log, rows 1\.\.\d+/m);
  assert.match(passing.stdout, /agrees with the head anchored at row \d+/);
  const json = await auditSecurityLog(...args, '--json');
  assert.equal(json.status, 0, json.stderr);
  const summary = JSON.parse(json.stdout) as { ok: boolean; checkedAgainst: { logSize: number } };
  assert.equal(summary.ok, true);
  assert.ok(summary.checkedAgainst.logSize >= 1);

  // Whoever holds the disk edits row 1 (the refusal): the log's own chain names it.
  const file = join(dataDir, 'security-audit.sqlite');
  const db = new Database(file);
  db.exec('DROP TRIGGER security_audit_no_update');
  db.prepare("UPDATE security_audit_events SET outcome = '0' WHERE sequence = 1").run();
  db.close();
  const edited = await auditSecurityLog(...args);
  assert.equal(edited.status, 1, edited.stdout);
  assert.match(edited.stderr, /NOT VERIFIED: .*row 1: expected hash .*\(the row was edited\)/);

  // … and then recomputes every hash: only the anchored head can tell, and it does.
  const rewrite = new Database(file);
  const rows = rewrite
    .prepare(
      'SELECT sequence, time, type, subtype, outcome, body FROM security_audit_events ORDER BY sequence',
    )
    .all() as {
    sequence: number;
    time: number;
    type: string;
    subtype: string;
    outcome: string;
    body: string;
  }[];
  let previous: Uint8Array = new Uint8Array(32);
  for (const row of rows) {
    const hash = securityAuditRowHash(previous, row);
    rewrite
      .prepare('UPDATE security_audit_events SET prev_hash = ?, hash = ? WHERE sequence = ?')
      .run(previous, hash, row.sequence);
    previous = hash;
  }
  rewrite
    .prepare("UPDATE security_audit_meta SET value = ? WHERE name = 'head_hash'")
    .run(previous);
  rewrite.close();
  const rewritten = await auditSecurityLog(...args);
  assert.equal(rewritten.status, 1, rewritten.stdout);
  assert.match(
    rewritten.stderr,
    /NOT VERIFIED: .*row \d+: the chain anchored hash [0-9a-f]{64}, the log holds [0-9a-f]{64}/,
  );
  assert.match(rewritten.stderr, /anchored on chain: [0-9a-f]{64}\n.*in the log: +[0-9a-f]{64}/);
});

test('bad arguments exit 2 with one line naming the argument', async () => {
  const genesis = join(network.dir, 'genesis.json');
  const missingOrg = await auditSecurityLog(
    '--data',
    network.nodes[0]!.dataDir,
    '--node',
    network.url(1),
    '--genesis',
    genesis,
  );
  assert.equal(missingOrg.status, 2);
  assert.match(missingOrg.stderr, /--org: missing/);
  const both = await auditSecurityLog('--data', network.dir, '--log', 'x.sqlite', '--org', 'a');
  assert.equal(both.status, 2);
  assert.match(both.stderr, /expected exactly one of --data .* and --log .*, found both/);
  const noFile = await auditSecurityLog(
    '--data',
    network.dir,
    '--org',
    'node-0',
    '--node',
    network.url(1),
    '--genesis',
    genesis,
  );
  assert.equal(noFile.status, 2);
  assert.match(noFile.stderr, /security-audit\.sqlite: no such file/);
  // A running node holds its log: stop it first.
  const running = await auditSecurityLog(
    '--data',
    network.nodes[1]!.dataDir,
    '--org',
    'node-1',
    '--node',
    network.url(2),
    '--genesis',
    genesis,
  );
  assert.equal(running.status, 2);
  assert.match(running.stderr, /a running node holds the log; stop the node first/);
});
