/** The public types of the peer-to-peer layer (see README.md for the protocol they drive). */
import type { Ed25519KeyPair } from '../crypto/index.ts';
import type { P2pLimits } from './limits.ts';

/** A peer's identity: lowercase hex of its 32-byte Ed25519 node key (RFC 8032 §5.1.5). */
export type PeerId = string;

/** A peer to dial: the node key it must present, and where it listens. */
export interface PeerAddress {
  readonly publicKey: Uint8Array;
  readonly host: string;
  readonly port: number;
}

/** One connected peer, as `PeerNetwork.peers()` reports it. */
export interface PeerInfo {
  readonly id: PeerId;
  /** Who dialled the link in use: this node ('outbound') or the peer ('inbound'). */
  readonly direction: 'inbound' | 'outbound';
  /** The peer's socket address, `host:port`. */
  readonly remote: string;
  /** When the link came up (milliseconds since the epoch). */
  readonly connectedAt: number;
  /** Frames received from the peer on this link. */
  readonly framesIn: number;
  /** Frames accepted for the peer on this link (queued or written). */
  readonly framesOut: number;
  /** Frames refused because the peer's queue was full. */
  readonly framesDropped: number;
  /** Bytes waiting for the peer: in the send queue and in the socket's buffer. */
  readonly queuedBytes: number;
}

/** The structured logger the network writes to; a pino logger fits. */
export interface PeerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** What `startPeerNetwork` needs. */
export interface PeerNetworkOptions {
  /** Sent in the hello after the TLS handshake; a peer on another chain is refused. */
  readonly chainId: string;
  /** This node's identity: its certificate carries this key. */
  readonly keyPair: Ed25519KeyPair;
  /** Where to listen; port 0 = any free port. */
  readonly listen: { readonly host: string; readonly port: number };
  /** Whom to dial, and keep dialling with backoff while no link to them is up. */
  readonly peers: readonly PeerAddress[];
  /** Consulted at every handshake, inbound and outbound (the membership list can change). */
  isAllowedPeer(publicKey: Uint8Array): boolean;
  readonly logger: PeerLogger;
  /** Overrides of `p2pLimits`. */
  readonly limits?: Partial<P2pLimits>;
  /**
   * Called for every frame, in order per link, synchronously. Must not throw: if it does, the
   * error is logged and the peer cut as if `disconnect` had been called.
   */
  onFrame(peer: PeerId, channel: number, payload: Uint8Array): void;
  /** A peer's first link came up. */
  onPeerUp?(peer: PeerId): void;
  /** A peer's last link went down; `reason` starts with a `PeerErrorCode`. */
  onPeerDown?(peer: PeerId, reason: string): void;
}

/** A running set of authenticated, encrypted links to peers. */
export interface PeerNetwork {
  /** Where it listens (the real port if 0 was asked). */
  readonly address: { readonly host: string; readonly port: number };
  /** This node's id (hex of its public key). */
  readonly id: PeerId;
  /**
   * Queues a frame to one peer; false (nothing queued) if that peer is not connected or its queue
   * is full. Throws `PeerError` for a channel outside 1–255 or a payload over the frame limit.
   */
  send(peer: PeerId, channel: number, payload: Uint8Array): boolean;
  /** Queues a frame to every connected peer (skipping those whose queue is full); returns how many took it. */
  broadcast(channel: number, payload: Uint8Array): number;
  /** Cuts a peer (for a payload that does not decode or verify); logs `reason`; no reconnect before the penalty delay. */
  disconnect(peer: PeerId, reason: string): void;
  /** Closes every link and stops dialling and accepting, without closing the listening socket. */
  pause(): void;
  /** Undoes `pause`: dials every peer again at once and accepts inbound links. */
  resume(): void;
  /** The peers with a link up, one entry each. */
  peers(): readonly PeerInfo[];
  /** Closes the server and every link; resolves when all sockets are closed. */
  stop(): Promise<void>;
}
