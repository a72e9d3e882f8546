/**
 * One authenticated TLS connection to a peer: the hello exchange, framing in both directions,
 * the bounded send queue and socket backpressure. The network (`start-peer-network.ts`) decides
 * who may connect and which link to keep; a link only reports what happens on its socket.
 */
import type { TLSSocket } from 'node:tls';

import { toHex } from '../base/index.ts';
import { FrameDecoder, controlChannel, encodeFrame } from './frame.ts';
import { PeerErrorCode } from './errors.ts';
import { decodeHello, describe, encodeHello, p2pProtocolVersion } from './hello.ts';
import type { P2pLimits } from './limits.ts';
import type { PeerId } from './types.ts';

/** What a link tells its network. */
export interface PeerLinkEvents {
  /** The peer's hello matched: the link carries data from now on. */
  up(link: PeerLink): void;
  /** A data frame arrived (channel 1–255). */
  frame(link: PeerLink, channel: number, payload: Uint8Array): void;
  /** This side is closing the link for `code` (called at once, before the socket closes). */
  closing(link: PeerLink, code: PeerErrorCode): void;
  /** The socket closed; `code` and `reason` say why (the first cause recorded wins). */
  closed(link: PeerLink, code: PeerErrorCode, reason: string): void;
}

/** A link's state: waiting for the peer's hello, carrying data, or closed. */
export type PeerLinkState = 'hello' | 'up' | 'closed';

/** One authenticated connection; see the module comment. */
export class PeerLink {
  readonly id: PeerId;
  readonly shortId: string;
  state: PeerLinkState = 'hello';
  connectedAt = 0;
  framesIn = 0;
  framesOut = 0;
  framesDropped = 0;
  private readonly decoder: FrameDecoder;
  private readonly queue: Buffer[] = [];
  private queueBytes = 0;
  private waitingForDrain = false;
  private flushScheduled = false;
  private closeCode: PeerErrorCode = PeerErrorCode.connectionClosed;
  private closeReason = 'the peer closed the connection';
  private helloTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: TLSSocket,
    readonly direction: 'inbound' | 'outbound',
    readonly publicKey: Uint8Array,
    readonly remote: string,
    private readonly options: {
      readonly chainId: string;
      readonly limits: P2pLimits;
      readonly events: PeerLinkEvents;
    },
  ) {
    this.id = toHex(publicKey);
    this.shortId = this.id.slice(0, 16);
    this.decoder = new FrameDecoder(options.limits.helloBytesMax + 1);
    this.helloTimer = setTimeout(() => {
      this.close(
        PeerErrorCode.handshakeTimeout,
        `expected the peer's hello within ${options.limits.handshakeTimeoutMs} ms, found none`,
      );
    }, options.limits.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => {
      this.waitingForDrain = false;
      this.flush();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.record(PeerErrorCode.connectionClosed, `socket error ${error.code ?? error.message}`);
    });
    socket.on('close', () => {
      clearTimeout(this.helloTimer);
      if (this.connectedAt === 0 && this.closeCode === PeerErrorCode.connectionClosed) {
        this.closeReason =
          'the peer closed the connection before its hello (it may have refused this node: see its log)';
      }
      this.state = 'closed';
      this.queue.length = 0;
      this.queueBytes = 0;
      options.events.closed(this, this.closeCode, this.closeReason);
    });
    const hello = encodeHello({ version: p2pProtocolVersion, chainId: options.chainId });
    socket.write(encodeFrame(controlChannel, hello));
  }

  /** Bytes waiting for the peer: in the queue and in the socket's own buffer. */
  get queuedBytes(): number {
    return this.queueBytes + this.socket.writableLength;
  }

  /** Queues one frame; false (nothing queued) if the link is not up or its queue is full. */
  enqueue(frame: Buffer): boolean {
    if (this.state !== 'up') return false;
    const { queueFramesMax, queueBytesMax } = this.options.limits;
    if (this.queue.length >= queueFramesMax || this.queueBytes + frame.length > queueBytesMax) {
      this.framesDropped++;
      return false;
    }
    this.queue.push(frame);
    this.queueBytes += frame.length;
    this.framesOut++;
    if (!this.flushScheduled && !this.waitingForDrain) {
      // Frames queued in the same turn of the event loop go out in one write (one TLS record
      // per `writeChunkBytesMax`), which `bench/p2p.ts` shows is what makes small frames fast.
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return true;
  }

  /**
   * Closes the link, recording why (the first cause recorded wins: a refusal is not overwritten
   * by the reset it causes). The network hears of it through `closed`.
   */
  close(code: PeerErrorCode, reason: string, options: { graceful?: boolean } = {}): void {
    this.record(code, reason);
    if (this.state !== 'closed') this.options.events.closing(this, code);
    // Closed at once for this side: no frame is read or sent after this, even before the
    // socket's 'close' event arrives.
    this.state = 'closed';
    this.queue.length = 0;
    this.queueBytes = 0;
    clearTimeout(this.helloTimer);
    if (options.graceful !== true) {
      this.socket.destroy();
      return;
    }
    // A graceful close lets our hello reach the peer before the FIN, so that it can log the
    // real reason (another chain, another version) rather than a reset; the peer's own refusal,
    // or the timer, ends the socket.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), this.options.limits.handshakeTimeoutMs).unref();
  }

  private isOpen(): boolean {
    return this.state !== 'closed';
  }

  private record(code: PeerErrorCode, reason: string): void {
    if (this.closeCode !== PeerErrorCode.connectionClosed) return;
    this.closeCode = code;
    this.closeReason = reason;
  }

  private flush(): void {
    const chunkBytesMax = this.options.limits.writeChunkBytesMax;
    while (this.queue.length > 0 && !this.waitingForDrain && this.state === 'up') {
      let count = 0;
      let bytes = 0;
      while (count < this.queue.length) {
        const next = this.queue[count]!.length;
        if (count > 0 && bytes + next > chunkBytesMax) break;
        bytes += next;
        count++;
      }
      const frames = this.queue.splice(0, count);
      this.queueBytes -= bytes;
      const chunk = count === 1 ? frames[0]! : Buffer.concat(frames, bytes);
      // `write` returning false means the socket's buffer passed its high-water mark: wait for
      // 'drain' rather than pile more into it, so the queue's bound is the real bound.
      if (!this.socket.write(chunk)) this.waitingForDrain = true;
    }
  }

  private receive(chunk: Buffer): void {
    if (this.state === 'closed') return;
    const refused = this.decoder.push(chunk, (frame) => {
      if (this.state === 'hello') return this.receiveHello(frame.channel, frame.payload);
      if (frame.channel === controlChannel) {
        this.close(
          PeerErrorCode.protocolViolation,
          `expected a data frame on channels 1–255 after the hello, found a frame on channel 0`,
        );
        return false;
      }
      this.framesIn++;
      this.options.events.frame(this, frame.channel, frame.payload);
      return this.state === 'up';
    });
    if (refused !== undefined && this.isOpen()) {
      const limit = this.decoder.bodyBytesMax;
      this.close(
        PeerErrorCode.frameTooLarge,
        `expected a frame of 1 to ${limit} bytes${this.state === 'hello' ? ' (a hello)' : ''}, ` +
          `found a header declaring ${refused} bytes`,
      );
    }
  }

  private receiveHello(channel: number, payload: Uint8Array): boolean {
    if (channel !== controlChannel) {
      this.close(
        PeerErrorCode.malformedHello,
        `expected a hello on channel 0 first, found a frame on channel ${channel}`,
      );
      return false;
    }
    const hello = decodeHello(payload, this.options.limits);
    if (typeof hello === 'string') {
      this.close(PeerErrorCode.malformedHello, hello);
      return false;
    }
    if (hello.version !== p2pProtocolVersion) {
      this.close(
        PeerErrorCode.wrongVersion,
        `expected link protocol version ${p2pProtocolVersion}, found ${hello.version}`,
        { graceful: true },
      );
      return false;
    }
    if (hello.chainId !== this.options.chainId) {
      this.close(
        PeerErrorCode.wrongChain,
        `expected chainId ${describe(this.options.chainId)}, found ${describe(hello.chainId)}`,
        { graceful: true },
      );
      return false;
    }
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    this.state = 'up';
    this.connectedAt = Date.now();
    this.decoder.bodyBytesMax = this.options.limits.frameBytesMax;
    this.options.events.up(this);
    return this.state === 'up';
  }
}
