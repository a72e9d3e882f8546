/**
 * The records service: what each FHIR interaction means for MedLedger (DESIGN.md "Records off
 * the chain", CONVENTIONS.md). Every request is checked in the order CONVENTIONS.md gives —
 * token (by the routes), scope, patient confinement, then the consent contract's decision on
 * committed chain state — and every decision, permit or deny, becomes an audit event on chain.
 * Records live encrypted in this organisation's vault; the chain holds their salted hashes. A
 * record held by another organisation is fetched from its custodian's node, which decides again,
 * audits, and seals it to this node's key; its hash is checked against the anchor before use.
 */
import { randomBytes } from 'node:crypto';

import type {
  AuditEvent,
  Bundle,
  BundleEntry,
  CapabilityStatement,
  Consent,
  OperationOutcome,
  OperationOutcomeIssue,
  Provenance,
  Resource,
} from '@medplum/fhirtypes';
import type { Logger } from 'pino';

import { equalBytes, fromHex, toHex, utf8 } from '../base/index.ts';
import {
  chainLimits,
  decodeTransaction,
  encodeTransaction,
  transactionId,
} from '../chain/index.ts';
import { encodeCbor } from '../codec/index.ts';
import {
  type AccessDecision,
  type AccessRequest,
  type AuditAction,
  type AuditEventInput,
  type Requester,
  type StateReader,
  contractBody,
  contractLimits,
  type AnchorRecordInput,
  decide,
  countAuditEvents,
  listAuditEvents,
  listPatientConsents,
  listUnreviewedBreakGlass,
  decodeContractBody,
  readConsent,
  readMember,
  readPatient,
  readPractitioner,
  readPrincipal,
  readRecordHead,
  readRecordVersion,
  findMemberOfNodeKey,
  type RecordVersion,
  type BreakGlassRecord,
} from '../contracts/index.ts';
import { type Ed25519KeyPair, ed25519Sign, sha256 } from '../crypto/index.ts';
import {
  type AuthError,
  authorizeInteraction,
  breakGlassRequestOf,
  type VerifiedAccessToken,
} from '../auth/index.ts';
import {
  FhirError,
  type BundleEntryResult,
  type NewId,
  type TransactionOperation,
  batchResponseBundle,
  formatEtag,
  outcomeOfError,
  planBatch,
  planTransaction,
  rewriteReferences,
  transactionResponseBundle,
  assertIfMatch,
  assertValidResource,
  auditEventRecordToFhir,
  breakGlassAuditEvent,
  capabilityStatement,
  clinicalResourceTypes,
  consentRecordToFhir,
  consentToGrantBody,
  decideConditionalCreate,
  fhirLimits,
  historyBundle,
  informationOutcome,
  operationOutcome,
  parseIfNoneExist,
  patientReferenceOf,
  provenanceForWrite,
  provenanceSigningInput,
  searchResources,
  securityLabelsOf,
  suppressedIssue,
  withServerMeta,
} from '../fhir/index.ts';
import {
  type RecordVault,
  VaultError,
  openSealedRecord,
  randomPoolBytes,
  recordContentHash,
  sealRecordForPeer,
} from '../vault/index.ts';
import { NodeError } from '../node/index.ts';
import { AnchorBatcher } from './anchor-batcher.ts';
import { AuditBatcher } from './audit-batcher.ts';
import { breakGlassReviewLimits, defaultPurposeOfUse, recordsLimits } from './limits.ts';
import type { RecordsNode } from './records-node.ts';
import {
  MemorySecurityAuditStore,
  SecurityAudit,
  type SecurityAuditStore,
  type SecurityLogReader,
  type SecurityRefusal,
} from './security-audit.ts';
import {
  type RemoteCandidate,
  remoteSearchCandidates,
  searchedPatientOf,
  settleBounded,
} from './search-across-custodians.ts';
import { shareRequesterOf } from './share-requester.ts';
import {
  type ShareRequest,
  ShareRequestSchema,
  type ShareResponse,
  ShareResponseSchema,
  shareAad,
} from './share-protocol.ts';

/** The verified caller of one request (the shape of api's `FhirRequestContext`). */
export interface RecordsRequestContext {
  readonly token: VerifiedAccessToken;
  readonly baseUrl: string;
  readonly requestId: string;
}

type Params = Readonly<Record<string, readonly string[]>>;

/** A decision as an audit event carries it. */
interface AuditedDecision {
  readonly decision: 'permit' | 'deny';
  readonly reason: string;
  readonly consentId: Uint8Array | null;
  readonly breakGlassId: Uint8Array | null;
}

export interface RecordsServiceOptions {
  readonly node: RecordsNode;
  readonly vault: RecordVault;
  /** This node's organisation (the custodian of what is written here). */
  readonly orgId: string;
  /** The node's key pair: opens records sealed to it by custodians. */
  readonly nodeKeyPair: Ed25519KeyPair;
  readonly logger: Logger;
  readonly now: () => number;
  /** The token endpoint shown in the CapabilityStatement. */
  readonly tokenUrl: string;
  /**
   * Where refusals that name no patient are kept (decision 0059): the node's SQLite security
   * log; in memory when not given.
   */
  readonly securityLog?: SecurityAuditStore;
}

const pseudonymPattern = /^[0-9a-f]{32}$/;

/** The `_cursor` of a review queue page: the last sequence shown, opaque to clients. */
function encodeReviewCursor(afterSequence: number): string {
  return Buffer.from(JSON.stringify({ a: afterSequence })).toString('base64url');
}

/** `_count` and `_cursor` of `GET /$break-glass-review`; 400 naming the bad one. */
function reviewPageOf(params: Params): { count: number; afterSequence: number } {
  for (const name of Object.keys(params)) {
    if (!['_count', '_cursor', '_format', '_pretty'].includes(name)) {
      throw new FhirError(
        'value',
        `$break-glass-review takes _count and _cursor, found ${JSON.stringify(name.slice(0, 64))}`,
        { status: 400, expression: [name.slice(0, 64)] },
      );
    }
  }
  const countText = params['_count']?.at(-1);
  const count = countText === undefined ? breakGlassReviewLimits.pageDefault : Number(countText);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new FhirError(
      'value',
      `_count: expected a whole number from 1, found ${JSON.stringify(String(countText).slice(0, 32))}`,
      { status: 400, expression: ['_count'] },
    );
  }
  const cursor = params['_cursor']?.at(-1);
  let afterSequence = -1;
  if (cursor !== undefined) {
    let value: unknown;
    try {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) throw new Error('not base64url');
      value = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { a?: unknown })?.a;
    } catch {
      value = undefined;
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new FhirError(
        'value',
        'expected a _cursor from a next link of this server, found another value',
        { status: 400, expression: ['_cursor'] },
      );
    }
    afterSequence = value;
  }
  return { count: Math.min(count, breakGlassReviewLimits.pageMax), afterSequence };
}

function notFound(type: string, id: string): FhirError {
  return new FhirError('not-found', `${type}/${id.slice(0, 64)} is not known`, { status: 404 });
}

function idBytes(type: string, id: string): Uint8Array {
  if (!pseudonymPattern.test(id)) throw notFound(type, id);
  return fromHex(id);
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** The chain's label codes of a resource: its confidentiality code and sensitivity codes. */
function chainLabelsOf(resource: Resource): string[] {
  const labels = securityLabelsOf(resource);
  return [labels.confidentiality ?? 'N', ...labels.sensitivity];
}

/** A break-glass reason as a code fit for the chain: the free text never leaves the node. */
function reasonCodeOf(reason: string): string {
  return /^[a-z0-9-]{1,32}$/.test(reason) ? reason : 'stated-in-request';
}

const denialAdvice: Record<string, string> = {
  'consent-deny': 'the patient has refused this access in a consent',
  'sensitive-label-not-named':
    'the record carries a sensitive label that the patient’s consent does not name',
  'sensitive-needs-consent': 'the record carries a sensitive label and needs a specific consent',
  'default-opt-in': 'the patient has not consented to this access',
  'default-purpose-not-covered': 'this purpose of use is not covered without a consent',
  'break-glass-refused': 'break-glass needs the break-glass role and a reason',
  'unknown-requester': 'you are not registered on the network for this organisation',
};

function denial(decision: { reason: string }): FhirError {
  const why = denialAdvice[decision.reason] ?? decision.reason;
  return new FhirError(
    'forbidden',
    `access denied (${decision.reason}): ${why}. Ask the patient for consent, or, in an emergency and if you hold the break-glass role, use purpose of use BTG with a reason.`,
    { status: 403 },
  );
}

/** A 503 for a custodian's node that did not answer or could not serve: worth a retry later. */
function custodianUnavailable(message: string): FhirError {
  return new FhirError('transient', message, {
    status: 503,
    details: { retryAfterSeconds: recordsLimits.custodianRetryAfterSeconds },
  });
}

/** The consent contract's question about one record: may `requester` access it for `purpose`? */
function recordAccessRequest(
  head: RecordVersion,
  requester: Requester,
  purpose: string,
): AccessRequest {
  return {
    patientId: head.patientId,
    requester,
    action: 'access',
    purpose,
    recordId: head.recordId,
    resourceType: null,
    securityLabels: [],
  };
}

/** One version to write (`#writeVersions`); `label` names it in errors (`Bundle.entry[3]`). */
interface VersionWrite {
  readonly label: string;
  readonly type: string;
  readonly recordId: Uint8Array;
  readonly patientId: Uint8Array;
  readonly version: number;
  readonly resource: Resource;
  readonly deleted: boolean;
  /** Audit the write (create); updates and deletes were audited by their decision. */
  readonly action: 'create' | null;
}

/** A version ready for the vault: the resource with its server meta, and its chain labels. */
interface PreparedVersion {
  /** `label` is the Bundle entry (`Bundle.entry[2]`), or null for a single interaction. */
  readonly write: Omit<VersionWrite, 'label'> & { readonly label: string | null };
  readonly stored: Resource;
  readonly securityLabels: string[];
  /** The version's signed Provenance, stored in its vault row. */
  readonly provenance: Provenance;
}

/** Search parameters of a query string, as the routes pass them. */
function paramsOfQuery(query: string): Record<string, string[]> {
  const params: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(query)) (params[name] ??= []).push(value);
  return params;
}

/** The records service; its methods are the `FhirService` of src/api. */
export class RecordsService {
  readonly #node: RecordsNode;
  readonly #vault: RecordVault;
  readonly #orgId: string;
  readonly #keyPair: Ed25519KeyPair;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #tokenUrl: string;
  readonly audit: AuditBatcher;
  /** The node-local security audit of refusals before authorisation (decision 0059). */
  readonly securityAudit: SecurityAudit;
  /** Group commit of the anchors of single writes (decision 0061). */
  readonly anchors: AnchorBatcher;
  /** Record ids (hex) per patient pseudonym, from the `record.anchored` events up to `height`. */
  readonly #anchored = { height: 0, recordsByPatient: new Map<string, Set<string>>() };

  constructor(options: RecordsServiceOptions) {
    this.#node = options.node;
    this.#vault = options.vault;
    this.#orgId = options.orgId;
    this.#keyPair = options.nodeKeyPair;
    this.#logger = options.logger.child({ part: 'records' });
    this.#now = options.now;
    this.#tokenUrl = options.tokenUrl;
    this.audit = new AuditBatcher({ node: options.node, logger: this.#logger });
    this.securityAudit = new SecurityAudit({
      store: options.securityLog ?? new MemorySecurityAuditStore(),
      orgId: options.orgId,
      now: options.now,
      logger: this.#logger,
    });
    this.anchors = new AnchorBatcher({ node: options.node });
    this.#node.handlePeerRequests((request) => this.#answerShare(request));
  }

  /** Sends the audit events still queued (shutdown, tests). */
  async flush(): Promise<void> {
    this.securityAudit.flushSuppressed();
    await this.audit.flush();
  }

  capabilityStatement(options: { baseUrl: string }): CapabilityStatement {
    return capabilityStatement({
      baseUrl: options.baseUrl,
      software: { name: 'MedLedger', version: '0.1.0' },
      time: isoTime(this.#now()),
      tokenUrl: this.#tokenUrl,
    });
  }

  // ---- who asks ----------------------------------------------------------------------------

  #requesterOf(state: StateReader, token: VerifiedAccessToken): Requester {
    const { principal, org } = token.claims;
    if (org !== this.#orgId) {
      throw new FhirError('forbidden', `this node serves ${this.#orgId}; the token is of ${org}`, {
        status: 403,
      });
    }
    switch (principal.kind) {
      case 'practitioner':
        return { kind: 'practitioner', orgId: org, practitionerId: principal.id };
      case 'client':
        return { kind: 'client', orgId: org, clientId: principal.id };
      case 'patient': {
        const patient = pseudonymPattern.test(principal.id)
          ? readPatient(state, fromHex(principal.id))
          : null;
        if (patient === null) {
          throw new FhirError('forbidden', 'the patient of this token is not enrolled', {
            status: 403,
          });
        }
        return { kind: 'patient', publicKey: patient.publicKey };
      }
    }
  }

  #purposeOf(token: VerifiedAccessToken): string {
    return token.claims.purpose_of_use ?? defaultPurposeOfUse;
  }

  #scope(
    context: RecordsRequestContext,
    request: {
      type: string;
      interaction: Parameters<typeof authorizeInteraction>[1]['interaction'];
      patient: string | null;
    },
  ): void {
    try {
      authorizeInteraction(context.token, {
        resourceType: request.type,
        interaction: request.interaction,
        patient: request.patient,
      });
    } catch (error) {
      const auth = error as AuthError;
      throw new FhirError('forbidden', auth.message, { status: 403 });
    }
  }

  #auditEvent(options: {
    token: VerifiedAccessToken;
    patientId: Uint8Array;
    recordId: Uint8Array | null;
    version: number | null;
    queryHash: Uint8Array | null;
    action: AuditAction;
    decision: {
      decision: 'permit' | 'deny';
      reason: string;
      consentId: Uint8Array | null;
      breakGlassId: Uint8Array | null;
    };
  }): void {
    const { principal } = options.token.claims;
    const event: AuditEventInput = {
      practitionerId: principal.kind === 'practitioner' ? principal.id : null,
      clientId: principal.kind === 'client' ? principal.id : null,
      patientId: options.patientId,
      recordId: options.recordId,
      recordVersion: options.version,
      queryHash: options.queryHash,
      action: options.action,
      purpose: this.#purposeOf(options.token),
      decision: options.decision.decision,
      reason: options.decision.reason,
      consentId: options.decision.consentId,
      breakGlassId: options.decision.breakGlassId,
      time: this.#now(),
    };
    this.audit.record(event);
  }

  /**
   * Decides access to one record for the caller, opening a break-glass grant first when the
   * token asks for it and nothing else permits; audits the decision; throws 403 on deny.
   */
  async #authoriseRecord(
    context: RecordsRequestContext,
    head: RecordVersion,
    action: AuditAction,
    version: number,
  ): Promise<AccessDecision> {
    let state = this.#node.stateReader();
    const requester = this.#requesterOf(state, context.token);
    const request = recordAccessRequest(head, requester, this.#purposeOf(context.token));
    let decision = decide(state, request, this.#now());
    const breakGlass = breakGlassRequestOf(context.token.claims);
    if (decision.decision === 'deny' && breakGlass !== null && requester.kind === 'practitioner') {
      const opened = await this.#node.submitOwnAndWait(
        'access.break-glass',
        {
          patientId: head.patientId,
          practitionerId: requester.practitionerId,
          purpose: breakGlass.purposeOfUse,
          reasonCode: reasonCodeOf(breakGlass.reason),
        },
        recordsLimits.commitWaitMs,
      );
      if (!opened.receipt.ok) {
        this.#logger.warn({ code: opened.receipt.code }, 'break-glass grant refused');
      }
      state = this.#node.stateReader();
      decision = decide(state, request, this.#now());
    }
    this.#auditEvent({
      token: context.token,
      patientId: head.patientId,
      recordId: head.recordId,
      version,
      queryHash: null,
      action,
      decision,
    });
    if (decision.decision === 'deny') throw denial(decision);
    return decision;
  }

  // ---- reads -------------------------------------------------------------------------------

  #head(type: string, id: string): RecordVersion {
    const head = readRecordHead(this.#node.stateReader(), idBytes(type, id));
    if (head === null || head.resourceType !== type) throw notFound(type, id);
    return head;
  }

  /** A clinical record's head, once the token's scope allows `interaction` on its patient. */
  #scopedHead(
    context: RecordsRequestContext,
    request: { type: string; id: string },
    interaction: 'read' | 'vread' | 'history' | 'update' | 'delete',
  ): RecordVersion {
    this.#assertClinicalType(request.type);
    const head = this.#head(request.type, request.id);
    this.#scope(context, { type: request.type, interaction, patient: toHex(head.patientId) });
    return head;
  }

  async read(
    context: RecordsRequestContext,
    request: { type: string; id: string },
  ): Promise<Resource> {
    if (request.type === 'Consent') return this.#readConsent(context, request.id);
    if (request.type === 'Provenance') return this.#readProvenance(context, request.id);
    const head = this.#scopedHead(context, request, 'read');
    return this.#readVersion(context, head, head.version, 'read');
  }

  async vread(
    context: RecordsRequestContext,
    request: { type: string; id: string; versionId: string },
  ): Promise<Resource> {
    const head = this.#scopedHead(context, request, 'vread');
    const version = /^[1-9][0-9]{0,8}$/.test(request.versionId) ? Number(request.versionId) : 0;
    if (version < 1 || version > head.version) {
      throw new FhirError(
        'not-found',
        `${request.type}/${request.id} has no version ${request.versionId.slice(0, 16)}`,
        { status: 404 },
      );
    }
    return this.#readVersion(context, head, version, 'vread');
  }

  async #readVersion(
    context: RecordsRequestContext,
    head: RecordVersion,
    version: number,
    action: 'read' | 'vread',
  ): Promise<Resource> {
    const type = head.resourceType;
    const id = toHex(head.recordId);
    if (head.status === 'erased') {
      throw new FhirError('deleted', `${type}/${id} was erased at the patient's request`, {
        status: 410,
      });
    }
    if (head.custodian !== this.#orgId) {
      // The custodian decides, audits and seals; a local pre-check spares it hopeless requests.
      const state = this.#node.stateReader();
      const requester = this.#requesterOf(state, context.token);
      const local = decide(
        state,
        recordAccessRequest(head, requester, this.#purposeOf(context.token)),
        this.#now(),
      );
      if (local.decision === 'deny' && breakGlassRequestOf(context.token.claims) === null) {
        this.#auditEvent({
          token: context.token,
          patientId: head.patientId,
          recordId: head.recordId,
          version,
          queryHash: null,
          action,
          decision: local,
        });
        throw denial(local);
      }
      // Break-glass: the grant is opened (and the decision audited) here; the custodian then
      // finds the grant on chain.
      const audited = local.decision === 'deny';
      if (audited) await this.#authoriseRecord(context, head, action, version);
      return this.#fetchShared(context, head, version, action, !audited);
    }
    await this.#authoriseRecord(context, head, action, version);
    return this.#readLocal(type, id, version, this.#anchoredHashOf(head, version));
  }

  /**
   * The content hash the chain anchored for `version` of `head`'s record: a local read asks the
   * vault for exactly that copy (decision 0062), never for whatever it stored last.
   */
  #anchoredHashOf(head: RecordVersion, version: number): Uint8Array | null {
    if (version === head.version) return head.contentHash;
    return readRecordVersion(this.#node.stateReader(), head.recordId, version)?.contentHash ?? null;
  }

  async #readLocal(
    type: string,
    id: string,
    version: number,
    contentHash: Uint8Array | null,
  ): Promise<Resource> {
    try {
      const record = await this.#vault.get({
        recordId: id,
        version,
        ...(contentHash === null ? {} : { contentHash }),
      });
      if (record.meta.deleted) {
        throw new FhirError('deleted', `${type}/${id} was deleted`, { status: 410 });
      }
      return record.resource as unknown as Resource;
    } catch (error) {
      if (error instanceof VaultError) throw this.#vaultFailure(error, type, id);
      throw error;
    }
  }

  #vaultFailure(error: VaultError, type: string, id: string): FhirError {
    if (error.code === 'erased') {
      return new FhirError('deleted', `${type}/${id} was erased`, { status: 410 });
    }
    if (error.code === 'not-found') return notFound(type, id);
    if (error.code === 'integrity') {
      this.#logger.error(
        { record: `${type}/${id}`, code: error.code },
        'vault integrity failure: stored record does not verify',
      );
      return new FhirError(
        'exception',
        `${type}/${id} failed its integrity check in the vault; the incident is logged`,
        { status: 500 },
      );
    }
    this.#logger.error({ record: `${type}/${id}`, code: error.code }, 'vault failure');
    return new FhirError('exception', 'internal error', { status: 500 });
  }

  /**
   * A record version from its custodian, audited on chain by this node with the outcome the
   * custodian decided (decision 0056): a denial always, a permit when `auditPermit` (a
   * break-glass read was audited before).
   */
  async #fetchShared(
    context: RecordsRequestContext,
    head: RecordVersion,
    version: number,
    action: 'read' | 'vread' | 'history',
    auditPermit: boolean,
  ): Promise<Resource> {
    const audited = (decision: 'permit' | 'deny', reason: string): void =>
      this.#auditEvent({
        token: context.token,
        patientId: head.patientId,
        recordId: head.recordId,
        version,
        queryHash: null,
        action,
        decision: { decision, reason, consentId: null, breakGlassId: null },
      });
    const answer = await this.#requestShared(context, head, version, action);
    if (answer.outcome === 'denied') {
      audited('deny', answer.reason);
      throw denial({ reason: answer.reason });
    }
    if (auditPermit) audited('permit', answer.reason);
    return answer.resource;
  }

  /**
   * Asks the custodian's node for one record version over the peer link (share protocol) and
   * checks the sealed answer against the version's anchor. Audits nothing: the caller audits what
   * the custodian decided (a read per record, a search once per patient). Throws 503 with
   * `Retry-After` when the custodian does not answer or cannot serve, 410 or 404 when it no
   * longer holds the version, 502 when the content does not match its anchor.
   */
  async #requestShared(
    context: RecordsRequestContext,
    head: RecordVersion,
    version: number,
    action: 'read' | 'vread' | 'history' | 'search',
  ): Promise<
    { outcome: 'ok'; resource: Resource; reason: string } | { outcome: 'denied'; reason: string }
  > {
    const state = this.#node.stateReader();
    const custodian = readMember(state, head.custodian);
    const type = head.resourceType;
    const id = toHex(head.recordId);
    if (custodian === null || custodian.status !== 'active') {
      throw new FhirError('exception', `the custodian of ${type}/${id} is not a member`, {
        status: 500,
      });
    }
    const { principal } = context.token.claims;
    if (principal.kind === 'patient') {
      // The custodian serves a patient only through the patient's home organisation, the member
      // that enrolled them and vouches for their sign-in (decision 0060).
      const home = pseudonymPattern.test(principal.id)
        ? readPatient(state, fromHex(principal.id))?.enrolledBy
        : undefined;
      if (home !== this.#orgId) {
        throw new FhirError(
          'business-rule',
          `${type}/${id} is held by ${head.custodian}; a patient reads records held elsewhere through their home organisation ${home ?? '(not enrolled)'}`,
          { status: 422 },
        );
      }
    }
    const requestId = randomBytes(16);
    const share: ShareRequest = {
      requestId,
      recordId: head.recordId,
      version,
      requesterKind: principal.kind,
      requesterId: principal.id,
      purpose: this.#purposeOf(context.token),
      action,
      height: state.height,
    };
    let answer: ShareResponse;
    try {
      const bytes = await this.#node.requestPeer({
        peer: toHex(custodian.nodeKey),
        payload: ShareRequestSchema.encode(share),
        timeoutMs: recordsLimits.peerRequestTimeoutMs,
      });
      answer = ShareResponseSchema.decode(bytes);
    } catch (error) {
      this.#logger.warn(
        { custodian: head.custodian, error: error instanceof Error ? error.message : 'unknown' },
        'shared record request failed',
      );
      throw custodianUnavailable(
        `the custodian ${head.custodian} did not answer for ${type}/${id}; try again later`,
      );
    }
    switch (answer.outcome) {
      case 'denied':
        return { outcome: 'denied', reason: answer.reason };
      case 'gone':
        throw new FhirError('deleted', `${type}/${id} is deleted or erased`, { status: 410 });
      case 'not-found':
        throw notFound(type, id);
      case 'unavailable':
        throw custodianUnavailable(
          `the custodian ${head.custodian} could not serve ${type}/${id}; try again later`,
        );
      case 'ok':
        break;
    }
    const plaintext = await openSealedRecord({
      keyPair: this.#keyPair,
      info: {
        chainId: this.#node.chainId,
        requestId: toHex(requestId),
        senderNodeKey: custodian.nodeKey,
        recipientNodeKey: this.#node.nodeKey,
      },
      aad: shareAad(head.recordId, answer.version),
      enc: answer.enc,
      ciphertext: answer.ciphertext,
    });
    const salt = plaintext.subarray(0, 32);
    const canonical = plaintext.subarray(32);
    const anchored = readRecordVersion(this.#node.stateReader(), head.recordId, answer.version);
    const hash = recordContentHash({ salt, canonical });
    if (anchored?.contentHash == null || !equalBytes(anchored.contentHash, hash)) {
      this.#logger.error(
        { record: `${type}/${id}`, version: answer.version, custodian: head.custodian },
        'shared record does not match its anchor on chain',
      );
      throw new FhirError(
        'exception',
        `${type}/${id} from ${head.custodian} does not match its hash on chain; refused`,
        { status: 502 },
      );
    }
    return {
      outcome: 'ok',
      resource: JSON.parse(new TextDecoder().decode(canonical)) as Resource,
      reason: answer.reason,
    };
  }

  /** The custodian's side of sharing: decide, audit, seal. Never throws to the peer. */
  async #answerShare(request: { peer: string; payload: Uint8Array }): Promise<Uint8Array> {
    const refuse = (outcome: ShareResponse['outcome'], reason: string): Uint8Array =>
      ShareResponseSchema.encode({
        outcome,
        reason,
        version: 0,
        enc: new Uint8Array(0),
        ciphertext: new Uint8Array(0),
      });
    const share = ShareRequestSchema.decode(request.payload);
    // Decide on a state at least as recent as the requester's: blocks commit on each node a
    // few milliseconds apart.
    const deadline = Date.now() + recordsLimits.shareHeightWaitMs;
    while (this.#node.stateReader().height < share.height && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const state = this.#node.stateReader();
    if (state.height < share.height) return refuse('unavailable', 'behind the requester');
    const peerOrg = findMemberOfNodeKey(state, fromHex(request.peer))?.orgId;
    if (peerOrg === undefined) return refuse('denied', 'unknown-requester');
    const head = readRecordHead(state, share.recordId);
    if (head === null || head.custodian !== this.#orgId) return refuse('not-found', 'not held');
    if (head.status === 'erased') return refuse('gone', 'erased');
    const version = share.version ?? head.version;
    if (version > head.version) return refuse('not-found', 'no such version');
    // Who asks: the organisation is the one whose node key the link authenticated; a patient
    // only for their own record and only through their home organisation (decision 0060).
    const asked = shareRequesterOf({
      share,
      peerOrg,
      recordPatientId: head.patientId,
      patient:
        share.requesterKind === 'patient' && pseudonymPattern.test(share.requesterId)
          ? readPatient(state, fromHex(share.requesterId))
          : null,
    });
    const decision =
      'refusal' in asked
        ? { decision: 'deny' as const, reason: asked.refusal }
        : decide(state, recordAccessRequest(head, asked.requester, share.purpose), this.#now());
    // The access contract records an agent of the submitting organisation only, so the requesting
    // node audits its own user's access (permit or deny) on chain, once per read or once per
    // search; the custodian logs each decision it makes here, once per request (no patient data:
    // pseudonymous ids and codes).
    this.#logger.info(
      {
        requesterOrg: peerOrg,
        requesterKind: share.requesterKind,
        action: share.action,
        record: toHex(head.recordId).slice(0, 8),
        version,
        decision: decision.decision,
        reason: decision.reason,
      },
      'shared record request decided',
    );
    if (decision.decision === 'deny') return refuse('denied', decision.reason);
    let record;
    try {
      const anchored =
        version === head.version ? head : readRecordVersion(state, share.recordId, version);
      record = await this.#vault.get({
        recordId: toHex(share.recordId),
        version,
        ...(anchored?.contentHash == null ? {} : { contentHash: anchored.contentHash }),
      });
    } catch (error) {
      if (error instanceof VaultError && error.code === 'erased') return refuse('gone', 'erased');
      this.#logger.error(
        { code: error instanceof VaultError ? error.code : 'unknown' },
        'shared record could not be read from the vault',
      );
      return refuse('unavailable', 'vault');
    }
    if (record.meta.deleted) return refuse('gone', 'deleted');
    const plaintext = new Uint8Array(32 + record.canonical.length);
    plaintext.set(record.salt, 0);
    plaintext.set(record.canonical, 32);
    const recipientNodeKey = fromHex(request.peer);
    const sealed = await sealRecordForPeer({
      recipientNodeKey,
      info: {
        chainId: this.#node.chainId,
        requestId: toHex(share.requestId),
        senderNodeKey: this.#node.nodeKey,
        recipientNodeKey,
      },
      aad: shareAad(share.recordId, version),
      plaintext,
    });
    return ShareResponseSchema.encode({
      outcome: 'ok',
      reason: decision.reason,
      version,
      enc: sealed.enc,
      ciphertext: sealed.ciphertext,
    });
  }

  // ---- writes ------------------------------------------------------------------------------

  /** AuditEvent and Provenance are written by the service itself, never by a client. */
  #refuseViewWrite(type: string): void {
    if (type === 'AuditEvent' || type === 'Provenance') {
      throw new FhirError(
        'business-rule',
        `${type} resources are immutable records of the ledger: they are never created, changed or deleted through the API`,
        { status: 422 },
      );
    }
  }

  #assertClinicalType(type: string): void {
    if (!(clinicalResourceTypes as readonly string[]).includes(type)) {
      throw new FhirError('not-found', `resource type ${type.slice(0, 64)} is not served here`, {
        status: 404,
      });
    }
  }

  #assertStaff(context: RecordsRequestContext): void {
    const { principal } = context.token.claims;
    if (principal.kind === 'patient') {
      throw new FhirError('forbidden', 'patients cannot write clinical records', { status: 403 });
    }
    this.#requesterOf(this.#node.stateReader(), context.token);
  }

  async create(
    context: RecordsRequestContext,
    request: {
      type: string;
      resource: Resource;
      ifNoneExist: string | null;
      signedTransaction: Uint8Array | null;
    },
  ): Promise<{ status: 200 | 201; resource: Resource }> {
    if (request.type === 'Consent') return this.#createConsent(context, request);
    this.#refuseViewWrite(request.type);
    this.#assertClinicalType(request.type);
    this.#assertStaff(context);
    const resource = assertValidResource(request.resource, { type: request.type });
    const state = this.#node.stateReader();
    const patientHex = this.#enrolledPatientOf(state, request.type, resource);
    this.#scope(context, { type: request.type, interaction: 'create', patient: patientHex });
    if (request.ifNoneExist !== null) {
      const condition = parseIfNoneExist({ type: request.type, header: request.ifNoneExist });
      const params: Record<string, string[]> = {};
      for (const [name, value] of new URLSearchParams(condition.canonicalQuery)) {
        (params[name] ??= []).push(value);
      }
      const found = await this.#searchLocal(context, request.type, params, false);
      if (decideConditionalCreate(found.total) === 'exists') {
        return { status: 200, resource: found.resources[0]! };
      }
    }
    const recordId = request.type === 'Patient' ? fromHex(patientHex) : randomPoolBytes(16);
    if (request.type === 'Patient' && readRecordHead(state, recordId) !== null) {
      throw new FhirError('conflict', `Patient/${patientHex} already exists`, { status: 409 });
    }
    return this.#writeVersion(context, {
      type: request.type,
      recordId,
      patientId: fromHex(patientHex),
      version: 1,
      resource,
      deleted: false,
      action: 'create',
    });
  }

  /**
   * The enrolled patient (pseudonym, hex) a new record is about: a Patient's own id (its
   * pseudonym, enrolled on chain before the record is anchored), or the Patient a clinical
   * resource references.
   */
  #enrolledPatientOf(state: StateReader, type: string, resource: Resource): string {
    if (type === 'Patient') {
      const patientHex = resource.id ?? '';
      if (!pseudonymPattern.test(patientHex) || readPatient(state, fromHex(patientHex)) === null) {
        throw new FhirError(
          'business-rule',
          'a Patient is created with the id of an enrolled pseudonym (32 hex digits)',
          { status: 422 },
        );
      }
      return patientHex;
    }
    const reference = patientReferenceOf(resource);
    if (reference === undefined || !pseudonymPattern.test(reference)) {
      throw new FhirError('required', `${type} must reference its Patient/<pseudonym>`, {
        status: 400,
      });
    }
    if (readPatient(state, fromHex(reference)) === null) {
      throw new FhirError('business-rule', `Patient/${reference} is not enrolled`, {
        status: 422,
      });
    }
    return reference;
  }

  /**
   * The current head of a record the caller is about to change: a clinical type, staff of
   * this organisation, the scope letter, and this organisation its custodian.
   */
  #custodianHead(
    context: RecordsRequestContext,
    request: { type: string; id: string },
    interaction: 'update' | 'delete',
  ): RecordVersion {
    this.#refuseViewWrite(request.type);
    this.#assertStaff(context);
    const head = this.#scopedHead(context, request, interaction);
    if (head.custodian !== this.#orgId) {
      throw new FhirError(
        'forbidden',
        `${request.type}/${request.id} is held by ${head.custodian}; only its custodian changes it`,
        { status: 403 },
      );
    }
    return head;
  }

  async update(
    context: RecordsRequestContext,
    request: {
      type: string;
      id: string;
      resource: Resource;
      ifMatch: string | null;
      signedTransaction: Uint8Array | null;
    },
  ): Promise<{ status: 200 | 201; resource: Resource }> {
    if (request.type === 'Consent') return this.#reviseConsent(context, request);
    const head = this.#custodianHead(context, request, 'update');
    if (head.status === 'erased') {
      throw new FhirError('deleted', `${request.type}/${request.id} was erased`, { status: 410 });
    }
    if (request.ifMatch !== null) {
      assertIfMatch({ ifMatch: request.ifMatch, currentVersionId: String(head.version) });
    }
    const resource = assertValidResource(
      { ...request.resource, id: request.id },
      { type: request.type },
    );
    const patient = patientReferenceOf(resource);
    if (patient !== toHex(head.patientId)) {
      throw new FhirError('business-rule', 'an update cannot move a record to another patient', {
        status: 422,
      });
    }
    await this.#authoriseRecord(context, head, 'update', head.version);
    const result = await this.#writeVersion(context, {
      type: request.type,
      recordId: head.recordId,
      patientId: head.patientId,
      version: head.version + 1,
      resource,
      deleted: false,
      action: null,
    });
    return { status: 200, resource: result.resource };
  }

  async delete(
    context: RecordsRequestContext,
    request: { type: string; id: string; signedTransaction: Uint8Array | null },
  ): Promise<void> {
    if (request.type === 'Consent') {
      await this.#revokeConsent(context, request.id, request.signedTransaction);
      return;
    }
    const head = this.#custodianHead(context, request, 'delete');
    if (head.status === 'erased') return;
    if (await this.#isDeletedHead(head)) return;
    await this.#authoriseRecord(context, head, 'delete', head.version);
    await this.#writeVersion(context, {
      type: request.type,
      recordId: head.recordId,
      patientId: head.patientId,
      version: head.version + 1,
      resource: { resourceType: request.type, id: request.id } as Resource,
      deleted: true,
      action: null,
    });
  }

  /**
   * Whether the anchored head version of a record this organisation holds is a FHIR delete: the
   * vault's copy under the anchored hash says so (a later, unanchored version does not count).
   */
  async #isDeletedHead(head: RecordVersion): Promise<boolean> {
    const id = toHex(head.recordId);
    try {
      const record = await this.#vault.get({
        recordId: id,
        version: head.version,
        ...(head.contentHash === null ? {} : { contentHash: head.contentHash }),
      });
      return record.meta.deleted;
    } catch (error) {
      if (error instanceof VaultError) throw this.#vaultFailure(error, head.resourceType, id);
      throw error;
    }
  }

  /**
   * Vault first, then the anchor (group-committed with other single writes of the same turn,
   * decision 0061): a version is real once its anchor commits.
   */
  async #writeVersion(
    context: RecordsRequestContext,
    write: Omit<VersionWrite, 'label'>,
  ): Promise<{ status: 201; resource: Resource }> {
    const time = this.#now();
    const prepared = this.#prepareVersion(context, { ...write, label: null }, time);
    const contentHash = await this.#putVersion(prepared, time);
    const location = await this.anchors.anchor(this.#anchorOf(prepared, contentHash));
    if (!location.receipt.ok && location.receipt.code === 'version-out-of-order') {
      // Two writes of one record raced from the same head: the chain took the other one.
      throw new FhirError(
        'conflict',
        `${write.type}/${toHex(write.recordId)} was changed by another write first (version ` +
          `${write.version} is taken); read it again and retry`,
        { status: 409 },
      );
    }
    if (!location.receipt.ok) {
      throw new FhirError(
        'business-rule',
        `the record contract refused ${write.type}/${toHex(write.recordId)}: ${location.receipt.code} ${location.receipt.message}`,
        { status: 422 },
      );
    }
    this.#auditAnchoredWrite(context, prepared);
    return { status: 201, resource: prepared.stored };
  }

  /**
   * A version as stored: the resource with its server meta, its labels for the chain, and its
   * signed Provenance (stored in the same vault row, so it is durable before the anchor is sent
   * and set aside with the version if that anchor never commits, decision 0080).
   */
  #prepareVersion(
    context: RecordsRequestContext,
    write: Omit<VersionWrite, 'label'> & { readonly label: string | null },
    time: number,
  ): PreparedVersion {
    const stored = withServerMeta(write.resource, {
      id: toHex(write.recordId),
      versionId: String(write.version),
      lastUpdated: isoTime(time),
    });
    const provenance = this.#provenanceOf(context, {
      target: stored,
      activity: write.version === 1 ? 'create' : write.deleted ? 'delete' : 'update',
      time,
    });
    return { write, stored, securityLabels: chainLabelsOf(stored), provenance };
  }

  /**
   * Stores a prepared version in the vault (invisible until its anchor commits) and returns its
   * salted content hash; a vault refusal (a version out of order) is a 409 naming the entry of a
   * Bundle when the write has a label.
   */
  async #putVersion(prepared: PreparedVersion, time: number): Promise<Uint8Array> {
    const { write, stored, securityLabels } = prepared;
    try {
      const put = await this.#vault.put({
        recordId: toHex(write.recordId),
        version: write.version,
        resourceType: write.type,
        patientId: toHex(write.patientId),
        resource: stored as unknown as Parameters<RecordVault['put']>[0]['resource'],
        lastUpdatedMs: time,
        securityLabels,
        deleted: write.deleted,
        // The version is the anchored head's next: one stored under that number was never
        // anchored (a crash or refusal left it), so it is set aside, not in the way (0062).
        replaceUnanchored: true,
        provenance: prepared.provenance as unknown as Parameters<RecordVault['put']>[0]['resource'],
      });
      return put.contentHash;
    } catch (error) {
      if (!(error instanceof VaultError)) throw error;
      const id = `${write.type}/${toHex(write.recordId)}`;
      if (write.label === null) {
        throw new FhirError('conflict', `${id}: ${error.message}`, { status: 409 });
      }
      throw new FhirError(
        'conflict',
        `${write.label}: ${id}: ${error.message}; nothing of this Bundle is visible`,
        { status: 409, expression: [write.label] },
      );
    }
  }

  /** The `record.anchor` body of a stored version. */
  #anchorOf(prepared: PreparedVersion, contentHash: Uint8Array): AnchorRecordInput {
    const { write, securityLabels } = prepared;
    return {
      recordId: write.recordId,
      version: write.version,
      resourceType: write.type,
      patientId: write.patientId,
      custodian: this.#orgId,
      contentHash,
      securityLabels,
      dataMonth: null,
    };
  }

  /** Once a version's anchor committed: the audit event of a create. */
  #auditAnchoredWrite(context: RecordsRequestContext, prepared: PreparedVersion): void {
    const { write } = prepared;
    if (write.action === null) return;
    this.#auditEvent({
      token: context.token,
      patientId: write.patientId,
      recordId: write.recordId,
      version: write.version,
      queryHash: null,
      action: write.action,
      decision: {
        decision: 'permit',
        reason: 'custodian-own-record',
        consentId: null,
        breakGlassId: null,
      },
    });
  }

  /**
   * The signed Provenance of a write (CONVENTIONS.md "Provenance on every write"): a detached JWS
   * (EdDSA, the custodian node's key) over the RFC 8785 canonical version, kept in the vault in
   * the version's own row and read as `Provenance/<record id>-v<version>`. Its content is covered
   * by the version's anchor; the signature lets anyone holding the node key check who vouched
   * for it.
   */
  #provenanceOf(
    context: RecordsRequestContext,
    write: { target: Resource; activity: 'create' | 'update' | 'delete'; time: number },
  ): Provenance {
    const header = { alg: 'EdDSA', kid: toHex(this.#node.nodeKey) };
    const { signingInput } = provenanceSigningInput({ target: write.target, header });
    return provenanceForWrite({
      target: write.target,
      activity: write.activity,
      recordedMs: write.time,
      author: {
        orgId: context.token.claims.org,
        practitionerId: context.token.claims.principal.id,
      },
      custodian: this.#orgId,
      header,
      signature: ed25519Sign({ message: signingInput, keyPair: this.#keyPair }),
    });
  }

  /** `Provenance/<record id>-v<version>`: readable by whoever may read that version. */
  async #readProvenance(context: RecordsRequestContext, id: string): Promise<Resource> {
    const match = /^([0-9a-f]{32})-v([1-9][0-9]{0,8})$/.exec(id);
    if (match === null) throw notFound('Provenance', id);
    const head = readRecordHead(this.#node.stateReader(), fromHex(match[1]!));
    const version = Number(match[2]);
    if (head === null || version > head.version) throw notFound('Provenance', id);
    this.#scope(context, {
      type: 'Provenance',
      interaction: 'read',
      patient: toHex(head.patientId),
    });
    if (head.custodian !== this.#orgId) {
      throw new FhirError(
        'business-rule',
        `Provenance/${id} is kept by the custodian ${head.custodian}`,
        { status: 422 },
      );
    }
    await this.#authoriseRecord(context, head, 'read', version);
    const recordId = toHex(head.recordId);
    const contentHash = this.#anchoredHashOf(head, version);
    let provenance: Awaited<ReturnType<RecordVault['getProvenance']>>;
    try {
      provenance = await this.#vault.getProvenance({
        recordId,
        version,
        ...(contentHash === null ? {} : { contentHash }),
      });
    } catch (error) {
      if (error instanceof VaultError) throw this.#vaultFailure(error, 'Provenance', id);
      throw error;
    }
    if (provenance !== null) return provenance as unknown as Resource;
    // Written before decision 0080: the Provenance is a vault record of its own.
    return this.#readLocal('Provenance', id, 1, null);
  }

  // ---- history and search ------------------------------------------------------------------

  async history(
    context: RecordsRequestContext,
    request: { type: string; id: string; params: Params },
  ): Promise<Bundle> {
    const head = this.#scopedHead(context, request, 'history');
    if (head.custodian !== this.#orgId) {
      throw new FhirError(
        'business-rule',
        `the history of ${request.type}/${request.id} is served by its custodian ${head.custodian}`,
        { status: 422 },
      );
    }
    await this.#authoriseRecord(context, head, 'history', head.version);
    // The chain's versions, newest first, each read from the vault by its anchored hash: a
    // version stored but never anchored is not history (decision 0062).
    const versions = [];
    for (let version = head.version; version >= 1; version--) {
      const contentHash = this.#anchoredHashOf(head, version);
      if (contentHash === null) continue;
      let record;
      try {
        record = await this.#vault.get({ recordId: request.id, version, contentHash });
      } catch (error) {
        if (error instanceof VaultError && error.code === 'erased') continue;
        if (error instanceof VaultError) throw this.#vaultFailure(error, request.type, request.id);
        throw error;
      }
      versions.push({
        type: request.type,
        id: request.id,
        versionId: String(version),
        lastUpdated: isoTime(record.meta.lastUpdatedMs),
        interaction: record.meta.deleted
          ? ('delete' as const)
          : version === 1
            ? ('create' as const)
            : ('update' as const),
        resource: record.resource as unknown as Resource,
      });
    }
    return historyBundle({
      baseUrl: context.baseUrl,
      versions,
      selfUrl: `${context.baseUrl}/${request.type}/${request.id}/_history`,
      total: versions.length,
    });
  }

  async search(
    context: RecordsRequestContext,
    request: { type: string; params: Params },
  ): Promise<Bundle> {
    if (request.type === 'Consent') return this.#searchConsents(context, request.params);
    if (request.type === 'AuditEvent') return this.#searchAuditEvents(context, request.params);
    this.#assertClinicalType(request.type);
    for (const name of ['_include', '_revinclude', '_has']) {
      if (request.params[name] !== undefined) {
        // Included resources would need their own consent decision each; refused rather than
        // served unchecked (CONVENTIONS.md).
        throw new FhirError('value', `${name} is not supported by this server; search each type`, {
          status: 400,
          expression: [name],
        });
      }
    }
    // A search about one patient also covers that patient's records held by other
    // organisations (decision 0060); any other search stays on this organisation's vault.
    const patient = searchedPatientOf({
      type: request.type,
      params: request.params,
      confinedPatient: context.token.claims.patient ?? null,
    });
    if (patient !== null) return this.#searchAcrossCustodians(context, request, patient);
    const result = await this.#searchLocal(context, request.type, request.params, true);
    return result.bundle;
  }

  /**
   * Searches this organisation's vault: candidates are decided one by one with the consent
   * contract BEFORE matching, sorting, paging and the total, so nothing hidden is counted.
   */
  async #searchLocal(
    context: RecordsRequestContext,
    type: string,
    params: Params,
    audit: boolean,
  ): Promise<{ bundle: Bundle; total: number; resources: Resource[] }> {
    const confined = context.token.claims.patient ?? null;
    const patientParam = (params.patient ?? params.subject ?? [])[0]?.replace(/^Patient\//, '');
    const patientFilter =
      confined ??
      (patientParam !== undefined && pseudonymPattern.test(patientParam) ? patientParam : null);
    this.#scope(context, { type, interaction: 'search', patient: patientFilter });
    const state = this.#node.stateReader();
    const { permitted, byPatient } = await this.#localCandidates(
      context,
      state,
      type,
      patientFilter,
    );
    const found = searchResources({ type, params, resources: permitted, baseUrl: context.baseUrl });
    if (audit) {
      const queryHash = sha256(utf8(`${type}?${found.request.canonicalQuery}`));
      for (const [patientHex, outcome] of byPatient) {
        this.#auditEvent({
          token: context.token,
          patientId: fromHex(patientHex),
          recordId: null,
          version: null,
          queryHash,
          action: 'search',
          decision: outcome.decision,
        });
      }
    }
    return { bundle: found.bundle, total: found.total, resources: [...found.page] };
  }

  /**
   * This organisation's current records of `type` (of one patient, or all), each decided with
   * the consent contract on `state`: the permitted ones decrypted, and per patient the decision
   * to audit (a permit if any record was permitted, else the first denial).
   */
  async #localCandidates(
    context: RecordsRequestContext,
    state: StateReader,
    type: string,
    patientFilter: string | null,
  ): Promise<{
    permitted: Resource[];
    byPatient: Map<string, { permitted: boolean; decision: AccessDecision }>;
  }> {
    const requester = this.#requesterOf(state, context.token);
    const time = this.#now();
    const permitted: Resource[] = [];
    const byPatient = new Map<string, { permitted: boolean; decision: AccessDecision }>();
    let after: string | null = null;
    let seen = 0;
    do {
      const page = await this.#vault.list({
        resourceType: type,
        ...(patientFilter === null ? {} : { patientId: patientFilter }),
        ...(after === null ? {} : { after }),
      });
      for (const meta of page.records) {
        if (++seen > recordsLimits.searchCandidatesMax) {
          throw new FhirError(
            'business-rule',
            `the search reaches more than ${recordsLimits.searchCandidatesMax} records; narrow it (patient, date)`,
            { status: 422 },
          );
        }
        if (meta.erased) continue;
        const head = readRecordHead(state, fromHex(meta.recordId));
        if (head === null || head.status !== 'active' || head.contentHash === null) continue;
        // The vault's latest may be a version whose anchor has not committed (or never will):
        // the anchored head is what is searched (decision 0062), and its own copy says below
        // whether it is a delete.
        if (meta.version === head.version && meta.deleted) continue;
        const decision = decide(
          state,
          recordAccessRequest(head, requester, this.#purposeOf(context.token)),
          time,
        );
        const seenPatient = byPatient.get(meta.patientId);
        if (seenPatient === undefined || decision.decision === 'permit') {
          byPatient.set(meta.patientId, {
            permitted: (seenPatient?.permitted ?? false) || decision.decision === 'permit',
            decision,
          });
        }
        if (decision.decision !== 'permit') continue;
        const record = await this.#vault.get({
          recordId: meta.recordId,
          version: head.version,
          contentHash: head.contentHash,
        });
        if (record.meta.deleted) continue;
        permitted.push(record.resource as unknown as Resource);
      }
      after = page.next;
    } while (after !== null);
    return { permitted, byPatient };
  }

  /**
   * A search about one patient over the union of this organisation's records and the patient's
   * records held elsewhere (decision 0060). The chain's anchors name the candidates held
   * elsewhere (type, custodian, head version); each is decided here first, and only the
   * permitted ones are fetched from their custodians (bounded in number and in flight), which
   * decide again on their own state. Matching, sorting, paging and the total then run over what
   * was permitted on both sides, so nothing hidden is counted. One audit event for the patient,
   * with the query's hash, whatever the number of records and custodians touched.
   */
  async #searchAcrossCustodians(
    context: RecordsRequestContext,
    request: { type: string; params: Params },
    patientHex: string,
  ): Promise<Bundle> {
    const { type, params } = request;
    this.#scope(context, { type, interaction: 'search', patient: patientHex });
    // A malformed query or a cursor of another query is refused (400) before any custodian is
    // asked for anything.
    searchResources({ type, params, resources: [], baseUrl: context.baseUrl });
    const state = this.#node.stateReader();
    const requester = this.#requesterOf(state, context.token);
    const purpose = this.#purposeOf(context.token);
    const time = this.#now();
    const local = await this.#localCandidates(context, state, type, patientHex);
    const patient = readPatient(state, fromHex(patientHex));
    const issues: OperationOutcomeIssue[] = [];
    let remote: {
      permitted: RemoteCandidate[];
      denial: AccessDecision | null;
      truncated: boolean;
    } = { permitted: [], denial: null, truncated: false };
    if (patient !== null) {
      remote = remoteSearchCandidates({
        recordIds: this.#recordsByPatient().get(patientHex) ?? [],
        headOf: (recordId) => readRecordHead(state, fromHex(recordId)),
        type,
        orgId: this.#orgId,
        decideRecord: (head) => decide(state, recordAccessRequest(head, requester, purpose), time),
        candidatesMax: recordsLimits.remoteSearchCandidatesMax,
      });
    }
    if (remote.truncated) {
      issues.push({
        severity: 'warning',
        code: 'too-costly',
        diagnostics: `only the ${recordsLimits.remoteSearchCandidatesMax} most recently anchored ${type} records held by other organisations were searched; read older ones with Patient/${patientHex}/$everything`,
      });
    }
    if (
      context.token.claims.principal.kind === 'patient' &&
      patient !== null &&
      patient.enrolledBy !== this.#orgId &&
      remote.permitted.length > 0
    ) {
      // A patient reads records held elsewhere through their home organisation only.
      issues.push({
        severity: 'warning',
        code: 'incomplete',
        diagnostics: `records held by other organisations are searched at your home organisation ${patient.enrolledBy}`,
      });
      remote = { ...remote, permitted: [] };
    }
    const answers = await settleBounded(
      remote.permitted,
      recordsLimits.remoteSearchFetchesInFlightMax,
      (candidate) => this.#requestShared(context, candidate.head, candidate.head.version, 'search'),
    );
    const resources = [...local.permitted];
    let permit: AuditedDecision | null = null;
    let deny: AuditedDecision | null = remote.denial;
    const unreachable = new Set<string>();
    for (const [index, settled] of answers.entries()) {
      const candidate = remote.permitted[index]!;
      if (settled.status === 'fulfilled') {
        if (settled.value.outcome === 'ok') {
          resources.push(settled.value.resource);
          permit ??= candidate.decision;
        } else {
          // The custodian refused what this node's state permitted (a revocation it saw first).
          deny ??= {
            decision: 'deny',
            reason: settled.value.reason,
            consentId: null,
            breakGlassId: null,
          };
        }
        continue;
      }
      const error: unknown = settled.reason;
      if (!(error instanceof FhirError)) throw error;
      // Deleted or erased since its anchor was read: not a match.
      if (error.status === 404 || error.status === 410) continue;
      if (!unreachable.has(candidate.head.custodian)) {
        unreachable.add(candidate.head.custodian);
        issues.push({
          severity: 'warning',
          code: 'incomplete',
          diagnostics: `records held by ${candidate.head.custodian} could not be searched (${error.message}); the results and the total leave them out`,
        });
      }
    }
    const found = searchResources({ type, params, resources, baseUrl: context.baseUrl });
    if (patient !== null) {
      const localOutcome = local.byPatient.get(patientHex);
      if (localOutcome?.permitted === true) permit ??= localOutcome.decision;
      else if (localOutcome !== undefined) deny ??= localOutcome.decision;
      // A search that found no record still touched the patient: it is audited with the
      // contract's answer to the query itself.
      const decision =
        permit ??
        deny ??
        decide(
          state,
          {
            patientId: patient.patientId,
            requester,
            action: 'access',
            purpose,
            recordId: null,
            resourceType: type,
            securityLabels: [],
          },
          time,
        );
      this.#auditEvent({
        token: context.token,
        patientId: patient.patientId,
        recordId: null,
        version: null,
        queryHash: sha256(utf8(`${type}?${found.request.canonicalQuery}`)),
        action: 'search',
        decision,
      });
    }
    if (issues.length === 0) return found.bundle;
    return {
      ...found.bundle,
      entry: [
        ...(found.bundle.entry ?? []),
        { resource: operationOutcome(issues), search: { mode: 'outcome' } },
      ],
    };
  }

  // ---- consents ----------------------------------------------------------------------------

  #readConsent(context: RecordsRequestContext, id: string): Consent {
    const record = readConsent(this.#node.stateReader(), idBytes('Consent', id));
    if (record === null) throw notFound('Consent', id);
    this.#scope(context, {
      type: 'Consent',
      interaction: 'read',
      patient: toHex(record.patientId),
    });
    return consentRecordToFhir(record);
  }

  #searchConsents(context: RecordsRequestContext, params: Params): Bundle {
    const patientHex =
      context.token.claims.patient ?? (params.patient ?? [])[0]?.replace(/^Patient\//, '');
    if (patientHex === undefined || !pseudonymPattern.test(patientHex)) {
      throw new FhirError('required', 'search Consent with patient=<pseudonym>', { status: 400 });
    }
    this.#scope(context, { type: 'Consent', interaction: 'search', patient: patientHex });
    const consents = listPatientConsents(this.#node.stateReader(), fromHex(patientHex)).map(
      (record) => consentRecordToFhir(record),
    );
    return searchResources({
      type: 'Consent',
      params,
      resources: consents,
      baseUrl: context.baseUrl,
    }).bundle;
  }

  /**
   * Consent create: the patient (or a delegate) signed a `consent.grant` transaction that holds
   * exactly this Consent; the node submits it and answers once it is committed.
   */
  async #createConsent(
    context: RecordsRequestContext,
    request: { resource: Resource; signedTransaction: Uint8Array | null },
  ): Promise<{ status: 201; resource: Resource }> {
    const consent = request.resource as Consent;
    const patientHex = (consent.patient?.reference ?? '').replace(/^Patient\//, '');
    this.#scope(context, { type: 'Consent', interaction: 'create', patient: patientHex });
    const tx = this.#signedTransaction(request.signedTransaction, 'consent.grant');
    const consentId =
      consent.id !== undefined && pseudonymPattern.test(consent.id) ? fromHex(consent.id) : null;
    if (consentId === null) {
      throw new FhirError('required', 'Consent.id must be the consent id the patient signed', {
        status: 400,
      });
    }
    const body = consentToGrantBody(consent, { consentId });
    if (!equalBytes(encodeCbor(contractBody('consent.grant', body)), encodeCbor(tx.body))) {
      throw new FhirError(
        'invalid',
        'the signed transaction does not hold this Consent: sign the same provisions',
        { status: 400 },
      );
    }
    await this.#submitSigned(tx);
    const record = readConsent(this.#node.stateReader(), consentId);
    if (record === null)
      throw new FhirError('exception', 'consent not found after commit', { status: 500 });
    return { status: 201, resource: consentRecordToFhir(record) };
  }

  async #reviseConsent(
    context: RecordsRequestContext,
    request: { id: string; resource: Resource; signedTransaction: Uint8Array | null },
  ): Promise<{ status: 200; resource: Resource }> {
    const consent = request.resource as Consent;
    if (consent.status !== 'inactive') {
      throw new FhirError(
        'business-rule',
        'a consent on chain never changes; revoke it (status inactive) and create a new one',
        { status: 422 },
      );
    }
    await this.#revokeConsent(context, request.id, request.signedTransaction);
    return { status: 200, resource: this.#readConsent(context, request.id) };
  }

  async #revokeConsent(
    context: RecordsRequestContext,
    id: string,
    signedTransaction: Uint8Array | null,
  ): Promise<void> {
    const consentId = idBytes('Consent', id);
    const record = readConsent(this.#node.stateReader(), consentId);
    if (record === null) throw notFound('Consent', id);
    this.#scope(context, {
      type: 'Consent',
      interaction: 'update',
      patient: toHex(record.patientId),
    });
    if (record.status === 'inactive') return;
    const tx = this.#signedTransaction(signedTransaction, 'consent.revoke');
    const expected = encodeCbor(contractBody('consent.revoke', { consentId }));
    if (!equalBytes(expected, encodeCbor(tx.body))) {
      throw new FhirError('invalid', `the signed transaction does not revoke Consent/${id}`, {
        status: 400,
      });
    }
    await this.#submitSigned(tx);
  }

  #signedTransaction(
    encoded: Uint8Array | null,
    kind: string,
    signer = 'a consent is signed by the patient',
  ): ReturnType<typeof decodeTransaction> {
    if (encoded === null) {
      throw new FhirError(
        'required',
        `${signer}: send the signed ${kind} transaction in X-MedLedger-Transaction`,
        { status: 400 },
      );
    }
    let tx;
    try {
      tx = decodeTransaction(encoded);
    } catch (error) {
      throw new FhirError('invalid', `X-MedLedger-Transaction: ${(error as Error).message}`, {
        status: 400,
      });
    }
    if (tx.kind !== kind || tx.chainId !== this.#node.chainId) {
      throw new FhirError('invalid', `X-MedLedger-Transaction must be a ${kind} of this chain`, {
        status: 400,
      });
    }
    return tx;
  }

  async #submitSigned(
    tx: ReturnType<typeof decodeTransaction>,
    contract = 'consent',
  ): Promise<void> {
    const submitted = await this.#node.submitTransaction(encodeTransaction(tx));
    if (!submitted.accepted) {
      throw new FhirError(
        submitted.code === 'busy' ? 'throttled' : 'invalid',
        `the transaction was refused: ${submitted.message}`,
        { status: submitted.code === 'busy' ? 429 : submitted.code === 'invalid' ? 400 : 409 },
      );
    }
    const location = await this.#node.waitForTransaction(
      transactionId(tx),
      recordsLimits.commitWaitMs,
    );
    if (location === null) {
      throw new FhirError('exception', 'the transaction was not committed in time', {
        status: 500,
      });
    }
    if (!location.receipt.ok) {
      throw new FhirError(
        'forbidden',
        `the ${contract} contract refused it: ${location.receipt.code} ${location.receipt.message}`,
        { status: 403 },
      );
    }
  }

  // ---- the access log ----------------------------------------------------------------------

  /**
   * AuditEvents about one patient, from the chain: the patient sees their own; staff need an
   * AuditEvent search scope (privacy officers). Reading the log is itself audited.
   */
  #searchAuditEvents(context: RecordsRequestContext, params: Params): Bundle {
    // Without a patient, the search is of this node's security log: the events that name no
    // patient (decision 0059). A patient's token always names its patient, so never reaches it.
    if (
      context.token.claims.patient === undefined &&
      params.patient === undefined &&
      params['entity'] === undefined
    ) {
      return this.#searchSecurityLog(context, params);
    }
    const patientHex =
      context.token.claims.patient ??
      (params.patient ?? params['entity'] ?? [])[0]?.replace(/^Patient\//, '');
    if (patientHex === undefined || !pseudonymPattern.test(patientHex)) {
      throw new FhirError('required', 'search AuditEvent with patient=<pseudonym>', {
        status: 400,
      });
    }
    this.#scope(context, { type: 'AuditEvent', interaction: 'search', patient: patientHex });
    const state = this.#node.stateReader();
    const { principal, org } = context.token.claims;
    if (principal.kind === 'practitioner') {
      const practitioner = readPractitioner(state, org, principal.id);
      if (practitioner === null || !practitioner.roles.includes('privacy-officer')) {
        throw new FhirError('forbidden', 'only the patient and privacy officers read access logs', {
          status: 403,
        });
      }
    } else if (principal.kind === 'patient' && principal.id !== patientHex) {
      throw new FhirError('forbidden', 'a patient reads only their own access log', {
        status: 403,
      });
    }
    const patientId = fromHex(patientHex);
    const events: AuditEvent[] = [];
    const blockTimes = new Map<number, number>();
    for (let from = 0; ;) {
      const page = listAuditEvents(state, { patientId, from, limit: 100 });
      for (const record of page) {
        let time = blockTimes.get(record.recordedHeight);
        if (time === undefined) {
          time = this.#node.loadBlock(record.recordedHeight)?.block.header.time ?? 0;
          blockTimes.set(record.recordedHeight, time);
        }
        const view = auditEventRecordToFhir(
          record,
          { height: record.recordedHeight, time },
          {
            resourceTypeOf: (recordId) => readRecordHead(state, recordId)?.resourceType ?? null,
          },
        );
        events.push({ ...view, id: `${patientHex}-${record.sequence}` });
      }
      if (page.length < 100) break;
      from += page.length;
    }
    const found = searchResources({
      type: 'AuditEvent',
      params: Object.fromEntries(
        Object.entries(params).filter(([name]) => name !== 'patient' && name !== 'entity'),
      ),
      resources: events,
      baseUrl: context.baseUrl,
    });
    this.#auditEvent({
      token: context.token,
      patientId,
      recordId: null,
      version: null,
      queryHash: sha256(utf8(`AuditEvent?patient=${patientHex}`)),
      action: 'search',
      decision: {
        decision: 'permit',
        reason: principal.kind === 'patient' ? 'patient-self' : 'privacy-officer',
        consentId: null,
        breakGlassId: null,
      },
    });
    // The patient was taken out of the parameters the generic search sees (the view has no
    // patient search parameter); its paging links must carry it again, or `next` is a 400.
    const link = found.bundle.link?.map((entry) => {
      const url = new URL(entry.url);
      if (!url.searchParams.has('patient')) url.searchParams.set('patient', patientHex);
      return { ...entry, url: url.toString() };
    });
    return link === undefined ? found.bundle : { ...found.bundle, link };
  }

  /** Whether the token is a practitioner of this organisation with the privacy-officer role. */
  #isOwnPrivacyOfficer(context: RecordsRequestContext, state: StateReader): boolean {
    const { principal, org } = context.token.claims;
    return (
      principal.kind === 'practitioner' &&
      org === this.#orgId &&
      (readPractitioner(state, org, principal.id)?.roles.includes('privacy-officer') ?? false)
    );
  }

  /** The security log's readers: privacy officers of this organisation, its system clients. */
  #searchSecurityLog(context: RecordsRequestContext, params: Params): Bundle {
    const { principal, org } = context.token.claims;
    let reader: SecurityLogReader = 'none';
    if (principal.kind === 'client' && org === this.#orgId) reader = 'client';
    if (this.#isOwnPrivacyOfficer(context, this.#node.stateReader())) reader = 'privacy-officer';
    return this.securityAudit.search({
      token: context.token,
      params,
      baseUrl: context.baseUrl,
      reader,
    });
  }

  // ---- transaction and batch Bundles (decision 0058) ---------------------------------------

  /**
   * `POST /fhir` with a `transaction` or `batch` Bundle (FHIR R4 http.html#transaction). A
   * transaction is all or nothing: every entry is checked, authorised and validated before
   * anything is written, every version it writes is anchored in one `record.anchor-batch`, and
   * its reads and searches run once that is committed. A batch runs each entry on its own, as
   * the single interaction would, and one that fails carries its OperationOutcome.
   */
  async transaction(context: RecordsRequestContext, request: { bundle: Bundle }): Promise<Bundle> {
    if (request.bundle.type === 'batch') return this.#runBatch(context, request.bundle);
    return this.#runTransaction(context, request.bundle);
  }

  /** Ids of new records: random 128-bit pseudonyms; a Patient keeps its enrolled pseudonym. */
  readonly #newRecordId: NewId = ({ type, resource }) =>
    type === 'Patient' && resource.id !== undefined && pseudonymPattern.test(resource.id)
      ? resource.id
      : toHex(new Uint8Array(randomBytes(16)));

  /** A refusal of one entry, as the whole transaction's answer: the entry is named first. */
  #entryError(entryIndex: number, error: FhirError): FhirError {
    const where = `Bundle.entry[${entryIndex}]`;
    return new FhirError(error.code, `${where}: ${error.message}`, {
      status: error.status,
      expression: [where],
      issues: error.issues.slice(1),
      details: { ...error.details, entryIndex },
    });
  }

  /** Runs `check` for one entry; a FHIR refusal comes out naming the entry. */
  async #inEntry<T>(entryIndex: number, check: () => T | Promise<T>): Promise<T> {
    try {
      return await check();
    } catch (error) {
      if (error instanceof FhirError) throw this.#entryError(entryIndex, error);
      throw error;
    }
  }

  /**
   * A Consent is the patient's own signed `consent.grant` or `consent.revoke`, one signature per
   * Consent, which a Bundle cannot carry (decision 0058); AuditEvent and Provenance are never
   * written through the API.
   */
  #refuseBundleWrite(operation: TransactionOperation): void {
    if (operation.kind === 'read' || operation.kind === 'search') return;
    if (operation.type === 'Consent') {
      throw new FhirError(
        'business-rule',
        'a Consent is not written in a Bundle: each needs the patient’s own signed transaction; POST it to /fhir/Consent with X-MedLedger-Transaction (or DELETE /fhir/Consent/{id} to revoke)',
        { status: 422 },
      );
    }
    this.#refuseViewWrite(operation.type);
    this.#assertClinicalType(operation.type);
  }

  async #runTransaction(context: RecordsRequestContext, bundle: Bundle): Promise<Bundle> {
    const plan = planTransaction(bundle, { newId: this.#newRecordId });
    const operations = plan.operations;
    // Nothing is written until every entry has passed every check below.
    for (const operation of operations) {
      await this.#inEntry(operation.entryIndex, () => this.#refuseBundleWrite(operation));
    }
    if (operations.some((operation) => operation.kind !== 'read' && operation.kind !== 'search')) {
      this.#assertStaff(context);
    }
    // Reads and searches run after the writes (http.html#trules); their scope letters are
    // checked now, so a token that could not make them refuses the whole Bundle.
    for (const operation of operations) {
      if (operation.kind !== 'read' && operation.kind !== 'search') continue;
      const interaction =
        operation.kind === 'search'
          ? ('search' as const)
          : operation.versionId === undefined
            ? ('read' as const)
            : ('vread' as const);
      await this.#inEntry(operation.entryIndex, () =>
        this.#scope(context, {
          type: operation.type,
          interaction,
          patient: context.token.claims.patient ?? null,
        }),
      );
    }
    const results: BundleEntryResult[] = [];
    // Conditional creates first: one that finds its resource creates nothing, and references to
    // its entry are re-pointed to what it found (FHIR R4 http.html#trules).
    const found = new Map<number, Resource>();
    const repointed = new Map<string, string>();
    const state = this.#node.stateReader();
    for (const operation of operations) {
      if (operation.kind !== 'create' || operation.ifNoneExist === undefined) continue;
      const condition = operation.ifNoneExist;
      const existing = await this.#inEntry(operation.entryIndex, async () => {
        const patientHex = this.#enrolledPatientOf(state, operation.type, operation.resource);
        this.#scope(context, { type: operation.type, interaction: 'create', patient: patientHex });
        const params: Record<string, string[]> = {};
        for (const [name, value] of new URLSearchParams(condition.canonicalQuery)) {
          (params[name] ??= []).push(value);
        }
        const matches = await this.#searchLocal(context, operation.type, params, false);
        return decideConditionalCreate(matches.total) === 'exists' ? matches.resources[0]! : null;
      });
      if (existing === null) continue;
      found.set(operation.entryIndex, existing);
      repointed.set(`${operation.type}/${operation.id}`, `${operation.type}/${existing.id ?? ''}`);
      const versionId = existing.meta?.versionId ?? '1';
      results.push({
        entryIndex: operation.entryIndex,
        status: 200,
        location: `${operation.type}/${existing.id ?? ''}/_history/${versionId}`,
        etag: formatEtag(versionId),
        ...(existing.meta?.lastUpdated === undefined
          ? {}
          : { lastModified: existing.meta.lastUpdated }),
        resource: existing,
      });
    }
    const writes: Array<
      VersionWrite & { readonly entryIndex: number; readonly status: 200 | 201 | 204 }
    > = [];
    for (const operation of operations) {
      const entryIndex = operation.entryIndex;
      switch (operation.kind) {
        case 'create': {
          if (found.has(entryIndex)) break;
          const resource = rewriteReferences(operation.resource, repointed);
          const patientHex = await this.#inEntry(entryIndex, () => {
            const patient = this.#enrolledPatientOf(state, operation.type, resource);
            this.#scope(context, { type: operation.type, interaction: 'create', patient });
            if (operation.type === 'Patient' && readRecordHead(state, fromHex(patient)) !== null) {
              throw new FhirError('conflict', `Patient/${patient} already exists`, { status: 409 });
            }
            return patient;
          });
          writes.push({
            entryIndex,
            status: 201,
            label: `Bundle.entry[${entryIndex}]`,
            type: operation.type,
            recordId: fromHex(operation.id),
            patientId: fromHex(patientHex),
            version: 1,
            resource,
            deleted: false,
            action: 'create',
          });
          break;
        }
        case 'update': {
          const resource = rewriteReferences(operation.resource, repointed);
          const head = await this.#inEntry(entryIndex, async () => {
            const current = this.#custodianHead(context, operation, 'update');
            if (current.status === 'erased') {
              throw new FhirError('deleted', `${operation.type}/${operation.id} was erased`, {
                status: 410,
              });
            }
            if (operation.ifMatch !== undefined) {
              assertIfMatch({
                ifMatch: formatEtag(operation.ifMatch),
                currentVersionId: String(current.version),
              });
            }
            if (patientReferenceOf(resource) !== toHex(current.patientId)) {
              throw new FhirError(
                'business-rule',
                'an update cannot move a record to another patient',
                { status: 422 },
              );
            }
            await this.#authoriseRecord(context, current, 'update', current.version);
            return current;
          });
          writes.push({
            entryIndex,
            status: 200,
            label: `Bundle.entry[${entryIndex}]`,
            type: operation.type,
            recordId: head.recordId,
            patientId: head.patientId,
            version: head.version + 1,
            resource,
            deleted: false,
            action: null,
          });
          break;
        }
        case 'delete': {
          const head = await this.#inEntry(entryIndex, async () => {
            const current = this.#custodianHead(context, operation, 'delete');
            if (operation.ifMatch !== undefined) {
              assertIfMatch({
                ifMatch: formatEtag(operation.ifMatch),
                currentVersionId: String(current.version),
              });
            }
            // A delete is idempotent: an erased or already deleted record stays as it is.
            if (current.status === 'erased') return null;
            if (await this.#isDeletedHead(current)) return null;
            await this.#authoriseRecord(context, current, 'delete', current.version);
            return current;
          });
          if (head === null) {
            results.push({ entryIndex, status: 204 });
            break;
          }
          writes.push({
            entryIndex,
            status: 204,
            label: `Bundle.entry[${entryIndex}]`,
            type: operation.type,
            recordId: head.recordId,
            patientId: head.patientId,
            version: head.version + 1,
            resource: { resourceType: operation.type, id: operation.id } as Resource,
            deleted: true,
            action: null,
          });
          break;
        }
        case 'read':
        case 'search':
          break;
      }
    }
    // One record is written once per Bundle (a Patient created with an id a PUT also names).
    const seen = new Map<string, number>();
    for (const write of writes) {
      const key = toHex(write.recordId);
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        throw this.#entryError(
          write.entryIndex,
          new FhirError(
            'invalid',
            `${write.type}/${key} is also written by Bundle.entry[${earlier}]; a record is written once per transaction`,
          ),
        );
      }
      seen.set(key, write.entryIndex);
    }
    if (writes.length > 0) {
      const stored = await this.#writeVersions(context, writes);
      writes.forEach((write, index) => {
        const resource = stored[index]!;
        const versionId = String(write.version);
        results.push({
          entryIndex: write.entryIndex,
          status: write.status,
          location: `${write.type}/${toHex(write.recordId)}/_history/${versionId}`,
          etag: formatEtag(versionId),
          ...(resource.meta?.lastUpdated === undefined
            ? {}
            : { lastModified: resource.meta.lastUpdated }),
          ...(write.deleted ? {} : { resource }),
        });
      });
    }
    // The writes are committed: a read or search that fails now cannot undo them, so it answers
    // in its own entry (decision 0058).
    for (const operation of operations) {
      if (operation.kind !== 'read' && operation.kind !== 'search') continue;
      results.push(await this.#runRead(context, operation));
    }
    return transactionResponseBundle(results);
  }

  /** A read, vread or search entry, answered as the single interaction would be. */
  async #runRead(
    context: RecordsRequestContext,
    operation: Extract<TransactionOperation, { kind: 'read' | 'search' }>,
  ): Promise<BundleEntryResult> {
    try {
      const resource =
        operation.kind === 'search'
          ? await this.search(context, {
              type: operation.type,
              params: paramsOfQuery(operation.request.canonicalQuery),
            })
          : operation.versionId === undefined
            ? await this.read(context, { type: operation.type, id: operation.id })
            : await this.vread(context, {
                type: operation.type,
                id: operation.id,
                versionId: operation.versionId,
              });
      return { entryIndex: operation.entryIndex, status: 200, resource };
    } catch (error) {
      return this.#failedEntry(operation.entryIndex, error);
    }
  }

  #failedEntry(entryIndex: number, error: unknown): BundleEntryResult {
    if (!(error instanceof FhirError)) {
      this.#logger.error(
        { entryIndex, error: error instanceof Error ? error.name : 'unknown' },
        'Bundle entry failed unexpectedly',
      );
    }
    return { entryIndex, ...outcomeOfError(error) };
  }

  /**
   * A batch: each entry on its own, in the Bundle's order, through the single interaction (its
   * checks, its consent decision, its audit event, its anchor); one that fails does not stop
   * the others (FHIR R4 http.html#transaction).
   */
  async #runBatch(context: RecordsRequestContext, bundle: Bundle): Promise<Bundle> {
    const plan = planBatch(bundle, { newId: this.#newRecordId });
    const results: BundleEntryResult[] = [];
    for (const entry of plan.entries) {
      if ('error' in entry) {
        results.push(this.#failedEntry(entry.entryIndex, entry.error));
        continue;
      }
      const operation = entry.operation;
      try {
        this.#refuseBundleWrite(operation);
        results.push(await this.#runBatchEntry(context, operation));
      } catch (error) {
        results.push(this.#failedEntry(entry.entryIndex, error));
      }
    }
    return batchResponseBundle(results);
  }

  async #runBatchEntry(
    context: RecordsRequestContext,
    operation: TransactionOperation,
  ): Promise<BundleEntryResult> {
    const entryIndex = operation.entryIndex;
    const written = (resource: Resource, status: 200 | 201): BundleEntryResult => {
      const versionId = resource.meta?.versionId ?? '1';
      return {
        entryIndex,
        status,
        location: `${operation.type}/${resource.id ?? ''}/_history/${versionId}`,
        etag: formatEtag(versionId),
        ...(resource.meta?.lastUpdated === undefined
          ? {}
          : { lastModified: resource.meta.lastUpdated }),
        resource,
      };
    };
    switch (operation.kind) {
      case 'create': {
        const result = await this.create(context, {
          type: operation.type,
          resource: operation.resource,
          ifNoneExist: operation.ifNoneExist?.canonicalQuery ?? null,
          signedTransaction: null,
        });
        return written(result.resource, result.status);
      }
      case 'update': {
        const result = await this.update(context, {
          type: operation.type,
          id: operation.id,
          resource: operation.resource,
          ifMatch: operation.ifMatch === undefined ? null : formatEtag(operation.ifMatch),
          signedTransaction: null,
        });
        return written(result.resource, 200);
      }
      case 'delete':
        await this.delete(context, {
          type: operation.type,
          id: operation.id,
          signedTransaction: null,
        });
        return { entryIndex, status: 204 };
      case 'read':
      case 'search':
        return this.#runRead(context, operation);
    }
  }

  /**
   * Writes several versions all or nothing: each is stored in the vault, then ONE
   * `record.anchor-batch` anchors them all and the answer waits for its commit; only then are
   * their Provenances stored and the creates audited. If the anchor is refused, no version
   * becomes visible (reads go by the chain's head version; a vault version whose anchor never
   * committed is never served). The error names the write at fault by its `label`. A single
   * write could go through here too (`#writeVersion` sends its own `record.anchor`).
   */
  async #writeVersions(
    context: RecordsRequestContext,
    writes: readonly VersionWrite[],
  ): Promise<Resource[]> {
    if (writes.length === 0 || writes.length > contractLimits.recordAnchorBatchMax) {
      throw new FhirError(
        'business-rule',
        `expected 1 to ${contractLimits.recordAnchorBatchMax} writes in one anchor batch, found ${writes.length}`,
        { status: 422 },
      );
    }
    const time = this.#now();
    const prepared = writes.map((write) => this.#prepareVersion(context, write, time));
    // The batch must fit one chain transaction; checked before the vault is touched (the largest
    // nonce and a blank signature give the transaction's largest size).
    const size = encodeTransaction({
      chainId: this.#node.chainId,
      kind: 'record.anchor-batch',
      body: contractBody('record.anchor-batch', {
        anchors: prepared.map((item) => this.#anchorOf(item, new Uint8Array(32))),
      }),
      signer: this.#node.nodeKey,
      nonce: Number.MAX_SAFE_INTEGER,
      signature: new Uint8Array(64),
    }).length;
    if (size > chainLimits.txBytesMax) {
      throw new FhirError(
        'business-rule',
        `the anchors of these ${writes.length} writes take ${size} bytes, more than one chain transaction holds (${chainLimits.txBytesMax}); send fewer entries per Bundle`,
        { status: 422 },
      );
    }
    // All puts at once, so that one vault commit (one fsync) holds them; the first refusal in
    // the Bundle's order answers. Versions stored beside a refused one stay invisible.
    const puts = await Promise.allSettled(prepared.map((item) => this.#putVersion(item, time)));
    const refused = puts.find((put) => put.status === 'rejected');
    if (refused !== undefined) throw refused.reason;
    const anchors = puts.map((put, index) =>
      this.#anchorOf(prepared[index]!, (put as PromiseFulfilledResult<Uint8Array>).value),
    );
    let location;
    try {
      location = await this.#node.submitOwnAndWait(
        'record.anchor-batch',
        { anchors },
        recordsLimits.commitWaitMs,
      );
    } catch (error) {
      if (!(error instanceof NodeError)) throw error;
      this.#logger.warn({ code: error.code, writes: writes.length }, 'anchor batch not committed');
      if (error.code === 'refused' && error.details['code'] === 'busy') {
        throw new FhirError('throttled', 'the node is busy; nothing was written, try again', {
          status: 429,
        });
      }
      throw new FhirError(
        'exception',
        error.code === 'timeout'
          ? `the anchors were not committed within ${recordsLimits.commitWaitMs} ms; they may still commit: read the resources before sending the Bundle again`
          : 'the node could not anchor the versions; nothing was written',
        { status: 500 },
      );
    }
    if (!location.receipt.ok) {
      // The contract names the item (`anchors[3]: …`); items are in the order of `writes`.
      const item = /^anchors\[(\d+)\]/.exec(location.receipt.message ?? '')?.[1];
      const label = item === undefined ? null : (writes[Number(item)]?.label ?? null);
      throw new FhirError(
        'business-rule',
        `${label === null ? '' : `${label}: `}the record contract refused the anchors, nothing was written: ${location.receipt.code} ${location.receipt.message}`,
        { status: 422, ...(label === null ? {} : { expression: [label] }) },
      );
    }
    for (const item of prepared) this.#auditAnchoredWrite(context, item);
    return prepared.map(({ stored }) => stored);
  }

  /**
   * Right to erasure: the patient or a privacy officer of this organisation. Crypto-shredding
   * first (the vault destroys every data key of the patient's records held here), then one
   * `record.erase` marker per record: if anchoring stops half-way, the content is already gone,
   * and a second call anchors the rest.
   */
  async erasePatient(
    context: RecordsRequestContext,
    request: { id: string; reasonCode: string },
  ): Promise<OperationOutcome> {
    const patientId = idBytes('Patient', request.id);
    const state = this.#node.stateReader();
    if (readPatient(state, patientId) === null) throw notFound('Patient', request.id);
    const { principal } = context.token.claims;
    const isPatient = principal.kind === 'patient' && principal.id === request.id;
    if (!isPatient && !this.#isOwnPrivacyOfficer(context, state)) {
      throw new FhirError(
        'forbidden',
        'erasure is asked by the patient or decided by a privacy officer of the custodian',
        { status: 403 },
      );
    }
    await this.#vault.erasePatient(request.id);
    const recordIds: string[] = [];
    for (let after: string | null = null; ;) {
      const page = await this.#vault.list({
        patientId: request.id,
        ...(after === null ? {} : { after }),
      });
      // Provenance entries (`<record id>-v<n>`) are shredded with the records, not anchored.
      recordIds.push(
        ...page.records.map((meta) => meta.recordId).filter((id) => pseudonymPattern.test(id)),
      );
      if (page.next === null) break;
      after = page.next;
    }
    let anchored = 0;
    for (const recordId of recordIds) {
      const head = readRecordHead(this.#node.stateReader(), fromHex(recordId));
      if (head === null || head.status === 'erased' || head.custodian !== this.#orgId) continue;
      const location = await this.#node.submitOwnAndWait(
        'record.erase',
        { recordId: head.recordId, version: head.version + 1, reasonCode: request.reasonCode },
        recordsLimits.commitWaitMs,
      );
      if (!location.receipt.ok) {
        throw new FhirError(
          'exception',
          `erasure marker of ${head.resourceType}/${recordId} refused: ${location.receipt.code}`,
          { status: 500 },
        );
      }
      anchored++;
    }
    this.#auditEvent({
      token: context.token,
      patientId,
      recordId: null,
      version: null,
      queryHash: null,
      action: 'delete',
      decision: {
        decision: 'permit',
        reason: isPatient ? 'patient-self' : 'privacy-officer',
        consentId: null,
        breakGlassId: null,
      },
    });
    return {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'information',
          code: 'informational',
          diagnostics: `erased ${recordIds.length} records of Patient/${request.id} held by ${this.#orgId}: their keys are destroyed; ${anchored} erasure markers anchored`,
        },
      ],
    };
  }

  /**
   * The break-glass uses awaiting review, as BALP security-alert AuditEvents, for privacy
   * officers of this organisation (decision 0059): the uses by its own staff (whose reviews they
   * close) and the uses by other organisations' staff that read a record it holds. Oldest first,
   * `_count` per page with an opaque `_cursor` in the `next` link; `total` counts only the uses
   * the caller may see.
   */
  breakGlassReviewQueue(
    context: RecordsRequestContext,
    request: { params: Params } = { params: {} },
  ): Promise<Bundle> {
    const state = this.#node.stateReader();
    if (!this.#isOwnPrivacyOfficer(context, state)) {
      return Promise.reject(
        new FhirError('forbidden', 'the break-glass review queue is for privacy officers', {
          status: 403,
        }),
      );
    }
    const { org } = context.token.claims;
    let page;
    try {
      page = reviewPageOf(request.params);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const scanned = listUnreviewedBreakGlass(state, { limit: breakGlassReviewLimits.scanMax });
    const visible = scanned.filter((grant) => this.#reviewVisible(state, grant, org));
    const after = visible.filter((grant) => grant.sequence > page.afterSequence);
    const shown = after.slice(0, page.count);
    const entry: BundleEntry[] = shown.map((grant) => {
      const resource = { ...breakGlassAuditEvent(grant, 'start'), id: toHex(grant.breakGlassId) };
      return {
        fullUrl: `${context.baseUrl}/AuditEvent/${resource.id}`,
        resource,
        search: { mode: 'match' },
      };
    });
    if (scanned.length === breakGlassReviewLimits.scanMax) {
      entry.push({
        resource: operationOutcome([
          {
            severity: 'warning',
            code: 'too-costly',
            diagnostics: `only the ${breakGlassReviewLimits.scanMax} oldest unreviewed break-glass uses of the network were examined; later ones are listed once older ones are reviewed`,
          },
        ]),
        search: { mode: 'outcome' },
      });
    }
    const self = `${context.baseUrl}/$break-glass-review?_count=${page.count}`;
    const link: Bundle['link'] = [{ relation: 'self', url: self }];
    const last = shown.at(-1);
    if (after.length > shown.length && last !== undefined) {
      link.push({
        relation: 'next',
        url: `${self}&_cursor=${encodeReviewCursor(last.sequence)}`,
      });
    }
    return Promise.resolve({
      resourceType: 'Bundle',
      type: 'searchset',
      total: visible.length,
      link,
      entry,
    });
  }

  /**
   * Whether a privacy officer of `org` sees `grant`: a use by `org`'s own staff, or a use whose
   * audited accesses (in the patient's log, from the block that opened it, at most
   * `accessEventsScanMax` events) include a record `org` holds.
   */
  #reviewVisible(state: StateReader, grant: BreakGlassRecord, org: string): boolean {
    if (grant.orgId === org) return true;
    const patientId = grant.patientId;
    const count = countAuditEvents(state, patientId);
    // The log is in commit order: find the first event recorded at or after the opening block.
    let low = 0;
    let high = count;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      const event = listAuditEvents(state, { patientId, from: middle, limit: 1 })[0];
      if (event === undefined || event.recordedHeight >= grant.openedHeight) high = middle;
      else low = middle + 1;
    }
    const events = listAuditEvents(state, {
      patientId,
      from: low,
      limit: breakGlassReviewLimits.accessEventsScanMax,
    });
    return events.some(
      (record) =>
        record.event.breakGlassId !== null &&
        equalBytes(record.event.breakGlassId, grant.breakGlassId) &&
        record.event.recordId !== null &&
        readRecordHead(state, record.event.recordId)?.custodian === org,
    );
  }

  /**
   * `POST /$break-glass-review` (a MedLedger operation): closes a break-glass review on chain
   * with the privacy officer's own signed `access.close-review` (`X-MedLedger-Transaction`), as
   * a patient signs their consents: the access contract takes a privacy officer's key only
   * (decision 0028), never the node's. The contract decides who may close which review (an
   * officer of the grant's organisation, not its user); the node checks that the token is a
   * privacy officer of this organisation and that the transaction is signed with that officer's
   * key, submits it and answers once it is committed.
   */
  async closeBreakGlassReview(
    context: RecordsRequestContext,
    request: { signedTransaction: Uint8Array | null },
  ): Promise<OperationOutcome> {
    const state = this.#node.stateReader();
    if (!this.#isOwnPrivacyOfficer(context, state)) {
      throw new FhirError(
        'forbidden',
        `break-glass reviews are closed by privacy officers of ${this.#orgId}`,
        { status: 403 },
      );
    }
    const { principal, org } = context.token.claims;
    const tx = this.#signedTransaction(
      request.signedTransaction,
      'access.close-review',
      'a review is signed by the privacy officer',
    );
    const signer = readPrincipal(state, tx.signer);
    if (
      signer?.kind !== 'practitioner' ||
      signer.orgId !== org ||
      signer.localId !== principal.id
    ) {
      throw new FhirError(
        'forbidden',
        `the access.close-review must be signed with the key of ${org}/${principal.id}, who is signed in`,
        { status: 403 },
      );
    }
    let body;
    try {
      body = decodeContractBody('access.close-review', tx.body);
    } catch (error) {
      throw new FhirError('invalid', `X-MedLedger-Transaction: ${(error as Error).message}`, {
        status: 400,
      });
    }
    await this.#submitSigned(tx, 'access');
    return informationOutcome(
      `break-glass ${toHex(body.breakGlassId)} reviewed: ${body.outcome}` +
        (body.noteCode === null ? '' : ` (${body.noteCode})`),
    );
  }

  // ---- patients and their records across organisations ---------------------------------------

  /**
   * The anchored record ids per patient, brought up to the committed head. The state names
   * records by id only (no index by patient), so the node reads the `record.anchored` events of
   * each block it has not read yet, once, in order: the whole chain on the first call.
   */
  #recordsByPatient(): ReadonlyMap<string, ReadonlySet<string>> {
    const index = this.#anchored;
    const head = this.#node.stateReader().height;
    while (index.height < head) {
      const block = this.#node.loadBlock(index.height + 1);
      if (block === null) break;
      for (const receipt of block.receipts) {
        for (const event of receipt.events) {
          if (event.type !== 'record.anchored') continue;
          const patient = String(event.attributes.patientId);
          let records = index.recordsByPatient.get(patient);
          if (records === undefined) {
            records = new Set();
            index.recordsByPatient.set(patient, records);
          }
          records.add(String(event.attributes.recordId));
        }
      }
      index.height += 1;
    }
    return index.recordsByPatient;
  }

  /** A searchset Bundle of `resources`, with an outcome entry when there are `issues`. */
  #bundleOf(
    context: RecordsRequestContext,
    resources: readonly Resource[],
    issues: readonly OperationOutcomeIssue[],
  ): Bundle {
    const entry: BundleEntry[] = resources.map((resource) => ({
      fullUrl: `${context.baseUrl}/${resource.resourceType}/${resource.id ?? ''}`,
      resource,
      search: { mode: 'match' },
    }));
    if (issues.length > 0) {
      entry.push({ resource: operationOutcome(issues), search: { mode: 'outcome' } });
    }
    return { resourceType: 'Bundle', type: 'searchset', total: resources.length, entry };
  }

  /** A failure of one read inside a multi-record answer, as a warning issue. */
  #warningOf(error: FhirError): OperationOutcomeIssue {
    return { severity: 'warning', code: error.code, diagnostics: error.message };
  }

  /**
   * `GET /Patient/$shared` (a MedLedger operation): the patients of other organisations whose
   * Patient record the caller may read now — a consent of theirs permits it, or, under a
   * break-glass token, an open grant — each read from its custodian as `read` does (decided
   * again there, audited). A clinician finds their own organisation's patients with a Patient
   * search; a search across custodians needs the patient named (decision 0060), and this is how
   * a clinician learns who shared with them. At most `fhirLimits.searchCountMax` patients (a search page), oldest first.
   */
  async sharedPatients(context: RecordsRequestContext): Promise<Bundle> {
    this.#scope(context, { type: 'Patient', interaction: 'search', patient: null });
    if (context.token.claims.principal.kind === 'patient') {
      throw new FhirError('forbidden', 'a patient reads their own record: GET Patient/<id>', {
        status: 403,
      });
    }
    const state = this.#node.stateReader();
    const requester = this.#requesterOf(state, context.token);
    const purpose = this.#purposeOf(context.token);
    const time = this.#now();
    const permitted: string[] = [];
    const issues: OperationOutcomeIssue[] = [];
    for (const patientHex of this.#recordsByPatient().keys()) {
      // A Patient record's id is the patient's pseudonym.
      const head = readRecordHead(state, fromHex(patientHex));
      if (head?.resourceType !== 'Patient' || head.status !== 'active') continue;
      if (head.custodian === this.#orgId) continue;
      if (
        decide(state, recordAccessRequest(head, requester, purpose), time).decision !== 'permit'
      ) {
        continue;
      }
      if (permitted.length === fhirLimits.searchCountMax) {
        issues.push({
          severity: 'information',
          code: 'too-costly',
          diagnostics: `more than ${fhirLimits.searchCountMax} patients shared with you: the first ${fhirLimits.searchCountMax} are listed; open the others by id`,
        });
        break;
      }
      permitted.push(patientHex);
    }
    const patients: Resource[] = [];
    for (const id of permitted) {
      try {
        patients.push(await this.read(context, { type: 'Patient', id }));
      } catch (error) {
        // A custodian that does not answer, or a consent revoked meanwhile, leaves one out.
        if (!(error instanceof FhirError) || error.status === 500) throw error;
        issues.push(this.#warningOf(error));
      }
    }
    return this.#bundleOf(context, patients, issues);
  }

  /**
   * `GET /Patient/{id}/$everything` (FHIR R4 patient-operation-everything.html): the patient's
   * records, wherever they are held, that the caller may read — found from the chain's anchors
   * and each read as `read` does (decided, audited, fetched from its custodian). The Patient
   * record goes first: when it is refused the whole request is, with the denial's advice (one
   * audited denial, not one per record). Records refused after it are left out with a
   * `suppressed` issue that does not count them (CONVENTIONS.md "Break-glass"); a custodian that
   * does not answer leaves its records out with a warning.
   */
  async patientEverything(
    context: RecordsRequestContext,
    request: { id: string },
  ): Promise<Bundle> {
    const patientId = idBytes('Patient', request.id);
    if (readPatient(this.#node.stateReader(), patientId) === null) {
      throw notFound('Patient', request.id);
    }
    this.#scope(context, { type: 'Patient', interaction: 'read', patient: request.id });
    const recordIds = [...(this.#recordsByPatient().get(request.id) ?? [])];
    if (recordIds.length > recordsLimits.searchCandidatesMax) {
      throw new FhirError(
        'business-rule',
        `Patient/${request.id} has more than ${recordsLimits.searchCandidatesMax} records; search them by type`,
        { status: 422 },
      );
    }
    const ordered = [request.id, ...recordIds.filter((id) => id !== request.id)];
    const resources: Resource[] = [];
    const issues: OperationOutcomeIssue[] = [];
    let firstDenial: FhirError | null = null;
    for (const recordId of ordered) {
      const head = readRecordHead(this.#node.stateReader(), fromHex(recordId));
      if (head === null || head.status !== 'active') continue;
      if (!(clinicalResourceTypes as readonly string[]).includes(head.resourceType)) continue;
      try {
        resources.push(await this.read(context, { type: head.resourceType, id: recordId }));
      } catch (error) {
        if (!(error instanceof FhirError) || error.status === 500) throw error;
        if (error.status === 403) {
          if (recordId === request.id) throw error;
          firstDenial ??= error;
        } else if (error.status !== 404 && error.status !== 410) {
          issues.push(this.#warningOf(error));
        }
      }
    }
    if (firstDenial !== null) {
      if (resources.length === 0) throw firstDenial;
      issues.unshift(suppressedIssue());
    }
    return this.#bundleOf(context, resources, issues);
  }

  /** Contract events about the token's patient, as blocks commit (patients only). */
  subscribeNotifications(
    context: RecordsRequestContext,
    listener: (notification: {
      type: string;
      height: number;
      time: number;
      attributes: Readonly<Record<string, string | number | boolean>>;
    }) => void,
  ): () => void {
    const { principal } = context.token.claims;
    if (principal.kind !== 'patient') {
      throw new FhirError('forbidden', 'notifications are for the patient they concern', {
        status: 403,
      });
    }
    return this.#node.subscribe((event) => {
      for (const receipt of event.receipts) {
        for (const contractEvent of receipt.events) {
          if (contractEvent.attributes.patientId !== principal.id) continue;
          listener({
            type: contractEvent.type,
            height: event.height,
            time: event.time,
            attributes: contractEvent.attributes,
          });
        }
      }
    });
  }

  recordRejection(rejection: SecurityRefusal): void {
    // A rejection names no patient the chain knows of (the request never reached a record), so
    // it goes to the node's security log, not the chain (decisions 0056, 0059), and to the log.
    this.securityAudit.recordRefusal(rejection);
    this.#logger.warn(
      {
        method: rejection.method,
        path: rejection.path.split('/')[0],
        status: rejection.status,
        code: rejection.code,
        principal: rejection.token?.claims.principal.kind ?? null,
        org: rejection.token?.claims.org ?? null,
      },
      'FHIR request refused before authorisation',
    );
  }
}
