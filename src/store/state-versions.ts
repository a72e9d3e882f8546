/**
 * The committed state versions the store keeps in memory: the head's and the ones before it, up
 * to `storeLimits.recentStateVersions`, all in one append-only `MemoryStateNodeStore` (merkle),
 * which is compacted (the kept versions copied into a fresh store with merkle's `stateTreeCopy`)
 * when it has grown well past what those versions need, so that a node's memory stays bounded.
 */
import { assert } from '../base/index.ts';
import { MemoryStateNodeStore, type StateRoot, stateTreeCopy } from '../merkle/index.ts';

import type { StoreTunables } from './limits.ts';

/** What the in-memory state costs, for metrics and the benchmark. */
export interface StateMemoryStats {
  /** Bytes the in-memory node store has allocated. */
  readonly stateStoreBytes: number;
  /** Bytes it held right after the last compaction (or at open). */
  readonly stateStoreBytesAfterCompaction: number;
  /** Compactions since the store was opened. */
  readonly stateCompactions: number;
  /** State versions held in memory. */
  readonly stateVersionsInMemory: number;
}

/** The recent state versions, by height, in one compactable node store. */
export class StateVersions {
  #nodes: MemoryStateNodeStore;
  readonly #versions = new Map<number, StateRoot>();
  #headHeight: number;
  #bytesAfterCompaction: number;
  #compactions = 0;
  readonly #tunables: StoreTunables;

  constructor(options: {
    nodes: MemoryStateNodeStore;
    height: number;
    state: StateRoot;
    tunables: StoreTunables;
  }) {
    this.#tunables = options.tunables;
    assert(options.state.store === options.nodes, 'the head state lives in the node store');
    this.#nodes = options.nodes;
    this.#headHeight = options.height;
    this.#versions.set(options.height, options.state);
    this.#bytesAfterCompaction = options.nodes.stats().bytesAllocated;
  }

  /** The store new versions must be built in (`stateTreeUpdate` on `current()` does that). */
  get nodes(): MemoryStateNodeStore {
    return this.#nodes;
  }

  /** The head's version. */
  current(): StateRoot {
    const state = this.#versions.get(this.#headHeight);
    assert(state !== undefined, 'the head version is always kept');
    return state;
  }

  /** The version at `height` if it is kept in memory. */
  get(height: number): StateRoot | undefined {
    return this.#versions.get(height);
  }

  /** The lowest kept height above `height`, from which an older version is rebuilt. */
  nearestAbove(height: number): { height: number; state: StateRoot } {
    let best = this.#headHeight;
    for (const kept of this.#versions.keys()) if (kept > height && kept < best) best = kept;
    return { height: best, state: this.#versions.get(best)! };
  }

  /**
   * Adds the version of a newly committed height, drops the oldest beyond the limit, and
   * compacts the node store if it has outgrown the versions it keeps.
   */
  add(height: number, state: StateRoot): void {
    assert(height === this.#headHeight + 1, 'versions are added one height at a time');
    assert(state.store === this.#nodes, 'a new version lives in the current node store');
    this.#versions.set(height, state);
    this.#headHeight = height;
    const oldestKept = height - this.#tunables.recentStateVersions + 1;
    for (const kept of [...this.#versions.keys()])
      if (kept < oldestKept) this.#versions.delete(kept);
    const bytes = this.#nodes.stats().bytesAllocated;
    const bound = Math.max(
      this.#tunables.stateCompactionBytesMin,
      this.#tunables.stateCompactionGrowthFactor * this.#bytesAfterCompaction,
    );
    if (bytes > bound) this.compact();
  }

  /**
   * Copies the kept versions, oldest first so that consecutive versions share their unchanged
   * nodes again, into a fresh node store and drops the old one (callers' older handles keep
   * their own store alive for as long as they hold them).
   */
  compact(): void {
    const heights = [...this.#versions.keys()].sort((a, b) => a - b);
    const fresh = new MemoryStateNodeStore();
    const copies = stateTreeCopy({
      roots: heights.map((height) => this.#versions.get(height)!),
      to: fresh,
    });
    heights.forEach((height, index) => this.#versions.set(height, copies[index]!));
    this.#nodes = fresh;
    this.#bytesAfterCompaction = fresh.stats().bytesAllocated;
    this.#compactions++;
  }

  stats(): StateMemoryStats {
    return {
      stateStoreBytes: this.#nodes.stats().bytesAllocated,
      stateStoreBytesAfterCompaction: this.#bytesAfterCompaction,
      stateCompactions: this.#compactions,
      stateVersionsInMemory: this.#versions.size,
    };
  }
}
