/**
 * The FHIR R4 REST API under `/fhir` (FHIR R4 http.html; CONVENTIONS.md "FHIR R4 REST" and "SMART
 * on FHIR v2"): HTTP, media types, bearer tokens, headers and OperationOutcomes. Every decision
 * about access, and every audit of a request that reached it, belongs to the `FhirService`
 * behind these routes; a request refused here first (bad token, bad body, wrong media type …) is
 * handed to `service.recordRejection` so that it is audited too (DESIGN.md non-negotiable 3).
 */
import { randomUUID } from 'node:crypto';

import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { AuthError, AuthErrorCode, bearerTokenOf, wwwAuthenticate } from '../auth/index.ts';
import type { VerifiedAccessToken } from '../auth/index.ts';
import { MedLedgerError, assert } from '../base/index.ts';
import {
  FhirError,
  fhirLimits,
  formatEtag,
  isFhirId,
  isSupportedResourceType,
  jsonBoundsProblem,
  loadDefinitions,
  operationOutcome,
  outcomeOfError,
  parseResourceJson,
  versionLocation,
} from '../fhir/index.ts';
import type {
  FhirParams,
  FhirRequestContext,
  FhirService,
  FhirWriteResult,
} from './fhir-service.ts';
import { type EventStream, eventStreams } from './event-streams.ts';
import { apiLimits } from './limits.ts';

/** The FHIR JSON media type (FHIR R4 http.html#mime-type). */
export const fhirJsonMediaType = 'application/fhir+json';

/** The `Content-Type` of every answer of the FHIR API. */
export const fhirContentType = 'application/fhir+json; charset=utf-8';

/** The header carrying a patient's signed `consent.*` transaction (base64url) on Consent writes. */
export const signedTransactionHeader = 'x-medledger-transaction';

/** Media types of request bodies read as FHIR JSON; anything else is refused with 415. */
const jsonMediaTypes = ['application/fhir+json', 'application/json', 'application/json+fhir'];
const formMediaType = 'application/x-www-form-urlencoded';

/** `_format` values that mean JSON (FHIR R4 http.html#mime-type); `+` may arrive as a space. */
const jsonFormats = new Set(['json', ...jsonMediaTypes]);

/** `Accept` media ranges a JSON answer satisfies. */
const acceptableRanges = new Set(['*/*', 'application/*', ...jsonMediaTypes]);

/** What the routes need to verify a bearer token (auth's `verifyAccessToken`, partly applied). */
export interface FhirTokenVerifier {
  verify(token: string): Promise<VerifiedAccessToken>;
}

/** Options of `fhirRoutes`. */
export interface FhirRoutesOptions {
  readonly service: FhirService;
  readonly tokens: FhirTokenVerifier;
  /** The `realm` of `WWW-Authenticate` challenges (RFC 6750 §3). */
  readonly realm: string;
  /**
   * The FHIR base URL clients use (`https://ehr.example/fhir`), for `Location`, links and
   * `fullUrl`s. Without it the base is the address the connection arrived on, never the `Host`
   * header, which any client can set (decision 0054).
   */
  readonly publicBaseUrl?: string;
}

/** A body as the content-type parsers of this plugin hand it over. */
interface ParsedBody {
  readonly kind: 'json' | 'form';
  readonly text: string;
}

/** What the routes learned about a request before it reached the service. */
interface FhirRequestState {
  token: VerifiedAccessToken | null;
  reachedService: boolean;
}

/** IssueTypes (FHIR R4 valueset-issue-type.html) of refusals `FhirError` has no status for. */
type HttpIssueType = 'not-supported' | 'too-long';

/**
 * A refusal at the HTTP level whose status `FhirError` does not carry: 405 (PATCH), 406 (a format
 * other than JSON), 413 (body too large) and 415 (a body that is not FHIR JSON).
 */
class FhirHttpError extends MedLedgerError<HttpIssueType> {
  readonly status: 405 | 406 | 413 | 415;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: 405 | 406 | 413 | 415,
    code: HttpIssueType,
    message: string,
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(code, message);
    this.status = status;
    this.headers = headers;
  }
}

/** A status, an OperationOutcome and headers: how any failure is answered. */
interface ErrorAnswer {
  readonly status: number;
  readonly outcome: OperationOutcome;
  readonly headers: Readonly<Record<string, string>>;
  /** True for failures nobody anticipated (logged with their stack; never shown). */
  readonly unexpected: boolean;
}

function isFastifyError(error: unknown): error is FastifyError {
  return (
    error instanceof Error &&
    typeof (error as Partial<FastifyError>).statusCode === 'number' &&
    typeof (error as Partial<FastifyError>).code === 'string'
  );
}

function outcomeOf(
  severity: 'error' | 'fatal',
  code: string,
  diagnostics: string,
): OperationOutcome {
  return operationOutcome([{ severity, code: code as 'invalid', diagnostics }]);
}

/** A value from the request, quoted in a message: shortened, so a huge value stays out. */
function echo(value: string): string {
  const text = value.length <= 64 ? value : `${value.slice(0, 64)}…`;
  return JSON.stringify(text);
}

/** Fastify's own refusals (body limits, media types, bad lengths) as FHIR answers. */
function answerOfFastifyError(error: FastifyError, request: FastifyRequest): ErrorAnswer {
  const status = error.statusCode!;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        outcome: outcomeOf(
          'error',
          'too-long',
          `expected a body of at most ${request.routeOptions.bodyLimit} bytes, found more`,
        ),
        headers: {},
        unexpected: false,
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        outcome: outcomeOf(
          'error',
          'not-supported',
          `expected a body of type ${jsonMediaTypes.slice(0, 2).join(' or ')}, found ` +
            echo(request.headers['content-type'] ?? 'none'),
        ),
        headers: {},
        unexpected: false,
      };
    default:
      break;
  }
  // Fastify's other 4xx messages (bad Content-Length, aborted body) name no user data.
  const code = status === 404 ? 'not-found' : status === 413 ? 'too-long' : 'invalid';
  return {
    status,
    outcome: outcomeOf('error', code, error.message.slice(0, apiLimits.fhirPathCharsMax)),
    headers: {},
    unexpected: false,
  };
}

/** Any failure as a status, an OperationOutcome and headers (STYLE.md "Errors"). */
function answerOfError(error: unknown, request: FastifyRequest, realm: string): ErrorAnswer {
  if (error instanceof FhirError) {
    const { status, outcome } = outcomeOfError(error);
    // A refusal that is worth retrying (429, 503) may say when (RFC 9110 §10.2.3).
    const retryAfter = error.details['retryAfterSeconds'];
    const headers: Record<string, string> =
      typeof retryAfter === 'number' && Number.isSafeInteger(retryAfter) && retryAfter > 0
        ? { 'retry-after': String(retryAfter) }
        : {};
    return { status, outcome, headers, unexpected: false };
  }
  if (error instanceof AuthError) {
    const headers: Record<string, string> = {};
    if (error.status === 401 || error.status === 403) {
      headers['www-authenticate'] = wwwAuthenticate(error, { realm });
    }
    const retryAfter = error.details['retryAfterSeconds'];
    if (typeof retryAfter === 'number') headers['retry-after'] = String(retryAfter);
    return {
      status: error.status,
      outcome: outcomeOf('error', error.issueType, error.message),
      headers,
      unexpected: false,
    };
  }
  if (error instanceof FhirHttpError) {
    return {
      status: error.status,
      outcome: outcomeOf('error', error.code, error.message),
      headers: error.headers,
      unexpected: false,
    };
  }
  if (isFastifyError(error) && error.statusCode! >= 400 && error.statusCode! < 500) {
    return answerOfFastifyError(error, request);
  }
  const { status, outcome } = outcomeOfError(error);
  return { status, outcome, headers: {}, unexpected: true };
}

/** The path below the FHIR base, without the query, bounded: `Observation/abc`. */
function pathBelowBase(request: FastifyRequest, prefix: string): string {
  const path = request.url.split('?')[0]!;
  const below = path.startsWith(prefix) ? path.slice(prefix.length) : path;
  return below.replace(/^\/+/, '').slice(0, apiLimits.fhirPathCharsMax);
}

function queryOf(request: FastifyRequest): URLSearchParams {
  const question = request.url.indexOf('?');
  return new URLSearchParams(question < 0 ? '' : request.url.slice(question + 1));
}

/** Repeated name → values, query first then form, as the service takes them. */
function paramsOf(...sources: readonly URLSearchParams[]): FhirParams {
  // A Map, then Object.fromEntries: a parameter named __proto__ stays a plain own property.
  const params = new Map<string, string[]>();
  for (const source of sources) {
    for (const [name, value] of source) {
      const values = params.get(name);
      if (values === undefined) params.set(name, [value]);
      else values.push(value);
    }
  }
  return Object.fromEntries(params);
}

function isPretty(request: FastifyRequest): boolean {
  return queryOf(request).get('_pretty') === 'true';
}

/** Refuses `_format` values and `Accept` headers that ask for anything but JSON (406). */
function assertJsonWanted(request: FastifyRequest): void {
  const formats = queryOf(request).getAll('_format');
  for (const format of formats) {
    const normalised = format.trim().toLowerCase().replace(/ /g, '+');
    if (!jsonFormats.has(normalised)) {
      throw new FhirHttpError(
        406,
        'not-supported',
        `this server serves JSON only (application/fhir+json); _format=${echo(format)} is not supported`,
      );
    }
  }
  if (formats.length > 0) return;
  const accept = request.headers.accept;
  if (accept === undefined || accept.trim() === '') return;
  const acceptable = accept.split(',').some((range) => {
    const [mediaType, ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const quality = parameters.find((parameter) => parameter.startsWith('q='));
    if (quality !== undefined && Number(quality.slice(2)) === 0) return false;
    return acceptableRanges.has(mediaType ?? '');
  });
  if (!acceptable) {
    throw new FhirHttpError(
      406,
      'not-supported',
      `this server serves JSON only (application/fhir+json); Accept ${echo(accept)} allows none of it`,
    );
  }
}

const resourceTypeSyntax = /^[A-Z][A-Za-z]{0,63}$/;

/** The `{type}` of the URL: a supported resource type, else 404 (as for any unknown path). */
function resourceTypeOf(request: FastifyRequest<{ Params: { type: string } }>): string {
  const { type } = request.params;
  if (!resourceTypeSyntax.test(type)) {
    throw new FhirError(
      'not-found',
      `no FHIR route ${request.method} ${echo(type)}: not a resource type`,
    );
  }
  if (!isSupportedResourceType(type)) {
    throw new FhirError(
      'not-found',
      `resource type ${type} is not served here; see the CapabilityStatement at /metadata`,
    );
  }
  return type;
}

/**
 * A FHIR id from the URL (`{id}`, `{vid}`), else 400 naming it; `_history`, `_search` or `$op` in
 * its place is an interaction this server does not offer (404, as for any unknown path).
 */
function fhirIdOf(request: FastifyRequest, value: string, name: 'id' | 'versionId'): string {
  if (value.startsWith('_') || value.startsWith('$')) {
    throw new FhirError(
      'not-found',
      `no FHIR route ${request.method} ${echo(value)}: this interaction or operation is not offered`,
    );
  }
  if (!isFhirId(value)) {
    throw new FhirError(
      'value',
      `${name}: expected a FHIR id (1-${fhirLimits.idCharactersMax} of A-Z a-z 0-9 - .), found ${echo(value)}`,
    );
  }
  return value;
}

function parsedBodyOf(request: FastifyRequest): ParsedBody | undefined {
  const body = request.body as ParsedBody | undefined;
  return body === undefined || body === null ? undefined : body;
}

/** The JSON text of the body, or 400 when there is none and 415 when it is a form. */
function jsonTextOf(request: FastifyRequest, what: string): string {
  const body = parsedBodyOf(request);
  if (body === undefined) {
    throw new FhirError('required', `expected ${what} in the body, found no body`);
  }
  if (body.kind !== 'json') {
    throw new FhirHttpError(
      415,
      'not-supported',
      `expected ${what} as application/fhir+json or application/json, found ${formMediaType}`,
    );
  }
  return body.text;
}

/** The body as a resource of `type`: bounded, parsed and validated by the FHIR library. */
function resourceBodyOf(request: FastifyRequest, type: string): Resource {
  return parseResourceJson(jsonTextOf(request, `a ${type} resource`), { type });
}

/** The body as a `transaction` or `batch` Bundle (its entries are the service's to check). */
function transactionBodyOf(request: FastifyRequest): Bundle {
  const text = jsonTextOf(request, 'a transaction or batch Bundle');
  let value: unknown;
  try {
    // V8 parses JSON without recursion; the depth and count bounds are checked right after.
    value = JSON.parse(text);
  } catch {
    throw new FhirError('structure', 'expected a JSON body, found text that does not parse');
  }
  const bounds = jsonBoundsProblem(value);
  if (bounds !== undefined) throw new FhirError('structure', bounds);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FhirError('structure', 'expected a JSON object (a Bundle), found another value');
  }
  const bundle = value as Record<string, unknown>;
  if (bundle['resourceType'] !== 'Bundle') {
    throw new FhirError(
      'invalid',
      `expected resourceType Bundle at the FHIR base, found ${echo(String(bundle['resourceType']))}`,
      { expression: ['Bundle.resourceType'] },
    );
  }
  if (bundle['type'] !== 'transaction' && bundle['type'] !== 'batch') {
    throw new FhirError(
      'invalid',
      `expected a Bundle of type transaction or batch, found ${echo(String(bundle['type']))}`,
      { expression: ['Bundle.type'] },
    );
  }
  return value as Bundle;
}

/** The form parameters of `POST /{type}/_search` (none when the body is empty). */
function formOf(request: FastifyRequest): URLSearchParams {
  const body = parsedBodyOf(request);
  if (body === undefined) return new URLSearchParams();
  if (body.kind !== 'form') {
    throw new FhirHttpError(
      415,
      'not-supported',
      `expected search parameters as ${formMediaType}, found a JSON body`,
    );
  }
  return new URLSearchParams(body.text);
}

function headerOf(request: FastifyRequest, name: string): string | null {
  const value = request.headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

const base64urlPattern = /^[A-Za-z0-9_-]+$/;

/**
 * The patient's signed transaction of a Consent write (`X-MedLedger-Transaction`, base64url of
 * chain's `encodeTransaction`), or null; 400 when it is not canonical base64url of at most
 * `fhirSignedTransactionBytesMax` bytes. Other types ignore the header.
 */
function signedTransactionOf(request: FastifyRequest, type: string): Uint8Array | null {
  return type === 'Consent' ? signedTransactionHeaderOf(request) : null;
}

/** The `X-MedLedger-Transaction` header's transaction bytes, or null; 400 when malformed. */
function signedTransactionHeaderOf(request: FastifyRequest): Uint8Array | null {
  const raw = headerOf(request, signedTransactionHeader);
  if (raw === null) return null;
  const text = raw.trim().replace(/={1,2}$/, '');
  const malformed = (why: string) =>
    new FhirError('value', `X-MedLedger-Transaction: expected ${why}`, {
      expression: ['X-MedLedger-Transaction'],
    });
  if (!base64urlPattern.test(text) || text.length % 4 === 1) {
    throw malformed('base64url (RFC 4648 §5) of a signed transaction, found other characters');
  }
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) {
    throw malformed('canonical base64url of a signed transaction, found stray bits');
  }
  if (bytes.length > apiLimits.fhirSignedTransactionBytesMax) {
    throw malformed(
      `at most ${apiLimits.fhirSignedTransactionBytesMax} bytes, found ${bytes.length}`,
    );
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** `Last-Modified` (RFC 9110 §8.8.2, an IMF-fixdate) of an instant, or null. */
function httpDateOf(instant: string | undefined): string | null {
  if (instant === undefined) return null;
  const time = Date.parse(instant);
  return Number.isNaN(time) ? null : new Date(time).toUTCString();
}

/** The FHIR base URL of a validated `publicBaseUrl`, without a trailing slash. */
function publicBaseUrlOf(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(`publicBaseUrl: expected an absolute URL, found ${echo(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RangeError(`publicBaseUrl: expected http or https, found ${url.protocol}`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new RangeError('publicBaseUrl: expected no query, fragment or credentials');
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * The FHIR base URL from the address the connection arrived on (the socket's local end, which
 * no client can spoof, unlike `Host`). `inject` has no socket address: `http://localhost`.
 */
function listeningBaseUrl(request: FastifyRequest, prefix: string): string {
  const { localAddress, localPort } = request.socket;
  if (localAddress === undefined || localPort === undefined) return `http://localhost${prefix}`;
  const address = localAddress.startsWith('::ffff:') ? localAddress.slice(7) : localAddress;
  const host = address.includes(':') ? `[${address}]` : address;
  return `${request.protocol}://${host}:${localPort}${prefix}`;
}

/**
 * Answers a request fastify refused before routing it (a URL that is not valid percent-encoding)
 * when its path is under the FHIR prefix: a 400 OperationOutcome, handed to `recordRejection`.
 * Returns false for other paths, which keep the API's JSON error.
 */
export function answerFhirFrameworkError(
  request: FastifyRequest,
  reply: FastifyReply,
  options: { service: FhirService; prefix: string },
): boolean {
  const path = request.url.split('?')[0]!;
  if (path !== options.prefix && !path.startsWith(`${options.prefix}/`)) return false;
  const outcome = outcomeOf('error', 'invalid', 'expected a URL with valid percent-encoding');
  try {
    options.service.recordRejection({
      method: request.method,
      path: pathBelowBase(request, options.prefix),
      status: 400,
      code: 'invalid',
      token: null,
      address: request.ip ?? null,
    });
  } catch (recordError) {
    request.log.error({ err: recordError }, 'FHIR rejection was not recorded');
  }
  void reply.code(400).type(fhirContentType).send(JSON.stringify(outcome));
  return true;
}

/** An `onRequest` hook made of a synchronous check: what it throws becomes the hook's rejection. */
function hookOf(
  check: (request: FastifyRequest) => void,
): (request: FastifyRequest) => Promise<void> {
  return (request) => {
    try {
      check(request);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return Promise.resolve();
  };
}

function registerFhirRoutes(app: FastifyInstance, options: FhirRoutesOptions): void {
  const { service, tokens, realm } = options;
  const prefix = app.prefix;
  const publicBaseUrl =
    options.publicBaseUrl === undefined ? null : publicBaseUrlOf(options.publicBaseUrl);
  const states = new WeakMap<FastifyRequest, FhirRequestState>();
  // The R4 definitions load once per process (about 2 s); at start-up, not on a first request.
  loadDefinitions();

  const baseUrlOf = (request: FastifyRequest) => publicBaseUrl ?? listeningBaseUrl(request, prefix);

  function stateOf(request: FastifyRequest): FhirRequestState {
    let state = states.get(request);
    if (state === undefined) {
      state = { token: null, reachedService: false };
      states.set(request, state);
    }
    return state;
  }

  /** Marks the request as handed to the service (which audits it from here) and builds its context. */
  function enterService(request: FastifyRequest, reply: FastifyReply): FhirRequestContext {
    const state = stateOf(request);
    assert(state.token !== null, 'FHIR routes other than metadata authenticate first');
    state.reachedService = true;
    const requestId = randomUUID();
    void reply.header('x-request-id', requestId);
    return { token: state.token, baseUrl: baseUrlOf(request), requestId };
  }

  function send(reply: FastifyReply, status: number, body: unknown, pretty: boolean) {
    return reply
      .code(status)
      .type(fhirContentType)
      .send(JSON.stringify(body, null, pretty ? 2 : undefined));
  }

  function sendResource(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    resource: Resource,
  ) {
    const versionId = resource.meta?.versionId;
    if (versionId !== undefined) void reply.header('etag', formatEtag(versionId));
    const lastModified = httpDateOf(resource.meta?.lastUpdated);
    if (lastModified !== null) void reply.header('last-modified', lastModified);
    return send(reply, status, resource, isPretty(request));
  }

  function sendWrite(
    request: FastifyRequest,
    reply: FastifyReply,
    context: FhirRequestContext,
    options: { type: string; result: FhirWriteResult; created: boolean },
  ) {
    const { resource } = options.result;
    const versionId = resource.meta?.versionId;
    assert(resource.id !== undefined, 'the service answers a write with the stored resource');
    if (options.created && versionId !== undefined) {
      void reply.header(
        'location',
        versionLocation({
          baseUrl: context.baseUrl,
          type: options.type,
          id: resource.id,
          versionId,
        }),
      );
    }
    return sendResource(request, reply, options.result.status, resource);
  }

  async function authenticate(request: FastifyRequest): Promise<void> {
    const state = stateOf(request);
    const token = bearerTokenOf(request.headers.authorization);
    if (token === null || token.length === 0) {
      throw new AuthError(AuthErrorCode.tokenMissing, 'no bearer token; sign in first');
    }
    state.token = await tokens.verify(token);
  }

  const negotiate = hookOf(assertJsonWanted);

  function refusePatch(allow: string) {
    return hookOf((request) => {
      throw new FhirHttpError(
        405,
        'not-supported',
        `PATCH is not supported by this server; use PUT with the whole resource (${pathBelowBase(request, prefix)})`,
        { allow },
      );
    });
  }

  // Bodies: FHIR JSON and, for POST _search, a form; read as text, bounded, parsed by the routes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    jsonMediaTypes,
    { parseAs: 'string', bodyLimit: apiLimits.fhirBodyBytesMax },
    (request, body, done) => {
      const charset = /;\s*charset=("?)([^";]*)\1/i.exec(request.headers['content-type'] ?? '');
      if (charset !== null && charset[2]!.toLowerCase() !== 'utf-8') {
        done(
          new FhirHttpError(
            415,
            'not-supported',
            `expected FHIR JSON in UTF-8 (FHIR R4 json.html), found charset ${echo(charset[2]!)}`,
          ),
        );
        return;
      }
      done(null, { kind: 'json', text: String(body) } satisfies ParsedBody);
    },
  );
  app.addContentTypeParser(
    formMediaType,
    { parseAs: 'string', bodyLimit: apiLimits.fhirBodyBytesMax },
    (_request, body, done) => done(null, { kind: 'form', text: String(body) } satisfies ParsedBody),
  );

  app.setErrorHandler((error: unknown, request, reply) => {
    const answer = answerOfError(error, request, realm);
    if (answer.unexpected) {
      request.log.error({ err: error, url: request.routeOptions.url }, 'FHIR request failed');
    }
    const state = states.get(request);
    if (state === undefined || !state.reachedService) {
      try {
        service.recordRejection({
          method: request.method,
          path: pathBelowBase(request, prefix),
          status: answer.status,
          code: answer.outcome.issue?.[0]?.code ?? 'exception',
          token: state?.token ?? null,
          address: request.ip ?? null,
        });
      } catch (recordError) {
        // The contract says it never throws; if it does, the refusal is still answered.
        request.log.error({ err: recordError }, 'FHIR rejection was not recorded');
      }
    }
    return send(reply.headers(answer.headers), answer.status, answer.outcome, false);
  });

  app.setNotFoundHandler((request) => {
    throw new FhirError(
      'not-found',
      `no FHIR route ${request.method} ${echo(pathBelowBase(request, prefix))}; ` +
        'see the CapabilityStatement at /metadata',
    );
  });

  const guarded = { onRequest: [authenticate, negotiate] };
  const fhirBody = { ...guarded, bodyLimit: apiLimits.fhirBodyBytesMax };

  app.get('/metadata', { onRequest: [negotiate] }, (request, reply) => {
    stateOf(request).reachedService = true;
    const statement = service.capabilityStatement({ baseUrl: baseUrlOf(request) });
    return send(reply, 200, statement, isPretty(request));
  });

  // Transaction and batch: POST to the base with a `transaction` or `batch` Bundle
  // (http.html#transaction); the answer is a `transaction-response` or `batch-response`.
  app.post(
    '/',
    { ...guarded, bodyLimit: apiLimits.fhirTransactionBodyBytesMax },
    async (request, reply) => {
      const bundle = transactionBodyOf(request);
      const context = enterService(request, reply);
      const answer = await service.transaction(context, { bundle });
      return send(reply, 200, answer, isPretty(request));
    },
  );

  app.post<{ Params: { type: string } }>('/:type', fhirBody, async (request, reply) => {
    const type = resourceTypeOf(request);
    const resource = resourceBodyOf(request, type);
    const signedTransaction = signedTransactionOf(request, type);
    const ifNoneExist = headerOf(request, 'if-none-exist');
    const context = enterService(request, reply);
    const result = await service.create(context, {
      type,
      resource,
      ifNoneExist,
      signedTransaction,
    });
    return sendWrite(request, reply, context, { type, result, created: true });
  });

  app.get<{ Params: { type: string } }>('/:type', guarded, async (request, reply) => {
    const type = resourceTypeOf(request);
    const params = paramsOf(queryOf(request));
    const context = enterService(request, reply);
    const bundle = await service.search(context, { type, params });
    return send(reply, 200, bundle, isPretty(request));
  });

  app.post<{ Params: { type: string } }>('/:type/_search', fhirBody, async (request, reply) => {
    const type = resourceTypeOf(request);
    const params = paramsOf(queryOf(request), formOf(request));
    const context = enterService(request, reply);
    const bundle = await service.search(context, { type, params });
    return send(reply, 200, bundle, isPretty(request));
  });

  app.get<{ Params: { type: string; id: string } }>(
    '/:type/:id',
    guarded,
    async (request, reply) => {
      const type = resourceTypeOf(request);
      const id = fhirIdOf(request, request.params.id, 'id');
      const context = enterService(request, reply);
      const resource = await service.read(context, { type, id });
      return sendResource(request, reply, 200, resource);
    },
  );

  app.put<{ Params: { type: string; id: string } }>(
    '/:type/:id',
    fhirBody,
    async (request, reply) => {
      const type = resourceTypeOf(request);
      const id = fhirIdOf(request, request.params.id, 'id');
      const resource = resourceBodyOf(request, type);
      // http.html#update: the body's id must be there and equal the URL's.
      if (resource.id !== id) {
        throw new FhirError(
          'invalid',
          `expected the body's id to be ${id} as in the URL, found ${resource.id === undefined ? 'none' : echo(resource.id)}`,
          { expression: [`${type}.id`] },
        );
      }
      const signedTransaction = signedTransactionOf(request, type);
      const ifMatch = headerOf(request, 'if-match');
      const context = enterService(request, reply);
      const result = await service.update(context, {
        type,
        id,
        resource,
        ifMatch,
        signedTransaction,
      });
      return sendWrite(request, reply, context, { type, result, created: result.status === 201 });
    },
  );

  app.delete<{ Params: { type: string; id: string } }>(
    '/:type/:id',
    guarded,
    async (request, reply) => {
      const type = resourceTypeOf(request);
      const id = fhirIdOf(request, request.params.id, 'id');
      const signedTransaction = signedTransactionOf(request, type);
      const context = enterService(request, reply);
      await service.delete(context, { type, id, signedTransaction });
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { type: string; id: string } }>(
    '/:type/:id/_history',
    guarded,
    async (request, reply) => {
      const type = resourceTypeOf(request);
      const id = fhirIdOf(request, request.params.id, 'id');
      const params = paramsOf(queryOf(request));
      const context = enterService(request, reply);
      const bundle = await service.history(context, { type, id, params });
      return send(reply, 200, bundle, isPretty(request));
    },
  );

  app.get<{ Params: { type: string; id: string; vid: string } }>(
    '/:type/:id/_history/:vid',
    guarded,
    async (request, reply) => {
      const type = resourceTypeOf(request);
      const id = fhirIdOf(request, request.params.id, 'id');
      const versionId = fhirIdOf(request, request.params.vid, 'versionId');
      const context = enterService(request, reply);
      const resource = await service.vread(context, { type, id, versionId });
      return sendResource(request, reply, 200, resource);
    },
  );

  // Right to erasure (a MedLedger operation): `reason` is a short code, e.g. `patient-request`.
  app.post<{ Params: { id: string } }>('/Patient/:id/$erase', fhirBody, async (request, reply) => {
    const id = fhirIdOf(request, request.params.id, 'id');
    const reason = paramsOf(queryOf(request)).reason?.[0] ?? 'patient-request';
    if (!/^[a-z0-9-]{1,32}$/.test(reason)) {
      throw new FhirError('value', 'reason: expected a short code of a-z, 0-9 and -', {
        expression: ['reason'],
      });
    }
    const context = enterService(request, reply);
    const outcome = await service.erasePatient(context, { id, reasonCode: reason });
    return send(reply, 200, outcome, isPretty(request));
  });

  app.get('/$break-glass-review', guarded, async (request, reply) => {
    const params = paramsOf(queryOf(request));
    const context = enterService(request, reply);
    const bundle = await service.breakGlassReviewQueue(context, { params });
    return send(reply, 200, bundle, isPretty(request));
  });

  // Closing a review: the privacy officer's signed access.close-review in the header, no body.
  app.post('/$break-glass-review', fhirBody, async (request, reply) => {
    const signedTransaction = signedTransactionHeaderOf(request);
    const context = enterService(request, reply);
    const outcome = await service.closeBreakGlassReview(context, { signedTransaction });
    return send(reply, 200, outcome, isPretty(request));
  });

  // The patients of other organisations the caller may read now (consent or break-glass).
  app.get('/Patient/$shared', guarded, async (request, reply) => {
    const context = enterService(request, reply);
    const bundle = await service.sharedPatients(context);
    return send(reply, 200, bundle, isPretty(request));
  });

  app.get<{ Params: { id: string } }>(
    '/Patient/:id/$everything',
    guarded,
    async (request, reply) => {
      const id = fhirIdOf(request, request.params.id, 'id');
      const context = enterService(request, reply);
      const bundle = await service.patientEverything(context, { id });
      return send(reply, 200, bundle, isPretty(request));
    },
  );

  // Server-sent events for the token's patient (break-glass on their data, consents, erasure),
  // bounded as the chain's event streams are (event-streams.ts).
  const notificationStreams = eventStreams(app, {
    streamsMax: apiLimits.fhirNotificationStreamsMax,
    unsentBytesMax: apiLimits.fhirNotificationUnsentBytesMax,
    keepAliveMs: apiLimits.chainEventKeepAliveMs,
  });
  app.get('/$notifications', guarded, (request, reply) => {
    const context = enterService(request, reply);
    if (notificationStreams.isFull) {
      throw new FhirError(
        'throttled',
        `${apiLimits.fhirNotificationStreamsMax} notification streams are open on this node already; try again shortly`,
        { status: 429, details: { retryAfterSeconds: apiLimits.busyRetryAfterSeconds } },
      );
    }
    let stream: EventStream | null = null;
    const unsubscribe = service.subscribeNotifications(context, (notification) => {
      stream?.write(`event: ${notification.type}\ndata: ${JSON.stringify(notification)}\n\n`);
    });
    stream = notificationStreams.open(reply, {
      headers: { 'x-request-id': context.requestId },
      onEnd: unsubscribe,
    });
  });

  // PATCH (http.html#patch) is not offered: refused before its body is read.
  const unreachable = () => Promise.reject(new Error('PATCH is refused in onRequest'));
  app.patch('/:type', { onRequest: [refusePatch('GET, POST')] }, unreachable);
  app.patch('/:type/:id', { onRequest: [refusePatch('GET, PUT, DELETE')] }, unreachable);
}

/**
 * Registers the FHIR R4 routes (mount with `prefix: '/fhir'`): metadata without a token, and
 * create, read, vread, update, delete, history, search and transaction behind a bearer token,
 * with MedLedger's operations (`Patient/{id}/$erase`, `Patient/{id}/$everything`,
 * `Patient/$shared`, `$break-glass-review`, `$notifications`).
 */
export function fhirRoutes(app: FastifyInstance, options: FhirRoutesOptions): Promise<void> {
  // A bad option rejects the registration, so that buildApiServer fails with it rather than
  // with an uncaught exception inside fastify's plugin loader.
  try {
    registerFhirRoutes(app, options);
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  return Promise.resolve();
}
