/**
 * Security labels of a resource (FHIR R4 security-labels.html, `meta.security`): the one
 * confidentiality code (v3-Confidentiality U L M N R V) and the sensitivity codes the consent
 * rules act on (v3-ActCode ETH, HIV, PSY, STD, SDV, GDIS, and the privacy-law code 42CFRPart2),
 * CONVENTIONS.md "Security labels".
 */
import type { Coding, Resource } from '@medplum/fhirtypes';

import { FhirError } from './operation-outcome.ts';

/** v3-Confidentiality (FHIR R4 v3/Confidentiality). */
export const confidentialitySystem = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
/** v3-ActCode (FHIR R4 v3/ActCode). */
export const actCodeSystem = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

/** Confidentiality codes, least to most restrictive. */
export const confidentialityCodes = ['U', 'L', 'M', 'N', 'R', 'V'] as const;
export type ConfidentialityCode = (typeof confidentialityCodes)[number];

/** Sensitivity codes of v3-ActCode that MedLedger acts on, with the 42 CFR Part 2 policy code. */
export const sensitivityCodes = ['ETH', 'HIV', 'PSY', 'STD', 'SDV', 'GDIS', '42CFRPart2'] as const;
export type SensitivityCode = (typeof sensitivityCodes)[number];

/** The labels of one resource. */
export interface SecurityLabels {
  /** Undefined when the resource carries none (the caller's default applies, normally N). */
  readonly confidentiality: ConfidentialityCode | undefined;
  /** Sorted, without duplicates. */
  readonly sensitivity: readonly SensitivityCode[];
  /** Other labels (other systems or codes), kept so they travel with the record. */
  readonly other: readonly Coding[];
}

/**
 * The security labels in `resource.meta.security`. Throws a 400 `FhirError` when more than one
 * confidentiality code is present (a resource has exactly one level, security-labels.html).
 */
export function securityLabelsOf(resource: Resource): SecurityLabels {
  let confidentiality: ConfidentialityCode | undefined;
  const sensitivity = new Set<SensitivityCode>();
  const other: Coding[] = [];
  for (const coding of resource.meta?.security ?? []) {
    const code = coding.code;
    if (
      coding.system === confidentialitySystem &&
      (confidentialityCodes as readonly string[]).includes(code ?? '')
    ) {
      if (confidentiality !== undefined && confidentiality !== code) {
        throw new FhirError(
          'value',
          `expected one confidentiality code in meta.security, found ${confidentiality} and ${code}`,
          { expression: [`${resource.resourceType}.meta.security`] },
        );
      }
      confidentiality = code as ConfidentialityCode;
    } else if (
      coding.system === actCodeSystem &&
      (sensitivityCodes as readonly string[]).includes(code ?? '')
    ) {
      sensitivity.add(code as SensitivityCode);
    } else {
      other.push(coding);
    }
  }
  return {
    confidentiality,
    sensitivity: sensitivityCodes.filter((code) => sensitivity.has(code)),
    other,
  };
}
