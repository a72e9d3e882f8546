/**
 * Small tables of real clinical codes with their display names, for synthetic records: LOINC
 * (observations with UCUM units, reports, documents), SNOMED CT (conditions, procedures,
 * allergies, encounter types) with ICD-10-CM for conditions, RxNorm (medications) and CVX
 * (vaccines). Entries about sensitive matters carry the labels a custodian would put in
 * `meta.security` (CONVENTIONS.md "Domain resources"): HIV, ETH and 42CFRPart2 for substance use
 * (ICD-10-CM F10–F19), PSY for depression and anxiety, STD. No patient data: codes only.
 */

/** Code systems of the tables (FHIR R4 terminology page). */
export const CodeSystemUrl = {
  loinc: 'http://loinc.org',
  snomed: 'http://snomed.info/sct',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  cvx: 'http://hl7.org/fhir/sid/cvx',
  ucum: 'http://unitsofmeasure.org',
} as const;

/** Sensitivity labels (v3-ActCode) and the 42 CFR Part 2 policy a table entry may carry. */
export type SensitivityLabel = 'HIV' | 'ETH' | 'PSY' | 'STD' | '42CFRPart2';

export interface CodeEntry {
  readonly code: string;
  readonly display: string;
  /** Sensitivity labels of a record about this entry; none for ordinary data. */
  readonly labels?: readonly SensitivityLabel[];
}

/** A quantitative observation: UCUM unit and a plausible range of values. */
export interface QuantityEntry extends CodeEntry {
  readonly unit: string;
  readonly low: number;
  readonly high: number;
  readonly fractionDigits: number;
}

const hiv: readonly SensitivityLabel[] = ['HIV'];
const substanceUse: readonly SensitivityLabel[] = ['ETH', '42CFRPart2'];
const mentalHealth: readonly SensitivityLabel[] = ['PSY'];
const sexualHealth: readonly SensitivityLabel[] = ['STD'];

/** Vital signs (LOINC, FHIR R4 vital signs profile codes) with UCUM units. */
export const vitalSigns: readonly QuantityEntry[] = [
  { code: '8867-4', display: 'Heart rate', unit: '/min', low: 52, high: 110, fractionDigits: 0 },
  {
    code: '9279-1',
    display: 'Respiratory rate',
    unit: '/min',
    low: 11,
    high: 24,
    fractionDigits: 0,
  },
  {
    code: '8310-5',
    display: 'Body temperature',
    unit: 'Cel',
    low: 36.1,
    high: 38.6,
    fractionDigits: 1,
  },
  { code: '8302-2', display: 'Body height', unit: 'cm', low: 150, high: 195, fractionDigits: 1 },
  { code: '29463-7', display: 'Body weight', unit: 'kg', low: 48, high: 120, fractionDigits: 1 },
  {
    code: '39156-5',
    display: 'Body mass index (BMI) [Ratio]',
    unit: 'kg/m2',
    low: 18,
    high: 38,
    fractionDigits: 1,
  },
  {
    code: '59408-5',
    display: 'Oxygen saturation in Arterial blood by Pulse oximetry',
    unit: '%',
    low: 92,
    high: 100,
    fractionDigits: 0,
  },
];

/** The blood pressure panel and its two components (LOINC 85354-9, 8480-6, 8462-4). */
export const bloodPressure = {
  panel: { code: '85354-9', display: 'Blood pressure panel with all children optional' },
  systolic: { code: '8480-6', display: 'Systolic blood pressure', low: 100, high: 165 },
  diastolic: { code: '8462-4', display: 'Diastolic blood pressure', low: 60, high: 100 },
  unit: 'mm[Hg]',
} as const;

/** Laboratory results and scored questionnaires (LOINC) with UCUM units. */
export const labTests: readonly QuantityEntry[] = [
  {
    code: '2345-7',
    display: 'Glucose [Mass/volume] in Serum or Plasma',
    unit: 'mg/dL',
    low: 70,
    high: 180,
    fractionDigits: 0,
  },
  {
    code: '4548-4',
    display: 'Hemoglobin A1c/Hemoglobin.total in Blood',
    unit: '%',
    low: 4.8,
    high: 9.5,
    fractionDigits: 1,
  },
  {
    code: '718-7',
    display: 'Hemoglobin [Mass/volume] in Blood',
    unit: 'g/dL',
    low: 11,
    high: 17,
    fractionDigits: 1,
  },
  {
    code: '6690-2',
    display: 'Leukocytes [#/volume] in Blood by Automated count',
    unit: '10*3/uL',
    low: 3.5,
    high: 11.5,
    fractionDigits: 1,
  },
  {
    code: '777-3',
    display: 'Platelets [#/volume] in Blood by Automated count',
    unit: '10*3/uL',
    low: 140,
    high: 420,
    fractionDigits: 0,
  },
  {
    code: '2160-0',
    display: 'Creatinine [Mass/volume] in Serum or Plasma',
    unit: 'mg/dL',
    low: 0.6,
    high: 1.6,
    fractionDigits: 2,
  },
  {
    code: '2093-3',
    display: 'Cholesterol [Mass/volume] in Serum or Plasma',
    unit: 'mg/dL',
    low: 140,
    high: 280,
    fractionDigits: 0,
  },
  {
    code: '2571-8',
    display: 'Triglyceride [Mass/volume] in Serum or Plasma',
    unit: 'mg/dL',
    low: 60,
    high: 300,
    fractionDigits: 0,
  },
  {
    code: '2085-9',
    display: 'Cholesterol in HDL [Mass/volume] in Serum or Plasma',
    unit: 'mg/dL',
    low: 30,
    high: 90,
    fractionDigits: 0,
  },
  {
    code: '2951-2',
    display: 'Sodium [Moles/volume] in Serum or Plasma',
    unit: 'mmol/L',
    low: 133,
    high: 147,
    fractionDigits: 0,
  },
  {
    code: '2823-3',
    display: 'Potassium [Moles/volume] in Serum or Plasma',
    unit: 'mmol/L',
    low: 3.4,
    high: 5.3,
    fractionDigits: 1,
  },
  {
    code: '3016-3',
    display: 'Thyrotropin [Units/volume] in Serum or Plasma',
    unit: 'm[IU]/L',
    low: 0.4,
    high: 6,
    fractionDigits: 2,
  },
  {
    code: '1742-6',
    display: 'Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma',
    unit: 'U/L',
    low: 8,
    high: 70,
    fractionDigits: 0,
  },
  {
    code: '20447-9',
    display: 'HIV 1 RNA [#/volume] (viral load) in Serum or Plasma by NAA with probe detection',
    unit: '{copies}/mL',
    low: 20,
    high: 50000,
    fractionDigits: 0,
    labels: hiv,
  },
  {
    code: '44261-6',
    display: 'Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]',
    unit: '{score}',
    low: 0,
    high: 27,
    fractionDigits: 0,
    labels: mentalHealth,
  },
  {
    code: '70274-6',
    display: 'Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]',
    unit: '{score}',
    low: 0,
    high: 21,
    fractionDigits: 0,
    labels: mentalHealth,
  },
  {
    code: '75626-2',
    display: 'Total score [AUDIT-C]',
    unit: '{score}',
    low: 0,
    high: 12,
    fractionDigits: 0,
    labels: substanceUse,
  },
];

/** Qualitative tests, answered with SNOMED CT 260385009 Negative or 10828004 Positive. */
export const qualitativeTests: readonly CodeEntry[] = [
  {
    code: '75622-1',
    display: 'HIV 1 and 2 Ab and HIV1 p24 Ag [Presence] in Serum or Plasma by Immunoassay',
    labels: hiv,
  },
  { code: '5292-8', display: 'Reagin Ab [Presence] in Serum by VDRL', labels: sexualHealth },
  {
    code: '21613-5',
    display:
      'Chlamydia trachomatis DNA [Presence] in Unspecified specimen by NAA with probe detection',
    labels: sexualHealth,
  },
];

/** SNOMED CT findings for the answer of a qualitative test. */
export const testAnswers = {
  negative: { code: '260385009', display: 'Negative' },
  positive: { code: '10828004', display: 'Positive' },
} as const;

/** A condition: SNOMED CT with its ICD-10-CM code. */
export interface ConditionEntry extends CodeEntry {
  readonly icd10: { readonly code: string; readonly display: string };
}

export const conditions: readonly ConditionEntry[] = [
  {
    code: '38341003',
    display: 'Hypertensive disorder, systemic arterial (disorder)',
    icd10: { code: 'I10', display: 'Essential (primary) hypertension' },
  },
  {
    code: '44054006',
    display: 'Diabetes mellitus type 2 (disorder)',
    icd10: { code: 'E11.9', display: 'Type 2 diabetes mellitus without complications' },
  },
  {
    code: '195967001',
    display: 'Asthma (disorder)',
    icd10: { code: 'J45.909', display: 'Unspecified asthma, uncomplicated' },
  },
  {
    code: '13645005',
    display: 'Chronic obstructive lung disease (disorder)',
    icd10: { code: 'J44.9', display: 'Chronic obstructive pulmonary disease, unspecified' },
  },
  {
    code: '55822004',
    display: 'Hyperlipidemia (disorder)',
    icd10: { code: 'E78.5', display: 'Hyperlipidemia, unspecified' },
  },
  {
    code: '10509002',
    display: 'Acute bronchitis (disorder)',
    icd10: { code: 'J20.9', display: 'Acute bronchitis, unspecified' },
  },
  {
    code: '68566005',
    display: 'Urinary tract infectious disease (disorder)',
    icd10: { code: 'N39.0', display: 'Urinary tract infection, site not specified' },
  },
  {
    code: '40930008',
    display: 'Hypothyroidism (disorder)',
    icd10: { code: 'E03.9', display: 'Hypothyroidism, unspecified' },
  },
  {
    code: '396275006',
    display: 'Osteoarthritis (disorder)',
    icd10: { code: 'M19.90', display: 'Unspecified osteoarthritis, unspecified site' },
  },
  {
    code: '195662009',
    display: 'Acute viral pharyngitis (disorder)',
    icd10: { code: 'J02.9', display: 'Acute pharyngitis, unspecified' },
  },
  {
    code: '49436004',
    display: 'Atrial fibrillation (disorder)',
    icd10: { code: 'I48.91', display: 'Unspecified atrial fibrillation' },
  },
  {
    code: '84114007',
    display: 'Heart failure (disorder)',
    icd10: { code: 'I50.9', display: 'Heart failure, unspecified' },
  },
  {
    code: '709044004',
    display: 'Chronic kidney disease (disorder)',
    icd10: { code: 'N18.9', display: 'Chronic kidney disease, unspecified' },
  },
  {
    code: '35489007',
    display: 'Depressive disorder (disorder)',
    icd10: { code: 'F32.A', display: 'Depression, unspecified' },
    labels: mentalHealth,
  },
  {
    code: '370143000',
    display: 'Major depressive disorder (disorder)',
    icd10: { code: 'F32.9', display: 'Major depressive disorder, single episode, unspecified' },
    labels: mentalHealth,
  },
  {
    code: '197480006',
    display: 'Anxiety disorder (disorder)',
    icd10: { code: 'F41.9', display: 'Anxiety disorder, unspecified' },
    labels: mentalHealth,
  },
  {
    code: '86406008',
    display: 'Human immunodeficiency virus infection (disorder)',
    icd10: { code: 'B20', display: 'Human immunodeficiency virus [HIV] disease' },
    labels: hiv,
  },
  {
    code: '7200002',
    display: 'Alcoholism (disorder)',
    icd10: { code: 'F10.20', display: 'Alcohol dependence, uncomplicated' },
    labels: substanceUse,
  },
  {
    code: '5602001',
    display: 'Opioid abuse (disorder)',
    icd10: { code: 'F11.10', display: 'Opioid abuse, uncomplicated' },
    labels: substanceUse,
  },
  {
    code: '37344009',
    display: 'Cannabis abuse (disorder)',
    icd10: { code: 'F12.10', display: 'Cannabis abuse, uncomplicated' },
    labels: substanceUse,
  },
  {
    code: '76272004',
    display: 'Syphilis (disorder)',
    icd10: { code: 'A53.9', display: 'Syphilis, unspecified' },
    labels: sexualHealth,
  },
  {
    code: '105629000',
    display: 'Chlamydial infection (disorder)',
    icd10: { code: 'A74.9', display: 'Chlamydial infection, unspecified' },
    labels: sexualHealth,
  },
  {
    code: '15628003',
    display: 'Gonorrhea (disorder)',
    icd10: { code: 'A54.9', display: 'Gonococcal infection, unspecified' },
    labels: sexualHealth,
  },
];

/** Medications (RxNorm clinical drugs). */
export const medications: readonly CodeEntry[] = [
  { code: '314076', display: 'lisinopril 10 MG Oral Tablet' },
  { code: '860975', display: '24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet' },
  { code: '197361', display: 'amlodipine 5 MG Oral Tablet' },
  { code: '259255', display: 'atorvastatin 80 MG Oral Tablet' },
  { code: '313782', display: 'acetaminophen 325 MG Oral Tablet' },
  { code: '310965', display: 'ibuprofen 200 MG Oral Tablet' },
  { code: '308182', display: 'amoxicillin 250 MG Oral Capsule' },
  {
    code: '895994',
    display: '120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler',
  },
  { code: '745679', display: '200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler' },
  { code: '966222', display: 'levothyroxine sodium 0.075 MG Oral Tablet' },
  { code: '855332', display: 'warfarin sodium 5 MG Oral Tablet' },
  { code: '309362', display: 'clopidogrel 75 MG Oral Tablet' },
  { code: '310798', display: 'hydrochlorothiazide 25 MG Oral Tablet' },
  { code: '312938', display: 'sertraline 100 MG Oral Tablet', labels: mentalHealth },
  { code: '310385', display: 'fluoxetine 20 MG Oral Capsule', labels: mentalHealth },
  {
    code: '1010600',
    display: 'buprenorphine 2 MG / naloxone 0.5 MG Sublingual Film',
    labels: substanceUse,
  },
  {
    code: '643070',
    display:
      'efavirenz 600 MG / emtricitabine 200 MG / tenofovir disoproxil fumarate 300 MG Oral Tablet',
    labels: hiv,
  },
];

/** Allergies and intolerances (SNOMED CT substances) with their FHIR category. */
export interface AllergyEntry extends CodeEntry {
  readonly category: 'food' | 'medication' | 'environment';
}

export const allergies: readonly AllergyEntry[] = [
  { code: '762952008', display: 'Peanut (substance)', category: 'food' },
  { code: '227493005', display: 'Cashew nut (substance)', category: 'food' },
  { code: '102263004', display: 'Eggs (edible) (substance)', category: 'food' },
  { code: '3718001', display: "Cow's milk (substance)", category: 'food' },
  { code: '256277009', display: 'Grass pollen (substance)', category: 'environment' },
  { code: '264287008', display: 'Animal dander (substance)', category: 'environment' },
  { code: '260147004', display: 'House dust mite (organism)', category: 'environment' },
  { code: '111088007', display: 'Latex (substance)', category: 'environment' },
  { code: '288328004', display: 'Bee venom (substance)', category: 'environment' },
  { code: '764146007', display: 'Penicillin (substance)', category: 'medication' },
  { code: '387406002', display: 'Sulfonamide (substance)', category: 'medication' },
  { code: '387458008', display: 'Aspirin (substance)', category: 'medication' },
  { code: '387207008', display: 'Ibuprofen (substance)', category: 'medication' },
  { code: '372687004', display: 'Amoxicillin (substance)', category: 'medication' },
  { code: '387517004', display: 'Paracetamol (substance)', category: 'medication' },
];

/** Vaccines (CDC CVX). */
export const vaccines: readonly CodeEntry[] = [
  { code: '08', display: 'Hep B, adolescent or pediatric' },
  { code: '43', display: 'Hep B, adult' },
  { code: '83', display: 'Hep A, ped/adol, 2 dose' },
  { code: '140', display: 'Influenza, seasonal, injectable, preservative free' },
  { code: '141', display: 'Influenza, seasonal, injectable' },
  { code: '113', display: 'Td (adult) preservative free' },
  { code: '115', display: 'Tdap' },
  { code: '20', display: 'DTaP' },
  { code: '10', display: 'IPV' },
  { code: '03', display: 'MMR' },
  { code: '21', display: 'varicella' },
  { code: '133', display: 'Pneumococcal conjugate PCV 13' },
  { code: '33', display: 'pneumococcal polysaccharide PPV23' },
  { code: '62', display: 'HPV, quadrivalent' },
  { code: '187', display: 'zoster recombinant' },
  { code: '208', display: 'COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose' },
];

/** Procedures (SNOMED CT). */
export const procedures: readonly CodeEntry[] = [
  { code: '73761001', display: 'Colonoscopy (procedure)' },
  { code: '80146002', display: 'Excision of appendix (procedure)' },
  { code: '430193006', display: 'Medication reconciliation (procedure)' },
  { code: '76601001', display: 'Intramuscular injection (procedure)' },
  { code: '23426006', display: 'Measurement of respiratory function (procedure)' },
  { code: '252160004', display: 'Standard pregnancy test (procedure)' },
  { code: '609588000', display: 'Total knee replacement (procedure)' },
  { code: '29303009', display: 'Electrocardiographic procedure (procedure)' },
  { code: '399208008', display: 'Plain X-ray of chest (procedure)' },
  { code: '11466000', display: 'Cesarean section (procedure)' },
  { code: '65200003', display: 'Insertion of intrauterine contraceptive device (procedure)' },
  { code: '274031008', display: 'Rectal polypectomy (procedure)' },
  { code: '171207006', display: 'Depression screening (procedure)', labels: mentalHealth },
  { code: '710841007', display: 'Assessment of anxiety (procedure)', labels: mentalHealth },
  {
    code: '228557008',
    display: 'Cognitive and behavioral therapy (regime/therapy)',
    labels: mentalHealth,
  },
  {
    code: '428211000124100',
    display: 'Assessment of substance use (procedure)',
    labels: substanceUse,
  },
];

/** Encounter types (SNOMED CT) with their FHIR R4 Encounter.class (v3-ActCode). */
export interface EncounterEntry extends CodeEntry {
  readonly class: 'AMB' | 'EMER' | 'IMP';
}

export const encounterTypes: readonly EncounterEntry[] = [
  { code: '185349003', display: 'Encounter for check up (procedure)', class: 'AMB' },
  { code: '162673000', display: 'General examination of patient (procedure)', class: 'AMB' },
  { code: '185345009', display: 'Encounter for symptom (procedure)', class: 'AMB' },
  { code: '390906007', display: 'Follow-up encounter (procedure)', class: 'AMB' },
  { code: '698314001', display: 'Consultation for treatment (procedure)', class: 'AMB' },
  { code: '50849002', display: 'Emergency room admission (procedure)', class: 'EMER' },
  { code: '183452005', display: 'Emergency hospital admission (procedure)', class: 'IMP' },
  { code: '32485007', display: 'Hospital admission (procedure)', class: 'IMP' },
];

/** Laboratory reports (LOINC panels). */
export const reportTypes: readonly CodeEntry[] = [
  { code: '58410-2', display: 'CBC panel - Blood by Automated count' },
  { code: '24323-8', display: 'Comprehensive metabolic 2000 panel - Serum or Plasma' },
  { code: '51990-0', display: 'Basic metabolic panel - Blood' },
  { code: '57698-3', display: 'Lipid panel with direct LDL - Serum or Plasma' },
  { code: '24357-6', display: 'Urinalysis macro (dipstick) panel - Urine' },
];

/** Clinical notes (LOINC document types), with the synthetic text the note carries. */
export interface DocumentEntry extends CodeEntry {
  readonly text: string;
}

export const documentTypes: readonly DocumentEntry[] = [
  {
    code: '11506-3',
    display: 'Progress note',
    text: 'Synthetic progress note. Patient seen for routine follow-up; no acute complaints.',
  },
  {
    code: '18842-5',
    display: 'Discharge summary',
    text: 'Synthetic discharge summary. Admitted for observation, discharged home in stable condition.',
  },
  {
    code: '11488-4',
    display: 'Consult note',
    text: 'Synthetic consult note. Findings discussed with the referring clinician.',
  },
  {
    code: '34117-2',
    display: 'History and physical note',
    text: 'Synthetic history and physical. Examination unremarkable.',
  },
  {
    code: '11506-3',
    display: 'Progress note',
    text: 'Synthetic behavioural health progress note. Mood follow-up; continue current plan.',
    labels: mentalHealth,
  },
  {
    code: '11506-3',
    display: 'Progress note',
    text: 'Synthetic substance use treatment note. Attending counselling; continue programme.',
    labels: substanceUse,
  },
];
