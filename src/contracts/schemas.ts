/**
 * The canonical encodings of the contracts' transaction bodies and state values (codec schemas:
 * positional CBOR arrays, RFC 8949 §4.2.1). A body is the `struct` array of its fields; the
 * transaction's `kind` says which schema. State values carry no type tag: the key's namespace
 * says what the value is (decision 0021). Field order is the encoding: never reorder.
 */
import {
  type Infer,
  type Schema,
  array,
  bool,
  bytes,
  cborValue,
  nullable,
  struct,
  text,
  textEnum,
  uint,
} from '../codec/index.ts';
import { ValidatorSchema, VoteSchema, chainLimits } from '../chain/index.ts';
import { ed25519PublicKeyBytes, hashBytes } from '../crypto/index.ts';
import { contractLimits, consentDefaults, breakGlassPurposes } from './limits.ts';

const hash = () => bytes({ length: hashBytes });
const publicKey = () => bytes({ length: ed25519PublicKeyBytes });
/** A 128-bit pseudonymous id (patient, record, consent). */
const pseudonym = () => bytes({ length: contractLimits.pseudonymBytes });
const identifier = () => text({ bytesMin: 1, bytesMax: contractLimits.identifierBytesMax });
const code = () => text({ bytesMin: 1, bytesMax: contractLimits.codeBytesMax });
const codes = () => array(code(), { itemsMax: contractLimits.codesPerListMax });
const height = () => uint();
const timeMs = () => uint();
/**
 * The month the record's data is about (its clinical time: FHIR `effective[x]`, `onset[x]`,
 * `issued` or `recorded`, as the custodian chooses), in months from January 1970, or null when
 * unknown. A month, never a day or time: decision 0029.
 */
const dataMonth = () => nullable(uint({ max: contractLimits.dataMonthMax }));

// ---------------------------------------------------------------------------------------------
// Chain bookkeeping

/** Height and time (Unix ms) of the last executed block; height 0 is genesis. */
export const ChainHeadSchema = struct({
  chainId: text({ bytesMin: 1, bytesMax: 64 }),
  height: height(),
  time: timeMs(),
});
export type ChainHead = Infer<typeof ChainHeadSchema>;

/** A signer's next nonce. */
export const NonceEntrySchema = struct({ next: uint() });

/** The outcome of one executed transaction: ok, or the error code it failed with. */
export const TxResultSchema = struct({ ok: bool(), code: nullable(code()) });
export type TxResult = Infer<typeof TxResultSchema>;

/** The outcomes of a block's transactions in block order, provable from the state root. */
export const TxResultsSchema = struct({
  results: array(TxResultSchema, { itemsMax: chainLimits.blockTxCountMax }),
});

// ---------------------------------------------------------------------------------------------
// Identity

/** Kinds of principal a signing key can belong to. */
export const principalKinds = ['member', 'practitioner', 'client', 'patient'] as const;
export type PrincipalKind = (typeof principalKinds)[number];

/**
 * Who a signing key belongs to: a member's node (`orgId`), a practitioner or client application
 * of an organisation (`orgId`, `localId`), or a patient (`patientId`).
 */
export const PrincipalSchema = struct({
  kind: textEnum(principalKinds),
  orgId: nullable(identifier()),
  localId: nullable(identifier()),
  patientId: nullable(pseudonym()),
});
export type Principal = Infer<typeof PrincipalSchema>;

/** A practitioner of an organisation (FHIR R4 PractitionerRole: practitioner, organization, code). */
export const PractitionerSchema = struct({
  orgId: identifier(),
  practitionerId: identifier(),
  publicKey: publicKey(),
  roles: codes(),
  active: bool(),
});
export type Practitioner = Infer<typeof PractitionerSchema>;

/** A client application of an organisation with its allowed SMART on FHIR v2 scopes. */
export const ClientSchema = struct({
  orgId: identifier(),
  clientId: identifier(),
  publicKey: publicKey(),
  scopes: array(text({ bytesMin: 1, bytesMax: contractLimits.scopeBytesMax }), {
    itemsMax: contractLimits.codesPerListMax,
  }),
  active: bool(),
});
export type Client = Infer<typeof ClientSchema>;

/** An enrolled patient: a pseudonym, the patient's key, delegates; nothing that identifies them. */
export const PatientSchema = struct({
  patientId: pseudonym(),
  publicKey: publicKey(),
  delegates: array(publicKey(), { itemsMax: contractLimits.delegatesPerPatientMax }),
  enrolledBy: identifier(),
  enrolledHeight: height(),
});
export type Patient = Infer<typeof PatientSchema>;

export const RegisterPractitionerBodySchema = struct({
  practitionerId: identifier(),
  publicKey: publicKey(),
  roles: codes(),
  active: bool(),
});
export type RegisterPractitionerBody = Infer<typeof RegisterPractitionerBodySchema>;

export const RegisterClientBodySchema = struct({
  clientId: identifier(),
  publicKey: publicKey(),
  scopes: array(text({ bytesMin: 1, bytesMax: contractLimits.scopeBytesMax }), {
    itemsMax: contractLimits.codesPerListMax,
  }),
  active: bool(),
});
export type RegisterClientBody = Infer<typeof RegisterClientBodySchema>;

export const EnrolPatientBodySchema = struct({ patientId: pseudonym(), publicKey: publicKey() });
export type EnrolPatientBody = Infer<typeof EnrolPatientBodySchema>;

export const RotatePatientKeyBodySchema = struct({
  patientId: pseudonym(),
  newPublicKey: publicKey(),
});
export type RotatePatientKeyBody = Infer<typeof RotatePatientKeyBodySchema>;

export const DelegateBodySchema = struct({ patientId: pseudonym(), delegateKey: publicKey() });
export type DelegateBody = Infer<typeof DelegateBodySchema>;

// ---------------------------------------------------------------------------------------------
// Membership

export const memberStatuses = ['active', 'removed'] as const;

/** A consortium member: an organisation, its node key and its roles. */
export const MemberSchema = struct({
  orgId: identifier(),
  nodeKey: publicKey(),
  roles: codes(),
  status: textEnum(memberStatuses),
  admittedHeight: height(),
  evidenceCount: uint(),
});
export type Member = Infer<typeof MemberSchema>;

/** The active members' ids, sorted by their UTF-8 bytes. */
export const RosterSchema = struct({
  orgIds: array(identifier(), { itemsMax: contractLimits.membersMax }),
});

/** The network policy (decision 0022), changed only by a `set-policy` proposal. */
export const NetworkPolicySchema = struct({
  consentDefault: textEnum(consentDefaults),
  optOutPurposes: codes(),
  sensitiveLabels: codes(),
  breakGlassDurationMs: uint(),
  proposalLifetimeHeights: uint({ min: 1 }),
  changeDelayHeights: uint({ min: 1 }),
  auditLagMaxMs: uint(),
});
export type NetworkPolicy = Infer<typeof NetworkPolicySchema>;

/** A new member, as a proposal names it. */
export const MemberInputSchema = struct({
  orgId: identifier(),
  nodeKey: publicKey(),
  roles: codes(),
});
export type MemberInput = Infer<typeof MemberInputSchema>;

export const changeTypes = [
  'admit-member',
  'remove-member',
  'rotate-node-key',
  'set-validators',
  'set-policy',
] as const;
export type ChangeType = (typeof changeTypes)[number];

/**
 * A change of the network: `type` says which of the other fields is set (`member` for admit,
 * `orgId` for remove, `orgId` and `nodeKey` for rotate, `validators`, `policy`); the rest are null.
 */
export const ChangeSchema = struct({
  type: textEnum(changeTypes),
  member: nullable(MemberInputSchema),
  orgId: nullable(identifier()),
  nodeKey: nullable(publicKey()),
  validators: nullable(
    array(ValidatorSchema, { itemsMin: 1, itemsMax: contractLimits.membersMax }),
  ),
  policy: nullable(NetworkPolicySchema),
});
export type Change = Infer<typeof ChangeSchema>;

export const proposalStatuses = ['open', 'approved', 'applied', 'failed'] as const;
export type ProposalStatus = (typeof proposalStatuses)[number];

export const ProposalSchema = struct({
  proposalId: hash(),
  proposer: identifier(),
  change: ChangeSchema,
  createdHeight: height(),
  expiresHeight: height(),
  approvals: array(identifier(), { itemsMax: contractLimits.membersMax }),
  status: textEnum(proposalStatuses),
  effectiveHeight: nullable(height()),
  failure: nullable(text({ bytesMax: 512 })),
});
export type MembershipProposal = Infer<typeof ProposalSchema>;

/** Approved proposals, by effective height then id. */
export const PendingChangesSchema = struct({
  items: array(struct({ effectiveHeight: height(), proposalId: hash() }), {
    itemsMax: contractLimits.pendingChangesMax,
  }),
});
export type PendingChanges = Infer<typeof PendingChangesSchema>;

/**
 * The heights whose blocks changed the validator set, in order (genesis excluded): the set of
 * height h + 2 is the one written by block h (decision 0036), so a light client that knows these
 * heights knows every transition it must verify from genesis on (decision 0072).
 */
export const ValidatorChangeHeightsSchema = struct({
  heights: array(height(), { itemsMax: contractLimits.validatorChangeHeightsMax }),
});
export type ValidatorChangeHeights = Infer<typeof ValidatorChangeHeightsSchema>;

export const ProposeBodySchema = struct({ change: ChangeSchema });
export type ProposeBody = Infer<typeof ProposeBodySchema>;

export const VoteBodySchema = struct({ proposalId: hash() });
export type VoteBody = Infer<typeof VoteBodySchema>;

/** Equivocation evidence: two conflicting signed votes by one validator (Tendermint §"Evidence"). */
export const EvidenceBodySchema = struct({ voteA: VoteSchema, voteB: VoteSchema });
export type EvidenceBody = Infer<typeof EvidenceBodySchema>;

export const EvidenceRecordSchema = struct({
  orgId: identifier(),
  validatorKey: publicKey(),
  height: height(),
  round: uint(),
  recordedHeight: height(),
  submittedBy: identifier(),
});
export type EvidenceRecord = Infer<typeof EvidenceRecordSchema>;

// ---------------------------------------------------------------------------------------------
// Records

export const recordStatuses = ['active', 'erased'] as const;
export type RecordStatus = (typeof recordStatuses)[number];

/** One anchored version: never changed once written (an erasure is a new version). */
export const RecordVersionSchema = struct({
  recordId: pseudonym(),
  version: uint({ min: 1 }),
  resourceType: code(),
  patientId: pseudonym(),
  custodian: identifier(),
  contentHash: nullable(hash()),
  securityLabels: codes(),
  dataMonth: dataMonth(),
  status: textEnum(recordStatuses),
  erasureReason: nullable(code()),
  anchoredHeight: height(),
  anchoredTime: timeMs(),
  anchoredBy: publicKey(),
});
export type RecordVersion = Infer<typeof RecordVersionSchema>;

export const AnchorRecordBodySchema = struct({
  recordId: pseudonym(),
  version: uint({ min: 1 }),
  resourceType: code(),
  patientId: pseudonym(),
  custodian: identifier(),
  contentHash: hash(),
  securityLabels: codes(),
  dataMonth: dataMonth(),
});
export type AnchorRecordBody = Infer<typeof AnchorRecordBodySchema>;

/**
 * `record.anchor-batch`: 1 to `recordAnchorBatchMax` anchors in one transaction, all or none
 * (decision 0058); each item is exactly a `record.anchor` body.
 */
export const AnchorRecordBatchBodySchema = struct({
  anchors: array(AnchorRecordBodySchema, {
    itemsMin: 1,
    itemsMax: contractLimits.recordAnchorBatchMax,
  }),
});
export type AnchorRecordBatchBody = Infer<typeof AnchorRecordBatchBodySchema>;

export const EraseRecordBodySchema = struct({
  recordId: pseudonym(),
  version: uint({ min: 1 }),
  reasonCode: code(),
});
export type EraseRecordBody = Infer<typeof EraseRecordBodySchema>;

// ---------------------------------------------------------------------------------------------
// Consent (FHIR R4 Consent.provision)

/** Consent.provision.action codes (http://terminology.hl7.org/CodeSystem/consentaction). */
export const consentActions = ['access', 'use', 'disclose', 'correct', 'collect'] as const;
export type ConsentAction = (typeof consentActions)[number];

/** What a provision's actor references: an organisation, a practitioner, a role code or a client. */
export const actorKinds = ['organization', 'practitioner', 'role', 'client'] as const;
export type ActorKind = (typeof actorKinds)[number];

/**
 * Consent.provision.actor: `organization` (id = org id), `practitioner` and `client` (id =
 * `orgId/localId`), `role` (id = a role code of the practitioner).
 */
export const ActorSchema = struct({
  kind: textEnum(actorKinds),
  id: text({ bytesMin: 1, bytesMax: 2 * contractLimits.identifierBytesMax + 1 }),
});
export type Actor = Infer<typeof ActorSchema>;

/** Consent.provision.period: `start` ≤ t < `end` in Unix ms; `end` null is open. */
export const PeriodSchema = struct({ start: timeMs(), end: nullable(timeMs()) });
export type Period = Infer<typeof PeriodSchema>;

/**
 * One provision (FHIR R4 Consent.provision): a permit or deny, limited by actor, action, purpose,
 * resource class, security label, period, data period and specific records (`data`); an empty
 * list (or a null period) means "no limit on that dimension". `provisions` are the nested
 * exceptions.
 */
export interface Provision {
  readonly type: 'permit' | 'deny';
  readonly period: Period | null;
  /**
   * FHIR R4 Consent.provision.dataPeriod: the provision covers only records whose data month
   * (`RecordVersion.dataMonth`) falls in it (decision 0029).
   */
  readonly dataPeriod: Period | null;
  readonly actors: readonly Actor[];
  readonly actions: readonly ConsentAction[];
  readonly purposes: readonly string[];
  readonly classes: readonly string[];
  readonly securityLabels: readonly string[];
  readonly records: readonly Uint8Array[];
  readonly provisions: readonly Provision[];
}

/** Levels of nesting: the base provision, its exceptions, and theirs (decision 0023). */
export const provisionDepthMax = 3;

function provisionSchema(children: Schema<Provision> | null): Schema<Provision> {
  const schema = struct({
    type: textEnum(['permit', 'deny']),
    period: nullable(PeriodSchema),
    dataPeriod: nullable(PeriodSchema),
    actors: array(ActorSchema, { itemsMax: contractLimits.referencesPerProvisionMax }),
    actions: array(textEnum(consentActions), { itemsMax: consentActions.length }),
    purposes: codes(),
    classes: codes(),
    securityLabels: codes(),
    records: array(pseudonym(), { itemsMax: contractLimits.referencesPerProvisionMax }),
    provisions:
      children === null
        ? array(cborValue(), { itemsMax: 0 })
        : array(children, { itemsMax: contractLimits.provisionChildrenMax }),
  });
  // The struct's inferred type differs from `Provision` only in the innermost `provisions`, which
  // the `itemsMax: 0` bound keeps empty.
  return schema as unknown as Schema<Provision>;
}

let provisionLevel: Schema<Provision> | null = null;
for (let level = 0; level < provisionDepthMax; level++)
  provisionLevel = provisionSchema(provisionLevel);
/** The base provision with up to two levels of nested exceptions. */
export const ProvisionSchema: Schema<Provision> = provisionLevel!;

export const consentStatuses = ['active', 'inactive'] as const;
export type ConsentStatus = (typeof consentStatuses)[number];

/**
 * A consent as stored: the patient's signed choice (FHIR R4 Consent with scope patient-privacy,
 * `policyRule` a code such as OPTIN or OPTOUT) and its lifecycle. A revocation sets status
 * `inactive`; the consent itself is never changed or deleted.
 */
export const ConsentRecordSchema = struct({
  consentId: pseudonym(),
  patientId: pseudonym(),
  policyRule: code(),
  provision: ProvisionSchema,
  status: textEnum(consentStatuses),
  grantedHeight: height(),
  grantedTime: timeMs(),
  grantedBy: publicKey(),
  revokedHeight: nullable(height()),
  revokedTime: nullable(timeMs()),
  revokedBy: nullable(publicKey()),
});
export type ConsentRecord = Infer<typeof ConsentRecordSchema>;

/** A patient's consent ids, sorted bytewise. */
export const ConsentIndexSchema = struct({
  consentIds: array(pseudonym(), { itemsMax: contractLimits.consentsPerPatientMax }),
});

export const GrantConsentBodySchema = struct({
  consentId: pseudonym(),
  patientId: pseudonym(),
  policyRule: code(),
  provision: ProvisionSchema,
});
export type GrantConsentBody = Infer<typeof GrantConsentBodySchema>;

export const RevokeConsentBodySchema = struct({ consentId: pseudonym() });
export type RevokeConsentBody = Infer<typeof RevokeConsentBodySchema>;

// ---------------------------------------------------------------------------------------------
// Access audit and break-glass (IHE BALP)

/** The REST interaction audited (BALP: FHIR restful-interaction), plus `disclose` for sharing. */
export const auditActions = [
  'create',
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history',
  'search',
  'disclose',
] as const;
export type AuditAction = (typeof auditActions)[number];

export const decisions = ['permit', 'deny'] as const;
export type Decision = (typeof decisions)[number];

/**
 * One access decision as the deciding node submits it (IHE BALP shape): the agent (a
 * practitioner or client of the submitting organisation), the patient, the versioned record or the
 * query's hash, the action, purpose of use, decision and its reason, the deciding consent or
 * break-glass grant, and the decision time.
 */
export const AuditEventInputSchema = struct({
  practitionerId: nullable(identifier()),
  clientId: nullable(identifier()),
  patientId: pseudonym(),
  recordId: nullable(pseudonym()),
  recordVersion: nullable(uint({ min: 1 })),
  queryHash: nullable(hash()),
  action: textEnum(auditActions),
  purpose: code(),
  decision: textEnum(decisions),
  reason: code(),
  consentId: nullable(pseudonym()),
  breakGlassId: nullable(hash()),
  time: timeMs(),
});
export type AuditEventInput = Infer<typeof AuditEventInputSchema>;

export const RecordAccessBodySchema = struct({
  events: array(AuditEventInputSchema, {
    itemsMin: 1,
    itemsMax: contractLimits.auditBatchEventsMax,
  }),
});
export type RecordAccessBody = Infer<typeof RecordAccessBodySchema>;

/** An audit event as stored, indexed by patient and sequence number. */
export const AuditEventRecordSchema = struct({
  event: AuditEventInputSchema,
  orgId: identifier(),
  sequence: uint(),
  recordedHeight: height(),
});
export type AuditEventRecord = Infer<typeof AuditEventRecordSchema>;

export const CounterSchema = struct({ count: uint() });

export const reviewOutcomes = ['justified', 'unjustified', 'inconclusive'] as const;
export type ReviewOutcome = (typeof reviewOutcomes)[number];

export const BreakGlassReviewSchema = struct({
  outcome: textEnum(reviewOutcomes),
  reviewerId: identifier(),
  noteCode: nullable(code()),
  reviewedHeight: height(),
  reviewedTime: timeMs(),
});
export type BreakGlassReview = Infer<typeof BreakGlassReviewSchema>;

/** A break-glass use: a time-limited grant, flagged for review until a privacy officer closes it. */
export const BreakGlassRecordSchema = struct({
  breakGlassId: hash(),
  orgId: identifier(),
  practitionerId: identifier(),
  patientId: pseudonym(),
  purpose: textEnum(breakGlassPurposes),
  reasonCode: code(),
  openedHeight: height(),
  openedTime: timeMs(),
  expiresTime: timeMs(),
  sequence: uint(),
  review: nullable(BreakGlassReviewSchema),
});
export type BreakGlassRecord = Infer<typeof BreakGlassRecordSchema>;

export const BreakGlassPointerSchema = struct({ breakGlassId: hash() });

/** `next`: the next sequence number; `lowestUnreviewed`: no use below it awaits review. */
export const BreakGlassQueueSchema = struct({ next: uint(), lowestUnreviewed: uint() });

export const OpenBreakGlassBodySchema = struct({
  patientId: pseudonym(),
  practitionerId: identifier(),
  purpose: textEnum(breakGlassPurposes),
  reasonCode: code(),
});
export type OpenBreakGlassBody = Infer<typeof OpenBreakGlassBodySchema>;

export const CloseReviewBodySchema = struct({
  breakGlassId: hash(),
  outcome: textEnum(reviewOutcomes),
  noteCode: nullable(code()),
});
export type CloseReviewBody = Infer<typeof CloseReviewBodySchema>;

// ---------------------------------------------------------------------------------------------
// Security log heads (decision 0063)

/**
 * The body of `access.security-log-head`: the signing node's organisation's security audit log
 * (decision 0059) holds `logSize` rows since its creation (the sequence of its newest row), and
 * that row's chain hash is `headHash`. Sizes and hashes only: the log names no patient.
 */
export const SecurityLogHeadBodySchema = struct({ logSize: uint({ min: 1 }), headHash: hash() });
export type SecurityLogHeadBody = Infer<typeof SecurityLogHeadBodySchema>;

/**
 * An anchored head of an organisation's security log, as stored both per (org, size) and as the
 * org's latest: `previousLogSize` is the size anchored before it (0 for the first), so the heads
 * form a list from the latest back.
 */
export const SecurityLogHeadSchema = struct({
  orgId: identifier(),
  logSize: uint({ min: 1 }),
  headHash: hash(),
  previousLogSize: uint(),
  anchoredHeight: height(),
  anchoredTime: timeMs(),
});
export type SecurityLogHead = Infer<typeof SecurityLogHeadSchema>;
