/** The tunable numbers of the peer-to-peer layer, in one place, each named with its unit. */

/**
 * Limits and delays of node-to-node links. `PeerNetworkOptions.limits` overrides any of them
 * (tests shorten the delays); `startPeerNetwork` checks the result.
 */
export const p2pLimits = {
  /** Largest frame body (1 channel byte + payload) a peer may declare; larger is refused at once. */
  frameBytesMax: 8 * 1024 * 1024,
  /** Most frames waiting in one peer's send queue; beyond it `send` returns false. */
  queueFramesMax: 8192,
  /** Most bytes waiting in one peer's send queue (frame headers included); at least one full frame. */
  queueBytesMax: 32 * 1024 * 1024,
  /** Most bytes handed to the socket in one write: small frames are coalesced up to this. */
  writeChunkBytesMax: 64 * 1024,
  /** First reconnect delay after a link is lost or a dial fails. */
  reconnectDelayMinMs: 100,
  /** Reconnect delays double up to this bound (then jitter takes off up to half). */
  reconnectDelayMaxMs: 5_000,
  /** Time allowed for the TLS handshake, and again for the hello exchange after it. */
  handshakeTimeoutMs: 5_000,
  /** Time a peer cut for misbehaving is neither dialled nor accepted. */
  penaltyDelayMs: 30_000,
  /** Most inbound connections still in their handshake at once; more are closed at once. */
  inboundHandshakesMax: 64,
  /** Largest hello payload (protocol name, version, chainId). */
  helloBytesMax: 1024,
  /** Longest chainId, in UTF-8 bytes. */
  chainIdBytesMax: 256,
} as const;

/** `p2pLimits` with every value a plain number, as the options may override them. */
export type P2pLimits = { readonly [K in keyof typeof p2pLimits]: number };
