// Checks KEK files on real files in a temp dir: round trip, mode 0600, no overwrite, refusal of
// too-open modes (0644 and others) and of malformed, foreign or mismatched documents.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { toHex } from '../../src/base/index.ts';
import { KeyFileError, KeyFileErrorCode } from '../../src/keys/index.ts';
import {
  generateVaultKek,
  loadVaultKekFile,
  saveVaultKekFile,
  vaultKekFromBytes,
  vaultKekIdOf,
} from '../../src/vault/index.ts';
import { kekBytesA } from './fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'medledger-kek-'));
after(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
function freshPath(): string {
  count += 1;
  return join(root, `case-${count}`, 'vault.kek');
}

function keyFileError(code: KeyFileErrorCode, message: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof KeyFileError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  };
}

test('a KEK saved and loaded is the same key, in a 0600 file inside a 0700 directory', async () => {
  const previous = process.umask(0);
  try {
    const path = freshPath();
    const kek = vaultKekFromBytes(kekBytesA);
    await saveVaultKekFile({ path, kek });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
    const document = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(document, {
      kind: 'medledger-vault-kek',
      version: 1,
      algorithm: 'aes-256',
      kekId: kek.id,
      key: toHex(kekBytesA),
    });
    assert.equal(kek.id, vaultKekIdOf(kekBytesA));
    assert.equal((await loadVaultKekFile(path)).id, kek.id);
  } finally {
    process.umask(previous);
  }
});

test('a KEK does not show its key when printed', () => {
  const kek = vaultKekFromBytes(kekBytesA);
  assert.ok(!JSON.stringify(kek).includes(toHex(kekBytesA)));
  assert.ok(!String(Object.values(kek)).includes(toHex(kekBytesA)));
  assert.notEqual(generateVaultKek().id, generateVaultKek().id);
});

test('saving refuses to replace a KEK file unless told to', async () => {
  const path = freshPath();
  const first = generateVaultKek();
  await saveVaultKekFile({ path, kek: first });
  await assert.rejects(
    saveVaultKekFile({ path, kek: generateVaultKek() }),
    keyFileError(KeyFileErrorCode.alreadyExists, /already exists; refusing to overwrite/),
  );
  assert.equal((await loadVaultKekFile(path)).id, first.id);
  const second = generateVaultKek();
  await saveVaultKekFile({ path, kek: second, overwrite: true });
  assert.equal((await loadVaultKekFile(path)).id, second.id);
});

test('loading refuses a KEK file its group or other users can access (0644 and others)', async () => {
  const path = freshPath();
  await saveVaultKekFile({ path, kek: generateVaultKek() });
  for (const mode of [0o644, 0o640, 0o604, 0o660, 0o606, 0o610, 0o601]) {
    chmodSync(path, mode);
    const shown = mode.toString(8).padStart(4, '0');
    await assert.rejects(
      loadVaultKekFile(path),
      keyFileError(KeyFileErrorCode.tooOpen, new RegExp(`has mode ${shown}: .*run chmod 600`)),
    );
  }
  for (const mode of [0o600, 0o400]) {
    chmodSync(path, mode);
    await loadVaultKekFile(path);
  }
});

test('loading refuses missing, malformed, foreign and mismatched KEK files', async () => {
  const path = freshPath();
  await assert.rejects(
    loadVaultKekFile(path),
    keyFileError(KeyFileErrorCode.notFound, /does not exist/),
  );
  const kek = vaultKekFromBytes(kekBytesA);
  await saveVaultKekFile({ path, kek });
  const good = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const cases: Array<[unknown, KeyFileErrorCode, RegExp]> = [
    ['not json', KeyFileErrorCode.malformed, /is not UTF-8 JSON/],
    [[1], KeyFileErrorCode.malformed, /expected a JSON object, found an array/],
    [
      { ...good, kind: 'medledger-key' },
      KeyFileErrorCode.wrongKind,
      /not a MedLedger vault KEK file/,
    ],
    [{ ...good, version: 2 }, KeyFileErrorCode.unsupportedVersion, /format version 2/],
    [{ ...good, extra: 1 }, KeyFileErrorCode.malformed, /unexpected field "extra"/],
    [
      { ...good, algorithm: 'aes-128' },
      KeyFileErrorCode.malformed,
      /"algorithm" must be "aes-256"/,
    ],
    [{ ...good, key: 'ab' }, KeyFileErrorCode.malformed, /"key" must be 64 lower-case hex digits/],
    [
      { ...good, key: (good.key as string).toUpperCase() },
      KeyFileErrorCode.malformed,
      /"key" must be 64 lower-case/,
    ],
    [
      { ...good, kekId: '00'.repeat(16) },
      KeyFileErrorCode.malformed,
      /"kekId" does not match the key/,
    ],
  ];
  for (const [document, code, message] of cases) {
    writeFileSync(path, typeof document === 'string' ? document : JSON.stringify(document), {
      mode: 0o600,
    });
    await assert.rejects(loadVaultKekFile(path), keyFileError(code, message));
  }
  writeFileSync(path, ' '.repeat(5000), { mode: 0o600 });
  await assert.rejects(
    loadVaultKekFile(path),
    keyFileError(KeyFileErrorCode.malformed, /kekFileBytesMax/),
  );
  await assert.rejects(
    loadVaultKekFile(root),
    keyFileError(KeyFileErrorCode.notAFile, /not a regular file/),
  );
  writeFileSync(path, JSON.stringify(good), { mode: 0o600 });
  assert.equal((await loadVaultKekFile(path)).id, kek.id);
});
