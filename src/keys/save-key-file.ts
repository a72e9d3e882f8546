/**
 * Writes a key file so that no other user can ever read it and no crash can leave half of it:
 * a temporary file created with mode 0600 in the same directory, written and fsynced, then moved
 * into place in one step (a hard link when overwriting is refused, a rename otherwise), and the
 * directory fsynced so the new name survives a power cut.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, link, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { KeyFileError, KeyFileErrorCode } from './errors.ts';
import { encodeKeyFile } from './key-file-format.ts';
import type { KeyFileKey } from './key-file-format.ts';

/** Mode of a key file: read and write for its owner only. */
export const keyFileMode = 0o600;

/** Mode of a directory `saveKeyFile` creates: its owner only. */
export const keyDirectoryMode = 0o700;

function hasCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}

function alreadyExists(path: string): KeyFileError {
  return new KeyFileError(
    KeyFileErrorCode.alreadyExists,
    `key file ${path} already exists; refusing to overwrite a key (move it away first, or ` +
      'pass overwrite: true)',
    { path },
  );
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
 * Saves `key` at `path` in the key file format (see `key-file-format.ts`), mode 0600, creating
 * missing directories with mode 0700. Refuses to replace an existing file (`KeyFileError`
 * `already-exists`) unless `overwrite` is true. Never leaves a partial file at `path`.
 */
export async function saveKeyFile(options: {
  path: string;
  key: KeyFileKey;
  overwrite?: boolean;
}): Promise<void> {
  const { path, key, overwrite = false } = options;
  const text = encodeKeyFile(key);
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
        if (hasCode(error, 'EEXIST')) throw alreadyExists(path);
        throw error;
      }
    }
    await syncDirectory(directory);
  } finally {
    if (!renamed) await unlink(temporary).catch(() => undefined);
  }
}
