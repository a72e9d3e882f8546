/**
 * Break-glass (CONVENTIONS.md "Break-glass and audit duties"): the dialog that asks for a purpose
 * (BTG or ETREAT) and a reason before a clinician of the designated group opens emergency access
 * to one patient, and the banner that shows, while it lasts, what was asked and the time left,
 * counting down to the end of the break-glass sign-in.
 *
 * The dialog is a modal `<dialog>`: the page behind it is inert, Tab and Shift+Tab cycle inside
 * it, Escape closes it, and focus returns to the button that opened it.
 *
 * Test hooks (accessible names first; `data-testid` where a name is not enough):
 * - dialog: role `dialog`, name "Break the glass" — `data-testid="break-glass-dialog"`
 * - purpose: radios "Break the glass (BTG)" and "Emergency treatment (ETREAT)"
 * - reason: select "Reason" — `data-testid="break-glass-reason"`; with "Other", textarea
 *   "Describe the emergency" — `data-testid="break-glass-reason-text"`
 * - confirm: button "Open emergency access" — `data-testid="break-glass-confirm"`; cancel:
 *   button "Cancel"
 * - error inside the dialog: role `alert` — `data-testid="break-glass-error"`
 * - banner: region "Break-glass access" — `data-testid="break-glass-banner"`; the countdown:
 *   role `timer` — `data-testid="break-glass-timer"`; button "End break-glass now" —
 *   `data-testid="break-glass-end"`
 */
import { useEffect, useRef, useState } from 'preact/hooks';

import { countdownWords, formatCountdown } from './clinician-fhir.ts';
import { formatTime } from './ui.tsx';

/** Reasons a clinician picks from: short codes, which the ledger keeps as they are. */
export const breakGlassReasons: ReadonlyArray<{ code: string; display: string }> = [
  { code: 'unconscious', display: 'Patient unconscious or unable to consent' },
  { code: 'life-threatening', display: 'Life-threatening emergency' },
  { code: 'emergency-surgery', display: 'Emergency surgery' },
  { code: 'acute-psychiatric', display: 'Acute psychiatric emergency' },
];

const otherReason = 'other';
/** Longest free-text reason (the token allows 500 characters). */
const reasonTextCharsMax = 500;

/** What the clinician asked for: purpose of use and the reason (a code or their words). */
export interface BreakGlassRequest {
  readonly purpose: 'BTG' | 'ETREAT';
  readonly reason: string;
}

const focusableSelector =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** The break-glass dialog for `patientLabel`; `onConfirm` signs in again with the purpose. */
export function BreakGlassDialog(props: {
  open: boolean;
  patientLabel: string;
  onConfirm: (request: BreakGlassRequest) => Promise<void>;
  onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  const [purpose, setPurpose] = useState<'BTG' | 'ETREAT'>('BTG');
  const [reasonCode, setReasonCode] = useState('');
  const [reasonText, setReasonText] = useState('');
  const [invalid, setInvalid] = useState<'code' | 'text' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const element = dialog.current;
    if (element === null) return;
    if (props.open && !element.open) {
      opener.current = document.activeElement as HTMLElement | null;
      setError(null);
      setInvalid(null);
      element.showModal();
      element.querySelector<HTMLElement>('input[name="break-glass-purpose"]:checked')?.focus();
    } else if (!props.open && element.open) {
      element.close();
    }
  }, [props.open]);

  const close = () => {
    if (busy) return;
    props.onClose();
    // The opener may be gone (the view re-rendered); then focus stays where the browser puts it.
    const target = opener.current;
    if (target !== null && target.isConnected) setTimeout(() => target.focus(), 0);
  };

  // Tab and Shift+Tab stay inside the dialog; Escape arrives as the dialog's cancel event.
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== 'Tab' || dialog.current === null) return;
    const focusable = [...dialog.current.querySelectorAll<HTMLElement>(focusableSelector)].filter(
      (element) => element.offsetParent !== null,
    );
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (first === undefined || last === undefined) return;
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    if (reasonCode === '') {
      setInvalid('code');
      dialog.current?.querySelector<HTMLElement>('#break-glass-reason')?.focus();
      return;
    }
    const text = reasonText.trim();
    if (reasonCode === otherReason && text.length === 0) {
      setInvalid('text');
      dialog.current?.querySelector<HTMLElement>('#break-glass-reason-text')?.focus();
      return;
    }
    setInvalid(null);
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm({ purpose, reason: reasonCode === otherReason ? text : reasonCode });
      setReasonCode('');
      setReasonText('');
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog
      ref={dialog}
      class="break-glass-dialog"
      aria-labelledby="break-glass-title"
      aria-describedby="break-glass-about"
      data-testid="break-glass-dialog"
      onCancel={(event) => {
        event.preventDefault();
        close();
      }}
      // The browser may close the dialog itself (Escape pressed twice): the view follows.
      onClose={() => {
        if (props.open) close();
      }}
      onKeyDown={onKeyDown}
    >
      <form onSubmit={(event) => void submit(event)} noValidate>
        <h2 id="break-glass-title">Break the glass</h2>
        <p id="break-glass-about">
          Emergency access to <strong>{props.patientLabel}</strong> without their consent. It is
          recorded on the ledger, the patient is told, and a privacy officer reviews every use. Your
          emergency sign-in lasts 15 minutes; the grant it opens on the ledger stays open for up to
          an hour (the network's limit) and every read under it is listed for review.
        </p>
        <fieldset>
          <legend>Purpose of use</legend>
          <label class="checkbox">
            <input
              type="radio"
              name="break-glass-purpose"
              value="BTG"
              checked={purpose === 'BTG'}
              onChange={() => setPurpose('BTG')}
            />
            Break the glass (BTG)
          </label>
          <label class="checkbox">
            <input
              type="radio"
              name="break-glass-purpose"
              value="ETREAT"
              checked={purpose === 'ETREAT'}
              onChange={() => setPurpose('ETREAT')}
            />
            Emergency treatment (ETREAT)
          </label>
        </fieldset>
        <label for="break-glass-reason">Reason (required)</label>
        <select
          id="break-glass-reason"
          data-testid="break-glass-reason"
          required
          aria-invalid={invalid === 'code' ? 'true' : undefined}
          aria-describedby={invalid === 'code' ? 'break-glass-reason-error' : undefined}
          value={reasonCode}
          onChange={(event) => {
            setReasonCode((event.target as HTMLSelectElement).value);
            setInvalid(null);
          }}
        >
          <option value="">Choose a reason</option>
          {breakGlassReasons.map((reason) => (
            <option key={reason.code} value={reason.code}>
              {reason.display}
            </option>
          ))}
          <option value={otherReason}>Other (describe it)</option>
        </select>
        {invalid === 'code' ? (
          <p id="break-glass-reason-error" class="field-error">
            Choose the reason for emergency access.
          </p>
        ) : null}
        {reasonCode === otherReason ? (
          <>
            <label for="break-glass-reason-text">Describe the emergency</label>
            <textarea
              id="break-glass-reason-text"
              data-testid="break-glass-reason-text"
              rows={3}
              maxLength={reasonTextCharsMax}
              required
              aria-invalid={invalid === 'text' ? 'true' : undefined}
              aria-describedby={`break-glass-reason-hint${invalid === 'text' ? ' break-glass-text-error' : ''}`}
              value={reasonText}
              onInput={(event) => {
                setReasonText((event.target as HTMLTextAreaElement).value);
                setInvalid(null);
              }}
            />
            <p id="break-glass-reason-hint" class="hint">
              Your words stay on this organisation's node; the ledger records that a reason was
              stated. Do not name the patient.
            </p>
            {invalid === 'text' ? (
              <p id="break-glass-text-error" class="field-error">
                Describe the emergency in a few words.
              </p>
            ) : null}
          </>
        ) : null}
        {error === null ? null : (
          <div class="notice notice-error" role="alert" data-testid="break-glass-error">
            <strong class="notice-title">Emergency access was not opened</strong>
            {error}
          </div>
        )}
        <div class="actions">
          <button type="submit" class="danger" disabled={busy} data-testid="break-glass-confirm">
            {busy ? 'Opening…' : 'Open emergency access'}
          </button>
          <button type="button" class="secondary" disabled={busy} onClick={close}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}

/**
 * The banner of an open break-glass session: purpose, reason, the time left counting down each
 * second, and a way to end it now. `onExpired` runs once when the time is up. Screen readers
 * hear the time left at five minutes, one minute and the end (the timer itself is silent).
 */
export function BreakGlassBanner(props: {
  breakGlass: { purpose: string; reason: string; until: number };
  patientLabel: string | null;
  busy: boolean;
  onEnd: () => void;
  onExpired: () => void;
}) {
  const [now, setNow] = useState(Date.now());
  const expired = useRef(false);
  const title = useRef<HTMLHeadingElement>(null);
  // Opening emergency access moves the focus here: the dialog is gone, and this says what holds.
  // After the dialog has closed (the page behind a modal dialog cannot take the focus).
  useEffect(() => {
    const timer = setTimeout(() => title.current?.focus(), 0);
    return () => clearTimeout(timer);
  }, []);
  const { until } = props.breakGlass;
  useEffect(() => {
    expired.current = false;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [until]);
  const left = until - now;
  useEffect(() => {
    if (left <= 0 && !expired.current) {
      expired.current = true;
      props.onExpired();
    }
  }, [left <= 0]);
  const minutesLeft = Math.ceil(left / 60_000);
  const announcement =
    left <= 0
      ? 'Break-glass access has ended.'
      : minutesLeft <= 1
        ? 'One minute of break-glass access left.'
        : minutesLeft <= 5
          ? 'Five minutes of break-glass access left.'
          : '';
  return (
    <section
      class="break-glass-banner"
      aria-labelledby="break-glass-banner-title"
      data-testid="break-glass-banner"
    >
      <h2 id="break-glass-banner-title" ref={title} tabIndex={-1}>
        <span class="badge badge-danger">Break-glass</span> Emergency access is open
      </h2>
      <p>
        {props.patientLabel === null ? null : (
          <>
            For <strong>{props.patientLabel}</strong> ·{' '}
          </>
        )}
        purpose {props.breakGlass.purpose} · reason “{props.breakGlass.reason}”. Every read is
        recorded and will be reviewed.
      </p>
      <p>
        Time left:{' '}
        <span
          class="timer"
          role="timer"
          aria-label={`${countdownWords(left)} left`}
          data-testid="break-glass-timer"
        >
          {formatCountdown(left)}
        </span>{' '}
        <span class="meta">(until {formatTime(until)})</span>
      </p>
      <span class="visually-hidden" aria-live="polite">
        {announcement}
      </span>
      <div class="actions">
        <button
          type="button"
          class="secondary"
          disabled={props.busy}
          onClick={props.onEnd}
          data-testid="break-glass-end"
        >
          End break-glass now
        </button>
      </div>
    </section>
  );
}
