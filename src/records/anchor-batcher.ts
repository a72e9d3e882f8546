/**
 * Group commit of record anchors (decision 0061): the anchors of single writes queued within
 * `anchorBatchDelayMs` of each other (under load, the versions one vault commit made durable
 * together, and those of the next commits) go to the chain as one `record.anchor-batch`
 * transaction of at most `anchorBatchMax` anchors, so the network signs, gossips, verifies and
 * orders one transaction for several writes; a full batch goes at once. A lone anchor still goes
 * as a plain `record.anchor`. Each write keeps its own answer: a batch is atomic on chain, so if
 * the contract refuses it (one anchor out of order, say), every anchor of it is sent again on its
 * own and gets its own receipt; an anchor that did not commit in time fails with its batch.
 */
import type { AnchorRecordInput } from '../contracts/index.ts';
import type { TransactionLocation } from '../node/index.ts';
import { recordsLimits } from './limits.ts';
import type { RecordsNode } from './records-node.ts';

/** What a queued anchor is told: the location and receipt of the transaction that held it. */
type PendingAnchor = {
  readonly body: AnchorRecordInput;
  readonly resolve: (location: TransactionLocation) => void;
  readonly reject: (error: unknown) => void;
};

export class AnchorBatcher {
  readonly #node: Pick<RecordsNode, 'submitOwnAndWait'>;
  #queue: PendingAnchor[] = [];
  #timer: NodeJS.Timeout | undefined;
  #batches = 0;
  #batchedAnchors = 0;
  #retriedAnchors = 0;

  constructor(options: { node: Pick<RecordsNode, 'submitOwnAndWait'> }) {
    this.#node = options.node;
  }

  /** Batches sent, anchors they held, anchors sent again on their own after a refused batch. */
  get counts(): { batches: number; batchedAnchors: number; retriedAnchors: number } {
    return {
      batches: this.#batches,
      batchedAnchors: this.#batchedAnchors,
      retriedAnchors: this.#retriedAnchors,
    };
  }

  /**
   * Anchors one record version; resolves with the committed transaction's location (whose receipt
   * may still say the contract refused it), rejects if it was not committed in time.
   */
  anchor(body: AnchorRecordInput): Promise<TransactionLocation> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ body, resolve, reject });
      if (this.#queue.length >= recordsLimits.anchorBatchMax) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), recordsLimits.anchorBatchDelayMs);
    });
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, recordsLimits.anchorBatchMax);
      if (batch.length === 1) this.#sendOne(batch[0]!);
      else void this.#sendBatch(batch);
    }
  }

  #sendOne(item: PendingAnchor): void {
    this.#node
      .submitOwnAndWait('record.anchor', item.body, recordsLimits.commitWaitMs)
      .then(item.resolve, item.reject);
  }

  async #sendBatch(batch: readonly PendingAnchor[]): Promise<void> {
    this.#batches += 1;
    this.#batchedAnchors += batch.length;
    let location: TransactionLocation;
    try {
      location = await this.#node.submitOwnAndWait(
        'record.anchor-batch',
        { anchors: batch.map((item) => item.body) },
        recordsLimits.commitWaitMs,
      );
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    if (location.receipt.ok) {
      for (const item of batch) item.resolve(location);
      return;
    }
    // Refused whole: nothing of it was written, so each anchor goes again on its own and the
    // one at fault gets the contract's refusal as its own receipt.
    this.#retriedAnchors += batch.length;
    for (const item of batch) this.#sendOne(item);
  }
}
