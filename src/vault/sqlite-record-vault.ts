/**
 * The embedded vault: one SQLite file through better-sqlite3 (decision 0030 chose SQLite for the
 * node; decision 0050 for the vault). `journal_mode = WAL` with `synchronous = FULL`, so a `put`
 * is durable when it returns; `secure_delete = ON`, so the bytes of a destroyed data key are
 * overwritten with zeros in the file rather than left in free pages; `locking_mode = EXCLUSIVE`,
 * so a second process cannot open the same vault.
 */
import { closeSync, openSync } from 'node:fs';

import BetterSqlite3 from 'better-sqlite3';

import { VaultError, VaultErrorCode } from './errors.ts';
import type { VaultKek } from './kek.ts';
import { isVaultKek } from './kek.ts';
import { vaultLimits } from './limits.ts';
import type { WrappedDataKey } from './record-cipher.ts';
import {
  checkNextVersion,
  createRecordVault,
  wrongKekError,
  type RecordHead,
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

/** SQLite `application_id` of a vault file: "MLVT". */
export const sqliteVaultApplicationId = 0x4d4c5654;
/**
 * SQLite `user_version` of the vault format this build writes and reads. Format 2 added
 * `vault_superseded` (decision 0062), format 3 the `provenance` column of versions (decision
 * 0080); a vault of an earlier format is upgraded when opened.
 */
export const sqliteVaultFormat = 3;

/** Versions set aside by a put that replaced them before their anchor committed (0062). */
const supersededTable = `
CREATE TABLE vault_superseded (
  record_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  content_hash BLOB NOT NULL,
  resource_type TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  last_updated_ms INTEGER NOT NULL,
  security_labels TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  erased INTEGER NOT NULL,
  salt BLOB NOT NULL,
  nonce BLOB NOT NULL,
  ciphertext BLOB NOT NULL,
  tag BLOB NOT NULL,
  kek_id TEXT NOT NULL,
  wrap_nonce BLOB NOT NULL,
  wrapped_key BLOB NOT NULL,
  provenance BLOB,
  PRIMARY KEY (record_id, version, content_hash)
) STRICT;
CREATE INDEX vault_superseded_by_patient ON vault_superseded (patient_id);
`;

const schema = `
CREATE TABLE vault_info (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE vault_records (
  record_id TEXT PRIMARY KEY,
  resource_type TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  latest_version INTEGER NOT NULL,
  erased INTEGER NOT NULL
) STRICT;
CREATE INDEX vault_records_by_patient ON vault_records (patient_id, record_id);
CREATE INDEX vault_records_by_type ON vault_records (resource_type, record_id);
CREATE TABLE vault_versions (
  record_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  resource_type TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  last_updated_ms INTEGER NOT NULL,
  security_labels TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  erased INTEGER NOT NULL,
  salt BLOB NOT NULL,
  content_hash BLOB NOT NULL,
  nonce BLOB NOT NULL,
  ciphertext BLOB NOT NULL,
  tag BLOB NOT NULL,
  provenance BLOB,
  PRIMARY KEY (record_id, version)
) STRICT;
CREATE INDEX vault_versions_by_patient ON vault_versions (patient_id);
CREATE TABLE vault_data_keys (
  record_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  kek_id TEXT NOT NULL,
  wrap_nonce BLOB NOT NULL,
  wrapped_key BLOB NOT NULL,
  PRIMARY KEY (record_id, version)
) STRICT;
${supersededTable}`;

type Database = BetterSqlite3.Database;

function storageError(error: unknown, file: string, doing: string): Error {
  if (error instanceof VaultError) return error;
  if (!(error instanceof BetterSqlite3.SqliteError)) {
    const isFileSystemError =
      error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
    if (!isFileSystemError) return error instanceof Error ? error : new Error(String(error));
  }
  const code = (error as { code?: string }).code ?? 'unknown';
  const reason = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_NOTADB') {
    return new VaultError(
      VaultErrorCode.foreign,
      `${file} is not a SQLite database (${doing}): ${reason}`,
      { file },
    );
  }
  return new VaultError(VaultErrorCode.storage, `${file}: ${doing} failed: ${reason} (${code})`, {
    file,
    code,
  });
}

/** Creates the file with mode 0600 if it does not exist: it holds record metadata. */
function createPrivateFile(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

function initialise(db: Database, file: string, kek: VaultKek): void {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const tables = db
    .prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'")
    .get() as { n: number };
  if (applicationId === 0 && tables.n === 0) {
    db.transaction(() => {
      db.exec(schema);
      db.prepare('INSERT INTO vault_info (name, value) VALUES (?, ?)').run('kek_id', kek.id);
      db.pragma(`application_id = ${sqliteVaultApplicationId}`);
      db.pragma(`user_version = ${sqliteVaultFormat}`);
    })();
    return;
  }
  if (applicationId !== sqliteVaultApplicationId) {
    throw new VaultError(
      VaultErrorCode.foreign,
      `${file} is a SQLite database of another application (application_id ${applicationId}, expected ${sqliteVaultApplicationId} for a MedLedger vault)`,
      { file },
    );
  }
  let format = db.pragma('user_version', { simple: true }) as number;
  if (format === 1 || format === 2) {
    db.transaction(() => {
      // Format 1 had no superseded versions; its table is made as format 3 has it.
      if (format === 1) db.exec(supersededTable);
      else db.exec('ALTER TABLE vault_superseded ADD COLUMN provenance BLOB');
      db.exec('ALTER TABLE vault_versions ADD COLUMN provenance BLOB');
      db.pragma(`user_version = ${sqliteVaultFormat}`);
    })();
    format = sqliteVaultFormat;
  }
  if (format !== sqliteVaultFormat) {
    throw new VaultError(
      VaultErrorCode.foreign,
      `${file} is a MedLedger vault of format ${format}; this build reads format ${sqliteVaultFormat} only`,
      { file, format },
    );
  }
  const row = db.prepare("SELECT value FROM vault_info WHERE name = 'kek_id'").get() as
    { value: string } | undefined;
  if (row === undefined)
    throw new VaultError(VaultErrorCode.integrity, `${file}: the vault's KEK id is missing`, {
      file,
    });
  if (row.value !== kek.id) throw wrongKekError({ vaultKekId: row.value, givenKekId: kek.id });
}

function sqliteStorage(db: Database, file: string): VaultStorage {
  const statements = {
    head: db.prepare(
      'SELECT latest_version, resource_type, patient_id, erased FROM vault_records WHERE record_id = ?',
    ),
    kekId: db.prepare("SELECT value FROM vault_info WHERE name = 'kek_id'"),
    insertRecord: db.prepare(
      'INSERT INTO vault_records (record_id, resource_type, patient_id, latest_version, erased) VALUES (?, ?, ?, ?, 0)',
    ),
    updateRecord: db.prepare('UPDATE vault_records SET latest_version = ? WHERE record_id = ?'),
    insertVersion: db.prepare(
      'INSERT INTO vault_versions (record_id, version, resource_type, patient_id, last_updated_ms, security_labels, deleted, erased, salt, content_hash, nonce, ciphertext, tag, provenance) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)',
    ),
    insertKey: db.prepare(
      'INSERT INTO vault_data_keys (record_id, version, kek_id, wrap_nonce, wrapped_key) VALUES (?, ?, ?, ?, ?)',
    ),
    latest: db.prepare(
      `SELECT ${fullVersionColumns} FROM vault_records r JOIN vault_versions v ON v.record_id = r.record_id AND v.version = r.latest_version LEFT JOIN vault_data_keys k ON k.record_id = v.record_id AND k.version = v.version WHERE r.record_id = ?`,
    ),
    version: db.prepare(
      `SELECT ${fullVersionColumns} FROM vault_versions v LEFT JOIN vault_data_keys k ON k.record_id = v.record_id AND k.version = v.version WHERE v.record_id = ? AND v.version = ?`,
    ),
    setAside: db.prepare(
      `INSERT INTO vault_superseded (${supersededColumns.replaceAll('v.', '')}) SELECT ${fullVersionColumns} FROM vault_versions v JOIN vault_data_keys k ON k.record_id = v.record_id AND k.version = v.version WHERE v.record_id = ? AND v.version = ?`,
    ),
    deleteKey: db.prepare('DELETE FROM vault_data_keys WHERE record_id = ? AND version = ?'),
    deleteVersion: db.prepare('DELETE FROM vault_versions WHERE record_id = ? AND version = ?'),
    superseded: db.prepare(
      `SELECT ${supersededColumns} FROM vault_superseded v WHERE v.record_id = ? AND v.version = ? AND v.content_hash = ?`,
    ),
    deleteSuperseded: db.prepare('DELETE FROM vault_superseded WHERE patient_id = ?'),
    supersededAfter: db.prepare(
      'SELECT record_id, version, content_hash, kek_id, wrap_nonce, wrapped_key FROM vault_superseded WHERE (record_id, version, content_hash) > (?, ?, ?) ORDER BY record_id, version, content_hash LIMIT ?',
    ),
    updateSupersededKey: db.prepare(
      'UPDATE vault_superseded SET kek_id = ?, wrap_nonce = ?, wrapped_key = ? WHERE record_id = ? AND version = ? AND content_hash = ?',
    ),
    history: db.prepare(
      `SELECT ${versionColumns} FROM vault_versions v WHERE v.record_id = ? ORDER BY v.version LIMIT ?`,
    ),
    list: db.prepare(
      `SELECT ${versionColumns} FROM vault_records r JOIN vault_versions v ON v.record_id = r.record_id AND v.version = r.latest_version WHERE (@resourceType IS NULL OR r.resource_type = @resourceType) AND (@patientId IS NULL OR r.patient_id = @patientId) AND (@after IS NULL OR r.record_id > @after) ORDER BY r.record_id LIMIT @limit`,
    ),
    toErase: db.prepare(
      'SELECT record_id, version FROM vault_versions WHERE patient_id = ? AND erased = 0 ORDER BY record_id, version',
    ),
    overwriteKeys: db.prepare(
      "UPDATE vault_data_keys SET kek_id = '', wrap_nonce = zeroblob(length(wrap_nonce)), wrapped_key = zeroblob(length(wrapped_key)) WHERE (record_id, version) IN (SELECT record_id, version FROM vault_versions WHERE patient_id = ? AND erased = 0)",
    ),
    deleteKeys: db.prepare(
      'DELETE FROM vault_data_keys WHERE (record_id, version) IN (SELECT record_id, version FROM vault_versions WHERE patient_id = ? AND erased = 0)',
    ),
    markVersionsErased: db.prepare(
      "UPDATE vault_versions SET erased = 1, ciphertext = X'', provenance = NULL WHERE patient_id = ? AND erased = 0",
    ),
    markRecordsErased: db.prepare('UPDATE vault_records SET erased = 1 WHERE patient_id = ?'),
    keysAfter: db.prepare(
      'SELECT record_id, version, kek_id, wrap_nonce, wrapped_key FROM vault_data_keys WHERE (record_id, version) > (?, ?) ORDER BY record_id, version LIMIT ?',
    ),
    updateKey: db.prepare(
      'UPDATE vault_data_keys SET kek_id = ?, wrap_nonce = ?, wrapped_key = ? WHERE record_id = ? AND version = ?',
    ),
    setKekId: db.prepare("UPDATE vault_info SET value = ? WHERE name = 'kek_id'"),
  };

  function run<T>(doing: string, work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(storageError(error, file, doing));
    }
  }

  const insert = db.transaction((row: StoredVersionRow, replaceUnanchored: boolean) => {
    const head = statements.head.get(row.recordId) as
      | { latest_version: number; resource_type: string; patient_id: string; erased: number }
      | undefined;
    const recordHead: RecordHead | null =
      head === undefined
        ? null
        : {
            latestVersion: head.latest_version,
            resourceType: head.resource_type,
            patientId: head.patient_id,
            erased: head.erased !== 0,
          };
    const { replaces } = checkNextVersion(recordHead, row, { replaceUnanchored });
    const kekId = (statements.kekId.get() as { value: string }).value;
    if (row.key === null || row.key.kekId !== kekId) {
      throw wrongKekError({ vaultKekId: kekId, givenKekId: row.key?.kekId ?? 'none' });
    }
    if (replaces) {
      statements.setAside.run(row.recordId, row.version);
      statements.deleteKey.run(row.recordId, row.version);
      statements.deleteVersion.run(row.recordId, row.version);
    }
    if (recordHead === null)
      statements.insertRecord.run(row.recordId, row.resourceType, row.patientId, row.version);
    else statements.updateRecord.run(row.version, row.recordId);
    statements.insertVersion.run(
      row.recordId,
      row.version,
      row.resourceType,
      row.patientId,
      row.lastUpdatedMs,
      encodeLabels(row.securityLabels),
      row.deleted ? 1 : 0,
      row.salt,
      row.contentHash,
      row.nonce,
      row.ciphertext,
      row.tag,
      row.provenance,
    );
    statements.insertKey.run(
      row.recordId,
      row.version,
      row.key.kekId,
      row.key.wrapNonce,
      row.key.wrappedKey,
    );
  });

  // Group commit: the versions put in one turn of the event loop are written by one SQLite
  // transaction, so one fsync (synchronous = FULL) covers them all; each caller's promise
  // settles only after that commit. Each version is its own savepoint (a nested transaction),
  // so one refused version (out of order, wrong KEK) leaves the others to commit.
  type PendingInsert = {
    readonly row: StoredVersionRow;
    readonly replaceUnanchored: boolean;
    readonly resolve: () => void;
    readonly reject: (error: Error) => void;
  };
  let pending: PendingInsert[] = [];
  let flushScheduled = false;
  const insertBatch = db.transaction((batch: readonly PendingInsert[]) =>
    batch.map((item) => {
      try {
        insert(item.row, item.replaceUnanchored);
        return null;
      } catch (error) {
        return storageError(error, file, 'storing a record version');
      }
    }),
  );
  function flushInserts(): void {
    flushScheduled = false;
    while (pending.length > 0) {
      const batch = pending.slice(0, vaultLimits.groupCommitVersionsMax);
      pending = pending.slice(batch.length);
      let outcomes: (Error | null)[];
      try {
        outcomes = insertBatch(batch);
      } catch (error) {
        const failure = storageError(error, file, 'storing record versions');
        outcomes = batch.map(() => failure);
      }
      batch.forEach((item, index) => {
        const outcome = outcomes[index] ?? null;
        if (outcome === null) item.resolve();
        else item.reject(outcome);
      });
    }
  }
  function queueInsert(
    row: StoredVersionRow,
    options: { replaceUnanchored: boolean },
  ): Promise<{ readonly committed: Promise<void> }> {
    const committed = new Promise<void>((resolve, reject) => {
      pending.push({ row, replaceUnanchored: options.replaceUnanchored, resolve, reject });
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushInserts);
      }
    });
    return Promise.resolve({ committed });
  }

  /**
   * Re-wraps the data key of every row `select` pages through (a page of
   * `rotationBatchRows` after a row's position, in position order), writing each back with
   * `update` (new kek_id, wrap_nonce, wrapped_key, then the position); returns how many.
   */
  function rewrapPages(options: {
    select: BetterSqlite3.Statement;
    update: BetterSqlite3.Statement;
    start: readonly unknown[];
    positionOf: (columns: Record<string, unknown>) => readonly unknown[];
    rewrap: (row: StoredKeyRow) => WrappedDataKey;
  }): number {
    let count = 0;
    let after = options.start;
    for (;;) {
      const page = options.select.all(...after, vaultLimits.rotationBatchRows) as Array<
        Record<string, unknown>
      >;
      for (const columns of page) {
        const wrapped = options.rewrap(keyFromColumns(columns));
        options.update.run(
          wrapped.kekId,
          wrapped.wrapNonce,
          wrapped.wrappedKey,
          ...options.positionOf(columns),
        );
      }
      count += page.length;
      const last = page[page.length - 1];
      if (last === undefined || page.length < vaultLimits.rotationBatchRows) return count;
      after = options.positionOf(last);
    }
  }

  const erase = db.transaction((patientId: string) => {
    const versions = (
      statements.toErase.all(patientId) as Array<{ record_id: string; version: number }>
    ).map((row) => ({ recordId: row.record_id, version: row.version }));
    // Overwrite, then delete: with secure_delete the freed cells are zeroed too.
    statements.overwriteKeys.run(patientId);
    statements.deleteKeys.run(patientId);
    statements.markVersionsErased.run(patientId);
    statements.markRecordsErased.run(patientId);
    statements.deleteSuperseded.run(patientId);
    return versions;
  });

  return {
    backend: 'sqlite',
    insertVersion: queueInsert,
    readVersion: (recordId, version) =>
      run('reading a record version', () => {
        const columns = (
          version === null
            ? statements.latest.get(recordId)
            : statements.version.get(recordId, version)
        ) as Record<string, unknown> | undefined;
        return columns === undefined ? null : versionFromColumns(columns);
      }),
    readSuperseded: (recordId, version, contentHash) =>
      run('reading a superseded record version', () => {
        const columns = statements.superseded.get(recordId, version, contentHash) as
          Record<string, unknown> | undefined;
        return columns === undefined ? null : versionFromColumns(columns);
      }),
    readHistory: (recordId) =>
      run('reading a record history', () =>
        (
          statements.history.all(recordId, vaultLimits.versionsPerRecordMax) as Array<
            Record<string, unknown>
          >
        ).map(metaFromColumns),
      ),
    listCurrent: (query) =>
      run('listing records', () =>
        (statements.list.all(query) as Array<Record<string, unknown>>).map(metaFromColumns),
      ),
    erasePatient: (patientId) =>
      run('erasing a patient', () => {
        // Versions taken before the erasure are committed before it, so it reaches them too.
        flushInserts();
        const versions = erase(patientId);
        // Move the WAL's copies of the old key pages into the file (where secure_delete zeroed
        // them) and truncate the WAL, so no old page of a destroyed key stays behind in it.
        db.pragma('wal_checkpoint(TRUNCATE)');
        return versions;
      }),
    rewrapAll: ({ fromKekId, toKekId, rewrap }) =>
      run('rotating the KEK', () => {
        // Versions taken before the rotation (wrapped by the old KEK) are committed first.
        flushInserts();
        return db.transaction(() => {
          const current = (statements.kekId.get() as { value: string }).value;
          if (current !== fromKekId)
            throw wrongKekError({ vaultKekId: current, givenKekId: fromKekId });
          const count =
            rewrapPages({
              select: statements.keysAfter,
              update: statements.updateKey,
              start: ['', 0],
              positionOf: (columns) => [columns.record_id, columns.version],
              rewrap,
            }) +
            rewrapPages({
              select: statements.supersededAfter,
              update: statements.updateSupersededKey,
              start: ['', 0, new Uint8Array(0)],
              positionOf: (columns) => [columns.record_id, columns.version, columns.content_hash],
              rewrap,
            });
          statements.setKekId.run(toKekId);
          return count;
        })();
      }),
    close: () =>
      run('closing', () => {
        flushInserts();
        db.close();
      }),
  };
}

/**
 * Opens the SQLite vault at `file`, creating it (mode 0600) with `kek` as its KEK if it does not
 * exist. Throws `VaultError`: `wrong-kek` if the vault's data keys are wrapped by another KEK,
 * `foreign` for a file that is not a vault of this format, `storage` if SQLite fails (for example
 * when another process holds the vault open).
 */
export async function openSqliteRecordVault(options: {
  file: string;
  kek: VaultKek;
}): Promise<RecordVault> {
  const { file, kek } = options;
  if (typeof file !== 'string' || file.length === 0) {
    throw new VaultError(VaultErrorCode.invalidArgument, 'file: expected a path', {
      argument: 'file',
    });
  }
  if (!isVaultKek(kek)) {
    throw new VaultError(VaultErrorCode.invalidArgument, 'kek: expected a VaultKek', {
      argument: 'kek',
    });
  }
  let db: Database | null = null;
  try {
    createPrivateFile(file);
    db = new BetterSqlite3(file, { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('secure_delete = ON');
    initialise(db, file, kek);
    return await Promise.resolve(createRecordVault({ storage: sqliteStorage(db, file), kek }));
  } catch (error) {
    db?.close();
    throw storageError(error, file, 'opening the vault');
  }
}
