/**
 * The SMART on FHIR v2 endpoints (SMART App Launch v2 "Conformance" and "Backend Services";
 * CONVENTIONS.md "SMART on FHIR v2"): the discovery document at
 * `/.well-known/smart-configuration` (and below the FHIR base, where SMART clients look), the JWK
 * Set of the token-signing key at `/auth/jwks`, and the token endpoint `POST /auth/token`
 * (client_credentials with a `private_key_jwt` assertion). The rules are auth's; this is HTTP.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import {
  handleTokenRequest,
  publicJwks,
  smartConfiguration,
  type AccessTokenSigner,
  type ClientRegistry,
  type ReplayCache,
  type TokenVerificationKey,
} from '../auth/index.ts';
import { apiLimits } from './limits.ts';

/** Options of `smartRoutes`. */
export interface SmartRoutesOptions {
  /** The node's base URL as clients see it (`https://ehr.example`): the tokens' `iss`. */
  readonly baseUrl: string;
  /** Signs the access tokens the token endpoint issues; its `issuer` must equal `baseUrl`. */
  readonly signer: AccessTokenSigner;
  /** Keys published at `/auth/jwks`: the current signing key and any still accepted. */
  readonly verificationKeys: readonly TokenVerificationKey[];
  readonly clients: ClientRegistry;
  /** Remembers client assertions' `jti`s (auth's `MemoryReplayCache` or a shared one). */
  readonly replayCache: ReplayCache;
  /** Milliseconds since 1970 (injected, so tests run at any time). */
  readonly now: () => number;
}

const jsonContentType = 'application/json; charset=utf-8';
const formMediaType = 'application/x-www-form-urlencoded';
/** RFC 6749 §5.1: token answers, successful or not, are never cached. */
const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

function isFastifyError(error: unknown): error is FastifyError {
  return (
    error instanceof Error &&
    typeof (error as Partial<FastifyError>).statusCode === 'number' &&
    typeof (error as Partial<FastifyError>).code === 'string'
  );
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** An OAuth error answer of the token endpoint (RFC 6749 §5.2). */
function sendOAuthError(
  reply: FastifyReply,
  status: number,
  error: 'invalid_request' | 'server_error',
  description: string,
) {
  return reply
    .code(status)
    .headers(noStore)
    .type(jsonContentType)
    .send({ error, error_description: description });
}

/**
 * The token endpoint's error handler: body refusals as RFC 6749 `invalid_request` (413 for a
 * body over `tokenBodyBytesMax`), anything unexpected as 500 `server_error` without its message.
 */
function handleTokenEndpointError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  if (isFastifyError(error) && error.statusCode! >= 400 && error.statusCode! < 500) {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      void sendOAuthError(
        reply,
        413,
        'invalid_request',
        `expected a form of at most ${apiLimits.tokenBodyBytesMax} bytes, found more`,
      );
    } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      void sendOAuthError(
        reply,
        400,
        'invalid_request',
        `expected a body of type ${formMediaType}`,
      );
    } else {
      void sendOAuthError(reply, 400, 'invalid_request', error.message.slice(0, 200));
    }
    return;
  }
  request.log.error({ err: error, url: request.routeOptions.url }, 'token request failed');
  void sendOAuthError(reply, 500, 'server_error', 'internal error (see the node log)');
}

function registerSmartRoutes(app: FastifyInstance, options: SmartRoutesOptions): void {
  const baseUrl = withoutTrailingSlash(options.baseUrl);
  if (withoutTrailingSlash(options.signer.issuer) !== baseUrl) {
    throw new RangeError(
      `smart: the signer's issuer ${options.signer.issuer} must be the base URL ${baseUrl}`,
    );
  }
  if (options.verificationKeys.length === 0) {
    throw new RangeError('smart: verificationKeys must hold at least the signing key');
  }
  const tokenUrl = `${baseUrl}/auth/token`;
  const configuration = smartConfiguration({
    baseUrl,
    tokenUrl,
    jwksUrl: `${baseUrl}/auth/jwks`,
  });
  const jwks = publicJwks(options.verificationKeys);

  const sendConfiguration = (_request: FastifyRequest, reply: FastifyReply) =>
    reply.type(jsonContentType).send(configuration);
  app.get('/.well-known/smart-configuration', sendConfiguration);
  // SMART App Launch v2 "Conformance": clients look below the FHIR base URL.
  app.get('/fhir/.well-known/smart-configuration', sendConfiguration);

  app.get('/auth/jwks', (_request, reply) => reply.type(jsonContentType).send(jwks));

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    formMediaType,
    { parseAs: 'string', bodyLimit: apiLimits.tokenBodyBytesMax },
    (_request, body, done) => done(null, new URLSearchParams(String(body))),
  );

  app.post(
    '/auth/token',
    { bodyLimit: apiLimits.tokenBodyBytesMax, errorHandler: handleTokenEndpointError },
    async (request, reply) => {
      if (!(request.body instanceof URLSearchParams)) {
        return sendOAuthError(
          reply,
          400,
          'invalid_request',
          `expected a body of type ${formMediaType}, found none`,
        );
      }
      const answer = await handleTokenRequest(request.body, {
        clients: options.clients,
        now: options.now(),
        tokenUrl,
        replayCache: options.replayCache,
        signer: options.signer,
      });
      return reply
        .code(answer.status)
        .headers({ ...answer.headers, ...noStore })
        .type(jsonContentType)
        .send(answer.body);
    },
  );
}

/** Registers the SMART discovery document, the JWK Set and the token endpoint (no prefix). */
export function smartRoutes(app: FastifyInstance, options: SmartRoutesOptions): Promise<void> {
  // A bad option rejects the registration, so that buildApiServer fails with it rather than
  // with an uncaught exception inside fastify's plugin loader.
  try {
    registerSmartRoutes(app, options);
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  return Promise.resolve();
}
