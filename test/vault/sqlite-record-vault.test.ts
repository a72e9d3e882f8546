// Runs the shared vault cases on the SQLite vault (real files in a temp dir), plus what only
// SQLite has: the file's mode and markers, the exclusive lock, and destroyed key bytes gone from
// the file and its WAL.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import BetterSqlite3 from 'better-sqlite3';

import {
  VaultError,
  VaultErrorCode,
  openSqliteRecordVault,
  vaultKekFromBytes,
} from '../../src/vault/index.ts';
import { checkUpgradedVault, freshId, kekBytesA, kekBytesB, putInput } from './fixtures.ts';
import { defineRecordVaultCases, type VaultBackend } from './record-vault-cases.ts';

const root = mkdtempSync(join(tmpdir(), 'medledger-vault-'));
after(() => rmSync(root, { recursive: true, force: true }));

let files = 0;

function withDatabase<T>(file: string, work: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(file);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

const backend: VaultBackend = {
  name: 'sqlite',
  newLocation() {
    files += 1;
    return Promise.resolve(join(root, `vault-${files}.sqlite`));
  },
  open: (file, kek) => openSqliteRecordVault({ file, kek }),
  readColumn: ({ location, table, column, recordId, version }) =>
    Promise.resolve(
      withDatabase(location, (db) => {
        const row = db
          .prepare(`SELECT ${column} AS value FROM ${table} WHERE record_id = ? AND version = ?`)
          .get(recordId, version) as { value: unknown } | undefined;
        assert.ok(row !== undefined, `row ${recordId} ${version} of ${table}`);
        return row.value;
      }),
    ),
  writeColumn: ({ location, table, column, recordId, version, value }) =>
    Promise.resolve(
      withDatabase(location, (db) => {
        const result = db
          .prepare(`UPDATE ${table} SET ${column} = ? WHERE record_id = ? AND version = ?`)
          .run(value, recordId, version);
        assert.equal(result.changes, 1);
      }),
    ),
  countRows: ({ location, table, recordId }) =>
    Promise.resolve(
      withDatabase(
        location,
        (db) =>
          (
            db.prepare(`SELECT count(*) AS n FROM ${table} WHERE record_id = ?`).get(recordId) as {
              n: number;
            }
          ).n,
      ),
    ),
};

defineRecordVaultCases(backend);

const kekA = vaultKekFromBytes(kekBytesA);

test('sqlite: a new vault file has mode 0600, the vault markers and WAL', async () => {
  const file = join(root, 'markers.sqlite');
  const vault = await openSqliteRecordVault({ file, kek: kekA });
  await vault.put(putInput());
  await vault.close();
  assert.equal(statSync(file).mode & 0o777, 0o600);
  withDatabase(file, (db) => {
    assert.equal(db.pragma('application_id', { simple: true }), 0x4d4c5654);
    assert.equal(db.pragma('user_version', { simple: true }), 3);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  });
});

/** Turns a vault file back into one of an earlier format, as an older build left it. */
function downgrade(file: string, format: 1 | 2): void {
  withDatabase(file, (db) => {
    db.exec('ALTER TABLE vault_versions DROP COLUMN provenance');
    if (format === 1) db.exec('DROP TABLE vault_superseded');
    else db.exec('ALTER TABLE vault_superseded DROP COLUMN provenance');
    db.pragma(`user_version = ${format}`);
  });
}

for (const format of [1, 2] as const) {
  test(`sqlite: a format ${format} vault is upgraded when opened; its versions read, new ones keep a Provenance`, async () => {
    const file = join(root, `format-${format}.sqlite`);
    const recordId = freshId('rec');
    const vault = await openSqliteRecordVault({ file, kek: kekA });
    await vault.put(putInput({ recordId }));
    await vault.put(putInput({ recordId, version: 2 }));
    await vault.close();
    downgrade(file, format);
    await checkUpgradedVault(await openSqliteRecordVault({ file, kek: kekA }), recordId);
    withDatabase(file, (db) => {
      assert.equal(db.pragma('user_version', { simple: true }), 3);
      const rows = db.prepare('SELECT count(*) AS n FROM vault_superseded').get() as { n: number };
      assert.equal(rows.n, 1);
    });
  });
}

test('sqlite: a second open of the same vault is refused while the first holds it', async () => {
  const file = join(root, 'locked.sqlite');
  const vault = await openSqliteRecordVault({ file, kek: kekA });
  try {
    await vault.put(putInput());
    await assert.rejects(openSqliteRecordVault({ file, kek: kekA }), (error: unknown) => {
      assert.ok(error instanceof VaultError);
      assert.equal(error.code, VaultErrorCode.storage);
      assert.match(error.message, /locked/);
      return true;
    });
  } finally {
    await vault.close();
  }
  const again = await openSqliteRecordVault({ file, kek: kekA });
  await again.close();
});

test('sqlite: files that are not vaults are refused as foreign', async () => {
  const text = join(root, 'not-sqlite.sqlite');
  writeFileSync(text, 'this is not a database, just some text that is long enough '.repeat(20));
  await assert.rejects(
    openSqliteRecordVault({ file: text, kek: kekA }),
    (error: unknown) => error instanceof VaultError && error.code === VaultErrorCode.foreign,
  );
  const other = join(root, 'other-app.sqlite');
  withDatabase(other, (db) => db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)'));
  await assert.rejects(openSqliteRecordVault({ file: other, kek: kekA }), (error: unknown) => {
    assert.ok(error instanceof VaultError);
    assert.equal(error.code, VaultErrorCode.foreign);
    assert.match(error.message, /another application \(application_id 0/);
    return true;
  });
  const newer = join(root, 'newer.sqlite');
  await (await openSqliteRecordVault({ file: newer, kek: kekA })).close();
  withDatabase(newer, (db) => db.pragma('user_version = 4'));
  await assert.rejects(
    openSqliteRecordVault({ file: newer, kek: kekA }),
    (error: unknown) =>
      error instanceof VaultError && /format 4; this build reads format 3/.test(error.message),
  );
  await assert.rejects(
    openSqliteRecordVault({ file: newer, kek: vaultKekFromBytes(kekBytesB) }),
    (error: unknown) => error instanceof VaultError && error.code === VaultErrorCode.foreign,
  );
});

test('sqlite: after erasePatient the destroyed wrapped keys are nowhere in the file or its WAL', async () => {
  const file = join(root, 'shredded.sqlite');
  let vault = await openSqliteRecordVault({ file, kek: kekA });
  const erasedInput = putInput({ patientId: 'patient-erased' });
  const keptInput = putInput({ patientId: 'patient-kept' });
  await vault.put(erasedInput);
  await vault.put(keptInput);
  await vault.close();
  const column = (recordId: string) =>
    withDatabase(
      file,
      (db) =>
        (
          db
            .prepare('SELECT wrapped_key FROM vault_data_keys WHERE record_id = ?')
            .get(recordId) as { wrapped_key: Buffer }
        ).wrapped_key,
    );
  const erasedKey = column(erasedInput.recordId);
  const keptKey = column(keptInput.recordId);
  const contents = (): Buffer =>
    Buffer.concat([
      readFileSync(file),
      existsSync(`${file}-wal`) ? readFileSync(`${file}-wal`) : Buffer.alloc(0),
    ]);
  // The twin: before erasure, both keys are found where this test looks.
  assert.ok(contents().includes(erasedKey));
  vault = await openSqliteRecordVault({ file, kek: kekA });
  await vault.erasePatient('patient-erased');
  await vault.close();
  assert.ok(
    !contents().includes(erasedKey),
    'the erased wrapped key is gone from the file and the WAL',
  );
  assert.ok(contents().includes(keptKey), "the other patient's wrapped key is still there");
});

test('sqlite: the puts of one event-loop turn share one commit (group commit), one by one they do not', async () => {
  // A WAL commit appends every page it changed; 40 one-row commits each append the same few
  // pages again, while one commit of 40 rows appends each page once.
  async function walBytesAfter40Puts(atOnce: boolean): Promise<number> {
    files += 1;
    const file = join(root, `vault-${files}.sqlite`);
    const vault = await openSqliteRecordVault({ file, kek: vaultKekFromBytes(kekBytesA) });
    try {
      const inputs = Array.from({ length: 40 }, () => putInput());
      if (atOnce) await Promise.all(inputs.map((input) => vault.put(input)));
      else for (const input of inputs) await vault.put(input);
      return statSync(`${file}-wal`).size;
    } finally {
      await vault.close();
    }
  }
  const atOnce = await walBytesAfter40Puts(true);
  const oneByOne = await walBytesAfter40Puts(false);
  assert.ok(
    atOnce * 4 < oneByOne,
    `WAL after 40 puts at once ${atOnce} bytes, one by one ${oneByOne} bytes`,
  );
});
