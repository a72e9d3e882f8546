// Checks `medledger verify` as a real child process on bundles of a real in-memory chain: a good
// bundle prints what was proven (exit 0, or one JSON object with --json), a changed byte or an
// edited genesis names the part that failed (exit 1), an unreadable file is exit 2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { toHex } from '../../src/base/index.ts';
import { buildAccessLogBundle, buildRecordVersionBundle } from '../../src/proofs/index.ts';
import { buildScenario } from '../verify/scenario.ts';

const scenario = buildScenario();
const directory = mkdtempSync(join(tmpdir(), 'medledger-verify-'));
after(() => rmSync(directory, { recursive: true, force: true }));

const genesisPath = join(directory, 'genesis.json');
writeFileSync(genesisPath, JSON.stringify(scenario.chain.genesis, null, 2));
const record = buildRecordVersionBundle(scenario.chain, {
  recordId: scenario.lateRecordId,
  version: 1,
});

function write(name: string, value: unknown): string {
  const path = join(directory, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

function medledger(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('a good bundle verifies and the summary says what was proven', () => {
  const run = medledger('verify', write('record.json', record), '--genesis', genesisPath);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^VERIFIED record-version bundle of chain medledger-test/);
  assert.match(
    run.stdout,
    new RegExp(`record ${toHex(scenario.lateRecordId).slice(0, 12)}… version 1`),
  );
  assert.match(
    run.stdout,
    /anchored by transaction [0-9a-f]{12}… in block \d+ .* history log at index \d+/,
  );
  assert.match(run.stdout, /through 2 validator-set change\(s\)/);
  const access = buildAccessLogBundle(scenario.chain, {
    patientId: scenario.patientId,
    from: 0,
    to: scenario.auditTimes[2]!,
  });
  const log = medledger('verify', write('access.json', access), '--genesis', genesisPath);
  assert.equal(log.code, 0, log.stderr);
  assert.match(
    log.stdout,
    /access log of patient [0-9a-f]{12}… .*: 4 events \(2 denied, 0 break-glass\)/,
  );
});

test('--json prints one object, verified or not', () => {
  const good = medledger(
    'verify',
    write('record.json', record),
    '--genesis',
    genesisPath,
    '--json',
  );
  assert.equal(good.code, 0);
  const verified = JSON.parse(good.stdout) as { verified: boolean; kind: string };
  assert.deepEqual([verified.verified, verified.kind], [true, 'record-version']);
  const changed = structuredClone(record) as unknown as { headers: Array<{ commit: string }> };
  const commit = changed.headers[0]!.commit;
  changed.headers[0]!.commit = `${commit.slice(0, -2)}${commit.endsWith('00') ? '01' : '00'}`;
  const bad = medledger('verify', write('bad.json', changed), '--genesis', genesisPath, '--json');
  assert.equal(bad.code, 1);
  const failure = JSON.parse(bad.stdout) as { verified: boolean; part: string };
  assert.deepEqual([failure.verified, failure.part], [false, 'headers[0].commit']);
});

test('a changed byte, an edited genesis or a non-bundle fails naming the part', () => {
  const changed = structuredClone(record) as unknown as {
    claim: { anchor: { logPath: string[] } };
  };
  const path = changed.claim.anchor.logPath;
  path[0] = `${path[0]!.startsWith('0') ? '1' : '0'}${path[0]!.slice(1)}`;
  const run = medledger('verify', write('changed.json', changed), '--genesis', genesisPath);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^NOT VERIFIED: claim\.anchor\.logPath: /);
  const edited = { ...scenario.chain.genesis, genesisTime: scenario.chain.genesis.genesisTime + 1 };
  const genesis = medledger(
    'verify',
    write('record.json', record),
    '--genesis',
    write('g.json', edited),
  );
  assert.equal(genesis.code, 1);
  assert.match(genesis.stderr, /^NOT VERIFIED: genesis: the bundle names genesis/);
  const notBundle = medledger('verify', write('x.json', '{"hello": 1}'), '--genesis', genesisPath);
  assert.equal(notBundle.code, 1);
  assert.match(notBundle.stderr, /NOT VERIFIED: bundle\.hello: unexpected field/);
});

test('a missing file is exit 2 with its name; a missing --genesis is a usage error', () => {
  const missing = medledger('verify', join(directory, 'nope.json'), '--genesis', genesisPath);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /bundle .*nope\.json: no such file/);
  const usage = medledger('verify', write('record.json', record));
  assert.notEqual(usage.code, 0);
  assert.match(usage.stderr, /required option '--genesis <file>' not specified/);
});
