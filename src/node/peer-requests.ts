/**
 * Request/response between nodes over their authenticated links (channel 4, decision 0055): the
 * records service asks a custodian's node for a sealed record, and answers such requests. The
 * peer is named by its node key, which the link's mutual TLS authenticated (p2p decision 0033),
 * so a handler knows who asks. Every count is bounded (`nodeLimits.peerRequest*`); payloads are
 * opaque bytes and are never logged.
 */
import type { Logger } from 'pino';

import { MedLedgerError } from '../base/index.ts';
import { NodeError } from './errors.ts';
import { nodeLimits } from './limits.ts';
import type { PeerRequestHandler, PeerRequestOptions } from './types.ts';
import {
  type PeerRequestMessage,
  PeerRequestMessageSchema,
  checkPeerRequestMessage,
  peerErrorCodePattern,
} from './wire.ts';

/** The codes a node answers with on its own; a handler's `MedLedgerError` code comes besides. */
export const PeerAnswerCode = {
  /** The node has no handler for peer requests. */
  noHandler: 'no-handler',
  /** The node handles as many requests (from all peers, or from this one) as it may. */
  busy: 'busy',
  /** The handler failed without a `MedLedgerError` code, or answered something other than bytes. */
  handlerFailed: 'handler-failed',
  /** The handler's answer is over `nodeLimits.peerRequestPayloadBytesMax`. */
  answerTooLarge: 'answer-too-large',
} as const;

/** What the requests need of the node's links (`PeerNetwork`, on channel 4). */
export interface PeerRequestLinks {
  /** Whether a link to `peer` is up. */
  isLinked(peer: string): boolean;
  /** Queues a channel-4 frame to `peer`; false if its link is down or its queue is full. */
  send(peer: string, payload: Uint8Array): boolean;
  /** Cuts `peer` for a malformed message. */
  disconnect(peer: string, reason: string): void;
}

interface PendingRequest {
  readonly peer: string;
  readonly resolve: (payload: Uint8Array) => void;
  readonly reject: (error: NodeError) => void;
  readonly timer: NodeJS.Timeout;
  /** The encoded request, kept until it is sent (null once sent). */
  frame: Uint8Array | null;
}

const peerIdPattern = /^[0-9a-f]{64}$/;

/** The requests this node waits on and the ones it answers; see the module comment. */
export class PeerRequests {
  readonly #links: PeerRequestLinks;
  readonly #logger: Logger;
  #nextId = 1;
  readonly #pending = new Map<number, PendingRequest>();
  /** Requests per peer waiting for an answer, sent or queued (at most `peerRequestsOutstandingPerPeerMax`). */
  readonly #outstanding = new Map<string, number>();
  /** Requests per peer sent and not answered (at most `peerRequestsInFlightPerPeerMax`). */
  readonly #inFlight = new Map<string, number>();
  /** Ids of requests per peer waiting for a free slot, oldest first. */
  readonly #queued = new Map<string, number[]>();
  #handler: PeerRequestHandler | null = null;
  #handling = 0;
  readonly #handlingByPeer = new Map<string, number>();
  #stopped = false;

  constructor(options: { links: PeerRequestLinks; logger: Logger }) {
    this.#links = options.links;
    this.#logger = options.logger;
  }

  /** Requests waiting for an answer. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Sets the one handler of peers' requests (replacing the previous one). */
  setHandler(handler: PeerRequestHandler): void {
    if (typeof handler !== 'function') {
      throw new NodeError(
        'invalid-argument',
        `handler: expected a function, found ${typeof handler}`,
      );
    }
    this.#handler = handler;
  }

  /**
   * Sends a request and resolves with the peer's answer. Rejects with `NodeError`:
   * `invalid-argument`, `payload-too-large` (nothing sent), `not-linked`, `busy`, `timeout`,
   * `peer-error` (the peer answered an error; `details.peerCode`), `stopped`.
   */
  request(options: PeerRequestOptions): Promise<Uint8Array> {
    if (this.#stopped) return Promise.reject(new NodeError('stopped', 'the node is stopping'));
    const checked = checkRequestOptions(options);
    if (checked instanceof NodeError) return Promise.reject(checked);
    const { peer, payload, timeoutMs } = checked;
    if (!this.#links.isLinked(peer)) {
      return Promise.reject(
        new NodeError('not-linked', `peer ${peer.slice(0, 12)}: no link is up to it`, {
          peer: peer.slice(0, 16),
        }),
      );
    }
    const outstanding = this.#outstanding.get(peer) ?? 0;
    if (outstanding >= nodeLimits.peerRequestsOutstandingPerPeerMax) {
      return Promise.reject(
        new NodeError(
          'busy',
          `peer ${peer.slice(0, 12)}: ${outstanding} requests wait for its answers already ` +
            `(at most ${nodeLimits.peerRequestsOutstandingPerPeerMax})`,
          { peer: peer.slice(0, 16) },
        ),
      );
    }
    const id = this.#nextId++;
    const frame = PeerRequestMessageSchema.encode({ kind: 'request', id, payload, code: null });
    this.#outstanding.set(peer, outstanding + 1);
    return new Promise((resolve, reject) => {
      // The timeout covers the wait for a free slot as well as the answer.
      const timer = setTimeout(() => {
        if (this.#settle(id) === undefined) return;
        this.#logger.info({ peer: peer.slice(0, 12), id, timeoutMs }, 'peer request timed out');
        reject(
          new NodeError(
            'timeout',
            `peer ${peer.slice(0, 12)} did not answer request ${id} within ${timeoutMs} ms`,
            { peer: peer.slice(0, 16), id, timeoutMs },
          ),
        );
      }, timeoutMs);
      this.#pending.set(id, { peer, resolve, reject, timer, frame });
      if ((this.#inFlight.get(peer) ?? 0) < nodeLimits.peerRequestsInFlightPerPeerMax) {
        this.#transmit(id);
      } else {
        const queue = this.#queued.get(peer) ?? [];
        queue.push(id);
        this.#queued.set(peer, queue);
      }
    });
  }

  /** Sends queued request `id` now; a link that refuses it rejects it (`busy`, `not-linked`). */
  #transmit(id: number): void {
    const pending = this.#pending.get(id);
    if (pending === undefined || pending.frame === null) return;
    const { peer, frame } = pending;
    if (!this.#links.send(peer, frame)) {
      this.#settle(id);
      const linked = this.#links.isLinked(peer);
      pending.reject(
        new NodeError(
          linked ? 'busy' : 'not-linked',
          linked
            ? `peer ${peer.slice(0, 12)}: its link's send queue is full`
            : `peer ${peer.slice(0, 12)}: no link is up to it`,
          { peer: peer.slice(0, 16) },
        ),
      );
      return;
    }
    pending.frame = null;
    this.#inFlight.set(peer, (this.#inFlight.get(peer) ?? 0) + 1);
    this.#logger.debug({ peer: peer.slice(0, 12), id, bytes: frame.length }, 'peer request sent');
  }

  /** Sends `peer`'s queued requests while it has free slots. */
  #pump(peer: string): void {
    const queue = this.#queued.get(peer);
    while (
      !this.#stopped &&
      queue !== undefined &&
      queue.length > 0 &&
      (this.#inFlight.get(peer) ?? 0) < nodeLimits.peerRequestsInFlightPerPeerMax
    ) {
      this.#transmit(queue.shift()!);
    }
    if (queue !== undefined && queue.length === 0) this.#queued.delete(peer);
  }

  /**
   * Handles a channel-4 frame from `peer`. Throws `CodecError` if it does not decode (the node
   * cuts the peer, as on every channel); cuts the peer itself for a decodable but malformed one.
   */
  receive(peer: string, bytes: Uint8Array): void {
    const decoded = PeerRequestMessageSchema.decode(bytes);
    // Handlers and requesters get a plain Uint8Array (the codec's copy is a Buffer), a view.
    const payload = new Uint8Array(
      decoded.payload.buffer,
      decoded.payload.byteOffset,
      decoded.payload.length,
    );
    const message: PeerRequestMessage = { ...decoded, payload };
    const malformed = checkPeerRequestMessage(message);
    if (malformed !== null) {
      this.#links.disconnect(peer, `peer request channel: ${malformed}`);
      return;
    }
    if (message.kind === 'request') {
      this.#answer(peer, message);
      return;
    }
    const pending = this.#pending.get(message.id);
    if (pending === undefined || pending.peer !== peer) {
      // A late answer (after its timeout) or one that was never asked of this peer; not a
      // reason to cut it (timeouts make late answers normal).
      this.#logger.info(
        { peer: peer.slice(0, 12), id: message.id, kind: message.kind },
        'peer answer to an unknown request id: ignored',
      );
      return;
    }
    this.#settle(message.id);
    if (message.kind === 'response') {
      this.#logger.debug(
        { peer: peer.slice(0, 12), id: message.id, bytes: message.payload.length },
        'peer answered',
      );
      pending.resolve(message.payload);
      return;
    }
    const peerCode = message.code ?? PeerAnswerCode.handlerFailed;
    this.#logger.info(
      { peer: peer.slice(0, 12), id: message.id, peerCode },
      'peer answered with an error',
    );
    pending.reject(
      new NodeError(
        'peer-error',
        `peer ${peer.slice(0, 12)} answered request ${message.id} with error ${peerCode}`,
        { peer: peer.slice(0, 16), id: message.id, peerCode },
      ),
    );
  }

  /** A peer's last link went down: its requests cannot be answered. */
  peerDown(peer: string): void {
    for (const [id, pending] of this.#pending) {
      if (pending.peer !== peer) continue;
      this.#settle(id);
      pending.reject(
        new NodeError('not-linked', `peer ${peer.slice(0, 12)}: the link went down`, {
          peer: peer.slice(0, 16),
          id,
        }),
      );
    }
  }

  /** Rejects every waiting request (`stopped`); answers still being computed are dropped. */
  stop(): void {
    this.#stopped = true;
    for (const [id, pending] of this.#pending) {
      this.#settle(id);
      pending.reject(
        new NodeError('stopped', `the node stopped before request ${id} was answered`),
      );
    }
  }

  /**
   * Forgets request `id` (its timer, its counts, its place in the queue) and sends the next
   * queued request to its peer if it held a slot; returns it, or undefined if already settled.
   */
  #settle(id: number): PendingRequest | undefined {
    const pending = this.#pending.get(id);
    if (pending === undefined) return undefined;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    const { peer } = pending;
    decrement(this.#outstanding, peer);
    if (pending.frame === null) {
      decrement(this.#inFlight, peer);
      this.#pump(peer);
    } else {
      const queue = this.#queued.get(peer) ?? [];
      const at = queue.indexOf(id);
      if (at >= 0) queue.splice(at, 1);
      if (queue.length === 0) this.#queued.delete(peer);
    }
    return pending;
  }

  #answer(peer: string, request: PeerRequestMessage): void {
    const handler = this.#handler;
    if (handler === null) {
      this.#sendError(peer, request.id, PeerAnswerCode.noHandler);
      return;
    }
    const fromPeer = this.#handlingByPeer.get(peer) ?? 0;
    if (
      this.#handling >= nodeLimits.peerRequestHandlersMax ||
      fromPeer >= nodeLimits.peerRequestHandlersPerPeerMax
    ) {
      this.#logger.debug(
        { peer: peer.slice(0, 12), id: request.id, handling: this.#handling, fromPeer },
        'peer request refused: busy',
      );
      this.#sendError(peer, request.id, PeerAnswerCode.busy);
      return;
    }
    this.#handling++;
    this.#handlingByPeer.set(peer, fromPeer + 1);
    // The handler runs after this frame is handled (a microtask), so that a handler that throws
    // at once is one more rejection, never an exception in the link's frame callback.
    Promise.resolve()
      .then(() => handler({ peer, payload: request.payload }))
      .then(
        (answer: unknown) => {
          this.#done(peer);
          if (!(answer instanceof Uint8Array)) {
            this.#logger.error(
              { peer: peer.slice(0, 12), id: request.id },
              'peer request handler answered something other than bytes',
            );
            this.#sendError(peer, request.id, PeerAnswerCode.handlerFailed);
            return;
          }
          if (answer.length > nodeLimits.peerRequestPayloadBytesMax) {
            this.#logger.error(
              {
                peer: peer.slice(0, 12),
                id: request.id,
                bytes: answer.length,
                bytesMax: nodeLimits.peerRequestPayloadBytesMax,
              },
              'peer request handler answer too large',
            );
            this.#sendError(peer, request.id, PeerAnswerCode.answerTooLarge);
            return;
          }
          this.#send(peer, { kind: 'response', id: request.id, payload: answer, code: null });
        },
        (error: unknown) => {
          this.#done(peer);
          const code = answerCodeOf(error);
          // The error's message and stack stay here, in this node's log (not its payload).
          this.#logger.warn(
            {
              peer: peer.slice(0, 12),
              id: request.id,
              code,
              error: error instanceof Error ? error.name : typeof error,
            },
            'peer request handler failed',
          );
          this.#sendError(peer, request.id, code);
        },
      );
  }

  #done(peer: string): void {
    this.#handling--;
    const left = (this.#handlingByPeer.get(peer) ?? 1) - 1;
    if (left > 0) this.#handlingByPeer.set(peer, left);
    else this.#handlingByPeer.delete(peer);
  }

  #sendError(peer: string, id: number, code: string): void {
    this.#send(peer, { kind: 'error', id, payload: new Uint8Array(0), code });
  }

  #send(peer: string, message: PeerRequestMessage): void {
    if (this.#stopped) return;
    if (!this.#links.send(peer, PeerRequestMessageSchema.encode(message))) {
      this.#logger.info(
        { peer: peer.slice(0, 12), id: message.id, kind: message.kind },
        'peer answer not sent: the link is down or its queue is full',
      );
    }
  }
}

/** One less of `key` in `counts` (the entry goes at zero). */
function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}

/** The code an error answer carries: a `MedLedgerError`'s code if well-formed, else a generic one. */
function answerCodeOf(error: unknown): string {
  if (!(error instanceof MedLedgerError)) return PeerAnswerCode.handlerFailed;
  const code: unknown = (error as MedLedgerError<string>).code;
  return typeof code === 'string' && peerErrorCodePattern.test(code)
    ? code
    : PeerAnswerCode.handlerFailed;
}

/** The options of `request`, checked, with the default timeout; or the error naming the wrong one. */
function checkRequestOptions(
  options: PeerRequestOptions,
): { peer: string; payload: Uint8Array; timeoutMs: number } | NodeError {
  if (typeof options !== 'object' || options === null) {
    return new NodeError('invalid-argument', 'options: expected { peer, payload, timeoutMs }');
  }
  const peer = typeof options.peer === 'string' ? options.peer.toLowerCase() : null;
  if (peer === null || !peerIdPattern.test(peer)) {
    return new NodeError(
      'invalid-argument',
      `peer: expected a node key as 64 hex digits, found ${
        typeof options.peer === 'string' ? `${options.peer.length} characters` : typeof options.peer
      }`,
    );
  }
  const { payload } = options;
  if (!(payload instanceof Uint8Array)) {
    return new NodeError('invalid-argument', `payload: expected bytes, found ${typeof payload}`);
  }
  if (payload.length > nodeLimits.peerRequestPayloadBytesMax) {
    return new NodeError(
      'payload-too-large',
      `payload: expected at most ${nodeLimits.peerRequestPayloadBytesMax} bytes, found ${payload.length}; not sent`,
      { bytes: payload.length, bytesMax: nodeLimits.peerRequestPayloadBytesMax },
    );
  }
  const timeoutMs = options.timeoutMs ?? nodeLimits.peerRequestTimeoutDefaultMs;
  if (
    !Number.isSafeInteger(timeoutMs) ||
    timeoutMs < 1 ||
    timeoutMs > nodeLimits.waitTimeoutMaxMs
  ) {
    return new NodeError(
      'invalid-argument',
      `timeoutMs: expected an integer from 1 to ${nodeLimits.waitTimeoutMaxMs}, found ${String(timeoutMs)}`,
    );
  }
  return { peer, payload, timeoutMs };
}
