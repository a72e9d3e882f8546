/**
 * The patient a resource is about, for authorisation (FHIR R4 compartmentdefinition-patient.html,
 * reduced to the fields of the supported types): a Patient's own id, or the id in a relative
 * `Patient/{id}` reference in `subject` or `patient`.
 */
import type { Resource } from '@medplum/fhirtypes';

import { isFhirId } from './resource-types.ts';

const patientReferencePattern =
  /^Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * The id of the patient in a reference string `Patient/{id}` (optionally versioned), or undefined
 * for any other reference. Absolute URLs are not accepted: a patient on another server is not one
 * whose consent this node holds.
 */
export function patientIdOfReference(reference: unknown): string | undefined {
  if (typeof reference !== 'string') return undefined;
  return patientReferencePattern.exec(reference)?.[1];
}

/**
 * The patient id `resource` is about: `Patient.id`, else `subject` or `patient` when it references
 * a Patient; undefined when it is about no patient (a Group subject, or none).
 */
export function patientReferenceOf(resource: Resource): string | undefined {
  if (resource.resourceType === 'Patient') return isFhirId(resource.id) ? resource.id : undefined;
  const record = resource as unknown as Record<string, unknown>;
  for (const field of ['subject', 'patient']) {
    const value = record[field];
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const id = patientIdOfReference((value as Record<string, unknown>)['reference']);
      if (id !== undefined) return id;
    }
  }
  return undefined;
}
