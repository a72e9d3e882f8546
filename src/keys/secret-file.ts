/**
 * Files that hold a secret (a node's key file, the vault's key-encryption key): written so that
 * no other user can ever read them and no crash can leave half of one, and read only when their
 * mode lets nobody but their owner in (the rule OpenSSH applies to private keys). `label` names
 * the kind of file in every message ("key file", "KEK file").
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { KeyFileError, KeyFileErrorCode } from './errors.ts';

/** Mode of a key file: read and write for its owner only. */
export const keyFileMode = 0o600;

/** Mode of a directory `saveSecretFile` creates: its owner only. */
export const keyDirectoryMode = 0o700;

/** Mode bits a secret file must not have: any permission for its group or other users. */
const groupAndOtherBits = 0o077;

function hasCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
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
 * Writes `text` at `path`, mode 0600, creating missing directories with mode 0700: a temporary
 * file in the same directory created with `O_EXCL` and mode 0600, written and fsynced, then moved
 * into place in one step (a hard link when overwriting is refused, a rename otherwise), and the
 * directory fsynced so the new name survives a power cut. Refuses to replace an existing file
 * (`KeyFileError` `already-exists`) unless `overwrite` is true. Never leaves a partial file.
 */
export async function saveSecretFile(options: {
  path: string;
  text: string;
  label: string;
  overwrite?: boolean;
}): Promise<void> {
  const { path, text, label, overwrite = false } = options;
  const directory = dirname(path);
  await mkdir(directory, { recursive: true, mode: keyDirectoryMode });
  const temporary = join(directory, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  // 'wx' fails if the name exists, so a planted file or symlink is never written through.
  const handle = await open(temporary, 'wx', keyFileMode);
  let renamed = false;
  try {
    try {
      // The process umask can only clear bits of the mode given to open; chmod states it exactly.
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
      // link() fails with EEXIST if the name is taken, even by a file created a moment ago: no
      // check-then-write race. The temporary name is removed below.
      try {
        await link(temporary, path);
      } catch (error) {
        if (hasCode(error, 'EEXIST')) {
          throw new KeyFileError(
            KeyFileErrorCode.alreadyExists,
            `${label} ${path} already exists; refusing to overwrite a key (move it away first, or ` +
              'pass overwrite: true)',
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

async function openSecretFile(path: string, label: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if (hasCode(error, 'ENOENT')) {
      throw new KeyFileError(KeyFileErrorCode.notFound, `${label} ${path} does not exist`, {
        path,
      });
    }
    throw error;
  }
}

/**
 * Reads the secret file at `path` and hands its bytes (at most `bytesMax + 1`, enough to tell an
 * oversized file without reading it) to `decode`, then zeroes them. Refuses, before reading a
 * byte, a file that is not a regular file (`not-a-file`; `writtenBy` names what writes one) or
 * whose mode gives its group or other users any permission (`too-open`; `chmod 600` fixes it);
 * `not-found` when there is none. The mode and size come from the open file descriptor, so the
 * file checked is the file read.
 */
export async function readSecretFile<T>(options: {
  path: string;
  label: string;
  writtenBy: string;
  bytesMax: number;
  decode: (bytes: Uint8Array) => T;
}): Promise<T> {
  const { path, label } = options;
  const handle = await openSecretFile(path, label);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new KeyFileError(
        KeyFileErrorCode.notAFile,
        `${label} ${path} is not a regular file (expected a file written by ${options.writtenBy})`,
        { path },
      );
    }
    const permissions = stats.mode & 0o777;
    if ((permissions & groupAndOtherBits) !== 0) {
      const mode = permissions.toString(8).padStart(4, '0');
      throw new KeyFileError(
        KeyFileErrorCode.tooOpen,
        `${label} ${path} has mode ${mode}: it is ${describeOpenBits(permissions)}, and a key ` +
          `file must be open to its owner only; run chmod 600 ${path}`,
        { path, mode },
      );
    }
    const buffer = new Uint8Array(options.bytesMax + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    try {
      return options.decode(buffer.subarray(0, length));
    } finally {
      buffer.fill(0);
    }
  } finally {
    await handle.close();
  }
}
