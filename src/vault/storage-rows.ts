/**
 * Column values of both databases into the vault's row types. SQLite returns integers as numbers
 * and booleans as 0/1; PostgreSQL returns BIGINT as decimal strings and BOOLEAN as booleans; both
 * return BLOB/BYTEA as `Buffer`s. A value of any other shape is a changed row: `integrity`.
 */
import { VaultError, VaultErrorCode } from './errors.ts';
import type { RecordVersionMeta, StoredKeyRow, StoredVersionRow } from './record-vault.ts';

/** The columns every version query selects, in the order both databases name them. */
export const versionColumns =
  'v.record_id, v.version, v.resource_type, v.patient_id, v.last_updated_ms, ' +
  'v.security_labels, v.deleted, v.erased';

/** The columns of a full version read: metadata, crypto columns, and the wrapped key. */
export const fullVersionColumns =
  `${versionColumns}, v.salt, v.content_hash, v.nonce, v.ciphertext, v.tag, ` +
  'k.kek_id, k.wrap_nonce, k.wrapped_key, v.provenance';

/**
 * The columns of a superseded version (decision 0062), named as `fullVersionColumns` names
 * them: the same row shape, its key kept beside it in one table.
 */
export const supersededColumns =
  `${versionColumns}, v.salt, v.content_hash, v.nonce, v.ciphertext, v.tag, ` +
  'v.kek_id, v.wrap_nonce, v.wrapped_key, v.provenance';

type Columns = Record<string, unknown>;

function corrupt(columns: Columns, column: string, expected: string): VaultError {
  const recordId = typeof columns.record_id === 'string' ? columns.record_id : '?';
  return new VaultError(
    VaultErrorCode.integrity,
    `record ${recordId}: stored column ${column} is not ${expected}; a stored byte was changed`,
    { recordId, column },
  );
}

function text(columns: Columns, column: string): string {
  const value = columns[column];
  if (typeof value !== 'string') throw corrupt(columns, column, 'text');
  return value;
}

function integer(columns: Columns, column: string): number {
  const value = columns[column];
  const number = typeof value === 'string' && /^-?\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number)) {
    throw corrupt(columns, column, 'an integer');
  }
  return number;
}

function boolean(columns: Columns, column: string): boolean {
  const value = columns[column];
  if (value === true || value === 1) return true;
  if (value === false || value === 0) return false;
  throw corrupt(columns, column, 'a boolean');
}

function bytes(columns: Columns, column: string): Uint8Array {
  const value = columns[column];
  if (!(value instanceof Uint8Array)) throw corrupt(columns, column, 'bytes');
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function labels(columns: Columns): readonly string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text(columns, 'security_labels'));
  } catch {
    throw corrupt(columns, 'security_labels', 'a JSON array');
  }
  if (!Array.isArray(parsed) || !parsed.every((label) => typeof label === 'string')) {
    throw corrupt(columns, 'security_labels', 'a JSON array of strings');
  }
  return Object.freeze(parsed);
}

/** Encodes security labels for the `security_labels` column. */
export function encodeLabels(securityLabels: readonly string[]): string {
  return JSON.stringify(securityLabels);
}

/** A version's metadata from its columns. */
export function metaFromColumns(columns: Columns): RecordVersionMeta {
  return {
    recordId: text(columns, 'record_id'),
    version: integer(columns, 'version'),
    resourceType: text(columns, 'resource_type'),
    patientId: text(columns, 'patient_id'),
    lastUpdatedMs: integer(columns, 'last_updated_ms'),
    securityLabels: labels(columns),
    deleted: boolean(columns, 'deleted'),
    erased: boolean(columns, 'erased'),
  };
}

/** A full version row (`fullVersionColumns`, the key columns null once erased; the Provenance null when none was stored). */
export function versionFromColumns(columns: Columns): StoredVersionRow {
  const hasKey = columns.kek_id !== null && columns.kek_id !== undefined;
  return {
    ...metaFromColumns(columns),
    salt: bytes(columns, 'salt'),
    contentHash: bytes(columns, 'content_hash'),
    nonce: bytes(columns, 'nonce'),
    ciphertext: bytes(columns, 'ciphertext'),
    tag: bytes(columns, 'tag'),
    key: hasKey
      ? {
          kekId: text(columns, 'kek_id'),
          wrapNonce: bytes(columns, 'wrap_nonce'),
          wrappedKey: bytes(columns, 'wrapped_key'),
        }
      : null,
    provenance: columns.provenance === null ? null : bytes(columns, 'provenance'),
  };
}

/** A data key row (`record_id, version, kek_id, wrap_nonce, wrapped_key`). */
export function keyFromColumns(columns: Columns): StoredKeyRow {
  return {
    recordId: text(columns, 'record_id'),
    version: integer(columns, 'version'),
    kekId: text(columns, 'kek_id'),
    wrapNonce: bytes(columns, 'wrap_nonce'),
    wrappedKey: bytes(columns, 'wrapped_key'),
  };
}
