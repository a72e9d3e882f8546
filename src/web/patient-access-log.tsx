/**
 * The patient's access log: who opened what, when, from which organisation and why, from the
 * ledger (`GET /fhir/AuditEvent?patient=…`, itself audited). Refusals and emergency access
 * (break-glass) stand out in colour and in words. Each entry carries a verified mark: the
 * access-log bundle of the period is verified in this browser and each entry compared with the
 * event it proves; entries the ledger holds but the page was not shown are reported.
 */
import { useEffect, useState } from 'preact/hooks';

import {
  type AuditFacts,
  type FhirAuditEvent,
  auditFactsOf,
  isBreakGlass,
  isOwnVisit,
} from './patient-audit-model.ts';
import { PatientMark, markWithoutGenesis } from './patient-genesis.tsx';
import {
  type Directory,
  actionName,
  organisationName,
  practitionerName,
  purposeName,
  reasonName,
  recordTypeName,
} from './patient-names.ts';
import { type RecordView, searchAll } from './patient-records.tsx';
import {
  type AccessLogProof,
  type GenesisState,
  type Mark,
  accessLogFailure,
  markOfAuditEvent,
  proveAccessLog,
} from './patient-verify.ts';
import type { Session } from './session.ts';
import { Notice, describeFailure, formatTime } from './ui.tsx';

const dayMs = 86_400_000;

const periods = [
  { value: '7', words: 'Last 7 days', days: 7 },
  { value: '30', words: 'Last 30 days', days: 30 },
  { value: '365', words: 'Last 12 months', days: 365 },
  { value: 'all', words: 'Everything', days: null },
] as const;
type PeriodValue = (typeof periods)[number]['value'];

const views = [
  { value: 'others', words: 'Access by others' },
  { value: 'flagged', words: 'Refusals and emergency access only' },
  { value: 'all', words: 'Everything, with your own visits' },
] as const;
type ViewValue = (typeof views)[number]['value'];

interface Entry {
  readonly event: FhirAuditEvent;
  readonly facts: AuditFacts;
}

interface LogState {
  readonly entries: readonly Entry[];
  readonly from: number;
  /** The proof, or the mark every entry gets when there is none. */
  readonly proof: AccessLogProof | Mark;
}

function kindOf(facts: AuditFacts): 'break-glass' | 'denied' | 'own' | 'access' {
  if (isBreakGlass(facts)) return 'break-glass';
  if (facts.decision === 'deny') return 'denied';
  if (isOwnVisit(facts)) return 'own';
  return 'access';
}

function whoOf(facts: AuditFacts, directory: Directory | undefined): string {
  if (facts.practitioner !== null) return practitionerName(directory, facts.practitioner);
  if (facts.client !== null) return `the app ${facts.client}`;
  if (isOwnVisit(facts)) return 'You';
  return facts.orgId === null ? 'Someone' : organisationName(facts.orgId);
}

function whatOf(facts: AuditFacts, records: ReadonlyMap<string, RecordView>): string {
  if (facts.record === null) return facts.isSearch ? 'your records (a search)' : 'your records';
  const shown = records.get(facts.record.id);
  if (shown !== undefined) return `${recordTypeName(shown.type).toLowerCase()} “${shown.title}”`;
  if (facts.record.type === 'Patient') return 'your personal details';
  if (facts.record.type === null) return 'one of your records';
  return `a ${recordTypeName(facts.record.type).toLowerCase()} record`;
}

function sentenceOf(
  facts: AuditFacts,
  directory: Directory | undefined,
  records: ReadonlyMap<string, RecordView>,
): string {
  const refused = facts.decision === 'deny';
  const what = whatOf(facts, records);
  if (facts.action === 'disclose') {
    const from = facts.orgId === null ? 'An organisation' : organisationName(facts.orgId);
    return refused
      ? `${from} refused to send ${what} to another organisation`
      : `${from} sent ${what} to another organisation`;
  }
  return `${whoOf(facts, directory)} ${actionName(facts.action ?? 'access', refused)} ${what}`;
}

function EntryItem(props: {
  entry: Entry;
  directory: Directory | undefined;
  records: ReadonlyMap<string, RecordView>;
  mark: Mark | undefined;
}) {
  const { facts } = props.entry;
  const kind = kindOf(facts);
  const breakGlass = kind === 'break-glass';
  const denied = facts.decision === 'deny';
  const time = facts.time === null ? undefined : new Date(facts.time).toISOString();
  return (
    <li
      class={`card patient-access${breakGlass ? ' highlight' : ''}${denied ? ' denied' : ''}`}
      data-testid="access-entry"
      data-kind={kind}
      data-sequence={facts.sequence ?? undefined}
    >
      <p class="patient-access-head">
        <time dateTime={time}>{formatTime(facts.time ?? undefined)}</time>
        {breakGlass ? <span class="badge badge-danger">Emergency access (break-glass)</span> : null}
        {denied ? <span class="badge badge-warn">Refused</span> : null}
      </p>
      <p class="patient-access-sentence">{sentenceOf(facts, props.directory, props.records)}.</p>
      <dl class="patient-access-facts">
        <div>
          <dt>From</dt>
          <dd>{facts.orgId === null ? 'unknown' : organisationName(facts.orgId)}</dd>
        </div>
        <div>
          <dt>Why</dt>
          <dd>{facts.purpose === null ? 'not said' : `for ${purposeName(facts.purpose)}`}</dd>
        </div>
        <div>
          <dt>Decision</dt>
          <dd>
            {denied ? 'Refused' : 'Allowed'}
            {facts.reason === null ? '' : `: ${reasonName(facts.reason)}`}
          </dd>
        </div>
      </dl>
      {breakGlass && !denied ? (
        <p class="patient-access-note">
          Emergency access skips your consents. It is time-limited, needs a reason and is reviewed
          by the privacy officer of{' '}
          {facts.orgId === null ? 'that organisation' : organisationName(facts.orgId)}.
        </p>
      ) : null}
      <p class="meta">
        Entry {facts.sequence ?? '?'} · <PatientMark mark={props.mark} />
      </p>
    </li>
  );
}

async function loadLog(options: {
  session: Session;
  genesis: GenesisState;
  days: number | null;
}): Promise<LogState> {
  const { session, genesis } = options;
  const now = Date.now();
  const from = options.days === null ? 0 : now - options.days * dayMs;
  const patient = encodeURIComponent(session.user.id);
  const date = options.days === null ? '' : `&date=ge${new Date(from).toISOString()}`;
  const events = await searchAll<FhirAuditEvent>(
    session,
    `/fhir/AuditEvent?patient=${patient}${date}&_count=100`,
  );
  const entries = events
    .map((event) => ({ event, facts: auditFactsOf(event) }))
    .sort(
      (a, b) =>
        (b.facts.time ?? 0) - (a.facts.time ?? 0) ||
        (b.facts.sequence ?? 0) - (a.facts.sequence ?? 0),
    );
  let proof: AccessLogProof | Mark;
  if (genesis.state !== 'ready') {
    proof = markWithoutGenesis(genesis) ?? { state: 'checking' };
  } else {
    // The events were read first: the proof, built after, covers every block they came from.
    try {
      proof = await proveAccessLog(genesis.trust, { patientId: session.user.id, from, to: now });
    } catch (error) {
      proof = accessLogFailure(error);
    }
  }
  return { entries, from, proof };
}

function isProof(value: AccessLogProof | Mark): value is AccessLogProof {
  return 'events' in value;
}

/** The access-log section: period, view, summary, proof status and the entries. */
export function PatientAccessLog(props: {
  session: Session;
  genesis: GenesisState;
  directory: Directory | undefined;
  records: ReadonlyMap<string, RecordView>;
}) {
  const { session, genesis } = props;
  const [period, setPeriod] = useState<PeriodValue>('30');
  const [view, setView] = useState<ViewValue>('others');
  const [state, setState] = useState<LogState | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  const genesisKey = genesis.state === 'ready' ? genesis.trust.hash : genesis.state;

  useEffect(() => {
    if (genesis.state === 'loading') return undefined;
    let live = true;
    setLoading(true);
    const days = periods.find((candidate) => candidate.value === period)?.days ?? 30;
    loadLog({ session, genesis, days }).then(
      (next) => {
        if (!live) return;
        setState(next);
        setError(null);
        setLoading(false);
      },
      (failure: unknown) => {
        if (!live) return;
        setError(describeFailure(failure));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [session.token, period, genesisKey, round]);

  const entries = state?.entries ?? [];
  const shown = entries.filter((entry) => {
    const kind = kindOf(entry.facts);
    if (view === 'all') return true;
    if (view === 'flagged') return kind === 'break-glass' || kind === 'denied';
    return kind !== 'own';
  });
  const own = entries.filter((entry) => kindOf(entry.facts) === 'own').length;
  const refused = entries.filter((entry) => entry.facts.decision === 'deny').length;
  const emergency = entries.filter((entry) => isBreakGlass(entry.facts)).length;
  const proof = state === undefined ? undefined : state.proof;
  const markOf = (entry: Entry): Mark | undefined => {
    if (proof === undefined) return undefined;
    return isProof(proof) ? markOfAuditEvent(proof, entry.facts) : proof;
  };
  // Entries the ledger proves for the period that the node did not list here.
  let missing = 0;
  if (proof !== undefined && isProof(proof) && state !== undefined) {
    // The list was read at some height at least that of its newest entry; an event the ledger
    // recorded later (this very search's own entry, say) may rightly be absent from it.
    const listed = new Set(entries.map((entry) => entry.facts.sequence));
    const listedHeight = Math.max(0, ...entries.map((entry) => entry.facts.height ?? 0));
    for (const event of proof.events.values()) {
      const hidden = event.inPeriod && event.time >= state.from && !listed.has(event.sequence);
      if (hidden && event.recordedHeight <= listedHeight) missing++;
    }
  }

  return (
    <section aria-labelledby="access-title" class="patient-section">
      <h2 id="access-title" tabIndex={-1}>
        Who opened your records
      </h2>
      <p class="hint">
        Every access to your records, allowed or refused, is written on the ledger by the
        organisation that decided it. Looking at this list is recorded too.
      </p>
      <div class="patient-controls">
        <div>
          <label for="access-period">Period</label>
          <select
            id="access-period"
            value={period}
            onChange={(event) => setPeriod(event.currentTarget.value as PeriodValue)}
          >
            {periods.map((option) => (
              <option key={option.value} value={option.value}>
                {option.words}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="access-view">Show</label>
          <select
            id="access-view"
            value={view}
            onChange={(event) => setView(event.currentTarget.value as ViewValue)}
          >
            {views.map((option) => (
              <option key={option.value} value={option.value}>
                {option.words}
              </option>
            ))}
          </select>
        </div>
        <div class="patient-controls-button">
          <button
            type="button"
            class="secondary"
            disabled={loading}
            onClick={() => setRound(round + 1)}
          >
            Check again
          </button>
        </div>
      </div>
      {error === null ? null : (
        <Notice kind="error" title="Your access log could not be loaded">
          {error}
        </Notice>
      )}
      {loading && state === undefined ? <p role="status">Loading your access log…</p> : null}
      {state === undefined ? null : (
        <>
          <p class="patient-summary" role="status" data-testid="access-summary">
            {entries.length - own} by others
            {refused > 0 ? (
              <>
                {' · '}
                <span class="badge badge-warn">{refused} refused</span>
              </>
            ) : (
              ' · none refused'
            )}
            {emergency > 0 ? (
              <>
                {' · '}
                <span class="badge badge-danger">{emergency} emergency access</span>
              </>
            ) : (
              ' · no emergency access'
            )}
            {` · ${own} of your own visits`}
          </p>
          {proof !== undefined && isProof(proof) ? (
            <p class="hint" data-testid="access-proof">
              The ledger proves this list complete for every block up to block {proof.throughHeight}{' '}
              ({formatTime(proof.throughTime)}): nothing recorded in the period was left out.
            </p>
          ) : null}
          {proof !== undefined && !isProof(proof) && proof.state !== 'checking' ? (
            <Notice kind="warning" title="The access log could not be verified">
              {proof.detail}
            </Notice>
          ) : null}
          {missing > 0 ? (
            <Notice kind="error" title="Entries are missing from this list">
              The ledger holds {missing} {missing === 1 ? 'entry' : 'entries'} in this period that
              this node did not show. Ask your hospital’s privacy officer why.
            </Notice>
          ) : null}
          {shown.length === 0 ? (
            <Notice kind="info">Nothing to show for this period.</Notice>
          ) : (
            <ol class="list" data-testid="access-log" aria-label="Access log entries">
              {shown.map((entry) => (
                <EntryItem
                  key={entry.event.id}
                  entry={entry}
                  directory={props.directory}
                  records={props.records}
                  mark={markOf(entry)}
                />
              ))}
            </ol>
          )}
        </>
      )}
    </section>
  );
}
