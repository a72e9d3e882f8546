/**
 * The `jti` replay cache of the token endpoint (RFC 7523 §3 item 7, SMART Backend Services): a
 * client assertion's `jti` is remembered until the assertion expires, and seen twice it is
 * refused. The cache is bounded: when it is full of unexpired entries, new assertions are
 * refused (fail closed) rather than an entry forgotten early, which would reopen a replay.
 */

/** What `remember` found. */
export type ReplayCheck =
  | { readonly outcome: 'fresh' }
  | { readonly outcome: 'replayed' }
  /** Full of unexpired entries; the oldest expires in `retryAfterMs`. */
  | { readonly outcome: 'full'; readonly retryAfterMs: number };

/** The token endpoint's view of the cache (an in-memory one per node, or a shared one). */
export interface ReplayCache {
  /**
   * Records `key` until `expiresAtMs` unless it is already there. Expired entries count as
   * absent. Time comes in as `nowMs`.
   */
  remember(options: { key: string; expiresAtMs: number; nowMs: number }): ReplayCheck;
}

/** An in-memory `ReplayCache` holding at most `entriesMax` keys. */
export class MemoryReplayCache implements ReplayCache {
  readonly entriesMax: number;
  readonly #expiries = new Map<string, number>();

  constructor(options: { entriesMax: number }) {
    if (!Number.isSafeInteger(options.entriesMax) || options.entriesMax < 1) {
      throw new RangeError(`entriesMax must be a positive integer, found ${options.entriesMax}`);
    }
    this.entriesMax = options.entriesMax;
  }

  /** Keys held now, expired ones included until the next sweep. */
  get size(): number {
    return this.#expiries.size;
  }

  remember(options: { key: string; expiresAtMs: number; nowMs: number }): ReplayCheck {
    const { key, expiresAtMs, nowMs } = options;
    const known = this.#expiries.get(key);
    if (known !== undefined && known > nowMs) return { outcome: 'replayed' };
    if (known !== undefined) this.#expiries.delete(key);
    if (this.#expiries.size >= this.entriesMax) this.#sweep(nowMs);
    if (this.#expiries.size >= this.entriesMax) {
      let soonest = Number.POSITIVE_INFINITY;
      for (const expiry of this.#expiries.values()) soonest = Math.min(soonest, expiry);
      return { outcome: 'full', retryAfterMs: Math.max(1, soonest - nowMs) };
    }
    this.#expiries.set(key, expiresAtMs);
    return { outcome: 'fresh' };
  }

  // Sweeping only when full keeps `remember` O(1) until then, and O(entriesMax) at most.
  #sweep(nowMs: number): void {
    for (const [key, expiry] of this.#expiries) {
      if (expiry <= nowMs) this.#expiries.delete(key);
    }
  }
}
