/**
 * Gathers the node's access decisions into `access.record` transactions (IHE BALP events on
 * chain, decision 0028): a batch goes when it holds `auditBatchEventsMax` events or its first
 * event has waited `auditBatchDelayMs`. The queue is bounded: a full queue refuses new events,
 * and the caller refuses the request it would have audited (no access without its audit).
 */
import type { Logger } from 'pino';

import type { AuditEventInput } from '../contracts/index.ts';
import { FhirError } from '../fhir/index.ts';
import { recordsLimits } from './limits.ts';
import type { RecordsNode } from './records-node.ts';

export class AuditBatcher {
  readonly #node: RecordsNode;
  readonly #logger: Logger;
  #queue: AuditEventInput[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Batches submitted and not yet committed (or failed). */
  readonly #inFlight = new Set<Promise<void>>();
  /** Events of those batches: they count against the queue bound until committed. */
  #inFlightEvents = 0;
  #sent = 0;
  #failed = 0;

  constructor(options: { node: RecordsNode; logger: Logger }) {
    this.#node = options.node;
    this.#logger = options.logger;
  }

  /** Events committed and events whose transaction failed, since start. */
  get counts(): { sent: number; failed: number; queued: number } {
    return {
      sent: this.#sent,
      failed: this.#failed,
      queued: this.#queue.length + this.#inFlightEvents,
    };
  }

  /** Queues one event; throws a 429 `FhirError` when the queue is full. */
  record(event: AuditEventInput): void {
    if (this.#queue.length + this.#inFlightEvents >= recordsLimits.auditQueueEventsMax) {
      throw new FhirError('throttled', 'the audit queue is full; try again shortly', {
        status: 429,
        details: { retryAfterSeconds: recordsLimits.auditQueueRetryAfterSeconds },
      });
    }
    this.#queue.push(event);
    if (this.#queue.length >= recordsLimits.auditBatchEventsMax) this.#flushSoon(0);
    else this.#flushSoon(recordsLimits.auditBatchDelayMs);
  }

  /** Sends everything queued and waits for it (tests, shutdown). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queue.length > 0) this.#send();
    await Promise.all([...this.#inFlight]);
  }

  #flushSoon(delayMs: number): void {
    if (this.#timer !== undefined && delayMs > 0) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      while (
        this.#queue.length > 0 &&
        this.#inFlight.size < recordsLimits.auditBatchesInFlightMax
      ) {
        this.#send();
      }
      // What is left goes when a batch in flight commits.
    }, delayMs);
  }

  #send(): void {
    const events = this.#queue.splice(0, recordsLimits.auditBatchEventsMax);
    this.#inFlightEvents += events.length;
    // Several batches may be in flight: the node gives its own transactions consecutive nonces
    // in the order they are submitted, and each batch stands on its own.
    const batch = (async () => {
      try {
        const location = await this.#node.submitOwnAndWait(
          'access.record',
          { events },
          recordsLimits.commitWaitMs,
        );
        if (location.receipt.ok) this.#sent += events.length;
        else {
          this.#failed += events.length;
          this.#logger.error(
            { code: location.receipt.code, events: events.length },
            'audit batch refused by the access contract',
          );
        }
      } catch (error) {
        this.#failed += events.length;
        this.#logger.error(
          { error: error instanceof Error ? error.message : String(error), events: events.length },
          'audit batch not committed',
        );
      }
    })().finally(() => {
      this.#inFlightEvents -= events.length;
      this.#inFlight.delete(batch);
      if (this.#queue.length > 0) this.#flushSoon(0);
    });
    this.#inFlight.add(batch);
  }
}
