// Runs the shared vault cases on the PostgreSQL vault against a real throwaway server started by
// postgres-server.ts (no mocks; the tests fail, never skip, when PostgreSQL is not installed).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import pg from 'pg';

import {
  VaultError,
  VaultErrorCode,
  openPostgresRecordVault,
  vaultKekFromBytes,
} from '../../src/vault/index.ts';
import { checkUpgradedVault, freshId, kekBytesA, putInput } from './fixtures.ts';
import { startPostgresServer, type PostgresServer } from './postgres-server.ts';
import { defineRecordVaultCases, type VaultBackend } from './record-vault-cases.ts';

let server: PostgresServer | null = null;
let client: pg.Client | null = null;

before(async () => {
  server = startPostgresServer();
  client = new pg.Client(server.connection);
  await client.connect();
});

after(async () => {
  await client?.end();
  server?.stop();
});

function connection(): pg.PoolConfig {
  assert.ok(server !== null, 'the test server started');
  return server.connection;
}

async function query(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  assert.ok(client !== null, 'the test client connected');
  return client.query(text, values);
}

let schemas = 0;

const backend: VaultBackend = {
  name: 'postgres',
  newLocation() {
    schemas += 1;
    return Promise.resolve(`vault_test_${schemas}`);
  },
  open: (schema, kek) => openPostgresRecordVault({ connection: connection(), kek, schema }),
  async readColumn({ location, table, column, recordId, version }) {
    const result = await query(
      `SELECT ${column} AS value FROM ${location}.${table} WHERE record_id = $1 AND version = $2`,
      [recordId, version],
    );
    assert.equal(result.rowCount, 1, `row ${recordId} ${version} of ${table}`);
    const value: unknown = (result.rows[0] as { value: unknown }).value;
    // BIGINT arrives as a decimal string; the cases change numbers.
    return column === 'last_updated_ms' ? Number(value) : value;
  },
  async writeColumn({ location, table, column, recordId, version, value }) {
    const result = await query(
      `UPDATE ${location}.${table} SET ${column} = $1 WHERE record_id = $2 AND version = $3`,
      [value, recordId, version],
    );
    assert.equal(result.rowCount, 1);
  },
  async countRows({ location, table, recordId }) {
    const result = await query(
      `SELECT count(*)::int AS n FROM ${location}.${table} WHERE record_id = $1`,
      [recordId],
    );
    return (result.rows[0] as { n: number }).n;
  },
};

defineRecordVaultCases(backend);

const kekA = vaultKekFromBytes(kekBytesA);

test('postgres: a bad schema name is refused before connecting', async () => {
  await assert.rejects(
    openPostgresRecordVault({
      connection: connection(),
      kek: kekA,
      schema: 'Robert"; DROP TABLE x; --',
    }),
    (error: unknown) => {
      assert.ok(error instanceof VaultError);
      assert.equal(error.code, VaultErrorCode.invalidArgument);
      assert.match(error.message, /^schema: expected a lower-case SQL identifier/);
      return true;
    },
  );
});

test('postgres: a schema holding other tables, or a vault of another format, is foreign', async () => {
  await query('CREATE SCHEMA other_app');
  await query('CREATE TABLE other_app.notes (id int)');
  await assert.rejects(
    openPostgresRecordVault({ connection: connection(), kek: kekA, schema: 'other_app' }),
    (error: unknown) => error instanceof VaultError && error.code === VaultErrorCode.foreign,
  );
  const vault = await openPostgresRecordVault({
    connection: connection(),
    kek: kekA,
    schema: 'format_test',
  });
  await vault.put(putInput());
  await vault.close();
  await query("UPDATE format_test.vault_info SET value = '4' WHERE name = 'format'");
  await assert.rejects(
    openPostgresRecordVault({ connection: connection(), kek: kekA, schema: 'format_test' }),
    (error: unknown) => {
      assert.ok(error instanceof VaultError);
      assert.equal(error.code, VaultErrorCode.foreign);
      assert.match(error.message, /format 4; this build reads format 3/);
      return true;
    },
  );
});

for (const format of [1, 2] as const) {
  test(`postgres: a format ${format} vault is upgraded when opened; its versions read, new ones keep a Provenance`, async () => {
    const schema = `format_${format === 1 ? 'one' : 'two'}`;
    const recordId = freshId('rec');
    const vault = await openPostgresRecordVault({ connection: connection(), kek: kekA, schema });
    await vault.put(putInput({ recordId }));
    await vault.put(putInput({ recordId, version: 2 }));
    await vault.close();
    // Back to the format an older build left.
    await query(`ALTER TABLE ${schema}.vault_versions DROP COLUMN provenance`);
    if (format === 1) await query(`DROP TABLE ${schema}.vault_superseded`);
    else await query(`ALTER TABLE ${schema}.vault_superseded DROP COLUMN provenance`);
    await query(`UPDATE ${schema}.vault_info SET value = $1 WHERE name = 'format'`, [
      String(format),
    ]);
    await checkUpgradedVault(
      await openPostgresRecordVault({ connection: connection(), kek: kekA, schema }),
      recordId,
    );
    const stored = await query(`SELECT value FROM ${schema}.vault_info WHERE name = 'format'`);
    assert.equal((stored.rows[0] as { value: string }).value, '3');
    const superseded = await query(`SELECT count(*)::int AS n FROM ${schema}.vault_superseded`);
    assert.equal((superseded.rows[0] as { n: number }).n, 1);
  });
}
test('postgres: an exclusive open holds the schema until closed; a shared open still works', async () => {
  const schema = 'exclusive_test';
  const first = await openPostgresRecordVault({
    connection: connection(),
    kek: kekA,
    schema,
    exclusive: true,
  });
  try {
    await first.put(putInput());
    await assert.rejects(
      openPostgresRecordVault({ connection: connection(), kek: kekA, schema, exclusive: true }),
      (error: unknown) => {
        assert.ok(error instanceof VaultError);
        assert.equal(error.code, VaultErrorCode.storage);
        assert.match(error.message, /schema exclusive_test is locked by another process/);
        return true;
      },
    );
    // Tools that share the schema are not locked out.
    const shared = await openPostgresRecordVault({ connection: connection(), kek: kekA, schema });
    await shared.close();
  } finally {
    await first.close();
  }
  const again = await openPostgresRecordVault({
    connection: connection(),
    kek: kekA,
    schema,
    exclusive: true,
  });
  await again.close();
});

test('postgres: an unreachable server is a storage error naming the failure', async () => {
  await assert.rejects(
    openPostgresRecordVault({
      connection: { ...connection(), database: 'no_such_database' },
      kek: kekA,
      schema: 'x',
    }),
    (error: unknown) => {
      assert.ok(error instanceof VaultError);
      assert.equal(error.code, VaultErrorCode.storage);
      assert.match(error.message, /no_such_database/);
      return true;
    },
  );
});

test('postgres: two vault objects on one schema serialise puts of one record', async () => {
  const one = await openPostgresRecordVault({
    connection: connection(),
    kek: kekA,
    schema: 'shared_test',
  });
  const two = await openPostgresRecordVault({
    connection: connection(),
    kek: kekA,
    schema: 'shared_test',
  });
  try {
    const input = putInput({ recordId: 'raced' });
    const results = await Promise.allSettled([one.put(input), two.put(input)]);
    assert.deepEqual(results.map((result) => result.status).sort(), ['fulfilled', 'rejected']);
    const failure = results.find((result) => result.status === 'rejected');
    assert.ok(
      failure?.reason instanceof VaultError &&
        failure.reason.code === VaultErrorCode.versionConflict,
    );
    assert.equal((await two.get({ recordId: 'raced' })).meta.version, 1);
  } finally {
    await one.close();
    await two.close();
  }
});
