// Runs `medledger demo` as a real process with four node processes: it prints the nodes' URLs,
// `status` reads one, Ctrl-C (SIGINT) stops every node with exit code 0, and a second run
// resumes the same chain; wrong demo folders and arguments are refused in one line.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { medledgerBin } from '../../src/cli/index.ts';

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

test('demo runs four node processes, stops them on SIGINT, and a second run resumes the chain', async () => {
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
  const deadline = Date.now() + 90_000;
  while (!/heights .* anchors this run [1-9]/.test(stdout)) {
    assert.ok(
      Date.now() < deadline,
      `the demo did not anchor anything in 90 s:\n${stdout}\n${stderr}`,
    );
    assert.equal(child.exitCode, null, `the demo exited early:\n${stdout}\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
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

  child.kill('SIGINT');
  assert.equal(await exited, 0, `${stdout}\n${stderr}`);
  assert.match(stdout, /stopped \(exit codes 0, 0, 0, 0\)/);
  assert.equal(stderr, '');

  const second = medledger('demo', '--data', data, '--duration', '5');
  assert.equal(second.status, 0, `${second.stdout}\n${second.stderr}`);
  assert.match(second.stdout, /resuming the demo network in /);
  const firstLine = /heights st-mary-hospital (\d+)/.exec(second.stdout);
  assert.ok(firstLine !== null, second.stdout);
  assert.ok(
    Number(firstLine[1]) >= heightBefore,
    `resumed at ${firstLine[1]}, was at ${heightBefore}`,
  );
});
