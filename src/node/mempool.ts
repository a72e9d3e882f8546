/**
 * The mempool: transactions whose signatures verified, waiting for a block. Bounded in count, in
 * bytes and per signer (a full mempool answers `busy` rather than growing); a signer's
 * transactions are kept in nonce order and proposed only as a run of consecutive nonces from the
 * signer's next nonce; blocks take one transaction per signer in turn, so one busy signer cannot
 * crowd the others out.
 */
import type { Transaction } from '../chain/index.ts';
import type { Hash } from '../crypto/index.ts';
import { nodeLimits } from './limits.ts';

/** A verified transaction waiting for a block. */
export interface MempoolEntry {
  readonly tx: Transaction;
  readonly encoded: Uint8Array;
  readonly id: Hash;
  readonly idHex: string;
  readonly signerHex: string;
  /** When this node admitted it (its clock, ms): commit latency is measured from here. */
  readonly admittedAtMs: number;
}

/** Why a transaction was not admitted. */
export type MempoolRefusal = {
  readonly code: 'busy' | 'duplicate' | 'bad-nonce';
  readonly message: string;
};

/** The bounds of one mempool (defaults from `nodeLimits`). */
export interface MempoolBounds {
  readonly txCountMax: number;
  readonly bytesMax: number;
  readonly signerTxCountMax: number;
}

export class Mempool {
  readonly #bounds: MempoolBounds;
  readonly #entries = new Map<string, MempoolEntry>();
  /** Each signer's entries, sorted by nonce. */
  readonly #bySigner = new Map<string, MempoolEntry[]>();
  #bytes = 0;
  /** Ids whose signatures verified, remembered (bounded, oldest dropped first). */
  readonly #verified = new Set<string>();
  #reapOffset = 0;

  constructor(bounds: Partial<MempoolBounds> = {}) {
    this.#bounds = {
      txCountMax: bounds.txCountMax ?? nodeLimits.mempoolTxCountMax,
      bytesMax: bounds.bytesMax ?? nodeLimits.mempoolBytesMax,
      signerTxCountMax: bounds.signerTxCountMax ?? nodeLimits.mempoolSignerTxCountMax,
    };
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  has(idHex: string): boolean {
    return this.#entries.has(idHex);
  }

  /** Whether the signature of transaction `idHex` verified here (in the mempool or lately). */
  isVerified(idHex: string): boolean {
    return this.#verified.has(idHex);
  }

  /** Remembers that the signature of `idHex` verified. */
  markVerified(idHex: string): void {
    if (this.#verified.has(idHex)) return;
    this.#verified.add(idHex);
    if (this.#verified.size > nodeLimits.verifiedIdsRememberedMax) {
      // A Set iterates in insertion order: the first is the oldest.
      const oldest = this.#verified.values().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
  }

  /**
   * The first nonce from `from` (the signer's committed next nonce) that none of the signer's
   * waiting transactions holds: the end of the run of consecutive nonces starting at `from`.
   * With nothing lost it is the last waiting nonce + 1; if a transaction of the run was dropped
   * (expired), it is that gap, so the next transaction fills it and the run can be proposed.
   */
  firstFreeNonce(signerHex: string, from: number): number {
    let next = from;
    for (const entry of this.#bySigner.get(signerHex) ?? []) {
      if (entry.tx.nonce < next) continue;
      if (entry.tx.nonce !== next) break;
      next++;
    }
    return next;
  }

  /** Why `entry` cannot be admitted now, or null if it can (nothing is changed). */
  refusal(options: {
    idHex: string;
    signerHex: string;
    nonce: number;
    bytes: number;
    nextNonce: number;
  }): MempoolRefusal | null {
    if (this.#entries.has(options.idHex)) {
      return { code: 'duplicate', message: 'the transaction is already waiting in the mempool' };
    }
    if (options.nonce < options.nextNonce) {
      return {
        code: 'bad-nonce',
        message: `nonce ${options.nonce} was already used: the signer's next nonce is ${options.nextNonce}`,
      };
    }
    const queue = this.#bySigner.get(options.signerHex);
    if (queue !== undefined && queue.some((entry) => entry.tx.nonce === options.nonce)) {
      return {
        code: 'duplicate',
        message: `another transaction of this signer with nonce ${options.nonce} is already waiting`,
      };
    }
    if ((queue?.length ?? 0) >= this.#bounds.signerTxCountMax) {
      return {
        code: 'busy',
        message: `the signer has ${this.#bounds.signerTxCountMax} transactions waiting already; try again after some commit`,
      };
    }
    if (this.#entries.size >= this.#bounds.txCountMax) {
      return {
        code: 'busy',
        message: `the mempool is full (${this.#bounds.txCountMax} transactions)`,
      };
    }
    if (this.#bytes + options.bytes > this.#bounds.bytesMax) {
      return { code: 'busy', message: `the mempool is full (${this.#bounds.bytesMax} bytes)` };
    }
    return null;
  }

  /** Admits a verified transaction; returns the refusal instead if it no longer fits. */
  admit(entry: MempoolEntry, nextNonce: number): MempoolRefusal | null {
    const refusal = this.refusal({
      idHex: entry.idHex,
      signerHex: entry.signerHex,
      nonce: entry.tx.nonce,
      bytes: entry.encoded.length,
      nextNonce,
    });
    if (refusal !== null) return refusal;
    this.markVerified(entry.idHex);
    this.#entries.set(entry.idHex, entry);
    this.#bytes += entry.encoded.length;
    let queue = this.#bySigner.get(entry.signerHex);
    if (queue === undefined) {
      queue = [];
      this.#bySigner.set(entry.signerHex, queue);
    }
    let at = queue.length;
    while (at > 0 && queue[at - 1]!.tx.nonce > entry.tx.nonce) at--;
    queue.splice(at, 0, entry);
    return null;
  }

  /**
   * The transactions for the next block: for each signer, the run of consecutive nonces from its
   * next nonce; signers take turns (one transaction each per pass, starting from a rotating
   * signer), up to the count and byte bounds. Nothing is removed: commit removes.
   */
  reap(options: {
    txCountMax: number;
    bytesMax: number;
    nextNonceOf: (entry: MempoolEntry) => number;
  }): MempoolEntry[] {
    const runs: MempoolEntry[][] = [];
    for (const queue of this.#bySigner.values()) {
      const first = queue[0];
      if (first === undefined) continue;
      let expected = options.nextNonceOf(first);
      const run: MempoolEntry[] = [];
      for (const entry of queue) {
        if (entry.tx.nonce < expected) continue;
        if (entry.tx.nonce !== expected) break;
        run.push(entry);
        expected++;
      }
      if (run.length > 0) runs.push(run);
    }
    const chosen: MempoolEntry[] = [];
    if (runs.length === 0) return chosen;
    this.#reapOffset = (this.#reapOffset + 1) % runs.length;
    let bytes = 0;
    for (let depth = 0; ; depth++) {
      let progressed = false;
      for (let turn = 0; turn < runs.length; turn++) {
        const run = runs[(this.#reapOffset + turn) % runs.length]!;
        const entry = run[depth];
        if (entry === undefined) continue;
        if (chosen.length >= options.txCountMax) return chosen;
        if (bytes + entry.encoded.length > options.bytesMax) return chosen;
        chosen.push(entry);
        bytes += entry.encoded.length;
        progressed = true;
      }
      if (!progressed) return chosen;
    }
  }

  /**
   * Drops transactions admitted before `beforeMs` (a nonce gap that never closed would otherwise
   * keep them, and keep proposers building blocks for them); returns how many.
   */
  expire(beforeMs: number): number {
    const old = [...this.#entries.values()].filter((entry) => entry.admittedAtMs < beforeMs);
    for (const entry of old) this.#remove(entry);
    return old.length;
  }

  /**
   * Removes the transactions a committed block carried, and every waiting transaction whose nonce
   * the commit made stale; returns the removed entries that the block carried. Their ids are
   * forgotten as verified too: a later block that carries one of them again is invalid on its
   * nonce whatever its signature, and remembering every committed id kept up to
   * `verifiedIdsRememberedMax` strings (about 11 MB) alive in a busy node (decision 0079).
   */
  removeCommitted(options: {
    txs: readonly { readonly idHex: string; readonly signerHex: string }[];
    nextNonceOf: (entry: MempoolEntry) => number;
  }): MempoolEntry[] {
    const carried: MempoolEntry[] = [];
    const touched = new Set<string>();
    for (const { idHex, signerHex } of options.txs) {
      touched.add(signerHex);
      this.#verified.delete(idHex);
      const entry = this.#entries.get(idHex);
      if (entry === undefined) continue;
      carried.push(entry);
      this.#remove(entry);
    }
    for (const signerHex of touched) {
      const queue = this.#bySigner.get(signerHex);
      if (queue === undefined) continue;
      const first = queue[0];
      if (first === undefined) continue;
      const next = options.nextNonceOf(first);
      for (const entry of queue.filter((waiting) => waiting.tx.nonce < next)) {
        this.#remove(entry);
        this.#verified.delete(entry.idHex);
      }
    }
    return carried;
  }

  #remove(entry: MempoolEntry): void {
    if (!this.#entries.delete(entry.idHex)) return;
    this.#bytes -= entry.encoded.length;
    const queue = this.#bySigner.get(entry.signerHex);
    if (queue === undefined) return;
    const at = queue.indexOf(entry);
    if (at >= 0) queue.splice(at, 1);
    if (queue.length === 0) this.#bySigner.delete(entry.signerHex);
  }
}
