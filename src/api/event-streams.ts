/**
 * The server-sent event streams of one route (HTML Living Standard §9.2, "Server-sent events"),
 * with the bounds every long-lived answer of a node needs: at most `streamsMax` open at once; a
 * client that stops reading is cut off once `unsentBytesMax` bytes wait for it, rather than
 * buffered without end; a comment line every `keepAliveMs` keeps idle proxies from closing the
 * connection; and every stream ends when the client goes away or the server closes. Used by
 * `GET /chain/events` and the FHIR `$notifications` operation.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';

/** One open stream: `write` sends whole events (or comments), `end` closes it once. */
export interface EventStream {
  write(text: string): void;
  end(): void;
  readonly ended: boolean;
}

/** The streams of one route: `isFull` before accepting one, `open` to start it. */
export interface EventStreams {
  readonly isFull: boolean;
  readonly size: number;
  /**
   * Hijacks `reply`, writes the event-stream head and a first comment, and returns the stream;
   * `onEnd` runs once when it ends, for whatever reason (unsubscribe there).
   */
  open(
    reply: FastifyReply,
    options: { headers?: Record<string, string>; onEnd: () => void },
  ): EventStream;
}

export function eventStreams(
  app: FastifyInstance,
  limits: { streamsMax: number; unsentBytesMax: number; keepAliveMs: number },
): EventStreams {
  const open = new Set<EventStream>();
  // Open streams would keep the server from closing: they end first.
  app.addHook('preClose', (done) => {
    for (const stream of [...open]) stream.end();
    done();
  });
  return {
    get isFull() {
      return open.size >= limits.streamsMax;
    },
    get size() {
      return open.size;
    },
    open(reply, options) {
      void reply.hijack();
      const response = reply.raw;
      response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        ...options.headers,
      });
      let ended = false;
      const keepAlive = setInterval(() => stream.write(': keep-alive\n\n'), limits.keepAliveMs);
      const stream: EventStream = {
        get ended() {
          return ended;
        },
        write(text) {
          if (ended) return;
          response.write(text);
          // A client this far behind is cut off; an EventSource reconnects by itself.
          if (response.writableLength > limits.unsentBytesMax) stream.end();
        },
        end() {
          if (ended) return;
          ended = true;
          clearInterval(keepAlive);
          open.delete(stream);
          options.onEnd();
          response.end();
        },
      };
      open.add(stream);
      // The response closes when the client goes away (or when `end` ends it). The request's
      // own 'close' is no sign of that: it comes once the request has been read.
      response.on('close', () => stream.end());
      response.on('error', () => stream.end());
      stream.write(': subscribed\n\n');
      return stream;
    },
  };
}
