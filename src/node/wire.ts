/**
 * The node's own messages on its peer links, besides consensus messages (channel 1, encoded by
 * consensus): gossiped transactions (channel 2) and block sync (channel 3). Each is one
 * canonical CBOR value, strictly decoded with bounds, so a malformed frame is refused before it
 * is used.
 */
import { type Infer, array, bytes, nullable, struct, textEnum, uint } from '../codec/index.ts';
import { BlockSchema, CommitSchema, chainLimits } from '../chain/index.ts';
import { nodeLimits } from './limits.ts';

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
