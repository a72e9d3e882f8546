/**
 * Ed25519 verification (RFC 8032 §5.1.7) on worker threads, so that checking a block's
 * signatures uses every core and leaves the event loop free.
 *
 * Each `verifyBatch` call is split into chunks, one per thread (at least `chunkItemsMin`, at most
 * `chunkItemsMax` items). A chunk travels as one transferred `ArrayBuffer` (layout in
 * `verify-worker.js`), so a postMessage costs one copy of the items and no serialisation. Each
 * thread holds at most `chunksInFlightPerThread` chunks, so it starts the next one while the
 * answer to the last one travels back. Verdicts are libsodium's, as in `crypto/ed25519.ts`: the
 * same library, and the same exact-length checks done here before packing.
 */
import { Worker } from 'node:worker_threads';

import { assert } from '../base/index.ts';
import { ed25519PublicKeyBytes, ed25519SignatureBytes } from '../crypto/index.ts';
import { VerifyPoolError, VerifyPoolErrorCode } from './errors.ts';

/** Bounds of the verify pool (TIGER_STYLE: every queue and batch has a limit). */
export const verifyPoolLimits = {
  /** Most threads in one pool. */
  threadsMax: 64,
  /** Default bound on batches accepted and not yet answered (queued or running). */
  pendingBatchesMax: 64,
  /** Most items in one `verifyBatch` call: a full block (10,000 transactions) and its commit. */
  batchItemsMax: 16_384,
  /** Largest sum of message lengths in one `verifyBatch` call, in bytes. */
  batchMessageBytesMax: 16 * 1024 * 1024,
  /** Fewest items worth sending to a thread alone (fewer cost more to post than to verify). */
  chunkItemsMin: 32,
  /** Most items in one message to a thread. */
  chunkItemsMax: 1024,
  /** Chunks a thread holds at once: one running, one waiting. */
  chunksInFlightPerThread: 2,
  /** Threads restarted after crashes, over the pool's life, before it gives up. */
  restartsMax: 8,
} as const;

/** One signature to check. */
export type VerifyItem = {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
};

/** A pool of verifier threads; see `createVerifyPool`. */
export type VerifyPool = {
  /**
   * The verdict of `ed25519Verify` for each item, in order. An item with a key or signature of
   * the wrong length is `false`, not an error. Rejects with `VerifyPoolError`: `busy` (too many
   * batches pending), `batch-too-large`, `worker-crashed`, `pool-failed` or `closed`.
   */
  verifyBatch(items: readonly VerifyItem[]): Promise<boolean[]>;
  /** Rejects pending batches with `closed` and ends every thread. Idempotent. */
  close(): Promise<void>;
  /** Counts for health checks and metrics. */
  stats(): VerifyPoolStats;
};

/** What `VerifyPool.stats` reports. */
export type VerifyPoolStats = {
  /** Threads running (0 once closed). */
  readonly threads: number;
  /** Batches accepted and not yet answered. */
  readonly pendingBatches: number;
  /** Chunks waiting for a thread. */
  readonly queuedChunks: number;
  /** Threads restarted after crashes so far. */
  readonly restarts: number;
};

const itemHeaderBytes = ed25519PublicKeyBytes + ed25519SignatureBytes + 4;

type Batch = {
  readonly results: boolean[];
  chunksLeft: number;
  settled: boolean;
  readonly resolve: (results: boolean[]) => void;
  readonly reject: (error: Error) => void;
};

type Chunk = {
  readonly id: number;
  readonly batch: Batch;
  /** Index in the batch of each packed item, in packing order. */
  readonly itemIndexes: readonly number[];
  readonly buffer: ArrayBuffer;
};

type Thread = {
  readonly worker: Worker;
  /** Kept apart because `worker.threadId` reads -1 once the thread has stopped. */
  readonly threadId: number;
  readonly inFlight: Map<number, Chunk>;
  /** The first error the thread reported before it exited, if any. */
  error: Error | undefined;
};

function isWellFormed(item: VerifyItem | undefined): item is VerifyItem {
  return (
    typeof item === 'object' &&
    item !== null &&
    item.publicKey instanceof Uint8Array &&
    item.publicKey.length === ed25519PublicKeyBytes &&
    item.signature instanceof Uint8Array &&
    item.signature.length === ed25519SignatureBytes &&
    item.message instanceof Uint8Array
  );
}

/** Packs items into the layout `verify-worker.js` reads. */
function pack(items: readonly VerifyItem[]): ArrayBuffer {
  let length = 4;
  for (const item of items) length += itemHeaderBytes + item.message.length;
  const buffer = new ArrayBuffer(length);
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  view.setUint32(0, items.length, true);
  let offset = 4;
  for (const item of items) {
    bytes.set(item.publicKey, offset);
    bytes.set(item.signature, offset + ed25519PublicKeyBytes);
    view.setUint32(
      offset + ed25519PublicKeyBytes + ed25519SignatureBytes,
      item.message.length,
      true,
    );
    bytes.set(item.message, offset + itemHeaderBytes);
    offset += itemHeaderBytes + item.message.length;
  }
  assert(offset === length, 'verify batch packing fills the buffer exactly');
  return buffer;
}

function checkOptions(options: { threads: number; pendingBatchesMax: number }): void {
  for (const [name, value, max] of [
    ['threads', options.threads, verifyPoolLimits.threadsMax],
    ['pendingBatchesMax', options.pendingBatchesMax, Number.MAX_SAFE_INTEGER],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1 || value > max) {
      throw new VerifyPoolError(
        VerifyPoolErrorCode.invalidOptions,
        `${name}: expected an integer from 1 to ${max}, got ${String(value)}`,
        { argument: name, found: value },
      );
    }
  }
}

class WorkerVerifyPool implements VerifyPool {
  readonly #threads: Thread[] = [];
  readonly #queue: Chunk[] = [];
  readonly #pendingBatchesMax: number;
  readonly #workerScript: URL;
  #pendingBatches = 0;
  #nextChunkId = 1;
  #restarts = 0;
  #closing: Promise<void> | undefined;
  #failure: VerifyPoolError | undefined;

  constructor(options: { threads: number; pendingBatchesMax: number; workerScript: URL }) {
    this.#pendingBatchesMax = options.pendingBatchesMax;
    this.#workerScript = options.workerScript;
    for (let i = 0; i < options.threads; i++) this.#startThread();
  }

  verifyBatch(items: readonly VerifyItem[]): Promise<boolean[]> {
    const refusal = this.#refusalOf(items);
    if (refusal !== undefined) return Promise.reject(refusal);
    const results = new Array<boolean>(items.length).fill(false);
    const packable: number[] = [];
    for (let i = 0; i < items.length; i++) if (isWellFormed(items[i])) packable.push(i);
    if (packable.length === 0) return Promise.resolve(results);
    return new Promise<boolean[]>((resolve, reject) => {
      const batch: Batch = { results, chunksLeft: 0, settled: false, resolve, reject };
      this.#pendingBatches += 1;
      const chunkSize = Math.min(
        verifyPoolLimits.chunkItemsMax,
        Math.max(verifyPoolLimits.chunkItemsMin, Math.ceil(packable.length / this.#threads.length)),
      );
      for (let start = 0; start < packable.length; start += chunkSize) {
        const itemIndexes = packable.slice(start, start + chunkSize);
        const buffer = pack(itemIndexes.map((index) => items[index]!));
        this.#queue.push({ id: this.#nextChunkId++, batch, itemIndexes, buffer });
        batch.chunksLeft += 1;
      }
      this.#dispatch();
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#closeNow();
    return this.#closing;
  }

  stats(): VerifyPoolStats {
    return {
      threads: this.#threads.length,
      pendingBatches: this.#pendingBatches,
      queuedChunks: this.#queue.length,
      restarts: this.#restarts,
    };
  }

  #refusalOf(batch: readonly VerifyItem[]): VerifyPoolError | undefined {
    // Kept apart from `batch`: Array.isArray narrows its argument to any[].
    const items: unknown = batch;
    if (this.#closing !== undefined) {
      return new VerifyPoolError(VerifyPoolErrorCode.closed, 'verify pool is closed');
    }
    if (this.#failure !== undefined) return this.#failure;
    if (!Array.isArray(items) || items.length > verifyPoolLimits.batchItemsMax) {
      const found = Array.isArray(items) ? `${items.length} items` : typeof items;
      return new VerifyPoolError(
        VerifyPoolErrorCode.batchTooLarge,
        `items: expected an array of at most batchItemsMax ${verifyPoolLimits.batchItemsMax} ` +
          `items, got ${found}; split the batch`,
        { found },
      );
    }
    let messageBytes = 0;
    for (const item of batch) if (isWellFormed(item)) messageBytes += item.message.length;
    if (messageBytes > verifyPoolLimits.batchMessageBytesMax) {
      return new VerifyPoolError(
        VerifyPoolErrorCode.batchTooLarge,
        `items: expected at most batchMessageBytesMax ${verifyPoolLimits.batchMessageBytesMax} ` +
          `message bytes in one batch, got ${messageBytes}; split the batch`,
        { found: messageBytes },
      );
    }
    if (this.#pendingBatches >= this.#pendingBatchesMax) {
      return new VerifyPoolError(
        VerifyPoolErrorCode.busy,
        `verify pool busy: ${this.#pendingBatches} batches pending, the limit is ` +
          `${this.#pendingBatchesMax}; retry when some have completed`,
        { pending: this.#pendingBatches, limit: this.#pendingBatchesMax },
      );
    }
    return undefined;
  }

  #startThread(): void {
    const worker = new Worker(this.#workerScript);
    const thread: Thread = {
      worker,
      threadId: worker.threadId,
      inFlight: new Map(),
      error: undefined,
    };
    // An idle pool must not keep the process alive; a thread is referenced only while busy.
    worker.unref();
    worker.on('message', (answer: { id: number; results: ArrayBuffer }) => {
      this.#answer(thread, answer);
    });
    worker.on('error', (error) => {
      thread.error ??= error;
    });
    worker.on('messageerror', (error) => {
      thread.error ??= error;
    });
    worker.on('exit', (exitCode) => {
      this.#exited(thread, exitCode);
    });
    this.#threads.push(thread);
  }

  #answer(thread: Thread, answer: { id: number; results: ArrayBuffer }): void {
    // An answer posted before close() and delivered after it: close() has already rejected its
    // batch and forgotten the chunk.
    if (this.#closing !== undefined) return;
    const chunk = thread.inFlight.get(answer.id);
    assert(chunk !== undefined, 'a verify worker answers only chunks it was sent');
    thread.inFlight.delete(answer.id);
    if (thread.inFlight.size === 0) thread.worker.unref();
    const verdicts = new Uint8Array(answer.results);
    assert(verdicts.length === chunk.itemIndexes.length, 'a verify worker answers every item');
    const batch = chunk.batch;
    if (!batch.settled) {
      for (let i = 0; i < verdicts.length; i++)
        batch.results[chunk.itemIndexes[i]!] = verdicts[i] === 1;
      batch.chunksLeft -= 1;
      if (batch.chunksLeft === 0) this.#settle(batch, undefined);
    }
    this.#dispatch();
  }

  #exited(thread: Thread, exitCode: number): void {
    const index = this.#threads.indexOf(thread);
    if (index >= 0) this.#threads.splice(index, 1);
    if (this.#closing !== undefined) return;
    const cause = thread.error === undefined ? '' : `: ${thread.error.message}`;
    const crash = new VerifyPoolError(
      VerifyPoolErrorCode.workerCrashed,
      `verify worker thread ${thread.threadId} stopped with exit code ${exitCode}${cause}; ` +
        `the ${thread.inFlight.size} chunk(s) it held were lost, so their batches are rejected`,
      { threadId: thread.threadId, exitCode, cause: thread.error?.message },
    );
    for (const chunk of thread.inFlight.values()) this.#settle(chunk.batch, crash);
    thread.inFlight.clear();
    if (this.#restarts < verifyPoolLimits.restartsMax) {
      this.#restarts += 1;
      this.#startThread();
      this.#dispatch();
    } else if (this.#threads.length === 0) {
      this.#failure = new VerifyPoolError(
        VerifyPoolErrorCode.poolFailed,
        `verify pool failed: every thread has stopped and restartsMax ` +
          `${verifyPoolLimits.restartsMax} restarts are used up; the last stop was: ${crash.message}`,
        { restarts: this.#restarts },
      );
      for (const chunk of this.#queue.splice(0)) this.#settle(chunk.batch, this.#failure);
    }
  }

  /** Resolves or rejects a batch once, and drops its chunks still waiting in the queue. */
  #settle(batch: Batch, error: Error | undefined): void {
    if (batch.settled) return;
    batch.settled = true;
    this.#pendingBatches -= 1;
    if (error === undefined) {
      batch.resolve(batch.results);
      return;
    }
    batch.reject(error);
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      if (this.#queue[i]!.batch === batch) this.#queue.splice(i, 1);
    }
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let idlest: Thread | undefined;
      for (const thread of this.#threads) {
        if (thread.inFlight.size >= verifyPoolLimits.chunksInFlightPerThread) continue;
        if (idlest === undefined || thread.inFlight.size < idlest.inFlight.size) idlest = thread;
      }
      if (idlest === undefined) return;
      const chunk = this.#queue.shift()!;
      if (idlest.inFlight.size === 0) idlest.worker.ref();
      idlest.inFlight.set(chunk.id, chunk);
      idlest.worker.postMessage({ id: chunk.id, buffer: chunk.buffer }, [chunk.buffer]);
    }
  }

  async #closeNow(): Promise<void> {
    const closed = new VerifyPoolError(VerifyPoolErrorCode.closed, 'verify pool closed');
    for (const chunk of this.#queue.splice(0)) this.#settle(chunk.batch, closed);
    const threads = this.#threads.splice(0);
    for (const thread of threads) {
      for (const chunk of thread.inFlight.values()) this.#settle(chunk.batch, closed);
      thread.inFlight.clear();
    }
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }
}

/**
 * Starts `threads` verifier threads. `pendingBatchesMax` bounds the batches accepted and not yet
 * answered (default `verifyPoolLimits.pendingBatchesMax`); beyond it `verifyBatch` rejects with
 * `busy` rather than queueing without end. `workerScript` replaces the worker, for tests only.
 */
export function createVerifyPool(options: {
  threads: number;
  pendingBatchesMax?: number;
  workerScript?: URL;
}): VerifyPool {
  const pendingBatchesMax = options.pendingBatchesMax ?? verifyPoolLimits.pendingBatchesMax;
  checkOptions({ threads: options.threads, pendingBatchesMax });
  return new WorkerVerifyPool({
    threads: options.threads,
    pendingBatchesMax,
    workerScript: options.workerScript ?? new URL('./verify-worker.js', import.meta.url),
  });
}
