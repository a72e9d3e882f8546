/** `GET /health`: whether the node answers, with its height (200), or 503 when it does not. */
import type { FastifyInstance } from 'fastify';

import type { RunningNode } from '../node/index.ts';
import { ApiError, ApiErrorCode } from './errors.ts';

/** Registers `GET /health`. */
export function healthRoutes(app: FastifyInstance, options: { node: RunningNode }): Promise<void> {
  const { node } = options;
  app.get('/health', () => {
    let height: number;
    try {
      height = node.status().height;
    } catch (error) {
      // A node that cannot report its status (stopping, or its store closed) is not healthy;
      // the reason goes to the log, the client gets 503.
      app.log.warn({ err: error }, 'health check failed');
      throw new ApiError(ApiErrorCode.unavailable, 'the node is not running (status unavailable)');
    }
    return { status: 'ok', height };
  });
  return Promise.resolve();
}
