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
import { eventStreams } from './event-streams.ts';
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
  const streams = eventStreams(app, {
    streamsMax: apiLimits.chainEventStreamsMax,
    unsentBytesMax: apiLimits.chainEventUnsentBytesMax,
    keepAliveMs: apiLimits.chainEventKeepAliveMs,
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
    if (streams.isFull) {
      throw new ApiError(
        ApiErrorCode.busy,
        `${apiLimits.chainEventStreamsMax} event streams are open on this node already`,
        { retryAfterSeconds: apiLimits.busyRetryAfterSeconds },
      );
    }
    let sent = position?.height ?? head;
    let unsubscribe: () => void = () => undefined;
    const stream = streams.open(reply, { onEnd: () => unsubscribe() });
    const send = (block: Pick<NodeEvent, 'height' | 'hash' | 'time' | 'receipts'>): void => {
      if (stream.ended || block.height <= sent) return;
      stream.write(blockEvent(block));
      sent = block.height;
    };
    // Live blocks wait while the missed ones are replayed, a few per event-loop turn so that a
    // long replay never holds the node up (consensus runs on the same loop). The subscription
    // starts in the same synchronous step as the reading of the head: no block falls between.
    let replaying = true;
    const waiting: NodeEvent[] = [];
    unsubscribe = node.subscribe((event) => {
      if (!replaying) send(event);
      else if (waiting.length < apiLimits.chainEventReplayBlocksMax) waiting.push(event);
      else stream.end();
    });
    let next = sent + 1;
    const replay = (): void => {
      if (stream.ended) return;
      try {
        const last = Math.min(head, next + apiLimits.chainEventReplayBlocksPerTurn - 1);
        for (; next <= last && !stream.ended; next++) {
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
        stream.end();
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
  });
}
