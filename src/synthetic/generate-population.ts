/**
 * A seeded population of synthetic patients for the demo: realistic but entirely invented FHIR R4
 * data (no Synthea data is reachable offline, CONVENTIONS.md "Libraries"). One seeded `Faker`
 * instance drives every choice and a fixed reference date replaces the clock, so the same options
 * give the same population on every machine. Demographics (`Patient`) belong in the custodian's
 * vault only; the chain sees pseudonyms, record ids, custodians and labels.
 */
// The English locale's own entry point: the package's root module defines every locale (about
// 17 MB of heap and 30 MB of resident memory in each node process that loads this module), this
// one only English and the base data (about 3 MB).
import { faker } from '@faker-js/faker/locale/en';
import type {
  AllergyIntolerance,
  CodeableConcept,
  Coding,
  Condition,
  Consent,
  ConsentProvision,
  DiagnosticReport,
  DocumentReference,
  Encounter,
  Immunization,
  MedicationRequest,
  Observation,
  Organization,
  Patient,
  Practitioner,
  Procedure,
  Reference,
  Resource,
} from '@medplum/fhirtypes';

import { MedLedgerError, utf8 } from '../base/index.ts';
import {
  type CodeEntry,
  CodeSystemUrl,
  type QuantityEntry,
  type SensitivityLabel,
  allergies,
  bloodPressure,
  conditions,
  documentTypes,
  encounterTypes,
  labTests,
  medications,
  procedures,
  qualitativeTests,
  reportTypes,
  testAnswers,
  vaccines,
  vitalSigns,
} from './code-tables.ts';
import { defaultReferenceDate, syntheticLimits } from './limits.ts';

/** The kinds of member organisation. */
export const organisationKinds = ['hospital', 'clinic', 'laboratory', 'payer'] as const;
export type OrganisationKind = (typeof organisationKinds)[number];

export interface OrganisationInput {
  /** The member's id on chain (a lower-case identifier that is also a FHIR id). */
  readonly id: string;
  readonly name: string;
  readonly kind: OrganisationKind;
}

export interface PopulationOptions {
  /** Drives every choice: the same seed gives the same population. */
  readonly seed: number;
  readonly patientCount: number;
  readonly organisations: readonly OrganisationInput[];
  /** Records fall in the years before it; default `defaultReferenceDate`. */
  readonly referenceDate?: string;
}

/**
 * Role codes of practitioners (identity contract). `break-glass` and `privacy-officer` are the
 * contracts' `ContractRole` values, which this folder may not import (a test checks they agree).
 */
export const PractitionerRoleCode = {
  doctor: 'doctor',
  nurse: 'nurse',
  researcher: 'researcher',
  labTechnician: 'lab-technician',
  claims: 'claims',
  breakGlass: 'break-glass',
  privacyOfficer: 'privacy-officer',
} as const;

export interface SyntheticPractitioner {
  readonly orgId: string;
  readonly practitionerId: string;
  readonly roles: readonly string[];
  /** FHIR id `<orgId>--<practitionerId>`, the convention of src/fhir's actor references. */
  readonly resource: Practitioner;
}

/** One record version as a custodian anchors it: the resource, its custodian and its labels. */
export interface SyntheticRecord {
  readonly resource:
    | Observation
    | Condition
    | Encounter
    | MedicationRequest
    | AllergyIntolerance
    | Immunization
    | Procedure
    | DiagnosticReport
    | DocumentReference;
  readonly custodian: string;
  /** `meta.security` codes: one confidentiality code (N or R) and the sensitivity labels. */
  readonly securityLabels: readonly string[];
}

export interface SyntheticPatient {
  /** The pseudonymous id (32 hex digits), also the Patient's FHIR id. */
  readonly pseudonym: string;
  /** The organisation that enrols the patient and holds the demographics. */
  readonly custodian: string;
  /** Demographics: for the custodian's vault only, never for the chain. */
  readonly resource: Patient;
  readonly records: readonly SyntheticRecord[];
  /** Consents the patient might grant, as FHIR R4 Consents (src/fhir maps them to transactions). */
  readonly suggestedConsents: readonly Consent[];
}

export interface Population {
  readonly organisations: readonly Organization[];
  readonly practitioners: readonly SyntheticPractitioner[];
  readonly patients: readonly SyntheticPatient[];
}

export const SyntheticErrorCode = { invalidOptions: 'invalid-options' } as const;
export type SyntheticErrorCode = (typeof SyntheticErrorCode)[keyof typeof SyntheticErrorCode];

/** Options the generator refuses; `details.option` names the option. */
export class SyntheticError extends MedLedgerError<SyntheticErrorCode> {
  constructor(option: string, what: string) {
    super(SyntheticErrorCode.invalidOptions, `${option}: ${what}`, { option });
  }
}

const System = {
  confidentiality: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  actReason: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  conditionVerification: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  conditionCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
  allergyClinical: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical',
  allergyVerification: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification',
  diagnosticService: 'http://terminology.hl7.org/CodeSystem/v2-0074',
  organizationType: 'http://terminology.hl7.org/CodeSystem/organization-type',
  consentScope: 'http://terminology.hl7.org/CodeSystem/consentscope',
  consentAction: 'http://terminology.hl7.org/CodeSystem/consentaction',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  resourceTypes: 'http://hl7.org/fhir/resource-types',
  practitionerRole: 'urn:medledger:practitioner-role',
} as const;

/** A lower-case identifier that is a FHIR id and splits back out of `<orgId>--<localId>`. */
const organisationIdPattern = /^[a-z0-9](?:[a-z0-9.]|-(?!-))*$/;
const dayMs = 86_400_000;

function checkOptions(options: PopulationOptions): number {
  const { seed, patientCount, organisations } = options;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new SyntheticError('seed', `expected a non-negative safe integer, found ${seed}`);
  }
  if (
    !Number.isSafeInteger(patientCount) ||
    patientCount < 0 ||
    patientCount > syntheticLimits.patientCountMax
  ) {
    throw new SyntheticError(
      'patientCount',
      `expected 0 to ${syntheticLimits.patientCountMax}, found ${patientCount}`,
    );
  }
  if (organisations.length === 0 || organisations.length > syntheticLimits.organisationsMax) {
    throw new SyntheticError(
      'organisations',
      `expected 1 to ${syntheticLimits.organisationsMax} organisations, found ${organisations.length}`,
    );
  }
  const seen = new Set<string>();
  organisations.forEach((organisation, index) => {
    const at = `organisations[${index}]`;
    const { id, name, kind } = organisation;
    if (
      !organisationIdPattern.test(id) ||
      id.endsWith('-') ||
      id.length > syntheticLimits.organisationIdCharsMax
    ) {
      throw new SyntheticError(
        `${at}.id`,
        `expected a lower-case id (a-z, 0-9, '.', single '-') of at most ${syntheticLimits.organisationIdCharsMax} characters, found ${JSON.stringify(id)}`,
      );
    }
    if (seen.has(id)) throw new SyntheticError(`${at}.id`, `${id} appears twice`);
    seen.add(id);
    if (name.trim().length === 0 || name.length > syntheticLimits.organisationNameCharsMax) {
      throw new SyntheticError(`${at}.name`, 'expected a name of 1 to 200 characters');
    }
    if (!(organisationKinds as readonly string[]).includes(kind)) {
      throw new SyntheticError(`${at}.kind`, `expected one of ${organisationKinds.join(', ')}`);
    }
  });
  if (!organisations.some((organisation) => isCare(organisation.kind))) {
    throw new SyntheticError(
      'organisations',
      'expected at least one hospital, clinic or laboratory',
    );
  }
  const reference = Date.parse(options.referenceDate ?? defaultReferenceDate);
  if (!Number.isFinite(reference)) {
    throw new SyntheticError(
      'referenceDate',
      `expected an ISO date, found ${options.referenceDate}`,
    );
  }
  return reference;
}

function isCare(kind: OrganisationKind): boolean {
  return kind !== 'payer';
}

function instant(ms: number): string {
  return new Date(ms).toISOString();
}

function base64(text: string): string {
  let binary = '';
  for (const byte of utf8(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function concept(system: string, entry: { code: string; display: string }): CodeableConcept {
  return { coding: [{ system, code: entry.code, display: entry.display }] };
}

function reference<T extends Resource>(type: T['resourceType'], id: string): Reference<T> {
  return { reference: `${type}/${id}` };
}

function securityOf(labels: readonly SensitivityLabel[]): { codes: string[]; meta: Coding[] } {
  const confidentiality = labels.length > 0 ? 'R' : 'N';
  return {
    codes: [confidentiality, ...labels],
    meta: [
      { system: System.confidentiality, code: confidentiality },
      ...labels.map((code) => ({ system: System.actCode, code })),
    ],
  };
}

/** The staff plan of an organisation kind: id prefix, count and roles. */
const staffPlans: Record<
  OrganisationKind,
  Array<{ prefix: string; count: number; roles: string[] }>
> = {
  hospital: [
    { prefix: 'dr', count: 4, roles: [PractitionerRoleCode.doctor] },
    { prefix: 'rn', count: 2, roles: [PractitionerRoleCode.nurse] },
    {
      prefix: 'er',
      count: 1,
      roles: [PractitionerRoleCode.doctor, PractitionerRoleCode.breakGlass],
    },
    {
      prefix: 'rs',
      count: 1,
      roles: [PractitionerRoleCode.doctor, PractitionerRoleCode.researcher],
    },
    { prefix: 'po', count: 1, roles: [PractitionerRoleCode.privacyOfficer] },
  ],
  clinic: [
    { prefix: 'dr', count: 2, roles: [PractitionerRoleCode.doctor] },
    { prefix: 'rn', count: 1, roles: [PractitionerRoleCode.nurse] },
    {
      prefix: 'er',
      count: 1,
      roles: [PractitionerRoleCode.doctor, PractitionerRoleCode.breakGlass],
    },
    { prefix: 'po', count: 1, roles: [PractitionerRoleCode.privacyOfficer] },
  ],
  laboratory: [
    { prefix: 'lt', count: 2, roles: [PractitionerRoleCode.labTechnician] },
    {
      prefix: 'pa',
      count: 1,
      roles: [PractitionerRoleCode.doctor, PractitionerRoleCode.breakGlass],
    },
    { prefix: 'po', count: 1, roles: [PractitionerRoleCode.privacyOfficer] },
  ],
  payer: [
    { prefix: 'cl', count: 2, roles: [PractitionerRoleCode.claims] },
    { prefix: 'po', count: 1, roles: [PractitionerRoleCode.privacyOfficer] },
  ],
};

/** Generates one population; see the file header. Throws `SyntheticError` for bad options. */
export function generatePopulation(options: PopulationOptions): Population {
  const referenceMs = checkOptions(options);
  // One shared instance, reseeded for each population: generation is synchronous, so nothing
  // else draws from it in between, and the same seed gives the same sequence as a new instance.
  faker.seed(options.seed);
  faker.setDefaultRefDate(new Date(referenceMs));
  const hex = () => faker.string.hexadecimal({ length: 32, casing: 'lower', prefix: '' });
  const chance = (probability: number) => faker.number.float({ min: 0, max: 1 }) < probability;
  const pick = <T>(items: readonly T[]): T => faker.helpers.arrayElement(items);

  const organisations: Organization[] = options.organisations.map((organisation) => ({
    resourceType: 'Organization',
    id: organisation.id,
    active: true,
    name: organisation.name,
    type: [
      {
        coding: [
          isCare(organisation.kind)
            ? { system: System.organizationType, code: 'prov', display: 'Healthcare Provider' }
            : { system: System.organizationType, code: 'pay', display: 'Payer' },
        ],
        text: organisation.kind,
      },
    ],
  }));

  const practitioners: SyntheticPractitioner[] = [];
  const staff = new Map<string, SyntheticPractitioner[]>();
  for (const organisation of options.organisations) {
    const members: SyntheticPractitioner[] = [];
    for (const plan of staffPlans[organisation.kind]) {
      for (let n = 1; n <= plan.count; n++) {
        const practitionerId = `${plan.prefix}-${n}`;
        const gender = pick(['male', 'female'] as const);
        members.push({
          orgId: organisation.id,
          practitionerId,
          roles: plan.roles,
          resource: {
            resourceType: 'Practitioner',
            id: `${organisation.id}--${practitionerId}`,
            active: true,
            name: [
              {
                use: 'official',
                family: faker.person.lastName(),
                given: [faker.person.firstName(gender)],
                prefix: plan.roles.includes(PractitionerRoleCode.doctor) ? ['Dr.'] : [],
              },
            ],
            gender,
          },
        });
      }
    }
    practitioners.push(...members);
    staff.set(organisation.id, members);
  }
  const clinicianOf = (orgId: string): Reference<Practitioner> => {
    const members = staff.get(orgId)!;
    const clinicians = members.filter(
      (member) =>
        member.roles.includes(PractitionerRoleCode.doctor) ||
        member.roles.includes(PractitionerRoleCode.nurse) ||
        member.roles.includes(PractitionerRoleCode.labTechnician),
    );
    return reference<Practitioner>('Practitioner', pick(clinicians).resource.id!);
  };

  const careOrgs = options.organisations.filter(
    (organisation) => organisation.kind === 'hospital' || organisation.kind === 'clinic',
  );
  const homes =
    careOrgs.length > 0 ? careOrgs : options.organisations.filter((o) => isCare(o.kind));
  const laboratories = options.organisations.filter((o) => o.kind === 'laboratory');
  const historyStart = referenceMs - syntheticLimits.historyYears * 365 * dayMs;

  const patients: SyntheticPatient[] = [];
  for (let index = 0; index < options.patientCount; index++) {
    const pseudonym = hex();
    const home = pick(homes);
    const lab = laboratories.length > 0 ? pick(laboratories) : home;
    const subject = reference<Patient>('Patient', pseudonym);
    const gender = pick(['male', 'female'] as const);
    const birth = faker.date.birthdate({ mode: 'age', min: 1, max: 90 }).getTime();
    const patient: Patient = {
      resourceType: 'Patient',
      id: pseudonym,
      identifier: [{ system: `urn:medledger:mrn:${home.id}`, value: faker.string.numeric(8) }],
      active: true,
      name: [
        {
          use: 'official',
          family: faker.person.lastName(),
          given: [faker.person.firstName(gender)],
        },
      ],
      telecom: [{ system: 'phone', value: faker.phone.number(), use: 'home' }],
      gender,
      birthDate: instant(birth).slice(0, 10),
      address: [
        {
          use: 'home',
          line: [faker.location.streetAddress()],
          city: faker.location.city(),
          state: faker.location.state({ abbreviated: true }),
          postalCode: faker.location.zipCode('#####'),
          country: 'US',
        },
      ],
      managingOrganization: reference<Organization>('Organization', home.id),
    };

    const records: SyntheticRecord[] = [];
    const add = (
      resource: SyntheticRecord['resource'],
      custodian: string,
      labels: readonly SensitivityLabel[],
    ) => {
      const security = securityOf(labels);
      resource.meta = { security: security.meta };
      records.push({ resource, custodian, securityLabels: security.codes });
    };

    // Encounters first: every other record happens in one of them, at its time.
    const from = Math.max(birth + dayMs, historyStart);
    const encounters: Array<{ id: string; startMs: number; orgId: string }> = [];
    const encounterCount = faker.number.int({ min: 2, max: 4 });
    for (let n = 0; n < encounterCount; n++) {
      const type = pick(encounterTypes);
      const startMs = faker.date.between({ from, to: referenceMs - dayMs }).getTime();
      const lengthMs =
        type.class === 'IMP'
          ? faker.number.int({ min: 1, max: 6 }) * dayMs
          : faker.number.int({ min: 15, max: 240 }) * 60_000;
      const id = hex();
      encounters.push({ id, startMs, orgId: home.id });
      add(
        {
          resourceType: 'Encounter',
          id,
          status: 'finished',
          class: { system: System.actCode, code: type.class },
          type: [concept(CodeSystemUrl.snomed, type)],
          subject,
          participant: [{ individual: clinicianOf(home.id) }],
          period: { start: instant(startMs), end: instant(startMs + lengthMs) },
          serviceProvider: reference<Organization>('Organization', home.id),
        },
        home.id,
        [],
      );
    }

    // How many records may be sensitive: those whose tables have sensitive entries. Each is
    // sensitive with a probability that brings the patient's expected share to the target.
    const vitalCount = faker.number.int({ min: 1, max: 2 });
    const labCount = faker.number.int({ min: 1, max: 2 });
    const conditionCount = faker.number.int({ min: 1, max: 2 });
    const medicationCount = faker.number.int({ min: 1, max: 2 });
    const hasAllergy = chance(0.5);
    const total =
      encounterCount +
      1 +
      vitalCount +
      labCount +
      conditionCount +
      medicationCount +
      (hasAllergy ? 1 : 0) +
      4;
    const capable = labCount + conditionCount + medicationCount + 2;
    const sensitiveChance = Math.min(1, (syntheticLimits.sensitiveShareTarget * total) / capable);
    const entry = <T extends CodeEntry>(table: readonly T[]): T => {
      const sensitive = chance(sensitiveChance);
      return pick(table.filter((item) => (item.labels !== undefined) === sensitive));
    };
    const when = () => {
      const encounter = pick(encounters);
      const ms = encounter.startMs + faker.number.int({ min: 0, max: 60 }) * 60_000;
      return { encounter: reference<Encounter>('Encounter', encounter.id), ms };
    };
    const observation = (
      category: 'vital-signs' | 'laboratory' | 'survey',
      code: CodeableConcept,
      at: ReturnType<typeof when>,
      performer: Reference<Practitioner>,
    ): Observation => ({
      resourceType: 'Observation',
      id: hex(),
      status: 'final',
      category: [concept(System.observationCategory, { code: category, display: category })],
      code,
      subject,
      encounter: at.encounter,
      effectiveDateTime: instant(at.ms),
      issued: instant(at.ms + 3_600_000),
      performer: [performer],
    });
    const quantity = (item: QuantityEntry) => ({
      value: faker.number.float({
        min: item.low,
        max: item.high,
        fractionDigits: item.fractionDigits,
      }),
      unit: item.unit,
      system: CodeSystemUrl.ucum,
      code: item.unit,
    });

    // Vital signs: a blood pressure panel and one or two others; never sensitive.
    {
      const at = when();
      const bp = observation(
        'vital-signs',
        concept(CodeSystemUrl.loinc, bloodPressure.panel),
        at,
        clinicianOf(home.id),
      );
      bp.component = [bloodPressure.systolic, bloodPressure.diastolic].map((part) => ({
        code: concept(CodeSystemUrl.loinc, part),
        valueQuantity: {
          value: faker.number.int({ min: part.low, max: part.high }),
          unit: bloodPressure.unit,
          system: CodeSystemUrl.ucum,
          code: bloodPressure.unit,
        },
      }));
      add(bp, home.id, []);
    }
    for (let n = 0; n < vitalCount; n++) {
      const item = pick(vitalSigns);
      const vital = observation(
        'vital-signs',
        concept(CodeSystemUrl.loinc, item),
        when(),
        clinicianOf(home.id),
      );
      vital.valueQuantity = quantity(item);
      add(vital, home.id, []);
    }
    // Laboratory results (quantitative, qualitative, scored questionnaires); some sensitive.
    const reportable: string[] = [];
    for (let n = 0; n < labCount; n++) {
      const sensitive = chance(sensitiveChance);
      const candidates = [...labTests, ...qualitativeTests].filter(
        (item) => (item.labels !== undefined) === sensitive,
      );
      const item = pick(candidates);
      const isScore = 'unit' in item && item.unit === '{score}';
      const result = observation(
        isScore ? 'survey' : 'laboratory',
        concept(CodeSystemUrl.loinc, item),
        when(),
        isScore ? clinicianOf(home.id) : clinicianOf(lab.id),
      );
      if ('unit' in item) result.valueQuantity = quantity(item as QuantityEntry);
      else {
        result.valueCodeableConcept = concept(
          CodeSystemUrl.snomed,
          chance(0.1) ? testAnswers.positive : testAnswers.negative,
        );
      }
      if (!sensitive && !isScore) reportable.push(result.id!);
      add(result, isScore ? home.id : lab.id, item.labels ?? []);
    }
    for (let n = 0; n < conditionCount; n++) {
      const item = entry(conditions);
      const at = when();
      const resolved = item.labels === undefined && chance(0.3);
      const condition: Condition = {
        resourceType: 'Condition',
        id: hex(),
        clinicalStatus: concept(System.conditionClinical, {
          code: resolved ? 'resolved' : 'active',
          display: resolved ? 'Resolved' : 'Active',
        }),
        verificationStatus: concept(System.conditionVerification, {
          code: 'confirmed',
          display: 'Confirmed',
        }),
        category: [
          concept(System.conditionCategory, {
            code: 'encounter-diagnosis',
            display: 'Encounter Diagnosis',
          }),
        ],
        code: {
          coding: [
            { system: CodeSystemUrl.snomed, code: item.code, display: item.display },
            { system: CodeSystemUrl.icd10cm, code: item.icd10.code, display: item.icd10.display },
          ],
        },
        subject,
        encounter: at.encounter,
        onsetDateTime: instant(at.ms),
        recordedDate: instant(at.ms),
        recorder: clinicianOf(home.id),
      };
      if (resolved)
        condition.abatementDateTime = instant(Math.min(at.ms + 30 * dayMs, referenceMs));
      add(condition, home.id, item.labels ?? []);
    }
    for (let n = 0; n < medicationCount; n++) {
      const item = entry(medications);
      const at = when();
      add(
        {
          resourceType: 'MedicationRequest',
          id: hex(),
          status: pick(['active', 'completed'] as const),
          intent: 'order',
          medicationCodeableConcept: concept(CodeSystemUrl.rxnorm, item),
          subject,
          encounter: at.encounter,
          authoredOn: instant(at.ms),
          requester: clinicianOf(home.id),
          dosageInstruction: [{ text: pick(['once daily', 'twice daily', 'as needed']) }],
        },
        home.id,
        item.labels ?? [],
      );
    }
    if (hasAllergy) {
      const item = pick(allergies);
      add(
        {
          resourceType: 'AllergyIntolerance',
          id: hex(),
          clinicalStatus: concept(System.allergyClinical, { code: 'active', display: 'Active' }),
          verificationStatus: concept(System.allergyVerification, {
            code: 'confirmed',
            display: 'Confirmed',
          }),
          type: 'allergy',
          category: [item.category],
          criticality: pick(['low', 'high'] as const),
          code: concept(CodeSystemUrl.snomed, item),
          patient: subject,
          recordedDate: instant(when().ms),
        },
        home.id,
        [],
      );
    }
    {
      const item = pick(vaccines);
      const at = when();
      add(
        {
          resourceType: 'Immunization',
          id: hex(),
          status: 'completed',
          vaccineCode: concept(CodeSystemUrl.cvx, item),
          patient: subject,
          encounter: at.encounter,
          occurrenceDateTime: instant(at.ms),
          primarySource: true,
          lotNumber: faker.string.alphanumeric({ length: 8, casing: 'upper' }),
        },
        home.id,
        [],
      );
    }
    {
      const item = entry(procedures);
      const at = when();
      add(
        {
          resourceType: 'Procedure',
          id: hex(),
          status: 'completed',
          code: concept(CodeSystemUrl.snomed, item),
          subject,
          encounter: at.encounter,
          performedDateTime: instant(at.ms),
          performer: [{ actor: clinicianOf(home.id) }],
        },
        home.id,
        item.labels ?? [],
      );
    }
    {
      // A laboratory report; it lists only results without sensitivity labels, so that it never
      // reveals what its own labels do not say.
      const item = pick(reportTypes);
      const at = when();
      const report: DiagnosticReport = {
        resourceType: 'DiagnosticReport',
        id: hex(),
        status: 'final',
        category: [concept(System.diagnosticService, { code: 'LAB', display: 'Laboratory' })],
        code: concept(CodeSystemUrl.loinc, item),
        subject,
        encounter: at.encounter,
        effectiveDateTime: instant(at.ms),
        issued: instant(at.ms + 4 * 3_600_000),
        performer: [reference<Organization>('Organization', lab.id)],
      };
      if (reportable.length > 0)
        report.result = reportable.map((id) => reference<Observation>('Observation', id));
      add(report, lab.id, []);
    }
    {
      const item = entry(documentTypes);
      const at = when();
      add(
        {
          resourceType: 'DocumentReference',
          id: hex(),
          status: 'current',
          docStatus: 'final',
          type: concept(CodeSystemUrl.loinc, item),
          subject,
          date: instant(at.ms + 3_600_000),
          author: [clinicianOf(home.id)],
          custodian: reference<Organization>('Organization', home.id),
          content: [
            {
              attachment: {
                contentType: 'text/plain',
                language: 'en',
                data: base64(item.text),
                title: item.display,
              },
            },
          ],
          context: { encounter: [at.encounter] },
        },
        home.id,
        item.labels ?? [],
      );
    }

    patients.push({
      pseudonym,
      custodian: home.id,
      resource: patient,
      records,
      suggestedConsents: suggestConsents({
        faker,
        pseudonym,
        home: home.id,
        others: options.organisations.filter((o) => isCare(o.kind) && o.id !== home.id),
        labels: [...new Set(records.flatMap((record) => record.securityLabels))].filter(
          (label): label is SensitivityLabel => label !== 'N' && label !== 'R',
        ),
        referenceMs,
      }),
    });
  }
  return { organisations, practitioners, patients };
}

/**
 * A few consents the patient might grant, as FHIR R4 Consents in the form src/fhir's Consent view
 * maps to `consent.grant` (actor references `Organization/<id>`, role actors by the logical
 * reference `urn:medledger:practitioner-role`): treatment by another organisation, a refusal of
 * the patient's sensitive categories, sometimes research.
 */
function suggestConsents(input: {
  faker: typeof faker;
  pseudonym: string;
  home: string;
  others: readonly OrganisationInput[];
  labels: readonly SensitivityLabel[];
  referenceMs: number;
}): Consent[] {
  const { faker, pseudonym, others, labels } = input;
  const patient = reference<Patient>('Patient', pseudonym);
  const recipient = concept(System.participationType, {
    code: 'IRCP',
    display: 'information recipient',
  });
  const consent = (policyRule: string, provision: ConsentProvision): Consent => ({
    resourceType: 'Consent',
    id: faker.string.hexadecimal({ length: 32, casing: 'lower', prefix: '' }),
    status: 'active',
    scope: concept(System.consentScope, { code: 'patient-privacy', display: 'Privacy Consent' }),
    category: [concept(CodeSystemUrl.loinc, { code: '59284-0', display: 'Patient Consent' })],
    patient,
    dateTime: instant(input.referenceMs),
    performer: [patient],
    policyRule: { coding: [{ system: System.actCode, code: policyRule }] },
    provision,
  });
  const consents: Consent[] = [];
  if (others.length > 0) {
    const other = faker.helpers.arrayElement(others);
    consents.push(
      consent('OPTIN', {
        type: 'permit',
        actor: [{ role: recipient, reference: reference<Organization>('Organization', other.id) }],
        action: [{ coding: [{ system: System.consentAction, code: 'access' }] }],
        purpose: [{ system: System.actReason, code: 'TREAT' }],
      }),
    );
  }
  if (labels.length > 0) {
    consents.push(
      consent('OPTINR', {
        type: 'deny',
        securityLabel: [...labels].sort().map((code) => ({ system: System.actCode, code })),
      }),
    );
  }
  if (faker.number.float({ min: 0, max: 1 }) < 0.3) {
    consents.push(
      consent('OPTIN', {
        type: 'permit',
        actor: [
          {
            role: {
              coding: [{ system: System.practitionerRole, code: PractitionerRoleCode.researcher }],
            },
            reference: {
              type: 'PractitionerRole',
              identifier: {
                system: System.practitionerRole,
                value: PractitionerRoleCode.researcher,
              },
            },
          },
        ],
        purpose: [{ system: System.actReason, code: 'HRESCH' }],
        class: [{ system: System.resourceTypes, code: 'Observation' }],
      }),
    );
  }
  return consents;
}
