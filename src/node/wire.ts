/**
 * The node's own messages on its peer links, besides consensus messages (channel 1, encoded by
 * consensus): gossiped transactions (channel 2), block sync (channel 3), peer requests
 * (channel 4) and signed heads (channel 5). Each is one canonical CBOR value, strictly decoded
 * with bounds, so a malformed frame is refused before it is used.
 */
import {
  type Infer,
  array,
  bytes,
  nullable,
  struct,
  text,
  textEnum,
  uint,
} from '../codec/index.ts';
import { BlockHeaderSchema, BlockSchema, CommitSchema, chainLimits } from '../chain/index.ts';
import { nodeLimits } from './limits.ts';

/** A node's newest signed head: its header and the commit that certifies it (channel 5). */
export const HeadGossipSchema = struct({ header: BlockHeaderSchema, commit: CommitSchema });
export type HeadGossip = Infer<typeof HeadGossipSchema>;

/** A batch of encoded transactions, each checked like a submitted one. */
export const TxGossipSchema = array(bytes({ lengthMax: chainLimits.txBytesMax }), {
  itemsMax: nodeLimits.gossipBatchTxMax,
});

/** A sync request (`from` and up to `count` blocks) or its answer (decided blocks in order). */
export const SyncMessageSchema = struct({
  kind: textEnum(['request', 'blocks'] as const),
  from: uint({ max: chainLimits.integerMax }),
  count: uint({ max: nodeLimits.syncBlocksPerRequestMax }),
  blocks: nullable(
    array(struct({ block: BlockSchema, commit: CommitSchema }), {
      itemsMax: nodeLimits.syncBlocksPerRequestMax,
    }),
  ),
});
export type SyncMessage = Infer<typeof SyncMessageSchema>;

/**
 * A peer request, its answer, or an error answer (channel 4). `id` is chosen by the requester
 * and echoed in the answer; `payload` is opaque to the node (the records service's bytes, never
 * logged); `code` is set on an `error` answer only (a short kebab-case code, no message text),
 * and an `error` answer's payload is empty (`checkPeerRequestMessage`).
 */
export const PeerRequestMessageSchema = struct({
  kind: textEnum(['request', 'response', 'error'] as const),
  id: uint(),
  payload: bytes({ lengthMax: nodeLimits.peerRequestPayloadBytesMax }),
  code: nullable(text({ bytesMax: nodeLimits.peerRequestErrorCodeBytesMax })),
});
export type PeerRequestMessage = Infer<typeof PeerRequestMessageSchema>;

/** What an error code in an `error` answer looks like: kebab-case, as `MedLedgerError` codes. */
export const peerErrorCodePattern = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Why a decoded peer-request message is malformed (a code on a request or response, an error
 * without a well-formed code or with a payload), or null if it is well-formed.
 */
export function checkPeerRequestMessage(message: PeerRequestMessage): string | null {
  if (message.kind !== 'error') {
    return message.code === null ? null : `a ${message.kind} carries an error code`;
  }
  if (message.code === null || !peerErrorCodePattern.test(message.code)) {
    return 'an error answer without a kebab-case code';
  }
  return message.payload.length === 0 ? null : 'an error answer with a payload';
}
