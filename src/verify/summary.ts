/**
 * A short human summary of a verified bundle: what was proven, in plain words, with the heights
 * and hashes an auditor would quote. One line per fact; no patient data beyond pseudonyms.
 */
import type { VerifiedBundle, VerifiedTransaction } from './verify-bundle.ts';

/**
 * Unix milliseconds as ISO 8601 UTC (`2026-12-06T02:17:28.000Z`), computed rather than read from
 * the platform's clock object so the pure core stays free of it (the days-to-civil conversion of
 * H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
 */
export function isoTime(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  const inDay = ms - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const pad = (value: number, width: number) => String(value).padStart(width, '0');
  const hours = Math.floor(inDay / 3_600_000);
  const minutes = Math.floor((inDay % 3_600_000) / 60_000);
  const seconds = Math.floor((inDay % 60_000) / 1000);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}.${pad(inDay % 1000, 3)}Z`;
}

function short(hex: string): string {
  return `${hex.slice(0, 12)}…`;
}

function placed(tx: VerifiedTransaction): string {
  return `transaction ${short(tx.txId)} in block ${tx.height} (${isoTime(tx.time)}) and in the history log at index ${tx.logIndex} of ${tx.logSize}`;
}

/** The summary lines of `verified`. */
export function summariseVerifiedBundle(verified: VerifiedBundle): string[] {
  const lines: string[] = [];
  const { claim, head } = verified;
  switch (claim.kind) {
    case 'record-version': {
      const { record } = claim;
      lines.push(
        `record ${short(record.recordId)} version ${record.version} (${record.resourceType}, custodian ${record.custodian}, patient ${short(record.patientId)})`,
        `content hash ${record.contentHash ?? '(none)'}; labels ${record.securityLabels.join(', ') || '(none)'}`,
        claim.batchIndex === null
          ? `anchored by ${placed(claim.anchor)}`
          : `anchored as anchors[${claim.batchIndex}] of the record.anchor-batch ${placed(claim.anchor)}`,
      );
      break;
    }
    case 'erasure':
      lines.push(
        `record ${short(claim.recordId)} erased as version ${claim.erasedVersion} (reason ${claim.reason}) by ${placed(claim.erasure)}`,
        `hash history kept: ${claim.versions
          .map(
            (v) =>
              `v${v.version} ${v.status}${v.contentHash === null ? '' : ` ${short(v.contentHash)}`}`,
          )
          .join(', ')}`,
      );
      break;
    case 'consent-state':
      if (claim.consent === null) {
        lines.push(
          `consent ${short(claim.consentId)} did not exist at height ${claim.height} (${isoTime(claim.time)})`,
        );
      } else {
        const c = claim.consent;
        const state =
          c.status === 'active'
            ? 'ACTIVE'
            : `NOT ACTIVE (revoked at height ${c.revokedHeight ?? '?'})`;
        lines.push(
          `consent ${short(claim.consentId)} of patient ${short(c.patientId)} (${c.policyRule}) was ${state} at height ${claim.height} (${isoTime(claim.time)})`,
          `granted at height ${c.grantedHeight} (${isoTime(c.grantedTime)})`,
        );
      }
      break;
    case 'access-log': {
      const inPeriod = claim.events.filter((e) => e.inPeriod);
      const denials = inPeriod.filter((e) => e.decision === 'deny').length;
      const breakGlass = inPeriod.filter((e) => e.breakGlassId !== null).length;
      lines.push(
        `access log of patient ${short(claim.patientId)} from ${isoTime(claim.from)} to ${isoTime(claim.to)}: ${inPeriod.length} events (${denials} denied, ${breakGlass} break-glass)`,
        `complete: every event recorded after block ${claim.afterHeight} (${isoTime(claim.afterTime)}) through block ${claim.throughHeight} (${isoTime(claim.throughTime)}) is listed (${claim.events.length} in all)`,
      );
      if (!claim.coversPeriod) {
        lines.push(
          `NOTE: those blocks do not cover the whole period asked for (the chain's newest block is at ${isoTime(claim.throughTime)})`,
        );
      }
      break;
    }
    case 'log-head':
      lines.push(
        `signed log head: ${head.logSize} transactions, root ${head.logRoot}`,
        claim.consistency === null
          ? 'no consistency proof asked for'
          : `carries a consistency proof from log size ${claim.consistency.oldSize}`,
      );
      break;
  }
  lines.push(
    `certified by the validators at height ${head.height} (block ${short(head.blockHash)}, ${isoTime(head.time)}), reached from genesis ${short(verified.genesisHash)} through ${verified.transitionHeights.length} validator-set change(s)`,
  );
  return lines;
}
