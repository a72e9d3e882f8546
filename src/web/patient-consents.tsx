/**
 * The patient's consents in plain words, a form to grant one (who, which kinds of records, for
 * what, until when, which sensitive categories), and revocation. Each grant and revocation is a
 * transaction signed here with the patient's key (`consent.grant`, `consent.revoke`) and sent in
 * `X-MedLedger-Transaction` with the FHIR write; the node answers once the ledger committed it.
 */
import { useRef, useState } from 'preact/hooks';

import {
  type FhirConsent,
  type GrantChoice,
  type GrantRecipient,
  consentWords,
  grantOf,
  newConsentId,
  provisionOfChoice,
  publicKeyOfSeed,
  signedConsentTransaction,
} from './patient-consent-model.ts';
import { PatientMark, markWithoutGenesis, useMark } from './patient-genesis.tsx';
import {
  type Directory,
  grantPurposes,
  organisationName,
  recordTypeName,
  recordTypes,
  restrictedLabels,
  roleName,
  sensitiveCategories,
} from './patient-names.ts';
import { searchAll } from './patient-records.tsx';
import { type GenesisState, markOfConsent } from './patient-verify.ts';
import { type Session, call } from './session.ts';
import { Notice, describeFailure, formatTime, useLoad } from './ui.tsx';

const transactionHeader = 'X-MedLedger-Transaction';

/** Signs a consent transaction with the patient's next nonce; the header value to send. */
async function signedHeader(
  session: Session,
  chainId: string,
  what:
    | { kind: 'consent.grant'; body: ReturnType<typeof grantOf>['body'] }
    | {
        kind: 'consent.revoke';
        consentId: string;
      },
): Promise<string> {
  const seedHex = session.patientKey;
  if (seedHex === null) {
    throw new Error('your signing key is not in this session: sign out and sign in again');
  }
  const publicKey = publicKeyOfSeed(seedHex);
  const account = await call<{ nextNonce: number }>(`/chain/accounts/${publicKey}`);
  return signedConsentTransaction({ chainId, seedHex, nonce: account.nextNonce, ...what });
}

function ConsentItem(props: {
  consent: FhirConsent;
  directory: Directory | undefined;
  genesis: GenesisState;
  busy: boolean;
  onRevoke: (consent: FhirConsent) => Promise<boolean>;
}) {
  const { consent, genesis } = props;
  const [confirming, setConfirming] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const revokeRef = useRef<HTMLButtonElement>(null);
  const trust = genesis.state === 'ready' ? genesis.trust : null;
  const mark = useMark(
    trust === null ? null : () => markOfConsent(trust, consent),
    `${trust?.hash ?? genesis.state}:${consent.id ?? ''}:${consent.status ?? ''}`,
  );
  const words = consentWords(consent, props.directory);
  const active = consent.status === 'active';
  const titleId = `consent-${consent.id ?? ''}`;

  const ask = () => {
    setConfirming(true);
    setTimeout(() => confirmRef.current?.focus(), 0);
  };
  const cancel = () => {
    setConfirming(false);
    setTimeout(() => revokeRef.current?.focus(), 0);
  };

  return (
    <li
      class={`card patient-consent${active ? '' : ' patient-consent-inactive'}`}
      data-testid="consent-entry"
      data-consent-id={consent.id}
      data-status={consent.status}
      aria-labelledby={titleId}
    >
      <p class="patient-consent-status">
        <span class={active ? 'badge badge-ok' : 'badge'}>{active ? 'In force' : 'Revoked'}</span>{' '}
        <PatientMark mark={mark ?? markWithoutGenesis(genesis)} />
      </p>
      <p id={titleId} class="patient-consent-sentence">
        {words.sentence}
      </p>
      {words.lines.length === 0 ? null : (
        <ul class="patient-consent-lines">
          {words.lines.map((line, index) => (
            <li key={index}>{line}</li>
          ))}
        </ul>
      )}
      <p class="meta">
        Granted {formatTime(consent.dateTime)}
        {active ? '' : ` · revoked ${formatTime(consent.meta?.lastUpdated)}`}
      </p>
      {!active ? null : confirming ? (
        <div class="actions" role="group" aria-label="Confirm revocation">
          <span class="patient-confirm-text">
            Revoke it? From the next block on, nobody may use it.
          </span>
          <button
            type="button"
            class="danger"
            ref={confirmRef}
            disabled={props.busy}
            data-testid="consent-revoke-confirm"
            onClick={() => {
              void props.onRevoke(consent).then((done) => {
                if (!done) cancel();
              });
            }}
          >
            Yes, revoke and sign
          </button>
          <button type="button" class="secondary" onClick={cancel} disabled={props.busy}>
            Keep it
          </button>
        </div>
      ) : (
        <div class="actions">
          <button
            type="button"
            class="secondary"
            ref={revokeRef}
            disabled={props.busy}
            onClick={ask}
            data-testid="consent-revoke"
            data-consent-id={consent.id}
            aria-describedby={titleId}
          >
            Revoke
          </button>
        </div>
      )}
    </li>
  );
}

type Who = GrantRecipient['kind'];

interface FormState {
  who: Who;
  organisation: string;
  practitioner: string;
  role: string;
  allKinds: boolean;
  classes: string[];
  purposes: string[];
  until: string;
  labels: string[];
}

function today(): string {
  const now = new Date();
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

function toggle(list: readonly string[], item: string, on: boolean): string[] {
  return on ? [...new Set([...list, item])] : list.filter((other) => other !== item);
}

/** The form's problems, by field: empty when the choice can be signed. */
function problemsOf(form: FormState): Record<string, string> {
  const problems: Record<string, string> = {};
  const recipient =
    form.who === 'organization'
      ? form.organisation
      : form.who === 'practitioner'
        ? form.practitioner
        : form.role;
  if (recipient === '') problems.recipient = 'Choose who may see your records.';
  if (!form.allKinds && form.classes.length === 0) {
    problems.classes = 'Choose at least one kind of record, or all of them.';
  }
  if (form.purposes.length === 0) problems.purposes = 'Choose at least one purpose.';
  if (form.until !== '' && form.until < today()) {
    problems.until = 'Choose today or a later day, or leave it empty for no end date.';
  }
  return problems;
}

function choiceOf(form: FormState): GrantChoice {
  const id =
    form.who === 'organization'
      ? form.organisation
      : form.who === 'practitioner'
        ? form.practitioner
        : form.role;
  return {
    recipient: { kind: form.who, id },
    classes: form.allKinds ? [] : recordTypes.filter((type) => form.classes.includes(type)),
    purposes: grantPurposes
      .map((purpose) => purpose.code)
      .filter((code) => form.purposes.includes(code)),
    until: form.until === '' ? null : form.until,
    labels: [...sensitiveCategories, ...restrictedLabels]
      .map((label) => label.code)
      .filter((code) => form.labels.includes(code)),
  };
}

function GrantForm(props: {
  session: Session;
  directory: Directory | undefined;
  chainId: string | null;
  busy: boolean;
  onGrant: (choice: GrantChoice) => Promise<boolean>;
}) {
  const { directory } = props;
  const initial: FormState = {
    who: 'organization',
    organisation: '',
    practitioner: '',
    role: '',
    allKinds: true,
    classes: [],
    purposes: ['TREAT'],
    until: '',
    labels: [],
  };
  const [form, setForm] = useState<FormState>(initial);
  const [submitted, setSubmitted] = useState(false);
  const summaryRef = useRef<HTMLDivElement>(null);
  const problems = problemsOf(form);
  const show = (name: string) => (submitted ? problems[name] : undefined);
  const update = (change: Partial<FormState>) => setForm({ ...form, ...change });
  const practitioners = [...(directory?.practitioners.entries() ?? [])];

  let preview: string | null = null;
  if (Object.keys(problems).length === 0) {
    try {
      const provision = provisionOfChoice(choiceOf(form), Date.now());
      const { consent } = grantOf({
        consentId: '0'.repeat(32),
        patientId: props.session.user.id,
        provision,
      });
      const words = consentWords(consent, directory);
      preview = [words.sentence, ...words.lines].join(' ');
    } catch (error) {
      preview = null;
      problems.until = describeFailure(error);
    }
  }

  const submit = async (event: Event) => {
    event.preventDefault();
    setSubmitted(true);
    if (Object.keys(problems).length > 0) {
      setTimeout(() => summaryRef.current?.focus(), 0);
      return;
    }
    if (await props.onGrant(choiceOf(form))) {
      setForm(initial);
      setSubmitted(false);
    }
  };

  const describedBy = (name: string, hint?: string) =>
    [hint, show(name) === undefined ? undefined : `${name}-error`].filter(Boolean).join(' ') ||
    undefined;
  const errorOf = (name: string) =>
    show(name) === undefined ? null : (
      <p id={`${name}-error`} class="patient-field-error">
        {show(name)}
      </p>
    );

  return (
    <form
      class="patient-grant"
      onSubmit={(event) => void submit(event)}
      noValidate
      aria-labelledby="grant-title"
      data-testid="consent-form"
    >
      <h3 id="grant-title">Give a new consent</h3>
      {submitted && Object.keys(problems).length > 0 ? (
        <div tabIndex={-1} ref={summaryRef}>
          <Notice kind="error" title="Please check the form">
            <ul>
              {Object.entries(problems).map(([name, problem]) => (
                <li key={name}>{problem}</li>
              ))}
            </ul>
          </Notice>
        </div>
      ) : null}

      <fieldset aria-describedby={describedBy('recipient')}>
        <legend>Who may see your records</legend>
        {(
          [
            ['organization', 'An organisation (everyone who works there)'],
            ['practitioner', 'One clinician'],
            ['role', 'Everyone with a role, in any organisation'],
          ] as const
        ).map(([kind, words]) => (
          <label class="checkbox" key={kind}>
            <input
              type="radio"
              name="who"
              value={kind}
              checked={form.who === kind}
              onChange={() => update({ who: kind })}
            />
            {words}
          </label>
        ))}
        {form.who === 'organization' ? (
          <>
            <label for="grant-organisation">Organisation</label>
            <select
              id="grant-organisation"
              value={form.organisation}
              aria-invalid={show('recipient') === undefined ? undefined : true}
              onChange={(event) => update({ organisation: event.currentTarget.value })}
            >
              <option value="">Choose an organisation</option>
              {(directory?.organisations ?? []).map((orgId) => (
                <option key={orgId} value={orgId}>
                  {organisationName(orgId)}
                </option>
              ))}
            </select>
          </>
        ) : null}
        {form.who === 'practitioner' ? (
          <>
            <label for="grant-practitioner">Clinician</label>
            <select
              id="grant-practitioner"
              value={form.practitioner}
              aria-invalid={show('recipient') === undefined ? undefined : true}
              onChange={(event) => update({ practitioner: event.currentTarget.value })}
            >
              <option value="">Choose a clinician</option>
              {practitioners.map(([id, user]) => (
                <option key={id} value={id}>
                  {user.displayName} — {organisationName(user.orgId)} ({user.roles.join(', ')})
                </option>
              ))}
            </select>
          </>
        ) : null}
        {form.who === 'role' ? (
          <>
            <label for="grant-role">Role</label>
            <select
              id="grant-role"
              value={form.role}
              aria-invalid={show('recipient') === undefined ? undefined : true}
              onChange={(event) => update({ role: event.currentTarget.value })}
            >
              <option value="">Choose a role</option>
              {(directory?.roles ?? []).map((role) => (
                <option key={role} value={role}>
                  {roleName(role)}
                </option>
              ))}
            </select>
          </>
        ) : null}
        {errorOf('recipient')}
      </fieldset>

      <fieldset aria-describedby={describedBy('classes')}>
        <legend>Which records</legend>
        <label class="checkbox">
          <input
            type="radio"
            name="kinds"
            checked={form.allKinds}
            onChange={() => update({ allKinds: true })}
          />
          All kinds of records
        </label>
        <label class="checkbox">
          <input
            type="radio"
            name="kinds"
            checked={!form.allKinds}
            onChange={() => update({ allKinds: false })}
          />
          Only some kinds
        </label>
        {form.allKinds ? null : (
          <div class="patient-choices">
            {recordTypes.map((type) => (
              <label class="checkbox" key={type}>
                <input
                  type="checkbox"
                  name="class"
                  value={type}
                  checked={form.classes.includes(type)}
                  onChange={(event) =>
                    update({ classes: toggle(form.classes, type, event.currentTarget.checked) })
                  }
                />
                {recordTypeName(type, true)}
              </label>
            ))}
          </div>
        )}
        {errorOf('classes')}
      </fieldset>

      <fieldset aria-describedby={describedBy('purposes')}>
        <legend>For what purpose</legend>
        {grantPurposes.map((purpose) => (
          <label class="checkbox" key={purpose.code}>
            <input
              type="checkbox"
              name="purpose"
              value={purpose.code}
              checked={form.purposes.includes(purpose.code)}
              onChange={(event) =>
                update({
                  purposes: toggle(form.purposes, purpose.code, event.currentTarget.checked),
                })
              }
            />
            For {purpose.words}
          </label>
        ))}
        {errorOf('purposes')}
      </fieldset>

      <label for="grant-until">Until when (optional)</label>
      <p id="grant-until-hint" class="hint">
        The consent ends at the end of that day. Leave it empty for no end date; you can revoke it
        at any time.
      </p>
      <input
        id="grant-until"
        type="date"
        min={today()}
        value={form.until}
        aria-describedby={describedBy('until', 'grant-until-hint')}
        aria-invalid={show('until') === undefined ? undefined : true}
        onInput={(event) => update({ until: event.currentTarget.value })}
      />
      {errorOf('until')}

      <fieldset aria-describedby="grant-sensitive-hint">
        <legend>Sensitive records</legend>
        <p id="grant-sensitive-hint" class="hint">
          Records about these topics are left out unless you tick them. Sensitive records are
          usually also marked restricted: tick that too, or they stay out.
        </p>
        {[...sensitiveCategories, ...restrictedLabels].map((label) => (
          <label class="checkbox" key={label.code}>
            <input
              type="checkbox"
              name="label"
              value={label.code}
              checked={form.labels.includes(label.code)}
              onChange={(event) =>
                update({ labels: toggle(form.labels, label.code, event.currentTarget.checked) })
              }
            />
            Include: {label.words}
          </label>
        ))}
      </fieldset>

      {preview === null ? null : (
        <div class="patient-preview" data-testid="consent-preview">
          <strong>You will sign:</strong> {preview}
        </div>
      )}
      <div class="actions">
        <button
          type="submit"
          disabled={props.busy || props.chainId === null}
          data-testid="consent-grant"
        >
          {props.busy ? 'Signing…' : 'Sign and give consent'}
        </button>
      </div>
      <p class="hint">
        Your browser signs the consent with your own key; the ledger records it within a few
        seconds.
      </p>
    </form>
  );
}

/** The consents section: what is in force, what was revoked, and the form to grant. */
export function PatientConsents(props: {
  session: Session;
  directory: Directory | undefined;
  genesis: GenesisState;
  chainId: string | null;
}) {
  const { session } = props;
  const patient = encodeURIComponent(session.user.id);
  const consents = useLoad(
    () => searchAll<FhirConsent>(session, `/fhir/Consent?patient=${patient}&_count=100`),
    [session.token],
  );
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const resultRef = useRef<HTMLDivElement>(null);

  const announce = (kind: 'success' | 'error', text: string) => {
    setResult({ kind, text });
    setTimeout(() => resultRef.current?.focus(), 0);
  };

  const grant = async (choice: GrantChoice): Promise<boolean> => {
    if (props.chainId === null) return false;
    setBusy(true);
    setResult(null);
    try {
      const provision = provisionOfChoice(choice, Date.now());
      const { body, consent } = grantOf({
        consentId: newConsentId(),
        patientId: session.user.id,
        provision,
      });
      const header = await signedHeader(session, props.chainId, { kind: 'consent.grant', body });
      const stored = await call<FhirConsent>('/fhir/Consent', {
        session,
        method: 'POST',
        body: consent,
        headers: { [transactionHeader]: header },
      });
      announce(
        'success',
        `Consent given and recorded on the ledger: ${consentWords(stored, props.directory).sentence}`,
      );
      consents.reload();
      return true;
    } catch (error) {
      announce('error', `The consent was not given: ${describeFailure(error)}`);
      return false;
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (consent: FhirConsent): Promise<boolean> => {
    if (props.chainId === null || consent.id === undefined) return false;
    setBusy(true);
    setResult(null);
    try {
      const header = await signedHeader(session, props.chainId, {
        kind: 'consent.revoke',
        consentId: consent.id,
      });
      await call<unknown>(`/fhir/Consent/${consent.id}`, {
        session,
        method: 'DELETE',
        headers: { [transactionHeader]: header },
      });
      announce(
        'success',
        `Consent revoked on the ledger: ${consentWords(consent, props.directory).sentence}`,
      );
      consents.reload();
      return true;
    } catch (error) {
      announce('error', `The consent was not revoked: ${describeFailure(error)}`);
      return false;
    } finally {
      setBusy(false);
    }
  };

  const all = consents.data ?? [];
  const active = all.filter((consent) => consent.status === 'active');
  const revoked = all.filter((consent) => consent.status !== 'active');
  const item = (consent: FhirConsent) => (
    <ConsentItem
      key={consent.id}
      consent={consent}
      directory={props.directory}
      genesis={props.genesis}
      busy={busy}
      onRevoke={revoke}
    />
  );

  return (
    <section aria-labelledby="consents-title" class="patient-section">
      <h2 id="consents-title" tabIndex={-1}>
        Who may see your records
      </h2>
      <p class="hint">
        Your consents decide who, outside the organisation that holds a record, may see it, and why.
        Emergency access (break-glass) is possible without a consent, but it is flagged, reviewed
        and shows in your access log. When two of your consents disagree, the refusal wins.
      </p>
      <div tabIndex={-1} ref={resultRef} class="patient-result">
        {result === null ? null : (
          <Notice kind={result.kind} title={result.kind === 'success' ? 'Done' : 'Not done'}>
            {result.text}
          </Notice>
        )}
      </div>
      {consents.error === null ? null : (
        <Notice kind="error" title="Your consents could not be loaded">
          {consents.error}
        </Notice>
      )}
      {consents.loading && consents.data === undefined ? (
        <p role="status">Loading your consents…</p>
      ) : null}
      {consents.data === undefined ? null : (
        <>
          <h3>In force ({active.length})</h3>
          {active.length === 0 ? (
            <p>You have no consent in force: only the organisation holding a record may see it.</p>
          ) : (
            <ul class="list" data-testid="consent-list">
              {active.map(item)}
            </ul>
          )}
          {revoked.length === 0 ? null : (
            <details class="patient-revoked">
              <summary>Revoked consents ({revoked.length})</summary>
              <ul class="list" data-testid="consent-list-revoked">
                {revoked.map(item)}
              </ul>
            </details>
          )}
        </>
      )}
      <GrantForm
        session={session}
        directory={props.directory}
        chainId={props.chainId}
        busy={busy}
        onGrant={grant}
      />
    </section>
  );
}
