// Checks a node whose vault is PostgreSQL (decision 0064) among four real node processes on
// 127.0.0.1, against a real throwaway PostgreSQL server: a world-readable password file stops the
// node at start with a message naming it; with a private one, a create and a read go through, the
// version's row, encrypted, is in the server's vault schema, and no SQLite vault file is made;
// `medledger vault rotate-kek` is refused while the node holds the vault and works once it is
// stopped, and the restarted node reads its records under the new KEK.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { Observation } from '@medplum/fhirtypes';
import pg from 'pg';

import { toHex } from '../../src/base/index.ts';
import { type DemoUser, fhirRequest, issueDemoToken } from '../../src/cli/index.ts';
import { generateEd25519KeyPair } from '../../src/keys/index.ts';
import type { TestNetwork } from '../net/harness.ts';
import { type PostgresServer, startPostgresServer } from '../vault/postgres-server.ts';
import { startNetworkWithStaff } from './network-with-staff.ts';

const custodian = 0;
const schema = 'vault_node_0';

let network: TestNetwork;
let server: PostgresServer;
const patientKey = generateEd25519KeyPair();
const patientId = toHex(patientKey.publicKey.slice(0, 16));

function practitioner(): DemoUser {
  return { kind: 'practitioner', orgId: network.nodes[custodian]!.orgId, practitionerId: 'dr-pia' };
}

async function token(): Promise<string> {
  return issueDemoToken({
    dataDir: network.nodes[custodian]!.dataDir,
    baseUrl: network.url(custodian),
    user: practitioner(),
  });
}

/** Points node 0's configuration at the PostgreSQL server, with `passwordFile`. */
function usePostgresVault(passwordFile: string): void {
  const file = network.nodes[custodian]!.configFile;
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const connection = server.connection;
  config.vault = {
    backend: 'postgres',
    host: connection.host,
    port: connection.port,
    user: connection.user,
    database: connection.database,
    schema,
    passwordFile,
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
}

before(async () => {
  server = startPostgresServer();
  network = await startNetworkWithStaff({ custodian, practitionerId: 'dr-pia', patientKey });
});

after(async () => {
  await network?.destroy();
  server?.stop();
});

test('a PostgreSQL vault: a readable password file is refused at start; then records live in the server', async () => {
  const process = network.processes[custodian]!;
  assert.equal(await process.stop(), 0);
  // The node started on the embedded vault; it holds nothing yet, and must not come back.
  for (const suffix of ['', '-wal', '-shm']) {
    rmSync(join(network.nodes[custodian]!.dataDir, `vault.sqlite${suffix}`), { force: true });
  }
  const passwordFile = join(network.dir, 'vault-password');
  // The test server trusts its socket; the password is read all the same.
  writeFileSync(passwordFile, 'not-used-by-a-trusting-server\n', { mode: 0o644 });
  chmodSync(passwordFile, 0o644);
  usePostgresVault(passwordFile);
  await assert.rejects(process.start(), (error: unknown) => {
    assert.match(
      String(error),
      /vault\.passwordFile .*vault-password has mode 0644: .*run chmod 600/,
    );
    return true;
  });
  chmodSync(passwordFile, 0o600);
  await process.start();

  const bearer = await token();
  const observation: Observation = {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '2339-0', display: 'synthetic test' }] },
    subject: { reference: `Patient/${patientId}` },
    valueString: 'kept in PostgreSQL',
  };
  const created = await fhirRequest<Observation>({
    url: network.url(custodian),
    token: bearer,
    method: 'POST',
    path: 'Observation',
    body: observation,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id!;
  const read = await fhirRequest<Observation>({
    url: network.url(custodian),
    token: bearer,
    method: 'GET',
    path: `Observation/${id}`,
  });
  assert.equal(read.status, 200);
  assert.equal(read.body.valueString, 'kept in PostgreSQL');

  const client = new pg.Client(server.connection);
  await client.connect();
  try {
    const rows = await client.query(
      `SELECT version, length(ciphertext) > 0 AS sealed FROM ${schema}.vault_versions WHERE record_id = $1`,
      [id],
    );
    assert.deepEqual(rows.rows, [{ version: 1, sealed: true }]);
    // The clinical content is encrypted: the value is nowhere in the row's clear columns.
    const clear = await client.query(
      `SELECT record_id, resource_type, patient_id, security_labels FROM ${schema}.vault_versions WHERE record_id = $1`,
      [id],
    );
    assert.doesNotMatch(JSON.stringify(clear.rows), /kept in PostgreSQL/);
  } finally {
    await client.end();
  }
  assert.equal(existsSync(join(network.nodes[custodian]!.dataDir, 'vault.sqlite')), false);

  // KEK rotation: refused while the node holds its PostgreSQL vault, done once it is stopped,
  // and the node reads its records under the new KEK after its restart.
  const configFile = network.nodes[custodian]!.configFile;
  const busy = medledger('vault', 'rotate-kek', '--config', configFile);
  assert.equal(busy.code, 1, busy.stdout);
  assert.match(busy.stderr, /the vault is in use .*stop the node first/);
  assert.equal(await process.stop(), 0);
  const rotated = medledger('vault', 'rotate-kek', '--config', configFile);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.match(rotated.stdout, /KEK rotated: \S+ → \S+, [1-9]\d* data keys re-wrapped/);
  await process.start();
  const after = await fhirRequest<Observation>({
    url: network.url(custodian),
    token: await token(),
    method: 'GET',
    path: `Observation/${id}`,
  });
  assert.equal(after.status, 200);
  assert.equal(after.body.valueString, 'kept in PostgreSQL');
});

function medledger(...args: string[]) {
  const result = spawnSync(
    globalThis.process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', ...args],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
