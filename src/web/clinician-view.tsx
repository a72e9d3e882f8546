/**
 * The clinician view (issue 8): the patients a clinician may see — their organisation's (a
 * Patient search on their node, each decided and audited) and those of other organisations who
 * shared with them (`GET /fhir/Patient/$shared`: consent on chain) — one patient's record from
 * wherever it is held, writing a vital sign or a note for their own organisation's patients,
 * denials that say why and what to do, and break-glass for the designated group.
 *
 * Break-glass signs the clinician in again with purpose BTG or ETREAT and a reason (the node's
 * token carries both; the first denied read opens the grant on chain). While it lasts the view
 * shows only that patient, with the time left: a break-glass token reads nothing else (its
 * purpose is not treatment), and every request would be an audited denial. When it ends, by
 * hand or at the token's expiry, the clinician is signed in again for treatment.
 *
 * Test hooks (accessible names first; `data-testid` where a name is not enough):
 * - page heading "Patients"; region "Your patients" — `data-testid="own-patients"`; region
 *   "Shared with your organisation" — `data-testid="shared-patients"`; each patient is a button
 *   named after the patient in a list — `data-testid="patient-list"`, `data-patient-id` on each
 *   button, `aria-current="true"` on the open one
 * - name filter: search form "Find your patients", field "Name" — `data-testid="patient-search"`
 * - open by id: form "Open a patient by id", field "Patient id" — `data-testid="open-patient"`
 * - the record, the denial and the break-glass button: see clinician-record.tsx; the forms:
 *   clinician-write.tsx; the dialog, banner and timer: clinician-break-glass.tsx
 * - break-glass ended: `data-testid="break-glass-ended"` (a status)
 */
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { useEffect, useRef, useState } from 'preact/hooks';

import {
  type BreakGlassRequest,
  BreakGlassBanner,
  BreakGlassDialog,
} from './clinician-break-glass.tsx';
import { entriesOf, patientName, pseudonymPattern, tokenExpiryOf } from './clinician-fhir.ts';
import { PatientRecord } from './clinician-record.tsx';
import { type Session, call } from './session.ts';
import type { DemoSignInAnswer } from './types.ts';
import { Notice, Page, describeFailure, formatTime, useLoad } from './ui.tsx';

/** This view's own memory in the tab: the open patient (so a reload or break-glass keeps it). */
const storageKey = 'medledger.clinician';

interface Opened {
  readonly id: string;
  readonly label: string;
}

/** The patient `user` had open in this tab; another user starts with none. */
function loadOpened(user: string): Opened | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(storageKey) ?? 'null') as
      (Opened & { user: string }) | null;
    if (value === null || value.user !== user || !pseudonymPattern.test(value.id)) return null;
    return { id: value.id, label: value.label };
  } catch {
    return null;
  }
}

function saveOpened(user: string, opened: Opened | null): void {
  if (opened === null) sessionStorage.removeItem(storageKey);
  else sessionStorage.setItem(storageKey, JSON.stringify({ ...opened, user }));
}

/** A list of patients as buttons; the open one is marked. */
function PatientList(props: {
  patients: readonly Patient[];
  openId: string | null;
  onOpen: (patient: Patient) => void;
}) {
  return (
    <ul class="list patient-list" data-testid="patient-list">
      {props.patients.map((patient) => {
        const current = patient.id === props.openId;
        return (
          <li key={patient.id}>
            <button
              type="button"
              class={`patient-button${current ? ' is-current' : ''}`}
              aria-current={current ? 'true' : undefined}
              data-patient-id={patient.id}
              onClick={() => props.onOpen(patient)}
            >
              <span class="user-name">{patientName(patient)}</span>
              <span class="user-detail">
                {patient.birthDate === undefined ? '' : `born ${patient.birthDate} · `}
                {patient.id?.slice(0, 8)}…
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

function byName(a: Patient, b: Patient): number {
  const family = (patient: Patient) => patient.name?.[0]?.family ?? '';
  return family(a).localeCompare(family(b)) || patientName(a).localeCompare(patientName(b));
}

/** The clinician's own organisation's patients, with a name filter. */
function OwnPatients(props: {
  session: Session;
  openId: string | null;
  onOpen: (patient: Patient) => void;
}) {
  const [filter, setFilter] = useState('');
  const [query, setQuery] = useState('');
  const list = useLoad(
    () =>
      call<Bundle<Patient>>(
        `/fhir/Patient?_count=100${query === '' ? '' : `&name=${encodeURIComponent(query)}`}`,
        { session: props.session },
      ),
    [query, props.session.token],
  );
  const patients = (entriesOf(list.data).resources as Patient[]).sort(byName);
  const total = list.data?.total;
  return (
    <section class="patients-panel" aria-labelledby="own-patients-title" data-testid="own-patients">
      <h2 id="own-patients-title">Your patients</h2>
      <p class="hint">Registered at {props.session.user.orgId}.</p>
      <form
        role="search"
        aria-label="Find your patients"
        class="inline-form"
        data-testid="patient-search"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery(filter.trim());
        }}
      >
        <label for="patient-filter">Name</label>
        <div class="inline-fields">
          <input
            id="patient-filter"
            type="search"
            autoComplete="off"
            value={filter}
            onInput={(event) => setFilter((event.target as HTMLInputElement).value)}
          />
          <button type="submit" class="secondary">
            Find
          </button>
        </div>
      </form>
      <div role="status" class="loading-line">
        {list.loading
          ? 'Loading your patients…'
          : list.data === undefined
            ? ''
            : `${patients.length} patient${patients.length === 1 ? '' : 's'}${query === '' ? '' : ` named “${query}”`}${total !== undefined && total > patients.length ? ` of ${total}: narrow the search` : ''}.`}
      </div>
      {list.error === null ? null : <Notice kind="error">{list.error}</Notice>}
      <PatientList patients={patients} openId={props.openId} onOpen={props.onOpen} />
    </section>
  );
}

/** Patients of other organisations who shared with this one (consent on chain). */
function SharedPatients(props: {
  session: Session;
  openId: string | null;
  onOpen: (patient: Patient) => void;
}) {
  const list = useLoad(
    () => call<Bundle<Patient>>('/fhir/Patient/$shared', { session: props.session }),
    [props.session.token],
  );
  const { resources, issues } = entriesOf(list.data);
  const patients = (resources as Patient[]).sort(byName);
  return (
    <section
      class="patients-panel"
      aria-labelledby="shared-patients-title"
      data-testid="shared-patients"
    >
      <h2 id="shared-patients-title">Shared with your organisation</h2>
      <p class="hint">Patients of other organisations whose consent lets you read their records.</p>
      <div role="status" class="loading-line">
        {list.loading
          ? 'Asking the network who shared with you…'
          : list.data === undefined
            ? ''
            : patients.length === 0
              ? 'No patient of another organisation has shared with you.'
              : `${patients.length} patient${patients.length === 1 ? '' : 's'}.`}
      </div>
      {list.error === null ? null : <Notice kind="error">{list.error}</Notice>}
      {issues.map((issue, index) => (
        <Notice key={index} kind="warning">
          {issue.diagnostics ?? issue.code}
        </Notice>
      ))}
      <PatientList patients={patients} openId={props.openId} onOpen={props.onOpen} />
    </section>
  );
}

/** Opening a patient by their id (a referral, a patient who shows their id). */
function OpenById(props: { onOpen: (id: string) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      class="patients-panel"
      aria-labelledby="open-patient-title"
      data-testid="open-patient"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        const id = value.trim().toLowerCase();
        if (!pseudonymPattern.test(id)) {
          setError('A patient id is 32 characters of 0–9 and a–f, as the patient portal shows it.');
          return;
        }
        setError(null);
        props.onOpen(id);
      }}
    >
      <h2 id="open-patient-title">Open a patient by id</h2>
      <label for="open-patient-id">Patient id</label>
      <div class="inline-fields">
        <input
          id="open-patient-id"
          class="pseudonym"
          autoComplete="off"
          spellcheck={false}
          value={value}
          aria-invalid={error === null ? undefined : 'true'}
          aria-describedby={
            error === null ? 'open-patient-hint' : 'open-patient-hint open-patient-error'
          }
          onInput={(event) => {
            setValue((event.target as HTMLInputElement).value);
            setError(null);
          }}
        />
        <button type="submit" class="secondary">
          Open
        </button>
      </div>
      <p id="open-patient-hint" class="hint">
        For a patient of another organisation who has not shared with you yet: you will see why you
        may not read their records, and what you can do.
      </p>
      {error === null ? null : (
        <p id="open-patient-error" class="field-error">
          {error}
        </p>
      )}
    </form>
  );
}

export function ClinicianView(props: { session: Session; onSession: (session: Session) => void }) {
  const { session } = props;
  const [opened, setOpened] = useState<Opened | null>(loadOpened(session.user.name));
  const [hint, setHint] = useState<Patient | undefined>(undefined);
  const [dialogFor, setDialogFor] = useState<string | null>(null);
  const [ending, setEnding] = useState(false);
  const [ended, setEnded] = useState<string | null>(null);
  const [endError, setEndError] = useState<string | null>(null);
  const breakGlass = session.breakGlass;
  const endedNotice = useRef<HTMLDivElement>(null);
  // The banner and its button are gone once break-glass ends: the focus goes to what happened.
  useEffect(() => {
    if (ended !== null) endedNotice.current?.focus();
  }, [ended]);

  const open = (next: Opened, patient?: Patient) => {
    saveOpened(session.user.name, next);
    setOpened(next);
    setHint(patient);
    setEnded(null);
  };

  const signInAgain = async (request: BreakGlassRequest | null): Promise<void> => {
    const answer = await call<DemoSignInAnswer>('/auth/demo/sign-in', {
      method: 'POST',
      body: {
        name: session.user.name,
        ...(request === null ? {} : { purpose: request.purpose, reason: request.reason }),
      },
    });
    const until = tokenExpiryOf(answer.token) ?? Date.now() + 15 * 60_000;
    props.onSession({
      ...answer,
      breakGlass:
        request === null ? null : { purpose: request.purpose, reason: request.reason, until },
    });
  };

  const confirmBreakGlass = async (request: BreakGlassRequest) => {
    try {
      await signInAgain(request);
    } catch (failure) {
      throw new Error(describeFailure(failure));
    }
    setDialogFor(null);
    setEnded(null);
  };

  // Back to treatment: a new token without a purpose; the emergency patient is closed, since
  // reading them again would only be an audited denial.
  const endBreakGlass = async (why: 'ended' | 'expired') => {
    if (ending) return;
    setEnding(true);
    setEndError(null);
    try {
      await signInAgain(null);
      saveOpened(session.user.name, null);
      setOpened(null);
      setEnded(
        why === 'expired'
          ? `Break-glass access ended at ${formatTime(Date.now())}: its time was up.`
          : 'You ended break-glass access.',
      );
    } catch (failure) {
      setEndError(describeFailure(failure));
    } finally {
      setEnding(false);
    }
  };

  return (
    <Page title="Patients">
      {breakGlass === null ? null : (
        <BreakGlassBanner
          breakGlass={breakGlass}
          patientLabel={opened?.label ?? null}
          busy={ending}
          onEnd={() => void endBreakGlass('ended')}
          onExpired={() => void endBreakGlass('expired')}
        />
      )}
      {endError === null ? null : (
        <Notice kind="error" title="Could not sign you in again">
          {endError} Sign out and sign in again.
        </Notice>
      )}
      {ended === null ? null : (
        <div
          class="notice notice-info"
          role="status"
          data-testid="break-glass-ended"
          tabIndex={-1}
          ref={endedNotice}
        >
          <strong class="notice-title">{ended}</strong>
          You are signed in for treatment again. A privacy officer of {session.user.orgId} reviews
          every emergency access.
        </div>
      )}
      <div class="clinician-layout">
        <div class="clinician-patients">
          {breakGlass === null ? (
            <>
              <OwnPatients
                session={session}
                openId={opened?.id ?? null}
                onOpen={(patient) =>
                  open({ id: patient.id!, label: patientName(patient) }, patient)
                }
              />
              <SharedPatients
                session={session}
                openId={opened?.id ?? null}
                onOpen={(patient) =>
                  open({ id: patient.id!, label: patientName(patient) }, patient)
                }
              />
              <OpenById onOpen={(id) => open({ id, label: `Patient ${id.slice(0, 8)}…` })} />
            </>
          ) : (
            <p class="hint">
              During emergency access you see only this patient. End it to return to your patients.
            </p>
          )}
        </div>
        <div class="clinician-record">
          {opened === null ? (
            breakGlass === null ? (
              <p class="empty-record">Choose a patient to see their record.</p>
            ) : (
              <OpenById onOpen={(id) => open({ id, label: `Patient ${id.slice(0, 8)}…` })} />
            )
          ) : (
            <PatientRecord
              key={opened.id}
              session={session}
              patientId={opened.id}
              hint={hint}
              onBreakGlass={(label) => setDialogFor(label)}
              onLoaded={(patient) => {
                if (patient === undefined) return;
                const label = patientName(patient, opened.id);
                if (label !== opened.label) {
                  const next = { id: opened.id, label };
                  saveOpened(session.user.name, next);
                  setOpened(next);
                }
              }}
            />
          )}
        </div>
      </div>
      <BreakGlassDialog
        open={dialogFor !== null}
        patientLabel={dialogFor ?? ''}
        onConfirm={confirmBreakGlass}
        onClose={() => setDialogFor(null)}
      />
    </Page>
  );
}
