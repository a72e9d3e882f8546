/**
 * The `RecordVault` interface and its one implementation of the cryptography over a small
 * storage interface (`VaultStorage`), so that SQLite and PostgreSQL differ only in SQL: the same
 * checks, the same encryption, the same errors, and the same test suite for both.
 */

import { equalBytes, fromUtf8, shortHex } from '../base/index.ts';
import type { Hash } from '../crypto/index.ts';
import { VaultError, VaultErrorCode } from './errors.ts';
import { isVaultKek } from './kek.ts';
import type { VaultKek } from './kek.ts';
import { vaultLimits } from './limits.ts';
import { randomPoolBytes } from './random-pool.ts';
import {
  decryptRecord,
  encryptRecord,
  openProvenance,
  sealProvenance,
  unwrapDataKey,
  wrapDataKey,
  type RecordBinding,
  type WrappedDataKey,
} from './record-cipher.ts';
import {
  canonicalResourceBytes,
  jsonResourceBytes,
  recordContentHash,
  recordSaltBytes,
  type FhirResourceJson,
} from './record-content-hash.ts';

/**
 * What the vault keeps in the clear about a record version. No clinical content: ids (the
 * patient's is a pseudonym), the resource type, security label codes, a time and two flags.
 */
export type RecordVersionMeta = {
  readonly recordId: string;
  readonly version: number;
  readonly resourceType: string;
  readonly patientId: string;
  /** FHIR `meta.lastUpdated`, in ms since 1970 (the caller's clock: the vault reads none). */
  readonly lastUpdatedMs: number;
  /** FHIR `meta.security` codes (N, R, V, HIV, 42CFRPart2, …). */
  readonly securityLabels: readonly string[];
  /** The version is a FHIR delete (a read answers 410 Gone). */
  readonly deleted: boolean;
  /** The data key was destroyed by `erasePatient`: the content is gone. */
  readonly erased: boolean;
};

/** One version to store; `version` must be the record's next (1 for a new record). */
export type PutRecordInput = {
  readonly recordId: string;
  readonly version: number;
  readonly resourceType: string;
  readonly patientId: string;
  readonly resource: FhirResourceJson;
  readonly lastUpdatedMs: number;
  readonly securityLabels: readonly string[];
  readonly deleted?: boolean;
  /**
   * The caller read the chain and `version` is one above the record's anchored head, so a
   * version of that number already stored was never anchored (its writer crashed, or its anchor
   * was refused or is still pending): it is set aside as superseded instead of refusing this put.
   * It is kept, not deleted, so that if its anchor commits after all, `get` with its content hash
   * still finds it (decision 0062). Only the latest stored version can be set aside.
   */
  readonly replaceUnanchored?: boolean;
  /**
   * The version's Provenance (FHIR R4 `Provenance`), kept in the version's row: encrypted under
   * the version's data key (so erasure destroys it with the record), bound to the version's
   * metadata, and read back by `getProvenance`. Not covered by the content hash.
   */
  readonly provenance?: FhirResourceJson;
};

/** What `put` returns: the salted hash to anchor on chain and its salt. */
export type PutRecordResult = { readonly contentHash: Hash; readonly salt: Uint8Array };

/** A decrypted, verified record version. */
export type VaultRecord = {
  readonly meta: RecordVersionMeta;
  readonly resource: FhirResourceJson;
  /** The RFC 8785 canonical bytes the hash covers (what a peer is sent). */
  readonly canonical: Uint8Array;
  readonly salt: Uint8Array;
  readonly contentHash: Hash;
};

/** Filters and paging of `list`: records are in `recordId` order; `after` is the last id seen. */
export type ListRecordsQuery = {
  readonly resourceType?: string;
  readonly patientId?: string;
  readonly after?: string;
  readonly limit?: number;
};

/** One page of `list`: `next` is the `after` of the next page, or null after the last. */
export type ListRecordsPage = {
  readonly records: readonly RecordVersionMeta[];
  readonly next: string | null;
};

/** A version whose data key `erasePatient` destroyed. */
export type ErasedVersion = { readonly recordId: string; readonly version: number };

/**
 * The encrypted off-chain record vault of one organisation (DESIGN.md "Records off the chain").
 * Async everywhere, so that SQLite and PostgreSQL sit behind the same interface. See README.md.
 */
export interface RecordVault {
  /** Which storage engine holds the vault. */
  readonly backend: 'sqlite' | 'postgres';
  /** The id of the KEK that wraps every data key now (changes with `rotateKek`). */
  readonly kekId: string;
  /** Stores the next version of a record, encrypted; returns its salted content hash. */
  put(input: PutRecordInput): Promise<PutRecordResult>;
  /**
   * Decrypts and verifies the latest version, or `version`. With `contentHash` (the hash the
   * chain anchored), the version stored under that hash, superseded or not: `integrity` if the
   * vault holds no copy with that hash.
   */
  get(options: {
    recordId: string;
    version?: number;
    contentHash?: Uint8Array;
  }): Promise<VaultRecord>;
  /**
   * The Provenance `put` stored with the version (chosen as `get` chooses it), or null when it
   * was stored without one; the same errors as `get`.
   */
  getProvenance(options: {
    recordId: string;
    version: number;
    contentHash?: Uint8Array;
  }): Promise<FhirResourceJson | null>;
  /** Every version's metadata, oldest first (no decryption); `not-found` for an unknown record. */
  history(recordId: string): Promise<readonly RecordVersionMeta[]>;
  /** The current version's metadata of each record that matches, a page at a time. */
  list(query?: ListRecordsQuery): Promise<ListRecordsPage>;
  /** Crypto-shredding: destroys the data keys of every version of the patient's records. */
  erasePatient(patientId: string): Promise<readonly ErasedVersion[]>;
  /** Re-wraps every data key under `newKek`, in one transaction; returns how many. */
  rotateKek(newKek: VaultKek): Promise<{ readonly rewrapped: number }>;
  /** Closes the database; later calls throw `closed`. */
  close(): Promise<void>;
}

/** A stored version: its metadata, hash, salt, ciphertext, and wrapped key (null once erased). */
export type StoredVersionRow = RecordVersionMeta & {
  readonly salt: Uint8Array;
  readonly contentHash: Uint8Array;
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
  readonly key: WrappedDataKey | null;
  /** The version's Provenance sealed under its data key (`sealProvenance`), or null. */
  readonly provenance: Uint8Array | null;
};

/** A stored data key, as `rotateKek` sees it. */
export type StoredKeyRow = { readonly recordId: string; readonly version: number } & WrappedDataKey;

/** What a record is, as `put` checks it against the next version. */
export type RecordHead = {
  readonly latestVersion: number;
  readonly resourceType: string;
  readonly patientId: string;
  readonly erased: boolean;
};

/** The storage under a vault: one implementation per database (internal to this folder). */
export interface VaultStorage {
  readonly backend: 'sqlite' | 'postgres';
  /**
   * In one transaction: checks `checkNextVersion` and the vault's KEK id, moves the version it
   * replaces (if any) with its data key to the superseded versions, then inserts.
   *
   * Settles once the storage has taken the row in its order: every insert, erasure or rotation
   * the storage is given after that sees it. `committed` settles once the row is durable (or
   * refused). A storage with group commit takes a row before committing it, so that the rows
   * taken in one event-loop turn share one commit; one without takes it by committing it.
   */
  insertVersion(
    row: StoredVersionRow,
    options: { replaceUnanchored: boolean },
  ): Promise<{ readonly committed: Promise<void> }>;
  readVersion(recordId: string, version: number | null): Promise<StoredVersionRow | null>;
  /** A superseded version of `recordId` with that number and content hash, or null. */
  readSuperseded(
    recordId: string,
    version: number,
    contentHash: Uint8Array,
  ): Promise<StoredVersionRow | null>;
  readHistory(recordId: string): Promise<readonly RecordVersionMeta[]>;
  listCurrent(query: {
    resourceType: string | null;
    patientId: string | null;
    after: string | null;
    limit: number;
  }): Promise<readonly RecordVersionMeta[]>;
  /** In one transaction: overwrites and deletes the keys, marks the versions erased. */
  erasePatient(patientId: string): Promise<readonly ErasedVersion[]>;
  /** In one transaction: every key row through `rewrap`, and the vault's KEK id to `toKekId`. */
  rewrapAll(options: {
    fromKekId: string;
    toKekId: string;
    rewrap: (row: StoredKeyRow) => WrappedDataKey;
  }): Promise<number>;
  close(): Promise<void>;
}

/** FHIR R4 `id` (datatypes: `[A-Za-z0-9\-\.]{1,64}`): record ids and patient pseudonyms. */
const idPattern = /^[A-Za-z0-9.-]{1,64}$/;
/** FHIR R4 resource type names. */
const resourceTypePattern = /^[A-Z][A-Za-z]{0,63}$/;
/** Security label codes: printable ASCII without spaces. */
const labelPattern = /^[\x21-\x7e]{1,128}$/;

function invalid(argument: string, problem: string): VaultError {
  return new VaultError(VaultErrorCode.invalidArgument, `${argument}: ${problem}`, { argument });
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 70 ? `${value.slice(0, 70)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** Checks a record or patient id (FHIR `id` syntax); throws `invalid-argument` naming it. */
export function checkId(value: unknown, argument: string): string {
  if (typeof value !== 'string' || !idPattern.test(value)) {
    throw invalid(
      argument,
      `expected a FHIR id (1 to 64 of A-Z a-z 0-9 - .), found ${describe(value)}`,
    );
  }
  return value;
}

function checkResourceType(value: unknown, argument: string): string {
  if (typeof value !== 'string' || !resourceTypePattern.test(value)) {
    throw invalid(argument, `expected a FHIR resource type name, found ${describe(value)}`);
  }
  return value;
}

function checkVersion(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalid(argument, `expected a version number 1, 2, 3…, found ${describe(value)}`);
  }
  if (value > vaultLimits.versionsPerRecordMax) {
    throw new VaultError(
      VaultErrorCode.tooLarge,
      `${argument}: version ${value} is over vaultLimits.versionsPerRecordMax ${vaultLimits.versionsPerRecordMax}`,
      { argument },
    );
  }
  return value;
}

function checkLabels(value: unknown): readonly string[] {
  if (!Array.isArray(value))
    throw invalid('securityLabels', `expected an array of codes, found ${describe(value)}`);
  if (value.length > vaultLimits.securityLabelsMax) {
    throw new VaultError(
      VaultErrorCode.tooLarge,
      `securityLabels: ${value.length} labels, over vaultLimits.securityLabelsMax ${vaultLimits.securityLabelsMax}`,
      { argument: 'securityLabels' },
    );
  }
  const labels: string[] = [];
  for (const [index, label] of (value as unknown[]).entries()) {
    if (typeof label !== 'string' || !labelPattern.test(label)) {
      throw invalid(
        `securityLabels[${index}]`,
        `expected a code of 1 to 128 printable ASCII characters, found ${describe(label)}`,
      );
    }
    labels.push(label);
  }
  return Object.freeze(labels);
}

/**
 * Refuses a version that is not the record's next one, or that changes its resource type or
 * patient, or that follows an erasure. With `replaceUnanchored`, the latest stored version's
 * number is accepted too: the answer is then whether the put replaces that version. Storage
 * calls it inside the inserting transaction.
 */
export function checkNextVersion(
  head: RecordHead | null,
  row: RecordVersionMeta,
  options: { replaceUnanchored: boolean } = { replaceUnanchored: false },
): { replaces: boolean } {
  const expected = head === null ? 1 : head.latestVersion + 1;
  const replaces = options.replaceUnanchored && head !== null && row.version === head.latestVersion;
  if (row.version !== expected && !replaces) {
    const what = head !== null && row.version <= head.latestVersion ? 'already stored' : 'a gap';
    throw new VaultError(
      VaultErrorCode.versionConflict,
      `record ${row.recordId}: expected version ${expected}, found ${row.version} (${what})`,
      { recordId: row.recordId, expected, found: row.version },
    );
  }
  if (head === null) return { replaces };
  if (head.erased) {
    throw new VaultError(
      VaultErrorCode.erased,
      `record ${row.recordId}: its patient's data was erased; no version is stored after that`,
      { recordId: row.recordId },
    );
  }
  if (head.resourceType !== row.resourceType || head.patientId !== row.patientId) {
    throw new VaultError(
      VaultErrorCode.recordMismatch,
      `record ${row.recordId}: resource type and patient must stay ${head.resourceType} and ` +
        `${head.patientId}, found ${row.resourceType} and ${row.patientId}`,
      { recordId: row.recordId },
    );
  }
  return { replaces };
}

/** The `kek-id` mismatch error, used at open and when storage finds another KEK in force. */
export function wrongKekError(options: { vaultKekId: string; givenKekId: string }): VaultError {
  return new VaultError(
    VaultErrorCode.wrongKek,
    `the vault's data keys are wrapped by KEK ${options.vaultKekId}, but the KEK given is ` +
      `${options.givenKekId}; load the KEK file this vault was last rotated to`,
    { ...options },
  );
}

function integrity(recordId: string, version: number, problem: string): VaultError {
  return new VaultError(
    VaultErrorCode.integrity,
    `record ${recordId} version ${version}: ${problem}; a stored byte was changed, so the record ` +
      'is not served',
    { recordId, version },
  );
}

/** The JSON bytes of a `put`'s Provenance, refused unless it is a Provenance resource. */
function provenanceBytes(provenance: unknown): Uint8Array {
  if (
    typeof provenance !== 'object' ||
    provenance === null ||
    (provenance as { resourceType?: unknown }).resourceType !== 'Provenance'
  ) {
    throw invalid(
      'provenance',
      `expected a FHIR Provenance resource, found ${describe(provenance)}`,
    );
  }
  try {
    return jsonResourceBytes(provenance);
  } catch (error) {
    if (error instanceof VaultError) throw invalid('provenance', error.message);
    throw error;
  }
}

function metaOf(row: RecordVersionMeta): RecordVersionMeta {
  return {
    recordId: row.recordId,
    version: row.version,
    resourceType: row.resourceType,
    patientId: row.patientId,
    lastUpdatedMs: row.lastUpdatedMs,
    securityLabels: row.securityLabels,
    deleted: row.deleted,
    erased: row.erased,
  };
}

/**
 * The vault over `storage`, with `kek` already checked against the stored KEK id. Writes (put,
 * erase, rotate) are handed to the storage one at a time through one queue, so a rotation never
 * races a put of the same vault object; a put leaves the queue once the storage has taken its
 * row (SQLite commits the rows taken in one turn together), and settles once it is committed.
 * Reads run freely.
 */
export function createRecordVault(options: { storage: VaultStorage; kek: VaultKek }): RecordVault {
  const { storage } = options;
  let kek = options.kek;
  let closed = false;
  let writeQueue: Promise<unknown> = Promise.resolve();

  function checkOpen(): void {
    if (closed) throw new VaultError(VaultErrorCode.closed, 'the vault is closed');
  }

  function exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = writeQueue.then(() => {
      checkOpen();
      return work();
    });
    writeQueue = result.catch(() => undefined);
    return result;
  }

  async function put(input: PutRecordInput): Promise<PutRecordResult> {
    checkOpen();
    if (typeof input !== 'object' || input === null)
      throw invalid('input', `expected an object, found ${describe(input)}`);
    const recordId = checkId(input.recordId, 'recordId');
    const version = checkVersion(input.version, 'version');
    const resourceType = checkResourceType(input.resourceType, 'resourceType');
    const patientId = checkId(input.patientId, 'patientId');
    const lastUpdatedMs = input.lastUpdatedMs;
    if (
      typeof lastUpdatedMs !== 'number' ||
      !Number.isSafeInteger(lastUpdatedMs) ||
      lastUpdatedMs < 0
    ) {
      throw invalid(
        'lastUpdatedMs',
        `expected ms since 1970 (a safe integer ≥ 0), found ${describe(lastUpdatedMs)}`,
      );
    }
    const securityLabels = checkLabels(input.securityLabels);
    const deleted = input.deleted ?? false;
    if (typeof deleted !== 'boolean')
      throw invalid('deleted', `expected a boolean, found ${describe(deleted)}`);
    const replaceUnanchored = input.replaceUnanchored ?? false;
    if (typeof replaceUnanchored !== 'boolean') {
      throw invalid(
        'replaceUnanchored',
        `expected a boolean, found ${describe(replaceUnanchored)}`,
      );
    }
    const canonical = canonicalResourceBytes(input.resource);
    if (input.resource.resourceType !== resourceType) {
      throw invalid(
        'resource.resourceType',
        `expected ${resourceType} (the resourceType argument), found ${describe(input.resource.resourceType)}`,
      );
    }
    const provenanceJson =
      input.provenance === undefined ? null : provenanceBytes(input.provenance);
    const binding: RecordBinding = {
      recordId,
      version,
      resourceType,
      patientId,
      lastUpdatedMs,
      securityLabels,
      deleted,
    };
    const salt = randomPoolBytes(recordSaltBytes);
    const contentHash = recordContentHash({ salt, canonical });
    const { dataKey, nonce, ciphertext, tag } = encryptRecord({ canonical, binding });
    const provenance =
      provenanceJson === null ? null : sealProvenance({ dataKey, json: provenanceJson, binding });
    // The write queue orders the row among the vault's writes (under the KEK in force when its
    // turn comes); its durability is awaited outside the queue, so that the puts of one
    // event-loop turn reach a group-committing storage together and share its commit.
    const { committed } = await exclusive(() => {
      let key: WrappedDataKey;
      try {
        key = wrapDataKey({ kek, dataKey, recordId, version });
      } finally {
        dataKey.fill(0);
      }
      return storage.insertVersion(
        { ...binding, erased: false, salt, contentHash, nonce, ciphertext, tag, key, provenance },
        { replaceUnanchored },
      );
    });
    await committed;
    return { contentHash, salt };
  }

  /**
   * The stored row `get` and `getProvenance` read (the one under `contentHash` when given,
   * superseded or not) and its unwrapped data key: the caller wipes the key after use.
   */
  async function readRow(
    options: unknown,
    versionRequired: boolean,
  ): Promise<{ row: StoredVersionRow; dataKey: Uint8Array }> {
    checkOpen();
    const {
      recordId: rawRecordId,
      version: rawVersion,
      contentHash: wanted,
    } = (options ?? {}) as { recordId?: unknown; version?: unknown; contentHash?: unknown };
    const recordId = checkId(rawRecordId, 'recordId');
    const version =
      rawVersion === undefined && !versionRequired ? null : checkVersion(rawVersion, 'version');
    if (wanted !== undefined && !(wanted instanceof Uint8Array && wanted.length === 32)) {
      throw invalid('contentHash', `expected 32 bytes, found ${describe(wanted)}`);
    }
    let row = await storage.readVersion(recordId, version);
    if (row === null) {
      throw new VaultError(
        VaultErrorCode.notFound,
        version === null
          ? `record ${recordId} is not in the vault`
          : `record ${recordId} has no version ${version}`,
        { recordId, version },
      );
    }
    if (row.erased) {
      throw new VaultError(
        VaultErrorCode.erased,
        `record ${recordId} version ${row.version} was erased: its data key is destroyed and its ` +
          'content can never be read again (the hash history stays on chain)',
        { recordId, version: row.version },
      );
    }
    if (wanted !== undefined && !equalBytes(row.contentHash, wanted)) {
      // The stored version is not the anchored one: the anchored one was set aside by a put
      // that replaced it before its anchor committed (see `replaceUnanchored`).
      const superseded = await storage.readSuperseded(recordId, row.version, wanted);
      if (superseded === null) {
        throw integrity(
          recordId,
          row.version,
          `no stored copy has the anchored content hash ${shortHex(wanted)} (the stored ` +
            `version's is ${shortHex(row.contentHash)})`,
        );
      }
      row = superseded;
    }
    if (row.key === null)
      throw integrity(recordId, row.version, 'its data key is missing but it was never erased');
    if (row.key.kekId !== kek.id) {
      throw integrity(
        recordId,
        row.version,
        `its data key names KEK ${row.key.kekId}, but the vault's KEK is ${kek.id}`,
      );
    }
    const dataKey = unwrapDataKey({ kek, wrapped: row.key, recordId, version: row.version });
    if (dataKey === null)
      throw integrity(
        recordId,
        row.version,
        'its wrapped data key does not unwrap (wrapped key or wrap nonce changed)',
      );
    return { row, dataKey };
  }

  async function get(options: {
    recordId: string;
    version?: number;
    contentHash?: Uint8Array;
  }): Promise<VaultRecord> {
    const { row, dataKey } = await readRow(options, false);
    const { recordId } = row;
    let canonical: Uint8Array | null;
    try {
      canonical = decryptRecord({
        dataKey,
        nonce: row.nonce,
        ciphertext: row.ciphertext,
        tag: row.tag,
        binding: row,
      });
    } finally {
      dataKey.fill(0);
    }
    if (canonical === null) {
      throw integrity(
        recordId,
        row.version,
        'its ciphertext does not decrypt (ciphertext, nonce, tag or metadata changed)',
      );
    }
    if (row.salt.length !== recordSaltBytes)
      throw integrity(
        recordId,
        row.version,
        `its salt is ${row.salt.length} bytes, not ${recordSaltBytes}`,
      );
    const contentHash = recordContentHash({ salt: row.salt, canonical });
    if (!equalBytes(contentHash, row.contentHash)) {
      throw integrity(
        recordId,
        row.version,
        `content hash mismatch: stored ${shortHex(row.contentHash)}, computed ${shortHex(contentHash)}`,
      );
    }
    const resource = JSON.parse(fromUtf8(canonical)) as FhirResourceJson;
    return { meta: metaOf(row), resource, canonical, salt: row.salt, contentHash };
  }

  async function getProvenance(options: {
    recordId: string;
    version: number;
    contentHash?: Uint8Array;
  }): Promise<FhirResourceJson | null> {
    const { row, dataKey } = await readRow(options, true);
    let json: Uint8Array | null;
    try {
      if (row.provenance === null) return null;
      json = openProvenance({ dataKey, sealed: row.provenance, binding: row });
    } finally {
      dataKey.fill(0);
    }
    if (json === null) {
      throw integrity(
        row.recordId,
        row.version,
        "its Provenance does not decrypt (its bytes or the version's metadata changed)",
      );
    }
    return JSON.parse(fromUtf8(json)) as FhirResourceJson;
  }

  async function history(recordId: string): Promise<readonly RecordVersionMeta[]> {
    checkOpen();
    checkId(recordId, 'recordId');
    const versions = await storage.readHistory(recordId);
    if (versions.length === 0) {
      throw new VaultError(VaultErrorCode.notFound, `record ${recordId} is not in the vault`, {
        recordId,
      });
    }
    return versions;
  }

  async function list(query: ListRecordsQuery = {}): Promise<ListRecordsPage> {
    checkOpen();
    const resourceType =
      query.resourceType === undefined
        ? null
        : checkResourceType(query.resourceType, 'resourceType');
    const patientId = query.patientId === undefined ? null : checkId(query.patientId, 'patientId');
    const after = query.after === undefined ? null : checkId(query.after, 'after');
    const limit = query.limit ?? vaultLimits.listPageSizeDefault;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > vaultLimits.listPageSizeMax) {
      throw invalid(
        'limit',
        `expected 1 to vaultLimits.listPageSizeMax ${vaultLimits.listPageSizeMax}, found ${describe(limit)}`,
      );
    }
    // One row more than asked tells whether there is a next page.
    const rows = await storage.listCurrent({ resourceType, patientId, after, limit: limit + 1 });
    const records = rows.slice(0, limit);
    return { records, next: rows.length > limit ? records[records.length - 1]!.recordId : null };
  }

  function erasePatient(patientId: string): Promise<readonly ErasedVersion[]> {
    checkOpen();
    checkId(patientId, 'patientId');
    return exclusive(() => storage.erasePatient(patientId));
  }

  function rotateKek(newKek: VaultKek): Promise<{ rewrapped: number }> {
    checkOpen();
    if (!isVaultKek(newKek))
      throw invalid(
        'newKek',
        'expected a VaultKek from generateVaultKek, vaultKekFromBytes or loadVaultKekFile',
      );
    return exclusive(async () => {
      const oldKek = kek;
      if (newKek.id === oldKek.id)
        throw invalid('newKek', `is the KEK in force (${oldKek.id}); rotate to a new one`);
      const rewrapped = await storage.rewrapAll({
        fromKekId: oldKek.id,
        toKekId: newKek.id,
        rewrap(row) {
          if (row.kekId !== oldKek.id) {
            throw integrity(
              row.recordId,
              row.version,
              `its data key names KEK ${row.kekId}, but the vault's KEK is ${oldKek.id}`,
            );
          }
          const dataKey = unwrapDataKey({
            kek: oldKek,
            wrapped: row,
            recordId: row.recordId,
            version: row.version,
          });
          if (dataKey === null)
            throw integrity(row.recordId, row.version, 'its wrapped data key does not unwrap');
          try {
            return wrapDataKey({
              kek: newKek,
              dataKey,
              recordId: row.recordId,
              version: row.version,
            });
          } finally {
            dataKey.fill(0);
          }
        },
      });
      kek = newKek;
      return { rewrapped };
    });
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    await writeQueue;
    await storage.close();
  }

  return {
    backend: storage.backend,
    get kekId() {
      return kek.id;
    },
    put,
    get,
    getProvenance,
    history,
    list,
    erasePatient,
    rotateKek,
    close,
  };
}
