/**
 * Reading FHIR R4 resources for people: a patient's name, what a record is about, its value and
 * date, its security labels; the text of a note (a DocumentReference attachment, base64); the
 * reason code inside a denial (records-service's `access denied (<reason>): …`); and the expiry
 * of a bearer token (its `exp` claim, RFC 7519), which bounds a break-glass session.
 */
import type {
  Bundle,
  CodeableConcept,
  DocumentReference,
  HumanName,
  OperationOutcome,
  Patient,
  Quantity,
  Resource,
} from '@medplum/fhirtypes';

/** A 32-hex-digit patient pseudonym (the FHIR Patient id on MedLedger). */
export const pseudonymPattern = /^[0-9a-f]{32}$/;

/** `Given Family`, or the pseudonym's first digits when the record holds no name. */
export function patientName(patient: Patient | undefined, id?: string): string {
  const name: HumanName | undefined =
    patient?.name?.find((candidate) => candidate.use === 'official') ?? patient?.name?.[0];
  const text = name?.text ?? [...(name?.given ?? []), name?.family ?? ''].join(' ').trim();
  if (text !== undefined && text.length > 0) return text;
  return `Patient ${(patient?.id ?? id ?? '').slice(0, 8)}…`;
}

/** The organisation id of `Organization/<id>` (a Patient's managing organisation). */
export function organisationOf(patient: Patient | undefined): string | null {
  const reference = patient?.managingOrganization?.reference ?? '';
  return reference.startsWith('Organization/') ? reference.slice('Organization/'.length) : null;
}

/** A CodeableConcept as words: its text, else the first coding's display, else its code. */
export function conceptText(concept: CodeableConcept | undefined): string {
  if (concept === undefined) return '';
  if (concept.text !== undefined && concept.text.length > 0) return concept.text;
  const coding = concept.coding?.find((candidate) => candidate.display !== undefined);
  return coding?.display ?? concept.coding?.[0]?.code ?? '';
}

function quantityText(quantity: Quantity | undefined): string {
  if (quantity?.value === undefined) return '';
  const unit = quantity.unit ?? quantity.code ?? '';
  return `${quantity.value}${unit === '' ? '' : ` ${unit}`}`;
}

/** The decoded text of a base64 attachment (UTF-8), or null when it is not text. */
export function attachmentText(data: string | undefined, contentType?: string): string | null {
  if (data === undefined) return null;
  if (contentType !== undefined && !contentType.startsWith('text/')) return null;
  try {
    const binary = atob(data);
    const bytes = Uint8Array.from(binary, (character) => character.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** Base64 of the UTF-8 bytes of `text` (FHIR Attachment.data). */
export function base64OfText(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** What one record shows in a list: a title, a value or detail line, a date. */
export interface RecordSummary {
  readonly title: string;
  readonly detail: string;
  /** An ISO date-time or date, for sorting and display; '' when the record has none. */
  readonly when: string;
  /** The note's text, for DocumentReferences that carry text. */
  readonly text: string | null;
}

type AnyRecord = Resource & Record<string, unknown>;

function field<T>(resource: AnyRecord, name: string): T | undefined {
  return resource[name] as T | undefined;
}

/** A summary of a clinical record of any supported type. */
export function summarise(resource: Resource): RecordSummary {
  const record = resource as AnyRecord;
  const concept = (name: string) => conceptText(field<CodeableConcept>(record, name));
  const firstConcept = (name: string) => conceptText(field<CodeableConcept[]>(record, name)?.[0]);
  const period = field<{ start?: string }>(record, 'period');
  // The supported clinical types (src/fhir); anything else shows its type only.
  const type: string = resource.resourceType;
  switch (type) {
    case 'Observation': {
      const components = field<Array<{ code: CodeableConcept; valueQuantity?: Quantity }>>(
        record,
        'component',
      );
      let value =
        quantityText(field<Quantity>(record, 'valueQuantity')) ||
        (field<string>(record, 'valueString') ?? '') ||
        concept('valueCodeableConcept');
      if (value === '' && components !== undefined) {
        value = components
          .map((part) => `${conceptText(part.code)} ${quantityText(part.valueQuantity)}`)
          .join(', ');
      }
      return {
        title: concept('code'),
        detail: value,
        when: field<string>(record, 'effectiveDateTime') ?? field<string>(record, 'issued') ?? '',
        text: null,
      };
    }
    case 'Condition':
      return {
        title: concept('code'),
        detail: concept('clinicalStatus'),
        when: field<string>(record, 'onsetDateTime') ?? field<string>(record, 'recordedDate') ?? '',
        text: null,
      };
    case 'Encounter':
      return {
        title: firstConcept('type') || 'Encounter',
        detail: field<string>(record, 'status') ?? '',
        when: period?.start ?? '',
        text: null,
      };
    case 'MedicationRequest':
      return {
        title: concept('medicationCodeableConcept'),
        detail: field<string>(record, 'status') ?? '',
        when: field<string>(record, 'authoredOn') ?? '',
        text: null,
      };
    case 'AllergyIntolerance':
      return {
        title: concept('code'),
        detail: [field<string>(record, 'criticality'), concept('clinicalStatus')]
          .filter((part) => part !== undefined && part !== '')
          .join(', '),
        when: field<string>(record, 'recordedDate') ?? '',
        text: null,
      };
    case 'Immunization':
      return {
        title: concept('vaccineCode'),
        detail: field<string>(record, 'status') ?? '',
        when: field<string>(record, 'occurrenceDateTime') ?? '',
        text: null,
      };
    case 'Procedure':
      return {
        title: concept('code'),
        detail: field<string>(record, 'status') ?? '',
        when:
          field<string>(record, 'performedDateTime') ??
          field<{ start?: string }>(record, 'performedPeriod')?.start ??
          '',
        text: null,
      };
    case 'DiagnosticReport':
      return {
        title: concept('code'),
        detail: field<string>(record, 'status') ?? '',
        when: field<string>(record, 'effectiveDateTime') ?? field<string>(record, 'issued') ?? '',
        text: null,
      };
    case 'DocumentReference': {
      const document = resource as DocumentReference;
      const attachment = document.content[0]?.attachment;
      return {
        title: conceptText(document.type) || attachment?.title || 'Note',
        detail: document.author?.map((author) => author.display ?? '').join(', ') ?? '',
        when: document.date ?? '',
        text: attachmentText(attachment?.data, attachment?.contentType),
      };
    }
    default:
      return { title: resource.resourceType, detail: '', when: '', text: null };
  }
}

/** Security labels of a record other than normal confidentiality: `R`, `V`, `PSY`, … */
export function notableLabels(resource: Resource): string[] {
  return (resource.meta?.security ?? [])
    .map((coding) => coding.code ?? '')
    .filter((code) => code !== '' && code !== 'N' && code !== 'U' && code !== 'L' && code !== 'M');
}

/** Words for a security label code. */
export function labelText(code: string): string {
  const words: Record<string, string> = {
    R: 'Restricted',
    V: 'Very restricted',
    PSY: 'Mental health',
    ETH: 'Substance use',
    HIV: 'HIV',
    STD: 'Sexual health',
    SDV: 'Sexual violence',
    GDIS: 'Genetic',
    '42CFRPart2': '42 CFR Part 2',
  };
  return words[code] ?? code;
}

/** The resources of a searchset Bundle (`search.mode` match) and its outcome issues. */
export function entriesOf(bundle: Bundle | undefined): {
  resources: Resource[];
  issues: NonNullable<OperationOutcome['issue']>;
} {
  const resources: Resource[] = [];
  const issues: NonNullable<OperationOutcome['issue']> = [];
  for (const entry of bundle?.entry ?? []) {
    const resource = entry.resource;
    if (resource === undefined) continue;
    if (resource.resourceType === 'OperationOutcome') issues.push(...(resource.issue ?? []));
    else resources.push(resource);
  }
  return { resources, issues };
}

/** The reason code of a denial message (`access denied (default-opt-in): …`), or null. */
export function denialReasonOf(message: string): string | null {
  return /access denied \(([a-z0-9-]+)\)/.exec(message)?.[1] ?? null;
}

/** When a JWT expires (Unix ms), from its `exp` claim; null if it has none or does not parse. */
export function tokenExpiryOf(token: string): number | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

/** `mm:ss` (or `h:mm:ss`) of a duration in milliseconds, never negative. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const mm = String(minutes).padStart(hours > 0 ? 2 : 1, '0');
  const ss = String(seconds).padStart(2, '0');
  return hours > 0 ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** The same duration in words, for screen readers: `12 minutes 5 seconds`. */
export function countdownWords(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  const parts = [];
  if (minutes > 0) parts.push(`${minutes} minute${minutes === 1 ? '' : 's'}`);
  if (seconds > 0 || minutes === 0) parts.push(`${seconds} second${seconds === 1 ? '' : 's'}`);
  return parts.join(' ');
}
