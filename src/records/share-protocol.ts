/**
 * The messages of record sharing between organisations' nodes (DESIGN.md "Records off the
 * chain"): the requesting node asks the custodian's node for a record version on behalf of one
 * of its practitioners or clients, for a purpose of use; the custodian decides with the consent
 * contract on its own committed state, audits, and answers with the record HPKE-sealed to the
 * requester's node key (RFC 9180), or with a refusal. Strict deterministic CBOR (codec).
 */
import { type Infer, bytes, nullable, struct, text, textEnum, uint } from '../codec/index.ts';
import { recordsLimits } from './limits.ts';

/**
 * What the requesting node asks (its node key is authenticated by the peer link). A `patient`
 * requester is the patient pseudonym (hex) signed in at the requesting node, which must be the
 * patient's home organisation (the one that enrolled them) and asks for the patient's own records
 * only (decision 0060).
 */
export const ShareRequestSchema = struct({
  /** 16 random bytes chosen by the requester; bound into the HPKE `info`. */
  requestId: bytes({ length: 16 }),
  recordId: bytes({ length: 16 }),
  /** A specific version, or null for the current one. */
  version: nullable(uint({ min: 1 })),
  requesterKind: textEnum(['practitioner', 'client', 'patient']),
  requesterId: text({ bytesMin: 1, bytesMax: 64 }),
  purpose: text({ bytesMin: 1, bytesMax: 32 }),
  /** The FHIR interaction the requester audits: read, vread, history, or a search's candidate. */
  action: textEnum(['read', 'vread', 'history', 'search']),
  /**
   * The requester's committed height when it asked: the custodian decides on a state at least
   * that recent (a consent or break-glass grant the requester saw is seen by the custodian too).
   */
  height: uint(),
});
export type ShareRequest = Infer<typeof ShareRequestSchema>;

/** Outcomes of a share request other than the record itself. */
export const shareOutcomes = ['ok', 'denied', 'gone', 'not-found', 'unavailable'] as const;

/** The custodian's answer: the sealed record on `ok`, otherwise why not. */
export const ShareResponseSchema = struct({
  outcome: textEnum(shareOutcomes),
  /** A decision reason code (decision 0023) or a short explanation; never patient data. */
  reason: text({ bytesMax: 200 }),
  version: uint(),
  /** HPKE encapsulated key (empty unless `ok`). */
  enc: bytes({ lengthMax: 64 }),
  /** HPKE ciphertext of `salt (32 bytes) ‖ canonical JSON` (empty unless `ok`). */
  ciphertext: bytes({ lengthMax: recordsLimits.peerPayloadBytesMax }),
});
export type ShareResponse = Infer<typeof ShareResponseSchema>;

/** The AAD of a sealed record: the record id and version it is. */
export function shareAad(recordId: Uint8Array, version: number): Uint8Array {
  const aad = new Uint8Array(recordId.length + 8);
  aad.set(recordId, 0);
  new DataView(aad.buffer).setBigUint64(recordId.length, BigInt(version));
  return aad;
}
