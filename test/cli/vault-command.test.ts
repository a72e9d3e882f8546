// Checks `medledger vault rotate-kek` on real SQLite vaults in a temporary node folder, as a real
// child process: records read back under the new KEK, the old KEK no longer opens the vault and is
// destroyed (or kept where asked, 0600); a vault in use, a missing KEK and an existing --keep-old
// file are refused with nothing changed; a rotation interrupted after the vault committed is
// finished by running the command again, and the node's start says so meanwhile.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import {
  explainVaultOpenFailure,
  openNodeVault,
  recordsFiles,
} from '../../src/cli/start-records.ts';
import {
  type VaultKek,
  VaultError,
  generateVaultKek,
  loadVaultKekFile,
  openSqliteRecordVault,
  saveVaultKekFile,
} from '../../src/vault/index.ts';
import { putInput } from '../vault/fixtures.ts';

const directory = mkdtempSync(join(tmpdir(), 'medledger-vault-command-'));
after(() => rmSync(directory, { recursive: true, force: true }));

let nodes = 0;

/** A node folder with a configuration file, a KEK file and a vault of three records. */
async function nodeFolder(): Promise<{ configFile: string; dataDir: string; ids: string[] }> {
  nodes += 1;
  const root = join(directory, `node-${nodes}`);
  const dataDir = join(root, 'data');
  mkdirSync(dataDir, { recursive: true });
  const configFile = join(root, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      genesisFile: 'genesis.json',
      keyFile: 'node.key',
      dataDir: 'data',
      p2p: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
    }),
  );
  const kek = generateVaultKek();
  await saveVaultKekFile({ path: join(dataDir, recordsFiles.kek), kek });
  const vault = await openSqliteRecordVault({ file: join(dataDir, recordsFiles.vault), kek });
  const ids: string[] = [];
  for (let index = 0; index < 3; index++) {
    const input = putInput();
    await vault.put(input);
    ids.push(input.recordId);
  }
  await vault.put({ ...putInput({ recordId: ids[0]!, version: 2 }) });
  await vault.close();
  return { configFile, dataDir, ids };
}

function medledger(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function readsWith(dataDir: string, kek: VaultKek, ids: string[]): Promise<void> {
  const vault = await openNodeVault({ dataDir, kek, config: undefined });
  try {
    for (const recordId of ids) await vault.get({ recordId });
  } finally {
    await vault.close();
  }
}

async function refusedWith(dataDir: string, kek: VaultKek): Promise<void> {
  await assert.rejects(
    openNodeVault({ dataDir, kek, config: undefined }),
    (error: unknown) => error instanceof VaultError && error.code === 'wrong-kek',
  );
}

test('rotate-kek re-wraps every data key; the records read under the new KEK; the old one is destroyed', async () => {
  const { configFile, dataDir, ids } = await nodeFolder();
  const kekPath = join(dataDir, recordsFiles.kek);
  const old = await loadVaultKekFile(kekPath);
  const run = medledger('vault', 'rotate-kek', '--config', configFile);
  assert.equal(run.code, 0, run.stderr);
  const fresh = await loadVaultKekFile(kekPath);
  assert.notEqual(fresh.id, old.id);
  assert.match(
    run.stdout,
    new RegExp(`KEK rotated: ${old.id} → ${fresh.id}, 4 data keys re-wrapped`),
  );
  assert.match(run.stdout, /the old KEK was overwritten and deleted/);
  assert.equal(statSync(kekPath).mode & 0o777, 0o600);
  assert.equal(existsSync(join(dataDir, recordsFiles.kekNext)), false);
  await readsWith(dataDir, fresh, ids);
  await refusedWith(dataDir, old);
});

test('--keep-old keeps the old KEK in a new 0600 file; an existing file is refused first', async () => {
  const { configFile, dataDir, ids } = await nodeFolder();
  const kekPath = join(dataDir, recordsFiles.kek);
  const old = await loadVaultKekFile(kekPath);
  const taken = join(directory, 'taken.json');
  writeFileSync(taken, 'something else');
  const refused = medledger('vault', 'rotate-kek', '--config', configFile, '--keep-old', taken);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /--keep-old .*taken\.json: the file exists; name a new file/);
  assert.equal((await loadVaultKekFile(kekPath)).id, old.id, 'nothing changed');
  await readsWith(dataDir, old, ids);

  const kept = join(directory, `kept-${nodes}.json`);
  const run = medledger('vault', 'rotate-kek', '--config', configFile, '--keep-old', kept);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /the old KEK was kept in .*kept-\d+\.json/);
  assert.equal((await loadVaultKekFile(kept)).id, old.id);
  assert.equal(statSync(kept).mode & 0o777, 0o600);
  await refusedWith(dataDir, old);
  await readsWith(dataDir, await loadVaultKekFile(kekPath), ids);
});

test('a vault in use, a missing KEK file and a missing configuration are refused, naming why', async () => {
  const { configFile, dataDir, ids } = await nodeFolder();
  const kekPath = join(dataDir, recordsFiles.kek);
  const old = await loadVaultKekFile(kekPath);
  const running = await openSqliteRecordVault({
    file: join(dataDir, recordsFiles.vault),
    kek: old,
  });
  try {
    const busy = medledger('vault', 'rotate-kek', '--config', configFile);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /the vault is in use .*stop the node first/);
  } finally {
    await running.close();
  }
  assert.equal((await loadVaultKekFile(kekPath)).id, old.id);
  assert.equal(existsSync(join(dataDir, recordsFiles.kekNext)), false);
  await readsWith(dataDir, old, ids);

  const missing = medledger('vault', 'rotate-kek', '--config', join(directory, 'absent.json'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /absent\.json/);
  const { configFile: bare, dataDir: bareData } = await nodeFolder();
  rmSync(join(bareData, recordsFiles.kek));
  const noKek = medledger('vault', 'rotate-kek', '--config', bare);
  assert.equal(noKek.code, 1);
  assert.match(noKek.stderr, /no vault KEK in the node's data folder/);
});

test('a rotation interrupted after the vault committed: the node start says so; running again finishes it', async () => {
  const { configFile, dataDir, ids } = await nodeFolder();
  const kekPath = join(dataDir, recordsFiles.kek);
  const old = await loadVaultKekFile(kekPath);
  // What a crash between the vault's commit and the file move leaves behind.
  const next = generateVaultKek();
  await saveVaultKekFile({ path: join(dataDir, recordsFiles.kekNext), kek: next });
  const vault = await openSqliteRecordVault({ file: join(dataDir, recordsFiles.vault), kek: old });
  await vault.rotateKek(next);
  await vault.close();
  await refusedWith(dataDir, old);
  // The node, starting with the old KEK file, stops with a message that says how to finish.
  const failure = await openNodeVault({ dataDir, kek: old, config: undefined }).then(
    () => null,
    (error: unknown) => explainVaultOpenFailure(error, dataDir),
  );
  assert.match(String(failure), /A KEK rotation was interrupted .*medledger vault rotate-kek/);

  const run = medledger('vault', 'rotate-kek', '--config', configFile);
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stdout,
    new RegExp(
      `finished an interrupted rotation: the vault is on KEK ${next.id} \\(was ${old.id}\\)`,
    ),
  );
  assert.equal((await loadVaultKekFile(kekPath)).id, next.id);
  assert.equal(existsSync(join(dataDir, recordsFiles.kekNext)), false);
  await readsWith(dataDir, next, ids);

  // A next KEK left by a rotation that never committed is dropped, and a real rotation runs.
  await saveVaultKekFile({ path: join(dataDir, recordsFiles.kekNext), kek: generateVaultKek() });
  const again = medledger('vault', 'rotate-kek', '--config', configFile);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`KEK rotated: ${next.id} → `));
  await readsWith(dataDir, await loadVaultKekFile(kekPath), ids);
});
