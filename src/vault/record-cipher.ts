/**
 * The two AES-256-GCM layers of a stored record version (NIST SP 800-38D, through `node:crypto`):
 *
 * 1. the canonical resource under a fresh 256-bit data key, with a random 96-bit nonce and, as
 *    additional authenticated data, a hash of the version's metadata (record id, version,
 *    resource type, patient, time, labels, deleted flag): a ciphertext copied onto another row,
 *    or a metadata column edited, no longer verifies;
 * 2. the data key under the organisation's KEK, again with a random 96-bit nonce, and as
 *    additional data a hash of the KEK id, the record id and the version: a wrapped key copied
 *    onto another row does not unwrap there (decision 0050 says why GCM rather than AES key
 *    wrap).
 *
 * Decryption failures return `null`; the caller turns them into `integrity` errors.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

import { utf8 } from '../base/index.ts';
import { hashTagged } from '../crypto/index.ts';
import type { VaultKek } from './kek.ts';
import { kekKeyOf } from './kek.ts';
import { randomPoolBytes } from './random-pool.ts';

/** Length in bytes of a data key: AES-256. */
export const dataKeyBytes = 32;
/** Length in bytes of a GCM nonce: 96 bits, the length SP 800-38D §8.2.2 recommends. */
export const gcmNonceBytes = 12;
/** Length in bytes of a GCM tag: the full 128 bits. */
export const gcmTagBytes = 16;
/** Length in bytes of a wrapped data key: the encrypted key and its tag. */
export const wrappedKeyBytes = dataKeyBytes + gcmTagBytes;

/** The metadata a record ciphertext is bound to. */
export type RecordBinding = {
  readonly recordId: string;
  readonly version: number;
  readonly resourceType: string;
  readonly patientId: string;
  readonly lastUpdatedMs: number;
  readonly securityLabels: readonly string[];
  readonly deleted: boolean;
};

function u64be(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value));
  return bytes;
}

/** The additional authenticated data of a record ciphertext: a hash of its metadata. */
export function recordAad(binding: RecordBinding): Uint8Array {
  return hashTagged(
    'medledger/vault-record-aad/v1',
    utf8(binding.recordId),
    u64be(binding.version),
    utf8(binding.resourceType),
    utf8(binding.patientId),
    u64be(binding.lastUpdatedMs),
    // Each label is its own length-prefixed part inside one more tagged hash, so no two label
    // lists share an encoding.
    hashTagged('medledger/vault-labels/v1', ...binding.securityLabels.map((label) => utf8(label))),
    Uint8Array.of(binding.deleted ? 1 : 0),
  );
}

function wrapAad(options: { kekId: string; recordId: string; version: number }): Uint8Array {
  return hashTagged(
    'medledger/vault-data-key/v1',
    utf8(options.kekId),
    utf8(options.recordId),
    u64be(options.version),
  );
}

function seal(options: { key: Uint8Array; plaintext: Uint8Array; aad: Uint8Array }): {
  nonce: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
} {
  const nonce = randomPoolBytes(gcmNonceBytes);
  const cipher = createCipheriv('aes-256-gcm', options.key, nonce, { authTagLength: gcmTagBytes });
  cipher.setAAD(options.aad);
  const first = cipher.update(options.plaintext);
  const last = cipher.final();
  const ciphertext = new Uint8Array(first.length + last.length);
  ciphertext.set(first);
  ciphertext.set(last, first.length);
  return { nonce, ciphertext, tag: new Uint8Array(cipher.getAuthTag()) };
}

function open(options: {
  key: Uint8Array;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
  aad: Uint8Array;
}): Uint8Array | null {
  // GCM accepts other nonce lengths and shorter tags; a stored value of another length is a
  // changed byte, never something this vault wrote.
  if (options.nonce.length !== gcmNonceBytes || options.tag.length !== gcmTagBytes) return null;
  const decipher = createDecipheriv('aes-256-gcm', options.key, options.nonce, {
    authTagLength: gcmTagBytes,
  });
  decipher.setAAD(options.aad);
  decipher.setAuthTag(options.tag);
  try {
    const first = decipher.update(options.ciphertext);
    const last = decipher.final();
    const plaintext = new Uint8Array(first.length + last.length);
    plaintext.set(first);
    plaintext.set(last, first.length);
    first.fill(0);
    return plaintext;
  } catch {
    return null;
  }
}

/** Encrypts canonical resource bytes under a fresh data key (returned; wipe it after wrapping). */
export function encryptRecord(options: { canonical: Uint8Array; binding: RecordBinding }): {
  dataKey: Uint8Array;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
} {
  const dataKey = randomPoolBytes(dataKeyBytes);
  const sealed = seal({
    key: dataKey,
    plaintext: options.canonical,
    aad: recordAad(options.binding),
  });
  return { dataKey, ...sealed };
}

/** Decrypts a record ciphertext; `null` if any byte of it, its nonce, tag or binding changed. */
export function decryptRecord(options: {
  dataKey: Uint8Array;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
  binding: RecordBinding;
}): Uint8Array | null {
  return open({
    key: options.dataKey,
    nonce: options.nonce,
    ciphertext: options.ciphertext,
    tag: options.tag,
    aad: recordAad(options.binding),
  });
}

/**
 * The additional authenticated data of a version's Provenance: the version's own AAD under another
 * tag, so the Provenance is bound to the same metadata and can never pass for the record.
 */
function provenanceAad(binding: RecordBinding): Uint8Array {
  return hashTagged('medledger/vault-provenance-aad/v1', recordAad(binding));
}

/**
 * Seals a version's Provenance (its JSON) under the version's data key, with its own random
 * nonce: `nonce ‖ ciphertext ‖ tag`, in one column beside the record's ciphertext (decision 0080).
 */
export function sealProvenance(options: {
  dataKey: Uint8Array;
  json: Uint8Array;
  binding: RecordBinding;
}): Uint8Array {
  const sealed = seal({
    key: options.dataKey,
    plaintext: options.json,
    aad: provenanceAad(options.binding),
  });
  const out = new Uint8Array(gcmNonceBytes + sealed.ciphertext.length + gcmTagBytes);
  out.set(sealed.nonce);
  out.set(sealed.ciphertext, gcmNonceBytes);
  out.set(sealed.tag, gcmNonceBytes + sealed.ciphertext.length);
  return out;
}

/** Opens a sealed Provenance; `null` if any byte of it or of the version's metadata changed. */
export function openProvenance(options: {
  dataKey: Uint8Array;
  sealed: Uint8Array;
  binding: RecordBinding;
}): Uint8Array | null {
  const { sealed } = options;
  if (sealed.length < gcmNonceBytes + gcmTagBytes) return null;
  return open({
    key: options.dataKey,
    nonce: sealed.subarray(0, gcmNonceBytes),
    ciphertext: sealed.subarray(gcmNonceBytes, sealed.length - gcmTagBytes),
    tag: sealed.subarray(sealed.length - gcmTagBytes),
    aad: provenanceAad(options.binding),
  });
}

/** A data key wrapped by a KEK: the KEK's id, the nonce, and the encrypted key with its tag. */
export type WrappedDataKey = {
  readonly kekId: string;
  readonly wrapNonce: Uint8Array;
  readonly wrappedKey: Uint8Array;
};

/** Wraps a data key under `kek`, bound to the KEK id, the record id and the version. */
export function wrapDataKey(options: {
  kek: VaultKek;
  dataKey: Uint8Array;
  recordId: string;
  version: number;
}): WrappedDataKey {
  const { kek, dataKey, recordId, version } = options;
  const sealed = seal({
    key: kekKeyOf(kek),
    plaintext: dataKey,
    aad: wrapAad({ kekId: kek.id, recordId, version }),
  });
  const wrappedKey = new Uint8Array(wrappedKeyBytes);
  wrappedKey.set(sealed.ciphertext);
  wrappedKey.set(sealed.tag, dataKeyBytes);
  return { kekId: kek.id, wrapNonce: sealed.nonce, wrappedKey };
}

/** Unwraps a data key; `null` if the wrapped key, its nonce, KEK id or binding changed. */
export function unwrapDataKey(options: {
  kek: VaultKek;
  wrapped: WrappedDataKey;
  recordId: string;
  version: number;
}): Uint8Array | null {
  const { kek, wrapped, recordId, version } = options;
  if (wrapped.kekId !== kek.id || wrapped.wrappedKey.length !== wrappedKeyBytes) return null;
  const dataKey = open({
    key: kekKeyOf(kek),
    nonce: wrapped.wrapNonce,
    ciphertext: wrapped.wrappedKey.subarray(0, dataKeyBytes),
    tag: wrapped.wrappedKey.subarray(dataKeyBytes),
    aad: wrapAad({ kekId: wrapped.kekId, recordId, version }),
  });
  return dataKey !== null && dataKey.length === dataKeyBytes ? dataKey : null;
}
