/**
 * The vault on PostgreSQL (`pg`), for a member that outgrows one machine (DESIGN.md "Storage"):
 * the same tables as the SQLite vault in a schema of its own, the same checks in the same
 * transactions. Durability is the server's: run it with `fsync = on` and `synchronous_commit =
 * on` (the defaults). Several vault processes may share one database; `put` and `rotateKek`
 * serialise on the vault's KEK row (`FOR SHARE` / `FOR UPDATE`), so a rotation never misses a
 * data key written beside it.
 *
 * Erasure on PostgreSQL: an `UPDATE` or `DELETE` leaves the old row version in the table file
 * until `VACUUM` reclaims it, and in the write-ahead log until it is recycled. `erasePatient`
 * overwrites, deletes and then vacuums the data key table; what remains in WAL archives and
 * backups is covered by rotating the KEK and destroying the old one (README.md "Erasure").
 */
import pg from 'pg';
import type { PoolClient, PoolConfig } from 'pg';

import { VaultError, VaultErrorCode } from './errors.ts';
import type { VaultKek } from './kek.ts';
import { isVaultKek } from './kek.ts';
import { vaultLimits } from './limits.ts';
import type { WrappedDataKey } from './record-cipher.ts';
import {
  checkNextVersion,
  createRecordVault,
  wrongKekError,
  type RecordVault,
  type StoredKeyRow,
  type StoredVersionRow,
  type VaultStorage,
} from './record-vault.ts';
import {
  encodeLabels,
  fullVersionColumns,
  supersededColumns,
  keyFromColumns,
  metaFromColumns,
  versionColumns,
  versionFromColumns,
} from './storage-rows.ts';

/**
 * The vault format this build writes and reads (row `format` of `vault_info`). Format 2 added
 * `vault_superseded` (decision 0062), format 3 the `provenance` column of versions (decision
 * 0080); a vault of an earlier format is upgraded when opened.
 */
export const postgresVaultFormat = 3;

/** Default schema of the vault's tables. */
export const postgresVaultSchemaDefault = 'medledger_vault';

const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/** Versions set aside by a put that replaced them before their anchor committed (0062). */
function supersededTableOf(schema: string): string {
  return `
CREATE TABLE ${schema}.vault_superseded (
  record_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  content_hash BYTEA NOT NULL,
  resource_type TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  last_updated_ms BIGINT NOT NULL,
  security_labels TEXT NOT NULL,
  deleted BOOLEAN NOT NULL,
  erased BOOLEAN NOT NULL,
  salt BYTEA NOT NULL,
  nonce BYTEA NOT NULL,
  ciphertext BYTEA NOT NULL,
  tag BYTEA NOT NULL,
  kek_id TEXT NOT NULL,
  wrap_nonce BYTEA NOT NULL,
  wrapped_key BYTEA NOT NULL,
  provenance BYTEA,
  PRIMARY KEY (record_id, version, content_hash)
);
CREATE INDEX ON ${schema}.vault_superseded (patient_id);`;
}

function tablesOf(schema: string): string {
  return `
CREATE TABLE ${schema}.vault_info (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE ${schema}.vault_records (
  record_id TEXT PRIMARY KEY,
  resource_type TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  latest_version INTEGER NOT NULL,
  erased BOOLEAN NOT NULL
);
CREATE INDEX ON ${schema}.vault_records (patient_id, record_id);
CREATE INDEX ON ${schema}.vault_records (resource_type, record_id);
CREATE TABLE ${schema}.vault_versions (
  record_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  resource_type TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  last_updated_ms BIGINT NOT NULL,
  security_labels TEXT NOT NULL,
  deleted BOOLEAN NOT NULL,
  erased BOOLEAN NOT NULL,
  salt BYTEA NOT NULL,
  content_hash BYTEA NOT NULL,
  nonce BYTEA NOT NULL,
  ciphertext BYTEA NOT NULL,
  tag BYTEA NOT NULL,
  provenance BYTEA,
  PRIMARY KEY (record_id, version)
);
CREATE INDEX ON ${schema}.vault_versions (patient_id);
CREATE TABLE ${schema}.vault_data_keys (
  record_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  kek_id TEXT NOT NULL,
  wrap_nonce BYTEA NOT NULL,
  wrapped_key BYTEA NOT NULL,
  PRIMARY KEY (record_id, version)
);
${supersededTableOf(schema)}`;
}

function buffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function storageError(error: unknown, doing: string): Error {
  if (error instanceof VaultError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const isDatabaseError = error instanceof pg.DatabaseError;
  const isSystemError = error instanceof Error && typeof code === 'string';
  if (
    !isDatabaseError &&
    !isSystemError &&
    !(error instanceof Error && /connect|terminat|timeout/i.test(error.message))
  ) {
    return error instanceof Error ? error : new Error(String(error));
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new VaultError(
    VaultErrorCode.storage,
    `PostgreSQL vault: ${doing} failed: ${reason}${typeof code === 'string' ? ` (${code})` : ''}`,
    { code },
  );
}

async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    client.release();
  }
}

async function initialise(pool: pg.Pool, schema: string, kek: VaultKek): Promise<void> {
  await inTransaction(pool, async (client) => {
    // Two processes opening a new vault at once: the second waits and then finds it made.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`medledger-vault:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    const exists = await client.query<{ found: string | null }>(
      'SELECT to_regclass($1)::text AS found',
      [`${schema}.vault_info`],
    );
    if (exists.rows[0]?.found === null || exists.rows[0]?.found === undefined) {
      const tables = await client.query<{ n: string }>(
        'SELECT count(*)::text AS n FROM information_schema.tables WHERE table_schema = $1',
        [schema],
      );
      if (tables.rows[0]?.n !== '0') {
        throw new VaultError(
          VaultErrorCode.foreign,
          `schema ${schema} holds tables but no MedLedger vault`,
          { schema },
        );
      }
      await client.query(tablesOf(schema));
      await client.query(
        `INSERT INTO ${schema}.vault_info (name, value) VALUES ('format', $1), ('kek_id', $2)`,
        [String(postgresVaultFormat), kek.id],
      );
      return;
    }
    const info = await client.query<{ name: string; value: string }>(
      `SELECT name, value FROM ${schema}.vault_info`,
    );
    const values = new Map(info.rows.map((row) => [row.name, row.value]));
    const format = values.get('format');
    if (format === '1' || format === '2') {
      // Format 1 had no superseded versions; its table is made as format 3 has it.
      if (format === '1') await client.query(supersededTableOf(schema));
      else await client.query(`ALTER TABLE ${schema}.vault_superseded ADD COLUMN provenance BYTEA`);
      await client.query(`ALTER TABLE ${schema}.vault_versions ADD COLUMN provenance BYTEA`);
      await client.query(`UPDATE ${schema}.vault_info SET value = $1 WHERE name = 'format'`, [
        String(postgresVaultFormat),
      ]);
      values.set('format', String(postgresVaultFormat));
    }
    if (values.get('format') !== String(postgresVaultFormat)) {
      throw new VaultError(
        VaultErrorCode.foreign,
        `schema ${schema} holds a vault of format ${values.get('format') ?? 'unknown'}; this build reads format ${postgresVaultFormat} only`,
        { schema },
      );
    }
    const vaultKekId = values.get('kek_id');
    if (vaultKekId === undefined)
      throw new VaultError(
        VaultErrorCode.integrity,
        `schema ${schema}: the vault's KEK id is missing`,
        { schema },
      );
    if (vaultKekId !== kek.id) throw wrongKekError({ vaultKekId, givenKekId: kek.id });
  });
}

function postgresStorage(pool: pg.Pool, schema: string, beforeClose: () => void): VaultStorage {
  const t = {
    info: `${schema}.vault_info`,
    records: `${schema}.vault_records`,
    versions: `${schema}.vault_versions`,
    keys: `${schema}.vault_data_keys`,
    superseded: `${schema}.vault_superseded`,
  };
  const patientVersions = `SELECT record_id, version FROM ${t.versions} WHERE patient_id = $1 AND NOT erased`;

  async function run<T>(doing: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw storageError(error, doing);
    }
  }

  async function insertVersion(
    row: StoredVersionRow,
    options: { replaceUnanchored: boolean },
  ): Promise<void> {
    await inTransaction(pool, async (client) => {
      const kek = await client.query<{ value: string }>(
        `SELECT value FROM ${t.info} WHERE name = 'kek_id' FOR SHARE`,
      );
      const kekId = kek.rows[0]?.value ?? 'none';
      if (row.key === null || row.key.kekId !== kekId)
        throw wrongKekError({ vaultKekId: kekId, givenKekId: row.key?.kekId ?? 'none' });
      const head = await client.query<{
        latest_version: number;
        resource_type: string;
        patient_id: string;
        erased: boolean;
      }>(
        `SELECT latest_version, resource_type, patient_id, erased FROM ${t.records} WHERE record_id = $1 FOR UPDATE`,
        [row.recordId],
      );
      const found = head.rows[0];
      const { replaces } = checkNextVersion(
        found === undefined
          ? null
          : {
              latestVersion: found.latest_version,
              resourceType: found.resource_type,
              patientId: found.patient_id,
              erased: found.erased,
            },
        row,
        options,
      );
      if (replaces) {
        await client.query(
          `INSERT INTO ${t.superseded} (${supersededColumns.replaceAll('v.', '')}) SELECT ${fullVersionColumns} FROM ${t.versions} v JOIN ${t.keys} k ON k.record_id = v.record_id AND k.version = v.version WHERE v.record_id = $1 AND v.version = $2`,
          [row.recordId, row.version],
        );
        await client.query(`DELETE FROM ${t.keys} WHERE record_id = $1 AND version = $2`, [
          row.recordId,
          row.version,
        ]);
        await client.query(`DELETE FROM ${t.versions} WHERE record_id = $1 AND version = $2`, [
          row.recordId,
          row.version,
        ]);
      }
      if (found === undefined) {
        const inserted = await client.query(
          `INSERT INTO ${t.records} (record_id, resource_type, patient_id, latest_version, erased) VALUES ($1, $2, $3, $4, false) ON CONFLICT (record_id) DO NOTHING`,
          [row.recordId, row.resourceType, row.patientId, row.version],
        );
        if (inserted.rowCount !== 1) {
          throw new VaultError(
            VaultErrorCode.versionConflict,
            `record ${row.recordId}: version ${row.version} was stored by another writer at the same time`,
            { recordId: row.recordId, found: row.version },
          );
        }
      } else {
        await client.query(`UPDATE ${t.records} SET latest_version = $1 WHERE record_id = $2`, [
          row.version,
          row.recordId,
        ]);
      }
      await client.query(
        `INSERT INTO ${t.versions} (record_id, version, resource_type, patient_id, last_updated_ms, security_labels, deleted, erased, salt, content_hash, nonce, ciphertext, tag, provenance) VALUES ($1, $2, $3, $4, $5, $6, $7, false, $8, $9, $10, $11, $12, $13)`,
        [
          row.recordId,
          row.version,
          row.resourceType,
          row.patientId,
          String(row.lastUpdatedMs),
          encodeLabels(row.securityLabels),
          row.deleted,
          buffer(row.salt),
          buffer(row.contentHash),
          buffer(row.nonce),
          buffer(row.ciphertext),
          buffer(row.tag),
          row.provenance === null ? null : buffer(row.provenance),
        ],
      );
      await client.query(
        `INSERT INTO ${t.keys} (record_id, version, kek_id, wrap_nonce, wrapped_key) VALUES ($1, $2, $3, $4, $5)`,
        [
          row.recordId,
          row.version,
          row.key.kekId,
          buffer(row.key.wrapNonce),
          buffer(row.key.wrappedKey),
        ],
      );
    });
  }

  /** Re-wraps the data keys kept with superseded versions, a page at a time; returns how many. */
  async function rewrapSuperseded(
    client: PoolClient,
    rewrap: (row: StoredKeyRow) => WrappedDataKey,
  ): Promise<number> {
    let count = 0;
    let after: [string, number, Buffer] = ['', 0, Buffer.alloc(0)];
    for (;;) {
      const page = await client.query(
        `SELECT record_id, version, content_hash, kek_id, wrap_nonce, wrapped_key FROM ${t.superseded} WHERE (record_id COLLATE "C", version, content_hash) > ($1 COLLATE "C", $2, $3) ORDER BY record_id COLLATE "C", version, content_hash LIMIT $4`,
        [...after, vaultLimits.rotationBatchRows],
      );
      const rows = page.rows as Array<Record<string, unknown>>;
      for (const columns of rows) {
        const row = keyFromColumns(columns);
        const wrapped = rewrap(row);
        await client.query(
          `UPDATE ${t.superseded} SET kek_id = $1, wrap_nonce = $2, wrapped_key = $3 WHERE record_id = $4 AND version = $5 AND content_hash = $6`,
          [
            wrapped.kekId,
            buffer(wrapped.wrapNonce),
            buffer(wrapped.wrappedKey),
            row.recordId,
            row.version,
            columns.content_hash,
          ],
        );
      }
      count += rows.length;
      const last = rows[rows.length - 1];
      if (last === undefined || rows.length < vaultLimits.rotationBatchRows) break;
      const lastKey = keyFromColumns(last);
      after = [lastKey.recordId, lastKey.version, last.content_hash as Buffer];
    }
    return count;
  }

  return {
    backend: 'postgres',
    // No group commit here: a row is taken by committing it, and each put waits for the last.
    insertVersion: (row, options) =>
      run('storing a record version', async () => {
        await insertVersion(row, options);
        return { committed: Promise.resolve() };
      }),
    readVersion: (recordId, version) =>
      run('reading a record version', async () => {
        const result =
          version === null
            ? await pool.query(
                `SELECT ${fullVersionColumns} FROM ${t.records} r JOIN ${t.versions} v ON v.record_id = r.record_id AND v.version = r.latest_version LEFT JOIN ${t.keys} k ON k.record_id = v.record_id AND k.version = v.version WHERE r.record_id = $1`,
                [recordId],
              )
            : await pool.query(
                `SELECT ${fullVersionColumns} FROM ${t.versions} v LEFT JOIN ${t.keys} k ON k.record_id = v.record_id AND k.version = v.version WHERE v.record_id = $1 AND v.version = $2`,
                [recordId, version],
              );
        const columns = result.rows[0] as Record<string, unknown> | undefined;
        return columns === undefined ? null : versionFromColumns(columns);
      }),
    readSuperseded: (recordId, version, contentHash) =>
      run('reading a superseded record version', async () => {
        const result = await pool.query(
          `SELECT ${supersededColumns} FROM ${t.superseded} v WHERE v.record_id = $1 AND v.version = $2 AND v.content_hash = $3`,
          [recordId, version, buffer(contentHash)],
        );
        const columns = result.rows[0] as Record<string, unknown> | undefined;
        return columns === undefined ? null : versionFromColumns(columns);
      }),
    readHistory: (recordId) =>
      run('reading a record history', async () => {
        const result = await pool.query(
          `SELECT ${versionColumns} FROM ${t.versions} v WHERE v.record_id = $1 ORDER BY v.version LIMIT $2`,
          [recordId, vaultLimits.versionsPerRecordMax],
        );
        return (result.rows as Array<Record<string, unknown>>).map(metaFromColumns);
      }),
    listCurrent: (query) =>
      run('listing records', async () => {
        const result = await pool.query(
          `SELECT ${versionColumns} FROM ${t.records} r JOIN ${t.versions} v ON v.record_id = r.record_id AND v.version = r.latest_version WHERE ($1::text IS NULL OR r.resource_type = $1) AND ($2::text IS NULL OR r.patient_id = $2) AND ($3::text IS NULL OR r.record_id COLLATE "C" > $3) ORDER BY r.record_id COLLATE "C" LIMIT $4`,
          [query.resourceType, query.patientId, query.after, query.limit],
        );
        return (result.rows as Array<Record<string, unknown>>).map(metaFromColumns);
      }),
    erasePatient: (patientId) =>
      run('erasing a patient', async () => {
        const versions = await inTransaction(pool, async (client) => {
          const found = await client.query<{ record_id: string; version: number }>(
            `${patientVersions} ORDER BY record_id COLLATE "C", version FOR UPDATE`,
            [patientId],
          );
          await client.query(
            `UPDATE ${t.keys} SET kek_id = '', wrap_nonce = decode(repeat('00', length(wrap_nonce)), 'hex'), wrapped_key = decode(repeat('00', length(wrapped_key)), 'hex') WHERE (record_id, version) IN (${patientVersions})`,
            [patientId],
          );
          await client.query(
            `DELETE FROM ${t.keys} WHERE (record_id, version) IN (${patientVersions})`,
            [patientId],
          );
          await client.query(
            `UPDATE ${t.versions} SET erased = true, ciphertext = ''::bytea, provenance = NULL WHERE patient_id = $1 AND NOT erased`,
            [patientId],
          );
          await client.query(`UPDATE ${t.records} SET erased = true WHERE patient_id = $1`, [
            patientId,
          ]);
          await client.query(
            `UPDATE ${t.superseded} SET kek_id = '', wrap_nonce = decode(repeat('00', length(wrap_nonce)), 'hex'), wrapped_key = decode(repeat('00', length(wrapped_key)), 'hex'), ciphertext = ''::bytea, provenance = NULL WHERE patient_id = $1`,
            [patientId],
          );
          await client.query(`DELETE FROM ${t.superseded} WHERE patient_id = $1`, [patientId]);
          return found.rows.map((row) => ({ recordId: row.record_id, version: row.version }));
        });
        // Reclaim the dead row versions that still hold the wrapped keys (see the file header).
        await pool.query(`VACUUM ${t.keys}`);
        await pool.query(`VACUUM ${t.superseded}`);
        return versions;
      }),
    rewrapAll: ({ fromKekId, toKekId, rewrap }) =>
      run('rotating the KEK', () =>
        inTransaction(pool, async (client) => {
          const kek = await client.query<{ value: string }>(
            `SELECT value FROM ${t.info} WHERE name = 'kek_id' FOR UPDATE`,
          );
          const current = kek.rows[0]?.value ?? 'none';
          if (current !== fromKekId)
            throw wrongKekError({ vaultKekId: current, givenKekId: fromKekId });
          let count = 0;
          let after: [string, number] = ['', 0];
          for (;;) {
            const page = await client.query(
              `SELECT record_id, version, kek_id, wrap_nonce, wrapped_key FROM ${t.keys} WHERE (record_id COLLATE "C", version) > ($1 COLLATE "C", $2) ORDER BY record_id COLLATE "C", version LIMIT $3`,
              [after[0], after[1], vaultLimits.rotationBatchRows],
            );
            const rows = (page.rows as Array<Record<string, unknown>>).map(keyFromColumns);
            if (rows.length > 0) {
              const wrapped = rows.map((row) => rewrap(row));
              // One statement per batch: the new wrappings as parallel arrays.
              await client.query(
                `UPDATE ${t.keys} AS k SET kek_id = u.kek_id, wrap_nonce = u.wrap_nonce, wrapped_key = u.wrapped_key FROM unnest($1::text[], $2::int[], $3::text[], $4::bytea[], $5::bytea[]) AS u(record_id, version, kek_id, wrap_nonce, wrapped_key) WHERE k.record_id = u.record_id AND k.version = u.version`,
                [
                  rows.map((row) => row.recordId),
                  rows.map((row) => row.version),
                  wrapped.map((key) => key.kekId),
                  wrapped.map((key) => buffer(key.wrapNonce)),
                  wrapped.map((key) => buffer(key.wrappedKey)),
                ],
              );
            }
            count += rows.length;
            const last = rows[rows.length - 1];
            if (last === undefined || rows.length < vaultLimits.rotationBatchRows) break;
            after = [last.recordId, last.version];
          }
          count += await rewrapSuperseded(client, rewrap);
          await client.query(`UPDATE ${t.info} SET value = $1 WHERE name = 'kek_id'`, [toKekId]);
          return count;
        }),
      ),
    close: () =>
      run('closing', () => {
        beforeClose();
        return pool.end();
      }),
  };
}

/**
 * Opens the PostgreSQL vault in `schema` (default `medledger_vault`; created with its tables if
 * absent) through a pool of at most `vaultLimits.postgresPoolConnectionsMax` connections made
 * with `connection` (host, port or socket directory, user, database…). Throws `VaultError`:
 * `wrong-kek`, `foreign` (the schema holds something else), `storage` (cannot connect, …).
 */
export async function openPostgresRecordVault(options: {
  connection: PoolConfig;
  kek: VaultKek;
  schema?: string;
  /**
   * Hold the schema for this process alone until `close`, as SQLite's exclusive lock does (a
   * session advisory lock on one pooled connection): a node opens its vault so, and so does
   * `medledger vault rotate-kek`, which then cannot rotate under a running node (decision 0065).
   * Other openers (reports, tools) may still share the schema.
   */
  exclusive?: boolean;
}): Promise<RecordVault> {
  const { connection, kek, schema = postgresVaultSchemaDefault, exclusive = false } = options;
  if (typeof schema !== 'string' || !schemaPattern.test(schema)) {
    throw new VaultError(
      VaultErrorCode.invalidArgument,
      `schema: expected a lower-case SQL identifier (a-z, 0-9, _; at most 63), found ${JSON.stringify(schema)}`,
      { argument: 'schema' },
    );
  }
  if (!isVaultKek(kek)) {
    throw new VaultError(VaultErrorCode.invalidArgument, 'kek: expected a VaultKek', {
      argument: 'kek',
    });
  }
  const pool = new pg.Pool({
    ...connection,
    max: Math.min(
      connection.max ?? vaultLimits.postgresPoolConnectionsMax,
      vaultLimits.postgresPoolConnectionsMax,
    ),
  });
  // An idle connection the server drops must not crash the node; the next query reports it.
  pool.on('error', () => undefined);
  let holder: PoolClient | null = null;
  try {
    await initialise(pool, schema, kek);
    if (exclusive) {
      holder = await pool.connect();
      const lock = await holder.query<{ held: boolean }>(
        'SELECT pg_try_advisory_lock(hashtext($1)) AS held',
        [`medledger-vault-exclusive:${schema}`],
      );
      if (lock.rows[0]?.held !== true) {
        throw new VaultError(
          VaultErrorCode.storage,
          `schema ${schema} is locked by another process that holds the vault exclusively (a running node?)`,
          { schema },
        );
      }
    }
  } catch (error) {
    holder?.release(true);
    await pool.end().catch(() => undefined);
    throw storageError(error, 'opening the vault');
  }
  // Closing destroys the holding connection: its session, and so the lock, ends with it.
  const release = (): void => holder?.release(true);
  return createRecordVault({ storage: postgresStorage(pool, schema, release), kek });
}
