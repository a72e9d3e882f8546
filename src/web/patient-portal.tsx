/**
 * The patient portal (issue 8): the patient's records on a timeline, their consents (given and
 * revoked in plain words, each signed in this browser with the patient's own key), the access log
 * (who opened what, when, from where and why; refusals and emergency access stand out), a
 * "verified" mark on each record, consent and log entry computed here from the ledger's proofs
 * (src/verify, as `medledger verify`), and a request to erase. Sections are hash routes under
 * `#/patient`: `#/patient/records` (default), `#/patient/consents`, `#/patient/access`,
 * `#/patient/erase`; each loads on its first visit and stays loaded.
 *
 * For tests (besides roles and labels; a section visited once stays in the DOM with `hidden`,
 * so prefer role queries, which skip hidden elements, or scope to the visible section):
 * - `data-testid="patient-nav"`: the section links (`aria-current="page"` on the current one).
 * - `genesis-trust`: the note on what the marks are checked against; `genesis-file` its file input.
 * - `verified-mark`: every mark, with `data-state` = `checking` | `verified` | `failed` |
 *   `unchecked` (not checked, e.g. no genesis).
 * - Records: `patient-records` (the timeline), `record-entry` (one record; `data-record-id`,
 *   `data-record-type`). The type filter is the radio group "Show".
 * - Consents: `consent-list` (in force), `consent-list-revoked`, `consent-entry` (`data-consent-id`,
 *   `data-status`), `consent-revoke` (first step, `data-consent-id`), `consent-revoke-confirm`
 *   (signs the revocation), `consent-form` (the grant form: radio group "Who may see your
 *   records", selects "Organisation" / "Clinician" / "Role", "Which records", "For what purpose",
 *   date "Until when (optional)", "Sensitive records"), `consent-preview`, `consent-grant` (signs
 *   the grant). Results are announced in a status / alert notice titled "Done" or "Not done".
 * - Access log: `access-log` (the list), `access-entry` (`data-kind` = `break-glass` (refused or
 *   not) | `denied` | `own` | `access`, `data-sequence`), `access-summary`, `access-proof`;
 *   selects "Period" and "Show".
 * - Erasure: `erase-button` (opens the dialog), `erase-dialog`, `erase-understood` (checkbox),
 *   `erase-confirm`.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

import { PatientAccessLog } from './patient-access-log.tsx';
import { PatientConsents } from './patient-consents.tsx';
import { PatientErase } from './patient-erase.tsx';
import { GenesisPanel } from './patient-genesis.tsx';
import { type Directory, directoryOf, organisationName } from './patient-names.ts';
import { PatientRecords, type RecordView, loadRecords } from './patient-records.tsx';
import { type GenesisState, loadGenesis } from './patient-verify.ts';
import { type Session, call } from './session.ts';
import type { ChainStatus, DemoSignInUser } from './types.ts';
import { Notice, Page, describeFailure } from './ui.tsx';

const sections = [
  { name: 'records', label: 'Records' },
  { name: 'consents', label: 'Consents' },
  { name: 'access', label: 'Access log' },
  { name: 'erase', label: 'Erase' },
] as const;
type Section = (typeof sections)[number]['name'];

function sectionOfHash(hash: string): Section {
  const name = hash.replace(/^#\/?/, '').split(/[/?]/)[1] ?? '';
  return sections.find((section) => section.name === name)?.name ?? 'records';
}

export function PatientPortal(props: { session: Session }) {
  const { session } = props;
  const [section, setSection] = useState<Section>(sectionOfHash(window.location.hash));
  const [visited, setVisited] = useState<ReadonlySet<Section>>(new Set([section]));
  const [chainId, setChainId] = useState<string | null>(null);
  const [genesis, setGenesis] = useState<GenesisState>({ state: 'loading' });
  const [genesisRound, setGenesisRound] = useState(0);
  const [directory, setDirectory] = useState<Directory | undefined>(undefined);
  const [records, setRecords] = useState<RecordView[] | undefined>(undefined);
  const [recordsError, setRecordsError] = useState<string | null>(null);
  const [recordsLoading, setRecordsLoading] = useState(false);
  const [recordsRound, setRecordsRound] = useState(0);
  const mainRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const onHash = () => {
      const next = sectionOfHash(window.location.hash);
      setSection(next);
      setVisited((before) => new Set([...before, next]));
      // The new section's heading takes the focus, so that reading continues there.
      setTimeout(() => mainRef.current?.querySelector<HTMLElement>(`#${next}-title`)?.focus(), 0);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  // The chain this node runs, then the genesis document the marks are checked against.
  useEffect(() => {
    let live = true;
    setGenesis({ state: 'loading' });
    call<ChainStatus>('/chain/status')
      .then(async (status) => {
        if (!live) return;
        setChainId(status.chainId);
        const next = await loadGenesis(status.chainId);
        if (live) setGenesis(next);
      })
      .catch((error: unknown) => {
        if (live) setGenesis({ state: 'unavailable', why: describeFailure(error) });
      });
    return () => {
      live = false;
    };
  }, [genesisRound]);

  // Who is who (names of organisations and clinicians): the demo's list; without it, ids.
  useEffect(() => {
    call<{ users: DemoSignInUser[] }>('/auth/demo/users').then(
      (answer) => setDirectory(directoryOf(answer.users)),
      () => setDirectory(directoryOf([session.user])),
    );
  }, []);

  useEffect(() => {
    if (!visited.has('records')) return undefined;
    let live = true;
    setRecordsLoading(true);
    loadRecords(session).then(
      (loaded) => {
        if (!live) return;
        setRecords(loaded);
        setRecordsError(null);
        setRecordsLoading(false);
      },
      (error: unknown) => {
        if (!live) return;
        setRecordsError(describeFailure(error));
        setRecordsLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [visited.has('records'), recordsRound, session.token]);

  const recordsById = new Map((records ?? []).map((record) => [record.id, record]));
  const panel = (name: Section, content: ComponentChildren) =>
    visited.has(name) ? (
      <div hidden={section !== name} class="patient-panel">
        {content}
      </div>
    ) : null;

  return (
    <Page title="My records">
      <p class="patient-intro">
        {session.user.displayName}, patient of {organisationName(session.user.orgId)}. On the ledger
        you are known only by your pseudonym <code>{session.user.id}</code>.
      </p>
      {session.patientKey === null ? (
        <Notice kind="warning" title="You cannot sign consents in this session">
          Your signing key is not available. Sign out and sign in again to give or revoke consents.
        </Notice>
      ) : null}
      <nav aria-label="My records sections" class="patient-nav" data-testid="patient-nav">
        <ul>
          {sections.map((item) => (
            <li key={item.name}>
              <a
                href={`#/patient/${item.name}`}
                aria-current={section === item.name ? 'page' : undefined}
              >
                {item.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <GenesisPanel
        genesis={genesis}
        chainId={chainId}
        onChange={() => setGenesisRound(genesisRound + 1)}
      />
      <div ref={mainRef}>
        {panel(
          'records',
          <PatientRecords
            session={session}
            genesis={genesis}
            records={records}
            error={recordsError}
            loading={recordsLoading}
            onReload={() => setRecordsRound(recordsRound + 1)}
          />,
        )}
        {panel(
          'consents',
          <PatientConsents
            session={session}
            directory={directory}
            genesis={genesis}
            chainId={chainId}
          />,
        )}
        {panel(
          'access',
          <PatientAccessLog
            session={session}
            genesis={genesis}
            directory={directory}
            records={recordsById}
          />,
        )}
        {panel(
          'erase',
          <PatientErase session={session} onErased={() => setRecordsRound(recordsRound + 1)} />,
        )}
      </div>
    </Page>
  );
}
