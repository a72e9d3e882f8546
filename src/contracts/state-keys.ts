/**
 * The state key layout (decision 0021, README "State layout"): every key is
 * `hashTagged("medledger/state-key/v1", utf8(namespace), ...parts)`, 32 bytes, so keys of
 * different namespaces never collide and the sparse Merkle tree stays balanced.
 */
import { utf8 } from '../base/index.ts';
import { HashPrefix, hashTagged, sha256 } from '../crypto/index.ts';

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
} as const;

export type StateNamespace = (typeof StateNamespace)[keyof typeof StateNamespace];

/** Longest total of a key's parts, in bytes (the layout's parts are ids and keys, ≤ 64 each). */
export const stateKeyPartsBytesMax = 1024;

/** `0x4d ‖ u8(len tag) ‖ tag ‖ u32be(len namespace) ‖ namespace`, per namespace. */
const prefixes = new Map<string, Uint8Array>();
let scratch = new Uint8Array(2048);

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

/**
 * The 32-byte state key of `parts` in `namespace`: exactly `hashTagged(stateKeyTag,
 * utf8(namespace), ...parts)` (crypto's framing, pinned by test/contracts/state-keys.test.ts),
 * framed in a reused buffer because execution derives several keys per transaction.
 */
export function stateKey(namespace: StateNamespace, ...parts: readonly Uint8Array[]): Uint8Array {
  const prefix = prefixOf(namespace);
  let length = prefix.length;
  for (const part of parts) length += 4 + part.length;
  if (length > scratch.length) {
    if (length > prefix.length + 4 * parts.length + stateKeyPartsBytesMax) {
      return hashTagged(stateKeyTag, utf8(namespace), ...parts);
    }
    scratch = new Uint8Array(length);
  }
  scratch.set(prefix, 0);
  let offset = prefix.length;
  for (const part of parts) {
    const size = part.length;
    scratch[offset] = size >>> 24;
    scratch[offset + 1] = (size >>> 16) & 0xff;
    scratch[offset + 2] = (size >>> 8) & 0xff;
    scratch[offset + 3] = size & 0xff;
    scratch.set(part, offset + 4);
    offset += 4 + size;
  }
  return sha256(scratch.subarray(0, length));
}

/** An unsigned integer (≤ 2^53 − 1) as 8 big-endian bytes, for sequence and version parts. */
export function u64Part(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

/** A text part (identifiers), UTF-8. */
export function textPart(value: string): Uint8Array {
  return utf8(value);
}
