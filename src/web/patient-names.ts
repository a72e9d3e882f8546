/**
 * The patient portal's words for the chain's codes: resource types, purposes of use (v3-ActReason),
 * sensitivity and confidentiality labels (v3-ActCode, v3-Confidentiality), decision reasons
 * (contracts' decision 0023), audit actions, and the names of organisations and people as the
 * demo lists them (`GET /auth/demo/users`).
 */
import type { DemoSignInUser } from './types.ts';

/** The clinical resource types a patient's records come in (src/fhir's supported types). */
export const recordTypes = [
  'Encounter',
  'Condition',
  'Observation',
  'DiagnosticReport',
  'Procedure',
  'MedicationRequest',
  'Immunization',
  'AllergyIntolerance',
  'DocumentReference',
] as const;
export type RecordType = (typeof recordTypes)[number];

/** Each type in plain words: singular, plural. */
const recordTypeWords: Readonly<Record<RecordType, { one: string; many: string }>> = {
  Encounter: { one: 'Visit', many: 'Visits' },
  Condition: { one: 'Diagnosis', many: 'Diagnoses' },
  Observation: { one: 'Test result or measurement', many: 'Test results and measurements' },
  DiagnosticReport: { one: 'Report', many: 'Reports' },
  Procedure: { one: 'Procedure', many: 'Procedures' },
  MedicationRequest: { one: 'Prescription', many: 'Prescriptions' },
  Immunization: { one: 'Vaccination', many: 'Vaccinations' },
  AllergyIntolerance: { one: 'Allergy', many: 'Allergies' },
  DocumentReference: { one: 'Document or note', many: 'Documents and notes' },
};

export function isRecordType(type: string): type is RecordType {
  return (recordTypes as readonly string[]).includes(type);
}

/** `Encounter` → "Visit"; an unknown type is shown as it is. */
export function recordTypeName(type: string, plural = false): string {
  if (!isRecordType(type)) return type;
  return plural ? recordTypeWords[type].many : recordTypeWords[type].one;
}

/** Purposes of use a patient chooses from when granting (v3-ActReason), in plain words. */
export const grantPurposes = [
  { code: 'TREAT', words: 'your treatment and care' },
  { code: 'HPAYMT', words: 'payment and insurance claims' },
  { code: 'HOPERAT', words: 'running the health service (operations)' },
  { code: 'HRESCH', words: 'health research' },
  { code: 'PUBHLTH', words: 'public health' },
] as const;

const purposeWords: Readonly<Record<string, string>> = {
  ...Object.fromEntries(grantPurposes.map((purpose) => [purpose.code, purpose.words])),
  BTG: 'an emergency (break-glass)',
  ETREAT: 'emergency treatment (break-glass)',
  CAREMGT: 'care management',
  CLINTRCH: 'clinical trial research',
  COVERAGE: 'checking insurance coverage',
  HMARKT: 'marketing',
  HQUALIMP: 'quality improvement',
  PATRQT: 'your own request',
  TRAIN: 'training',
};

/** `TREAT` → "your treatment and care"; an unknown code is shown with its code. */
export function purposeName(code: string): string {
  return purposeWords[code] ?? `purpose ${code}`;
}

/** Break-glass purposes of use (contracts' `breakGlassPurposes`). */
export function isBreakGlassPurpose(code: string): boolean {
  return code === 'BTG' || code === 'ETREAT';
}

/**
 * The sensitive categories a patient may include in a grant (CONVENTIONS.md "Domain resources";
 * the network's default sensitive labels), in plain words.
 */
export const sensitiveCategories = [
  { code: 'PSY', words: 'Mental health' },
  { code: 'ETH', words: 'Substance use (alcohol, drugs)' },
  { code: '42CFRPart2', words: 'Substance-use treatment records (42 CFR Part 2)' },
  { code: 'HIV', words: 'HIV and AIDS' },
  { code: 'STD', words: 'Sexually transmitted infections' },
  { code: 'SDV', words: 'Sexual and domestic violence' },
  { code: 'GDIS', words: 'Genetic information' },
] as const;

/** Confidentiality codes a sensitive record usually also carries (v3-Confidentiality). */
export const restrictedLabels = [
  { code: 'R', words: 'Records marked restricted' },
  { code: 'V', words: 'Records marked very restricted' },
] as const;

const labelWords: Readonly<Record<string, string>> = {
  ...Object.fromEntries(sensitiveCategories.map((label) => [label.code, label.words])),
  R: 'restricted',
  V: 'very restricted',
  N: 'normal',
  M: 'moderate',
  L: 'low',
  U: 'unrestricted',
};

/** `PSY` → "Mental health"; an unknown code is shown with its code. */
export function labelName(code: string): string {
  return labelWords[code] ?? `label ${code}`;
}

const labelTopics: Readonly<Record<string, string>> = {
  PSY: 'mental health',
  ETH: 'substance use',
  '42CFRPart2': 'substance-use treatment (42 CFR Part 2)',
  HIV: 'HIV and AIDS',
  STD: 'sexually transmitted infections',
  SDV: 'sexual and domestic violence',
  GDIS: 'genetic information',
};

/** `PSY` → "mental health": a label as the topic of records ("your records about …"). */
export function labelTopic(code: string): string | null {
  return labelTopics[code] ?? null;
}

/** Whether a security label is one the network treats as sensitive (needs explicit consent). */
export function isSensitiveLabel(code: string): boolean {
  return code === 'R' || code === 'V' || sensitiveCategories.some((label) => label.code === code);
}

/** Why access was allowed or refused (contracts' `DecisionReason`), in plain words. */
const reasonWords: Readonly<Record<string, string>> = {
  'unknown-patient': 'the patient is not known on the network',
  'unknown-requester': 'the person or system asking is not registered',
  'unknown-record': 'no such record',
  'record-of-another-patient': 'the record belongs to someone else',
  'record-erased': 'the record was erased',
  'patient-self': 'you, looking at your own records',
  'break-glass': 'emergency access (break-glass), flagged for review',
  'break-glass-not-open': 'emergency access was asked for without an open break-glass',
  'break-glass-refused': 'your consent refuses emergency access for this',
  'consent-deny': 'one of your consents refuses it',
  'custodian-own-record': 'the organisation that holds the record',
  'consent-permit': 'one of your consents allows it',
  'sensitive-label-not-named': 'the record is sensitive and your consent does not include it',
  'sensitive-needs-consent': 'the record is sensitive and needs your explicit consent',
  'default-opt-out': 'the network default (you did not opt out)',
  'default-purpose-not-covered': 'the network default does not cover this purpose',
  'default-opt-in': 'you have not given consent',
};

export function reasonName(code: string): string {
  return reasonWords[code] ?? code;
}

/** What an audited action did (contracts' `auditActions`): done, and only tried (refused). */
const actionWords: Readonly<Record<string, { done: string; tried: string }>> = {
  create: { done: 'added', tried: 'tried to add' },
  read: { done: 'opened', tried: 'tried to open' },
  vread: { done: 'opened a version of', tried: 'tried to open a version of' },
  update: { done: 'changed', tried: 'tried to change' },
  patch: { done: 'changed', tried: 'tried to change' },
  delete: { done: 'deleted', tried: 'tried to delete' },
  history: { done: 'looked at the history of', tried: 'tried to look at the history of' },
  search: { done: 'searched', tried: 'tried to search' },
  disclose: { done: 'was sent', tried: 'was refused' },
};

/** `read` → "opened" (or "tried to open" when refused). */
export function actionName(action: string, refused: boolean): string {
  const words = actionWords[action];
  if (words === undefined) return refused ? `was refused to ${action}` : action;
  return refused ? words.tried : words.done;
}

/** Who is who in this demo network: organisations and practitioners by id. */
export interface Directory {
  /** Organisation ids, sorted. */
  readonly organisations: readonly string[];
  /** Practitioners: `orgId/localId` → the user. */
  readonly practitioners: ReadonlyMap<string, DemoSignInUser>;
  /** Role codes practitioners hold, sorted. */
  readonly roles: readonly string[];
}

export function directoryOf(users: readonly DemoSignInUser[]): Directory {
  const practitioners = new Map<string, DemoSignInUser>();
  const organisations = new Set<string>();
  const roles = new Set<string>();
  for (const user of users) {
    organisations.add(user.orgId);
    if (user.kind !== 'practitioner') continue;
    practitioners.set(`${user.orgId}/${user.id}`, user);
    for (const role of user.roles) roles.add(role);
  }
  return {
    organisations: [...organisations].sort(),
    practitioners,
    roles: [...roles].sort(),
  };
}

/** `st-mary-hospital` → "St Mary Hospital" (the chain holds ids, not names). */
export function organisationName(orgId: string): string {
  return orgId
    .split(/[-_.]/)
    .filter((part) => part.length > 0)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join(' ');
}

const roleWords: Readonly<Record<string, string>> = {
  doctor: 'doctors',
  nurse: 'nurses',
  'lab-technician': 'laboratory technicians',
  researcher: 'researchers',
  claims: 'insurance claims reviewers',
  'break-glass': 'emergency clinicians (break-glass role)',
  'privacy-officer': 'privacy officers',
};

/** `doctor` → "doctors" (a role code as the people who hold it). */
export function roleName(role: string): string {
  return roleWords[role] ?? `people with the role ${role}`;
}

/** A practitioner (`orgId/localId`) by name when the directory knows them. */
export function practitionerName(directory: Directory | undefined, id: string): string {
  const user = directory?.practitioners.get(id);
  const [orgId = '', localId = ''] = id.split('/');
  if (user === undefined) return `${localId || id} of ${organisationName(orgId)}`;
  return `${user.displayName} (${organisationName(orgId)})`;
}
