/**
 * The accounting of disclosures (HIPAA §164.528; GDPR art. 15 and the EHDS: a patient sees their
 * access log) as one FHIR R4 Bundle of type `collection` (hl7.org/fhir/R4/bundle.html), decision
 * 0074: a `Composition` with the human summary, the patient's AuditEvents of the period as the
 * node serves them, and a `Binary` holding the access-log verification bundle that proves them
 * complete. Pure functions for `medledger audit`: argument parsing, the one-to-one check of the
 * AuditEvents against the verified events, building the Bundle and reading one back, and the
 * privacy officer's report of break-glass uses awaiting review.
 */
import { validateResource as validateFhirStructure } from '@medplum/core';
import type {
  AuditEvent,
  Binary,
  Bundle,
  BundleEntry,
  Composition,
  OperationOutcomeIssue,
  Resource,
} from '@medplum/fhirtypes';

import { MedLedgerError, fromHex, shortHex, toHex } from '../base/index.ts';
import type { AuditAction, AuditEventRecord } from '../contracts/index.ts';
import {
  AuditSystem,
  auditEventRecordToFhir,
  checkRequiredBindings,
  jsonBoundsProblem,
  loadDefinitions,
} from '../fhir/index.ts';
import {
  type VerifiedAuditEvent,
  type VerifiedBundle,
  type VerifiedClaim,
  isoTime,
  verifyLimits,
} from '../verify/index.ts';

/** The media type of the embedded verification bundle (format `medledger-verification-bundle`). */
export const verificationBundleContentType = 'application/vnd.medledger.verification-bundle+json';

/** Bounds of `medledger audit`, with their units. */
export const accountingLimits = {
  /** AuditEvents asked for per FHIR search page (the server caps `_count` at 100). */
  searchPageCount: 100,
  /** FHIR search pages followed at most: 2,000 pages of 100 is more than a bundle may prove. */
  searchPagesMax: 2_000,
  /** Largest answer read from a node, in characters (a bundle's own bound, with room). */
  responseCharsMax: verifyLimits.bundleCharsMax + 1024 * 1024,
  /** Largest export file read by `audit check`, in bytes (the base64 bundle plus the events). */
  exportFileBytesMax: 256 * 1024 * 1024,
  /** Longest wait for one answer of a node, in milliseconds (a long period's bundle is large). */
  requestTimeoutMs: 60_000,
} as const;

/** Error codes of `medledger audit`; `exitCodeOf` maps them to the command's exit codes. */
export const AuditErrorCode = {
  /** A wrong or missing argument, or an unreadable file named by one. */
  badArgument: 'bad-argument',
  /** The node could not be reached or answered nothing usable. */
  unreachable: 'unreachable',
  /** The node refused the request (401 login, 403 forbidden, other 4xx) or failed (5xx). */
  refused: 'refused',
  /** A verification bundle does not verify from the genesis file, or proves something else. */
  notVerified: 'not-verified',
  /** The AuditEvents and the proven events are not the same set. */
  mismatch: 'mismatch',
  /** An export file is not an accounting export (not JSON, not a valid Bundle, parts missing). */
  invalidExport: 'invalid-export',
} as const;
export type AuditErrorCode = (typeof AuditErrorCode)[keyof typeof AuditErrorCode];

/** A failure of `medledger audit`: its message says what was expected and what was found. */
export class AuditError extends MedLedgerError<AuditErrorCode> {
  /** For `mismatch`: every disagreement found, one line each. */
  readonly problems: readonly string[];

  constructor(code: AuditErrorCode, message: string, problems: readonly string[] = []) {
    super(code, message, { problems });
    this.problems = problems;
  }
}

/**
 * The exit code of a failure: 2 when nothing could be checked (bad arguments, an unreachable node,
 * a refusal), 1 when what was checked failed.
 */
export function exitCodeOf(code: AuditErrorCode): 1 | 2 {
  return code === AuditErrorCode.badArgument ||
    code === AuditErrorCode.unreachable ||
    code === AuditErrorCode.refused
    ? 2
    : 1;
}

function badArgument(message: string): AuditError {
  return new AuditError(AuditErrorCode.badArgument, message);
}

const msPerDay = 86_400_000;
const pseudonymPattern = /^[0-9a-f]{32}$/;

/** True when `date` (YYYY-MM-DD) names a real calendar day (2026-02-31 does not). */
function isCalendarDate(date: string): boolean {
  const start = Date.parse(`${date}T00:00:00.000Z`);
  return !Number.isNaN(start) && isoTime(start).startsWith(date);
}

/**
 * A period boundary as `GET /chain/bundles/access-log` reads it: Unix milliseconds, a date (UTC;
 * the start of the day for `--from`, its last millisecond for `--to`) or a date-time with a zone.
 * Stricter than `Date.parse`: 2026-02-31 and T24:00 are refused, not rolled over.
 */
export function parseTimeArgument(
  name: string,
  value: string,
  options: { endOfDay: boolean },
): number {
  if (/^[0-9]{1,15}$/.test(value)) return Number(value);
  if (/^\d{4}-\d{2}-\d{2}$/.test(value) && isCalendarDate(value)) {
    const start = Date.parse(`${value}T00:00:00.000Z`);
    return options.endOfDay ? start + msPerDay - 1 : start;
  }
  const dateTime =
    /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
  const match = dateTime.exec(value);
  if (match !== null && isCalendarDate(match[1]!)) {
    const time = Date.parse(value);
    if (!Number.isNaN(time) && time >= 0) return time;
  }
  throw badArgument(
    `${name}: expected a date (2026-12-01), a date-time with a zone (2026-12-01T08:00:00Z) or Unix milliseconds, found ${JSON.stringify(value.slice(0, 80))}`,
  );
}

/**
 * The patient's pseudonym from a FHIR Patient id, as the node reads `AuditEvent?patient=`: on
 * MedLedger a Patient's id is its on-chain pseudonym, 32 lower-case hex digits (`Patient/` may
 * precede it).
 */
export function parsePatientArgument(value: string): string {
  const id = value.replace(/^Patient\//, '');
  if (!pseudonymPattern.test(id)) {
    throw badArgument(
      `--patient: expected a FHIR Patient id, which on MedLedger is the patient's pseudonym (32 lower-case hex digits), found ${JSON.stringify(value.slice(0, 80))}`,
    );
  }
  return id;
}

/** The `access-log` claim of a verified bundle. */
export type AccessLogClaim = Extract<VerifiedClaim, { kind: 'access-log' }>;

/** A verified access-log bundle. */
export type VerifiedAccessLog = VerifiedBundle & { readonly claim: AccessLogClaim };

/** Refuses a verified bundle that is not the access log asked for. */
export function assertAccessLogOf(
  verified: VerifiedBundle,
  expected: { patientId?: string; from?: number; to?: number },
): VerifiedAccessLog {
  const { claim } = verified;
  if (claim.kind !== 'access-log') {
    throw new AuditError(
      AuditErrorCode.notVerified,
      `expected an access-log verification bundle, found a ${claim.kind} bundle`,
    );
  }
  const asked = [
    ['patient', expected.patientId, claim.patientId],
    ['from', expected.from, claim.from],
    ['to', expected.to, claim.to],
  ] as const;
  for (const [name, wanted, proven] of asked) {
    if (wanted !== undefined && wanted !== proven) {
      throw new AuditError(
        AuditErrorCode.notVerified,
        `the verification bundle proves the access log for ${name} ${String(proven)}, ${String(wanted)} was asked for`,
      );
    }
  }
  return verified as VerifiedAccessLog;
}

/** The event's place in the patient's log, from its id `<pseudonym>-<sequence>`, or null. */
export function auditEventSequence(event: AuditEvent, patientId: string): number | null {
  const match = /^([0-9a-f]{32})-(0|[1-9][0-9]{0,15})$/.exec(event.id ?? '');
  if (match === null || match[1] !== patientId) return null;
  const sequence = Number(match[2]);
  return Number.isSafeInteger(sequence) ? sequence : null;
}

/** The height of the block that committed the event (its `urn:medledger:fhir:block-height`). */
export function auditEventHeight(event: AuditEvent): number | null {
  const found = event.extension?.find((each) => each.url === AuditSystem.blockHeight);
  const height = found?.valueUnsignedInt;
  return typeof height === 'number' && Number.isSafeInteger(height) ? height : null;
}

/** The stored audit record a verified event was decoded from (contracts' schema). */
function recordOfVerified(event: VerifiedAuditEvent, patientId: string): AuditEventRecord {
  const bytesOrNull = (hex: string | null) => (hex === null ? null : fromHex(hex));
  return {
    event: {
      practitionerId: event.practitionerId,
      clientId: event.clientId,
      patientId: fromHex(patientId),
      recordId: bytesOrNull(event.recordId),
      recordVersion: event.recordVersion,
      queryHash: bytesOrNull(event.queryHash),
      action: event.action as AuditAction,
      purpose: event.purpose,
      decision: event.decision as 'permit' | 'deny',
      reason: event.reason,
      consentId: bytesOrNull(event.consentId),
      breakGlassId: bytesOrNull(event.breakGlassId),
      time: event.time,
    },
    orgId: event.orgId,
    sequence: event.sequence,
    recordedHeight: event.recordedHeight,
  };
}

/**
 * The AuditEvent the node's view (fhir's `auditEventRecordToFhir`) makes of a proven event. Two
 * inputs are not in the proof and are taken from the event shown: the block's time
 * (`meta.lastUpdated`) and the record's resource type in the entity's reference (the record id
 * and version are proven).
 */
function viewOfProven(proven: VerifiedAuditEvent, patientId: string, shown: AuditEvent): unknown {
  const committedTime = Date.parse(shown.meta?.lastUpdated ?? '');
  const recordType = (recordId: Uint8Array): string | null => {
    const hex = toHex(recordId);
    for (const entity of shown.entity ?? []) {
      const match = /^([A-Za-z]+)\/([0-9a-f]{32})\/_history\/[0-9]+$/.exec(
        entity.what?.reference ?? '',
      );
      if (match !== null && match[2] === hex) return match[1]!;
    }
    return null;
  };
  const view = auditEventRecordToFhir(
    recordOfVerified(proven, patientId),
    { height: proven.recordedHeight, time: Number.isNaN(committedTime) ? 0 : committedTime },
    { resourceTypeOf: recordType },
  );
  // JSON, as the node sends it: absent optional parts are left out, not undefined.
  return JSON.parse(JSON.stringify({ ...view, id: `${patientId}-${proven.sequence}` }));
}

function describe(value: unknown): string {
  if (value === undefined) return 'absent';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** The first place two JSON values differ (`agent[0].who.reference`), or null when equal. */
export function firstDifference(
  expected: unknown,
  found: unknown,
  path = '',
): { path: string; expected: string; found: string } | null {
  if (Object.is(expected, found)) return null;
  const bothArrays = Array.isArray(expected) && Array.isArray(found);
  const bothObjects =
    typeof expected === 'object' &&
    typeof found === 'object' &&
    expected !== null &&
    found !== null &&
    !Array.isArray(expected) &&
    !Array.isArray(found);
  if (bothArrays) {
    const length = Math.max(expected.length, found.length);
    for (let index = 0; index < length; index++) {
      const difference = firstDifference(expected[index], found[index], `${path}[${index}]`);
      if (difference !== null) return difference;
    }
    return null;
  }
  if (bothObjects) {
    const left = expected as Record<string, unknown>;
    const right = found as Record<string, unknown>;
    for (const key of new Set([...Object.keys(left), ...Object.keys(right)])) {
      const difference = firstDifference(
        left[key],
        right[key],
        path === '' ? key : `${path}.${key}`,
      );
      if (difference !== null) return difference;
    }
    return null;
  }
  return {
    path: path === '' ? '(the whole value)' : path,
    expected: describe(expected),
    found: describe(found),
  };
}

/** What the one-to-one check found. */
export interface AuditEventMatch {
  /** The AuditEvents of the period, each a proven event, in sequence order. */
  readonly events: readonly AuditEvent[];
  /** AuditEvents committed after the proof's last block: not covered, left out of the export. */
  readonly later: readonly AuditEvent[];
}

/**
 * Checks that `events` (AuditEvents of the period) and the proof's events of the period are the
 * same set, one to one: each AuditEvent's id `<pseudonym>-<sequence>` names a proven event of the
 * period, its block height is that event's, and it is exactly the node's view of that event; and
 * every proven event of the period is among them. With `allowLater`, AuditEvents committed after
 * the proof's last block are set apart instead of refused (an export reads FHIR after the proof).
 * Throws `AuditError` `mismatch` listing every disagreement.
 */
export function matchAuditEvents(options: {
  events: readonly AuditEvent[];
  proof: VerifiedAccessLog;
  allowLater: boolean;
}): AuditEventMatch {
  const { claim } = options.proof;
  const patientId = claim.patientId;
  const proven = new Map(claim.events.map((event) => [event.sequence, event]));
  const first = claim.events[0]?.sequence;
  const provenRange =
    first === undefined
      ? `none recorded after block ${claim.afterHeight} through block ${claim.throughHeight}`
      : `sequences ${first} to ${first + claim.events.length - 1}, recorded after block ${claim.afterHeight} through block ${claim.throughHeight}`;
  const problems: string[] = [];
  const matched = new Map<number, AuditEvent>();
  const later: AuditEvent[] = [];
  const seenIds = new Set<string>();
  for (const event of options.events) {
    const name = `AuditEvent/${event.id ?? '(no id)'}`;
    if (event.id !== undefined && seenIds.has(event.id)) {
      problems.push(`${name} is listed twice`);
      continue;
    }
    if (event.id !== undefined) seenIds.add(event.id);
    const sequence = auditEventSequence(event, patientId);
    if (sequence === null) {
      problems.push(
        `${name} is not an entry of the access log of Patient/${patientId} (expected the id ${patientId}-<sequence>)`,
      );
      continue;
    }
    const height = auditEventHeight(event);
    if (height === null) {
      problems.push(`${name} has no block height (extension ${AuditSystem.blockHeight})`);
      continue;
    }
    const provenEvent = proven.get(sequence);
    if (provenEvent === undefined) {
      if (options.allowLater && height > claim.throughHeight) later.push(event);
      else
        problems.push(`${name} (block ${height}) is not among the proven events (${provenRange})`);
      continue;
    }
    if (!provenEvent.inPeriod) {
      problems.push(
        `${name}: the proof dates this event ${isoTime(provenEvent.time)}, outside the period ${isoTime(claim.from)} to ${isoTime(claim.to)}`,
      );
      continue;
    }
    if (Number.isNaN(Date.parse(event.meta?.lastUpdated ?? ''))) {
      problems.push(`${name}: meta.lastUpdated is not an instant (the block time)`);
      continue;
    }
    const difference = firstDifference(viewOfProven(provenEvent, patientId, event), event);
    if (difference !== null) {
      problems.push(
        `${name}: ${difference.path} is ${difference.found}, the proven event gives ${difference.expected}`,
      );
      continue;
    }
    matched.set(sequence, event);
  }
  for (const event of claim.events) {
    if (
      event.inPeriod &&
      !matched.has(event.sequence) &&
      !seenIds.has(`${patientId}-${event.sequence}`)
    ) {
      problems.push(
        `proven event ${event.sequence} (${event.action} ${event.decision}, ${isoTime(event.time)}, block ${event.recordedHeight}) is missing from the AuditEvents`,
      );
    }
  }
  if (problems.length > 0) {
    throw new AuditError(
      AuditErrorCode.mismatch,
      `the AuditEvents and the proven events of the period differ: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
      problems,
    );
  }
  return {
    events: [...matched.entries()].sort(([a], [b]) => a - b).map(([, event]) => event),
    later,
  };
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * The summary of a verified access log, in plain words: the events of the period, denials and
 * break-glass uses, the blocks it is complete for, and whether the period is closed. Only proven
 * facts: `audit check` recomputes it to compare with the Composition's narrative.
 */
export function accountingSummaryLines(options: {
  proof: VerifiedAccessLog;
  auditLagMaxMs: number;
}): string[] {
  const { proof } = options;
  const { claim } = proof;
  const inPeriod = claim.events.filter((event) => event.inPeriod);
  const denials = inPeriod.filter((event) => event.decision === 'deny').length;
  const breakGlass = inPeriod.filter((event) => event.breakGlassId !== null).length;
  const closesAt = claim.to + options.auditLagMaxMs;
  const closed = claim.coversPeriod
    ? 'period closed: yes (every block in which an event of the period could be recorded is covered)'
    : claim.throughTime < closesAt
      ? `period closed: no: an event of the period may still be recorded until ${isoTime(closesAt)} (the audit lag), the proof reaches block ${claim.throughHeight} (${isoTime(claim.throughTime)})`
      : `period closed: no: the proof starts at block ${claim.afterHeight} (${isoTime(claim.afterTime)}), not before the period's start`;
  return [
    `accounting of disclosures of Patient/${claim.patientId} from ${isoTime(claim.from)} to ${isoTime(claim.to)}`,
    `events in the period: ${inPeriod.length} (${denials} denied, ${breakGlass} break-glass)`,
    `complete for blocks ${claim.afterHeight + 1}..${claim.throughHeight}: every event about this patient recorded in those blocks is proven (${plural(claim.events.length, 'event')}, ${inPeriod.length} in the period)`,
    closed,
    `verified from the genesis file: chain ${proof.chainId}, genesis ${proof.genesisHash.slice(0, 12)}…, certified at block ${proof.head.height} (${proof.head.blockHash.slice(0, 12)}…, ${isoTime(proof.head.time)})`,
  ];
}

function escapeXhtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** Who acted, in the chain's terms: `org/practitioner`, `org/client`, or the organisation. */
function agentOf(event: VerifiedAuditEvent): string {
  if (event.practitionerId !== null) return `${event.orgId}/${event.practitionerId}`;
  if (event.clientId !== null) return `${event.orgId}/${event.clientId} (application)`;
  return event.orgId;
}

/**
 * The Composition's narrative (FHIR R4 narrative.html, XHTML): the summary lines and one table
 * row per proven event of the period, from proven facts only, so a check can recompute it.
 */
export function accountingNarrative(options: {
  proof: VerifiedAccessLog;
  auditLagMaxMs: number;
}): string {
  const lines = accountingSummaryLines(options).map((line) => `<p>${escapeXhtml(line)}</p>`);
  const header = ['#', 'time', 'block', 'who', 'action', 'decision', 'purpose', 'record or query'];
  const rows = options.proof.claim.events
    .filter((event) => event.inPeriod)
    .map((event) => {
      const target =
        event.recordId !== null
          ? `record ${shortHex(fromHex(event.recordId))} v${event.recordVersion ?? '?'}`
          : event.queryHash !== null
            ? `query ${shortHex(fromHex(event.queryHash))}`
            : '';
      const decision = `${event.decision} (${event.reason})${event.breakGlassId === null ? '' : ', break-glass'}`;
      const cells = [
        String(event.sequence),
        isoTime(event.time),
        String(event.recordedHeight),
        agentOf(event),
        event.action,
        decision,
        event.purpose,
        target,
      ];
      return `<tr>${cells.map((cell) => `<td>${escapeXhtml(cell)}</td>`).join('')}</tr>`;
    });
  const table =
    rows.length === 0
      ? ''
      : `<table><tr>${header.map((cell) => `<th>${cell}</th>`).join('')}</tr>${rows.join('')}</table>`;
  return `<div xmlns="http://www.w3.org/1999/xhtml">${lines.join('')}${table}</div>`;
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/**
 * The export: a `collection` Bundle of the Composition (the summary, about the patient), the
 * AuditEvents (as served, in sequence order) and the Binary with the verification bundle's JSON.
 * Ids are passed in (`newId`) so that the function stays deterministic.
 */
export function buildAccountingBundle(options: {
  proof: VerifiedAccessLog;
  auditLagMaxMs: number;
  events: readonly { fullUrl: string; resource: AuditEvent }[];
  verificationBundleText: string;
  exportedAt: number;
  newId: () => string;
}): Bundle {
  const { claim } = options.proof;
  const exported = isoTime(options.exportedAt);
  const compositionId = options.newId();
  const binaryId = options.newId();
  const composition: Composition = {
    resourceType: 'Composition',
    id: compositionId,
    status: 'final',
    type: {
      text: 'Accounting of disclosures (HIPAA §164.528): access log with proof of completeness',
    },
    subject: { reference: `Patient/${claim.patientId}` },
    date: exported,
    author: [{ type: 'Device', display: 'medledger audit export' }],
    title: `Accounting of disclosures of Patient/${claim.patientId}, ${isoTime(claim.from)} to ${isoTime(claim.to)}`,
    text: { status: 'generated', div: accountingNarrative(options) },
  };
  const binary: Binary = {
    resourceType: 'Binary',
    id: binaryId,
    contentType: verificationBundleContentType,
    securityContext: { reference: `Patient/${claim.patientId}` },
    data: base64(options.verificationBundleText),
  };
  const entry: BundleEntry[] = [
    { fullUrl: `urn:uuid:${compositionId}`, resource: composition },
    ...options.events.map((event) => ({ fullUrl: event.fullUrl, resource: event.resource })),
    { fullUrl: `urn:uuid:${binaryId}`, resource: binary },
  ];
  return {
    resourceType: 'Bundle',
    id: options.newId(),
    meta: { lastUpdated: exported },
    type: 'collection',
    timestamp: exported,
    entry,
  };
}

/**
 * Every FHIR R4 problem of an export Bundle (empty when valid): medplum's structural validation
 * of the Bundle and everything in it, then the required bindings it leaves out (fhir's
 * `checkRequiredBindings`), as src/fhir validates resources.
 */
export function exportBundleIssues(bundle: unknown): OperationOutcomeIssue[] {
  loadDefinitions();
  let found: OperationOutcomeIssue[];
  try {
    found = validateFhirStructure(bundle as Resource);
  } catch (error) {
    const outcome = (error as { outcome?: { issue?: OperationOutcomeIssue[] } }).outcome;
    if (outcome === undefined) throw error;
    found = outcome.issue ?? [];
  }
  const errors = found.filter((issue) => issue.severity === 'error' || issue.severity === 'fatal');
  if (errors.length > 0) return errors;
  return checkRequiredBindings(bundle as Resource);
}

/** One issue as a line: where, then what. */
export function issueLine(issue: OperationOutcomeIssue): string {
  const where = issue.expression?.[0] ?? 'Bundle';
  return `${where}: ${issue.details?.text ?? issue.diagnostics ?? issue.code}`;
}

/** What an export holds. */
export interface AccountingExport {
  readonly composition: Composition;
  readonly events: readonly AuditEvent[];
  /** The verification bundle's JSON text, decoded from the Binary. */
  readonly verificationBundleText: string;
}

function invalidExport(message: string): AuditError {
  return new AuditError(AuditErrorCode.invalidExport, message);
}

/**
 * Takes an export Bundle apart: exactly one Composition, one Binary of the verification bundle's
 * media type (strict base64), and AuditEvents; anything else is refused, naming the entry.
 */
export function readAccountingBundle(value: unknown): AccountingExport {
  const bundle = value as Bundle;
  if (typeof value !== 'object' || value === null || bundle.resourceType !== 'Bundle') {
    throw invalidExport('expected a FHIR Bundle (resourceType Bundle)');
  }
  if (bundle.type !== 'collection') {
    throw invalidExport(`Bundle.type: expected collection, found ${JSON.stringify(bundle.type)}`);
  }
  // The file is untrusted: its nesting and size are bounded, resource by resource, before
  // anything walks it (the Bundle's own elements with each resource set aside).
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  const outline = { ...bundle, entry: entries.map((entry) => ({ ...entry, resource: null })) };
  const outlineProblem = jsonBoundsProblem(outline);
  if (outlineProblem !== undefined) throw invalidExport(`Bundle: ${outlineProblem}`);
  entries.forEach((entry, index) => {
    const problem = jsonBoundsProblem(entry.resource);
    if (problem !== undefined) throw invalidExport(`Bundle.entry[${index}].resource: ${problem}`);
  });
  const compositions: Composition[] = [];
  const binaries: Binary[] = [];
  const events: AuditEvent[] = [];
  entries.forEach((entry, index) => {
    const resource = entry.resource;
    if (resource?.resourceType === 'Composition') compositions.push(resource);
    else if (resource?.resourceType === 'Binary') binaries.push(resource);
    else if (resource?.resourceType === 'AuditEvent') events.push(resource);
    else {
      throw invalidExport(
        `Bundle.entry[${index}]: expected a Composition, an AuditEvent or the Binary, found ${resource?.resourceType ?? 'no resource'}`,
      );
    }
  });
  if (compositions.length !== 1) {
    throw invalidExport(`expected one Composition (the summary), found ${compositions.length}`);
  }
  const proofs = binaries.filter((binary) => binary.contentType === verificationBundleContentType);
  if (binaries.length !== 1 || proofs.length !== 1) {
    throw invalidExport(
      `expected one Binary of content type ${verificationBundleContentType} (the verification bundle), found ${binaries.length} Binary resources, ${proofs.length} of that type`,
    );
  }
  const data = proofs[0]!.data ?? '';
  if (data.length === 0 || data.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) {
    throw invalidExport(
      'Binary.data: expected the verification bundle in base64, found no valid base64',
    );
  }
  return {
    composition: compositions[0]!,
    events,
    verificationBundleText: Buffer.from(data, 'base64').toString('utf8'),
  };
}

/**
 * Checks the Composition against the proof: about the proof's patient, and its narrative is the
 * one the proof gives (so that a reader of the summary is not told another story).
 */
export function assertCompositionMatches(options: {
  composition: Composition;
  proof: VerifiedAccessLog;
  auditLagMaxMs: number;
}): void {
  const { composition, proof } = options;
  const subject = `Patient/${proof.claim.patientId}`;
  if (composition.subject?.reference !== subject) {
    throw new AuditError(
      AuditErrorCode.mismatch,
      `Composition.subject: expected ${subject} (the proof's patient), found ${describe(composition.subject?.reference)}`,
    );
  }
  if (composition.text?.div !== accountingNarrative(options)) {
    throw new AuditError(
      AuditErrorCode.mismatch,
      'Composition.text: the summary differs from the one the verification bundle gives (it was edited, or is of another period)',
    );
  }
}

/** One break-glass use awaiting review, as the privacy officer's report shows it. */
export interface BreakGlassUse {
  readonly breakGlassId: string;
  /** `org/practitioner`. */
  readonly practitioner: string;
  readonly organisation: string;
  /** The patient's pseudonym. */
  readonly patient: string;
  readonly purpose: string;
  /** The reason code on chain (free text stays with the node: `stated-in-request`). */
  readonly reason: string;
  readonly openedAt: string;
  readonly expiresAt: string;
  /** Milliseconds since the grant was opened, none of them reviewed. */
  readonly unreviewedMs: number;
  /** The grant has not expired yet. */
  readonly active: boolean;
}

function practitionerOf(event: AuditEvent): string {
  const who = event.agent?.find((agent) => agent.requestor === true)?.who;
  const reference = /^Practitioner\/([a-z0-9-]+?)--(.+)$/.exec(who?.reference ?? '');
  if (reference !== null) return `${reference[1]}/${reference[2]}`;
  return who?.identifier?.value ?? '?';
}

/**
 * The break-glass uses of a `$break-glass-review` Bundle (BALP security alerts, DCM 110113 with
 * 110127), oldest first, with how long each has waited for review at `now`.
 */
export function breakGlassUsesOf(bundle: unknown, now: number): BreakGlassUse[] {
  const entries = (bundle as Bundle | null)?.entry;
  if ((bundle as Bundle | null)?.resourceType !== 'Bundle' || !Array.isArray(entries)) {
    throw new AuditError(AuditErrorCode.unreachable, 'the node did not answer a FHIR Bundle');
  }
  const uses = entries.flatMap((entry) => {
    const event = entry.resource as AuditEvent | undefined;
    if (event?.resourceType !== 'AuditEvent') return [];
    const grant = event.entity?.find((entity) => entity.role?.code === '13');
    const opened = Date.parse(event.period?.start ?? event.recorded ?? '');
    const expires = Date.parse(event.period?.end ?? '');
    return [
      {
        breakGlassId: grant?.what?.identifier?.value ?? event.id ?? '?',
        practitioner: practitionerOf(event),
        organisation: event.source?.site ?? '?',
        patient:
          event.entity
            ?.find((entity) => entity.role?.code === '1')
            ?.what?.reference?.replace(/^Patient\//, '') ?? '?',
        purpose: event.purposeOfEvent?.[0]?.coding?.[0]?.code ?? '?',
        reason: grant?.detail?.find((detail) => detail.type === 'reason')?.valueString ?? '?',
        openedAt: Number.isNaN(opened) ? '?' : isoTime(opened),
        expiresAt: Number.isNaN(expires) ? '?' : isoTime(expires),
        unreviewedMs: Number.isNaN(opened) ? 0 : Math.max(0, now - opened),
        active: !Number.isNaN(expires) && expires > now,
      },
    ];
  });
  return uses.sort((a, b) => b.unreviewedMs - a.unreviewedMs);
}

/** A duration for people: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`. */
export function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** The report as lines: a heading, then a table of the uses (or a line saying there is none). */
export function formatBreakGlassReport(uses: readonly BreakGlassUse[]): string[] {
  if (uses.length === 0) return ['no break-glass use awaits review'];
  const header = [
    'opened',
    'unreviewed',
    'practitioner',
    'organisation',
    'patient',
    'purpose',
    'reason',
    'expires',
    'grant',
  ];
  const rows = uses.map((use) => [
    use.openedAt,
    formatDuration(use.unreviewedMs),
    use.practitioner,
    use.organisation,
    use.patient,
    use.purpose,
    use.reason,
    `${use.expiresAt}${use.active ? ' (active)' : ''}`,
    `${use.breakGlassId.slice(0, 16)}…`,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [
    `${plural(uses.length, 'break-glass use')} ${uses.length === 1 ? 'awaits' : 'await'} review (longest waiting first):`,
    line(header),
    ...rows.map(line),
  ];
}
