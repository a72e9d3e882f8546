/**
 * The access decision: a pure function of the committed state, a request and a time, that every
 * node computes the same way (FHIR R4 Consent evaluation with the precedence rules of decision
 * 0023, IHE PCF patterns). The deciding node audits the result (`access.record`).
 *
 * Precedence, first rule that applies wins:
 * 1. The request must name an enrolled patient, a known active requester and, if it names a
 *    record, an active record of that patient; otherwise deny.
 * 2. The patient (or a registered delegate) acting for themselves: permit.
 * 3. Purpose BTG or ETREAT (break-glass): permit under an open, unexpired grant of that
 *    practitioner for that patient (still holding the break-glass role), unless a consent's
 *    deciding deny names that purpose explicitly; without a grant, deny.
 * 4. Consents in force (active, base period containing the time): each is evaluated as a tree
 *    where the deepest matching provisions decide and, among matching siblings, deny wins. Any
 *    consent that denies: deny (deny overrides permit across consents). A provision's data
 *    period matches by the record's data month (decision 0029).
 * 5. The record's custodian organisation keeps access to its own record: permit.
 * 6. A consent that permits: permit, if the request's sensitive labels (network policy: ETH,
 *    42CFRPart2, HIV, PSY, …) are all named by the permitting provision or its ancestors;
 *    otherwise deny.
 * 7. No consent applies: sensitive labels, deny; an opt-out network permits the purposes of
 *    `optOutPurposes`; otherwise deny (opt-in network, or another purpose).
 * Ties between consents go to the smallest consent id, so the result never depends on the
 * order in which consents were stored.
 */
import { equalBytes } from '../base/index.ts';
import { type StateRoot, stateTreeGet } from '../merkle/index.ts';
import { type StateReader, readValue } from './block-state.ts';
import { isDataMonthCovered } from './data-month.ts';
import { breakGlassPurposes, ContractRole } from './limits.ts';
import {
  BreakGlassPointerSchema,
  BreakGlassRecordSchema,
  ClientSchema,
  type ConsentAction,
  ConsentIndexSchema,
  type ConsentRecord,
  ConsentRecordSchema,
  MemberSchema,
  NetworkPolicySchema,
  type Patient,
  PatientSchema,
  PractitionerSchema,
  type Provision,
  RecordVersionSchema,
} from './schemas.ts';
import { StateNamespace, textPart } from './state-keys.ts';

/** Who asks for access. */
export type Requester =
  | { readonly kind: 'practitioner'; readonly orgId: string; readonly practitionerId: string }
  | { readonly kind: 'client'; readonly orgId: string; readonly clientId: string }
  | { readonly kind: 'organization'; readonly orgId: string }
  /** The patient or a delegate, by the key they authenticated with. */
  | { readonly kind: 'patient'; readonly publicKey: Uint8Array };

/**
 * An access request (the IHE PCF "Access Consent" question): who, about which patient, which
 * action (FHIR consentaction), for which purpose of use (v3-ActReason), on which record — or, for
 * a query (`recordId` null), on which resource type with which labels.
 */
export interface AccessRequest {
  readonly patientId: Uint8Array;
  readonly requester: Requester;
  readonly action: ConsentAction;
  readonly purpose: string;
  /** A specific record: its anchored resource type and security labels are used. */
  readonly recordId: Uint8Array | null;
  /** For a query: the resource type asked for (null: any). Ignored when `recordId` is set. */
  readonly resourceType: string | null;
  /** For a query: the security labels of what is asked. Ignored when `recordId` is set. */
  readonly securityLabels: readonly string[];
}

/** Why a decision came out as it did (decision 0023). */
export const DecisionReason = {
  unknownPatient: 'unknown-patient',
  unknownRequester: 'unknown-requester',
  unknownRecord: 'unknown-record',
  recordOfAnotherPatient: 'record-of-another-patient',
  recordErased: 'record-erased',
  patientSelf: 'patient-self',
  breakGlass: 'break-glass',
  breakGlassNotOpen: 'break-glass-not-open',
  breakGlassRefused: 'break-glass-refused',
  consentDeny: 'consent-deny',
  custodian: 'custodian-own-record',
  consentPermit: 'consent-permit',
  sensitiveLabelNotNamed: 'sensitive-label-not-named',
  sensitiveNeedsConsent: 'sensitive-needs-consent',
  defaultOptOut: 'default-opt-out',
  defaultPurposeNotCovered: 'default-purpose-not-covered',
  defaultOptIn: 'default-opt-in',
} as const;
export type DecisionReason = (typeof DecisionReason)[keyof typeof DecisionReason];

/** The decision, the consent and provision that decided (path of child indices), and why. */
export interface AccessDecision {
  readonly decision: 'permit' | 'deny';
  readonly reason: DecisionReason;
  readonly consentId: Uint8Array | null;
  /** `[]` the base provision, `[i]` its i-th exception, `[i, j]` that one's j-th. */
  readonly provisionPath: readonly number[] | null;
  readonly breakGlassId: Uint8Array | null;
}

/** What provisions are matched against. */
interface MatchContext {
  readonly orgId: string;
  readonly actorIds: ReadonlySet<string>;
  readonly roles: ReadonlySet<string>;
  readonly action: ConsentAction;
  readonly purpose: string;
  readonly resourceType: string | null;
  readonly labels: readonly string[];
  readonly recordId: Uint8Array | null;
  /** The named record's data month (null: unknown); unused for a query. */
  readonly dataMonth: number | null;
  readonly time: number;
}

/** A consent's outcome: a deny at a path, or the permits with the labels each path names. */
type ConsentOutcome =
  | {
      readonly type: 'deny';
      readonly path: readonly number[];
      readonly purposes: readonly string[];
    }
  | {
      readonly type: 'permit';
      readonly permits: ReadonlyArray<{ path: readonly number[]; named: ReadonlySet<string> }>;
    };

function isReader(state: StateRoot | StateReader): state is StateReader {
  return typeof (state as StateReader).get === 'function';
}

function deny(reason: DecisionReason, extra: Partial<AccessDecision> = {}): AccessDecision {
  return {
    decision: 'deny',
    reason,
    consentId: null,
    provisionPath: null,
    breakGlassId: null,
    ...extra,
  };
}

function permit(reason: DecisionReason, extra: Partial<AccessDecision> = {}): AccessDecision {
  return { ...deny(reason, extra), decision: 'permit' };
}

/** Whether one provision's own limits match (FHIR R4 Consent.provision, decision 0023). */
function matches(provision: Provision, context: MatchContext): boolean {
  const { period } = provision;
  if (period !== null) {
    if (context.time < period.start) return false;
    if (period.end !== null && context.time >= period.end) return false;
  }
  if (provision.actors.length > 0) {
    const hit = provision.actors.some((actor) =>
      actor.kind === 'role'
        ? context.roles.has(actor.id)
        : context.actorIds.has(`${actor.kind}:${actor.id}`),
    );
    if (!hit) return false;
  }
  if (provision.actions.length > 0 && !provision.actions.includes(context.action)) return false;
  if (provision.purposes.length > 0 && !provision.purposes.includes(context.purpose)) return false;
  if (provision.classes.length > 0) {
    if (context.resourceType === null || !provision.classes.includes(context.resourceType)) {
      return false;
    }
  }
  if (provision.securityLabels.length > 0) {
    if (!provision.securityLabels.some((label) => context.labels.includes(label))) return false;
  }
  if (provision.dataPeriod !== null) {
    // Like record-specific provisions, a data period is decided per record: a query is decided
    // without it, and each record it returns on its own (decision 0029).
    if (context.recordId === null) return false;
    if (!isDataMonthCovered(provision.type, context.dataMonth, provision.dataPeriod)) return false;
  }
  if (provision.records.length > 0) {
    // A query is decided without record-specific provisions; each record it returns is then
    // decided on its own, with its id (decision 0023).
    const recordId = context.recordId;
    if (recordId === null || !provision.records.some((id) => equalBytes(id, recordId))) {
      return false;
    }
  }
  return true;
}

/** Evaluates a provision tree: null when the provision does not apply. */
function evaluate(
  provision: Provision,
  context: MatchContext,
  path: readonly number[],
  named: ReadonlySet<string>,
): ConsentOutcome | null {
  if (!matches(provision, context)) return null;
  const here = new Set([...named, ...provision.securityLabels]);
  const outcomes: ConsentOutcome[] = [];
  provision.provisions.forEach((child, index) => {
    const outcome = evaluate(child, context, [...path, index], here);
    if (outcome !== null) outcomes.push(outcome);
  });
  if (outcomes.length === 0) {
    return provision.type === 'deny'
      ? { type: 'deny', path, purposes: provision.purposes }
      : { type: 'permit', permits: [{ path, named: here }] };
  }
  const firstDeny = outcomes.find((outcome) => outcome.type === 'deny');
  if (firstDeny !== undefined) return firstDeny;
  return {
    type: 'permit',
    permits: outcomes.flatMap((outcome) => (outcome.type === 'permit' ? outcome.permits : [])),
  };
}

/** The consents of the patient that are active in `reader`, in id order. */
function activeConsents(reader: StateReader, patientId: Uint8Array): ConsentRecord[] {
  const index = readValue(reader, ConsentIndexSchema, StateNamespace.consentIndex, patientId);
  const consents: ConsentRecord[] = [];
  for (const consentId of index?.consentIds ?? []) {
    const record = readValue(reader, ConsentRecordSchema, StateNamespace.consent, consentId);
    if (record?.status === 'active') consents.push(record);
  }
  return consents;
}

/** The requester's org, actor references and roles, or null if unknown or inactive. */
function resolveRequester(
  reader: StateReader,
  requester: Exclude<Requester, { kind: 'patient' }>,
): { orgId: string; actorIds: Set<string>; roles: Set<string> } | null {
  const member = readValue(reader, MemberSchema, StateNamespace.member, textPart(requester.orgId));
  if (member?.status !== 'active') return null;
  const actorIds = new Set([`organization:${requester.orgId}`]);
  let roles = new Set<string>();
  if (requester.kind === 'practitioner') {
    const practitioner = readValue(
      reader,
      PractitionerSchema,
      StateNamespace.practitioner,
      textPart(requester.orgId),
      textPart(requester.practitionerId),
    );
    if (practitioner?.active !== true) return null;
    actorIds.add(`practitioner:${requester.orgId}/${requester.practitionerId}`);
    roles = new Set(practitioner.roles);
  } else if (requester.kind === 'client') {
    const client = readValue(
      reader,
      ClientSchema,
      StateNamespace.client,
      textPart(requester.orgId),
      textPart(requester.clientId),
    );
    if (client?.active !== true) return null;
    actorIds.add(`client:${requester.orgId}/${requester.clientId}`);
  }
  return { orgId: requester.orgId, actorIds, roles };
}

function isSelf(patient: Patient, key: Uint8Array): boolean {
  return (
    equalBytes(patient.publicKey, key) || patient.delegates.some((other) => equalBytes(other, key))
  );
}

/**
 * Decides `request` at `time` (Unix ms) against the committed `state` (a version of the state
 * tree, or any `StateReader`). Pure: same inputs, same decision, on every node.
 */
export function decide(
  state: StateRoot | StateReader,
  request: AccessRequest,
  time: number,
): AccessDecision {
  const reader: StateReader = isReader(state) ? state : { get: (key) => stateTreeGet(state, key) };
  const patient = readValue(reader, PatientSchema, StateNamespace.patient, request.patientId);
  if (patient === null) return deny(DecisionReason.unknownPatient);

  // Rule 1: the record, if named, sets the resource type and labels.
  let resourceType = request.resourceType;
  let labels = request.securityLabels;
  let custodian: string | null = null;
  let dataMonth: number | null = null;
  if (request.recordId !== null) {
    const head = readValue(reader, RecordVersionSchema, StateNamespace.record, request.recordId);
    if (head === null) return deny(DecisionReason.unknownRecord);
    if (!equalBytes(head.patientId, request.patientId)) {
      return deny(DecisionReason.recordOfAnotherPatient);
    }
    if (head.status === 'erased') return deny(DecisionReason.recordErased);
    resourceType = head.resourceType;
    labels = head.securityLabels;
    custodian = head.custodian;
    dataMonth = head.dataMonth;
  }

  // Rule 2: the patient's own access.
  const { requester } = request;
  if (requester.kind === 'patient') {
    return isSelf(patient, requester.publicKey)
      ? permit(DecisionReason.patientSelf)
      : deny(DecisionReason.unknownRequester);
  }
  const resolved = resolveRequester(reader, requester);
  if (resolved === null) return deny(DecisionReason.unknownRequester);

  const policy = readValue(reader, NetworkPolicySchema, StateNamespace.policy);
  const sensitiveLabels = new Set(policy?.sensitiveLabels ?? []);
  const context: MatchContext = {
    orgId: resolved.orgId,
    actorIds: resolved.actorIds,
    roles: resolved.roles,
    action: request.action,
    purpose: request.purpose,
    resourceType,
    labels,
    recordId: request.recordId,
    dataMonth,
    time,
  };
  const outcomes: Array<{ consentId: Uint8Array; outcome: ConsentOutcome }> = [];
  for (const consent of activeConsents(reader, request.patientId)) {
    const outcome = evaluate(consent.provision, context, [], new Set());
    if (outcome !== null) outcomes.push({ consentId: consent.consentId, outcome });
  }
  const firstDeny = outcomes.find(({ outcome }) => outcome.type === 'deny');

  // Rule 3: break-glass.
  if ((breakGlassPurposes as readonly string[]).includes(request.purpose)) {
    const grant = openBreakGlass(reader, request, time);
    if (grant === null || !resolved.roles.has(ContractRole.breakGlass)) {
      return deny(DecisionReason.breakGlassNotOpen);
    }
    const refusal = outcomes.find(
      ({ outcome }) => outcome.type === 'deny' && outcome.purposes.includes(request.purpose),
    );
    if (refusal !== undefined && refusal.outcome.type === 'deny') {
      return deny(DecisionReason.breakGlassRefused, {
        consentId: refusal.consentId,
        provisionPath: refusal.outcome.path,
        breakGlassId: grant,
      });
    }
    return permit(DecisionReason.breakGlass, { breakGlassId: grant });
  }

  // Rule 4: any consent that denies.
  if (firstDeny !== undefined && firstDeny.outcome.type === 'deny') {
    return deny(DecisionReason.consentDeny, {
      consentId: firstDeny.consentId,
      provisionPath: firstDeny.outcome.path,
    });
  }

  // Rule 5: the custodian's own record.
  if (custodian !== null && custodian === resolved.orgId) return permit(DecisionReason.custodian);

  // Rule 6: permits, which must name every sensitive label of the request.
  const sensitive = labels.filter((label) => sensitiveLabels.has(label));
  let firstPermit: { consentId: Uint8Array; path: readonly number[] } | null = null;
  for (const { consentId, outcome } of outcomes) {
    if (outcome.type !== 'permit') continue;
    for (const candidate of outcome.permits) {
      firstPermit ??= { consentId, path: candidate.path };
      if (sensitive.every((label) => candidate.named.has(label))) {
        return permit(DecisionReason.consentPermit, { consentId, provisionPath: candidate.path });
      }
    }
  }
  if (firstPermit !== null) {
    return deny(DecisionReason.sensitiveLabelNotNamed, {
      consentId: firstPermit.consentId,
      provisionPath: firstPermit.path,
    });
  }

  // Rule 7: the network default.
  if (sensitive.length > 0) return deny(DecisionReason.sensitiveNeedsConsent);
  if (policy?.consentDefault === 'opt-out') {
    return policy.optOutPurposes.includes(request.purpose)
      ? permit(DecisionReason.defaultOptOut)
      : deny(DecisionReason.defaultPurposeNotCovered);
  }
  return deny(DecisionReason.defaultOptIn);
}

/** The id of the requester's open break-glass grant for the patient at `time`, or null. */
function openBreakGlass(
  reader: StateReader,
  request: AccessRequest,
  time: number,
): Uint8Array | null {
  const { requester } = request;
  if (requester.kind !== 'practitioner') return null;
  const pointer = readValue(
    reader,
    BreakGlassPointerSchema,
    StateNamespace.breakGlassLatest,
    request.patientId,
    textPart(requester.orgId),
    textPart(requester.practitionerId),
  );
  if (pointer === null) return null;
  const grant = readValue(
    reader,
    BreakGlassRecordSchema,
    StateNamespace.breakGlass,
    pointer.breakGlassId,
  );
  if (grant === null || time < grant.openedTime || time >= grant.expiresTime) return null;
  if (grant.purpose !== request.purpose) return null;
  return grant.breakGlassId;
}
