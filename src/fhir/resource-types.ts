/**
 * The resource types MedLedger serves under `/fhir` (DESIGN.md "APIs"): ten clinical types with
 * full CRUD and search, and three views of the chain (Consent, AuditEvent, Provenance) that are
 * read and searched here but written by their own rules elsewhere. FHIR R4 resourcelist.html.
 */

/** Types with create, read, vread, update, delete, history and search (FHIR R4 http.html). */
export const clinicalResourceTypes = [
  'Patient',
  'Observation',
  'Condition',
  'Encounter',
  'MedicationRequest',
  'AllergyIntolerance',
  'Immunization',
  'Procedure',
  'DiagnosticReport',
  'DocumentReference',
] as const;

/** Views of the chain: read and search only through this library (DESIGN.md "APIs"). */
export const chainViewResourceTypes = ['Consent', 'AuditEvent', 'Provenance'] as const;

/** Every type the FHIR API serves. */
export const supportedResourceTypes = [
  ...clinicalResourceTypes,
  ...chainViewResourceTypes,
] as const;

export type ClinicalResourceType = (typeof clinicalResourceTypes)[number];
export type ChainViewResourceType = (typeof chainViewResourceTypes)[number];
export type SupportedResourceType = (typeof supportedResourceTypes)[number];

/** True when `type` is one of the thirteen types the API serves. */
export function isSupportedResourceType(type: unknown): type is SupportedResourceType {
  return typeof type === 'string' && (supportedResourceTypes as readonly string[]).includes(type);
}

/** True when `type` may be created, updated and deleted through the FHIR API. */
export function isClinicalResourceType(type: unknown): type is ClinicalResourceType {
  return typeof type === 'string' && (clinicalResourceTypes as readonly string[]).includes(type);
}

const fhirIdPattern = /^[A-Za-z0-9\-.]{1,64}$/;

/** True when `id` is a FHIR id: 1–64 of `A–Z a–z 0–9 - .` (FHIR R4 datatypes.html#id). */
export function isFhirId(id: unknown): id is string {
  return typeof id === 'string' && fhirIdPattern.test(id);
}
