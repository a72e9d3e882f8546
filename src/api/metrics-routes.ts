/** `GET /metrics`: the node's Prometheus exposition (text format 0.0.4). */
import type { FastifyInstance } from 'fastify';

import type { RunningNode } from '../node/index.ts';

/** Registers `GET /metrics`: the node's metrics, then `extra`'s (same text format). */
export function metricsRoutes(
  app: FastifyInstance,
  options: { node: RunningNode; extra?: () => Promise<string> },
): Promise<void> {
  const { node, extra } = options;
  app.get('/metrics', async (_request, reply) => {
    const text = await node.metricsText();
    const more = extra === undefined ? '' : await extra();
    const separator = text.endsWith('\n') || text === '' ? '' : '\n';
    return reply.type(node.metricsContentType).send(`${text}${separator}${more}`);
  });
  return Promise.resolve();
}
