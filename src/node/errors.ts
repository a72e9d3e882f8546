/** The node folder's domain error (STYLE.md "Errors"). */
import { MedLedgerError } from '../base/index.ts';

/** Codes of `NodeError`. */
export const NodeErrorCode = {
  /** The configuration or a file it names is wrong; the message names the field or file. */
  config: 'config',
  /** This node's execution of a block decided by a quorum disagrees with the block: stop. */
  diverged: 'diverged',
  /** The node is stopping or stopped. */
  stopped: 'stopped',
  /** An argument of a call is wrong; the message names it. */
  invalidArgument: 'invalid-argument',
  /** The node's own transaction was not admitted; `details.code` is the `SubmitResult` code. */
  refused: 'refused',
  /** A wait ran out: an own transaction not committed, or a peer that did not answer, in time. */
  timeout: 'timeout',
  /** A peer request to a peer this node has no link with (unknown, not a member, or down). */
  notLinked: 'not-linked',
  /** A peer request's payload is over `nodeLimits.peerRequestPayloadBytesMax`: not sent. */
  payloadTooLarge: 'payload-too-large',
  /** Too many requests wait for that peer already, or its link's send queue is full. */
  busy: 'busy',
  /** The peer answered the request with an error; `details.peerCode` is its code. */
  peerError: 'peer-error',
  /** A programmer error or an impossible state. */
  internal: 'internal',
} as const;

/** One of the `NodeErrorCode` values. */
export type NodeErrorCode = (typeof NodeErrorCode)[keyof typeof NodeErrorCode];

/**
 * A failure of the node itself, of a wait on it, or of a peer request (a submitted transaction's
 * refusal is a `SubmitResult`, not an error).
 */
export class NodeError extends MedLedgerError<NodeErrorCode> {}
