/**
 * The break-glass review queue (CONVENTIONS.md "Break-glass and audit duties": every use is
 * reviewed afterwards): the uses awaiting review (`GET /fhir/$break-glass-review`, BALP security
 * alerts), and for each use of the officer's own organisation a note and three decisions —
 * approve (justified), flag as unjustified, flag as inconclusive. A decision closes the review on
 * chain (`access.close-review`, signed in this browser with the officer's own key: see
 * privacy-sign.ts). Notes are codes: the ledger keeps no free text, so no patient information.
 *
 * Test hooks (accessible names first; `data-testid` where a name is not enough):
 * - region "Break-glass uses awaiting review" — `data-testid="review-queue"`
 * - each use: list item — `data-testid="review-entry"`, `data-break-glass-id`; its badge text
 *   "Break-glass"
 * - note: select "Note" (one per entry, labelled with the entry) — `data-testid="review-note"`
 * - decisions: buttons "Approve: justified" (`data-testid="review-approve"`), "Flag: unjustified"
 *   (`data-testid="review-flag"`), "Flag: inconclusive" (`data-testid="review-inconclusive"`)
 * - per-entry error `role=alert` — `data-testid="review-error"`; the closed message `role=status`
 *   — `data-testid="review-closed"`
 * - signing key: file field "Your signing key file" — `data-testid="signing-key-file"`; loaded key
 *   `data-testid="signing-key-loaded"`; button "Forget the key"
 * - "Access log of this patient" buttons — `data-testid="review-audit-link"`
 */
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { useState } from 'preact/hooks';

import { fromHex, toHex } from '../base/index.ts';
import type { ReviewOutcome } from '../contracts/index.ts';
import { type Ed25519KeyPair, ed25519KeyPairFromSeed } from '../crypto/index.ts';
import { closeReview, parseKeyFile } from './privacy-sign.ts';
import { loadReviewQueue } from './review-queue.ts';
import type { Session } from './session.ts';
import { call } from './session.ts';
import { Notice, describeFailure, formatTime, useLoad } from './ui.tsx';

/** Review notes: codes the ledger keeps (no free text on chain), and what they mean. */
export const reviewNotes: ReadonlyArray<{ code: string; display: string }> = [
  { code: 'emergency-confirmed', display: 'Emergency confirmed in the clinical record' },
  { code: 'documented-in-chart', display: 'Reason documented in the chart' },
  { code: 'no-emergency-found', display: 'No emergency found' },
  { code: 'reason-insufficient', display: 'Stated reason insufficient' },
  { code: 'not-treating', display: 'User was not treating the patient' },
  { code: 'needs-follow-up', display: 'Needs follow-up with the user' },
];

/** A break-glass use as the queue's AuditEvent describes it. */
export interface BreakGlassUse {
  readonly id: string;
  readonly orgId: string;
  /** `org/practitioner`. */
  readonly user: string;
  readonly patientId: string;
  readonly purpose: string;
  readonly reason: string;
  readonly start: string | undefined;
  readonly end: string | undefined;
}

/** `Practitioner/org--id` → `org/id` (fhir/consent-resource.ts's actor references). */
export function practitionerOfReference(reference: string | undefined): string {
  if (reference === undefined) return 'unknown';
  const id = reference.replace(/^Practitioner\//, '');
  return id.includes('--') ? id.replace('--', '/') : id;
}

export function useOfEvent(event: AuditEvent): BreakGlassUse {
  const patient = event.entity?.find((entity) => entity.what?.reference?.startsWith('Patient/'));
  const grant = event.entity?.find((entity) => entity.role?.code === '13');
  const user = event.agent.find((agent) => agent.requestor);
  return {
    id: event.id ?? '',
    orgId: event.source.site ?? '',
    user: practitionerOfReference(user?.who?.reference),
    patientId: patient?.what?.reference?.slice('Patient/'.length) ?? '',
    purpose: event.purposeOfEvent?.[0]?.coding?.[0]?.code ?? '',
    reason: grant?.detail?.find((detail) => detail.type === 'reason')?.valueString ?? '',
    start: event.period?.start,
    end: event.period?.end,
  };
}

/** The officer's signing key: from a key file, in memory only. */
export function SigningKey(props: {
  keyPair: Ed25519KeyPair | null;
  onKey: (keyPair: Ed25519KeyPair | null) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  return (
    <section class="signing-key" aria-labelledby="signing-key-title">
      <h3 id="signing-key-title">Your signature</h3>
      <p>
        Closing a review is signed with your own registered key, in this browser: the key file is
        read here, kept in this tab’s memory only, and never sent.
      </p>
      {props.keyPair === null ? (
        <>
          <label for="signing-key-file">Your signing key file</label>
          <input
            id="signing-key-file"
            type="file"
            accept=".key,.json,application/json"
            data-testid="signing-key-file"
            aria-describedby={error === null ? undefined : 'signing-key-error'}
            onChange={(event) => {
              const file = (event.target as HTMLInputElement).files?.[0];
              if (file === undefined) return;
              file.text().then(
                (text) => {
                  try {
                    props.onKey(parseKeyFile(text));
                    setError(null);
                  } catch (failure) {
                    setError(failure instanceof Error ? failure.message : String(failure));
                  }
                },
                () => setError('the file could not be read'),
              );
            }}
          />
          {error === null ? null : (
            <p id="signing-key-error" class="field-error" role="alert">
              {error}
            </p>
          )}
        </>
      ) : (
        <p data-testid="signing-key-loaded">
          Key loaded: public key{' '}
          <span class="pseudonym">{toHex(props.keyPair.publicKey).slice(0, 16)}…</span>{' '}
          <button type="button" class="link-button" onClick={() => props.onKey(null)}>
            Forget the key
          </button>
        </p>
      )}
    </section>
  );
}

const decisions: ReadonlyArray<{
  outcome: ReviewOutcome;
  label: string;
  testid: string;
  style: string;
}> = [
  { outcome: 'justified', label: 'Approve: justified', testid: 'review-approve', style: '' },
  { outcome: 'unjustified', label: 'Flag: unjustified', testid: 'review-flag', style: 'danger' },
  {
    outcome: 'inconclusive',
    label: 'Flag: inconclusive',
    testid: 'review-inconclusive',
    style: 'secondary',
  },
];

function ReviewEntry(props: {
  session: Session;
  use: BreakGlassUse;
  ownOrganisation: boolean;
  keyPair: Ed25519KeyPair | null;
  onClosed: (message: string) => void;
  onAuditLog: (patientId: string) => void;
}) {
  const { use } = props;
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [noteMissing, setNoteMissing] = useState(false);
  const [busy, setBusy] = useState<ReviewOutcome | null>(null);
  const noteId = `review-note-${use.id}`;
  const titleId = `review-title-${use.id}`;
  const ended = use.end !== undefined && Date.parse(use.end) < Date.now();

  const decide = async (outcome: ReviewOutcome) => {
    if (props.keyPair === null) {
      setError('Load your signing key file first (above): the review is signed with your key.');
      document.getElementById('signing-key-file')?.focus();
      return;
    }
    if (note === '') {
      setError('Choose a note: it is kept on the ledger with your decision.');
      setNoteMissing(true);
      document.getElementById(noteId)?.focus();
      return;
    }
    setBusy(outcome);
    setError(null);
    setNoteMissing(false);
    try {
      await closeReview({
        session: props.session,
        keyPair: props.keyPair,
        breakGlassId: use.id,
        outcome,
        noteCode: note,
      });
      props.onClosed(
        `${use.user}’s break-glass of ${formatTime(use.start)} is reviewed: ${outcome} (${note}).`,
      );
    } catch (failure) {
      setError(describeFailure(failure));
    } finally {
      setBusy(null);
    }
  };

  return (
    <li class="card review-entry" data-testid="review-entry" data-break-glass-id={use.id}>
      <h4 id={titleId} class="review-title">
        <span class="badge badge-danger">Break-glass</span> {use.user}
      </h4>
      <dl class="facts">
        <dt>Patient</dt>
        <dd class="pseudonym">{use.patientId}</dd>
        <dt>Purpose</dt>
        <dd>{use.purpose}</dd>
        <dt>Reason</dt>
        <dd>
          {use.reason === 'stated-in-request' ? 'stated in words (kept by the node)' : use.reason}
        </dd>
        <dt>Opened</dt>
        <dd>{formatTime(use.start)}</dd>
        <dt>{ended ? 'Ended' : 'Open until'}</dt>
        <dd>
          {formatTime(use.end)}
          {ended ? '' : ' (still open)'}
        </dd>
      </dl>
      <div class="actions">
        <button
          type="button"
          class="link-button"
          data-testid="review-audit-link"
          aria-describedby={titleId}
          onClick={() => props.onAuditLog(use.patientId)}
        >
          Access log of this patient
        </button>
      </div>
      {props.ownOrganisation ? (
        <fieldset class="review-decision" aria-describedby={titleId}>
          <legend>Your review</legend>
          <label for={noteId}>Note</label>
          <select
            id={noteId}
            data-testid="review-note"
            value={note}
            aria-invalid={noteMissing ? 'true' : undefined}
            aria-describedby={noteMissing ? `review-error-${use.id}` : undefined}
            onChange={(event) => {
              setNote((event.target as HTMLSelectElement).value);
              setError(null);
              setNoteMissing(false);
            }}
          >
            <option value="">Choose a note</option>
            {reviewNotes.map((candidate) => (
              <option key={candidate.code} value={candidate.code}>
                {candidate.display}
              </option>
            ))}
          </select>
          <div class="actions">
            {decisions.map((decision) => (
              <button
                key={decision.outcome}
                type="button"
                class={decision.style}
                disabled={busy !== null}
                data-testid={decision.testid}
                onClick={() => void decide(decision.outcome)}
              >
                {busy === decision.outcome ? 'Signing…' : decision.label}
              </button>
            ))}
          </div>
          {error === null ? null : (
            <p
              id={`review-error-${use.id}`}
              class="notice notice-error"
              role="alert"
              data-testid="review-error"
            >
              {error}
            </p>
          )}
        </fieldset>
      ) : (
        <p class="hint">Reviewed by a privacy officer of {use.orgId}.</p>
      )}
    </li>
  );
}

/** The queue: this organisation's uses to review, then the others'. */
export function ReviewQueue(props: { session: Session; onAuditLog: (patientId: string) => void }) {
  const seed = props.session.practitionerKey;
  const [keyPair, setKeyPair] = useState<Ed25519KeyPair | null>(
    seed === undefined || seed === null ? null : ed25519KeyPairFromSeed(fromHex(seed)),
  );
  const [closed, setClosed] = useState<string | null>(null);
  const queue = useLoad(
    () => loadReviewQueue((path) => call<Bundle<AuditEvent>>(path, { session: props.session })),
    [props.session.token],
  );
  const uses = (queue.data?.events ?? [])
    .map(useOfEvent)
    .sort((a, b) => (a.start ?? '').localeCompare(b.start ?? ''));
  const orgId = props.session.user.orgId;
  const own = uses.filter((use) => use.orgId === orgId);
  const others = uses.filter((use) => use.orgId !== orgId);
  const entry = (use: BreakGlassUse, ownOrganisation: boolean) => (
    <ReviewEntry
      key={use.id}
      session={props.session}
      use={use}
      ownOrganisation={ownOrganisation}
      keyPair={keyPair}
      onClosed={(message) => {
        setClosed(message);
        queue.reload();
        // The decided entry leaves the list: focus goes to the queue, whose status says what
        // happened, rather than to the top of the page.
        document.getElementById('review-queue-title')?.focus();
      }}
      onAuditLog={props.onAuditLog}
    />
  );
  return (
    <section aria-labelledby="review-queue-title" data-testid="review-queue">
      <h2 id="review-queue-title" tabIndex={-1}>
        Break-glass uses awaiting review
      </h2>
      <div role="status" data-testid="review-closed">
        {closed === null ? null : <div class="notice notice-success">{closed}</div>}
      </div>
      {queue.error === null ? null : <Notice kind="error">{queue.error}</Notice>}
      {queue.loading && queue.data === undefined ? <p role="status">Loading the queue…</p> : null}
      {queue.data === undefined ? null : (
        <>
          <p>
            {own.length === 0
              ? `No break-glass use of ${orgId} awaits review.`
              : `${own.length} use${own.length === 1 ? '' : 's'} of ${orgId} await${own.length === 1 ? 's' : ''} your review.`}
          </p>
          {queue.data.more ? (
            <p class="hint" data-testid="review-more">
              Showing the first {queue.data.events.length} of {queue.data.total ?? 'more'} uses
              awaiting review; review these to see the rest.
            </p>
          ) : null}
          {own.length === 0 ? null : (
            <>
              <SigningKey keyPair={keyPair} onKey={setKeyPair} />
              <h3 id="review-own-title">Uses of {orgId}</h3>
              <ul class="list review-list" aria-labelledby="review-own-title">
                {own.map((use) => entry(use, true))}
              </ul>
            </>
          )}
          {others.length === 0 ? null : (
            <section aria-labelledby="review-others-title">
              <h3 id="review-others-title">Other organisations’ uses ({others.length})</h3>
              <p class="hint">Each organisation’s privacy officers review their own staff.</p>
              <ul class="list review-list">{others.map((use) => entry(use, false))}</ul>
            </section>
          )}
        </>
      )}
    </section>
  );
}
