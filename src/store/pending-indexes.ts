/**
 * What the hash-keyed tables (`state_current`, `transactions`) do not hold yet: the state keys
 * written and the transactions committed since their last checkpoint (`head.checkpoint_height`).
 * Rebuilt at open from the appended rows (`state_changes`, `blocks.tx_ids`), kept in memory, and
 * written out at the next checkpoint (decision 0031).
 */
import { toHex } from '../base/index.ts';
import { type Hash, hashBytes } from '../crypto/index.ts';

import type { TransactionLocation } from './chain-store.ts';

/** The state keys and transaction locations committed after the last checkpoint. */
export class PendingIndexes {
  /** The height the hash-keyed tables are up to date with. */
  checkpointHeight: number;
  /** State keys written since the checkpoint, by hex (their values are in the current state). */
  readonly stateKeys = new Map<string, Uint8Array>();
  /** Transactions committed since the checkpoint, by hex id: each one's first location. */
  readonly transactions = new Map<string, TransactionLocation>();

  constructor(checkpointHeight: number) {
    this.checkpointHeight = checkpointHeight;
  }

  /** Records a committed block's state keys and transactions. */
  addBlock(options: {
    height: number;
    txIds: readonly Hash[];
    logSizeBefore: number;
    stateKeys: Iterable<Uint8Array>;
  }): void {
    const { height, txIds, logSizeBefore } = options;
    for (const key of options.stateKeys) this.stateKeys.set(toHex(key), key);
    txIds.forEach((txId, index) => {
      const hex = toHex(txId);
      // A transaction included again (a replay, refused by its nonce) keeps its first place.
      if (!this.transactions.has(hex)) {
        this.transactions.set(hex, { height, index, logIndex: logSizeBefore + index });
      }
    });
  }

  /** Forgets everything: the tables now hold it, up to `height`. */
  checkpointed(height: number): void {
    this.stateKeys.clear();
    this.transactions.clear();
    this.checkpointHeight = height;
  }
}

/** A block's transaction ids as one BLOB (32 bytes each, in block order). */
export function packTxIds(txIds: readonly Hash[]): Uint8Array {
  const packed = new Uint8Array(txIds.length * hashBytes);
  txIds.forEach((txId, index) => packed.set(txId, index * hashBytes));
  return packed;
}

/** The ids of a `packTxIds` BLOB, or null if its length is not a multiple of 32. */
export function unpackTxIds(packed: Uint8Array): Hash[] | null {
  if (packed.length % hashBytes !== 0) return null;
  const txIds: Hash[] = [];
  for (let offset = 0; offset < packed.length; offset += hashBytes) {
    txIds.push(packed.slice(offset, offset + hashBytes));
  }
  return txIds;
}
