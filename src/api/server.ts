/**
 * The node's HTTP server (fastify 5): one plugin per area — health, chain, metrics — so that the
 * FHIR R4 API (issue 6) mounts beside them under `/fhir`. Every error is JSON
 * `{ error: { code, message } }` (see `errors.ts`).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';

import type { RunningNode } from '../node/index.ts';
import { chainRoutes } from './chain-routes.ts';
import { ApiError, ApiErrorCode, handleApiError } from './errors.ts';
import { healthRoutes } from './health-routes.ts';
import { apiLimits } from './limits.ts';
import { metricsRoutes } from './metrics-routes.ts';

/** The API server as a fastify instance, not listening (tests drive it with `inject`). */
export async function buildApiServer(options: {
  node: RunningNode;
  logger: Logger;
}): Promise<FastifyInstance> {
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
  await app.register(metricsRoutes, { node });
  return app;
}

/** A listening API server. */
export interface ApiServer {
  readonly address: { readonly host: string; readonly port: number };
  /** Stops accepting requests, lets the ones in flight finish, and closes the socket. */
  close(): Promise<void>;
}

/** Starts the API server on `host:port` (port 0 = any free port) and returns where it listens. */
export async function startApiServer(options: {
  node: RunningNode;
  host: string;
  port: number;
  logger: Logger;
}): Promise<ApiServer> {
  const app = await buildApiServer({ node: options.node, logger: options.logger });
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
