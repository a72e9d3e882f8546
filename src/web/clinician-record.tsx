/**
 * One patient's record as a clinician sees it: `GET /fhir/Patient/{id}/$everything`, which the
 * clinician's node answers with every record it may read, wherever it is held (each decided on
 * chain and audited; records of other organisations fetched from their custodian). A denial is
 * shown plainly, with why and what the clinician can do: ask the patient for consent, or, in an
 * emergency and in the designated group, break the glass.
 *
 * Test hooks (accessible names first; `data-testid` where a name is not enough):
 * - the record: region named after the patient (heading level 2) — `data-testid="record-view"`,
 *   `data-patient-id`; each record group is a heading level 3 ("Vital signs and results", …);
 *   each record is a list item `data-testid="record-item"` with `data-resource-type`
 * - withheld records: `data-testid="records-withheld"` (a status)
 * - the denial: role `alert` — `data-testid="denial-message"`, `data-reason` (the ledger's reason
 *   code); its buttons "Break the glass…" (`data-testid="break-glass-button"`, only for the
 *   break-glass group) and "Try again"
 */
import type { Bundle, Patient, Resource } from '@medplum/fhirtypes';
import { useEffect, useRef, useState } from 'preact/hooks';

import {
  denialReasonOf,
  entriesOf,
  labelText,
  notableLabels,
  organisationOf,
  patientName,
  summarise,
} from './clinician-fhir.ts';
import { NoteForm, ObservationForm } from './clinician-write.tsx';
import { RequestFailed, type Session, call } from './session.ts';
import { Notice, describeFailure, formatTime } from './ui.tsx';

/** Record groups in the order a clinician reads them. */
const groups: ReadonlyArray<{ title: string; types: readonly string[] }> = [
  { title: 'Allergies', types: ['AllergyIntolerance'] },
  { title: 'Conditions', types: ['Condition'] },
  { title: 'Medications', types: ['MedicationRequest'] },
  { title: 'Vital signs and results', types: ['Observation', 'DiagnosticReport'] },
  { title: 'Notes', types: ['DocumentReference'] },
  { title: 'Procedures and immunisations', types: ['Procedure', 'Immunization'] },
  { title: 'Encounters', types: ['Encounter'] },
];

/** Why a denial happened, in a clinician's words, by the ledger's reason code (decision 0023). */
const denialWhy: Readonly<Record<string, string>> = {
  'default-opt-in': 'The patient has not consented to your organisation seeing their records.',
  'consent-deny': 'The patient has refused this access in a consent.',
  'sensitive-label-not-named':
    'The record carries a sensitive label (such as mental health) that the patient’s consent does not cover.',
  'sensitive-needs-consent':
    'The record carries a sensitive label and needs a consent that names it.',
  'default-purpose-not-covered': 'This purpose of use is not covered without a consent.',
  'break-glass-refused':
    'Emergency access was refused: it needs the break-glass role and a stated reason.',
  'break-glass-not-open': 'No emergency access is open for you and this patient.',
  'unknown-requester':
    'You are not registered on the network for your organisation, or your registration is inactive.',
};

/** The denial: why, what the ledger said, and what the clinician can do next. */
export function DenialMessage(props: {
  message: string;
  patientLabel: string;
  orgId: string;
  canBreakGlass: boolean;
  inBreakGlass: boolean;
  onBreakGlass: () => void;
  onRetry: () => void;
}) {
  const reason = denialReasonOf(props.message);
  const why = (reason === null ? undefined : denialWhy[reason]) ?? props.message;
  return (
    <div
      class="notice notice-error denial"
      role="alert"
      data-testid="denial-message"
      data-reason={reason ?? undefined}
    >
      <strong class="notice-title">You may not see {props.patientLabel}’s records</strong>
      <p>{why}</p>
      <p class="meta">
        The ledger decided: <span class="denial-detail">{props.message}</span> This refusal is
        recorded in the patient’s access log.
      </p>
      <h3 class="denial-heading">What you can do</h3>
      <ul>
        {reason === 'unknown-requester' ? (
          <li>Ask your organisation’s administrator to register you on the network.</li>
        ) : (
          <li>
            Ask the patient to grant {props.orgId} access in their patient portal. Their consent
            takes effect on the ledger within seconds; then try again.
          </li>
        )}
        {props.canBreakGlass && !props.inBreakGlass ? (
          <li>
            In an emergency, you can break the glass: you state a reason, the access is recorded,
            the patient is told, and a privacy officer reviews it.
          </li>
        ) : props.inBreakGlass ? null : (
          <li>
            In an emergency, ask a clinician of your organisation’s emergency (break-glass) group:
            only they can open emergency access.
          </li>
        )}
      </ul>
      <div class="actions">
        {props.canBreakGlass && !props.inBreakGlass ? (
          <button
            type="button"
            class="danger"
            onClick={props.onBreakGlass}
            data-testid="break-glass-button"
          >
            Break the glass…
          </button>
        ) : null}
        <button type="button" class="secondary" onClick={props.onRetry}>
          Try again
        </button>
      </div>
    </div>
  );
}

function RecordItem(props: { resource: Resource }) {
  const summary = summarise(props.resource);
  const labels = notableLabels(props.resource);
  return (
    <li
      class="record-item"
      data-testid="record-item"
      data-resource-type={props.resource.resourceType}
    >
      <div class="record-line">
        <span class="record-title">{summary.title || props.resource.resourceType}</span>
        {summary.detail === '' ? null : <span class="record-detail">{summary.detail}</span>}
        {labels.map((label) => (
          <span key={label} class="badge badge-warn" title={`Security label ${label}`}>
            {labelText(label)}
          </span>
        ))}
      </div>
      <div class="meta">
        {summary.when === '' ? null : (
          <time dateTime={summary.when}>{formatTime(summary.when)}</time>
        )}
        <span class="visually-hidden"> · </span>
        <span class="record-type"> {props.resource.resourceType}</span>
      </div>
      {summary.text === null ? null : <p class="note-text">{summary.text}</p>}
    </li>
  );
}

function isPatient(resource: Resource): resource is Patient {
  return resource.resourceType === 'Patient';
}

/** The record of `patientId`: loads `$everything` again when the token or `reloadKey` changes. */
export function PatientRecord(props: {
  session: Session;
  patientId: string;
  /** The Patient from a list, shown while the record loads and in a denial. */
  hint: Patient | undefined;
  onBreakGlass: (patientLabel: string) => void;
  onLoaded: (patient: Patient | undefined) => void;
}) {
  const { session, patientId } = props;
  // The last answer stays on screen while the record loads again (after a write, say), so the
  // forms and their messages stay put; another patient starts from nothing.
  const [bundle, setBundle] = useState<{ patientId: string; bundle: Bundle } | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [reloads, setReloads] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    let current = true;
    setLoading(true);
    call<Bundle>(`/fhir/Patient/${patientId}/$everything`, { session }).then(
      (answer) => {
        if (!current) return;
        setBundle({ patientId, bundle: answer });
        setFailure(null);
        setLoading(false);
        const { resources } = entriesOf(answer);
        props.onLoaded(resources.find(isPatient));
      },
      (error: unknown) => {
        if (!current) return;
        setBundle(null);
        setFailure(error);
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
  }, [patientId, session.token, reloads]);

  // A newly opened patient takes the focus, so keyboard and screen reader users land on it.
  useEffect(() => {
    heading.current?.focus();
  }, [patientId]);

  const found = bundle !== null && bundle.patientId === patientId ? entriesOf(bundle.bundle) : null;
  const patient = found?.resources.find(isPatient) ?? props.hint;
  const label = patientName(patient, patientId);
  const custodian = organisationOf(patient);
  const writable = custodian === session.user.orgId && session.breakGlass === null;
  const canBreakGlass = session.user.roles.includes('break-glass');
  const reload = () => setReloads((count) => count + 1);

  return (
    <section
      class="record"
      aria-labelledby="record-title"
      aria-busy={loading ? 'true' : undefined}
      data-testid="record-view"
      data-patient-id={patientId}
    >
      <h2 id="record-title" ref={heading} tabIndex={-1}>
        {label}
      </h2>
      <dl class="facts">
        {patient?.birthDate === undefined ? null : (
          <>
            <dt>Born</dt>
            <dd>{patient.birthDate}</dd>
          </>
        )}
        {patient?.gender === undefined ? null : (
          <>
            <dt>Gender</dt>
            <dd>{patient.gender}</dd>
          </>
        )}
        <dt>Patient id</dt>
        <dd class="pseudonym">{patientId}</dd>
        {custodian === null ? null : (
          <>
            <dt>Registered at</dt>
            <dd>
              {custodian}
              {custodian === session.user.orgId ? ' (your organisation)' : ''}
            </dd>
          </>
        )}
      </dl>
      <p role="status" class="loading-line">
        {loading ? 'Loading the record from the network…' : ''}
      </p>
      {!loading && failure !== null ? (
        failure instanceof RequestFailed && failure.status === 403 ? (
          <DenialMessage
            message={failure.message}
            patientLabel={label}
            orgId={session.user.orgId}
            canBreakGlass={canBreakGlass}
            inBreakGlass={session.breakGlass !== null}
            onBreakGlass={() => props.onBreakGlass(label)}
            onRetry={reload}
          />
        ) : (
          <Notice kind="error" title="The record could not be loaded">
            {describeFailure(failure)}{' '}
            <button type="button" class="link-button" onClick={reload}>
              Try again
            </button>
          </Notice>
        )
      ) : null}
      {found === null ? null : (
        <RecordBody
          session={session}
          patientId={patientId}
          resources={found.resources}
          issues={found.issues}
          writable={writable}
          canBreakGlass={canBreakGlass}
          label={label}
          onBreakGlass={() => props.onBreakGlass(label)}
          onSaved={reload}
        />
      )}
    </section>
  );
}

function RecordBody(props: {
  session: Session;
  patientId: string;
  resources: readonly Resource[];
  issues: ReturnType<typeof entriesOf>['issues'];
  writable: boolean;
  canBreakGlass: boolean;
  label: string;
  onBreakGlass: () => void;
  onSaved: () => void;
}) {
  const records = props.resources.filter((resource) => resource.resourceType !== 'Patient');
  const suppressed = props.issues.some((issue) => issue.code === 'suppressed');
  const warnings = props.issues.filter((issue) => issue.code !== 'suppressed');
  return (
    <>
      {suppressed ? (
        <div class="notice notice-warning" role="status" data-testid="records-withheld">
          <strong class="notice-title">Some records are withheld</strong>
          The patient’s consent or the records’ sensitivity labels keep some records from you.
          {props.canBreakGlass && props.session.breakGlass === null ? (
            <>
              {' '}
              In an emergency, breaking the glass could reveal them.{' '}
              <button type="button" class="link-button" onClick={props.onBreakGlass}>
                Break the glass…
              </button>
            </>
          ) : (
            ' Ask the patient for a consent that covers them.'
          )}
        </div>
      ) : null}
      {warnings.map((issue, index) => (
        <Notice key={index} kind="warning">
          {issue.diagnostics ?? issue.details?.text ?? issue.code}
        </Notice>
      ))}
      {records.length === 0 ? <p>No records you may see.</p> : null}
      {groups.map((group) => {
        const inGroup = records
          .filter((resource) => group.types.includes(resource.resourceType))
          .map((resource) => ({ resource, when: summarise(resource).when }))
          .sort((a, b) => b.when.localeCompare(a.when));
        if (inGroup.length === 0) return null;
        const id = `group-${group.types[0]!}`;
        return (
          <section key={group.title} aria-labelledby={id} class="record-group">
            <h3 id={id}>
              {group.title} <span class="count">({inGroup.length})</span>
            </h3>
            <ul class="list record-list">
              {inGroup.map(({ resource }) => (
                <RecordItem
                  key={`${resource.resourceType}/${resource.id ?? ''}`}
                  resource={resource}
                />
              ))}
            </ul>
          </section>
        );
      })}
      {props.writable ? (
        <section class="write-panel" aria-labelledby="write-title">
          <h3 id="write-title">Add to the record</h3>
          <div class="write-forms">
            <ObservationForm
              session={props.session}
              patientId={props.patientId}
              onSaved={props.onSaved}
            />
            <NoteForm session={props.session} patientId={props.patientId} onSaved={props.onSaved} />
          </div>
        </section>
      ) : (
        <p class="hint">
          {props.session.breakGlass !== null
            ? 'Emergency access is for reading: you write in the records of your own organisation’s patients.'
            : 'This patient is registered at another organisation: you read what they shared with you, and their organisation writes their record.'}
        </p>
      )}
    </>
  );
}
