/**
 * Planning of a `transaction` Bundle (FHIR R4 http.html#transaction): every entry is checked
 * before anything is done, so the Bundle is refused whole or run whole; new ids are given to
 * creates; `urn:uuid:` fullUrls are rewritten to `{type}/{id}` in every `reference`; operations
 * come out in the order of http.html#trules (DELETE, POST, PUT, GET). The caller runs them in one
 * atomic write and answers with `transactionResponseBundle`. A `batch` Bundle (`planBatch`) is
 * checked entry by entry instead: each entry is planned or refused on its own, and the caller
 * answers with `batchResponseBundle`, a failed entry carrying its OperationOutcome.
 */
import type {
  Bundle,
  BundleEntry,
  OperationOutcome,
  OperationOutcomeIssue,
  Resource,
} from '@medplum/fhirtypes';

import { parseIfNoneExist } from './conditional-create.ts';
import { fhirLimits } from './limits.ts';
import { FhirError, type FhirErrorStatus } from './operation-outcome.ts';
import { parseSearchRequest } from './parse-search.ts';
import type { SearchRequest } from './parse-search.ts';
import { isFhirId, isSupportedResourceType } from './resource-types.ts';
import { formatEtag, parseEtag } from './resource-version.ts';
import { validateResource } from './validate-resource.ts';

/** One planned operation; `entryIndex` is its entry's position, for the response's order. */
export type TransactionOperation =
  | {
      readonly kind: 'create';
      readonly entryIndex: number;
      readonly type: string;
      /** The id planned for the new resource (from `newId`). */
      readonly id: string;
      readonly resource: Resource;
      /** The conditional-create search of `request.ifNoneExist`. */
      readonly ifNoneExist: SearchRequest | undefined;
    }
  | {
      readonly kind: 'update';
      readonly entryIndex: number;
      readonly type: string;
      readonly id: string;
      readonly resource: Resource;
      /** The versionId of `request.ifMatch`, when given. */
      readonly ifMatch: string | undefined;
    }
  | {
      readonly kind: 'delete';
      readonly entryIndex: number;
      readonly type: string;
      readonly id: string;
      readonly ifMatch: string | undefined;
    }
  | {
      readonly kind: 'read';
      readonly entryIndex: number;
      readonly type: string;
      readonly id: string;
      /** Set for a vread (`{type}/{id}/_history/{vid}`). */
      readonly versionId: string | undefined;
    }
  | {
      readonly kind: 'search';
      readonly entryIndex: number;
      readonly type: string;
      readonly request: SearchRequest;
    };

/** The plan of a transaction. */
export interface TransactionPlan {
  /** Operations in processing order: deletes, creates, updates, reads and searches. */
  readonly operations: readonly TransactionOperation[];
  /** Each `urn:uuid:` fullUrl and the `{type}/{id}` it became. */
  readonly references: ReadonlyMap<string, string>;
  readonly entryCount: number;
}

const uuidUrnPattern =
  /^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const processingOrder: Readonly<Record<TransactionOperation['kind'], number>> = {
  delete: 0,
  create: 1,
  update: 2,
  read: 3,
  search: 3,
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A deep copy of `value` with every `reference` string found in `references` replaced by what it
 * maps to (FHIR R4 bundle.html#references). Iterative, so depth cannot exhaust the stack.
 */
export function rewriteReferences<T>(value: T, references: ReadonlyMap<string, string>): T {
  const copy = structuredClone(value);
  const stack: unknown[] = [copy];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (const child of node as unknown[]) stack.push(child);
    } else if (isRecord(node)) {
      for (const [key, child] of Object.entries(node)) {
        if (key === 'reference' && typeof child === 'string') {
          const target = references.get(child);
          if (target !== undefined) node[key] = target;
        } else {
          stack.push(child);
        }
      }
    }
  }
  return copy;
}

/** Every `reference` string starting with `urn:uuid:` in `value`. */
function uuidReferences(value: unknown): string[] {
  const found: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (const child of node as unknown[]) stack.push(child);
    } else if (isRecord(node)) {
      for (const [key, child] of Object.entries(node)) {
        if (key === 'reference' && typeof child === 'string' && child.startsWith('urn:uuid:')) {
          found.push(child);
        } else {
          stack.push(child);
        }
      }
    }
  }
  return found;
}

type Problem = (message: string, where: string) => void;

interface ParsedUrl {
  readonly type: string;
  readonly id: string | undefined;
  readonly versionId: string | undefined;
  readonly query: string | undefined;
}

function parseEntryUrl(url: string): ParsedUrl | undefined {
  const question = url.indexOf('?');
  const path = (question < 0 ? url : url.slice(0, question)).replace(/^\/+/, '');
  const query = question < 0 ? undefined : url.slice(question + 1);
  const parts = path.split('/');
  const [type, id, history, versionId, ...rest] = parts;
  if (type === undefined || rest.length > 0) return undefined;
  if (history !== undefined && history !== '_history') return undefined;
  if (history !== undefined && versionId === undefined) return undefined;
  return { type, id, versionId, query };
}

/**
 * Checks a transaction Bundle whole and plans its operations. `newId` gives the id of each create
 * (no randomness here). Throws one 400 `FhirError` listing every problem found, so nothing runs
 * when anything is wrong.
 */
export function planTransaction(bundle: unknown, options: { newId: NewId }): TransactionPlan {
  const entries = entriesOf(bundle, 'transaction');
  const plan = planEntries(
    entries.map((raw, index) => [index, raw] as const),
    { newId: options.newId, refusal: 'transaction refused, nothing was done', batch: false },
  );
  return { ...plan, entryCount: entries.length };
}

/** What a batch entry became: its planned operation, or why it was refused. */
export type BatchEntryPlan =
  | { readonly entryIndex: number; readonly operation: TransactionOperation }
  | { readonly entryIndex: number; readonly error: FhirError };

/**
 * Checks a `batch` Bundle and plans each entry on its own (FHIR R4 http.html#transaction: the
 * entries of a batch are independent, and one that fails does not stop the others). A
 * `urn:uuid:` reference to another entry is refused (a batch has no interdependencies). Throws
 * only when the Bundle itself is not a batch; entry problems come back as that entry's error.
 * Entries come back in the Bundle's order, which is the order they are processed in.
 */
export function planBatch(
  bundle: unknown,
  options: { newId: NewId },
): { readonly entries: readonly BatchEntryPlan[]; readonly entryCount: number } {
  const entries = entriesOf(bundle, 'batch');
  const planned = entries.map((raw, index): BatchEntryPlan => {
    try {
      const plan = planEntries([[index, raw]], {
        newId: options.newId,
        refusal: 'entry refused',
        batch: true,
      });
      const operation = plan.operations[0];
      if (operation === undefined) {
        throw new FhirError('exception', 'a planned batch entry has no operation', {
          status: 500,
        });
      }
      return { entryIndex: index, operation };
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      return { entryIndex: index, error };
    }
  });
  return { entries: planned, entryCount: entries.length };
}

/** Gives the id of a new resource; the entry's type and resource are there for ids they imply. */
export type NewId = (create: { readonly type: string; readonly resource: Resource }) => string;

/** The entries of a `kind` Bundle, once the Bundle's own shape and size are checked. */
function entriesOf(bundle: unknown, kind: 'transaction' | 'batch'): unknown[] {
  if (!isRecord(bundle) || bundle['resourceType'] !== 'Bundle') {
    throw new FhirError('invalid', 'expected a Bundle, found another body', {
      expression: ['Bundle'],
    });
  }
  if (bundle['type'] !== kind) {
    throw new FhirError(
      'invalid',
      `expected a Bundle of type ${kind}, found ${JSON.stringify(bundle['type'])}`,
      { expression: ['Bundle.type'] },
    );
  }
  const entries = (bundle['entry'] ?? []) as unknown;
  if (!Array.isArray(entries)) {
    throw new FhirError('structure', 'expected Bundle.entry to be an array', {
      expression: ['Bundle.entry'],
    });
  }
  if (entries.length > fhirLimits.transactionEntryCountMax) {
    throw new FhirError(
      'invalid',
      `expected at most ${fhirLimits.transactionEntryCountMax} entries in a ${kind}, found ${entries.length}`,
      { expression: ['Bundle.entry'] },
    );
  }
  return entries as unknown[];
}

/**
 * Checks `entries` (each with its index in the Bundle) together and plans them: throws one 400
 * `FhirError` listing every problem, prefixed by `refusal`, so nothing runs when anything is wrong.
 */
function planEntries(
  entries: ReadonlyArray<readonly [number, unknown]>,
  options: { newId: NewId; refusal: string; batch: boolean },
): Omit<TransactionPlan, 'entryCount'> {
  const issues: OperationOutcomeIssue[] = [];
  const problem: Problem = (message, where) =>
    issues.push({ severity: 'error', code: 'invalid', diagnostics: message, expression: [where] });
  const references = new Map<string, string>();
  const operations: TransactionOperation[] = [];
  const touched = new Map<string, number>();
  const creates: Array<{
    index: number;
    type: string;
    fullUrl: string | undefined;
    resource: Resource | undefined;
  }> = [];

  entries.forEach(([index, raw]) => {
    const where = `Bundle.entry[${index}]`;
    if (!isRecord(raw)) return problem('expected an entry object', where);
    const entry = raw as BundleEntry;
    const request = entry.request;
    if (
      !isRecord(request) ||
      typeof request.method !== 'string' ||
      typeof request.url !== 'string'
    ) {
      return problem('expected request.method and request.url', `${where}.request`);
    }
    const fullUrl = entry.fullUrl;
    if (fullUrl !== undefined && fullUrl.startsWith('urn:uuid:')) {
      if (!uuidUrnPattern.test(fullUrl))
        problem(
          `expected a urn:uuid fullUrl, found ${JSON.stringify(fullUrl.slice(0, 80))}`,
          `${where}.fullUrl`,
        );
      else if (references.has(fullUrl) || creates.some((c) => c.fullUrl === fullUrl)) {
        problem(`expected fullUrl ${fullUrl} once, found it again`, `${where}.fullUrl`);
      }
    }
    const url = parseEntryUrl(request.url);
    if (url === undefined || !isSupportedResourceType(url.type)) {
      return problem(
        `expected request.url of a supported type, found ${JSON.stringify(request.url.slice(0, 80))}`,
        `${where}.request.url`,
      );
    }
    let ifMatch: string | undefined;
    if (request.ifMatch !== undefined) {
      try {
        ifMatch = parseEtag(request.ifMatch);
      } catch {
        problem(
          `expected ifMatch like ${formatEtag('1')}, found ${JSON.stringify(request.ifMatch.slice(0, 40))}`,
          `${where}.request.ifMatch`,
        );
      }
    }
    const checkResource = (): Resource | undefined => {
      const found = validateResource(entry.resource, { type: url.type });
      for (const each of found) {
        issues.push({
          ...each,
          expression: (each.expression ?? [url.type]).map((path) => `${where}.resource(${path})`),
        });
      }
      return found.length === 0 ? entry.resource : undefined;
    };
    const checkIdentity = (kind: string): string | undefined => {
      if (url.query !== undefined) {
        problem(
          `expected ${kind} of {type}/{id}; conditional ${kind} is not supported`,
          `${where}.request.url`,
        );
        return undefined;
      }
      if (!isFhirId(url.id) || url.versionId !== undefined) {
        problem(
          `expected ${kind} request.url {type}/{id}, found ${JSON.stringify(request.url.slice(0, 80))}`,
          `${where}.request.url`,
        );
        return undefined;
      }
      const key = `${url.type}/${url.id}`;
      const earlier = touched.get(key);
      if (earlier !== undefined) {
        problem(
          `expected each resource once in a transaction, found ${key} also in entry ${earlier}`,
          `${where}.request.url`,
        );
      }
      touched.set(key, index);
      if (fullUrl !== undefined && fullUrl.startsWith('urn:uuid:')) references.set(fullUrl, key);
      return url.id;
    };

    const method: string = request.method;
    switch (method) {
      case 'POST': {
        if (url.id !== undefined || url.query !== undefined) {
          return problem(
            `expected POST request.url to be a type, found ${JSON.stringify(request.url.slice(0, 80))}`,
            `${where}.request.url`,
          );
        }
        const resource = checkResource();
        let ifNoneExist: SearchRequest | undefined;
        if (request.ifNoneExist !== undefined) {
          try {
            ifNoneExist = parseIfNoneExist({ type: url.type, header: request.ifNoneExist });
          } catch (error) {
            problem(
              error instanceof FhirError ? error.message : 'expected a search in ifNoneExist',
              `${where}.request.ifNoneExist`,
            );
          }
        }
        creates.push({ index, type: url.type, fullUrl, resource });
        if (resource !== undefined) {
          operations.push({
            kind: 'create',
            entryIndex: index,
            type: url.type,
            id: '',
            resource,
            ifNoneExist,
          });
        }
        return;
      }
      case 'PUT': {
        const id = checkIdentity('update');
        const resource = checkResource();
        if (id !== undefined && resource !== undefined && resource.id !== id) {
          return problem(
            `expected resource.id ${id} as in request.url, found ${JSON.stringify(resource.id ?? null)}`,
            `${where}.resource.id`,
          );
        }
        if (id !== undefined && resource !== undefined) {
          operations.push({
            kind: 'update',
            entryIndex: index,
            type: url.type,
            id,
            resource,
            ifMatch,
          });
        }
        return;
      }
      case 'DELETE': {
        const id = checkIdentity('delete');
        if (id !== undefined)
          operations.push({ kind: 'delete', entryIndex: index, type: url.type, id, ifMatch });
        return;
      }
      case 'GET': {
        if (url.id === undefined) {
          try {
            const search = parseSearchRequest({
              type: url.type,
              params: new URLSearchParams(url.query ?? ''),
            });
            operations.push({ kind: 'search', entryIndex: index, type: url.type, request: search });
          } catch (error) {
            problem(
              error instanceof FhirError ? error.message : 'expected a search',
              `${where}.request.url`,
            );
          }
          return;
        }
        if (!isFhirId(url.id) || (url.versionId !== undefined && !isFhirId(url.versionId))) {
          return problem(
            `expected GET request.url {type}/{id}, found ${JSON.stringify(request.url.slice(0, 80))}`,
            `${where}.request.url`,
          );
        }
        operations.push({
          kind: 'read',
          entryIndex: index,
          type: url.type,
          id: url.id,
          versionId: url.versionId,
        });
        return;
      }
      default:
        return problem(
          `expected request.method POST, PUT, DELETE or GET, found ${JSON.stringify(method.slice(0, 16))}`,
          `${where}.request.method`,
        );
    }
  });

  // Every urn:uuid reference must name an entry of this Bundle (bundle.html#references).
  const known = new Set<string>(
    creates.flatMap((c) => (c.fullUrl === undefined ? [] : [c.fullUrl])),
  );
  for (const key of references.keys()) known.add(key);
  operations.forEach((operation) => {
    if (operation.kind !== 'create' && operation.kind !== 'update') return;
    for (const reference of uuidReferences(operation.resource)) {
      if (!known.has(reference)) {
        problem(
          options.batch
            ? `expected no urn:uuid reference between the entries of a batch (they are independent), found ${reference}`
            : `expected ${reference} to be the fullUrl of an entry of this Bundle, found none`,
          `Bundle.entry[${operation.entryIndex}].resource`,
        );
      }
    }
  });

  // New ids are drawn only once the whole Bundle is known good, so a refused Bundle uses none.
  if (issues.length === 0) {
    const planned = new Map<number, string>();
    for (const create of creates) {
      // Issues are none, so every create's resource was valid.
      const id = options.newId({ type: create.type, resource: create.resource! });
      if (!isFhirId(id))
        throw new FhirError('exception', 'newId gave an id that is not a FHIR id', { status: 500 });
      planned.set(create.index, id);
      if (create.fullUrl?.startsWith('urn:uuid:') === true) {
        references.set(create.fullUrl, `${create.type}/${id}`);
      }
    }
    operations.forEach((operation, position) => {
      if (operation.kind === 'create')
        operations[position] = { ...operation, id: planned.get(operation.entryIndex)! };
    });
  }

  if (issues.length > 0) {
    const [first, ...rest] = issues;
    throw new FhirError('invalid', `${options.refusal}: ${first!.diagnostics ?? 'invalid entry'}`, {
      expression: first!.expression ?? [],
      issues: rest,
      details: { issueCount: issues.length },
    });
  }

  const rewritten = operations.map((operation): TransactionOperation => {
    if (operation.kind === 'create') {
      return {
        ...operation,
        resource: { ...rewriteReferences(operation.resource, references), id: operation.id },
      };
    }
    if (operation.kind === 'update')
      return { ...operation, resource: rewriteReferences(operation.resource, references) };
    return operation;
  });
  rewritten.sort(
    (a, b) => processingOrder[a.kind] - processingOrder[b.kind] || a.entryIndex - b.entryIndex,
  );
  return { operations: rewritten, references };
}

/** The outcome of one entry, as the caller ran it. */
export interface TransactionEntryResult {
  readonly entryIndex: number;
  /** A transaction either succeeds whole or answers one OperationOutcome, so only successes. */
  readonly status: 200 | 201 | 204 | 304;
  /** `{type}/{id}/_history/{vid}` of a created or updated resource. */
  readonly location?: string;
  readonly etag?: string;
  readonly lastModified?: string;
  readonly resource?: Resource;
}

/**
 * An entry that failed on its own: any entry of a batch, or a read or search of a transaction,
 * which runs once the writes are committed (decision 0058). Its OperationOutcome goes in
 * `response.outcome` (FHIR R4 bundle.html: BundleEntry.response.outcome).
 */
export interface FailedEntryResult {
  readonly entryIndex: number;
  readonly status: FhirErrorStatus;
  readonly outcome: OperationOutcome;
}

export type BundleEntryResult = TransactionEntryResult | FailedEntryResult;

const reasonPhrases: Readonly<Record<BundleEntryResult['status'], string>> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

function responseBundle(
  type: 'transaction-response' | 'batch-response',
  results: readonly BundleEntryResult[],
): Bundle {
  const ordered = [...results].sort((a, b) => a.entryIndex - b.entryIndex);
  return {
    resourceType: 'Bundle',
    type,
    entry: ordered.map((result) => {
      const status = `${result.status} ${reasonPhrases[result.status]}`;
      if ('outcome' in result) return { response: { status, outcome: result.outcome } };
      return {
        ...(result.resource !== undefined ? { resource: result.resource } : {}),
        response: {
          status,
          ...(result.location !== undefined ? { location: result.location } : {}),
          ...(result.etag !== undefined ? { etag: result.etag } : {}),
          ...(result.lastModified !== undefined ? { lastModified: result.lastModified } : {}),
        },
      };
    }),
  };
}

/**
 * The `transaction-response` Bundle (FHIR R4 bundle.html#transaction-response): one entry per
 * request entry, in the request's order, each with `response.status` and, where given, location,
 * etag, lastModified and the resource.
 */
export function transactionResponseBundle(results: readonly BundleEntryResult[]): Bundle {
  return responseBundle('transaction-response', results);
}

/**
 * The `batch-response` Bundle (FHIR R4 http.html#transaction): as a transaction-response, and an
 * entry that failed carries its status and OperationOutcome (`response.outcome`).
 */
export function batchResponseBundle(results: readonly BundleEntryResult[]): Bundle {
  return responseBundle('batch-response', results);
}
