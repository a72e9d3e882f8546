/**
 * Writes a key file so that no other user can ever read it and no crash can leave half of it
 * (`saveSecretFile`: a temporary 0600 file, fsynced, moved into place in one step, the directory
 * fsynced).
 */
import { encodeKeyFile } from './key-file-format.ts';
import type { KeyFileKey } from './key-file-format.ts';
import { saveSecretFile } from './secret-file.ts';

export { keyFileMode, keyDirectoryMode } from './secret-file.ts';

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
  await saveSecretFile({
    path: options.path,
    text: encodeKeyFile(options.key),
    label: 'key file',
    ...(options.overwrite === undefined ? {} : { overwrite: options.overwrite }),
  });
}
