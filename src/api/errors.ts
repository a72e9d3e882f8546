/**
 * The API's errors: every failure is answered as JSON `{ error: { code, message } }` with the
 * HTTP status of its code; unknown exceptions are normalised to `internal` (500) without their
 * message or stack, which go to the log only (STYLE.md "Errors").
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

import { MedLedgerError } from '../base/index.ts';

/** Codes of `ApiError`, each with one HTTP status (`apiErrorStatus`). */
export const ApiErrorCode = {
  badRequest: 'bad-request',
  invalidTransaction: 'invalid-transaction',
  notFound: 'not-found',
  duplicate: 'duplicate',
  badNonce: 'bad-nonce',
  tooLarge: 'too-large',
  unsupportedMediaType: 'unsupported-media-type',
  busy: 'busy',
  unavailable: 'unavailable',
  internal: 'internal',
} as const;

export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

/** The HTTP status of each code (RFC 9110 §15). */
export const apiErrorStatus: Readonly<Record<ApiErrorCode, number>> = {
  'bad-request': 400,
  'invalid-transaction': 400,
  'not-found': 404,
  duplicate: 409,
  'bad-nonce': 409,
  'too-large': 413,
  'unsupported-media-type': 415,
  busy: 503,
  unavailable: 503,
  internal: 500,
};

/** A request the API refuses; `retryAfterSeconds` adds a `Retry-After` header (RFC 9110 §10.2.3). */
export class ApiError extends MedLedgerError<ApiErrorCode> {
  readonly retryAfterSeconds: number | null;

  constructor(
    code: ApiErrorCode,
    message: string,
    options: { retryAfterSeconds?: number; details?: Readonly<Record<string, unknown>> } = {},
  ) {
    super(code, message, options.details ?? {});
    this.retryAfterSeconds = options.retryAfterSeconds ?? null;
  }
}

/** The JSON body of every error answer. */
export interface ApiErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/** Fastify's own 4xx errors (body parsing, media types, limits) mapped to the API's codes. */
function codeOfFastifyStatus(status: number): ApiErrorCode {
  switch (status) {
    case 404:
      return ApiErrorCode.notFound;
    case 413:
      return ApiErrorCode.tooLarge;
    case 415:
      return ApiErrorCode.unsupportedMediaType;
    case 503:
      return ApiErrorCode.unavailable;
    default:
      return ApiErrorCode.badRequest;
  }
}

function isFastifyError(error: unknown): error is FastifyError {
  return (
    error instanceof Error &&
    typeof (error as Partial<FastifyError>).statusCode === 'number' &&
    typeof (error as Partial<FastifyError>).code === 'string'
  );
}

/** The error handler of the API server: one JSON shape, the right status, no stack traces. */
export function handleApiError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  let status: number;
  let body: ApiErrorBody;
  if (error instanceof ApiError) {
    status = apiErrorStatus[error.code];
    body = { error: { code: error.code, message: error.message } };
    if (error.retryAfterSeconds !== null) {
      void reply.header('retry-after', String(error.retryAfterSeconds));
    }
  } else if (isFastifyError(error) && error.statusCode! >= 400 && error.statusCode! < 500) {
    // Fastify's messages (body too large, unsupported media type, bad JSON) name no user data.
    status = error.statusCode!;
    body = { error: { code: codeOfFastifyStatus(status), message: error.message } };
  } else {
    status = 500;
    body = { error: { code: ApiErrorCode.internal, message: 'internal error (see the node log)' } };
    request.log.error({ err: error, url: request.routeOptions.url }, 'request failed');
  }
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}
