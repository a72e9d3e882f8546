/** Bounds and defaults of the synthetic population generator (STYLE.md "Limits"). */
export const syntheticLimits = {
  /** Most patients one call generates. */
  patientCountMax: 10_000,
  /** Most organisations (the consortium's member bound). */
  organisationsMax: 150,
  /** Longest organisation id, in characters: `<orgId>--<practitionerId>` must stay a FHIR id (64). */
  organisationIdCharsMax: 48,
  /** Longest organisation name, in characters. */
  organisationNameCharsMax: 200,
  /** Share of a patient's records that carry a sensitivity label, as a target (CONVENTIONS). */
  sensitiveShareTarget: 0.2,
  /** Years of history before the reference date that records fall in. */
  historyYears: 5,
} as const;

/** The reference date when none is given: records fall before it, ages are counted at it. */
export const defaultReferenceDate = '2025-01-01T00:00:00.000Z';
