// Shared by the p2p tests: deterministic keys, a logger that keeps its lines, and networks on 127.0.0.1.
import { type Socket, createServer } from 'node:net';
import { type TLSSocket, connect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';

import { toHex, utf8 } from '../../src/base/index.ts';
import { type Ed25519KeyPair, ed25519KeyPairFromSeed, sha256 } from '../../src/crypto/index.ts';
import {
  type P2pLimits,
  type PeerAddress,
  type PeerId,
  type PeerLogger,
  type PeerNetwork,
  startPeerNetwork,
} from '../../src/p2p/index.ts';
import { encodeFrame } from '../../src/p2p/frame.ts';
import { encodeHello, p2pProtocolVersion } from '../../src/p2p/hello.ts';
import { createNodeCertificate } from '../../src/p2p/node-certificate.ts';

export const testChainId = 'medledger-p2p-test';

/** The key pair of test node `index` (the same at every run). */
export function keyPairOf(index: number): Ed25519KeyPair {
  return ed25519KeyPairFromSeed(sha256(utf8(`p2p-test-node:${index}`)));
}

/** Short delays so that reconnects and penalties happen within a test. */
export const fastLimits: Partial<P2pLimits> = {
  reconnectDelayMinMs: 20,
  reconnectDelayMaxMs: 200,
  handshakeTimeoutMs: 2_000,
  penaltyDelayMs: 1_000,
};

/** One line the network logged. */
export interface LogLine {
  readonly level: 'info' | 'warn' | 'error' | 'debug';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A `PeerLogger` that keeps every line, for assertions on what was logged. */
export class MemoryLogger implements PeerLogger {
  readonly lines: LogLine[] = [];
  info(obj: object, msg: string): void {
    this.lines.push({ level: 'info', fields: obj as Record<string, unknown>, message: msg });
  }
  warn(obj: object, msg: string): void {
    this.lines.push({ level: 'warn', fields: obj as Record<string, unknown>, message: msg });
  }
  error(obj: object, msg: string): void {
    this.lines.push({ level: 'error', fields: obj as Record<string, unknown>, message: msg });
  }
  debug(obj: object, msg: string): void {
    this.lines.push({ level: 'debug', fields: obj as Record<string, unknown>, message: msg });
  }
  /** Lines whose fields include `code` (a `PeerErrorCode`). */
  withCode(code: string): LogLine[] {
    return this.lines.filter((line) => line.fields.code === code);
  }
}

/** Polls `condition` every 10 ms; throws naming `what` if it does not hold within `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for: ${what}`);
    await sleep(10);
  }
}

/** A TCP port free at the time of asking (for tests where two nodes must know each other's port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A frame as a test node received it. */
export interface Received {
  readonly from: PeerId;
  readonly channel: number;
  readonly payload: Uint8Array;
}

/** A running test node: its network and what it saw. */
export interface TestNode {
  readonly index: number;
  readonly keyPair: Ed25519KeyPair;
  readonly id: PeerId;
  readonly network: PeerNetwork;
  readonly logger: MemoryLogger;
  readonly received: Received[];
  readonly ups: PeerId[];
  readonly downs: { peer: PeerId; reason: string }[];
  /** Peers with a link up, as onPeerUp/onPeerDown told. */
  readonly upNow: Set<PeerId>;
  address(): PeerAddress;
}

/** Starts test node `index` on 127.0.0.1. */
export async function startTestNode(options: {
  index: number;
  peers?: readonly PeerAddress[];
  port?: number;
  chainId?: string;
  limits?: Partial<P2pLimits>;
  isAllowedPeer?: (publicKey: Uint8Array) => boolean;
  onFrame?: (peer: PeerId, channel: number, payload: Uint8Array) => void;
}): Promise<TestNode> {
  const keyPair = keyPairOf(options.index);
  const logger = new MemoryLogger();
  const received: Received[] = [];
  const ups: PeerId[] = [];
  const downs: { peer: PeerId; reason: string }[] = [];
  const upNow = new Set<PeerId>();
  const network = await startPeerNetwork({
    chainId: options.chainId ?? testChainId,
    keyPair,
    listen: { host: '127.0.0.1', port: options.port ?? 0 },
    peers: options.peers ?? [],
    isAllowedPeer: options.isAllowedPeer ?? (() => true),
    logger,
    limits: { ...fastLimits, ...options.limits },
    onFrame(peer, channel, payload) {
      options.onFrame?.(peer, channel, payload);
      received.push({ from: peer, channel, payload: new Uint8Array(payload) });
    },
    onPeerUp(peer) {
      ups.push(peer);
      upNow.add(peer);
    },
    onPeerDown(peer, reason) {
      downs.push({ peer, reason });
      upNow.delete(peer);
    },
  });
  return {
    index: options.index,
    keyPair,
    id: toHex(keyPair.publicKey),
    network,
    logger,
    received,
    ups,
    downs,
    upNow,
    address: () => ({
      publicKey: keyPair.publicKey,
      host: network.address.host,
      port: network.address.port,
    }),
  };
}

/** A payload that says who sent it and its sequence number, padded to `bytes`. */
export function numberedPayload(sequence: number, bytes = 8): Uint8Array {
  const payload = new Uint8Array(Math.max(bytes, 4));
  new DataView(payload.buffer).setUint32(0, sequence);
  return payload;
}

/** The sequence number of a `numberedPayload`. */
export function sequenceOf(payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0);
}

/**
 * A hand-driven TLS client, for the hostile-peer tests: it presents the certificate of `keyPair`
 * (or none) and then sends whatever the test writes. Resolves once the TLS handshake is done.
 */
export async function connectRogue(options: {
  port: number;
  keyPair?: Ed25519KeyPair;
  hello?: { chainId: string; version?: number };
}): Promise<TLSSocket> {
  const certificate =
    options.keyPair === undefined ? undefined : await createNodeCertificate(options.keyPair);
  const socket = connect({
    host: '127.0.0.1',
    port: options.port,
    minVersion: 'TLSv1.3',
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
    ...(certificate === undefined
      ? {}
      : { cert: certificate.certificatePem, key: certificate.privateKeyPem }),
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  if (options.hello !== undefined) {
    const hello = encodeHello({
      version: options.hello.version ?? p2pProtocolVersion,
      chainId: options.hello.chainId,
    });
    socket.write(encodeFrame(0, hello));
  }
  return socket;
}

/** Resolves when `socket` closes; reads (and drops) what arrives meanwhile, so that EOF is seen. */
export function closed(socket: Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  socket.resume();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}
