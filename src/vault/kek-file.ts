/**
 * The KEK on disk: a small JSON document in a file of mode 0600, saved and loaded with the same
 * rules as keys/' node key files (owner-only permissions checked on the open descriptor, atomic
 * write through a temporary file, no overwrite unless asked), and failing with keys/'
 * `KeyFileError` codes so that an operator sees one kind of error for every key file:
 *
 * ```json
 * { "kind": "medledger-vault-kek", "version": 1, "algorithm": "aes-256",
 *   "kekId": "<32 hex digits>", "key": "<64 hex digits>" }
 * ```
 *
 * `kekId` is derived from the key (kek.ts) and checked on load, so a file edited by hand, or one
 * whose key was pasted from another file, is refused. The operator compares it with the id a
 * vault reports (`RecordVault.kekId`, and `wrong-kek` errors name both ids).
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { fromHex, fromUtf8, toHex } from '../base/index.ts';
import { KeyFileError, KeyFileErrorCode, keyDirectoryMode, keyFileMode } from '../keys/index.ts';
import type { VaultKek } from './kek.ts';
import { kekKeyOf, vaultKekFromBytes } from './kek.ts';
import { vaultLimits } from './limits.ts';

/** Value of the `kind` field of a KEK file. */
export const vaultKekFileKind = 'medledger-vault-kek';

/** The KEK file format version this build writes and reads. */
export const vaultKekFileVersion = 1;

const fields = ['kind', 'version', 'algorithm', 'kekId', 'key'];

function hasCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}

function malformed(path: string, problem: string): KeyFileError {
  return new KeyFileError(KeyFileErrorCode.malformed, `KEK file ${path} is malformed: ${problem}`, {
    path,
  });
}

function describeJson(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : typeof value;
}

/** The text of a KEK file for `kek`. */
export function encodeVaultKekFile(kek: VaultKek): string {
  const document = {
    kind: vaultKekFileKind,
    version: vaultKekFileVersion,
    algorithm: 'aes-256',
    kekId: kek.id,
    key: toHex(kekKeyOf(kek)),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Decodes and checks the bytes of a KEK file; `path` only names it in errors. */
export function decodeVaultKekFile(options: { path: string; bytes: Uint8Array }): VaultKek {
  const { path, bytes } = options;
  if (bytes.length > vaultLimits.kekFileBytesMax) {
    throw malformed(
      path,
      `expected at most vaultLimits.kekFileBytesMax ${vaultLimits.kekFileBytesMax} bytes, found ${bytes.length}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromUtf8(bytes));
  } catch (error) {
    throw malformed(
      path,
      `it is not UTF-8 JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw malformed(path, `expected a JSON object, found ${describeJson(parsed)}`);
  }
  const document = parsed as Record<string, unknown>;
  if (document.kind !== vaultKekFileKind) {
    throw new KeyFileError(
      KeyFileErrorCode.wrongKind,
      `KEK file ${path} is not a MedLedger vault KEK file: expected "kind": "${vaultKekFileKind}", found ${describeJson(document.kind)}`,
      { path, found: document.kind },
    );
  }
  if (document.version !== vaultKekFileVersion) {
    throw new KeyFileError(
      KeyFileErrorCode.unsupportedVersion,
      `KEK file ${path} has format version ${describeJson(document.version)}; this build reads version ${vaultKekFileVersion} only`,
      { path, found: document.version },
    );
  }
  for (const field of Object.keys(document)) {
    if (!fields.includes(field))
      throw malformed(path, `unexpected field "${field}" (a KEK file has ${fields.join(', ')})`);
  }
  if (document.algorithm !== 'aes-256')
    throw malformed(
      path,
      `"algorithm" must be "aes-256", found ${describeJson(document.algorithm)}`,
    );
  const keyHex = document.key;
  if (typeof keyHex !== 'string' || !/^[0-9a-f]{64}$/.test(keyHex)) {
    throw malformed(
      path,
      `"key" must be 64 lower-case hex digits (32 bytes), found ${typeof keyHex === 'string' ? `${keyHex.length} characters` : describeJson(keyHex)}`,
    );
  }
  const key = fromHex(keyHex);
  try {
    const kek = vaultKekFromBytes(key);
    if (document.kekId !== kek.id) {
      throw malformed(
        path,
        `"kekId" does not match the key: the key's id is ${kek.id}, the file says ${describeJson(document.kekId)}`,
      );
    }
    return kek;
  } finally {
    key.fill(0);
  }
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Saves `kek` at `path`, mode 0600, creating missing directories with mode 0700: a temporary
 * file made with `O_EXCL` and mode 0600, written and fsynced, then linked into place (refusing
 * an existing file: `KeyFileError` `already-exists`) or renamed over it when `overwrite` is true,
 * and the directory fsynced. Save a new KEK this way before `rotateKek`, never after.
 */
export async function saveVaultKekFile(options: {
  path: string;
  kek: VaultKek;
  overwrite?: boolean;
}): Promise<void> {
  const { path, kek, overwrite = false } = options;
  const text = encodeVaultKekFile(kek);
  const directory = dirname(path);
  await mkdir(directory, { recursive: true, mode: keyDirectoryMode });
  const temporary = join(directory, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', keyFileMode);
  let renamed = false;
  try {
    try {
      await handle.chmod(keyFileMode);
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (overwrite) {
      await rename(temporary, path);
      renamed = true;
    } else {
      try {
        await link(temporary, path);
      } catch (error) {
        if (hasCode(error, 'EEXIST')) {
          throw new KeyFileError(
            KeyFileErrorCode.alreadyExists,
            `KEK file ${path} already exists; refusing to overwrite a key (move it away first, or pass overwrite: true)`,
            { path },
          );
        }
        throw error;
      }
    }
    await syncDirectory(directory);
  } finally {
    if (!renamed) await unlink(temporary).catch(() => undefined);
  }
}

async function openKekFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if (hasCode(error, 'ENOENT')) {
      throw new KeyFileError(KeyFileErrorCode.notFound, `KEK file ${path} does not exist`, {
        path,
      });
    }
    throw error;
  }
}

/**
 * Loads the KEK file at `path`. Refuses, before reading a byte of the key, a file whose mode
 * gives its group or other users any permission (`KeyFileError` `too-open`; `chmod 600` fixes
 * it), and throws `not-found`, `not-a-file`, `malformed`, `wrong-kind` or `unsupported-version`.
 */
export async function loadVaultKekFile(path: string): Promise<VaultKek> {
  const handle = await openKekFile(path);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new KeyFileError(
        KeyFileErrorCode.notAFile,
        `KEK file ${path} is not a regular file (expected a file written by saveVaultKekFile)`,
        { path },
      );
    }
    const permissions = stats.mode & 0o777;
    if ((permissions & 0o077) !== 0) {
      const mode = permissions.toString(8).padStart(4, '0');
      throw new KeyFileError(
        KeyFileErrorCode.tooOpen,
        `KEK file ${path} has mode ${mode}: its group or other users have access, and a key file must be open to its owner only; run chmod 600 ${path}`,
        { path, mode },
      );
    }
    const buffer = new Uint8Array(vaultLimits.kekFileBytesMax + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    try {
      return decodeVaultKekFile({ path, bytes: buffer.subarray(0, length) });
    } finally {
      buffer.fill(0);
    }
  } finally {
    await handle.close();
  }
}
