/**
 * The patient's records on a timeline, newest first, by type (visits, diagnoses, results …), each
 * with its verified mark: the records this organisation holds about the patient, from FHIR
 * searches of each clinical type (`GET /fhir/<Type>?patient=<id>`), read with the patient's own
 * token (every search is audited and shows in the access log).
 */
import { useState } from 'preact/hooks';

import {
  type RecordType,
  isSensitiveLabel,
  labelName,
  organisationName,
  recordTypeName,
  recordTypes,
} from './patient-names.ts';
import { PatientMark, markWithoutGenesis, useMark } from './patient-genesis.tsx';
import { type GenesisState, markOfRecord } from './patient-verify.ts';
import { type Session, call } from './session.ts';
import { Notice } from './ui.tsx';

/** A FHIR resource as this page reads it. */
export interface FhirResource {
  resourceType: string;
  id?: string;
  meta?: {
    versionId?: string;
    lastUpdated?: string;
    security?: Array<{ system?: string; code?: string }>;
  };
  [element: string]: unknown;
}

interface Coding {
  system?: string;
  code?: string;
  display?: string;
}
interface Concept {
  coding?: Coding[];
  text?: string;
}
interface Quantity {
  value?: number;
  unit?: string;
  code?: string;
}

/** One record as the timeline shows it. */
export interface RecordView {
  readonly type: string;
  readonly id: string;
  readonly version: number;
  /** The clinical date (ISO), or the time it was stored when it has none. */
  readonly date: string | undefined;
  readonly title: string;
  readonly details: readonly string[];
  /** A plain-text note (DocumentReference), shown on request. */
  readonly note: string | null;
  readonly labels: readonly string[];
}

interface SearchBundle {
  entry?: Array<{ resource?: FhirResource }>;
  link?: Array<{ relation?: string; url?: string }>;
}

/** Statuses worth saying (a finished visit or a final result goes without saying). */
const notableStatuses = [
  'preliminary',
  'registered',
  'amended',
  'corrected',
  'cancelled',
  'entered-in-error',
  'stopped',
  'on-hold',
  'in-progress',
  'planned',
  'draft',
  'not-done',
  'superseded',
  'unknown',
];

/** Pages of one search followed at most (100 records a page). */
const searchPagesMax = 20;
/** Records shown at first, and added by "Show more". */
const recordsPageSize = 50;

/** A link from the node, reduced to its path so that no request leaves this origin. */
export function samePath(url: string): string {
  const parsed = new URL(url, window.location.origin);
  return `${parsed.pathname}${parsed.search}`;
}

/** Every resource of a search, following `next` links. */
export async function searchAll<T>(session: Session, path: string): Promise<T[]> {
  const found: T[] = [];
  let next: string | null = path;
  for (let page = 0; next !== null && page < searchPagesMax; page++) {
    const bundle: SearchBundle = await call<SearchBundle>(next, { session });
    for (const entry of bundle.entry ?? []) {
      if (entry.resource !== undefined) found.push(entry.resource as T);
    }
    const link = bundle.link?.find((candidate) => candidate.relation === 'next')?.url;
    next = link === undefined ? null : samePath(link);
  }
  return found;
}

function text(concept: unknown): string | undefined {
  const value = concept as Concept | undefined;
  if (value === undefined || value === null) return undefined;
  return value.text ?? value.coding?.find((coding) => coding.display)?.display;
}

function quantity(value: unknown): string | undefined {
  const q = value as Quantity | undefined;
  if (q?.value === undefined) return undefined;
  return `${q.value} ${q.unit ?? q.code ?? ''}`.trim();
}

function field<T>(resource: FhirResource, name: string): T | undefined {
  return resource[name] as T | undefined;
}

function firstOf(...values: Array<string | undefined>): string | undefined {
  return values.find((value) => value !== undefined && value !== '');
}

function decodeNote(resource: FhirResource): string | null {
  const content = field<Array<{ attachment?: { contentType?: string; data?: string } }>>(
    resource,
    'content',
  );
  const attachment = content?.[0]?.attachment;
  if (attachment?.data === undefined || !attachment.contentType?.startsWith('text/plain')) {
    return null;
  }
  try {
    const binary = atob(attachment.data);
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** The date, title and details of a record, by its type. */
export function recordViewOf(resource: FhirResource): RecordView {
  const type = resource.resourceType;
  const period = (name: string) => field<{ start?: string }>(resource, name)?.start;
  const status = field<string>(resource, 'status');
  let date: string | undefined;
  let title: string | undefined;
  const details: string[] = [];
  switch (type) {
    case 'Encounter': {
      date = period('period');
      title = text(field<Concept[]>(resource, 'type')?.[0]);
      const kind = field<Coding>(resource, 'class')?.code;
      if (kind === 'AMB') details.push('Outpatient visit');
      if (kind === 'EMER') details.push('Emergency visit');
      if (kind === 'IMP') details.push('Hospital stay');
      break;
    }
    case 'Condition':
      date = firstOf(field(resource, 'onsetDateTime'), field(resource, 'recordedDate'));
      title = text(field(resource, 'code'));
      {
        const clinical = text(field(resource, 'clinicalStatus'));
        if (clinical !== undefined) details.push(`Status: ${clinical.toLowerCase()}`);
      }
      break;
    case 'Observation': {
      date = firstOf(field(resource, 'effectiveDateTime'), period('effectivePeriod'));
      date ??= field(resource, 'issued');
      title = text(field(resource, 'code'));
      const value = firstOf(
        quantity(field(resource, 'valueQuantity')),
        text(field(resource, 'valueCodeableConcept')),
        field<string>(resource, 'valueString'),
      );
      if (value !== undefined) details.push(value);
      const components = field<Array<{ code?: Concept; valueQuantity?: Quantity }>>(
        resource,
        'component',
      );
      for (const component of components ?? []) {
        const value = quantity(component.valueQuantity);
        if (value !== undefined) details.push(`${text(component.code) ?? 'Value'}: ${value}`);
      }
      break;
    }
    case 'DiagnosticReport':
      date = firstOf(field(resource, 'effectiveDateTime'), field(resource, 'issued'));
      title = text(field(resource, 'code'));
      {
        const conclusion = field<string>(resource, 'conclusion');
        if (conclusion !== undefined) details.push(conclusion);
      }
      break;
    case 'Procedure':
      date = firstOf(field(resource, 'performedDateTime'), period('performedPeriod'));
      title = text(field(resource, 'code'));
      break;
    case 'MedicationRequest':
      date = field(resource, 'authoredOn');
      title = text(field(resource, 'medicationCodeableConcept'));
      {
        const dosage = field<Array<{ text?: string }>>(resource, 'dosageInstruction')?.[0]?.text;
        if (dosage !== undefined) details.push(`Take ${dosage}`);
      }
      break;
    case 'Immunization':
      date = field(resource, 'occurrenceDateTime');
      title = text(field(resource, 'vaccineCode'));
      break;
    case 'AllergyIntolerance':
      date = firstOf(field(resource, 'recordedDate'), field(resource, 'onsetDateTime'));
      title = text(field(resource, 'code'));
      {
        const criticality = field<string>(resource, 'criticality');
        if (criticality !== undefined) details.push(`Criticality: ${criticality}`);
        const reactions = field<Array<{ manifestation?: Concept[] }>>(resource, 'reaction');
        const signs = (reactions ?? []).flatMap((reaction) =>
          (reaction.manifestation ?? []).map(text).filter((sign) => sign !== undefined),
        );
        if (signs.length > 0) details.push(`Reaction: ${signs.join(', ')}`);
      }
      break;
    case 'DocumentReference':
      date = field(resource, 'date');
      title = firstOf(
        text(field(resource, 'type')),
        field<Array<{ attachment?: { title?: string } }>>(resource, 'content')?.[0]?.attachment
          ?.title,
      );
      break;
    default:
      break;
  }
  if (status !== undefined && notableStatuses.includes(status)) {
    details.push(`Status: ${status.replace(/-/g, ' ')}`);
  }
  return {
    type,
    id: resource.id ?? '',
    version: Number(resource.meta?.versionId ?? NaN),
    date: date ?? resource.meta?.lastUpdated,
    title: title ?? recordTypeName(type),
    details,
    note: type === 'DocumentReference' ? decodeNote(resource) : null,
    labels: (resource.meta?.security ?? []).map((coding) => coding.code ?? '?'),
  };
}

function dateOnly(value: string | undefined): string {
  if (value === undefined) return 'No date';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

function yearOf(value: string | undefined): string {
  const date = value === undefined ? null : new Date(value);
  return date === null || Number.isNaN(date.getTime()) ? 'No date' : String(date.getFullYear());
}

function RecordItem(props: { record: RecordView; genesis: GenesisState; patientId: string }) {
  const { record, genesis } = props;
  const trust = genesis.state === 'ready' ? genesis.trust : null;
  const mark = useMark(
    trust === null
      ? null
      : () =>
          markOfRecord(trust, {
            id: record.id,
            version: record.version,
            resourceType: record.type,
            patientId: props.patientId,
            labels: record.labels,
          }),
    `${trust?.hash ?? genesis.state}:${record.id}:${record.version}`,
  );
  const sensitive = record.labels.filter((label) => isSensitiveLabel(label) && label !== 'R');
  const restricted = record.labels.includes('R') || record.labels.includes('V');
  return (
    <li
      class="patient-record"
      data-testid="record-entry"
      data-record-id={record.id}
      data-record-type={record.type}
    >
      <time class="patient-record-date" dateTime={record.date}>
        {dateOnly(record.date)}
      </time>
      <div class="patient-record-body">
        <p class="patient-record-type">
          <span class="badge">{recordTypeName(record.type)}</span>
          {sensitive.length > 0 || restricted ? (
            <span class="badge badge-sensitive">
              Sensitive
              {sensitive.length > 0 ? `: ${sensitive.map(labelName).join(', ')}` : ''}
            </span>
          ) : null}
        </p>
        <h4 class="patient-record-title">{record.title}</h4>
        {record.details.length === 0 ? null : (
          <ul class="patient-record-details">
            {record.details.map((detail, index) => (
              <li key={index}>{detail}</li>
            ))}
          </ul>
        )}
        {record.note === null ? null : (
          <details>
            <summary>Read the note</summary>
            <p class="patient-note">{record.note}</p>
          </details>
        )}
        <p class="meta">
          Version {Number.isNaN(record.version) ? '?' : record.version} ·{' '}
          <PatientMark mark={mark ?? markWithoutGenesis(genesis)} />
        </p>
      </div>
    </li>
  );
}

/** The records section: a type filter, then the timeline grouped by year. */
export function PatientRecords(props: {
  session: Session;
  genesis: GenesisState;
  records: RecordView[] | undefined;
  error: string | null;
  loading: boolean;
  onReload: () => void;
}) {
  const { session, records } = props;
  const [filter, setFilter] = useState<'all' | RecordType>('all');
  const [shown, setShown] = useState(recordsPageSize);
  const counts = new Map<string, number>();
  for (const record of records ?? []) counts.set(record.type, (counts.get(record.type) ?? 0) + 1);
  const visible = (records ?? []).filter((record) => filter === 'all' || record.type === filter);
  const page = visible.slice(0, shown);
  const years: Array<{ year: string; items: RecordView[] }> = [];
  for (const record of page) {
    const year = yearOf(record.date);
    const last = years[years.length - 1];
    if (last?.year === year) last.items.push(record);
    else years.push({ year, items: [record] });
  }
  const holder = organisationName(session.user.orgId);

  return (
    <section aria-labelledby="records-title" class="patient-section">
      <h2 id="records-title" tabIndex={-1}>
        Your records
      </h2>
      <p class="hint">
        The records {holder} holds about you, newest first. Records other organisations hold about
        you show in your access log when they add them; read them at their own portal.
      </p>
      {props.error === null ? null : (
        <Notice kind="error" title="Your records could not be loaded">
          {props.error}
        </Notice>
      )}
      {props.loading && records === undefined ? <p role="status">Loading your records…</p> : null}
      {records === undefined ? null : (
        <>
          <fieldset class="patient-filter">
            <legend>Show</legend>
            {(['all', ...recordTypes] as const)
              .filter((type) => type === 'all' || (counts.get(type) ?? 0) > 0)
              .map((type) => (
                <label class="patient-chip" key={type}>
                  <input
                    type="radio"
                    name="record-type"
                    value={type}
                    checked={filter === type}
                    onChange={() => {
                      setFilter(type);
                      setShown(recordsPageSize);
                    }}
                  />
                  <span>
                    {type === 'all' ? 'All records' : recordTypeName(type, true)} (
                    {type === 'all' ? records.length : counts.get(type)})
                  </span>
                </label>
              ))}
          </fieldset>
          {visible.length === 0 ? (
            <Notice kind="info">No records here.</Notice>
          ) : (
            <div class="patient-timeline" data-testid="patient-records">
              {years.map((group) => (
                <section key={group.year} aria-labelledby={`year-${group.year}`}>
                  <h3 id={`year-${group.year}`} class="patient-year">
                    {group.year}
                  </h3>
                  <ol class="list patient-record-list">
                    {group.items.map((record) => (
                      <RecordItem
                        key={`${record.id}/${record.version}`}
                        record={record}
                        genesis={props.genesis}
                        patientId={session.user.id}
                      />
                    ))}
                  </ol>
                </section>
              ))}
            </div>
          )}
          <div class="actions">
            {visible.length > shown ? (
              <button
                type="button"
                class="secondary"
                onClick={() => setShown(shown + recordsPageSize)}
              >
                Show {Math.min(recordsPageSize, visible.length - shown)} more
              </button>
            ) : null}
            <button
              type="button"
              class="secondary"
              onClick={props.onReload}
              disabled={props.loading}
            >
              Reload
            </button>
          </div>
        </>
      )}
    </section>
  );
}

/** Loads every record of the patient held here, newest first. */
export async function loadRecords(session: Session): Promise<RecordView[]> {
  const patient = encodeURIComponent(session.user.id);
  const lists = await Promise.all(
    recordTypes.map((type) =>
      searchAll<FhirResource>(session, `/fhir/${type}?patient=${patient}&_count=100`),
    ),
  );
  const views = lists.flat().map(recordViewOf);
  const time = (view: RecordView) => {
    const value = view.date === undefined ? NaN : Date.parse(view.date);
    return Number.isNaN(value) ? -Infinity : value;
  };
  return views.sort((a, b) => time(b) - time(a) || a.id.localeCompare(b.id));
}
