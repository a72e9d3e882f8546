/**
 * The patient's request to erase their records (right to erasure, GDPR art. 17): what happens is
 * said first, then a confirmation dialog; the request is `POST /fhir/Patient/<id>/$erase?reason=
 * patient-request`. The organisation destroys the records' data keys (crypto-shredding) and
 * anchors an "erased" marker per record; the hash history stays on the ledger and still verifies.
 */
import { useRef, useState } from 'preact/hooks';

import { organisationName } from './patient-names.ts';
import { type Session, call } from './session.ts';
import { Notice, describeFailure } from './ui.tsx';

interface OperationOutcome {
  issue?: Array<{ diagnostics?: string; details?: { text?: string } }>;
}

export function PatientErase(props: { session: Session; onErased: () => void }) {
  const { session } = props;
  const dialogRef = useRef<HTMLDialogElement>(null);
  const openerRef = useRef<HTMLButtonElement>(null);
  const [understood, setUnderstood] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const holder = organisationName(session.user.orgId);

  const open = () => {
    setUnderstood(false);
    setResult(null);
    dialogRef.current?.showModal();
  };
  const close = () => {
    dialogRef.current?.close();
  };
  const erase = async (event: Event) => {
    event.preventDefault();
    if (!understood) return;
    setBusy(true);
    try {
      const outcome = await call<OperationOutcome>(
        `/fhir/Patient/${encodeURIComponent(session.user.id)}/$erase?reason=patient-request`,
        { session, method: 'POST' },
      );
      const said = (outcome.issue ?? [])
        .map((issue) => issue.details?.text ?? issue.diagnostics)
        .filter((text): text is string => typeof text === 'string')
        .join(' ');
      setResult({
        kind: 'success',
        text: `${holder} erased your records. ${said}`.trim(),
      });
      props.onErased();
    } catch (error) {
      setResult({ kind: 'error', text: `Your records were not erased: ${describeFailure(error)}` });
    } finally {
      setBusy(false);
      close();
    }
  };

  return (
    <section aria-labelledby="erase-title" class="patient-section">
      <h2 id="erase-title" tabIndex={-1}>
        Erase your records
      </h2>
      <p>You may ask {holder} to erase every record it holds about you. What happens then:</p>
      <ul class="patient-erase-facts">
        <li>
          The keys that decrypt your records are destroyed: the records become unreadable
          everywhere, at once and for good — for you, for {holder} and for anyone they were shared
          with.
        </li>
        <li>
          The ledger keeps the hash history: that each record existed, its salted hash, who held it,
          when it was erased, and your access log. It proves what existed and that it was erased,
          but no content can be read or rebuilt from it.
        </li>
        <li>
          Records other organisations hold about you are not affected: ask each of them. Your
          consents stay until you revoke them.
        </li>
        <li>This cannot be undone.</li>
      </ul>
      {result === null ? null : (
        <Notice kind={result.kind} title={result.kind === 'success' ? 'Erased' : 'Not erased'}>
          {result.text}
        </Notice>
      )}
      <div class="actions">
        <button
          type="button"
          class="danger"
          ref={openerRef}
          onClick={open}
          data-testid="erase-button"
        >
          Ask to erase my records…
        </button>
      </div>
      <dialog
        ref={dialogRef}
        aria-labelledby="erase-dialog-title"
        aria-describedby="erase-dialog-text"
        data-testid="erase-dialog"
        onClose={() => openerRef.current?.focus()}
      >
        <form method="dialog" onSubmit={(event) => void erase(event)}>
          <h2 id="erase-dialog-title">Erase all your records held by {holder}?</h2>
          <p id="erase-dialog-text">
            Your records there become unreadable everywhere, for good. The ledger keeps only their
            hash history, which cannot be read back into records.
          </p>
          <label class="checkbox">
            <input
              type="checkbox"
              checked={understood}
              onChange={(event) => setUnderstood(event.currentTarget.checked)}
              data-testid="erase-understood"
            />
            I understand that this cannot be undone
          </label>
          <div class="actions">
            <button
              type="submit"
              class="danger"
              disabled={!understood || busy}
              data-testid="erase-confirm"
            >
              {busy ? 'Erasing…' : 'Erase my records'}
            </button>
            <button type="button" class="secondary" onClick={close} disabled={busy}>
              Cancel
            </button>
          </div>
        </form>
      </dialog>
    </section>
  );
}
