/** The p2p folder's domain error and the codes of every reason a link is refused or cut. */
import { MedLedgerError } from '../base/index.ts';

/**
 * Codes of `PeerError`. The same codes name, in logs and in `onPeerDown` reasons, why a link was
 * refused or cut, so that an operator can grep for them.
 */
export const PeerErrorCode = {
  /** `startPeerNetwork` was given options it cannot use; the message names the option. */
  invalidOptions: 'invalid-options',
  /** The listening socket could not be opened (port taken, address not local). */
  listenFailed: 'listen-failed',
  /** `send`/`broadcast` with a channel outside 1–255 (0 is the link's own control channel). */
  invalidChannel: 'invalid-channel',
  /** `send`/`broadcast` with a payload larger than one frame may carry. */
  payloadTooLarge: 'payload-too-large',
  /** The TLS handshake failed: not TLS at all (garbage bytes), a protocol error, a reset. */
  tlsFailed: 'tls-failed',
  /** The peer presented no certificate. */
  noCertificate: 'no-certificate',
  /** The peer's certificate is not a self-signed certificate of a valid Ed25519 key. */
  badCertificate: 'bad-certificate',
  /** The dialled peer presented another key than the one it was dialled for. */
  unexpectedKey: 'unexpected-key',
  /** The peer presented this node's own key. */
  selfConnection: 'self-connection',
  /** `isAllowedPeer` refused the peer's key. */
  notAllowed: 'not-allowed',
  /** The peer was cut for misbehaving and its penalty delay has not passed. */
  penalised: 'penalised',
  /** The TLS handshake and hello did not finish within `handshakeTimeoutMs`. */
  handshakeTimeout: 'handshake-timeout',
  /** The peer's hello is not a well-formed hello. */
  malformedHello: 'malformed-hello',
  /** The peer speaks another version of the link protocol. */
  wrongVersion: 'wrong-version',
  /** The peer is on another chain (its hello carries another chainId). */
  wrongChain: 'wrong-chain',
  /** The peer declared a frame longer than `frameBytesMax`, or of length 0. */
  frameTooLarge: 'frame-too-large',
  /** The peer sent a frame the link protocol does not allow here (a second hello, channel 0). */
  protocolViolation: 'protocol-violation',
  /** A second link to the same peer; the one the rule keeps survives (decision 0034). */
  duplicateLink: 'duplicate-link',
  /** The node cut the peer (`disconnect`), for example for a payload that does not verify. */
  disconnected: 'disconnected',
  /** `onFrame` threw on the peer's frame. */
  handlerFailed: 'handler-failed',
  /** The peer closed the connection, or the socket failed (reset, timeout). */
  connectionClosed: 'connection-closed',
  /** This node paused or stopped its links. */
  localShutdown: 'local-shutdown',
} as const;

/** One of the `PeerErrorCode` values. */
export type PeerErrorCode = (typeof PeerErrorCode)[keyof typeof PeerErrorCode];

/** An error of the peer-to-peer layer; `details` names the option, peer or sizes involved. */
export class PeerError extends MedLedgerError<PeerErrorCode> {}
