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
  /** A programmer error or an impossible state. */
  internal: 'internal',
} as const;

/** One of the `NodeErrorCode` values. */
export type NodeErrorCode = (typeof NodeErrorCode)[keyof typeof NodeErrorCode];

/** A failure of the node itself (not of a request, which gets a `SubmitResult`). */
export class NodeError extends MedLedgerError<NodeErrorCode> {}
