/**
 * `GET /chain/events`: committed blocks as server-sent events (HTML Living Standard §9.2,
 * "Server-sent events"), for explorers, monitors and clients waiting for their transactions,
 * instead of polling `/chain/status` and reading whole blocks. One `block` event per committed
 * block, in height order, its id the height, its data `{ height, hash, time, receipts }` (each
 * receipt names its transaction's id and outcome, as in `GET /chain/blocks/{height}`). A client
 * that reconnects with `Last-Event-ID: h` (an `EventSource` does so itself), or asks
 * `?after=h`, first gets the blocks after h. No patient data: the chain holds none.
 */
import type { FastifyInstance } from 'fastify';

import { toHex } from '../base/index.ts';
import type { NodeEvent, RunningNode } from '../node/index.ts';
import { receiptJson } from './block-json.ts';
import { ApiError, ApiErrorCode } from './errors.ts';
import { apiLimits } from './limits.ts';

/**
 * The height a stream starts after, and where it was given (`?after=` wins over
 * `Last-Event-ID`); null for "from now".
 */
function parseAfter(
  query: unknown,
  lastEventId: string | string[] | undefined,
): { name: string; height: number } | null {
  const after = (query as { after?: unknown }).after;
  const [name, value] =
    after !== undefined ? ['after', after] : ['Last-Event-ID', lastEventId ?? undefined];
  if (value === undefined) return null;
  if (typeof value !== 'string' || !/^[0-9]{1,16}$/.test(value)) {
    throw new ApiError(
      ApiErrorCode.badRequest,
      `${name}: expected a height (a whole number), found ${JSON.stringify(value).slice(0, 40)}`,
    );
  }
  const height = Number(value);
  if (!Number.isSafeInteger(height)) {
    throw new ApiError(
      ApiErrorCode.badRequest,
      `${name}: expected a height up to ${Number.MAX_SAFE_INTEGER}, found ${value}`,
    );
  }
  return { name, height };
}

/** One `block` event, as the stream sends it. */
function blockEvent(block: Pick<NodeEvent, 'height' | 'hash' | 'time' | 'receipts'>): string {
  const data = {
    height: block.height,
    hash: toHex(block.hash),
    time: block.time,
    receipts: block.receipts.map(receiptJson),
  };
  return `id: ${block.height}\nevent: block\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Registers `GET /events` (mounted under `/chain` by `chainRoutes`). */
export function chainEventRoutes(app: FastifyInstance, node: RunningNode): void {
  const open = new Set<() => void>();
  // Open streams would keep the server from closing: they end first.
  app.addHook('preClose', (done) => {
    for (const end of [...open]) end();
    done();
  });

  app.get('/events', (request, reply) => {
    const position = parseAfter(request.query, request.headers['last-event-id']);
    const head = node.status().height;
    if (position !== null && head - position.height > apiLimits.chainEventReplayBlocksMax) {
      throw new ApiError(
        ApiErrorCode.badRequest,
        `${position.name}: at most ${apiLimits.chainEventReplayBlocksMax} blocks are replayed, and height ${position.height} is ${head - position.height} behind the head (${head}): read older blocks from /chain/blocks/{height}`,
      );
    }
    if (open.size >= apiLimits.chainEventStreamsMax) {
      throw new ApiError(
        ApiErrorCode.busy,
        `${apiLimits.chainEventStreamsMax} event streams are open on this node already`,
        { retryAfterSeconds: apiLimits.busyRetryAfterSeconds },
      );
    }
    void reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    let sent = position?.height ?? head;
    let ended = false;
    let unsubscribe: () => void = () => undefined;
    let keepAlive: ReturnType<typeof setInterval> | null = null;
    const end = (): void => {
      if (ended) return;
      ended = true;
      unsubscribe();
      if (keepAlive !== null) clearInterval(keepAlive);
      open.delete(end);
      response.end();
    };
    open.add(end);
    // The response closes when the client goes away (or when `end` ends it).
    response.on('close', end);
    response.on('error', end);
    const send = (block: Pick<NodeEvent, 'height' | 'hash' | 'time' | 'receipts'>): void => {
      if (ended || block.height <= sent) return;
      response.write(blockEvent(block));
      sent = block.height;
      // A client this far behind is cut off rather than buffered without end; it resumes from
      // the last id it read.
      if (response.writableLength > apiLimits.chainEventUnsentBytesMax) end();
    };
    response.write(': subscribed\n\n');
    // Live blocks wait while the missed ones are replayed, a few per event-loop turn so that a
    // long replay never holds the node up (consensus runs on the same loop). The subscription
    // starts in the same synchronous step as the reading of the head: no block falls between.
    let replaying = true;
    const waiting: NodeEvent[] = [];
    unsubscribe = node.subscribe((event) => {
      if (!replaying) send(event);
      else if (waiting.length < apiLimits.chainEventReplayBlocksMax) waiting.push(event);
      else end();
    });
    let next = sent + 1;
    const replay = (): void => {
      if (ended) return;
      try {
        const last = Math.min(head, next + apiLimits.chainEventReplayBlocksPerTurn - 1);
        for (; next <= last && !ended; next++) {
          const committed = node.loadBlock(next);
          if (committed === null) {
            next = head + 1;
            break;
          }
          send({ ...committed, time: committed.block.header.time });
        }
      } catch (error) {
        // The node stopped under the replay (its store closed): the client resumes elsewhere.
        request.log.warn({ err: error }, 'chain events: replay failed');
        end();
        return;
      }
      if (next <= head) {
        setImmediate(replay);
        return;
      }
      replaying = false;
      for (const event of waiting.splice(0)) send(event);
    };
    replay();
    if (ended) return;
    keepAlive = setInterval(
      () => response.write(': keep-alive\n\n'),
      apiLimits.chainEventKeepAliveMs,
    );
  });
}
