/**
 * The privacy officer's audit search: one patient's access log from the chain (`GET
 * /fhir/AuditEvent?patient=…`, IHE BALP AuditEvents), narrowed by date, by practitioner (`agent`)
 * and to denials (`outcome=4`), newest first, a page at a time. Denials and break-glass reads
 * stand out by colour and by a word. Reading a log is itself audited by the node.
 *
 * Test hooks (accessible names first; `data-testid` where a name is not enough):
 * - the form: search form "Search the access log" — `data-testid="audit-search"`; fields
 *   "Patient id", "From", "To", "Practitioner", "Show"; button "Search"
 * - the results: table — `data-testid="audit-results"`, caption says whose log and how many;
 *   each row `data-testid="audit-row"` with `data-kind` = `break-glass` (purpose BTG/ETREAT or a
 *   grant), else `denied` or `permitted`, and `data-denied` = `true`/`false`; the words "Denied",
 *   "Permitted" and "Break-glass" in the row; button "Load more"
 */
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { useEffect, useState } from 'preact/hooks';

import { pseudonymPattern } from './clinician-fhir.ts';
import { practitionerOfReference } from './privacy-review.tsx';
import { type Session, call } from './session.ts';
import { Notice, describeFailure, formatTime } from './ui.tsx';

/** Events per page. */
const pageCount = 50;

type Show = 'all' | 'denied' | 'break-glass';

interface Query {
  readonly patient: string;
  readonly from: string;
  readonly to: string;
  /** `org/practitioner`, or ''. */
  readonly agent: string;
  readonly show: Show;
}

/** The search URL of a query (FHIR R4 AuditEvent search parameters). */
function searchPath(query: Query): string {
  const params = new URLSearchParams({ patient: query.patient, _sort: '-date' });
  params.set('_count', String(pageCount));
  if (query.from !== '') params.append('date', `ge${query.from}`);
  if (query.to !== '') params.append('date', `le${query.to}`);
  if (query.agent !== '') {
    const [org = '', local = ''] = query.agent.split('/');
    params.set('agent', `Practitioner/${org}--${local}`);
  }
  if (query.show === 'denied') params.set('outcome', '4');
  return `/fhir/AuditEvent?${params.toString()}`;
}

/** The path of a Bundle's `next` link when it is on this origin. */
function nextPath(bundle: Bundle): string | null {
  const url = bundle.link?.find((link) => link.relation === 'next')?.url;
  if (url === undefined) return null;
  try {
    const parsed = new URL(url, window.location.origin);
    return parsed.origin === window.location.origin ? `${parsed.pathname}${parsed.search}` : null;
  } catch {
    return null;
  }
}

/** What one event was, for the table. */
interface Row {
  readonly id: string;
  readonly when: string | undefined;
  readonly who: string;
  readonly action: string;
  readonly what: string;
  readonly purpose: string;
  readonly denied: boolean;
  readonly breakGlass: boolean;
  readonly decision: string;
}

function rowOf(event: AuditEvent): Row {
  const user = event.agent.find((agent) => agent.requestor) ?? event.agent[0];
  const who = user?.who?.reference?.startsWith('Practitioner/')
    ? practitionerOfReference(user.who.reference)
    : (user?.who?.reference ?? user?.who?.identifier?.value ?? user?.who?.display ?? 'unknown');
  const record = event.entity?.find(
    (entity) => entity.role?.code === '4' || entity.role?.code === '3',
  );
  const query = event.entity?.find((entity) => entity.role?.code === '24');
  const purpose = event.purposeOfEvent?.[0]?.coding?.[0]?.code ?? '';
  const breakGlass =
    purpose === 'BTG' ||
    purpose === 'ETREAT' ||
    (event.entity ?? []).some((entity) => entity.role?.code === '13');
  const what =
    record?.what?.reference?.replace(/\/_history\/(\d+)$/, ' (version $1)') ??
    record?.what?.identifier?.value ??
    (query === undefined ? 'the patient' : 'a search');
  return {
    id: event.id ?? '',
    when: event.recorded,
    who,
    action: event.subtype?.[0]?.code ?? event.type.code ?? '',
    what,
    purpose,
    denied: event.outcome !== '0',
    breakGlass,
    decision: event.outcomeDesc ?? '',
  };
}

function AuditRow(props: { row: Row }) {
  const { row } = props;
  const kind = row.breakGlass ? 'break-glass' : row.denied ? 'denied' : 'permitted';
  return (
    <tr
      class={`audit-row audit-${kind}${row.denied ? ' audit-denied' : ''}`}
      data-testid="audit-row"
      data-kind={kind}
      data-denied={row.denied ? 'true' : 'false'}
    >
      <td data-label="When">
        <div>{formatTime(row.when)}</div>
      </td>
      <td data-label="Who">
        <div>{row.who}</div>
      </td>
      <td data-label="Action">
        <div>
          {row.action}
          <div class="meta">{row.what}</div>
        </div>
      </td>
      <td data-label="Purpose">
        <div>{row.purpose}</div>
      </td>
      <td data-label="Decision">
        <div>
          {row.breakGlass ? <span class="badge badge-danger">Break-glass</span> : null}
          {row.denied ? (
            <span class="badge badge-warn">Denied</span>
          ) : (
            <span class="badge badge-ok">Permitted</span>
          )}
          <div class="meta">{row.decision}</div>
        </div>
      </td>
    </tr>
  );
}

/** The audit search; `patient` (from the review queue) fills the form and searches at once. */
export function AuditSearch(props: {
  session: Session;
  patient: { id: string; at: number } | null;
}) {
  const [patient, setPatient] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [agent, setAgent] = useState('');
  const [show, setShow] = useState<Show>('all');
  const [invalid, setInvalid] = useState<{ field: 'patient' | 'agent'; message: string } | null>(
    null,
  );
  const [query, setQuery] = useState<Query | null>(null);
  const [rows, setRows] = useState<Row[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [total, setTotal] = useState<number | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = async (path: string, append: boolean) => {
    setLoading(true);
    setError(null);
    try {
      const bundle = await call<Bundle<AuditEvent>>(path, { session: props.session });
      const found = (bundle.entry ?? [])
        .map((entry) => entry.resource)
        .filter((event): event is AuditEvent => event?.resourceType === 'AuditEvent')
        .map(rowOf);
      setRows((before) => (append ? [...before, ...found] : found));
      setNext(nextPath(bundle));
      setTotal(bundle.total);
    } catch (failure) {
      setError(describeFailure(failure));
      if (!append) setRows([]);
    } finally {
      setLoading(false);
    }
  };

  const search = (next: Query) => {
    setQuery(next);
    void load(searchPath(next), false);
  };

  useEffect(() => {
    if (props.patient === null) return;
    setPatient(props.patient.id);
    setInvalid(null);
    const next: Query = { patient: props.patient.id, from, to, agent, show };
    search(next);
    document.getElementById('audit-search-title')?.scrollIntoView?.({ block: 'start' });
    document.getElementById('audit-patient')?.focus();
  }, [props.patient?.at]);

  const submit = (event: Event) => {
    event.preventDefault();
    const id = patient.trim().toLowerCase();
    if (!pseudonymPattern.test(id)) {
      setInvalid({
        field: 'patient',
        message: 'Enter the patient id: 32 characters of 0–9 and a–f.',
      });
      document.getElementById('audit-patient')?.focus();
      return;
    }
    const who = agent.trim().toLowerCase();
    if (who !== '' && !/^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/.test(who)) {
      setInvalid({
        field: 'agent',
        message: 'Write the practitioner as organisation/id, e.g. riverside-clinic/er-1.',
      });
      document.getElementById('audit-agent')?.focus();
      return;
    }
    setInvalid(null);
    search({ patient: id, from, to, agent: who, show });
  };

  const shown = query?.show === 'break-glass' ? rows.filter((row) => row.breakGlass) : rows;
  const errorOf = (field: 'patient' | 'agent') =>
    invalid?.field === field ? (
      <p id={`audit-${field}-error`} class="field-error">
        {invalid.message}
      </p>
    ) : null;

  return (
    <section aria-labelledby="audit-search-title" class="audit-search">
      <h2 id="audit-search-title">Access log search</h2>
      <p class="hint">
        Every access decision about a patient, from the ledger. Your search is itself recorded in
        the patient’s access log.
      </p>
      <form
        role="search"
        aria-label="Search the access log"
        data-testid="audit-search"
        class="audit-form"
        noValidate
        onSubmit={submit}
      >
        <div class="audit-field audit-field-wide">
          <label for="audit-patient">Patient id</label>
          <input
            id="audit-patient"
            class="pseudonym"
            autoComplete="off"
            spellcheck={false}
            required
            value={patient}
            aria-invalid={invalid?.field === 'patient' ? 'true' : undefined}
            aria-describedby={invalid?.field === 'patient' ? 'audit-patient-error' : undefined}
            onInput={(event) => setPatient((event.target as HTMLInputElement).value)}
          />
          {errorOf('patient')}
        </div>
        <div class="audit-field">
          <label for="audit-from">From</label>
          <input
            id="audit-from"
            type="date"
            value={from}
            onInput={(event) => setFrom((event.target as HTMLInputElement).value)}
          />
        </div>
        <div class="audit-field">
          <label for="audit-to">To</label>
          <input
            id="audit-to"
            type="date"
            value={to}
            onInput={(event) => setTo((event.target as HTMLInputElement).value)}
          />
        </div>
        <div class="audit-field">
          <label for="audit-agent">Practitioner</label>
          <input
            id="audit-agent"
            autoComplete="off"
            placeholder="organisation/id"
            value={agent}
            aria-invalid={invalid?.field === 'agent' ? 'true' : undefined}
            aria-describedby={
              invalid?.field === 'agent' ? 'audit-agent-hint audit-agent-error' : 'audit-agent-hint'
            }
            onInput={(event) => setAgent((event.target as HTMLInputElement).value)}
          />
          <p id="audit-agent-hint" class="hint">
            Optional, e.g. riverside-clinic/er-1.
          </p>
          {errorOf('agent')}
        </div>
        <div class="audit-field">
          <label for="audit-show">Show</label>
          <select
            id="audit-show"
            value={show}
            onChange={(event) => setShow((event.target as HTMLSelectElement).value as Show)}
          >
            <option value="all">Every event</option>
            <option value="denied">Denials only</option>
            <option value="break-glass">Break-glass only</option>
          </select>
        </div>
        <div class="audit-field audit-submit">
          <button type="submit" disabled={loading}>
            Search
          </button>
        </div>
      </form>
      <div role="status" class="loading-line">
        {loading ? 'Searching the ledger…' : ''}
      </div>
      {error === null ? null : <Notice kind="error">{error}</Notice>}
      {query === null || (loading && rows.length === 0) ? null : (
        <div class="table-wrap">
          <table class="audit-table" data-testid="audit-results">
            <caption>
              Access log of patient <span class="pseudonym">{query.patient.slice(0, 8)}…</span>:{' '}
              {query.show === 'break-glass'
                ? `${shown.length} break-glass event${shown.length === 1 ? '' : 's'} among the ${rows.length} loaded`
                : `${rows.length} of ${total ?? rows.length} event${(total ?? rows.length) === 1 ? '' : 's'}`}
              , newest first
            </caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Purpose</th>
                <th scope="col">Decision</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((row) => (
                <AuditRow key={row.id} row={row} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next === null || query === null ? null : (
        <div class="actions">
          <button
            type="button"
            class="secondary"
            disabled={loading}
            onClick={() => void load(next, true)}
          >
            Load more
          </button>
        </div>
      )}
    </section>
  );
}
