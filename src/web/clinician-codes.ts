/**
 * The codes a clinician writes with: vital signs (LOINC, the FHIR R4 vital signs profile, UCUM
 * units) and clinical note types (LOINC document types), the same small tables the demo's
 * synthetic records use (src/synthetic/code-tables.ts; web may not import synthetic, so the few
 * entries are repeated here). Codes only, no patient data.
 */

/** Code systems (FHIR R4 terminologies.html). */
export const CodeSystem = {
  loinc: 'http://loinc.org',
  ucum: 'http://unitsofmeasure.org',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  confidentiality: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
} as const;

/** A vital sign: its LOINC code, a name people use, the UCUM unit and a plausible range. */
export interface VitalSign {
  readonly code: string;
  readonly display: string;
  /** UCUM code, also shown. */
  readonly unit: string;
  /** How the unit reads on screen. */
  readonly unitLabel: string;
  readonly min: number;
  readonly max: number;
  /** Input step: 1 for whole numbers, 0.1 for one decimal. */
  readonly step: number;
}

export const vitalSigns: readonly VitalSign[] = [
  {
    code: '8867-4',
    display: 'Heart rate',
    unit: '/min',
    unitLabel: 'beats per minute',
    min: 20,
    max: 250,
    step: 1,
  },
  {
    code: '9279-1',
    display: 'Respiratory rate',
    unit: '/min',
    unitLabel: 'breaths per minute',
    min: 4,
    max: 60,
    step: 1,
  },
  {
    code: '8310-5',
    display: 'Body temperature',
    unit: 'Cel',
    unitLabel: '°C',
    min: 30,
    max: 45,
    step: 0.1,
  },
  {
    code: '59408-5',
    display: 'Oxygen saturation (pulse oximetry)',
    unit: '%',
    unitLabel: '%',
    min: 50,
    max: 100,
    step: 1,
  },
  {
    code: '8480-6',
    display: 'Systolic blood pressure',
    unit: 'mm[Hg]',
    unitLabel: 'mmHg',
    min: 40,
    max: 300,
    step: 1,
  },
  {
    code: '8462-4',
    display: 'Diastolic blood pressure',
    unit: 'mm[Hg]',
    unitLabel: 'mmHg',
    min: 20,
    max: 200,
    step: 1,
  },
  {
    code: '29463-7',
    display: 'Body weight',
    unit: 'kg',
    unitLabel: 'kg',
    min: 0.5,
    max: 400,
    step: 0.1,
  },
  {
    code: '8302-2',
    display: 'Body height',
    unit: 'cm',
    unitLabel: 'cm',
    min: 20,
    max: 250,
    step: 0.1,
  },
];

/** A clinical note type (LOINC document ontology). */
export interface NoteType {
  readonly code: string;
  readonly display: string;
}

export const noteTypes: readonly NoteType[] = [
  { code: '11506-3', display: 'Progress note' },
  { code: '11488-4', display: 'Consult note' },
  { code: '34117-2', display: 'History and physical note' },
  { code: '18842-5', display: 'Discharge summary' },
];

/** Sensitivity labels (v3-ActCode) a note may carry, as people read them. */
export const noteSensitivities: ReadonlyArray<{ code: string; display: string }> = [
  { code: 'PSY', display: 'Mental health' },
  { code: 'HIV', display: 'HIV' },
  { code: 'STD', display: 'Sexually transmitted disease' },
];
