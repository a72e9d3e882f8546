/**
 * Reads a key file, refusing it before reading a byte of the secret when its mode lets anyone but
 * its owner read or write it (the rule OpenSSH applies to private keys). The mode and size come
 * from the open file descriptor, so the file checked is the file read.
 */
import type { Ed25519KeyPair, X25519KeyPair } from '../crypto/index.ts';
import { KeyFileError, KeyFileErrorCode } from './errors.ts';
import { decodeKeyFile, keyFileBytesMax } from './key-file-format.ts';
import type { KeyFileAlgorithm, LoadedKey } from './key-file-format.ts';
import { readSecretFile } from './secret-file.ts';

/**
 * Loads the key file at `path` and returns the key pair its secret derives. Throws
 * `KeyFileError`: `not-found`, `not-a-file`, `too-open` (mode allows group or others any
 * access; `chmod 600` fixes it), `malformed`, `wrong-kind` or `unsupported-version`.
 */
export function loadKeyFile(path: string): Promise<LoadedKey> {
  return readSecretFile({
    path,
    label: 'key file',
    writtenBy: 'saveKeyFile',
    bytesMax: keyFileBytesMax,
    decode: (bytes) => decodeKeyFile({ path, bytes }),
  });
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
