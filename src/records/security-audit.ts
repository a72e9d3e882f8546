/**
 * The security audit of requests that name no patient (decision 0059): FHIR requests refused
 * before authorisation (bad or expired token, malformed JSON, wrong media type, oversized body,
 * unknown path …) and every read of this log. Each becomes an IHE BALP-shaped FHIR R4 AuditEvent
 * (hl7.org/fhir/R4/auditevent.html) in a node-local, append-only, hash-chained log (store's
 * `openSecurityAuditLog`), never on chain: an `access.record` event needs a patient (decision
 * 0056), and unauthenticated traffic must not be able to fill the chain.
 *
 * - Type: DCM 110113 Security Alert for 401 and 403 (authentication and authorisation), BALP
 *   `rest` for every other refusal and for reads of the log; subtype the FHIR restful
 *   interaction the request attempted. Outcome 4 for a 4xx, 8 for a 5xx, 0 for a permitted read.
 * - Agent: the verified principal when a token verified (a patient without their pseudonym),
 *   otherwise "unauthenticated"; the network address the request came from; this node.
 * - Entity: the request — method, path (resource type, id and interaction segments only; no
 *   query), status and IssueType. Never a token, a query value, a body or a diagnostic text.
 * - Bounds (`securityAuditLimits`): per second, refusals without and with a verified token are
 *   recorded one by one up to a rate (token buckets); beyond it they are counted and written as
 *   one DCM 110113 / 110133 "Audit Recording Stopped" event naming how many were not itemised and
 *   when. The log rotates oldest first at `rowsMax` rows. Both losses are counted for /metrics.
 */
import type { AuditEvent, AuditEventAgent, Bundle, BundleEntry, Coding } from '@medplum/fhirtypes';
import type { Logger } from 'pino';

import { toHex, utf8 } from '../base/index.ts';
import { sha256 } from '../crypto/index.ts';
import { authorizeInteraction, type VerifiedAccessToken } from '../auth/index.ts';
import {
  AuditSystem,
  ConsentSystem,
  FhirError,
  actorReference,
  fhirInstant,
  parseDateRange,
} from '../fhir/index.ts';
import { securityAuditLimits } from './limits.ts';

type Params = Readonly<Record<string, readonly string[]>>;

/** One event to keep (the shape of store's `SecurityAuditEntry`). */
export interface SecurityAuditStoreEntry {
  readonly time: number;
  readonly type: string;
  readonly subtype: string;
  readonly outcome: string;
  readonly body: string;
}

/** A kept event. */
export interface SecurityAuditStoreRow extends SecurityAuditStoreEntry {
  readonly sequence: number;
}

/** What a page selects (the shape of store's `SecurityAuditFilter`). */
export interface SecurityAuditStoreFilter {
  readonly types?: readonly string[];
  readonly subtypes?: readonly string[];
  readonly outcomes?: readonly string[];
  readonly timeFrom?: number;
  readonly timeTo?: number;
}

/**
 * Where the events are kept: the node's SQLite log (store's `openSecurityAuditLog`, wired by the
 * CLI) or `MemorySecurityAuditStore` (tests, nodes without a data folder). Append-only, newest
 * first when paged, bounded by rotation.
 */
export interface SecurityAuditStore {
  append(entry: SecurityAuditStoreEntry): { sequence: number };
  page(options: { filter?: SecurityAuditStoreFilter; beforeSequence?: number; count: number }): {
    readonly rows: readonly SecurityAuditStoreRow[];
    readonly total: number;
    readonly more: boolean;
  };
  stats(): { readonly rows: number; readonly rotatedRows: number };
}

/** An in-memory `SecurityAuditStore` with the same rotation (no file, no hash chain). */
export class MemorySecurityAuditStore implements SecurityAuditStore {
  readonly #rows: SecurityAuditStoreRow[] = [];
  readonly #rowsMax: number;
  readonly #rotationRows: number;
  #next = 1;
  #rotated = 0;

  constructor(options: { rowsMax?: number; rotationRows?: number } = {}) {
    this.#rowsMax = options.rowsMax ?? securityAuditLimits.rowsMax;
    this.#rotationRows = options.rotationRows ?? securityAuditLimits.rotationRows;
  }

  append(entry: SecurityAuditStoreEntry): { sequence: number } {
    if (this.#rows.length >= this.#rowsMax) {
      const removed = this.#rows.splice(0, this.#rotationRows).length;
      this.#rotated += removed;
    }
    const sequence = this.#next++;
    this.#rows.push({ ...entry, sequence });
    return { sequence };
  }

  page(options: { filter?: SecurityAuditStoreFilter; beforeSequence?: number; count: number }) {
    const filter = options.filter ?? {};
    const matches = this.#rows.filter(
      (row) =>
        (filter.types === undefined || filter.types.includes(row.type)) &&
        (filter.subtypes === undefined || filter.subtypes.includes(row.subtype)) &&
        (filter.outcomes === undefined || filter.outcomes.includes(row.outcome)) &&
        (filter.timeFrom === undefined || row.time >= filter.timeFrom) &&
        (filter.timeTo === undefined || row.time <= filter.timeTo),
    );
    const before = matches
      .filter(
        (row) => options.beforeSequence === undefined || row.sequence < options.beforeSequence,
      )
      .reverse();
    return {
      rows: before.slice(0, options.count),
      total: matches.length,
      more: before.length > options.count,
    };
  }

  stats() {
    return { rows: this.#rows.length, rotatedRows: this.#rotated };
  }
}

/** A request the FHIR routes refused before the service (api's `FhirRejection`). */
export interface SecurityRefusal {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly code: string;
  readonly token: VerifiedAccessToken | null;
  /** The client's network address (the socket's remote end), when known. */
  readonly address?: string | null;
}

/** What the security audit has counted since the node started (for /metrics). */
export interface SecurityAuditCounts {
  /** Events written to the log, by outcome code. */
  readonly recorded: Readonly<Record<string, number>>;
  /** Refusals handed over, by IssueType code (itemised or not). */
  readonly refusals: Readonly<Record<string, number>>;
  /** Refusals counted in a summary instead of one event each (rate limit). */
  readonly notItemised: number;
  /** Events lost: the log refused the write (I/O), so they went to the node's log only. */
  readonly failed: number;
  /** Rows removed by rotation (since the log was created) and rows kept now. */
  readonly rotated: number;
  readonly rows: number;
}

/** IssueType codes the refusal counter names; any other code counts as `other` (bounded labels). */
const countedIssueTypes = new Set([
  'invalid',
  'structure',
  'required',
  'value',
  'login',
  'expired',
  'forbidden',
  'not-found',
  'not-supported',
  'too-long',
  'conflict',
  'business-rule',
  'throttled',
  'exception',
]);

/** FHIR restful-interaction codes (hl7.org/fhir/R4/codesystem-restful-interaction.html). */
type Interaction =
  | 'read'
  | 'vread'
  | 'update'
  | 'patch'
  | 'delete'
  | 'history-instance'
  | 'create'
  | 'search-type'
  | 'search-system'
  | 'capabilities'
  | 'transaction'
  | 'operation';

const interactionAction: Record<Interaction, 'C' | 'R' | 'U' | 'D' | 'E'> = {
  read: 'R',
  vread: 'R',
  update: 'U',
  patch: 'U',
  delete: 'D',
  'history-instance': 'R',
  create: 'C',
  'search-type': 'E',
  'search-system': 'E',
  capabilities: 'R',
  transaction: 'E',
  operation: 'E',
};

const segmentPattern = /^[A-Za-z0-9\-.$_]{1,64}$/;

/**
 * The path as kept: at most `pathSegmentsMax` segments of resource type, id and interaction
 * characters; any other segment becomes `*`, so nothing a client typed beyond those shapes (and
 * never the query) reaches the log.
 */
export function auditedPath(path: string): string {
  const segments = path
    .split('?')[0]!
    .split('/')
    .filter((segment) => segment.length > 0);
  const kept = segments
    .slice(0, securityAuditLimits.pathSegmentsMax)
    .map((segment) => (segmentPattern.test(segment) ? segment : '*'));
  if (segments.length > securityAuditLimits.pathSegmentsMax) kept.push('…');
  return kept.join('/').slice(0, securityAuditLimits.pathCharsMax);
}

/** The restful interaction a request attempted, from its method and path. */
export function interactionOf(method: string, path: string): Interaction {
  const segments = auditedPath(path)
    .split('/')
    .filter((segment) => segment.length > 0);
  if (segments.some((segment) => segment.startsWith('$'))) return 'operation';
  const [type, second, third, fourth] = segments;
  switch (method.toUpperCase()) {
    case 'POST':
      if (type === undefined) return 'transaction';
      if (second === '_search') return 'search-type';
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      if (type === undefined) return 'search-system';
      if (type === 'metadata') return 'capabilities';
      if (second === undefined) return 'search-type';
      if (third === '_history') return fourth === undefined ? 'history-instance' : 'vread';
      return 'read';
  }
}

/** An IP address as kept: the characters of IPv4 and IPv6 only, bounded. */
function auditedAddress(address: string | null | undefined): string | null {
  if (address === undefined || address === null) return null;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return /^[0-9A-Fa-f:.]{2,45}$/.test(plain) ? plain : null;
}

const securityAlert: Coding = {
  system: AuditSystem.dicom,
  code: '110113',
  display: 'Security Alert',
};
const restType: Coding = {
  system: AuditSystem.eventType,
  code: 'rest',
  display: 'Restful Operation',
};

function requestorAgent(
  token: VerifiedAccessToken | null,
  address: string | null,
): AuditEventAgent[] {
  const network = address === null ? {} : { network: { address, type: '2' as const } };
  if (token === null) {
    return [{ who: { display: 'unauthenticated client' }, requestor: true, ...network }];
  }
  const { principal, org } = token.claims;
  const agents: AuditEventAgent[] = [];
  const purpose = token.claims.purpose_of_use;
  const purposeOfUse =
    purpose === undefined
      ? {}
      : { purposeOfUse: [{ coding: [{ system: ConsentSystem.actReason, code: purpose }] }] };
  switch (principal.kind) {
    case 'practitioner':
      agents.push({
        type: {
          coding: [
            {
              system: ConsentSystem.participationType,
              code: 'IRCP',
              display: 'information recipient',
            },
          ],
        },
        who: actorReference({ kind: 'practitioner', id: `${org}/${principal.id.slice(0, 64)}` }),
        requestor: true,
        ...purposeOfUse,
        ...network,
      });
      break;
    case 'client':
      agents.push({
        type: { coding: [{ system: AuditSystem.dicom, code: '110150', display: 'Application' }] },
        who: actorReference({ kind: 'client', id: `${org}/${principal.id.slice(0, 64)}` }),
        requestor: true,
        ...purposeOfUse,
        ...network,
      });
      break;
    case 'patient':
      // A patient's pseudonym names a patient: it stays out of this log (decision 0059).
      agents.push({
        type: { coding: [{ system: AuditSystem.roleClass, code: 'PAT', display: 'patient' }] },
        who: { display: 'a patient (pseudonym not kept in the security log)' },
        requestor: true,
        ...network,
      });
      break;
  }
  agents.push({
    type: {
      coding: [{ system: AuditSystem.roleClass, code: 'PROV', display: 'healthcare provider' }],
    },
    who: actorReference({ kind: 'organization', id: org }),
    requestor: false,
  });
  return agents;
}

function nodeAgent(orgId: string): AuditEventAgent {
  return {
    type: {
      coding: [{ system: AuditSystem.dicom, code: '110152', display: 'Destination Role ID' }],
    },
    who: {
      type: 'Device',
      identifier: { system: AuditSystem.node, value: orgId },
      display: `MedLedger node of ${orgId}`,
    },
    requestor: false,
  };
}

function sourceOf(orgId: string): AuditEvent['source'] {
  return {
    site: orgId,
    observer: actorReference({ kind: 'organization', id: orgId }),
    type: [{ system: AuditSystem.sourceType, code: '4', display: 'Application Server' }],
  };
}

/** A token bucket: `rate` per second sustained, `burst` at once. */
class RateBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.#at);
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.rate) / 1000);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** Refusals over the rate, waiting to be written as one summary event. */
interface Suppressed {
  count: number;
  first: number;
  last: number;
  readonly byStatus: Map<number, number>;
}

/** What a page of the log was asked for, once parsed. */
interface LogQuery {
  readonly filter: SecurityAuditStoreFilter;
  readonly count: number;
  readonly beforeSequence: number | undefined;
  /** The query without paging parameters, for links and the cursor's binding. */
  readonly canonical: string;
}

const searchParameters = new Set([
  'type',
  'subtype',
  'outcome',
  'date',
  '_count',
  '_cursor',
  '_sort',
]);
/** Parameters the routes pass along that do not change what is found. */
const ignoredParameters = new Set(['_format', '_pretty', '_total', '_summary', '_elements']);

function cursorHash(canonical: string): string {
  return toHex(sha256(utf8(`medledger/security-audit-search/v1\n${canonical}`))).slice(0, 32);
}

function encodeCursor(beforeSequence: number, canonical: string): string {
  return Buffer.from(JSON.stringify({ b: beforeSequence, q: cursorHash(canonical) })).toString(
    'base64url',
  );
}

function badCursor(): FhirError {
  return new FhirError(
    'value',
    'expected a _cursor from a next link of this server, found another value',
    {
      status: 400,
      expression: ['_cursor'],
    },
  );
}

function decodeCursor(cursor: string, canonical: string): number {
  let record: { b?: unknown; q?: unknown } | null;
  try {
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw new Error('not base64url');
    record = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as typeof record;
  } catch {
    throw badCursor();
  }
  const before = record?.b;
  if (typeof before !== 'number' || !Number.isSafeInteger(before) || before < 1) throw badCursor();
  if (record?.q !== cursorHash(canonical)) {
    throw new FhirError(
      'invalid',
      'expected a _cursor made for this query, found one made for another query',
      {
        status: 400,
        expression: ['_cursor'],
      },
    );
  }
  return before;
}

/** A token parameter's codes (`code` or `system|code`, comma-separated alternatives). */
function codesOf(name: string, values: readonly string[], systems: readonly string[]): string[] {
  const codes: string[] = [];
  for (const value of values) {
    for (const alternative of value.split(',')) {
      const bar = alternative.indexOf('|');
      const system = bar < 0 ? null : alternative.slice(0, bar);
      const code = bar < 0 ? alternative : alternative.slice(bar + 1);
      if (system !== null && system !== '' && !systems.includes(system)) {
        throw new FhirError(
          'value',
          `${name}: expected a code of ${systems.join(' or ')}, found system ${JSON.stringify(system.slice(0, 64))}`,
          {
            status: 400,
            expression: [name],
          },
        );
      }
      if (!/^[A-Za-z0-9\-.]{1,64}$/.test(code)) {
        throw new FhirError(
          'value',
          `${name}: expected a code, found ${JSON.stringify(code.slice(0, 64))}`,
          {
            status: 400,
            expression: [name],
          },
        );
      }
      codes.push(code);
    }
  }
  return codes;
}

/** The time bounds of `date` parameters (FHIR R4 search.html#date: ge, gt, le, lt, eq). */
function dateBoundsOf(values: readonly string[]): { timeFrom?: number; timeTo?: number } {
  let from = -Infinity;
  let to = Infinity;
  for (const value of values) {
    const prefix = /^(eq|ge|gt|le|lt)/.exec(value)?.[1] ?? 'eq';
    const text = /^(eq|ge|gt|le|lt)/.test(value) ? value.slice(2) : value;
    const range = parseDateRange(text);
    if (range === undefined) {
      throw new FhirError(
        'value',
        `date: expected [ge|gt|le|lt|eq] and a FHIR date or dateTime, found ${JSON.stringify(value.slice(0, 64))}`,
        {
          status: 400,
          expression: ['date'],
        },
      );
    }
    switch (prefix) {
      case 'ge':
        from = Math.max(from, range.start);
        break;
      case 'gt':
        from = Math.max(from, range.end);
        break;
      case 'le':
        to = Math.min(to, range.end - 1);
        break;
      case 'lt':
        to = Math.min(to, range.start - 1);
        break;
      default:
        from = Math.max(from, range.start);
        to = Math.min(to, range.end - 1);
    }
  }
  return {
    ...(from === -Infinity ? {} : { timeFrom: Math.max(0, from) }),
    ...(to === Infinity ? {} : { timeTo: Math.max(-1, to) }),
  };
}

function parseLogQuery(params: Params): LogQuery {
  for (const name of Object.keys(params)) {
    if (!searchParameters.has(name) && !ignoredParameters.has(name)) {
      throw new FhirError(
        'value',
        `the security log's AuditEvent search takes type, subtype, outcome, date, _count, _cursor and _sort=-date; found ${JSON.stringify(name.slice(0, 64))} (an access log on chain is searched with patient=)`,
        { status: 400, expression: [name.slice(0, 64)] },
      );
    }
  }
  const sort = params['_sort'] ?? [];
  if (sort.some((value) => value !== '-date')) {
    throw new FhirError('value', '_sort: the security log is served newest first (-date) only', {
      status: 400,
      expression: ['_sort'],
    });
  }
  const filter: SecurityAuditStoreFilter = {
    ...(params['type'] === undefined
      ? {}
      : { types: codesOf('type', params['type'], [AuditSystem.dicom, AuditSystem.eventType]) }),
    ...(params['subtype'] === undefined
      ? {}
      : {
          subtypes: codesOf('subtype', params['subtype'], [
            AuditSystem.dicom,
            AuditSystem.restfulInteraction,
          ]),
        }),
    ...(params['outcome'] === undefined
      ? {}
      : { outcomes: codesOf('outcome', params['outcome'], [AuditSystem.outcome]) }),
    ...(params['date'] === undefined ? {} : dateBoundsOf(params['date'])),
  };
  const countText = params['_count']?.at(-1);
  const count = countText === undefined ? securityAuditLimits.pageRowsDefault : Number(countText);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new FhirError(
      'value',
      `_count: expected a whole number from 1, found ${JSON.stringify(String(countText).slice(0, 32))}`,
      {
        status: 400,
        expression: ['_count'],
      },
    );
  }
  const canonicalParams = new URLSearchParams();
  for (const name of ['type', 'subtype', 'outcome', 'date']) {
    for (const value of params[name] ?? []) canonicalParams.append(name, value);
  }
  const canonical = canonicalParams.toString();
  const cursor = params['_cursor']?.at(-1);
  return {
    filter,
    count: Math.min(count, securityAuditLimits.pageRowsMax),
    beforeSequence: cursor === undefined ? undefined : decodeCursor(cursor, canonical),
    canonical,
  };
}

/** Who may read the log, as the records service found on chain. */
export type SecurityLogReader = 'privacy-officer' | 'client' | 'none';

/** The security audit of one node: records refusals and reads, serves the log to privacy officers. */
export class SecurityAudit {
  readonly #store: SecurityAuditStore;
  readonly #orgId: string;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #buckets: { anonymous: RateBucket; verified: RateBucket };
  readonly #suppressed: { anonymous: Suppressed | null; verified: Suppressed | null } = {
    anonymous: null,
    verified: null,
  };
  readonly #recorded = new Map<string, number>();
  readonly #refusals = new Map<string, number>();
  #notItemised = 0;
  #failed = 0;

  constructor(options: {
    store: SecurityAuditStore;
    orgId: string;
    now: () => number;
    logger: Logger;
  }) {
    this.#store = options.store;
    this.#orgId = options.orgId;
    this.#now = options.now;
    this.#logger = options.logger;
    const now = options.now();
    this.#buckets = {
      anonymous: new RateBucket(
        securityAuditLimits.anonymousEventsPerSecond,
        securityAuditLimits.anonymousBurstEvents,
        now,
      ),
      verified: new RateBucket(
        securityAuditLimits.verifiedEventsPerSecond,
        securityAuditLimits.verifiedBurstEvents,
        now,
      ),
    };
  }

  /** Counts for /metrics. */
  counts(): SecurityAuditCounts {
    const stats = this.#store.stats();
    return {
      recorded: Object.fromEntries(this.#recorded),
      refusals: Object.fromEntries(this.#refusals),
      notItemised: this.#notItemised,
      failed: this.#failed,
      rotated: stats.rotatedRows,
      rows: stats.rows,
    };
  }

  /** Records a request the routes refused before the service. Never throws. */
  recordRefusal(refusal: SecurityRefusal): void {
    try {
      const code = countedIssueTypes.has(refusal.code) ? refusal.code : 'other';
      this.#refusals.set(code, (this.#refusals.get(code) ?? 0) + 1);
      const now = this.#now();
      const kind = refusal.token === null ? 'anonymous' : 'verified';
      if (!this.#buckets[kind].take(now)) {
        this.#suppress(kind, refusal.status, now);
        return;
      }
      this.#writeSummary(kind);
      this.#write(this.#refusalEvent(refusal, now));
    } catch (error) {
      this.#failed += 1;
      this.#logger.error({ err: error }, 'security audit event not recorded');
    }
  }

  /** Writes the summaries of refusals not itemised so far (before a read, at shutdown). */
  flushSuppressed(): void {
    try {
      this.#writeSummary('anonymous');
      this.#writeSummary('verified');
    } catch (error) {
      this.#failed += 1;
      this.#logger.error({ err: error }, 'security audit summary not recorded');
    }
  }

  /**
   * `GET /AuditEvent` without `patient`: a page of this node's security log, newest first, for
   * privacy officers of this organisation and its system clients with an AuditEvent search
   * scope (`reader`, as the service found on chain). The read is itself recorded here, permitted
   * or refused (it names no patient either).
   */
  search(options: {
    token: VerifiedAccessToken;
    params: Params;
    baseUrl: string;
    reader: SecurityLogReader;
  }): Bundle {
    const { token, params, baseUrl } = options;
    try {
      if (token.claims.org !== this.#orgId) {
        throw new FhirError(
          'forbidden',
          `this node serves ${this.#orgId}; the token is of ${token.claims.org}`,
          {
            status: 403,
          },
        );
      }
      try {
        authorizeInteraction(token, {
          resourceType: 'AuditEvent',
          interaction: 'search',
          patient: null,
        });
      } catch (error) {
        throw new FhirError('forbidden', (error as Error).message, { status: 403 });
      }
      if (options.reader === 'none') {
        throw new FhirError(
          'forbidden',
          "this node's security log is read by its privacy officers and by system clients with an AuditEvent search scope",
          { status: 403 },
        );
      }
    } catch (error) {
      if (error instanceof FhirError) this.#recordRead(token, { status: 403, code: 'forbidden' });
      throw error;
    }
    const query = parseLogQuery(params);
    this.flushSuppressed();
    // Recorded before the page is read, so the reader's own read is on the first page.
    this.#recordRead(token, { status: 200, code: 'informational' });
    const page = this.#store.page({
      filter: query.filter,
      count: query.count,
      ...(query.beforeSequence === undefined ? {} : { beforeSequence: query.beforeSequence }),
    });
    const self = `${baseUrl}/AuditEvent${query.canonical === '' ? '' : `?${query.canonical}`}`;
    const link: Bundle['link'] = [{ relation: 'self', url: self }];
    const last = page.rows.at(-1);
    if (page.more && last !== undefined) {
      const next = new URLSearchParams(query.canonical);
      next.set('_count', String(query.count));
      next.set('_cursor', encodeCursor(last.sequence, query.canonical));
      link.push({ relation: 'next', url: `${baseUrl}/AuditEvent?${next.toString()}` });
    }
    const entry: BundleEntry[] = page.rows.map((row) => {
      const resource = this.#viewOf(row);
      return {
        fullUrl: `${baseUrl}/AuditEvent/${resource.id}`,
        resource,
        search: { mode: 'match' },
      };
    });
    return { resourceType: 'Bundle', type: 'searchset', total: page.total, link, entry };
  }

  #viewOf(row: SecurityAuditStoreRow): AuditEvent {
    const stored = JSON.parse(row.body) as AuditEvent;
    return {
      ...stored,
      id: `security-${row.sequence}`,
      meta: { versionId: '1', lastUpdated: fhirInstant(row.time) },
    };
  }

  #recordRead(token: VerifiedAccessToken, result: { status: number; code: string }): void {
    try {
      const now = this.#now();
      // A permitted read is always itemised; a refused one counts against the verified rate.
      if (result.status !== 200 && !this.#buckets.verified.take(now)) {
        this.#suppress('verified', result.status, now);
        return;
      }
      this.#write(
        this.#refusalEvent(
          { method: 'GET', path: 'AuditEvent', status: result.status, code: result.code, token },
          now,
        ),
      );
    } catch (error) {
      this.#failed += 1;
      this.#logger.error({ err: error }, 'security audit event not recorded');
    }
  }

  #suppress(kind: 'anonymous' | 'verified', status: number, now: number): void {
    this.#notItemised += 1;
    const pending = this.#suppressed[kind] ?? {
      count: 0,
      first: now,
      last: now,
      byStatus: new Map<number, number>(),
    };
    pending.count += 1;
    pending.last = now;
    pending.byStatus.set(status, (pending.byStatus.get(status) ?? 0) + 1);
    this.#suppressed[kind] = pending;
  }

  #writeSummary(kind: 'anonymous' | 'verified'): void {
    const pending = this.#suppressed[kind];
    if (pending === null) return;
    this.#suppressed[kind] = null;
    const statuses = [...pending.byStatus]
      .sort(([a], [b]) => a - b)
      .map(([status, count]) => `${status}×${count}`)
      .join(', ');
    const rate =
      kind === 'anonymous'
        ? securityAuditLimits.anonymousEventsPerSecond
        : securityAuditLimits.verifiedEventsPerSecond;
    const event: AuditEvent = {
      resourceType: 'AuditEvent',
      type: securityAlert,
      subtype: [{ system: AuditSystem.dicom, code: '110133', display: 'Audit Recording Stopped' }],
      action: 'E',
      period: { start: fhirInstant(pending.first), end: fhirInstant(pending.last) },
      recorded: fhirInstant(this.#now()),
      outcome: '4',
      outcomeDesc: `${pending.count} refusals of requests ${kind === 'anonymous' ? 'without' : 'with'} a verified token were counted, not recorded one by one (over ${rate} per second): ${statuses}`,
      agent: [nodeAgent(this.#orgId)],
      source: sourceOf(this.#orgId),
      entity: [
        {
          type: { system: AuditSystem.entityType, code: '2', display: 'System Object' },
          description: 'refusals not itemised',
          detail: [
            { type: 'count', valueString: String(pending.count) },
            { type: 'statuses', valueString: statuses },
          ],
        },
      ],
    };
    this.#write(event);
  }

  #refusalEvent(refusal: SecurityRefusal, now: number): AuditEvent {
    const path = auditedPath(refusal.path);
    const interaction = interactionOf(refusal.method, path);
    const method = /^[A-Z]{1,10}$/.test(refusal.method) ? refusal.method : 'OTHER';
    const code = /^[a-z-]{1,32}$/.test(refusal.code) ? refusal.code : 'exception';
    const status = Number.isSafeInteger(refusal.status) ? refusal.status : 500;
    const permitted = status < 400;
    const authentication = status === 401 || status === 403;
    return {
      resourceType: 'AuditEvent',
      type: authentication ? securityAlert : restType,
      subtype: [
        { system: AuditSystem.restfulInteraction, code: interaction, display: interaction },
      ],
      action: interactionAction[interaction],
      recorded: fhirInstant(now),
      outcome: permitted ? '0' : status >= 500 ? '8' : '4',
      outcomeDesc: permitted
        ? `${status}: security log read`
        : `${status} ${code}: refused before authorisation of the request`,
      agent: [
        ...requestorAgent(refusal.token, auditedAddress(refusal.address)),
        nodeAgent(this.#orgId),
      ],
      source: sourceOf(this.#orgId),
      entity: [
        {
          type: { system: AuditSystem.entityType, code: '2', display: 'System Object' },
          description: 'the HTTP request (no query, no body)',
          detail: [
            { type: 'method', valueString: method },
            { type: 'path', valueString: path },
            { type: 'status', valueString: String(status) },
            { type: 'issue-type', valueString: code },
          ],
        },
      ],
    };
  }

  #write(event: AuditEvent): void {
    const subtype = event.subtype?.[0]?.code ?? '';
    const outcome = event.outcome ?? '';
    this.#store.append({
      time: Date.parse(event.recorded),
      type: event.type.code ?? '',
      subtype,
      outcome,
      body: JSON.stringify(event),
    });
    this.#recorded.set(outcome, (this.#recorded.get(outcome) ?? 0) + 1);
  }
}
