/**
 * FHIR R4 Consent (hl7.org/fhir/R4/consent.html, scope patient-privacy; IHE PCF) as a view of
 * the consent contract: a Consent is mapped to the `consent.grant` body (`GrantConsentBody`) and a
 * stored `ConsentRecord` back to a Consent. Only what the chain holds survives the trip, so
 * whatever a Consent says that the chain cannot hold is refused with an error naming its FHIR path
 * (`Consent.provision.provision[1].actor[0].reference`) rather than dropped: a patient's choice is
 * never silently narrowed or widened (decision 0053).
 *
 * Pure: no I/O, no clock, no randomness. `Date.UTC` and `toISOString` are used as calendar
 * arithmetic only.
 */
import type {
  CodeableConcept,
  Coding,
  Consent,
  ConsentProvision,
  ConsentProvisionActor,
  ConsentProvisionData,
  Period as FhirPeriod,
  Device,
  Organization,
  Practitioner,
  PractitionerRole,
  Reference,
  ResourceType,
} from '@medplum/fhirtypes';

import { MedLedgerError, fromHex, toHex } from '../base/index.ts';
import {
  type Actor,
  type ConsentAction,
  type ConsentRecord,
  type GrantConsentBody,
  type Period,
  type Provision,
  consentActions,
  contractBody,
  contractLimits,
  provisionDepthMax,
} from '../contracts/index.ts';

/** Codes of `FhirViewError`. */
export const FhirViewErrorCode = {
  /** Valid FHIR that the chain cannot hold (an element, a code system, a depth it has no room for). */
  unrepresentable: 'unrepresentable',
  /** Not valid input at all (a wrong type, a malformed date, a missing required element). */
  invalid: 'invalid',
} as const;
export type FhirViewErrorCode = (typeof FhirViewErrorCode)[keyof typeof FhirViewErrorCode];

/** A FHIR resource that cannot be mapped to or from the chain; `details.path` is the FHIR path. */
export class FhirViewError extends MedLedgerError<FhirViewErrorCode> {
  constructor(code: FhirViewErrorCode, path: string, what: string) {
    super(code, `${path}: ${what}`, { path });
  }
}

/** The code systems a Consent view uses (FHIR R4 terminology). */
export const ConsentSystem = {
  scope: 'http://terminology.hl7.org/CodeSystem/consentscope',
  loinc: 'http://loinc.org',
  action: 'http://terminology.hl7.org/CodeSystem/consentaction',
  actReason: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  confidentiality: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  resourceTypes: 'http://hl7.org/fhir/resource-types',
  /** MedLedger practitioner role codes (`ContractRole` and the organisations' own). */
  practitionerRole: 'urn:medledger:practitioner-role',
  /** Logical references for ids that are not valid FHIR ids (`orgId/localId`, `_`). */
  organization: 'urn:medledger:organization',
  practitioner: 'urn:medledger:practitioner',
  client: 'urn:medledger:client',
  record: 'urn:medledger:record',
} as const;

/** LOINC 59284-0 "Patient Consent", the category of every privacy consent (IHE PCF). */
export const consentCategoryCode = '59284-0';

/** Consent.policyRule codes (v3-ActCode consent directives: opt in, opt in with restrictions…). */
export const consentPolicyRules = ['OPTIN', 'OPTINR', 'OPTOUT', 'OPTOUTE'] as const;

/**
 * Purposes of use a provision may name (v3-ActReason, the PurposeOfUse codes of
 * hl7.org/fhir/R4/v3/PurposeOfUse): treatment, payment, operations, research, break-glass…
 */
export const consentPurposes = [
  'BTG',
  'CAREMGT',
  'CLINTRCH',
  'COVERAGE',
  'DONAT',
  'ETREAT',
  'FAMRQT',
  'HCOMPL',
  'HDIRECT',
  'HLEGAL',
  'HMARKT',
  'HOPERAT',
  'HPAYMT',
  'HQUALIMP',
  'HRESCH',
  'HSYSADMIN',
  'HTEST',
  'PATRQT',
  'POPHLTH',
  'PUBHLTH',
  'PWATRNY',
  'SUPNWK',
  'TRAIN',
  'TREAT',
] as const;

/** Confidentiality codes (v3-Confidentiality) a provision's security label may name. */
export const consentConfidentialityCodes = ['U', 'L', 'M', 'N', 'R', 'V'] as const;

/**
 * Sensitivity and privacy-law codes (v3-ActCode) a provision's security label may name
 * (CONVENTIONS.md "Domain resources": ETH, HIV, PSY, STD, SDV, GDIS, and 42CFRPart2).
 */
export const consentSensitivityCodes = [
  '42CFRPart2',
  'BH',
  'COMPT',
  'DRGIS',
  'ETH',
  'ETHUD',
  'GDIS',
  'HIV',
  'OPIOIDUD',
  'PSY',
  'SCA',
  'SDV',
  'SEX',
  'SICKLE',
  'STD',
  'TBOO',
] as const;

const hexIdPattern = /^[0-9a-f]{32}$/;
/** A FHIR id (hl7.org/fhir/R4/datatypes.html#id). */
const fhirIdPattern = /^[A-Za-z0-9.-]{1,64}$/;
/** A MedLedger identifier (contracts' `checkIdentifier`). */
const identifierPattern = /^[a-z0-9][a-z0-9._-]*$/;
const resourceTypePattern = /^[A-Z][A-Za-z]{1,63}$/;
const rolePattern = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;
/** Separates `orgId` and `localId` in a practitioner's or client's FHIR id. */
const localIdSeparator = '--';

function unrepresentable(path: string, what: string): FhirViewError {
  return new FhirViewError(FhirViewErrorCode.unrepresentable, path, what);
}

function invalid(path: string, what: string): FhirViewError {
  return new FhirViewError(FhirViewErrorCode.invalid, path, what);
}

/** Whether a value that the types promise is an object really is one (input is untrusted JSON). */
function isObject<T extends object>(value: T | undefined | null): value is T {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Refuses every element of `value` outside `allowed`: an element the chain has no room for would
 * otherwise be lost without the patient knowing. Element ids (`id`) are always allowed.
 */
function onlyElements(value: object, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (key === 'id' || allowed.includes(key)) continue;
    throw unrepresentable(`${path}.${key}`, 'this element is not represented on chain');
  }
}

function listOf<T>(value: T[] | undefined, path: string, itemsMax: number): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(path, 'expected an array');
  if (value.length > itemsMax) {
    throw unrepresentable(path, `expected at most ${itemsMax} items, found ${value.length}`);
  }
  return value;
}

function distinct(values: readonly string[], path: string): void {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    if (seen.has(value)) {
      throw invalid(`${path}[${index}]`, `${JSON.stringify(value)} is named twice`);
    }
    seen.add(value);
  });
}

/** The one coding of `concept`, which must be of one of `systems`. */
function singleCoding(
  concept: CodeableConcept | undefined,
  path: string,
  systems: readonly string[],
): { system: string; code: string } {
  if (!isObject(concept)) throw invalid(path, 'expected a CodeableConcept');
  onlyElements(concept, path, ['coding', 'text']);
  const codings = concept.coding ?? [];
  if (codings.length !== 1) {
    throw unrepresentable(`${path}.coding`, `expected exactly one coding, found ${codings.length}`);
  }
  return codeOf(codings[0]!, `${path}.coding[0]`, systems);
}

/** A coding's system and code, refusing other systems and elements the chain does not hold. */
function codeOf(
  coding: Coding,
  path: string,
  systems: readonly string[],
): { system: string; code: string } {
  if (!isObject(coding)) throw invalid(path, 'expected a Coding');
  onlyElements(coding, path, ['system', 'code', 'display']);
  const { system, code } = coding;
  if (system === undefined || !systems.includes(system)) {
    throw unrepresentable(
      `${path}.system`,
      `expected ${systems.join(' or ')}, found ${JSON.stringify(system ?? null)}`,
    );
  }
  if (typeof code !== 'string' || code.length === 0) throw invalid(`${path}.code`, 'missing');
  return { system, code };
}

function oneOf<T extends string>(
  code: string,
  allowed: readonly T[],
  path: string,
  what: string,
): T {
  if (!(allowed as readonly string[]).includes(code)) {
    throw unrepresentable(path, `${JSON.stringify(code)} is not a supported ${what}`);
  }
  return code as T;
}

/** The 128-bit pseudonym of a reference `Type/<32 hex digits>`. */
function pseudonymReference(reference: Reference | undefined, path: string, type: string): string {
  if (!isObject(reference)) throw invalid(path, `expected a reference to ${type}`);
  onlyElements(reference, path, ['reference', 'display']);
  const text = reference.reference;
  const prefix = `${type}/`;
  if (typeof text !== 'string' || !text.startsWith(prefix)) {
    throw unrepresentable(
      `${path}.reference`,
      `expected "${type}/<pseudonym>", found ${JSON.stringify(text ?? null)}`,
    );
  }
  const hex = text.slice(prefix.length);
  if (!hexIdPattern.test(hex)) {
    throw unrepresentable(
      `${path}.reference`,
      `expected a pseudonym of 32 lower-case hex digits, found ${JSON.stringify(hex)}`,
    );
  }
  return hex;
}

// ---------------------------------------------------------------------------------------------
// Dates: FHIR dateTime ↔ Unix ms

const dateTimePattern =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

/**
 * A FHIR dateTime as the first Unix ms it covers and the first ms after it (FHIR R4 Period: "the
 * end value includes any matching date/time", so an end of `2022-12-31` covers that whole day).
 * Dates without a time have no zone in FHIR; they are read as UTC, like data months (decision
 * 0029).
 */
function parseDateTime(value: unknown, path: string): { first: number; after: number } {
  const match = typeof value === 'string' ? dateTimePattern.exec(value) : null;
  if (match === null) {
    throw invalid(path, `expected a FHIR dateTime, found ${JSON.stringify(value ?? null)}`);
  }
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  const y = Number(year);
  const mo = month === undefined ? 1 : Number(month);
  const d = day === undefined ? 1 : Number(day);
  if (mo < 1 || mo > 12 || d < 1 || d > 31) throw invalid(path, `no such date ${String(value)}`);
  if (hour === undefined) {
    const first = Date.UTC(y, mo - 1, d);
    const after =
      month === undefined
        ? Date.UTC(y + 1, 0, 1)
        : day === undefined
          ? Date.UTC(y, mo, 1)
          : Date.UTC(y, mo - 1, d + 1);
    if (new Date(first).getUTCDate() !== d) throw invalid(path, `no such date ${String(value)}`);
    return { first, after };
  }
  const digits = (fraction ?? '').padEnd(3, '0').slice(0, 3);
  const offsetMinutes =
    zone === 'Z'
      ? 0
      : (zone!.startsWith('-') ? -1 : 1) *
        (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4)));
  const first =
    Date.UTC(y, mo - 1, d, Number(hour), Number(minute), Number(second), Number(digits)) -
    offsetMinutes * 60_000;
  // The precision of the value decides how much it covers: a second, or a millisecond.
  const after = first + (fraction === undefined ? 1000 : 1);
  return { first, after };
}

/** Unix ms as a FHIR instant in UTC with milliseconds (`2024-05-01T08:30:00.000Z`). */
export function fhirInstant(timeMs: number): string {
  return new Date(timeMs).toISOString();
}

function periodFromFhir(period: FhirPeriod, path: string): Period {
  if (!isObject(period)) throw invalid(path, 'expected a Period');
  onlyElements(period, path, ['start', 'end']);
  if (period.start === undefined) {
    throw unrepresentable(`${path}.start`, 'the chain holds periods with a start only');
  }
  const start = parseDateTime(period.start, `${path}.start`).first;
  const end = period.end === undefined ? null : parseDateTime(period.end, `${path}.end`).after;
  if (start < 0) throw unrepresentable(`${path}.start`, 'expected a time from 1970 on');
  if (end !== null && end <= start) throw invalid(`${path}.end`, 'expected an end after start');
  return { start, end };
}

/** A half-open chain period `[start, end)` as a FHIR Period, whose end is inclusive. */
function periodToFhir(period: Period): FhirPeriod {
  return period.end === null
    ? { start: fhirInstant(period.start) }
    : { start: fhirInstant(period.start), end: fhirInstant(period.end - 1) };
}

// ---------------------------------------------------------------------------------------------
// Actors: Organization/…, Practitioner/…, Device/… (client apps), role codes

/** Whether an `orgId` and `localId` pair reads back unambiguously from `orgId--localId`. */
function isSplittable(orgId: string, localId: string): boolean {
  const id = `${orgId}${localIdSeparator}${localId}`;
  return (
    fhirIdPattern.test(id) &&
    !orgId.includes(localIdSeparator) &&
    !orgId.endsWith('-') &&
    !localId.includes(localIdSeparator)
  );
}

const actorTypes: Record<Exclude<Actor['kind'], 'role'>, { type: ResourceType; system: string }> = {
  organization: { type: 'Organization', system: ConsentSystem.organization },
  practitioner: { type: 'Practitioner', system: ConsentSystem.practitioner },
  client: { type: 'Device', system: ConsentSystem.client },
};

/**
 * The FHIR reference of an actor: `Organization/<orgId>`, `Practitioner/<orgId>--<localId>`,
 * `Device/<orgId>--<clientId>` (a SMART client application), or, for ids that are no valid FHIR
 * id, a logical reference by identifier (`urn:medledger:practitioner`, value `orgId/localId`).
 */
export function actorReference(
  actor: Actor,
): Reference<Organization | Practitioner | PractitionerRole | Device> {
  if (actor.kind === 'role') {
    return {
      type: 'PractitionerRole',
      identifier: { system: ConsentSystem.practitionerRole, value: actor.id },
    };
  }
  const { type, system } = actorTypes[actor.kind];
  let fhirId: string | null = null;
  if (actor.kind === 'organization') {
    fhirId = fhirIdPattern.test(actor.id) ? actor.id : null;
  } else {
    const [orgId = '', localId = ''] = actor.id.split('/');
    fhirId = isSplittable(orgId, localId) ? `${orgId}${localIdSeparator}${localId}` : null;
  }
  return fhirId === null
    ? { type, identifier: { system, value: actor.id } }
    : { reference: `${type}/${fhirId}` };
}

function checkActorId(kind: Actor['kind'], id: string, path: string): void {
  const parts = kind === 'organization' ? [id] : id.split('/');
  const ok =
    parts.length === (kind === 'organization' ? 1 : 2) &&
    parts.every((part) => identifierPattern.test(part) && part.length <= 64);
  if (!ok) {
    throw unrepresentable(
      path,
      `expected ${kind === 'organization' ? 'an organisation id' : '"orgId/localId"'} of lower-case identifiers, found ${JSON.stringify(id)}`,
    );
  }
}

function actorFromFhir(actor: ConsentProvisionActor, path: string): Actor {
  if (!isObject(actor)) throw invalid(path, 'expected an actor');
  onlyElements(actor, path, ['role', 'reference']);
  const rolePath = `${path}.role`;
  const { system: roleSystem, code: role } = singleCoding(actor.role, rolePath, [
    ConsentSystem.participationType,
    ConsentSystem.practitionerRole,
  ]);
  const reference = actor.reference as Reference | undefined;
  const referencePath = `${path}.reference`;
  if (!isObject(reference)) throw invalid(referencePath, 'expected a Reference');
  onlyElements(reference, referencePath, ['reference', 'type', 'identifier', 'display']);

  if (roleSystem === ConsentSystem.practitionerRole) {
    if (!rolePattern.test(role)) {
      throw unrepresentable(`${rolePath}.coding[0].code`, `not a role code: ${role}`);
    }
    const identifier = reference.identifier;
    if (
      reference.type !== 'PractitionerRole' ||
      reference.reference !== undefined ||
      identifier?.system !== ConsentSystem.practitionerRole ||
      identifier.value !== role
    ) {
      throw unrepresentable(
        referencePath,
        `expected the logical reference to PractitionerRole ${JSON.stringify(role)} (identifier ${ConsentSystem.practitionerRole})`,
      );
    }
    return { kind: 'role', id: role };
  }
  if (role !== 'IRCP') {
    throw unrepresentable(
      `${rolePath}.coding[0].code`,
      `expected IRCP (information recipient) for an organisation, practitioner or client, found ${JSON.stringify(role)}`,
    );
  }
  for (const [kind, { type, system }] of Object.entries(actorTypes) as Array<
    [Exclude<Actor['kind'], 'role'>, { type: ResourceType; system: string }]
  >) {
    if (reference.reference?.startsWith(`${type}/`) === true) {
      if (reference.identifier !== undefined || reference.type !== undefined) {
        throw unrepresentable(referencePath, 'expected a literal or a logical reference, not both');
      }
      const fhirId = reference.reference.slice(type.length + 1);
      let id = fhirId;
      if (kind !== 'organization') {
        const at = fhirId.indexOf(localIdSeparator);
        id = at < 0 ? '' : `${fhirId.slice(0, at)}/${fhirId.slice(at + localIdSeparator.length)}`;
      }
      checkActorId(kind, id, `${referencePath}.reference`);
      return { kind, id };
    }
    if (reference.reference === undefined && reference.identifier?.system === system) {
      if (reference.type !== type) {
        throw unrepresentable(`${referencePath}.type`, `expected ${type}`);
      }
      const id = reference.identifier.value ?? '';
      checkActorId(kind, id, `${referencePath}.identifier.value`);
      return { kind, id };
    }
  }
  throw unrepresentable(
    reference.reference === undefined ? referencePath : `${referencePath}.reference`,
    `expected Organization/<orgId>, Practitioner/<orgId>--<localId> or Device/<orgId>--<clientId>, found ${JSON.stringify(reference.reference ?? reference.identifier ?? null)}`,
  );
}

function actorToFhir(actor: Actor): ConsentProvisionActor {
  const role: CodeableConcept =
    actor.kind === 'role'
      ? { coding: [{ system: ConsentSystem.practitionerRole, code: actor.id }] }
      : {
          coding: [
            {
              system: ConsentSystem.participationType,
              code: 'IRCP',
              display: 'information recipient',
            },
          ],
        };
  return { role, reference: actorReference(actor) };
}

// ---------------------------------------------------------------------------------------------
// Provisions

function labelSystem(code: string): string {
  return (consentConfidentialityCodes as readonly string[]).includes(code)
    ? ConsentSystem.confidentiality
    : ConsentSystem.actCode;
}

function recordFromFhir(data: ConsentProvisionData, path: string): Uint8Array {
  if (!isObject(data)) throw invalid(path, 'expected a data element');
  onlyElements(data, path, ['meaning', 'reference']);
  if (data.meaning !== 'instance') {
    throw unrepresentable(
      `${path}.meaning`,
      `the chain matches records by id only: expected "instance", found ${JSON.stringify(data.meaning ?? null)}`,
    );
  }
  const reference = data.reference as Reference | undefined;
  const referencePath = `${path}.reference`;
  if (!isObject(reference)) throw invalid(referencePath, 'expected a Reference');
  onlyElements(reference, referencePath, ['reference', 'type', 'identifier', 'display']);
  if (reference.reference !== undefined) {
    const match = /^([A-Z][A-Za-z]+)\/([0-9a-f]{32})$/.exec(reference.reference);
    if (match === null || reference.identifier !== undefined) {
      throw unrepresentable(
        `${referencePath}.reference`,
        `expected "<ResourceType>/<record pseudonym of 32 hex digits>" (no version), found ${JSON.stringify(reference.reference)}`,
      );
    }
    return fromHex(match[2]!);
  }
  const identifier = reference.identifier;
  if (identifier?.system !== ConsentSystem.record || !hexIdPattern.test(identifier.value ?? '')) {
    throw unrepresentable(
      referencePath,
      `expected a record reference or an identifier of ${ConsentSystem.record} with 32 hex digits`,
    );
  }
  return fromHex(identifier.value!);
}

function provisionFromFhir(provision: ConsentProvision, path: string, depth: number): Provision {
  if (!isObject(provision)) throw invalid(path, 'expected a provision');
  if (depth > provisionDepthMax) {
    throw unrepresentable(
      path,
      `provisions nest at most ${provisionDepthMax} levels deep on chain (the base and ${provisionDepthMax - 1} levels of exceptions)`,
    );
  }
  onlyElements(provision, path, [
    'type',
    'period',
    'actor',
    'action',
    'securityLabel',
    'purpose',
    'class',
    'dataPeriod',
    'data',
    'provision',
  ]);
  if (provision.type !== 'permit' && provision.type !== 'deny') {
    throw unrepresentable(`${path}.type`, 'expected "permit" or "deny"');
  }
  const codesMax = contractLimits.codesPerListMax;
  const actors = listOf(
    provision.actor,
    `${path}.actor`,
    contractLimits.referencesPerProvisionMax,
  ).map((actor, index) => actorFromFhir(actor, `${path}.actor[${index}]`));
  distinct(
    actors.map((actor) => `${actor.kind}:${actor.id}`),
    `${path}.actor`,
  );
  const actions = listOf(provision.action, `${path}.action`, codesMax).map((concept, index) =>
    oneOf<ConsentAction>(
      singleCoding(concept, `${path}.action[${index}]`, [ConsentSystem.action]).code,
      consentActions,
      `${path}.action[${index}].coding[0].code`,
      'consent action',
    ),
  );
  distinct(actions, `${path}.action`);
  const purposes = listOf(provision.purpose, `${path}.purpose`, codesMax).map((coding, index) =>
    oneOf(
      codeOf(coding, `${path}.purpose[${index}]`, [ConsentSystem.actReason]).code,
      consentPurposes,
      `${path}.purpose[${index}].code`,
      'purpose of use (v3-ActReason)',
    ),
  );
  distinct(purposes, `${path}.purpose`);
  const securityLabels = listOf(provision.securityLabel, `${path}.securityLabel`, codesMax).map(
    (coding, index) => {
      const at = `${path}.securityLabel[${index}]`;
      const { system, code } = codeOf(coding, at, [
        ConsentSystem.confidentiality,
        ConsentSystem.actCode,
      ]);
      const allowed: readonly string[] =
        system === ConsentSystem.confidentiality
          ? consentConfidentialityCodes
          : consentSensitivityCodes;
      return oneOf(code, allowed, `${at}.code`, `security label of ${system}`);
    },
  );
  distinct(securityLabels, `${path}.securityLabel`);
  const classes = listOf(provision.class, `${path}.class`, codesMax).map((coding, index) => {
    const { code } = codeOf(coding, `${path}.class[${index}]`, [ConsentSystem.resourceTypes]);
    if (!resourceTypePattern.test(code)) {
      throw unrepresentable(`${path}.class[${index}].code`, `not a resource type: ${code}`);
    }
    return code;
  });
  distinct(classes, `${path}.class`);
  const records = listOf(
    provision.data,
    `${path}.data`,
    contractLimits.referencesPerProvisionMax,
  ).map((data, index) => recordFromFhir(data, `${path}.data[${index}]`));
  distinct(records.map(toHex), `${path}.data`);
  const children = listOf(
    provision.provision,
    `${path}.provision`,
    contractLimits.provisionChildrenMax,
  );
  return {
    type: provision.type,
    period:
      provision.period === undefined ? null : periodFromFhir(provision.period, `${path}.period`),
    dataPeriod:
      provision.dataPeriod === undefined
        ? null
        : periodFromFhir(provision.dataPeriod, `${path}.dataPeriod`),
    actors,
    actions,
    purposes,
    classes,
    securityLabels,
    records,
    provisions: children.map((child, index) =>
      provisionFromFhir(child, `${path}.provision[${index}]`, depth + 1),
    ),
  };
}

/** What `consentRecordToFhir` needs beyond the record. */
export interface ConsentViewOptions {
  /**
   * The anchored resource type of a record the consent names (`records.head`), so `data` can be
   * a literal reference `Observation/<id>`; without it (or when it returns null) the reference
   * is logical, by the identifier `urn:medledger:record`.
   */
  readonly resourceTypeOf?: (recordId: Uint8Array) => string | null;
}

function provisionToFhir(provision: Provision, options: ConsentViewOptions): ConsentProvision {
  const out: ConsentProvision = { type: provision.type };
  if (provision.period !== null) out.period = periodToFhir(provision.period);
  if (provision.actors.length > 0) out.actor = provision.actors.map(actorToFhir);
  if (provision.actions.length > 0) {
    out.action = provision.actions.map((code) => ({
      coding: [{ system: ConsentSystem.action, code }],
    }));
  }
  if (provision.securityLabels.length > 0) {
    out.securityLabel = provision.securityLabels.map((code) => ({
      system: labelSystem(code),
      code,
    }));
  }
  if (provision.purposes.length > 0) {
    out.purpose = provision.purposes.map((code) => ({ system: ConsentSystem.actReason, code }));
  }
  if (provision.classes.length > 0) {
    out.class = provision.classes.map((code) => ({ system: ConsentSystem.resourceTypes, code }));
  }
  if (provision.dataPeriod !== null) out.dataPeriod = periodToFhir(provision.dataPeriod);
  if (provision.records.length > 0) {
    out.data = provision.records.map((recordId) => {
      const type = options.resourceTypeOf?.(recordId) ?? null;
      const reference: Reference =
        type === null
          ? { identifier: { system: ConsentSystem.record, value: toHex(recordId) } }
          : { reference: `${type}/${toHex(recordId)}` };
      return { meaning: 'instance', reference };
    });
  }
  if (provision.provisions.length > 0) {
    out.provision = provision.provisions.map((child) => provisionToFhir(child, options));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Consent

/** What `consentToGrantBody` needs beyond the resource. */
export interface ConsentGrantOptions {
  /**
   * The consent's pseudonymous id; by default `Consent.id`, which must then be 32 hex digits. The
   * caller draws a new one (randomness is the shell's) for a Consent created without an id.
   */
  readonly consentId?: Uint8Array;
}

/**
 * The `consent.grant` body for a FHIR R4 Consent (status active, scope patient-privacy, category
 * LOINC 59284-0, patient `Patient/<pseudonym>`, policyRule a v3-ActCode OPTIN/OPTINR/OPTOUT/
 * OPTOUTE, a base provision with at most `provisionDepthMax - 1` levels of nested exceptions).
 * `dateTime` is not kept: the block time of the grant is the consent's time on chain. Throws
 * `FhirViewError` naming the FHIR path of the first element the chain cannot hold.
 */
export function consentToGrantBody(
  consent: Consent,
  options: ConsentGrantOptions = {},
): GrantConsentBody {
  if (!isObject(consent) || consent.resourceType !== 'Consent') {
    throw invalid('Consent', 'expected a resource of type Consent');
  }
  onlyElements(consent, 'Consent', [
    'resourceType',
    'meta',
    'text',
    'status',
    'scope',
    'category',
    'patient',
    'dateTime',
    'performer',
    'policyRule',
    'provision',
  ]);
  let consentId = options.consentId;
  if (consentId === undefined) {
    if (typeof consent.id !== 'string' || !hexIdPattern.test(consent.id)) {
      throw unrepresentable(
        'Consent.id',
        `expected a consent pseudonym of 32 lower-case hex digits, found ${JSON.stringify(consent.id ?? null)}`,
      );
    }
    consentId = fromHex(consent.id);
  } else if (consentId.length !== contractLimits.pseudonymBytes) {
    throw invalid('Consent.id', `expected a ${contractLimits.pseudonymBytes}-byte consent id`);
  }
  if (consent.status !== 'active') {
    throw unrepresentable(
      'Consent.status',
      `a grant is a consent in force: expected "active", found ${JSON.stringify(consent.status ?? null)}`,
    );
  }
  if (
    singleCoding(consent.scope, 'Consent.scope', [ConsentSystem.scope]).code !== 'patient-privacy'
  ) {
    throw unrepresentable('Consent.scope.coding[0].code', 'expected "patient-privacy"');
  }
  const categories = listOf(consent.category, 'Consent.category', 4);
  if (categories.length === 0) throw invalid('Consent.category', 'expected a category');
  categories.forEach((category, index) => {
    const path = `Consent.category[${index}]`;
    if (singleCoding(category, path, [ConsentSystem.loinc]).code !== consentCategoryCode) {
      throw unrepresentable(`${path}.coding[0].code`, `expected LOINC ${consentCategoryCode}`);
    }
  });
  const patientHex = pseudonymReference(consent.patient, 'Consent.patient', 'Patient');
  if (consent.dateTime !== undefined) parseDateTime(consent.dateTime, 'Consent.dateTime');
  listOf(consent.performer, 'Consent.performer', 1).forEach((performer, index) => {
    // Who signed is on chain (the patient's or a delegate's key); a performer other than the
    // patient could not be shown back.
    const path = `Consent.performer[${index}]`;
    if (pseudonymReference(performer, path, 'Patient') !== patientHex) {
      throw unrepresentable(`${path}.reference`, 'expected the consent’s own patient');
    }
  });
  if (consent.policyRule === undefined) {
    throw unrepresentable('Consent.policyRule', 'expected a policy rule (invariant ppc-1)');
  }
  const policyRule = oneOf(
    singleCoding(consent.policyRule, 'Consent.policyRule', [ConsentSystem.actCode]).code,
    consentPolicyRules,
    'Consent.policyRule.coding[0].code',
    'consent policy rule',
  );
  if (consent.provision === undefined) {
    throw unrepresentable('Consent.provision', 'expected a base provision (permit or deny)');
  }
  return {
    consentId,
    patientId: fromHex(patientHex),
    policyRule,
    provision: provisionFromFhir(consent.provision, 'Consent.provision', 1),
  };
}

/**
 * The transaction body (`Transaction.body`) of `consent.grant` for a FHIR R4 Consent: the
 * patient (or a delegate) signs it. See `consentToGrantBody` for what is refused.
 */
export function consentGrantTransactionBody(
  consent: Consent,
  options: ConsentGrantOptions = {},
): ReturnType<typeof contractBody> {
  return contractBody('consent.grant', consentToGrantBody(consent, options));
}

/**
 * A stored consent as a FHIR R4 Consent: status active or inactive (revoked, FHIR keeps the
 * history), scope patient-privacy, category LOINC 59284-0, the patient as `Patient/<pseudonym>`
 * (also the performer: the patient or a delegate signed), `dateTime` the block time of the grant,
 * `policyRule` (invariant ppc-1), and the provision tree. `meta.versionId` is 1, or 2 once revoked.
 */
export function consentRecordToFhir(
  record: ConsentRecord,
  options: ConsentViewOptions = {},
): Consent {
  const patient = `Patient/${toHex(record.patientId)}`;
  const revoked = record.status === 'inactive' && record.revokedTime !== null;
  return {
    resourceType: 'Consent',
    id: toHex(record.consentId),
    meta: {
      versionId: revoked ? '2' : '1',
      lastUpdated: fhirInstant(revoked ? record.revokedTime : record.grantedTime),
    },
    status: record.status,
    scope: {
      coding: [
        { system: ConsentSystem.scope, code: 'patient-privacy', display: 'Privacy Consent' },
      ],
    },
    category: [
      {
        coding: [
          { system: ConsentSystem.loinc, code: consentCategoryCode, display: 'Patient Consent' },
        ],
      },
    ],
    patient: { reference: patient },
    dateTime: fhirInstant(record.grantedTime),
    performer: [{ reference: patient }],
    policyRule: { coding: [{ system: ConsentSystem.actCode, code: record.policyRule }] },
    provision: provisionToFhir(record.provision, options),
  };
}
