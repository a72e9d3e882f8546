/**
 * The state key layout (decision 0021, README "State layout"): every key is
 * `hashTagged("medledger/state-key/v1", utf8(namespace), ...parts)`, 32 bytes, so keys of
 * different namespaces never collide and the sparse Merkle tree stays balanced.
 */
import { assert, utf8 } from '../base/index.ts';
import { HashPrefix, hashBytes, hashTagged, sha256Into } from '../crypto/index.ts';

/** Tag of every state key. A change of layout is a new tag (`…/v2`), never an edit. */
export const stateKeyTag = 'medledger/state-key/v1';

/** The namespaces of the state, with the parts that follow them in the key. */
export const StateNamespace = {
  /** () → `ChainHead`: height and time of the last executed block. */
  chainHead: 'chain.head',
  /** (signer key) → `NonceEntry`: the signer's next nonce. */
  nonce: 'nonce',
  /** (u64 height) → `TxResults`: ok and error code of each transaction of the block, in order. */
  txResults: 'tx.results',
  /** (public key) → `Principal`: who a signing key belongs to. */
  principal: 'identity.principal',
  /** (org id) → `Member`. */
  member: 'membership.member',
  /** () → `Roster`: the active members' ids, sorted. */
  roster: 'membership.roster',
  /** () → chain `ValidatorSet`. */
  validators: 'membership.validators',
  /** () → `ValidatorChangeHeights`: heights whose blocks changed the validator set. */
  validatorChangeHeights: 'membership.validator-change-heights',
  /** () → `NetworkPolicy`. */
  policy: 'membership.policy',
  /** (proposal id) → `Proposal`. */
  proposal: 'membership.proposal',
  /** () → `PendingChanges`: approved proposals waiting for their effective height. */
  pendingChanges: 'membership.pending',
  /** (evidence hash) → `EvidenceRecord`. */
  evidence: 'membership.evidence',
  /** (org id, practitioner id) → `Practitioner`. */
  practitioner: 'identity.practitioner',
  /** (org id, client id) → `Client`. */
  client: 'identity.client',
  /** (patient id) → `Patient`. */
  patient: 'identity.patient',
  /** (record id) → `RecordVersion`: the latest version (the same bytes as its version entry). */
  record: 'records.head',
  /** (record id, u64 version) → `RecordVersion`. */
  recordVersion: 'records.version',
  /** (consent id) → `ConsentRecord`. */
  consent: 'consent.consent',
  /** (patient id) → `ConsentIndex`: the patient's consent ids, sorted. */
  consentIndex: 'consent.by-patient',
  /** (patient id) → `Counter`: number of audit events of the patient. */
  auditCount: 'access.audit-count',
  /** (patient id, u64 sequence) → `AuditEventRecord`. */
  auditEvent: 'access.audit',
  /** (break-glass id) → `BreakGlassRecord`. */
  breakGlass: 'access.break-glass',
  /** (patient id, org id, practitioner id) → `BreakGlassPointer`: the latest grant. */
  breakGlassLatest: 'access.break-glass-latest',
  /** () → `BreakGlassQueue`: next sequence number and lowest unreviewed one. */
  breakGlassQueue: 'access.break-glass-queue',
  /** (u64 sequence) → `BreakGlassPointer`: break-glass uses in order. */
  breakGlassBySequence: 'access.break-glass-seq',
  /** (org id) → `SecurityLogHead`: the newest anchored head of the org's security log (0063). */
  securityLogHead: 'access.security-log-head',
  /** (org id, u64 log size) → `SecurityLogHead`: every anchored head, never rewritten. */
  securityLogAnchor: 'access.security-log-anchor',
} as const;

export type StateNamespace = (typeof StateNamespace)[keyof typeof StateNamespace];

/** `0x4d ‖ u8(len tag) ‖ tag ‖ u32be(len namespace) ‖ namespace`, per namespace. */
const prefixes = new Map<string, Uint8Array>();

/**
 * Bytes of the reused framing buffer: a key's whole hash input when it fits (the layout's parts
 * are ids and keys of at most 64 bytes each); a longer one is framed by `hashTagged` itself.
 */
const frameBytes = 2048;

// The framing buffer and the digest live outside the V8 heap (an explicit `ArrayBuffer`), and
// the views handed to libsodium are made once per length: no array is allocated or moved per
// key except the key itself (see crypto's `sha256`). Bench `contracts: execution`.
const frame = new Uint8Array(new ArrayBuffer(frameBytes));
const frameViews: Array<Uint8Array | undefined> = [];
const digest = new Uint8Array(new ArrayBuffer(hashBytes));

function prefixOf(namespace: string): Uint8Array {
  let prefix = prefixes.get(namespace);
  if (prefix === undefined) {
    const tag = utf8(stateKeyTag);
    const name = utf8(namespace);
    prefix = new Uint8Array(2 + tag.length + 4 + name.length);
    prefix[0] = HashPrefix.tagged;
    prefix[1] = tag.length;
    prefix.set(tag, 2);
    new DataView(prefix.buffer).setUint32(2 + tag.length, name.length);
    prefix.set(name, 6 + tag.length);
    prefixes.set(namespace, prefix);
  }
  return prefix;
}

/** Writes `part` with its u32 length at `offset` of the frame; returns the offset after it. */
function framePart(offset: number, part: Uint8Array): number {
  const size = part.length;
  frame[offset] = size >>> 24;
  frame[offset + 1] = (size >>> 16) & 0xff;
  frame[offset + 2] = (size >>> 8) & 0xff;
  frame[offset + 3] = size & 0xff;
  frame.set(part, offset + 4);
  return offset + 4 + size;
}

/** The key of the first `length` bytes of the frame, as a new array. */
function hashFrame(length: number): Uint8Array {
  hashFrameInto(digest, length);
  return digest.slice();
}

/** Hashes the first `length` bytes of the frame into `out` (32 bytes). */
function hashFrameInto(out: Uint8Array, length: number): void {
  let view = frameViews[length];
  if (view === undefined) {
    view = frame.subarray(0, length);
    frameViews[length] = view;
  }
  sha256Into(out, view);
}

/**
 * The 32-byte state key of `parts` in `namespace`: exactly `hashTagged(stateKeyTag,
 * utf8(namespace), ...parts)` (crypto's framing, pinned by test/contracts/execution.test.ts),
 * framed in a reused buffer because execution derives several keys per transaction.
 */
export function stateKey(namespace: StateNamespace, ...parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length <= 3) return deriveKey(namespace, parts[0], parts[1], parts[2]);
  return hashTagged(stateKeyTag, utf8(namespace), ...parts);
}

/** The parts given, in order (a part after a missing one is a programmer error). */
function partsOf(a?: Uint8Array, b?: Uint8Array, c?: Uint8Array): Uint8Array[] {
  assert(a !== undefined || b === undefined, 'key parts are given in order');
  assert(b !== undefined || c === undefined, 'key parts are given in order');
  return a === undefined ? [] : b === undefined ? [a] : c === undefined ? [a, b] : [a, b, c];
}

/**
 * Frames up to three parts after the frame's first `start` bytes; returns the framed length,
 * or -1 if it would not fit in the frame.
 */
function frameParts(start: number, a?: Uint8Array, b?: Uint8Array, c?: Uint8Array): number {
  const length =
    start +
    (a === undefined ? 0 : 4 + a.length) +
    (b === undefined ? 0 : 4 + b.length) +
    (c === undefined ? 0 : 4 + c.length);
  if (length > frameBytes) return -1;
  let offset = start;
  if (a !== undefined) offset = framePart(offset, a);
  if (b !== undefined) offset = framePart(offset, b);
  if (c !== undefined) framePart(offset, c);
  return length;
}

/**
 * `stateKey` of up to three parts, with positional arguments rather than a rest array: it runs
 * several times per transaction, and each rest array is one more allocation.
 */
function deriveKey(
  namespace: StateNamespace,
  a?: Uint8Array,
  b?: Uint8Array,
  c?: Uint8Array,
): Uint8Array {
  const prefix = prefixOf(namespace);
  const length = frameParts(prefix.length, a, b, c);
  if (length < 0) return hashTagged(stateKeyTag, utf8(namespace), ...partsOf(a, b, c));
  frame.set(prefix, 0);
  return hashFrame(length);
}

/** Bytes of one chunk of a `StateKeyCache`'s key arena: 2,048 keys. */
const keyArenaChunkBytes = 65_536;

/** Most keys one `StateKeyCache` remembers (a block derives about 3 distinct keys per tx). */
export const stateKeyCacheEntriesMax = 65_536;

/** Most keys remembered under one hash of their parts (see `StateKeyCache.key`). */
export const stateKeyCacheBucketMax = 4;

/** A remembered key: its framed parts (`u32be(len part) ‖ part`, for each part), and the key. */
interface CachedKey {
  readonly parts: Uint8Array;
  readonly key: Uint8Array;
}

/**
 * The namespaces whose keys a block derives again and again (who signed, their organisation,
 * the patient, the policy): `StateKeyCache` remembers only these. Keys of records, consents and
 * audit events are mostly derived once per block, so remembering them would only hold memory
 * (and the garbage collector's time) until the block ends; a contract that uses such a key
 * twice derives it once and passes it on (`TxScope.readAt`, `writeAt`).
 */
const repeatedNamespaces: ReadonlySet<string> = new Set<StateNamespace>([
  StateNamespace.nonce,
  StateNamespace.principal,
  StateNamespace.member,
  StateNamespace.practitioner,
  StateNamespace.client,
  StateNamespace.patient,
  StateNamespace.breakGlassLatest,
]);

/** Whether `StateKeyCache` remembers keys of `namespace` (the block keeps their values too). */
export function isRepeatedNamespace(namespace: StateNamespace): boolean {
  return repeatedNamespaces.has(namespace);
}

/** The keys without parts (`chain.head`, `membership.policy`, …): one per namespace, ever. */
const constantKeys = new Map<string, Uint8Array>();

/**
 * `stateKey` with memory, for one block's execution: the keys most transactions derive (the
 * signer's nonce and principal, its organisation, the policy, a patient: `repeatedNamespaces`
 * and the keys without parts) come out of a map instead of SHA-256. Per namespace, the map is indexed by an FNV-1a hash of the framed parts and
 * compares them whole, so it returns exactly what `stateKey` would. Returned keys are shared:
 * callers never write into them. At most `stateKeyCacheEntriesMax` keys; past that, keys are
 * derived afresh. Bench `contracts: execution`: about 0.1 µs per remembered key against 0.7 µs
 * to derive one.
 */
export class StateKeyCache {
  readonly #namespaces = new Map<string, Map<number, CachedKey | CachedKey[]>>();
  #size = 0;
  /**
   * The keys this cache derives are written by SHA-256 straight into chunks of one off-heap
   * arena and handed out as 32-byte views of it (and the parts it remembers are copied there): a key then costs a view, not a view, a buffer
   * and a copy, which matters because a block keeps its keys until it ends and the garbage
   * collector copies what lives (bench `contracts: execution`). A chunk lives as long as any of
   * its keys (at most `keyArenaChunkBytes`).
   */
  #arena = new Uint8Array(keyArenaChunkBytes);
  #arenaUsed = 0;

  /** The key of the first `length` bytes of the frame (whose prefix is written), in the arena. */
  #hashFrame(length: number): Uint8Array {
    if (this.#arenaUsed + hashBytes > this.#arena.length) {
      this.#arena = new Uint8Array(keyArenaChunkBytes);
      this.#arenaUsed = 0;
    }
    const key = this.#arena.subarray(this.#arenaUsed, this.#arenaUsed + hashBytes);
    this.#arenaUsed += hashBytes;
    hashFrameInto(key, length);
    return key;
  }

  /** A copy of the frame's bytes from `start` to `end`, in the arena (for a remembered key). */
  #copyFrame(start: number, end: number): Uint8Array {
    const size = end - start;
    if (this.#arenaUsed + size > this.#arena.length) {
      this.#arena = new Uint8Array(Math.max(keyArenaChunkBytes, size));
      this.#arenaUsed = 0;
    }
    const copy = this.#arena.subarray(this.#arenaUsed, this.#arenaUsed + size);
    copy.set(frame.subarray(start, end));
    this.#arenaUsed += size;
    return copy;
  }

  /** `deriveKey`, into the arena. */
  #derive(namespace: StateNamespace, a?: Uint8Array, b?: Uint8Array, c?: Uint8Array): Uint8Array {
    const prefix = prefixOf(namespace);
    const length = frameParts(prefix.length, a, b, c);
    if (length < 0) return deriveKey(namespace, a, b, c);
    frame.set(prefix, 0);
    return this.#hashFrame(length);
  }

  /** `stateKey(namespace, a, b, c)` (up to three parts, positional: see `deriveKey`). */
  key(namespace: StateNamespace, a?: Uint8Array, b?: Uint8Array, c?: Uint8Array): Uint8Array {
    if (a === undefined) {
      let key = constantKeys.get(namespace);
      if (key === undefined) {
        key = deriveKey(namespace);
        constantKeys.set(namespace, key);
      }
      return key;
    }
    if (!repeatedNamespaces.has(namespace)) return this.#derive(namespace, a, b, c);
    // The parts are framed where `stateKey` puts them, after the namespace's prefix, which is
    // written only when the key has to be derived.
    const prefix = prefixOf(namespace);
    const start = prefix.length;
    const length = frameParts(start, a, b, c);
    if (length < 0) return deriveKey(namespace, a, b, c);
    // FNV-1a (32-bit) over the framed parts, cut to 30 bits so that the map key is a small
    // integer (V8 keeps it unboxed; a larger number would be allocated on every lookup).
    let hash = 0x811c9dc5;
    for (let index = start; index < length; index++) {
      hash = Math.imul(hash ^ frame[index]!, 0x01000193);
    }
    hash = (hash ^ (hash >>> 30)) & 0x3fffffff;
    let keys = this.#namespaces.get(namespace);
    if (keys === undefined) {
      keys = new Map();
      this.#namespaces.set(namespace, keys);
    }
    const found = keys.get(hash);
    if (found !== undefined) {
      if (!Array.isArray(found)) {
        if (isFramed(found.parts, start, length)) return found.key;
      } else {
        for (const entry of found) if (isFramed(entry.parts, start, length)) return entry.key;
      }
    }
    frame.set(prefix, 0);
    const key = this.#hashFrame(length);
    // FNV is no defence against parts chosen to collide, so a crowded bucket takes no more
    // keys: its keys are then derived each time, and a lookup never compares more than a few.
    const crowded = Array.isArray(found) && found.length >= stateKeyCacheBucketMax;
    if (this.#size < stateKeyCacheEntriesMax && !crowded) {
      const entry = { parts: this.#copyFrame(start, length), key };
      if (found === undefined) keys.set(hash, entry);
      else if (Array.isArray(found)) found.push(entry);
      else keys.set(hash, [found, entry]);
      this.#size += 1;
    }
    return key;
  }
}

/** Whether `parts` are the bytes of the frame from `start` to `end`. */
function isFramed(parts: Uint8Array, start: number, end: number): boolean {
  if (parts.length !== end - start) return false;
  for (let index = 0; index < parts.length; index++) {
    if (parts[index] !== frame[start + index]) return false;
  }
  return true;
}

/** An unsigned integer (≤ 2^53 − 1) as 8 big-endian bytes, for sequence and version parts. */
export function u64Part(value: number): Uint8Array {
  assert(Number.isSafeInteger(value) && value >= 0, 'a u64 part is a safe non-negative integer');
  const out = new Uint8Array(8);
  // Byte arithmetic rather than a BigInt and a DataView: keys of versions and sequences are
  // derived on every anchor and audit event (bench `contracts: execution`).
  const high = Math.floor(value / 2 ** 32);
  const low = value >>> 0;
  out[1] = (high >>> 16) & 0xff;
  out[2] = (high >>> 8) & 0xff;
  out[3] = high & 0xff;
  out[4] = low >>> 24;
  out[5] = (low >>> 16) & 0xff;
  out[6] = (low >>> 8) & 0xff;
  out[7] = low & 0xff;
  return out;
}

/**
 * A text part (identifiers), UTF-8. Identifiers are ASCII, copied byte by byte: `TextEncoder`
 * costs about 0.9 µs per short string, most of it the call itself.
 */
export function textPart(value: string): Uint8Array {
  const out = new Uint8Array(value.length);
  for (let index = 0; index < value.length; index++) {
    const unit = value.charCodeAt(index);
    if (unit >= 0x80) return utf8(value);
    out[index] = unit;
  }
  return out;
}
