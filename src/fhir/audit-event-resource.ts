/**
 * FHIR R4 AuditEvent (hl7.org/fhir/R4/auditevent.html) as a view of the access contract's
 * audit log, shaped after IHE Basic Audit Log Patterns (BALP 1.1, profiles.ihe.net/ITI/BALP):
 *
 * - A REST access (`AuditEventRecord`): BALP Read / Query / Create / Update / Delete — `type`
 *   audit-event-type#rest, `subtype` FHIR restful-interaction, `action` C/R/U/D/E, agents
 *   user (v3-ParticipationType#IRCP, `requestor`, `purposeOfUse`), client application (DCM 110150),
 *   user organisation (v3-RoleClass#PROV) and the deciding node (DCM 110153 Source Role ID for
 *   reads, 110152 Destination Role ID for writes and searches, as BALP's Read and Query profiles
 *   assign them), entities patient (audit-entity-type#1, object-role#1), the versioned record
 *   (audit-entity-type#2, object-role#4 Domain Resource) or the query (object-role#24 Query), the
 *   deciding consent (BALP AuthZconsent: entity type resource-types#Consent, with the deciding
 *   provision in `detail`) and the break-glass grant (object-role#13 Security Resource). BALP uses
 *   `rest`, not DICOM 110110 "Patient Record", as the type of RESTful events; the patient entity
 *   carries that meaning.
 * - A disclosure to another organisation: BALP PrivacyDisclosure at the source — DCM 110106
 *   Export, subtype iso-21089-lifecycle#disclose, action R.
 * - Break-glass (`BreakGlassRecord`): DCM 110113 Security Alert with subtype DCM 110127
 *   "Emergency Override Started" at the grant and DCM 110138 "Emergency Override Stopped" at its
 *   expiry (DICOM PS3.16 CID 400; the FHIR R4 DCM code system has 110128 as "Network
 *   Configuration", so the stop code is 110138).
 *
 * Outcome: 0 success for a permit, 4 minor failure for a denial (FHIR R4 audit-event-outcome),
 * `outcomeDesc` names the decision reason of decision 0023. Pure: no I/O, clock or randomness.
 */
import type {
  AuditEvent,
  AuditEventAgent,
  AuditEventEntity,
  Coding,
  Organization,
  Reference,
} from '@medplum/fhirtypes';

import { toHex } from '../base/index.ts';
import type { AuditAction, AuditEventRecord, BreakGlassRecord } from '../contracts/index.ts';
import { ConsentSystem, FhirViewError, actorReference, fhirInstant } from './consent-resource.ts';

/** The code systems and codes of the AuditEvent view (FHIR R4 terminology, DICOM, BALP). */
export const AuditSystem = {
  eventType: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
  dicom: 'http://dicom.nema.org/resources/ontology/DCM',
  restfulInteraction: 'http://hl7.org/fhir/restful-interaction',
  lifecycle: 'http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle',
  outcome: 'http://terminology.hl7.org/CodeSystem/audit-event-outcome',
  entityType: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
  objectRole: 'http://terminology.hl7.org/CodeSystem/object-role',
  sourceType: 'http://terminology.hl7.org/CodeSystem/security-source-type',
  roleClass: 'http://terminology.hl7.org/CodeSystem/v3-RoleClass',
  /** MedLedger nodes, by organisation id. */
  node: 'urn:medledger:node',
  /** Break-glass grants, by id (64 hex digits). */
  breakGlass: 'urn:medledger:break-glass',
  /** The extension with the height of the block that committed the event. */
  blockHeight: 'urn:medledger:fhir:block-height',
} as const;

/** Where the event was committed on chain. */
export interface CommittedAt {
  readonly height: number;
  /** Block time, Unix ms. */
  readonly time: number;
}

/** What an audit view needs beyond the stored record. */
export interface AuditEventViewOptions {
  /** The record's anchored resource type, so the entity is `Type/<id>/_history/<n>`. */
  readonly resourceTypeOf?: (recordId: Uint8Array) => string | null;
  /**
   * The deciding provision's path (`AccessDecision.provisionPath`: `[]` the base provision, `[1,
   * 0]` …), which the deciding node knows but the chain does not store with the event.
   */
  readonly provisionPath?: readonly number[] | null;
}

const restSubtype: Record<Exclude<AuditAction, 'disclose'>, string> = {
  create: 'create',
  read: 'read',
  vread: 'vread',
  update: 'update',
  patch: 'patch',
  delete: 'delete',
  history: 'history-instance',
  search: 'search-type',
};

/** FHIR R4 AuditEvent.action (audit-event-action): C create, R read, U update, D delete, E execute. */
const eventAction: Record<AuditAction, 'C' | 'R' | 'U' | 'D' | 'E'> = {
  create: 'C',
  read: 'R',
  vread: 'R',
  update: 'U',
  patch: 'U',
  delete: 'D',
  history: 'R',
  search: 'E',
  disclose: 'R',
};

/** The FHIR path of a provision (`[1, 0]` → `Consent.provision.provision[1].provision[0]`). */
export function provisionFhirPath(path: readonly number[]): string {
  return ['Consent.provision', ...path.map((index) => `provision[${index}]`)].join('.');
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function organisationReference(orgId: string): Reference<Organization> {
  return actorReference({ kind: 'organization', id: orgId }) as Reference<Organization>;
}

function nodeAgent(orgId: string, type: '110152' | '110153'): AuditEventAgent {
  return {
    type: {
      coding: [
        {
          system: AuditSystem.dicom,
          code: type,
          display: type === '110153' ? 'Source Role ID' : 'Destination Role ID',
        },
      ],
    },
    who: {
      type: 'Device',
      identifier: { system: AuditSystem.node, value: orgId },
      display: `MedLedger node of ${orgId}`,
    },
    requestor: false,
  };
}

function organisationAgent(orgId: string): AuditEventAgent {
  return {
    type: {
      coding: [{ system: AuditSystem.roleClass, code: 'PROV', display: 'healthcare provider' }],
    },
    who: organisationReference(orgId),
    requestor: false,
  };
}

function purposeConcept(purpose: string) {
  return { coding: [{ system: ConsentSystem.actReason, code: purpose }] };
}

function userAgent(orgId: string, practitionerId: string, purpose: string): AuditEventAgent {
  return {
    type: {
      coding: [
        {
          system: ConsentSystem.participationType,
          code: 'IRCP',
          display: 'information recipient',
        },
      ],
    },
    who: actorReference({ kind: 'practitioner', id: `${orgId}/${practitionerId}` }),
    requestor: true,
    purposeOfUse: [purposeConcept(purpose)],
  };
}

function patientEntity(patientId: Uint8Array): AuditEventEntity {
  return {
    what: { reference: `Patient/${toHex(patientId)}` },
    type: { system: AuditSystem.entityType, code: '1', display: 'Person' },
    role: { system: AuditSystem.objectRole, code: '1', display: 'Patient' },
  };
}

function source(orgId: string): AuditEvent['source'] {
  return {
    site: orgId,
    observer: organisationReference(orgId),
    type: [{ system: AuditSystem.sourceType, code: '4', display: 'Application Server' }],
  };
}

function breakGlassEntity(breakGlassId: Uint8Array): AuditEventEntity {
  return {
    what: { identifier: { system: AuditSystem.breakGlass, value: toHex(breakGlassId) } },
    type: { system: AuditSystem.entityType, code: '2', display: 'System Object' },
    role: { system: AuditSystem.objectRole, code: '13', display: 'Security Resource' },
  };
}

function heightExtension(height: number) {
  return [{ url: AuditSystem.blockHeight, valueUnsignedInt: height }];
}

/**
 * The BALP-shaped AuditEvent of one stored access decision, committed at `committed` (the block
 * whose height is the record's `recordedHeight`). Its id is `<patient pseudonym>-<sequence>`, the
 * record's place in the patient's log; `recorded` is the decision time, `meta.lastUpdated` the
 * block time.
 */
export function auditEventRecordToFhir(
  stored: AuditEventRecord,
  committed: CommittedAt,
  options: AuditEventViewOptions = {},
): AuditEvent {
  if (committed.height !== stored.recordedHeight) {
    throw new FhirViewError(
      'invalid',
      'committed.height',
      `expected the record's height ${stored.recordedHeight}, found ${committed.height}`,
    );
  }
  const { event, orgId } = stored;
  const isWrite = ['create', 'update', 'patch', 'delete'].includes(event.action);
  const isDisclosure = event.action === 'disclose';

  const agent: AuditEventAgent[] = [];
  if (event.practitionerId !== null) {
    agent.push(userAgent(orgId, event.practitionerId, event.purpose));
  }
  if (event.clientId !== null) {
    agent.push({
      type: { coding: [{ system: AuditSystem.dicom, code: '110150', display: 'Application' }] },
      who: actorReference({ kind: 'client', id: `${orgId}/${event.clientId}` }),
      // Without a user, the application itself asked, for the purpose of use of its token.
      requestor: event.practitionerId === null,
      ...(event.practitionerId === null ? { purposeOfUse: [purposeConcept(event.purpose)] } : {}),
    });
  }
  agent.push(organisationAgent(orgId));
  agent.push(nodeAgent(orgId, isWrite || event.action === 'search' ? '110152' : '110153'));

  const entity: AuditEventEntity[] = [patientEntity(event.patientId)];
  if (event.recordId !== null && event.recordVersion !== null) {
    const type = options.resourceTypeOf?.(event.recordId) ?? null;
    const hex = toHex(event.recordId);
    entity.push({
      what:
        type === null
          ? { identifier: { system: ConsentSystem.record, value: hex } }
          : { reference: `${type}/${hex}/_history/${event.recordVersion}` },
      type: { system: AuditSystem.entityType, code: '2', display: 'System Object' },
      role: isDisclosure
        ? { system: AuditSystem.objectRole, code: '3', display: 'Report' }
        : { system: AuditSystem.objectRole, code: '4', display: 'Domain Resource' },
      ...(type === null
        ? { detail: [{ type: 'version', valueString: String(event.recordVersion) }] }
        : {}),
    });
  }
  if (event.queryHash !== null) {
    // The search request stays with the deciding node (it may name clinical codes); the chain
    // holds its SHA-256, which is what `query` carries here, as `description` says.
    entity.push({
      type: { system: AuditSystem.entityType, code: '2', display: 'System Object' },
      role: { system: AuditSystem.objectRole, code: '24', display: 'Query' },
      description: 'SHA-256 of the search request',
      query: base64(event.queryHash),
    });
  }
  if (event.consentId !== null) {
    const path = options.provisionPath ?? null;
    entity.push({
      what: { reference: `Consent/${toHex(event.consentId)}` },
      type: { system: 'http://hl7.org/fhir/resource-types', code: 'Consent', display: 'Consent' },
      ...(path === null
        ? {}
        : { detail: [{ type: 'provision', valueString: provisionFhirPath(path) }] }),
    });
  }
  if (event.breakGlassId !== null) entity.push(breakGlassEntity(event.breakGlassId));

  const type: Coding = isDisclosure
    ? { system: AuditSystem.dicom, code: '110106', display: 'Export' }
    : { system: AuditSystem.eventType, code: 'rest', display: 'Restful Operation' };
  const subtype: Coding[] = isDisclosure
    ? [
        {
          system: AuditSystem.lifecycle,
          code: 'disclose',
          display: 'Disclose Record Lifecycle Event',
        },
        { system: AuditSystem.restfulInteraction, code: 'read', display: 'read' },
      ]
    : [
        {
          system: AuditSystem.restfulInteraction,
          code: restSubtype[event.action],
          display: restSubtype[event.action],
        },
      ];
  const permitted = event.decision === 'permit';
  return {
    resourceType: 'AuditEvent',
    id: `${toHex(event.patientId)}-${stored.sequence}`,
    meta: { versionId: '1', lastUpdated: fhirInstant(committed.time) },
    extension: heightExtension(committed.height),
    type,
    subtype,
    action: eventAction[event.action],
    recorded: fhirInstant(event.time),
    outcome: permitted ? '0' : '4',
    outcomeDesc: `${event.decision}: ${event.reason}`,
    purposeOfEvent: [purposeConcept(event.purpose)],
    agent,
    source: source(orgId),
    entity,
  };
}

/**
 * The Security Alert of a break-glass grant: DCM 110113 with subtype 110127 "Emergency Override
 * Started" at the grant's opening (`phase` start), or 110138 "Emergency Override Stopped" at its
 * expiry (`phase` stop; the caller shows it once the expiry has passed). The reason code and, if
 * closed, the review's outcome are details of the grant entity.
 */
export function breakGlassAuditEvent(grant: BreakGlassRecord, phase: 'start' | 'stop'): AuditEvent {
  const started = phase === 'start';
  const detail = [{ type: 'reason', valueString: grant.reasonCode }];
  if (grant.review !== null) detail.push({ type: 'review', valueString: grant.review.outcome });
  return {
    resourceType: 'AuditEvent',
    // A FHIR id has at most 64 characters: 160 bits of the grant id are plenty to tell grants apart.
    id: `break-glass-${phase}-${toHex(grant.breakGlassId).slice(0, 40)}`,
    extension: heightExtension(grant.openedHeight),
    type: { system: AuditSystem.dicom, code: '110113', display: 'Security Alert' },
    subtype: [
      started
        ? { system: AuditSystem.dicom, code: '110127', display: 'Emergency Override Started' }
        : { system: AuditSystem.dicom, code: '110138', display: 'Emergency Override Stopped' },
    ],
    action: 'E',
    period: { start: fhirInstant(grant.openedTime), end: fhirInstant(grant.expiresTime) },
    recorded: fhirInstant(started ? grant.openedTime : grant.expiresTime),
    outcome: '0',
    outcomeDesc: `break-glass ${started ? 'opened' : 'expired'}: ${grant.purpose}, reason ${grant.reasonCode}`,
    purposeOfEvent: [purposeConcept(grant.purpose)],
    agent: [
      userAgent(grant.orgId, grant.practitionerId, grant.purpose),
      organisationAgent(grant.orgId),
      nodeAgent(grant.orgId, '110153'),
    ],
    source: source(grant.orgId),
    entity: [patientEntity(grant.patientId), { ...breakGlassEntity(grant.breakGlassId), detail }],
  };
}
