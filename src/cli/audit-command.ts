/**
 * `medledger audit` (issue 7; decision 0074): the accounting of disclosures of one patient and the
 * privacy officer's report of break-glass uses awaiting review.
 *
 * - `audit export`: the patient's AuditEvents of a period through FHIR (every page; the node
 *   audits the reading as usual) and the access-log verification bundle of the same period,
 *   verified here from the genesis file, checked one to one against each other, written as one
 *   FHIR R4 `collection` Bundle (accounting-of-disclosures.ts).
 * - `audit check`: the same verification and check of an exported file, offline.
 * - `audit break-glass`: `GET /fhir/$break-glass-review` as a report.
 * - `audit security-log`: a stopped node's security audit log (decision 0059) checked against
 *   the heads its organisation anchored on chain, proven from the genesis file (decision 0063).
 *
 * Exit codes: 0 done (and verified); 1 a verification or the one-to-one check failed, named;
 * 2 nothing could be checked: a bad argument, an unreachable node, or a refusal (401, 403).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { type Command, CommanderError } from 'commander';

import { toHex } from '../base/index.ts';
import { jsonBoundsProblem } from '../fhir/index.ts';
import {
  StoreError,
  type SecurityAuditLogReader,
  openSecurityAuditLogReader,
} from '../store/index.ts';
import {
  type TrustedGenesis,
  VerifyError,
  isoTime,
  parseBundleText,
  trustGenesis,
  verifyBundle,
} from '../verify/index.ts';
import {
  AuditError,
  AuditErrorCode,
  type VerifiedAccessLog,
  accountingLimits,
  accountingSummaryLines,
  assertAccessLogOf,
  assertCompositionMatches,
  auditEventSequence,
  breakGlassUsesOf,
  buildAccountingBundle,
  exitCodeOf,
  exportBundleIssues,
  formatBreakGlassReport,
  issueLine,
  matchAuditEvents,
  parsePatientArgument,
  parseTimeArgument,
  readAccountingBundle,
} from './accounting-of-disclosures.ts';
import { proveSecurityLogHeads, securityLogCheckLines } from './security-log-check.ts';
import { recordsFiles } from './start-records.ts';

/** Where a run's lines go: `out` the result (stdout), `err` the failure (stderr). */
export interface AuditOutput {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** Largest genesis file read, in bytes. */
const genesisFileBytesMax = 1024 * 1024;
/** Disagreements printed one per line after a failed check (the first is in the message). */
const problemLinesMax = 20;

function badArgument(message: string): AuditError {
  return new AuditError(AuditErrorCode.badArgument, message);
}

function required(name: string, value: string | undefined, hint: string): string {
  if (value === undefined || value.length === 0) throw badArgument(`${name}: missing; ${hint}`);
  return value;
}

/** `--node`: scheme, host and port only (the token is sent there and nowhere else). */
function nodeOrigin(value: string | undefined): string {
  const text = required('--node', value, 'pass the node URL, e.g. --node http://127.0.0.1:8080');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badArgument(`--node: expected http://host:port, found ${JSON.stringify(text)}`);
  }
  const plain =
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.username === '' &&
    url.password === '' &&
    url.pathname === '/' &&
    url.search === '' &&
    url.hash === '';
  if (!plain) {
    throw badArgument(`--node: expected only scheme, host and port, found ${JSON.stringify(text)}`);
  }
  return url.origin;
}

/** `--token`, else `MEDLEDGER_TOKEN`: a bearer token (RFC 6750 b64token characters). */
function bearerToken(option: string | undefined, fromEnvironment: string | undefined): string {
  const token = required(
    '--token',
    option ?? fromEnvironment,
    'pass a bearer token with --token or in MEDLEDGER_TOKEN (e.g. from medledger demo token <user>)',
  );
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) {
    throw badArgument('--token: expected a bearer token (letters, digits and -._~+/ only)');
  }
  return token;
}

/**
 * The patient in the token's launch context (its `patient` claim), read without verifying the
 * token (the node does that): the node answers a patient-context search with that patient's log
 * whatever `patient=` says, so a token for another patient is named here as a bad argument.
 */
function tokenPatient(token: string): string | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      patient?: unknown;
    };
    return typeof claims.patient === 'string' ? claims.patient : null;
  } catch {
    return null;
  }
}

function readTextFile(name: string, path: string, bytesMax: number): string {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw badArgument(`${name} ${path}: ${code === 'ENOENT' ? 'no such file' : String(code)}`);
  }
  if (size > bytesMax) {
    throw badArgument(`${name} ${path} is ${size} bytes, at most ${bytesMax} are read`);
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw badArgument(`${name} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

function loadGenesis(path: string | undefined): TrustedGenesis {
  const file = required('--genesis', path, "pass the network's genesis file");
  const text = readTextFile('--genesis', file, genesisFileBytesMax);
  try {
    return trustGenesis(JSON.parse(text));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw badArgument(`--genesis ${file}: not a genesis document (${reason})`);
  }
}

/** The error a node's answer carries: an OperationOutcome's first issue, or the API's error. */
function errorDetail(text: string): string {
  try {
    const body = JSON.parse(text) as {
      issue?: { code?: string; diagnostics?: string }[];
      error?: { code?: string; message?: string };
    };
    const issue = body.issue?.[0];
    if (issue !== undefined) return `${issue.code ?? '?'}: ${issue.diagnostics ?? ''}`;
    if (body.error !== undefined) return `${body.error.code ?? '?'}: ${body.error.message ?? ''}`;
  } catch {
    // Not JSON: the start of the body says enough.
  }
  return text.slice(0, 200);
}

/** GETs `url` (with the bearer token if given); the body's text, or an `AuditError` naming why. */
async function getText(options: { url: string; token?: string; what: string }): Promise<string> {
  const { what } = options;
  const origin = new URL(options.url).origin;
  let response: Response;
  let text: string;
  try {
    response = await fetch(options.url, {
      headers: {
        accept: options.token === undefined ? 'application/json' : 'application/fhir+json',
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      },
      signal: AbortSignal.timeout(accountingLimits.requestTimeoutMs),
    });
    const length = Number(response.headers.get('content-length') ?? '0');
    if (length > accountingLimits.responseCharsMax) {
      throw new AuditError(
        AuditErrorCode.refused,
        `${what}: the node answered ${length} bytes, at most ${accountingLimits.responseCharsMax} are read`,
      );
    }
    text = await response.text();
  } catch (error) {
    if (error instanceof AuditError) throw error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new AuditError(
      AuditErrorCode.unreachable,
      `cannot reach ${origin} for ${what}: ${reason}`,
    );
  }
  if (response.status === 401) {
    throw new AuditError(
      AuditErrorCode.refused,
      `${what}: the node refused the token (401 ${errorDetail(text)}); get a new token for a user of ${origin}`,
    );
  }
  if (response.status === 403) {
    throw new AuditError(AuditErrorCode.refused, `${what}: forbidden (403 ${errorDetail(text)})`);
  }
  if (!response.ok) {
    throw new AuditError(
      AuditErrorCode.refused,
      `${what}: the node answered ${response.status} (${errorDetail(text)})`,
    );
  }
  if (text.length > accountingLimits.responseCharsMax) {
    throw new AuditError(AuditErrorCode.refused, `${what}: the node's answer is too long`);
  }
  return text;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AuditError(AuditErrorCode.unreachable, `${what}: the node did not answer JSON`);
  }
}

/** Verifies a verification bundle's text from the genesis; a failure names the part. */
function verifyAccessLog(options: {
  text: string;
  genesis: TrustedGenesis;
  source: string;
  expected: { patientId?: string; from?: number; to?: number };
}): VerifiedAccessLog {
  try {
    const verified = verifyBundle(parseBundleText(options.text), options.genesis);
    return assertAccessLogOf(verified, options.expected);
  } catch (error) {
    if (!(error instanceof VerifyError)) throw error;
    throw new AuditError(
      AuditErrorCode.notVerified,
      `${options.source} does not verify from the genesis file: ${error.message}`,
    );
  }
}

/**
 * Every AuditEvent of the patient in the period through FHIR search, following `next` links
 * (relative to `--node`: the token goes nowhere else). The node's links leave out `patient`,
 * which a privacy officer's search needs, so it is added back when missing.
 */
async function searchAuditEvents(options: {
  node: string;
  token: string;
  patientId: string;
  from: number;
  to: number;
}): Promise<{ fullUrl: string; resource: AuditEvent }[]> {
  const query = new URLSearchParams([
    ['patient', options.patientId],
    ['date', `ge${isoTime(options.from)}`],
    ['date', `le${isoTime(options.to)}`],
    ['_sort', 'date'],
    ['_count', String(accountingLimits.searchPageCount)],
  ]);
  let path = `/fhir/AuditEvent?${query.toString()}`;
  const found: { fullUrl: string; resource: AuditEvent }[] = [];
  const shown = new Map<string, string>();
  for (let page = 1; ; page++) {
    const what = `the AuditEvent search (page ${page})`;
    const bundle = parseJson(
      await getText({ url: `${options.node}${path}`, token: options.token, what }),
      what,
    ) as Bundle;
    if (bundle.resourceType !== 'Bundle' || bundle.type !== 'searchset') {
      throw new AuditError(AuditErrorCode.unreachable, `${what}: expected a searchset Bundle`);
    }
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource;
      if (resource?.resourceType !== 'AuditEvent') continue;
      const problem = jsonBoundsProblem(resource);
      if (problem !== undefined) {
        throw new AuditError(AuditErrorCode.mismatch, `${what}: an AuditEvent: ${problem}`);
      }
      // A page may repeat an event when the list grew in between (cursors hold an offset).
      const json = JSON.stringify(resource);
      if (resource.id !== undefined && shown.get(resource.id) === json) continue;
      if (resource.id !== undefined) shown.set(resource.id, json);
      found.push({ fullUrl: entry.fullUrl ?? `AuditEvent/${resource.id ?? ''}`, resource });
    }
    const next = bundle.link?.find((link) => link.relation === 'next')?.url;
    if (next === undefined) return found;
    if (page >= accountingLimits.searchPagesMax) {
      throw new AuditError(
        AuditErrorCode.refused,
        `the AuditEvent search has more than ${accountingLimits.searchPagesMax} pages: ask for a shorter period`,
      );
    }
    let url: URL;
    try {
      url = new URL(next, options.node);
    } catch {
      throw new AuditError(AuditErrorCode.unreachable, `${what}: its next link is not a URL`);
    }
    if (url.pathname !== '/fhir/AuditEvent') {
      throw new AuditError(
        AuditErrorCode.unreachable,
        `${what}: its next link ${JSON.stringify(next.slice(0, 120))} is not an AuditEvent search`,
      );
    }
    if (!url.searchParams.has('patient') && !url.searchParams.has('entity')) {
      url.searchParams.set('patient', options.patientId);
    }
    path = `${url.pathname}${url.search}`;
  }
}

/** Prints a failure and returns its exit code. */
function reportFailure(command: string, error: AuditError, output: AuditOutput): number {
  const verdict =
    error.code === AuditErrorCode.notVerified ||
    error.code === AuditErrorCode.mismatch ||
    error.code === AuditErrorCode.invalidExport
      ? 'NOT VERIFIED: '
      : '';
  output.err(`medledger audit ${command}: ${verdict}${error.message}`);
  for (const problem of error.problems.slice(1, problemLinesMax)) output.err(`  ${problem}`);
  if (error.problems.length > problemLinesMax) {
    output.err(`  … ${error.problems.length - problemLinesMax} more`);
  }
  return exitCodeOf(error.code);
}

/** Options of `medledger audit export`, as given (checked by `runAuditExport`). */
export interface AuditExportOptions {
  readonly node?: string;
  readonly token?: string;
  /** `MEDLEDGER_TOKEN`, used when `--token` is not given. */
  readonly tokenFromEnvironment?: string;
  readonly patient?: string;
  readonly from?: string;
  readonly to?: string;
  readonly genesis?: string;
  readonly out?: string;
  readonly now: () => number;
  readonly output: AuditOutput;
}

/** `medledger audit export`; returns the exit code. */
export async function runAuditExport(options: AuditExportOptions): Promise<number> {
  try {
    const node = nodeOrigin(options.node);
    const token = bearerToken(options.token, options.tokenFromEnvironment);
    const patientId = parsePatientArgument(
      required('--patient', options.patient, 'pass the FHIR Patient id (the pseudonym)'),
    );
    const fromText = required('--from', options.from, 'pass the first day, e.g. --from 2026-01-01');
    const toText = required('--to', options.to, 'pass the last day, e.g. --to 2026-12-31');
    const from = parseTimeArgument('--from', fromText, { endOfDay: false });
    const to = parseTimeArgument('--to', toText, { endOfDay: true });
    if (from > to) {
      throw badArgument(`--from ${fromText} is after --to ${toText}`);
    }
    const contextPatient = tokenPatient(token);
    if (contextPatient !== null && contextPatient !== patientId) {
      throw badArgument(
        `--token: the token is for Patient/${contextPatient}, who reads only their own access log, not Patient/${patientId}'s`,
      );
    }
    const genesis = loadGenesis(options.genesis);
    const out =
      options.out ??
      `accounting-${patientId}-${isoTime(from).slice(0, 10)}-${isoTime(to).slice(0, 10)}.json`;
    if (!existsSync(dirname(out)) || !statSync(dirname(out)).isDirectory()) {
      throw badArgument(`--out ${out}: the folder ${dirname(out)} does not exist`);
    }

    // The proof first: every event it lists is then in the node's state when FHIR is read, and
    // events committed later (this export's own reads among them) are set apart, not missed.
    const query = new URLSearchParams({ patient: patientId, from: String(from), to: String(to) });
    const bundleText = await getText({
      url: `${node}/chain/bundles/access-log?${query.toString()}`,
      what: 'the access-log verification bundle',
    });
    const proof = verifyAccessLog({
      text: bundleText,
      genesis,
      source: "the node's access-log verification bundle",
      expected: { patientId, from, to },
    });
    const found = await searchAuditEvents({ node, token, patientId, from, to });
    const match = matchAuditEvents({
      events: found.map((entry) => entry.resource),
      proof,
      allowLater: true,
    });
    const fullUrls = new Map(found.map((entry) => [entry.resource.id, entry.fullUrl]));
    const auditLagMaxMs = genesis.document.policy.auditLagMaxMs;
    const bundle = buildAccountingBundle({
      proof,
      auditLagMaxMs,
      events: match.events.map((resource) => ({
        fullUrl: fullUrls.get(resource.id) ?? `AuditEvent/${resource.id ?? ''}`,
        resource,
      })),
      verificationBundleText: bundleText,
      exportedAt: options.now(),
      newId: randomUUID,
    });
    const issues = exportBundleIssues(bundle);
    if (issues.length > 0) {
      throw new AuditError(
        AuditErrorCode.invalidExport,
        `the export is not a valid FHIR R4 Bundle: ${issueLine(issues[0]!)}`,
      );
    }
    try {
      // The access log of a patient: readable by its owner only.
      writeFileSync(out, `${JSON.stringify(bundle, null, 2)}\n`, { mode: 0o600 });
    } catch (error) {
      throw badArgument(`--out ${out}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    const [title, ...facts] = accountingSummaryLines({ proof, auditLagMaxMs });
    options.output.out(title!);
    for (const line of facts) options.output.out(`  ${line}`);
    if (match.later.length > 0) {
      const sequences = match.later
        .map((event) => auditEventSequence(event, patientId))
        .filter((sequence) => sequence !== null);
      options.output.out(
        `  left out: ${match.later.length} AuditEvent(s) committed after block ${proof.claim.throughHeight} (sequences ${sequences.join(', ')}; this export's reads are audited too): no proof covers them yet`,
      );
    }
    options.output.out(
      `  written to ${out}: a FHIR R4 collection Bundle of 1 Composition (the summary), ${match.events.length} AuditEvent(s) and 1 Binary (the verification bundle); check it with medledger audit check`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof AuditError)) throw error;
    return reportFailure('export', error, options.output);
  }
}

/** `medledger audit check <file> --genesis <file>`; returns the exit code. */
export function runAuditCheck(options: {
  file: string;
  genesis?: string;
  output: AuditOutput;
}): number {
  try {
    const genesis = loadGenesis(options.genesis);
    const text = readTextFile('export', options.file, accountingLimits.exportFileBytesMax);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new AuditError(
        AuditErrorCode.invalidExport,
        `${options.file} is not JSON (${(error as Error).message})`,
      );
    }
    const exported = readAccountingBundle(value);
    const issues = exportBundleIssues(value);
    if (issues.length > 0) {
      throw new AuditError(
        AuditErrorCode.invalidExport,
        `${options.file} is not a valid FHIR R4 Bundle: ${issueLine(issues[0]!)}`,
      );
    }
    const proof = verifyAccessLog({
      text: exported.verificationBundleText,
      genesis,
      source: 'the verification bundle in the Binary',
      expected: {},
    });
    const match = matchAuditEvents({ events: exported.events, proof, allowLater: false });
    const auditLagMaxMs = genesis.document.policy.auditLagMaxMs;
    assertCompositionMatches({ composition: exported.composition, proof, auditLagMaxMs });
    options.output.out(`VERIFIED ${options.file}`);
    for (const line of accountingSummaryLines({ proof, auditLagMaxMs })) {
      options.output.out(`  ${line}`);
    }
    options.output.out(
      `  its ${match.events.length} AuditEvent(s) are exactly the proven events of the period, one to one`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof AuditError)) throw error;
    return reportFailure('check', error, options.output);
  }
}

/** `medledger audit break-glass`; returns the exit code. */
export async function runBreakGlassReport(options: {
  node?: string;
  token?: string;
  tokenFromEnvironment?: string;
  json: boolean;
  now: () => number;
  output: AuditOutput;
}): Promise<number> {
  try {
    const node = nodeOrigin(options.node);
    const token = bearerToken(options.token, options.tokenFromEnvironment);
    // The queue is paged (decision 0059): every page, following `next` links on this node only.
    const entries: unknown[] = [];
    let path = '/fhir/$break-glass-review';
    for (let page = 1; ; page++) {
      const what = `the break-glass review queue (page ${page})`;
      const bundle = parseJson(await getText({ url: `${node}${path}`, token, what }), what) as {
        entry?: unknown;
        link?: { relation?: string; url?: string }[];
      } | null;
      // breakGlassUsesOf checks the shape of each page.
      breakGlassUsesOf(bundle, 0);
      entries.push(...(bundle!.entry as unknown[]));
      const next = bundle!.link?.find((link) => link.relation === 'next')?.url;
      if (next === undefined) break;
      let url: URL;
      try {
        url = new URL(next, node);
      } catch {
        throw new AuditError(AuditErrorCode.unreachable, `${what}: its next link is not a URL`);
      }
      if (url.pathname !== '/fhir/$break-glass-review' || page >= accountingLimits.searchPagesMax) {
        throw new AuditError(
          AuditErrorCode.unreachable,
          `${what}: its next link is not a further page of the queue, or there are more than ${accountingLimits.searchPagesMax} pages`,
        );
      }
      path = `${url.pathname}${url.search}`;
    }
    const now = options.now();
    const uses = breakGlassUsesOf({ resourceType: 'Bundle', entry: entries }, now);
    if (options.json) {
      options.output.out(JSON.stringify({ node, asOf: isoTime(now), uses }));
    } else {
      for (const line of formatBreakGlassReport(uses)) options.output.out(line);
    }
    return 0;
  } catch (error) {
    if (!(error instanceof AuditError)) throw error;
    return reportFailure('break-glass', error, options.output);
  }
}

/** Options of `medledger audit security-log`, as given (checked by `runSecurityLogCheck`). */
export interface SecurityLogCheckOptions {
  /** The node's data folder (its `security-audit.sqlite` is checked) … */
  readonly data?: string;
  /** … or the log file itself (a copy, say). Exactly one of the two. */
  readonly log?: string;
  readonly org?: string;
  readonly node?: string;
  readonly genesis?: string;
  readonly json: boolean;
  readonly output: AuditOutput;
}

/** `medledger audit security-log`; returns the exit code. */
export async function runSecurityLogCheck(options: SecurityLogCheckOptions): Promise<number> {
  let reader: SecurityAuditLogReader | null = null;
  try {
    if ((options.data === undefined) === (options.log === undefined)) {
      throw badArgument(
        `expected exactly one of --data <node data folder> and --log <security-audit.sqlite>, found ${options.data === undefined ? 'neither' : 'both'}`,
      );
    }
    const file = options.log ?? join(options.data!, recordsFiles.securityLog);
    const orgId = required(
      '--org',
      options.org,
      'pass the organisation whose node kept the log, e.g. --org node-0',
    );
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(orgId)) {
      throw badArgument(
        `--org: expected an organisation id, found ${JSON.stringify(orgId.slice(0, 64))}`,
      );
    }
    const node = nodeOrigin(options.node);
    const genesis = loadGenesis(options.genesis);
    try {
      reader = openSecurityAuditLogReader({ file });
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      throw badArgument(
        error.code === 'locked'
          ? `${options.log === undefined ? '--data' : '--log'} ${file}: a running node holds the log; stop the node first (or check a copy of the file)`
          : `${options.log === undefined ? '--data' : '--log'} ${error.message}`,
      );
    }
    const bounds = reader.bounds();
    const proven = await proveSecurityLogHeads({
      getJson: async (path, what) =>
        parseJson(await getText({ url: `${node}${path}`, what }), what),
      genesis,
      orgId,
      bounds,
    });
    const check = reader.verifyAgainstAnchors(
      proven.heads.map((head) => ({ logSize: head.logSize, headHash: head.headHash })),
    );
    if (!check.ok) {
      const problems = [
        check.problem,
        ...(check.anchoredHash === null
          ? []
          : [`row ${check.sequence} anchored on chain: ${check.anchoredHash}`]),
        ...(check.anchoredHash === null
          ? []
          : [`row ${check.sequence} in the log:       ${check.logHash ?? '(missing)'}`]),
      ];
      if (options.json) {
        options.output.out(JSON.stringify({ file, orgId, height: proven.height, ...check }));
      }
      throw new AuditError(AuditErrorCode.notVerified, `${file}: ${check.problem}`, problems);
    }
    if (options.json) {
      options.output.out(
        JSON.stringify({
          ok: true,
          file,
          orgId,
          height: proven.height,
          rows: check.rows,
          firstRetainedRow: bounds.anchorSequence + 1,
          headSequence: check.headSequence,
          checkedAgainst:
            check.checkedAgainst === null
              ? null
              : {
                  logSize: check.checkedAgainst.logSize,
                  headHash: toHex(check.checkedAgainst.headHash),
                },
          anchoredHeadsChecked: check.anchoredHeadsChecked,
          unanchoredRows: check.unanchoredRows,
        }),
      );
    } else {
      for (const line of securityLogCheckLines({ file, orgId, bounds, proven, check })) {
        options.output.out(line);
      }
    }
    return 0;
  } catch (error) {
    if (!(error instanceof AuditError)) throw error;
    return reportFailure('security-log', error, options.output);
  } finally {
    reader?.close();
  }
}

/** Commander's own usage errors (unknown option, missing value) are bad arguments: exit 2. */
function usageErrorsExitTwo(error: CommanderError): never {
  if (error.exitCode !== 0 && error.code !== 'commander.version') {
    throw new CommanderError(2, error.code, error.message);
  }
  throw error;
}

/** Ends a run: main returns the code of a CommanderError without printing it again. */
function exitWith(code: number, name: string): void {
  if (code !== 0) throw new CommanderError(code, `medledger.audit.exit-${code}`, name);
}

const consoleOutput: AuditOutput = {
  out: (line: string) => console.log(line),
  err: (line: string) => console.error(line),
};

type NodeOptions = { node?: string; token?: string };

/** Registers `medledger audit export | check | break-glass | security-log`. */
export function registerAuditCommand(program: Command): void {
  const audit = program
    .command('audit')
    .description(
      "accounting of disclosures (a FHIR Bundle of a patient's AuditEvents with the proof that it is complete), the break-glass review report, and a node's security log checked against its heads on chain",
    )
    .exitOverride(usageErrorsExitTwo);
  audit
    .command('export')
    .description(
      "export a patient's AuditEvents of a period as one FHIR R4 Bundle with the access-log verification bundle, verified from the genesis file and checked one to one; exit 1 if that fails, 2 for bad arguments or a refused or unreachable node",
    )
    .option('--node <url>', 'the node to ask, http://host:port')
    .option(
      '--token <bearer>',
      'a bearer token of the patient or a privacy officer (or MEDLEDGER_TOKEN)',
    )
    .option('--patient <id>', "the FHIR Patient id: the patient's pseudonym, 32 hex digits")
    .option('--from <date>', 'first day (UTC), a date-time with a zone, or Unix ms')
    .option('--to <date>', 'last day (UTC, through its last millisecond), a date-time, or Unix ms')
    .option('--genesis <file>', "the network's genesis file")
    .option(
      '--out <file>',
      'where to write the Bundle (default accounting-<patient>-<from>-<to>.json)',
    )
    .action(async (options: NodeOptions & Record<string, string | undefined>) => {
      const code = await runAuditExport({
        ...options,
        tokenFromEnvironment: process.env.MEDLEDGER_TOKEN,
        now: () => Date.now(),
        output: consoleOutput,
      });
      exitWith(code, 'audit export');
    });
  audit
    .command('check')
    .description(
      'check an exported accounting offline: the embedded verification bundle verifies from the genesis file and its AuditEvents are exactly the proven ones; exit 1 naming what fails',
    )
    .argument('<file>', 'the Bundle written by medledger audit export')
    .option('--genesis <file>', "the network's genesis file")
    .action((file: string, options: { genesis?: string }) => {
      exitWith(
        runAuditCheck({ file, genesis: options.genesis, output: consoleOutput }),
        'audit check',
      );
    });
  audit
    .command('break-glass')
    .description(
      "the privacy officer's report of break-glass uses not yet reviewed: who, which patient and organisation, purpose, reason, when, how long unreviewed",
    )
    .option('--node <url>', 'the node to ask, http://host:port')
    .option('--token <bearer>', 'a bearer token of a privacy officer (or MEDLEDGER_TOKEN)')
    .option('--json', 'one JSON object instead of the table', false)
    .action(async (options: NodeOptions & { json: boolean }) => {
      const code = await runBreakGlassReport({
        ...options,
        tokenFromEnvironment: process.env.MEDLEDGER_TOKEN,
        now: () => Date.now(),
        output: consoleOutput,
      });
      exitWith(code, 'audit break-glass');
    });
  audit
    .command('security-log')
    .description(
      "check a stopped node's security audit log (refusals before authorisation, decision 0059) against the heads its organisation anchored on chain, proven from the genesis file; exit 1 naming the row and both hashes if they disagree, 2 for bad arguments or an unreachable node",
    )
    .option('--data <dir>', "the node's data folder (its security-audit.sqlite)")
    .option('--log <file>', 'the security log file itself, instead of --data')
    .option('--org <orgId>', 'the organisation whose node kept the log')
    .option(
      '--node <url>',
      'any node of the network to read the anchored heads from, http://host:port',
    )
    .option('--genesis <file>', "the network's genesis file")
    .option('--json', 'one JSON object instead of lines', false)
    .action(async (options: Record<string, string | undefined> & { json: boolean }) => {
      const code = await runSecurityLogCheck({ ...options, output: consoleOutput });
      exitWith(code, 'audit security-log');
    });
}
