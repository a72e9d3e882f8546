/**
 * Read-side queries over a committed state: what the API, the patient portal and auditors ask
 * (a consent, a record's versions, a patient's access log, the unreviewed break-glass uses).
 * Every answer comes from state keys that `proveStateAt` can prove.
 */
import { equalBytes } from '../base/index.ts';
import { type StateRoot, stateTreeGet } from '../merkle/index.ts';
import { type ValidatorSet, ValidatorSetSchema } from '../chain/index.ts';
import { type StateReader, readValue } from './block-state.ts';
import { ContractError } from './errors.ts';
import { contractLimits } from './limits.ts';
import {
  type AuditEventRecord,
  AuditEventRecordSchema,
  type BreakGlassRecord,
  BreakGlassPointerSchema,
  BreakGlassQueueSchema,
  BreakGlassRecordSchema,
  type ChainHead,
  ChainHeadSchema,
  type ConsentRecord,
  ConsentIndexSchema,
  ConsentRecordSchema,
  CounterSchema,
  type Member,
  MemberSchema,
  type MembershipProposal,
  type NetworkPolicy,
  NetworkPolicySchema,
  NonceEntrySchema,
  type Patient,
  PatientSchema,
  type Practitioner,
  PractitionerSchema,
  ClientSchema,
  type Client,
  type Principal,
  PrincipalSchema,
  ProposalSchema,
  type RecordVersion,
  RecordVersionSchema,
  RosterSchema,
  type SecurityLogHead,
  SecurityLogHeadSchema,
  type TxResult,
  TxResultsSchema,
  ValidatorChangeHeightsSchema,
} from './schemas.ts';
import { StateNamespace, textPart, u64Part } from './state-keys.ts';

type State = StateRoot | StateReader;

/** Queue entries `listUnreviewedBreakGlass` scans per item it may return. */
export const unreviewedScanFactor = 16;

function readerOf(state: State): StateReader {
  if (typeof (state as StateReader).get === 'function') return state as StateReader;
  const root = state as StateRoot;
  return { get: (key) => stateTreeGet(root, key) };
}

function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > contractLimits.queryItemsMax) {
    throw new ContractError(
      'invalid-query',
      `limit: expected 1 to ${contractLimits.queryItemsMax}, found ${limit}`,
    );
  }
}

export function readChainHead(state: State): ChainHead | null {
  return readValue(readerOf(state), ChainHeadSchema, StateNamespace.chainHead);
}

export function readNextNonce(state: State, signer: Uint8Array): number {
  return readValue(readerOf(state), NonceEntrySchema, StateNamespace.nonce, signer)?.next ?? 0;
}

/** The outcome of the transaction at `index` of block `height`, or null if there is none. */
export function readTxResult(state: State, height: number, index: number): TxResult | null {
  const results = readValue(
    readerOf(state),
    TxResultsSchema,
    StateNamespace.txResults,
    u64Part(height),
  );
  return results?.results[index] ?? null;
}

export function readPrincipal(state: State, publicKey: Uint8Array): Principal | null {
  return readValue(readerOf(state), PrincipalSchema, StateNamespace.principal, publicKey);
}

export function readMember(state: State, orgId: string): Member | null {
  return readValue(readerOf(state), MemberSchema, StateNamespace.member, textPart(orgId));
}

/** The active members' ids, sorted. */
export function readRosterIds(state: State): readonly string[] {
  return readValue(readerOf(state), RosterSchema, StateNamespace.roster)?.orgIds ?? [];
}

/** The validator set the next block is checked against. */
export function readValidatorSet(state: State): ValidatorSet | null {
  return readValue(readerOf(state), ValidatorSetSchema, StateNamespace.validators);
}

/** The heights whose blocks changed the validator set, oldest first (genesis excluded). */
export function readValidatorChangeHeights(state: State): readonly number[] {
  return (
    readValue(readerOf(state), ValidatorChangeHeightsSchema, StateNamespace.validatorChangeHeights)
      ?.heights ?? []
  );
}

export function readNetworkPolicy(state: State): NetworkPolicy | null {
  return readValue(readerOf(state), NetworkPolicySchema, StateNamespace.policy);
}

export function readProposal(state: State, proposalId: Uint8Array): MembershipProposal | null {
  return readValue(readerOf(state), ProposalSchema, StateNamespace.proposal, proposalId);
}

export function readPractitioner(
  state: State,
  orgId: string,
  practitionerId: string,
): Practitioner | null {
  return readValue(
    readerOf(state),
    PractitionerSchema,
    StateNamespace.practitioner,
    textPart(orgId),
    textPart(practitionerId),
  );
}

/** A client application registered by `orgId` (SMART backend services), or null. */
export function readClient(state: State, orgId: string, clientId: string): Client | null {
  return readValue(
    readerOf(state),
    ClientSchema,
    StateNamespace.client,
    textPart(orgId),
    textPart(clientId),
  );
}

/** The active member whose node key is `nodeKey`, or null (a scan of the roster). */
export function findMemberOfNodeKey(state: State, nodeKey: Uint8Array): Member | null {
  for (const orgId of readRosterIds(state)) {
    const member = readMember(state, orgId);
    if (member !== null && equalBytes(member.nodeKey, nodeKey)) return member;
  }
  return null;
}

export function readPatient(state: State, patientId: Uint8Array): Patient | null {
  return readValue(readerOf(state), PatientSchema, StateNamespace.patient, patientId);
}

/** The latest version of a record (its head), or null if never anchored. */
export function readRecordHead(state: State, recordId: Uint8Array): RecordVersion | null {
  return readValue(readerOf(state), RecordVersionSchema, StateNamespace.record, recordId);
}

export function readRecordVersion(
  state: State,
  recordId: Uint8Array,
  version: number,
): RecordVersion | null {
  return readValue(
    readerOf(state),
    RecordVersionSchema,
    StateNamespace.recordVersion,
    recordId,
    u64Part(version),
  );
}

export function readConsent(state: State, consentId: Uint8Array): ConsentRecord | null {
  return readValue(readerOf(state), ConsentRecordSchema, StateNamespace.consent, consentId);
}

/** Every consent of the patient (active and revoked), in id order. */
export function listPatientConsents(state: State, patientId: Uint8Array): ConsentRecord[] {
  const reader = readerOf(state);
  const index = readValue(reader, ConsentIndexSchema, StateNamespace.consentIndex, patientId);
  return (index?.consentIds ?? []).flatMap((id) => {
    const record = readValue(reader, ConsentRecordSchema, StateNamespace.consent, id);
    return record === null ? [] : [record];
  });
}

/** Number of audit events recorded for the patient. */
export function countAuditEvents(state: State, patientId: Uint8Array): number {
  return (
    readValue(readerOf(state), CounterSchema, StateNamespace.auditCount, patientId)?.count ?? 0
  );
}

/** The patient's audit events from sequence `from`, at most `limit` (the access log). */
export function listAuditEvents(
  state: State,
  options: { patientId: Uint8Array; from?: number; limit?: number },
): AuditEventRecord[] {
  const limit = options.limit ?? 100;
  checkLimit(limit);
  const reader = readerOf(state);
  const count = countAuditEvents(reader, options.patientId);
  const out: AuditEventRecord[] = [];
  for (let sequence = options.from ?? 0; sequence < count && out.length < limit; sequence++) {
    const event = readValue(
      reader,
      AuditEventRecordSchema,
      StateNamespace.auditEvent,
      options.patientId,
      u64Part(sequence),
    );
    if (event !== null) out.push(event);
  }
  return out;
}

export function readBreakGlass(state: State, breakGlassId: Uint8Array): BreakGlassRecord | null {
  return readValue(
    readerOf(state),
    BreakGlassRecordSchema,
    StateNamespace.breakGlass,
    breakGlassId,
  );
}

/**
 * The break-glass uses still waiting for review, oldest first, at most `limit` (scanning from
 * the queue's low-water mark, so reviewed history is not walked again).
 */
export function listUnreviewedBreakGlass(
  state: State,
  options: { limit?: number } = {},
): BreakGlassRecord[] {
  const limit = options.limit ?? 100;
  checkLimit(limit);
  const reader = readerOf(state);
  const queue = readValue(reader, BreakGlassQueueSchema, StateNamespace.breakGlassQueue);
  if (queue === null) return [];
  const out: BreakGlassRecord[] = [];
  // Reviews close out of order, so the scan may pass reviewed uses; it stops after
  // `unreviewedScanFactor` entries per item asked for.
  const end = Math.min(queue.next, queue.lowestUnreviewed + limit * unreviewedScanFactor);
  for (let sequence = queue.lowestUnreviewed; sequence < end && out.length < limit; sequence++) {
    const pointer = readValue(
      reader,
      BreakGlassPointerSchema,
      StateNamespace.breakGlassBySequence,
      u64Part(sequence),
    );
    if (pointer === null) continue;
    const record = readValue(
      reader,
      BreakGlassRecordSchema,
      StateNamespace.breakGlass,
      pointer.breakGlassId,
    );
    if (record !== null && record.review === null) out.push(record);
  }
  return out;
}

/**
 * The newest anchored head of `orgId`'s security audit log (`access.security-log-head`, decision
 * 0063), or null when the organisation never anchored one.
 */
export function readSecurityLogHead(state: State, orgId: string): SecurityLogHead | null {
  return readValue(
    readerOf(state),
    SecurityLogHeadSchema,
    StateNamespace.securityLogHead,
    textPart(orgId),
  );
}

/** The head `orgId` anchored at exactly `logSize` rows, or null if it anchored none at that size. */
export function readSecurityLogAnchor(
  state: State,
  orgId: string,
  logSize: number,
): SecurityLogHead | null {
  if (!Number.isSafeInteger(logSize) || logSize < 1) {
    throw new ContractError(
      'invalid-query',
      `logSize: expected a whole number from 1, found ${logSize}`,
    );
  }
  return readValue(
    readerOf(state),
    SecurityLogHeadSchema,
    StateNamespace.securityLogAnchor,
    textPart(orgId),
    u64Part(logSize),
  );
}

/**
 * `orgId`'s anchored security log heads, newest first, at most `limit`: from the latest (or from
 * the one at `fromLogSize`, when given) back along each head's `previousLogSize`.
 */
export function listSecurityLogHeads(
  state: State,
  options: { orgId: string; fromLogSize?: number; limit?: number },
): SecurityLogHead[] {
  const limit = options.limit ?? 100;
  checkLimit(limit);
  const reader = readerOf(state);
  let head =
    options.fromLogSize === undefined
      ? readSecurityLogHead(reader, options.orgId)
      : readSecurityLogAnchor(reader, options.orgId, options.fromLogSize);
  const out: SecurityLogHead[] = [];
  while (head !== null && out.length < limit) {
    out.push(head);
    head =
      head.previousLogSize === 0
        ? null
        : readSecurityLogAnchor(reader, options.orgId, head.previousLogSize);
  }
  return out;
}
