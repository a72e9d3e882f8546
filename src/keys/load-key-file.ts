/**
 * Reads a key file, refusing it before reading a byte of the secret when its mode lets anyone but
 * its owner read or write it (the rule OpenSSH applies to private keys). The mode and size come
 * from the open file descriptor, so the file checked is the file read.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

import type { Ed25519KeyPair, X25519KeyPair } from '../crypto/index.ts';
import { KeyFileError, KeyFileErrorCode } from './errors.ts';
import { decodeKeyFile, keyFileBytesMax } from './key-file-format.ts';
import type { KeyFileAlgorithm, LoadedKey } from './key-file-format.ts';

/** Mode bits a key file must not have: any permission for its group or other users. */
const groupAndOtherBits = 0o077;

function hasCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}

/** Says who may do what, from mode bits: "readable by its group and other users". */
function describeOpenBits(mode: number): string {
  const parts: string[] = [];
  for (const [bit, what] of [
    [0o4, 'readable'],
    [0o2, 'writable'],
    [0o1, 'executable'],
  ] as const) {
    const byGroup = (mode & (bit << 3)) !== 0;
    const byOthers = (mode & bit) !== 0;
    if (byGroup && byOthers) parts.push(`${what} by its group and other users`);
    else if (byGroup) parts.push(`${what} by its group`);
    else if (byOthers) parts.push(`${what} by other users`);
  }
  return parts.join(', ');
}

async function openKeyFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if (hasCode(error, 'ENOENT')) {
      throw new KeyFileError(KeyFileErrorCode.notFound, `key file ${path} does not exist`, {
        path,
      });
    }
    throw error;
  }
}

/**
 * Loads the key file at `path` and returns the key pair its secret derives. Throws
 * `KeyFileError`: `not-found`, `not-a-file`, `too-open` (mode allows group or others any
 * access; `chmod 600` fixes it), `malformed`, `wrong-kind` or `unsupported-version`.
 */
export async function loadKeyFile(path: string): Promise<LoadedKey> {
  const handle = await openKeyFile(path);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new KeyFileError(
        KeyFileErrorCode.notAFile,
        `key file ${path} is not a regular file (expected a file written by saveKeyFile)`,
        { path },
      );
    }
    const permissions = stats.mode & 0o777;
    if ((permissions & groupAndOtherBits) !== 0) {
      const mode = permissions.toString(8).padStart(4, '0');
      throw new KeyFileError(
        KeyFileErrorCode.tooOpen,
        `key file ${path} has mode ${mode}: it is ${describeOpenBits(permissions)}, and a key ` +
          `file must be open to its owner only; run chmod 600 ${path}`,
        { path, mode },
      );
    }
    // Read at most one byte past the limit: enough to tell an oversized file without reading it.
    const buffer = new Uint8Array(keyFileBytesMax + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    try {
      return decodeKeyFile({ path, bytes: buffer.subarray(0, length) });
    } finally {
      buffer.fill(0);
    }
  } finally {
    await handle.close();
  }
}

function wrongKind(
  path: string,
  expected: KeyFileAlgorithm,
  found: KeyFileAlgorithm,
): KeyFileError {
  return new KeyFileError(
    KeyFileErrorCode.wrongKind,
    `key file ${path} holds an ${found} key; expected an ${expected} key`,
    { path, expected, found },
  );
}

/** Loads an Ed25519 key file (a signing key); `wrong-kind` when it holds another algorithm. */
export async function loadEd25519KeyFile(path: string): Promise<Ed25519KeyPair> {
  const loaded = await loadKeyFile(path);
  if (loaded.kind !== 'ed25519') throw wrongKind(path, 'ed25519', loaded.kind);
  return loaded.keyPair;
}

/** Loads an X25519 key file (an HPKE key); `wrong-kind` when it holds another algorithm. */
export async function loadX25519KeyFile(path: string): Promise<X25519KeyPair> {
  const loaded = await loadKeyFile(path);
  if (loaded.kind !== 'x25519') throw wrongKind(path, 'x25519', loaded.kind);
  return loaded.keyPair;
}
