/**
 * The node's HTTP server (fastify 5): one plugin per area — health, chain, metrics, and when
 * configured the FHIR R4 API under `/fhir` and the SMART endpoints. Every error outside `/fhir`
 * is JSON `{ error: { code, message } }` (see `errors.ts`); under `/fhir` it is an
 * OperationOutcome (see `fhir-routes.ts`).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';

import type { RunningNode } from '../node/index.ts';
import { chainRoutes } from './chain-routes.ts';
import { proofRoutes } from './proof-routes.ts';
import { ApiError, ApiErrorCode, handleApiError } from './errors.ts';
import { answerFhirFrameworkError, fhirRoutes, type FhirRoutesOptions } from './fhir-routes.ts';
import { healthRoutes } from './health-routes.ts';
import { apiLimits } from './limits.ts';
import { metricsRoutes } from './metrics-routes.ts';
import { smartRoutes, type SmartRoutesOptions } from './smart-routes.ts';
import { type DemoSignInService, webRoutes } from './web-routes.ts';

/** What the API server serves; `fhir` and `smart` are optional, so a node can run without them. */
export interface ApiServerOptions {
  readonly node: RunningNode;
  readonly logger: Logger;
  /** The FHIR R4 API under `/fhir` (records service, token verifier, realm, public base URL). */
  readonly fhir?: FhirRoutesOptions;
  /** `/.well-known/smart-configuration`, `/auth/jwks` and `POST /auth/token`. */
  readonly smart?: SmartRoutesOptions;
  /** The web app (`/app/`, built into `directory`) and, on demo nodes, the demo sign-in. */
  readonly web?: { readonly directory: string; readonly demo?: DemoSignInService };
  /**
   * More Prometheus text appended to the node's on `GET /metrics` (the records service's: the
   * security audit log, decision 0059); its metric names must differ from the node's.
   */
  readonly extraMetrics?: () => Promise<string>;
}

/** The API server as a fastify instance, not listening (tests drive it with `inject`). */
export async function buildApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const { node } = options;
  // Typed as fastify's logger so that the instance is a plain FastifyInstance.
  const logger: FastifyBaseLogger = options.logger.child({ component: 'api' });
  const app = Fastify({
    loggerInstance: logger,
    // One log line per request would flood the log under load; errors are logged by the handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: apiLimits.otherBodyBytesMax,
    requestTimeout: apiLimits.requestTimeoutMs,
    return503OnClosing: true,
    // Requests fastify refuses before routing (a URL with bad percent-encoding) get the answer
    // of their area: an OperationOutcome under /fhir, the API's JSON error elsewhere.
    frameworkErrors: (error, request, reply) => {
      const { fhir } = options;
      if (fhir !== undefined) {
        if (answerFhirFrameworkError(request, reply, { service: fhir.service, prefix: '/fhir' })) {
          return;
        }
      }
      void handleApiError(error, request, reply);
    },
  });
  app.setErrorHandler(handleApiError);
  app.setNotFoundHandler((request) => {
    throw new ApiError(
      ApiErrorCode.notFound,
      `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 100)}`,
    );
  });
  await app.register(healthRoutes, { node });
  await app.register(chainRoutes, { node, prefix: '/chain' });
  await app.register(proofRoutes, { node, prefix: '/chain' });
  await app.register(metricsRoutes, {
    node,
    ...(options.extraMetrics === undefined ? {} : { extra: options.extraMetrics }),
  });
  // Each registers in its own encapsulated context: its body parsers, error handler and (FHIR)
  // not-found handler apply to its routes only, so the routes above keep their JSON errors.
  if (options.fhir !== undefined)
    await app.register(fhirRoutes, { ...options.fhir, prefix: '/fhir' });
  if (options.smart !== undefined) await app.register(smartRoutes, options.smart);
  if (options.web !== undefined) await app.register(webRoutes, options.web);
  return app;
}

/** A listening API server. */
export interface ApiServer {
  readonly address: { readonly host: string; readonly port: number };
  /** Stops accepting requests, lets the ones in flight finish, and closes the socket. */
  close(): Promise<void>;
}

/** Starts the API server on `host:port` (port 0 = any free port) and returns where it listens. */
export async function startApiServer(
  options: ApiServerOptions & { readonly host: string; readonly port: number },
): Promise<ApiServer> {
  const app = await buildApiServer(options);
  await app.listen({ host: options.host, port: options.port });
  const bound = app.server.address();
  if (bound === null || typeof bound === 'string') {
    await app.close();
    throw new ApiError(
      ApiErrorCode.internal,
      `API server bound to ${String(bound)}, expected a TCP port`,
    );
  }
  return {
    address: { host: options.host, port: bound.port },
    close: () => app.close(),
  };
}
