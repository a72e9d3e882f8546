/**
 * The committed state versions the store keeps in memory: the head's and the ones before it, up
 * to `storeLimits.recentStateVersions`, all in one append-only `MemoryStateNodeStore` (merkle).
 * The node store only grows, so when it has grown well past what the kept versions need it is
 * compacted: the kept versions are copied into a fresh store and the old one is dropped. The copy
 * is incremental (decision 0032): each commit copies a bounded number of nodes, so no commit
 * pauses for the whole state; versions committed while it runs are copied after it, each sharing
 * the nodes it did not change with the version before it, and the fresh store takes over in the
 * commit that copies the head. The copy shares the value chunks of the store it compacts, unless
 * they hold more garbage than `storeLimits.stateValueGarbagePercent` of the live values; then it
 * copies the values too (decision 0045).
 */
import { assert } from '../base/index.ts';
import {
  MemoryStateNodeStore,
  type StateNodeRef,
  type StateRoot,
  memoryStateRegions,
  stateEmptyRef,
} from '../merkle/index.ts';

import type { StoreTunables } from './limits.ts';

/** What the in-memory state costs, for metrics and the benchmark. */
export interface StateMemoryStats {
  /** Bytes the in-memory node store has allocated (the one being compacted into, too). */
  readonly stateStoreBytes: number;
  /** Of those, the value chunks of the current store (shared with a copy that shares them). */
  readonly stateValueBytes: number;
  /** Bytes of the values the kept versions point to, as the last compaction measured them. */
  readonly stateLiveValueBytes: number;
  /** Compactions that copied the values too (the others shared the value chunks). */
  readonly stateValueCompactions: number;
  /** Bytes it held right after the last compaction (or at open). */
  readonly stateStoreBytesAfterCompaction: number;
  /** Compactions completed since the store was opened. */
  readonly stateCompactions: number;
  /** Whether a compaction is under way (it goes on in the next commits). */
  readonly stateCompacting: boolean;
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
  #compaction: IncrementalCompaction | null = null;
  /**
   * Bytes of the values the kept versions point to, measured by the last compaction (or at
   * open): a compaction copies the values too, into fresh chunks, only when the chunks hold more
   * garbage than `stateValueGarbagePercent` of this; otherwise the copy shares them (decision 0045).
   */
  #liveValueBytes: number;
  #valueCompactions = 0;
  /** Nodes in the current store after the last `add`: what the next block adds is beyond it. */
  #nodeCountAtLastAdd: number;
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
    this.#liveValueBytes = options.nodes.stats().valueBytesAllocated;
    this.#nodeCountAtLastAdd = nodeCount(options.nodes);
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
   * Adds the version of a newly committed height, drops the oldest beyond the limit, and starts
   * or continues the compaction of the node store.
   */
  add(height: number, state: StateRoot): void {
    assert(height === this.#headHeight + 1, 'versions are added one height at a time');
    assert(state.store === this.#nodes, 'a new version lives in the current node store');
    // The nodes of every version built since the last commit (the block's, and any proposal's
    // that was not decided): about what the next commit will add.
    const added = Math.max(0, nodeCount(this.#nodes) - this.#nodeCountAtLastAdd);
    this.#versions.set(height, state);
    this.#headHeight = height;
    const oldestKept = height - this.#tunables.recentStateVersions + 1;
    for (const kept of [...this.#versions.keys()]) {
      if (kept < oldestKept) this.#versions.delete(kept);
    }
    if (this.#compaction === null) {
      const bytes = this.#nodes.stats().bytesAllocated;
      const bound = Math.max(
        this.#tunables.stateCompactionBytesMin,
        ((100 + this.#tunables.stateCompactionGrowthPercent) * this.#bytesAfterCompaction) / 100,
      );
      if (bytes > bound) {
        const valueBytes = this.#nodes.stats().valueBytesAllocated;
        const valueBound =
          ((100 + this.#tunables.stateValueGarbagePercent) * this.#liveValueBytes) / 100;
        // Values with more garbage than the bound are copied into fresh chunks, with every
        // node, in one copy; otherwise the nodes are copied region by region, so that only one
        // region's nodes exist twice at any moment.
        const copyValues = valueBytes > valueBound;
        this.#compaction = new IncrementalCompaction(this.#nodes, {
          copyValues,
          region: copyValues ? null : 0,
        });
      }
    }
    // Each commit copies a multiple of what the last block added, so the copy catches up with
    // the head however fast the state grows.
    if (this.#compaction !== null) {
      this.#step(
        Math.max(
          this.#tunables.stateCompactionNodesPerCommit,
          this.#tunables.stateCompactionCopyPerAddedNode * added,
        ),
      );
    }
    this.#nodeCountAtLastAdd = nodeCount(this.#nodes);
  }

  /**
   * Copies up to about `budget` nodes; when every kept version is copied, switches to the fresh
   * store (callers' older handles keep the old store alive for as long as they hold them).
   */
  #step(budget: number): void {
    let left = budget;
    // A region finished with budget left goes straight on to the next one.
    while (left > 0 && this.#compaction !== null) left = this.#stepOne(left);
  }

  /** `#step` for the copy under way; returns the budget left (0: the copy goes on later). */
  #stepOne(budget: number): number {
    const compaction = this.#compaction;
    assert(compaction !== null, 'a compaction is under way');
    const heights = [...this.#versions.keys()].sort((a, b) => a - b);
    let left = budget;
    for (;;) {
      left = compaction.copy(left);
      if (left <= 0) return 0;
      const next = heights.find((height) => height > compaction.lastHeight);
      if (next === undefined) break;
      compaction.begin(next, this.#versions.get(next)!);
    }
    const store = compaction.region === null ? compaction.to : compaction.from.finishRegionCopy();
    const copies = compaction.copies;
    for (const height of heights) {
      const copy = copies.get(height);
      assert(copy !== undefined, 'every kept version is copied');
      this.#versions.set(height, { store, ref: copy.ref, keyCount: copy.keyCount });
    }
    this.#nodes = store;
    this.#compaction = null;
    // The regions go one after another (decision 0066); the compaction ends with the last.
    const nextRegion = compaction.region === null ? memoryStateRegions : compaction.region + 1;
    if (nextRegion < memoryStateRegions) {
      this.#compaction = new IncrementalCompaction(store, {
        copyValues: false,
        region: nextRegion,
      });
      return left;
    }
    // The values the copied leaves point to, each once (over every region of a cycle).
    this.#liveValueBytes = store.endCopy();
    this.#bytesAfterCompaction = this.#nodes.stats().bytesAllocated;
    this.#compactions++;
    if (compaction.copyValues) this.#valueCompactions++;
    return 0;
  }

  stats(): StateMemoryStats {
    const compaction = this.#compaction;
    const copy = compaction?.to.stats();
    // A copy that shares the value chunks adds only its node pages.
    // A region copy writes into the current store, which counts it already.
    const copying =
      copy === undefined || compaction!.region !== null
        ? 0
        : copy.nodeBytesAllocated + (compaction!.copyValues ? copy.valueBytesAllocated : 0);
    const current = this.#nodes.stats();
    return {
      stateStoreBytes: current.bytesAllocated + copying,
      stateValueBytes: current.valueBytesAllocated,
      stateLiveValueBytes: this.#liveValueBytes,
      stateValueCompactions: this.#valueCompactions,
      stateStoreBytesAfterCompaction: this.#bytesAfterCompaction,
      stateCompactions: this.#compactions,
      stateCompacting: this.#compaction !== null,
      stateVersionsInMemory: this.#versions.size,
    };
  }
}

function nodeCount(store: MemoryStateNodeStore): number {
  const stats = store.stats();
  return stats.internalNodes + stats.leaves;
}

/** The empty subtree, read once: imported bindings cost a getter per use under tsx. */
const emptyRef: StateNodeRef = stateEmptyRef;

/** One frame of the copy's explicit stack: a node to copy, and its twin in the previous version. */
interface CopyFrame {
  readonly ref: StateNodeRef;
  /** The node at the same place in the previous copied version (same source store), or null. */
  readonly twin: StateNodeRef | null;
  /** The twin's copy in the fresh store. */
  readonly twinCopy: StateNodeRef;
  /** 0: not started; 1: left child being copied; 2: right child being copied. */
  stage: number;
  left: StateNodeRef;
}

/**
 * A resumable copy of state versions, oldest first, from one store into a fresh one. A subtree a
 * version shares with the previous copied version (the same node of the same source store) is
 * not copied again but shared. Nodes are copied with the hashes the source holds: they were
 * hashed when the tree wrote them and are never changed, and the state is re-hashed from disk,
 * and checked against the header, at every open.
 */
class IncrementalCompaction {
  readonly from: MemoryStateNodeStore;
  readonly to: MemoryStateNodeStore;
  /** Whether the values are copied into fresh chunks (else the copy shares the source's). */
  readonly copyValues: boolean;
  /**
   * The region copied (nodes of other regions are shared, not copied; `to` is `from`), or null
   * for a copy of every node into a fresh store.
   */
  readonly region: number | null;
  /** The copies of the versions copied so far, by height. */
  readonly copies = new Map<number, StateRoot>();
  /** The height being copied or last copied (-1 before the first). */
  lastHeight = -1;
  #stack: CopyFrame[] = [];
  #results: StateNodeRef[] = [];
  #source: StateRoot | null = null;
  #previous: { source: StateRoot; copy: StateNodeRef } | null = null;

  constructor(from: MemoryStateNodeStore, options: { copyValues: boolean; region: number | null }) {
    this.from = from;
    this.copyValues = options.copyValues;
    this.region = options.region;
    if (options.region !== null) {
      assert(!options.copyValues, 'a region copy shares the value chunks');
      from.beginRegionCopy(options.region);
      this.to = from;
    } else {
      this.to = options.copyValues
        ? new MemoryStateNodeStore()
        : new MemoryStateNodeStore({ sharingValuesOf: from });
    }
  }

  /** Starts copying the version of `height` (after the previous one is done). */
  begin(height: number, source: StateRoot): void {
    assert(this.#stack.length === 0 && this.#source === null, 'one version at a time');
    assert(height > this.lastHeight, 'versions are copied oldest first');
    assert(source.store === this.from, 'the version lives in the store being compacted');
    this.lastHeight = height;
    this.#source = source;
    const twin = this.#previous;
    this.#stack.push({
      ref: source.ref,
      twin: twin === null ? null : twin.source.ref,
      twinCopy: twin === null ? emptyRef : twin.copy,
      stage: 0,
      left: emptyRef,
    });
  }

  /** Copies up to `budget` nodes of the current version; returns the budget left (> 0: done). */
  copy(budget: number): number {
    const from = this.from;
    const to = this.to;
    const stack = this.#stack;
    const results = this.#results;
    const byRegion = this.region !== null;
    let left = budget;
    while (stack.length > 0) {
      if (left <= 0) return 0;
      const frame = stack[stack.length - 1]!;
      const { ref, twin } = frame;
      if (frame.stage === 0) {
        if (ref === emptyRef || ref === twin) {
          stack.pop();
          results.push(ref === emptyRef ? emptyRef : frame.twinCopy);
          continue;
        }
        if (byRegion && !from.copiesInRegionCopy(ref)) {
          // Another region's subtree: its pages stay, and so does the reference.
          stack.pop();
          results.push(ref);
          continue;
        }
        if (ref < 0) {
          stack.pop();
          results.push(to.copyLeafFrom(from, ref));
          left--;
          continue;
        }
        frame.stage = 1;
        const twinIsInternal = twin !== null && twin > 0;
        stack.push({
          ref: from.leftChild(ref),
          twin: twinIsInternal ? from.leftChild(twin) : null,
          twinCopy: twinIsInternal ? to.leftChild(frame.twinCopy) : emptyRef,
          stage: 0,
          left: emptyRef,
        });
        continue;
      }
      if (frame.stage === 1) {
        frame.left = results.pop()!;
        frame.stage = 2;
        const twinIsInternal = twin !== null && twin > 0;
        stack.push({
          ref: from.rightChild(ref),
          twin: twinIsInternal ? from.rightChild(twin) : null,
          twinCopy: twinIsInternal ? to.rightChild(frame.twinCopy) : emptyRef,
          stage: 0,
          left: emptyRef,
        });
        continue;
      }
      const right = results.pop()!;
      stack.pop();
      results.push(to.copyInternalFrom(from, ref, frame.left, right));
      left--;
    }
    const source = this.#source;
    if (source !== null) {
      assert(results.length === 1, 'a finished copy leaves one root');
      const copy = results.pop()!;
      this.copies.set(this.lastHeight, { store: to, ref: copy, keyCount: source.keyCount });
      this.#previous = { source, copy };
      this.#source = null;
    }
    return Math.max(left, 1);
  }
}
