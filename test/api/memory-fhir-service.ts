// A TEST DOUBLE of the records service (the real `FhirService` lives in src/records): resources in
// a Map, versioned, with the scope step of auth's `authorizeInteraction` and the FhirErrors the
// routes must render (404 unknown, 410 deleted, 412 If-Match / If-None-Exist, 403 scope). No
// consent, no vault, no chain, no audit: it records what it was asked, so route tests can check
// what reached the service and which refusals were handed to `recordRejection`.
import type { Bundle, CapabilityStatement, OperationOutcome, Resource } from '@medplum/fhirtypes';

import type {
  FhirParams,
  FhirRejection,
  FhirRequestContext,
  FhirService,
  FhirWriteResult,
} from '../../src/api/index.ts';
import { authorizeInteraction, type FhirInteraction } from '../../src/auth/index.ts';
import {
  FhirError,
  type BundleEntryResult,
  type TransactionOperation,
  assertIfMatch,
  batchResponseBundle,
  capabilityStatement,
  decideConditionalCreate,
  formatEtag,
  historyBundle,
  matchesSearch,
  outcomeOfError,
  parseIfNoneExist,
  planBatch,
  planTransaction,
  searchResources,
  transactionResponseBundle,
  withServerMeta,
  type HistoryVersion,
  type TransactionEntryResult,
} from '../../src/fhir/index.ts';

/** One stored version; a delete is a version without a resource. */
interface StoredVersion extends HistoryVersion {
  readonly type: string;
}

/** One call that reached the double. */
export interface ServiceCall {
  readonly interaction: string;
  readonly context: FhirRequestContext;
  readonly request: unknown;
}

/** One `$notifications` event, as the records service gives it. */
type Notification = {
  type: string;
  height: number;
  time: number;
  attributes: Readonly<Record<string, string | number | boolean>>;
};

export class MemoryFhirService implements FhirService {
  /** Every call that reached the service, in order. */
  readonly calls: ServiceCall[] = [];
  /** Every refusal the routes handed over. */
  readonly rejections: FhirRejection[] = [];
  /** When set, the next interaction throws it (an internal failure of the service). */
  failure: Error | null = null;
  readonly #versions = new Map<string, StoredVersion[]>();
  #nextId = 1;
  #clockMs = Date.parse('2024-05-01T10:00:00.000Z');

  capabilityStatement(options: { baseUrl: string }): CapabilityStatement {
    return capabilityStatement({
      baseUrl: options.baseUrl,
      software: { name: 'MedLedger route tests (memory service)', version: '0.0.0' },
      time: '2024-05-01T00:00:00Z',
    });
  }

  create(
    context: FhirRequestContext,
    request: {
      type: string;
      resource: Resource;
      ifNoneExist: string | null;
      signedTransaction: Uint8Array | null;
    },
  ): Promise<FhirWriteResult> {
    this.#enter('create', context, request);
    this.#authorize(context, request.type, 'create');
    if (request.ifNoneExist !== null) {
      const search = parseIfNoneExist({ type: request.type, header: request.ifNoneExist });
      const matches = this.#current(request.type).filter((resource) =>
        matchesSearch(resource, search, context.baseUrl),
      );
      if (decideConditionalCreate(matches.length) === 'exists') {
        return Promise.resolve({ status: 200, resource: matches[0]! });
      }
    }
    const resource = this.#write(request.type, this.#newId(), request.resource, 'create');
    return Promise.resolve({ status: 201, resource });
  }

  read(context: FhirRequestContext, request: { type: string; id: string }): Promise<Resource> {
    this.#enter('read', context, request);
    this.#authorize(context, request.type, 'read');
    const latest = this.#versionsOf(request.type, request.id).at(-1)!;
    if (latest.resource === undefined) {
      throw new FhirError('deleted', `${request.type}/${request.id} was deleted`, { status: 410 });
    }
    return Promise.resolve(latest.resource);
  }

  vread(
    context: FhirRequestContext,
    request: { type: string; id: string; versionId: string },
  ): Promise<Resource> {
    this.#enter('vread', context, request);
    this.#authorize(context, request.type, 'vread');
    const version = this.#versionsOf(request.type, request.id).find(
      (candidate) => candidate.versionId === request.versionId,
    );
    if (version === undefined) {
      throw new FhirError(
        'not-found',
        `${request.type}/${request.id} has no version ${request.versionId}`,
      );
    }
    if (version.resource === undefined) {
      throw new FhirError(
        'deleted',
        `${request.type}/${request.id} version ${request.versionId} is a delete`,
        { status: 410 },
      );
    }
    return Promise.resolve(version.resource);
  }

  update(
    context: FhirRequestContext,
    request: {
      type: string;
      id: string;
      resource: Resource;
      ifMatch: string | null;
      signedTransaction: Uint8Array | null;
    },
  ): Promise<FhirWriteResult> {
    this.#enter('update', context, request);
    this.#authorize(context, request.type, 'update');
    const versions = this.#versions.get(`${request.type}/${request.id}`) ?? [];
    const latest = versions.at(-1);
    if (latest !== undefined) {
      assertIfMatch({ ifMatch: request.ifMatch ?? undefined, currentVersionId: latest.versionId });
    }
    const existed = latest?.resource !== undefined;
    const resource = this.#write(request.type, request.id, request.resource, 'update');
    return Promise.resolve({ status: existed ? 200 : 201, resource });
  }

  delete(
    context: FhirRequestContext,
    request: { type: string; id: string; signedTransaction: Uint8Array | null },
  ): Promise<void> {
    this.#enter('delete', context, request);
    this.#authorize(context, request.type, 'delete');
    const latest = this.#versions.get(`${request.type}/${request.id}`)?.at(-1);
    // Idempotent: deleting what is absent or already deleted changes nothing.
    if (latest?.resource !== undefined) this.#write(request.type, request.id, undefined, 'delete');
    return Promise.resolve();
  }

  history(
    context: FhirRequestContext,
    request: { type: string; id: string; params: FhirParams },
  ): Promise<Bundle> {
    this.#enter('history', context, request);
    this.#authorize(context, request.type, 'history');
    const versions = [...this.#versionsOf(request.type, request.id)].reverse();
    return Promise.resolve(
      historyBundle({
        baseUrl: context.baseUrl,
        versions,
        selfUrl: `${context.baseUrl}/${request.type}/${request.id}/_history`,
      }),
    );
  }

  search(
    context: FhirRequestContext,
    request: { type: string; params: FhirParams },
  ): Promise<Bundle> {
    this.#enter('search', context, request);
    this.#authorize(context, request.type, 'search');
    const { bundle } = searchResources({
      type: request.type,
      params: request.params,
      resources: this.#current(request.type),
      baseUrl: context.baseUrl,
    });
    return Promise.resolve(bundle);
  }

  transaction(context: FhirRequestContext, request: { bundle: Bundle }): Promise<Bundle> {
    this.#enter('transaction', context, request);
    if (request.bundle.type === 'batch') {
      // Each entry on its own: a refused one answers its outcome, the others are written.
      const plan = planBatch(request.bundle, { newId: () => this.#newId() });
      const results = plan.entries.map((entry): BundleEntryResult => {
        if ('error' in entry)
          return { entryIndex: entry.entryIndex, ...outcomeOfError(entry.error) };
        try {
          this.#authorize(context, entry.operation.type, entry.operation.kind);
          return this.#runWrite(entry.operation);
        } catch (error) {
          return { entryIndex: entry.entryIndex, ...outcomeOfError(error) };
        }
      });
      return Promise.resolve(batchResponseBundle(results));
    }
    const plan = planTransaction(request.bundle, { newId: () => this.#newId() });
    // All or nothing: every entry is checked before anything is written.
    for (const operation of plan.operations) {
      if (operation.kind === 'read' || operation.kind === 'search') {
        throw new FhirError('invalid', 'the memory service runs writes only in a transaction');
      }
      this.#authorize(context, operation.type, operation.kind);
    }
    const results = plan.operations.map((operation) => this.#runWrite(operation));
    return Promise.resolve(transactionResponseBundle(results));
  }

  #runWrite(operation: TransactionOperation): TransactionEntryResult {
    switch (operation.kind) {
      case 'create':
      case 'update': {
        const resource = this.#write(
          operation.type,
          operation.id,
          operation.resource,
          operation.kind,
        );
        const versionId = resource.meta!.versionId!;
        return {
          entryIndex: operation.entryIndex,
          status: operation.kind === 'create' || versionId === '1' ? 201 : 200,
          location: `${operation.type}/${operation.id}/_history/${versionId}`,
          etag: formatEtag(versionId),
          lastModified: resource.meta!.lastUpdated!,
          resource,
        };
      }
      case 'delete':
        if (this.#versions.get(`${operation.type}/${operation.id}`)?.at(-1)?.resource) {
          this.#write(operation.type, operation.id, undefined, 'delete');
        }
        return { entryIndex: operation.entryIndex, status: 204 };
      case 'read':
      case 'search':
        throw new FhirError('invalid', 'the memory service runs writes only in a Bundle');
    }
  }

  erasePatient(
    context: FhirRequestContext,
    request: { id: string; reasonCode: string },
  ): Promise<OperationOutcome> {
    this.#enter('erase', context, request);
    return Promise.resolve({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'information', code: 'informational', diagnostics: 'erased' }],
    });
  }

  breakGlassReviewQueue(
    context: FhirRequestContext,
    request: { params: FhirParams },
  ): Promise<Bundle> {
    this.#enter('break-glass-review', context, request);
    return Promise.resolve({ resourceType: 'Bundle', type: 'searchset', total: 0, entry: [] });
  }

  closeBreakGlassReview(
    context: FhirRequestContext,
    request: { signedTransaction: Uint8Array | null },
  ): Promise<OperationOutcome> {
    this.#enter('close-break-glass-review', context, request);
    return Promise.resolve({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'information', code: 'informational', diagnostics: 'reviewed' }],
    });
  }

  sharedPatients(context: FhirRequestContext): Promise<Bundle> {
    this.#enter('shared-patients', context, null);
    return Promise.resolve({ resourceType: 'Bundle', type: 'searchset', total: 0, entry: [] });
  }

  patientEverything(context: FhirRequestContext, request: { id: string }): Promise<Bundle> {
    this.#enter('everything', context, request);
    return Promise.resolve({ resourceType: 'Bundle', type: 'searchset', total: 0, entry: [] });
  }

  /** Listeners of `$notifications` streams now open; `notify` sends to each. */
  readonly notificationListeners = new Set<(notification: Notification) => void>();

  subscribeNotifications(
    context: FhirRequestContext,
    listener: (notification: Notification) => void,
  ): () => void {
    this.#enter('notifications', context, null);
    this.notificationListeners.add(listener);
    return () => this.notificationListeners.delete(listener);
  }

  notify(notification: Notification): void {
    for (const listener of this.notificationListeners) listener(notification);
  }

  recordRejection(rejection: FhirRejection): void {
    this.rejections.push(rejection);
  }

  #enter(interaction: string, context: FhirRequestContext, request: unknown): void {
    this.calls.push({ interaction, context, request });
    const failure = this.failure;
    if (failure !== null) {
      this.failure = null;
      throw failure;
    }
  }

  #authorize(context: FhirRequestContext, resourceType: string, interaction: FhirInteraction) {
    authorizeInteraction(context.token, { resourceType, interaction, patient: null });
  }

  #newId(): string {
    const id = `m${this.#nextId}`;
    this.#nextId += 1;
    return id;
  }

  /** Current, not deleted, resources of a type. */
  #current(type: string): Resource[] {
    const resources: Resource[] = [];
    for (const versions of this.#versions.values()) {
      const latest = versions.at(-1)!;
      if (latest.type === type && latest.resource !== undefined) resources.push(latest.resource);
    }
    return resources;
  }

  #versionsOf(type: string, id: string): readonly StoredVersion[] {
    const versions = this.#versions.get(`${type}/${id}`);
    if (versions === undefined) throw new FhirError('not-found', `${type}/${id} is not known`);
    return versions;
  }

  #write(
    type: string,
    id: string,
    resource: Resource | undefined,
    interaction: 'create' | 'update' | 'delete',
  ): Resource {
    const versions = this.#versions.get(`${type}/${id}`) ?? [];
    const versionId = String(versions.length + 1);
    // One second per write: Last-Modified (whole seconds) differs between versions.
    this.#clockMs += 1000;
    const lastUpdated = new Date(this.#clockMs).toISOString();
    const stored =
      resource === undefined ? undefined : withServerMeta(resource, { id, versionId, lastUpdated });
    versions.push({
      type,
      id,
      versionId,
      lastUpdated,
      interaction,
      ...(stored === undefined ? {} : { resource: stored }),
    });
    this.#versions.set(`${type}/${id}`, versions);
    return stored ?? { resourceType: type as 'Patient', id };
  }
}
