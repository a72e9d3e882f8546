/** `GET /metrics`: the node's Prometheus exposition (text format 0.0.4). */
import type { FastifyInstance } from 'fastify';

import type { RunningNode } from '../node/index.ts';

/** Registers `GET /metrics`. */
export function metricsRoutes(app: FastifyInstance, options: { node: RunningNode }): Promise<void> {
  const { node } = options;
  app.get('/metrics', async (_request, reply) => {
    const text = await node.metricsText();
    return reply.type(node.metricsContentType).send(text);
  });
  return Promise.resolve();
}
