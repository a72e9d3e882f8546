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

import { fromHex, fromUtf8, toHex } from '../base/index.ts';
import { KeyFileError, KeyFileErrorCode, readSecretFile, saveSecretFile } from '../keys/index.ts';
import type { VaultKek } from './kek.ts';
import { kekKeyOf, vaultKekFromBytes } from './kek.ts';
import { vaultLimits } from './limits.ts';

/** Value of the `kind` field of a KEK file. */
export const vaultKekFileKind = 'medledger-vault-kek';

/** The KEK file format version this build writes and reads. */
export const vaultKekFileVersion = 1;

const fields = ['kind', 'version', 'algorithm', 'kekId', 'key'];

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

/**
 * Saves `kek` at `path`, mode 0600, creating missing directories with mode 0700 (keys'
 * `saveSecretFile`: a temporary 0600 file made with `O_EXCL`, fsynced, then linked into place —
 * refusing an existing file: `KeyFileError` `already-exists` — or renamed over it when
 * `overwrite` is true, and the directory fsynced). Save a new KEK this way before `rotateKek`,
 * never after.
 */
export async function saveVaultKekFile(options: {
  path: string;
  kek: VaultKek;
  overwrite?: boolean;
}): Promise<void> {
  await saveSecretFile({
    path: options.path,
    text: encodeVaultKekFile(options.kek),
    label: 'KEK file',
    ...(options.overwrite === undefined ? {} : { overwrite: options.overwrite }),
  });
}

/**
 * Loads the KEK file at `path`. Refuses, before reading a byte of the key, a file whose mode
 * gives its group or other users any permission (`KeyFileError` `too-open`; `chmod 600` fixes
 * it), and throws `not-found`, `not-a-file`, `malformed`, `wrong-kind` or `unsupported-version`.
 */
export function loadVaultKekFile(path: string): Promise<VaultKek> {
  return readSecretFile({
    path,
    label: 'KEK file',
    writtenBy: 'saveVaultKekFile',
    bytesMax: vaultLimits.kekFileBytesMax,
    decode: (bytes) => decodeVaultKekFile({ path, bytes }),
  });
}
