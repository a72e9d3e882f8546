// Runs the real `medledger` command as child processes: init writes a 0600 key, genesis writes a
// document the contracts accept, and every wrong argument or missing file ends with one line on
// stderr naming it and a non-zero exit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { findFreePorts } from '../../src/cli/index.ts';
import { parseGenesisDocument } from '../../src/contracts/index.ts';

const bin = fileURLToPath(new URL('../../bin/medledger.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'medledger-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function medledger(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
}

/** A failed run: non-zero exit, nothing on stdout, one line on stderr matching `message`. */
function assertFails(run: ReturnType<typeof medledger>, message: RegExp) {
  assert.notEqual(run.status, 0, run.stdout);
  assert.match(run.stderr, message);
  const lines = run.stderr
    .trim()
    .split('\n')
    .filter((line) => !line.startsWith('(run medledger'));
  assert.equal(lines.length, 1, `one line on stderr, found:\n${run.stderr}`);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
}

function nodeKeyOf(output: string): string {
  const match = /node key +([0-9a-f]{64})/.exec(output);
  assert.ok(match, output);
  return match[1]!;
}

test('init writes a 0600 node key, prints it, and refuses to overwrite it without --force', () => {
  const first = medledger('init', '--org', 'st-mary-hospital', '--dir', join(dir, 'hospital'));
  assert.equal(first.status, 0, first.stderr);
  const key = nodeKeyOf(first.stdout);
  const file = join(dir, 'hospital', 'node.key');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { publicKey: string }).publicKey, key);

  assertFails(
    medledger('init', '--org', 'st-mary-hospital', '--dir', join(dir, 'hospital')),
    /already exists; refusing to overwrite it \(pass --force/,
  );
  const forced = medledger(
    'init',
    '--org',
    'st-mary-hospital',
    '--dir',
    join(dir, 'hospital'),
    '--force',
  );
  assert.equal(forced.status, 0, forced.stderr);
  assert.notEqual(nodeKeyOf(forced.stdout), key);
});

test('init refuses a bad organisation id, a file as folder and missing options', () => {
  assertFails(
    medledger('init', '--org', 'St Mary', '--dir', join(dir, 'x')),
    /--org: expected a lower-case organisation id .* found "St Mary"/,
  );
  writeFileSync(join(dir, 'plain-file'), 'x');
  assertFails(
    medledger('init', '--org', 'clinic', '--dir', join(dir, 'plain-file')),
    /--dir: .*plain-file exists and is not a folder/,
  );
  assertFails(medledger('init', '--org', 'clinic'), /required option '--dir <dir>' not specified/);
});

test('genesis writes a document that parseGenesisDocument accepts, all members validators by default', () => {
  const keys = ['clinic', 'laboratory', 'payer'].map((org) => {
    const run = medledger('init', '--org', org, '--dir', join(dir, org));
    assert.equal(run.status, 0, run.stderr);
    return nodeKeyOf(run.stdout);
  });
  const out = join(dir, 'genesis.json');
  const run = medledger(
    'genesis',
    '--chain-id',
    'test-chain',
    '--member',
    `clinic:${keys[0]}:clinic`,
    '--member',
    `laboratory:${keys[1]}:laboratory,break-glass`,
    '--member',
    `payer:${keys[2]}::0`,
    '--out',
    out,
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /3 members, 2 validators/);
  const genesis = parseGenesisDocument(JSON.parse(readFileSync(out, 'utf8')));
  assert.equal(genesis.chainId, 'test-chain');
  assert.deepEqual(
    genesis.members.map((m) => [m.orgId, m.roles]),
    [
      ['clinic', ['clinic']],
      ['laboratory', ['laboratory', 'break-glass']],
      ['payer', []],
    ],
  );
  assert.deepEqual(genesis.validators, [
    { nodeKey: keys[0], power: 1 },
    { nodeKey: keys[1], power: 1 },
  ]);
  assert.ok(Math.abs(genesis.genesisTime - Date.now()) < 10 * 60_000, 'genesis time is now');

  const membersFile = join(dir, 'members.json');
  writeFileSync(
    membersFile,
    JSON.stringify([{ orgId: 'clinic', nodeKey: keys[0], roles: ['clinic'], power: 3 }]),
  );
  const fromFile = medledger(
    'genesis',
    '--chain-id',
    'file-chain',
    '--members',
    membersFile,
    '--out',
    join(dir, 'g2.json'),
  );
  assert.equal(fromFile.status, 0, fromFile.stderr);
  const second = parseGenesisDocument(JSON.parse(readFileSync(join(dir, 'g2.json'), 'utf8')));
  assert.deepEqual(second.validators, [{ nodeKey: keys[0], power: 3 }]);
});

test('genesis refuses every wrong member, file and combination with a line naming it', () => {
  const key = 'a'.repeat(64);
  const out = join(dir, 'never.json');
  assertFails(
    medledger('genesis', '--chain-id', 'c', '--member', 'clinic', '--out', out),
    /--member: expected <orgId>:<nodeKeyHex>:<roles>\[:<power>\], found "clinic"/,
  );
  assertFails(
    medledger('genesis', '--chain-id', 'c', '--member', 'clinic:abcd:clinic', '--out', out),
    /expected the node key as 64 lower-case hex digits, found "abcd"/,
  );
  assertFails(
    medledger('genesis', '--chain-id', 'c', '--member', `Clinic:${key}:clinic`, '--out', out),
    /organisation id "Clinic" is not a lower-case identifier/,
  );
  assertFails(
    medledger('genesis', '--chain-id', 'c', '--member', `clinic:${key}:clinic:many`, '--out', out),
    /expected the power as a whole number, found "many"/,
  );
  // 'a' * 64 is not a point of Ed25519: the contracts' genesis check refuses it.
  assertFails(
    medledger('genesis', '--chain-id', 'c', '--member', `clinic:${key}:clinic`, '--out', out),
    /genesis members\[0\]\.nodeKey: .* is not a valid Ed25519 public key/,
  );
  assertFails(
    medledger('genesis', '--chain-id', 'c', '--out', out),
    /expected at least one --member or a --members file/,
  );
  assertFails(
    medledger('genesis', '--chain-id', 'c', '--members', join(dir, 'missing.json'), '--out', out),
    /--members: file .*missing\.json does not exist/,
  );
  writeFileSync(join(dir, 'bad-members.json'), '{');
  assertFails(
    medledger(
      'genesis',
      '--chain-id',
      'c',
      '--members',
      join(dir, 'bad-members.json'),
      '--out',
      out,
    ),
    /is not valid JSON/,
  );
  assertFails(
    medledger(
      'genesis',
      '--chain-id',
      'c',
      '--member',
      `clinic:${key}:x`,
      '--members',
      join(dir, 'bad-members.json'),
      '--out',
      out,
    ),
    /either --member \(repeated\) or --members <file>, not both/,
  );
  assertFails(
    medledger(
      'genesis',
      '--chain-id',
      'c',
      '--members',
      join(dir, 'members.json'),
      '--out',
      join(dir, 'genesis.json'),
    ),
    /--out: .*genesis\.json already exists/,
  );
  assertFails(
    medledger('genesis', '--member', `clinic:${key}:x`, '--out', out),
    /required option '--chain-id <id>' not specified/,
  );
});

test('node start and status refuse missing files and bad addresses in one line', async () => {
  assertFails(
    medledger('node', 'start', '--config', join(dir, 'nowhere.json')),
    /config file .*nowhere\.json does not exist/,
  );
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      genesisFile: 'g.json',
      keyFile: 'k',
      dataDir: 'd',
      p2p: { host: '127.0.0.1', port: 0 },
    }),
  );
  assertFails(
    medledger('node', 'start', '--config', join(dir, 'config.json')),
    /config\.json: config http: missing/,
  );
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      genesisFile: 'missing-genesis.json',
      keyFile: 'k',
      dataDir: 'd',
      p2p: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
    }),
  );
  assertFails(
    medledger('node', 'start', '--config', join(dir, 'config.json')),
    /missing-genesis\.json/,
  );
  assertFails(medledger('node', 'start'), /required option '--config <file>' not specified/);
  assertFails(
    medledger('status', '--url', 'not a url'),
    /--url: expected http:\/\/host:port, found "not a url"/,
  );
  assertFails(
    medledger('status', '--url', 'ftp://127.0.0.1:1'),
    /--url: expected an http:\/\/ or https:\/\/ URL/,
  );
  assertFails(
    medledger('status', '--url', 'http://127.0.0.1:1/chain'),
    /--url: expected only scheme, host and port/,
  );
  // A port that was free a moment ago: nothing listens there.
  const [port] = await findFreePorts(1);
  assertFails(
    medledger('status', '--url', `http://127.0.0.1:${port}`),
    new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/chain/status: ECONNREFUSED`),
  );
});
