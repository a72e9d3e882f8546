/**
 * The privacy officer's page (issue 8; CONVENTIONS.md "Break-glass and audit duties", HIPAA
 * §164.312(b)): the break-glass uses awaiting review, each approved or flagged with a note and
 * closed on chain (privacy-review.tsx), and a search of any patient's access log where denials
 * and break-glass stand out (privacy-audit.tsx). "Access log of this patient" on a review entry
 * runs the search for that patient.
 *
 * Test hooks: page heading "Privacy review"; the queue and its entries in privacy-review.tsx;
 * the audit search and its rows in privacy-audit.tsx.
 */
import { useState } from 'preact/hooks';

import { AuditSearch } from './privacy-audit.tsx';
import { ReviewQueue } from './privacy-review.tsx';
import type { Session } from './session.ts';
import { Page } from './ui.tsx';

export function PrivacyOfficer(props: { session: Session }) {
  // Each request from the queue carries a fresh `at`, so asking twice for one patient searches again.
  const [auditFor, setAuditFor] = useState<{ id: string; at: number } | null>(null);
  return (
    <Page title="Privacy review">
      <p>
        Signed in as a privacy officer of {props.session.user.orgId}. Every break-glass use is
        reviewed here; every access to a patient’s records is in their access log.
      </p>
      <ReviewQueue
        session={props.session}
        onAuditLog={(id) => setAuditFor({ id, at: Date.now() })}
      />
      <AuditSearch session={props.session} patient={auditFor} />
    </Page>
  );
}
