/**
 * The patient's access log as the node serves it (`GET /fhir/AuditEvent?patient=…`: IHE BALP
 * AuditEvents, views of the access contract's audit records, src/fhir `audit-event-resource.ts`),
 * read back into the facts the chain holds, so that the page shows them and the verified mark
 * compares them with what the access-log bundle proves.
 */

/** The parts of an R4 AuditEvent this page reads. */
export interface FhirAuditEvent {
  resourceType: 'AuditEvent';
  id?: string;
  recorded?: string;
  outcome?: string;
  outcomeDesc?: string;
  subtype?: Array<{ system?: string; code?: string }>;
  purposeOfEvent?: Array<{ coding?: Array<{ system?: string; code?: string }> }>;
  agent?: Array<{
    who?: { reference?: string; identifier?: { system?: string; value?: string } };
    requestor?: boolean;
  }>;
  source?: { site?: string };
  entity?: Array<{
    what?: { reference?: string; identifier?: { system?: string; value?: string } };
    role?: { code?: string };
    detail?: Array<{ type?: string; valueString?: string }>;
    query?: string;
  }>;
  extension?: Array<{ url?: string; valueUnsignedInt?: number }>;
}

/** What one audit event says, in the chain's terms. */
export interface AuditFacts {
  /** The event's place in the patient's log (its id is `<patient>-<sequence>`). */
  readonly sequence: number | null;
  /** When the decision was made (Unix ms). */
  readonly time: number | null;
  /** The deciding organisation. */
  readonly orgId: string | null;
  /** `create`, `read`, `search`, `disclose` … (contracts' `auditActions`). */
  readonly action: string | null;
  readonly decision: 'permit' | 'deny' | null;
  /** The decision's reason code (decision 0023). */
  readonly reason: string | null;
  readonly purpose: string | null;
  /** `orgId/localId` of the practitioner who asked, if one did. */
  readonly practitioner: string | null;
  /** `orgId/localId` of the client application, if one asked. */
  readonly client: string | null;
  /** The record touched: its type when the node knows it, id and version. */
  readonly record: { type: string | null; id: string; version: number } | null;
  readonly isSearch: boolean;
  readonly breakGlassId: string | null;
  readonly consentId: string | null;
  /** The block that committed the event. */
  readonly height: number | null;
}

const restActions: Readonly<Record<string, string>> = {
  create: 'create',
  read: 'read',
  vread: 'vread',
  update: 'update',
  patch: 'patch',
  delete: 'delete',
  'history-instance': 'history',
  'search-type': 'search',
};

const separator = '--';

/** `Practitioner/<org>--<local>` or the logical `orgId/localId` → `orgId/localId`. */
function localReference(
  who: NonNullable<NonNullable<FhirAuditEvent['agent']>[number]['who']>,
  type: 'Practitioner' | 'Device',
): string | null {
  const literal = who.reference;
  if (literal?.startsWith(`${type}/`) === true) {
    const id = literal.slice(type.length + 1);
    const at = id.indexOf(separator);
    return at < 0 ? null : `${id.slice(0, at)}/${id.slice(at + separator.length)}`;
  }
  const system = type === 'Practitioner' ? 'urn:medledger:practitioner' : 'urn:medledger:client';
  return who.identifier?.system === system ? (who.identifier.value ?? null) : null;
}

/** The facts of one AuditEvent (missing or unexpected elements read as null). */
export function auditFactsOf(event: FhirAuditEvent): AuditFacts {
  const sequenceText = /-(\d+)$/.exec(event.id ?? '')?.[1];
  const time = event.recorded === undefined ? NaN : Date.parse(event.recorded);
  const subtypes = event.subtype ?? [];
  let action: string | null = null;
  if (subtypes.some((coding) => coding.code === 'disclose')) action = 'disclose';
  else action = restActions[subtypes[0]?.code ?? ''] ?? null;
  const [decisionText, ...reasonParts] = (event.outcomeDesc ?? '').split(': ');
  const decision = decisionText === 'permit' || decisionText === 'deny' ? decisionText : null;
  let practitioner: string | null = null;
  let client: string | null = null;
  for (const agent of event.agent ?? []) {
    if (agent.who === undefined) continue;
    practitioner ??= localReference(agent.who, 'Practitioner');
    client ??= localReference(agent.who, 'Device');
  }
  let record: AuditFacts['record'] = null;
  let isSearch = false;
  let breakGlassId: string | null = null;
  let consentId: string | null = null;
  for (const entity of event.entity ?? []) {
    const reference = entity.what?.reference ?? '';
    const identifier = entity.what?.identifier;
    const versioned = /^([A-Za-z]+)\/([0-9a-f]{32})\/_history\/(\d+)$/.exec(reference);
    if (versioned !== null) {
      record = { type: versioned[1]!, id: versioned[2]!, version: Number(versioned[3]) };
    } else if (identifier?.system === 'urn:medledger:record' && identifier.value !== undefined) {
      const version = entity.detail?.find((detail) => detail.type === 'version')?.valueString;
      record = { type: null, id: identifier.value, version: Number(version ?? NaN) };
    } else if (identifier?.system === 'urn:medledger:break-glass') {
      breakGlassId = identifier.value ?? null;
    } else if (reference.startsWith('Consent/')) {
      consentId = reference.slice(8);
    } else if (entity.role?.code === '24' || entity.query !== undefined) {
      isSearch = true;
    }
  }
  const height = event.extension?.find(
    (extension) => extension.url === 'urn:medledger:fhir:block-height',
  )?.valueUnsignedInt;
  return {
    sequence: sequenceText === undefined ? null : Number(sequenceText),
    time: Number.isNaN(time) ? null : time,
    orgId: event.source?.site ?? null,
    action,
    decision,
    reason: reasonParts.length > 0 ? reasonParts.join(': ') : null,
    purpose: event.purposeOfEvent?.[0]?.coding?.[0]?.code ?? null,
    practitioner,
    client,
    record,
    isSearch: isSearch || action === 'search',
    breakGlassId,
    consentId,
    height: height ?? null,
  };
}

/** Whether the event was emergency access (break-glass). */
export function isBreakGlass(facts: AuditFacts): boolean {
  return (
    facts.breakGlassId !== null ||
    facts.purpose === 'BTG' ||
    facts.purpose === 'ETREAT' ||
    facts.reason === 'break-glass'
  );
}

/** Whether the event is the patient looking at their own records. */
export function isOwnVisit(facts: AuditFacts): boolean {
  return facts.reason === 'patient-self';
}
