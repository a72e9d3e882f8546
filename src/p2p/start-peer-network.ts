/**
 * `startPeerNetwork`: the listening server, the dialers with backoff, the identity check after
 * every TLS handshake (decision 0033), the one-link-per-pair rule (decision 0034) and the
 * penalties for misbehaving peers (decision 0035).
 */
import type { Socket } from 'node:net';
import * as tls from 'node:tls';

import { compareBytes, equalBytes, shortHex, toHex, utf8 } from '../base/index.ts';
import { ed25519PublicKeyBytes, isEd25519PublicKey } from '../crypto/index.ts';
import { PeerError, PeerErrorCode } from './errors.ts';
import { channelMax, controlChannel, encodeFrame } from './frame.ts';
import { type P2pLimits, p2pLimits } from './limits.ts';
import {
  type NodeCertificate,
  createNodeCertificate,
  nodeKeyOfCertificate,
} from './node-certificate.ts';
import { PeerLink, type PeerLinkEvents } from './peer-link.ts';
import type { PeerAddress, PeerId, PeerInfo, PeerNetwork, PeerNetworkOptions } from './types.ts';

/** Codes after which the peer waits out `penaltyDelayMs`: it misbehaved, it did not just fail. */
const penalisedCodes: ReadonlySet<PeerErrorCode> = new Set([
  PeerErrorCode.frameTooLarge,
  PeerErrorCode.protocolViolation,
  PeerErrorCode.malformedHello,
  PeerErrorCode.disconnected,
  PeerErrorCode.handlerFailed,
]);

/** Longest reason `disconnect` logs, in characters (the caller's text, kept short). */
const reasonCharsMax = 200;

/**
 * Starts listening and dialling: mutual TLS 1.3 with each node's Ed25519 key in a self-signed
 * certificate (RFC 8446, RFC 8410), then a hello with the chainId, then length-prefixed frames.
 * Rejects with `PeerError` (`invalid-options`, `listen-failed`).
 */
export async function startPeerNetwork(options: PeerNetworkOptions): Promise<PeerNetwork> {
  const limits = checkOptions(options);
  const certificate = await createNodeCertificate(options.keyPair);
  const network = new TlsPeerNetwork(options, limits, certificate);
  await network.listen();
  network.dialAll();
  return network;
}

interface Dialer {
  readonly id: PeerId;
  readonly address: PeerAddress;
  attempts: number;
  timer: NodeJS.Timeout | undefined;
  socket: tls.TLSSocket | undefined;
}

class TlsPeerNetwork implements PeerNetwork, PeerLinkEvents {
  readonly id: PeerId;
  private readonly shortId: string;
  private readonly server: tls.Server;
  private readonly tlsOptions: tls.SecureContextOptions & tls.CommonConnectionOptions;
  /** Every open socket (inbound raw sockets, outbound TLS sockets) with its 'close' promise. */
  private readonly sockets = new Map<Socket, Promise<void>>();
  /** Every link per peer, in the hello or up state. */
  private readonly links = new Map<PeerId, Set<PeerLink>>();
  /** The one up link per peer that carries what this node sends. */
  private readonly current = new Map<PeerId, PeerLink>();
  /** Peers the application was told are up (`onPeerUp` without `onPeerDown` since). */
  private readonly reportedUp = new Set<PeerId>();
  private readonly dialers = new Map<PeerId, Dialer>();
  /** Until when (ms since the epoch) a peer that misbehaved is neither dialled nor accepted. */
  private readonly penalties = new Map<PeerId, number>();
  /** Inbound connections not yet up, by remote address, so that their number stays bounded. */
  private readonly inboundPending = new Set<string>();
  private paused = false;
  private stopping: Promise<void> | undefined;
  private listening: { host: string; port: number } | undefined;

  constructor(
    private readonly options: PeerNetworkOptions,
    private readonly limits: P2pLimits,
    certificate: NodeCertificate,
  ) {
    this.id = toHex(options.keyPair.publicKey);
    this.shortId = this.id.slice(0, 16);
    this.tlsOptions = {
      cert: certificate.certificatePem,
      key: certificate.privateKeyPem,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
    };
    this.server = tls.createServer({
      ...this.tlsOptions,
      // No certificate authority: every certificate is self-signed, so OpenSSL's chain check is
      // off and the node's own check (`checkPeer`) decides, after the handshake.
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: limits.handshakeTimeoutMs,
    });
    this.server.on('connection', (socket: Socket) => this.accept(socket));
    this.server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: tls.TLSSocket) =>
      this.onTlsClientError(error, socket),
    );
    this.server.on('secureConnection', (socket: tls.TLSSocket) => {
      this.checkPeer(socket, 'inbound', undefined);
    });
    for (const address of options.peers) {
      const id = toHex(address.publicKey);
      if (id === this.id) continue;
      this.dialers.set(id, { id, address, attempts: 0, timer: undefined, socket: undefined });
    }
  }

  get address(): { host: string; port: number } {
    if (this.listening === undefined) throw new Error('p2p: address read before listening');
    return this.listening;
  }

  async listen(): Promise<void> {
    const { host, port } = this.options.listen;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        reject(
          new PeerError(
            PeerErrorCode.listenFailed,
            `p2p: cannot listen on ${host}:${port}: ${error.code ?? error.message}`,
            { host, port, cause: error.code ?? error.message },
          ),
        );
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.server.on('error', (error: Error) => {
      this.options.logger.error({ error: error.message }, 'p2p server error');
    });
    const bound = this.server.address();
    if (bound === null || typeof bound === 'string') throw new Error('p2p: no TCP address');
    this.listening = { host, port: bound.port };
    this.options.logger.info(
      { node: this.shortId, host, port: bound.port, peers: this.dialers.size },
      'p2p listening',
    );
  }

  dialAll(): void {
    for (const dialer of this.dialers.values()) this.scheduleDial(dialer, 0);
  }

  // ---- the public surface -------------------------------------------------------------------

  send(peer: PeerId, channel: number, payload: Uint8Array): boolean {
    const frame = this.frameOf(channel, payload);
    const link = this.current.get(peer);
    return link === undefined ? false : link.enqueue(frame);
  }

  broadcast(channel: number, payload: Uint8Array): number {
    const frame = this.frameOf(channel, payload);
    let taken = 0;
    for (const link of this.current.values()) if (link.enqueue(frame)) taken++;
    return taken;
  }

  disconnect(peer: PeerId, reason: string): void {
    const shown = reason.length > reasonCharsMax ? `${reason.slice(0, reasonCharsMax)}…` : reason;
    this.penalise(peer);
    this.options.logger.warn(
      { peer: peer.slice(0, 16), reason: shown, penaltyMs: this.limits.penaltyDelayMs },
      'peer disconnected',
    );
    const dialer = this.dialers.get(peer);
    if (dialer !== undefined) {
      clearTimeout(dialer.timer);
      dialer.timer = undefined;
      dialer.socket?.destroy();
    }
    for (const link of this.links.get(peer) ?? []) {
      link.close(PeerErrorCode.disconnected, shown);
    }
    if (dialer !== undefined) this.scheduleDial(dialer);
  }

  pause(): void {
    if (this.paused || this.stopping !== undefined) return;
    this.paused = true;
    this.options.logger.info({ node: this.shortId }, 'p2p paused');
    this.closeEverything('this node paused its links');
  }

  resume(): void {
    if (!this.paused || this.stopping !== undefined) return;
    this.paused = false;
    this.options.logger.info({ node: this.shortId }, 'p2p resumed');
    for (const dialer of this.dialers.values()) {
      dialer.attempts = 0;
      this.scheduleDial(dialer, 0);
    }
  }

  peers(): readonly PeerInfo[] {
    const out: PeerInfo[] = [];
    for (const link of this.current.values()) {
      out.push({
        id: link.id,
        direction: link.direction,
        remote: link.remote,
        connectedAt: link.connectedAt,
        framesIn: link.framesIn,
        framesOut: link.framesOut,
        framesDropped: link.framesDropped,
        queuedBytes: link.queuedBytes,
      });
    }
    return out;
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  private async stopNow(): Promise<void> {
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.closeEverything('this node stopped');
    await Promise.all([serverClosed, ...this.sockets.values()]);
    this.options.logger.info({ node: this.shortId }, 'p2p stopped');
  }

  private closeEverything(reason: string): void {
    for (const dialer of this.dialers.values()) {
      clearTimeout(dialer.timer);
      dialer.timer = undefined;
    }
    for (const links of this.links.values()) {
      for (const link of links) link.close(PeerErrorCode.localShutdown, reason);
    }
    for (const socket of this.sockets.keys()) socket.destroy();
  }

  private frameOf(channel: number, payload: Uint8Array): Buffer {
    if (!Number.isInteger(channel) || channel <= controlChannel || channel > channelMax) {
      throw new PeerError(
        PeerErrorCode.invalidChannel,
        `p2p: channel: expected an integer from 1 to ${channelMax}, found ${String(channel)}`,
        { channel },
      );
    }
    if (!(payload instanceof Uint8Array) || payload.length > this.limits.frameBytesMax - 1) {
      const found = payload instanceof Uint8Array ? `${payload.length} bytes` : typeof payload;
      throw new PeerError(
        PeerErrorCode.payloadTooLarge,
        `p2p: payload: expected at most ${this.limits.frameBytesMax - 1} bytes, found ${found}`,
        { payloadBytesMax: this.limits.frameBytesMax - 1, found },
      );
    }
    return encodeFrame(channel, payload);
  }

  // ---- connections ---------------------------------------------------------------------------

  private track(socket: Socket): void {
    this.sockets.set(
      socket,
      new Promise<void>((resolve) => {
        socket.once('close', () => {
          this.sockets.delete(socket);
          resolve();
        });
      }),
    );
  }

  private accept(socket: Socket): void {
    this.track(socket);
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.paused || this.stopping !== undefined) {
      this.options.logger.debug({ remote }, 'inbound connection closed: links are paused');
      socket.destroy();
      return;
    }
    if (this.inboundPending.size >= this.limits.inboundHandshakesMax) {
      this.options.logger.warn(
        { remote, pending: this.inboundPending.size, pendingMax: this.limits.inboundHandshakesMax },
        'inbound connection refused: too many handshakes in progress',
      );
      socket.destroy();
      return;
    }
    this.inboundPending.add(remote);
    socket.once('close', () => this.inboundPending.delete(remote));
  }

  private onTlsClientError(error: NodeJS.ErrnoException, socket: tls.TLSSocket): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.paused || this.stopping !== undefined) return;
    const timedOut = error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
    this.options.logger.warn(
      {
        remote,
        code: timedOut ? PeerErrorCode.handshakeTimeout : PeerErrorCode.tlsFailed,
        reason: timedOut
          ? `expected a TLS handshake within ${this.limits.handshakeTimeoutMs} ms, found none`
          : `TLS handshake failed: ${error.code ?? error.message}`,
      },
      'peer refused',
    );
    socket.destroy();
  }

  private dial(dialer: Dialer): void {
    dialer.timer = undefined;
    if (this.paused || this.stopping !== undefined || this.links.has(dialer.id)) return;
    const penaltyEnd = this.penalties.get(dialer.id);
    if (penaltyEnd !== undefined && penaltyEnd > Date.now()) {
      // Timers may fire a little early against the wall clock; wait the penalty out.
      this.scheduleDial(dialer);
      return;
    }
    const { host, port } = dialer.address;
    const remote = `${host}:${port}`;
    const socket = tls.connect({
      ...this.tlsOptions,
      host,
      port,
      rejectUnauthorized: false,
      // The peer is named by its key, not by a host name; `checkPeer` compares the key.
      checkServerIdentity: () => undefined,
    });
    dialer.socket = socket;
    this.track(socket);
    let failure = 'the peer closed the connection during the TLS handshake';
    const deadline = setTimeout(() => {
      failure = `expected a TLS handshake within ${this.limits.handshakeTimeoutMs} ms, found none`;
      socket.destroy();
    }, this.limits.handshakeTimeoutMs);
    let secured = false;
    socket.once('secureConnect', () => {
      clearTimeout(deadline);
      secured = true;
      this.checkPeer(socket, 'outbound', dialer.address.publicKey);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!secured) failure = `${error.code ?? error.message}`;
    });
    socket.once('close', () => {
      clearTimeout(deadline);
      if (dialer.socket === socket) dialer.socket = undefined;
      if (!secured) {
        dialer.attempts++;
        this.options.logger.debug(
          { peer: dialer.id.slice(0, 16), remote, reason: failure, attempts: dialer.attempts },
          'dial failed',
        );
      }
      this.scheduleDial(dialer);
    });
  }

  /** Schedules the next dial of a peer, unless one is pending or a link to it exists. */
  private scheduleDial(dialer: Dialer, delayMs?: number): void {
    if (this.paused || this.stopping !== undefined) return;
    if (dialer.timer !== undefined || dialer.socket !== undefined) return;
    if (this.links.has(dialer.id)) return;
    let delay = delayMs ?? this.backoffDelay(dialer.attempts);
    const penaltyEnd = this.penalties.get(dialer.id);
    if (penaltyEnd !== undefined) delay = Math.max(delay, penaltyEnd - Date.now());
    dialer.timer = setTimeout(() => this.dial(dialer), delay);
  }

  /** Exponential backoff from the minimum to the maximum delay, with up to half taken off at random. */
  private backoffDelay(attempts: number): number {
    const { reconnectDelayMinMs: min, reconnectDelayMaxMs: max } = this.limits;
    const base = Math.min(max, min * 2 ** Math.min(attempts, 30));
    return Math.max(min, Math.round(base * (0.5 + Math.random() * 0.5)));
  }

  private penalise(peer: PeerId): void {
    this.penalties.set(peer, Date.now() + this.limits.penaltyDelayMs);
  }

  /**
   * The identity check after a TLS handshake (decision 0033): a certificate, self-signed by a
   * valid Ed25519 key, the key dialled (outbound), not our own, allowed by the membership, not
   * penalised. TLS 1.3's CertificateVerify has already proved the peer holds the private key.
   */
  private checkPeer(
    socket: tls.TLSSocket,
    direction: 'inbound' | 'outbound',
    expected: Uint8Array | undefined,
  ): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    // A reset after a refusal must not become an unhandled 'error' event; the link, if any,
    // records socket errors itself.
    socket.on('error', () => undefined);
    const refuse = (code: PeerErrorCode, reason: string, peer?: Uint8Array): void => {
      const who = peer === undefined ? {} : { peer: toHex(peer).slice(0, 16) };
      this.options.logger.warn({ remote, direction, ...who, code, reason }, 'peer refused');
      socket.destroy();
    };
    if (this.paused || this.stopping !== undefined) {
      socket.destroy();
      return;
    }
    const certificate = socket.getPeerX509Certificate();
    if (certificate === undefined) {
      refuse(PeerErrorCode.noCertificate, 'expected a certificate with a node key, found none');
      return;
    }
    const key = nodeKeyOfCertificate(certificate);
    if (!key.ok) {
      refuse(PeerErrorCode.badCertificate, key.problem);
      return;
    }
    const publicKey = key.publicKey;
    if (expected !== undefined && !equalBytes(publicKey, expected)) {
      refuse(
        PeerErrorCode.unexpectedKey,
        `expected node key ${shortHex(expected)}, found ${shortHex(publicKey)}`,
        publicKey,
      );
      return;
    }
    const id = toHex(publicKey);
    if (id === this.id) {
      refuse(
        PeerErrorCode.selfConnection,
        'expected another node, found this node’s own key',
        publicKey,
      );
      return;
    }
    if (!this.isAllowed(publicKey)) {
      refuse(PeerErrorCode.notAllowed, 'the key is not an allowed peer of this network', publicKey);
      return;
    }
    const penaltyEnd = this.penalties.get(id);
    if (penaltyEnd !== undefined && penaltyEnd > Date.now()) {
      refuse(
        PeerErrorCode.penalised,
        `the peer was cut for misbehaving; accepted again in ${penaltyEnd - Date.now()} ms`,
        publicKey,
      );
      return;
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, this.limits.handshakeTimeoutMs);
    const link = new PeerLink(socket, direction, publicKey, remote, {
      chainId: this.options.chainId,
      limits: this.limits,
      events: this,
    });
    let links = this.links.get(id);
    if (links === undefined) this.links.set(id, (links = new Set()));
    links.add(link);
  }

  private isAllowed(publicKey: Uint8Array): boolean {
    try {
      return this.options.isAllowedPeer(new Uint8Array(publicKey)) === true;
    } catch (error) {
      this.options.logger.error(
        { peer: toHex(publicKey).slice(0, 16), error: (error as Error).message },
        'isAllowedPeer threw; the peer is refused',
      );
      return false;
    }
  }

  // ---- link events ---------------------------------------------------------------------------

  up(link: PeerLink): void {
    this.inboundPending.delete(link.remote);
    const dialer = this.dialers.get(link.id);
    if (dialer !== undefined) dialer.attempts = 0;
    this.options.logger.info(
      { peer: link.shortId, direction: link.direction, remote: link.remote },
      'peer link up',
    );
    const existing = this.current.get(link.id);
    if (existing === undefined) {
      this.current.set(link.id, link);
    } else {
      const kept = this.preferredLink(existing, link);
      const dropped = kept === existing ? link : existing;
      this.current.set(link.id, kept);
      const dialledBy = kept.direction === 'outbound' ? 'this node' : 'the peer';
      dropped.close(
        PeerErrorCode.duplicateLink,
        `a second link to the same peer; the one dialled by ${dialledBy} is kept`,
      );
    }
    if (!this.reportedUp.has(link.id)) {
      this.reportedUp.add(link.id);
      this.callSafely('onPeerUp', () => this.options.onPeerUp?.(link.id));
    }
  }

  /**
   * Of two up links to one peer, the one both sides keep (decision 0034): the link dialled by the
   * lower of the two keys; if one node dialled both, the newer (the older one is a link that node
   * already gave up).
   */
  private preferredLink(older: PeerLink, newer: PeerLink): PeerLink {
    const dialerOf = (link: PeerLink): Uint8Array =>
      link.direction === 'outbound' ? this.options.keyPair.publicKey : link.publicKey;
    const order = compareBytes(dialerOf(older), dialerOf(newer));
    if (order === 0) return newer;
    return order < 0 ? older : newer;
  }

  frame(link: PeerLink, channel: number, payload: Uint8Array): void {
    try {
      this.options.onFrame(link.id, channel, payload);
    } catch (error) {
      this.options.logger.error(
        { peer: link.shortId, channel, bytes: payload.length, error: (error as Error).message },
        'onFrame threw; the peer is cut',
      );
      this.penalise(link.id);
      for (const each of this.links.get(link.id) ?? []) {
        each.close(PeerErrorCode.handlerFailed, `onFrame threw on a frame of channel ${channel}`);
      }
    }
  }

  closing(link: PeerLink, code: PeerErrorCode): void {
    // At once, so that a peer that misbehaved cannot slip back in before its socket has closed.
    if (penalisedCodes.has(code)) this.penalise(link.id);
  }

  closed(link: PeerLink, code: PeerErrorCode, reason: string): void {
    const links = this.links.get(link.id);
    links?.delete(link);
    if (links?.size === 0) this.links.delete(link.id);
    this.inboundPending.delete(link.remote);
    const fields = {
      peer: link.shortId,
      direction: link.direction,
      remote: link.remote,
      code,
      reason,
      framesIn: link.framesIn,
      framesOut: link.framesOut,
      framesDropped: link.framesDropped,
    };
    if (link.connectedAt === 0) {
      // Never up: the hello failed (wrong chain, timeout, garbage) or the peer refused us.
      if (code === PeerErrorCode.localShutdown)
        this.options.logger.debug(fields, 'peer link closed');
      else this.options.logger.warn(fields, 'peer refused');
    } else if (code === PeerErrorCode.duplicateLink) {
      this.options.logger.debug(fields, 'duplicate link closed');
    } else if (penalisedCodes.has(code) && code !== PeerErrorCode.disconnected) {
      this.options.logger.warn(fields, 'peer link cut');
    } else {
      this.options.logger.info(fields, 'peer link down');
    }
    if (this.current.get(link.id) === link) {
      this.current.delete(link.id);
      for (const other of links ?? []) {
        if (other.state === 'up') {
          this.current.set(link.id, other);
          break;
        }
      }
    }
    this.settle(link.id, `${code}: ${reason}`);
    const dialer = this.dialers.get(link.id);
    if (dialer !== undefined) this.scheduleDial(dialer);
  }

  /** Tells the application a peer is down once it has no up link and none in its hello. */
  private settle(peer: PeerId, reason: string): void {
    if (this.current.has(peer) || this.links.has(peer)) return;
    if (!this.reportedUp.delete(peer)) return;
    this.callSafely('onPeerDown', () => this.options.onPeerDown?.(peer, reason));
  }

  private callSafely(name: string, call: () => void): void {
    try {
      call();
    } catch (error) {
      this.options.logger.error(
        { callback: name, error: (error as Error).message },
        `${name} threw`,
      );
    }
  }
}

// ---- options ---------------------------------------------------------------------------------

function invalid(option: string, expected: string, found: string): PeerError {
  return new PeerError(
    PeerErrorCode.invalidOptions,
    `startPeerNetwork: ${option}: expected ${expected}, found ${found}`,
    { option, expected, found },
  );
}

function isPort(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= 65535;
}

/** Checks the options (naming the first one wrong) and returns the limits in force. */
function checkOptions(options: PeerNetworkOptions): P2pLimits {
  const limits: Record<string, number> = { ...p2pLimits };
  for (const [name, value] of Object.entries(options.limits ?? {})) {
    if (!(name in p2pLimits)) throw invalid(`limits.${name}`, 'a known limit', 'an unknown name');
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw invalid(`limits.${name}`, 'a positive integer', String(value));
    }
    limits[name] = value;
  }
  const checked = limits as P2pLimits;
  if (checked.reconnectDelayMinMs > checked.reconnectDelayMaxMs) {
    throw invalid(
      'limits.reconnectDelayMinMs',
      `at most reconnectDelayMaxMs (${checked.reconnectDelayMaxMs})`,
      String(checked.reconnectDelayMinMs),
    );
  }
  if (checked.frameBytesMax > 0xffffffff || checked.frameBytesMax <= checked.helloBytesMax) {
    throw invalid(
      'limits.frameBytesMax',
      `more than helloBytesMax (${checked.helloBytesMax}) and less than 2^32`,
      String(checked.frameBytesMax),
    );
  }
  if (checked.queueBytesMax < checked.frameBytesMax + 4) {
    throw invalid(
      'limits.queueBytesMax',
      `room for one full frame (${checked.frameBytesMax + 4} bytes)`,
      String(checked.queueBytesMax),
    );
  }
  const { chainId, keyPair, listen, peers } = options;
  if (typeof chainId !== 'string' || chainId.length === 0) {
    throw invalid(
      'chainId',
      'a non-empty string',
      typeof chainId === 'string' ? 'an empty string' : typeof chainId,
    );
  }
  if (utf8(chainId).length > checked.chainIdBytesMax) {
    throw invalid(
      'chainId',
      `at most ${checked.chainIdBytesMax} bytes`,
      `${utf8(chainId).length} bytes`,
    );
  }
  if (
    !(keyPair?.publicKey instanceof Uint8Array) ||
    keyPair.publicKey.length !== ed25519PublicKeyBytes ||
    !(keyPair.seed instanceof Uint8Array)
  ) {
    throw invalid('keyPair', 'an Ed25519 key pair (seed and 32-byte public key)', 'something else');
  }
  if (typeof listen?.host !== 'string' || listen.host.length === 0) {
    throw invalid('listen.host', 'a host name or address', String(listen?.host));
  }
  if (!isPort(listen.port, 0))
    throw invalid('listen.port', 'a port from 0 to 65535', String(listen.port));
  if (!Array.isArray(peers)) throw invalid('peers', 'an array', typeof peers);
  const seen = new Set<string>();
  peers.forEach((peer: PeerAddress, index) => {
    if (!isEd25519PublicKey(peer?.publicKey)) {
      throw invalid(
        `peers[${index}].publicKey`,
        'a valid 32-byte Ed25519 public key',
        'something else',
      );
    }
    const id = toHex(peer.publicKey);
    if (seen.has(id)) throw invalid(`peers[${index}].publicKey`, 'a key listed once', 'a repeat');
    seen.add(id);
    if (typeof peer.host !== 'string' || peer.host.length === 0) {
      throw invalid(`peers[${index}].host`, 'a host name or address', String(peer.host));
    }
    if (!isPort(peer.port, 1)) {
      throw invalid(`peers[${index}].port`, 'a port from 1 to 65535', String(peer.port));
    }
  });
  for (const name of ['isAllowedPeer', 'onFrame'] as const) {
    if (typeof options[name] !== 'function')
      throw invalid(name, 'a function', typeof options[name]);
  }
  if (typeof options.logger?.warn !== 'function') {
    throw invalid('logger', 'a logger with info, warn, error and debug', typeof options.logger);
  }
  return checked;
}
