/**
 * The key file document (format version 1), encoded and decoded without I/O:
 *
 * ```json
 * { "kind": "medledger-key", "version": 1, "algorithm": "ed25519",
 *   "seed": "<64 hex digits>", "publicKey": "<64 hex digits>" }
 * ```
 *
 * An X25519 file has `"algorithm": "x25519"` and `"privateKey"` in place of `"seed"`. The public
 * key is stored beside the secret so that an operator can compare it with the genesis file
 * without tools, and decoding checks that it is the one the secret derives: a file edited by
 * hand, or the halves of two files pasted together, is refused rather than used.
 */
import { fromHex, fromUtf8, shortHex, toHex } from '../base/index.ts';
import { ed25519KeyPairFromSeed, x25519KeyPairFromSeed } from '../crypto/index.ts';
import type { Ed25519KeyPair, X25519KeyPair } from '../crypto/index.ts';
import { KeyFileError, KeyFileErrorCode } from './errors.ts';

/** Value of the `kind` field: marks the document as a MedLedger key file. */
export const keyFileKind = 'medledger-key';

/** The format version this build writes and reads. */
export const keyFileVersion = 1;

/** Largest key file read, in bytes: a version 1 file is under 300 bytes; this leaves room. */
export const keyFileBytesMax = 4096;

/** The algorithms a key file can hold. */
export type KeyFileAlgorithm = 'ed25519' | 'x25519';

/** A secret key to save: an Ed25519 seed (RFC 8032) or an X25519 private key (RFC 7748). */
export type KeyFileKey =
  | { readonly kind: 'ed25519'; readonly seed: Uint8Array }
  | { readonly kind: 'x25519'; readonly privateKey: Uint8Array };

/** A loaded key file: the key pair the secret derives. */
export type LoadedKey =
  | { readonly kind: 'ed25519'; readonly keyPair: Ed25519KeyPair }
  | { readonly kind: 'x25519'; readonly keyPair: X25519KeyPair };

const secretFieldOf = { ed25519: 'seed', x25519: 'privateKey' } as const;

/** The key file text of `key`: two-space indented JSON and a final newline. */
export function encodeKeyFile(key: KeyFileKey): string {
  let document: Record<string, string | number>;
  switch (key.kind) {
    case 'ed25519': {
      const keyPair = ed25519KeyPairFromSeed(key.seed);
      document = {
        kind: keyFileKind,
        version: keyFileVersion,
        algorithm: 'ed25519',
        seed: toHex(keyPair.seed),
        publicKey: toHex(keyPair.publicKey),
      };
      break;
    }
    case 'x25519': {
      const keyPair = x25519KeyPairFromSeed(key.privateKey);
      document = {
        kind: keyFileKind,
        version: keyFileVersion,
        algorithm: 'x25519',
        privateKey: toHex(keyPair.privateKey),
        publicKey: toHex(keyPair.publicKey),
      };
      break;
    }
  }
  return `${JSON.stringify(document, null, 2)}\n`;
}

function malformed(path: string, problem: string): KeyFileError {
  return new KeyFileError(KeyFileErrorCode.malformed, `key file ${path} is malformed: ${problem}`, {
    path,
  });
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

function readKey(options: {
  path: string;
  document: Record<string, unknown>;
  field: string;
}): Uint8Array {
  const { path, document, field } = options;
  const value = document[field];
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) {
    throw malformed(
      path,
      `"${field}" must be 64 lower-case hex digits (32 bytes), found ${describeJson(value)}`,
    );
  }
  return fromHex(value);
}

/**
 * Decodes and checks the bytes of a key file. `path` only names the file in errors. Throws
 * `KeyFileError`: `malformed` (not UTF-8, not JSON, a missing, extra or ill-formed field, or a
 * public key that does not match the secret), `wrong-kind` (not a MedLedger key file), or
 * `unsupported-version`.
 */
export function decodeKeyFile(options: { path: string; bytes: Uint8Array }): LoadedKey {
  const { path, bytes } = options;
  if (bytes.length > keyFileBytesMax) {
    throw malformed(
      path,
      `expected at most keyFileBytesMax ${keyFileBytesMax} bytes, found ${bytes.length}`,
    );
  }
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch {
    throw malformed(path, 'it is not UTF-8 text');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw malformed(
      path,
      `it is not JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw malformed(path, `expected a JSON object, found ${describeJson(parsed)}`);
  }
  const document = parsed as Record<string, unknown>;
  if (document.kind !== keyFileKind) {
    if (document.kind === undefined) throw malformed(path, `the field "kind" is missing`);
    throw new KeyFileError(
      KeyFileErrorCode.wrongKind,
      `key file ${path} is not a MedLedger key file: expected "kind": "${keyFileKind}", found ` +
        describeJson(document.kind),
      { path, found: document.kind },
    );
  }
  if (document.version !== keyFileVersion) {
    if (document.version === undefined) throw malformed(path, `the field "version" is missing`);
    throw new KeyFileError(
      KeyFileErrorCode.unsupportedVersion,
      `key file ${path} has format version ${describeJson(document.version)}; this build reads ` +
        `version ${keyFileVersion} only`,
      { path, found: document.version },
    );
  }
  const algorithm = document.algorithm;
  if (algorithm !== 'ed25519' && algorithm !== 'x25519') {
    throw malformed(
      path,
      `"algorithm" must be "ed25519" or "x25519", found ${describeJson(algorithm)}`,
    );
  }
  const secretField = secretFieldOf[algorithm];
  const expectedFields = ['kind', 'version', 'algorithm', secretField, 'publicKey'];
  for (const field of Object.keys(document)) {
    if (!expectedFields.includes(field)) {
      throw malformed(
        path,
        `unexpected field "${field}" (an ${algorithm} key file has ${expectedFields.join(', ')})`,
      );
    }
  }
  const secret = readKey({ path, document, field: secretField });
  const publicKey = readKey({ path, document, field: 'publicKey' });
  const loaded: LoadedKey =
    algorithm === 'ed25519'
      ? { kind: 'ed25519', keyPair: ed25519KeyPairFromSeed(secret) }
      : { kind: 'x25519', keyPair: x25519KeyPairFromSeed(secret) };
  secret.fill(0);
  if (toHex(loaded.keyPair.publicKey) !== toHex(publicKey)) {
    throw malformed(
      path,
      `"publicKey" does not match the ${secretField}: the ${secretField} derives ` +
        `${shortHex(loaded.keyPair.publicKey)}, the file says ${shortHex(publicKey)}`,
    );
  }
  return loaded;
}
