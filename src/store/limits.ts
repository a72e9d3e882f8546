/** The store's tunable numbers (STYLE.md "Limits"), each named with its unit and bound. */
import { StoreError, StoreErrorCode } from './errors.ts';

/** Every tunable number of the store, in one place. */
export const storeLimits = {
  /**
   * Committed state versions kept in memory, newest first (the head's and the one before it,
   * which a restart and the validator sets read): `stateAt` answers them at once; older heights
   * are rebuilt from the blocks' change records. Each kept version holds the nodes its block
   * replaced (about 1.5 MB for a 2,000-transaction block, bench/store.ts), and a compaction
   * copies them all, so fewer versions is less memory (decisions 0032, 0045: 8 before).
   */
  recentStateVersions: 2,
  /**
   * The in-memory state node store starts a compaction (the recent versions copied into a fresh
   * store, a slice per commit) when it holds more than this many bytes and has grown by more
   * than `stateCompactionGrowthPercent` over what it held after the last compaction. Below it,
   * compaction is not worth its cost.
   */
  stateCompactionBytesMin: 32 * 1024 * 1024,
  /**
   * See `stateCompactionBytesMin`: growth over the last compacted size, in percent, that starts
   * the next compaction. Lower is less memory (the old store is dropped sooner) for more copying
   * (50 before decision 0045: the store then peaked at about 2.5 times its live nodes).
   */
  stateCompactionGrowthPercent: 25,
  /**
   * Nodes a compaction copies per commit at least (about 12 ms here, bench/store.ts): the copy
   * is spread over commits so that none pauses for the whole state (decision 0032).
   */
  stateCompactionNodesPerCommit: 50_000,
  /**
   * And at least this many times the nodes the last block added: the copy gains on the head by
   * (factor − 1) blocks' worth of nodes per commit, so it finishes in about
   * live nodes / ((factor − 1) × nodes per block) commits, while the old store still grows.
   */
  stateCompactionCopyPerAddedNode: 3,
  /**
   * A compaction copies the nodes into fresh pages but shares the value chunks (values are most
   * of a leaf, and mostly live: a copy of them would double them at the compaction's peak),
   * unless the chunks hold more garbage (overwritten values, values of blocks never committed)
   * than this percentage of the live values the last compaction measured; then it copies the
   * values too, into fresh chunks (decision 0045).
   */
  stateValueGarbagePercent: 100,
  /**
   * Pace of the rolling state snapshot (decision 0031), in snapshot entries per state change:
   * each block rewrites the next key ranges of the snapshot while it has credit, earning this
   * many entries per change it commits. At 1 the snapshot is rewritten once per state-size worth
   * of changes, so reopening replays at most about one state's worth of changes, and a commit
   * writes about one snapshot entry per change (not the whole snapshot at once).
   */
  stateSnapshotEntriesPerChange: 1,
  /** Rows per `stateTreeUpdate` batch when the state tree is rebuilt from SQLite. */
  stateRebuildBatchEntries: 65_536,
  /** Largest consensus signing record accepted, in bytes (it holds at most one polka). */
  signingRecordBytesMax: 4 * 1024 * 1024,
  /** Longest receipt message stored, in UTF-8 bytes (contract messages are one line). */
  receiptMessageBytesMax: 64 * 1024,
  /** Most events one receipt holds. */
  receiptEventsMax: 4096,
  /** Longest event type, in UTF-8 bytes. */
  receiptEventTypeBytesMax: 256,
  /**
   * How long a statement waits for a lock another connection holds, in ms: 0, because the store
   * holds its database exclusively and a lock held elsewhere means another process opened it.
   */
  busyTimeoutMs: 0,
} as const;

/** The tunables a caller may override when opening a store (tests, benchmarks, small nodes). */
export type StoreTunables = {
  readonly recentStateVersions: number;
  readonly stateCompactionBytesMin: number;
  readonly stateCompactionGrowthPercent: number;
  readonly stateCompactionNodesPerCommit: number;
  readonly stateCompactionCopyPerAddedNode: number;
  readonly stateValueGarbagePercent: number;
  readonly stateRebuildBatchEntries: number;
  readonly stateSnapshotEntriesPerChange: number;
};

/** `storeLimits` with `overrides` applied, each checked to be a positive integer. */
export function tunablesOf(overrides: Partial<StoreTunables> | undefined): StoreTunables {
  const tunables: StoreTunables = {
    recentStateVersions: storeLimits.recentStateVersions,
    stateCompactionBytesMin: storeLimits.stateCompactionBytesMin,
    stateCompactionGrowthPercent: storeLimits.stateCompactionGrowthPercent,
    stateCompactionNodesPerCommit: storeLimits.stateCompactionNodesPerCommit,
    stateCompactionCopyPerAddedNode: storeLimits.stateCompactionCopyPerAddedNode,
    stateValueGarbagePercent: storeLimits.stateValueGarbagePercent,
    stateRebuildBatchEntries: storeLimits.stateRebuildBatchEntries,
    stateSnapshotEntriesPerChange: storeLimits.stateSnapshotEntriesPerChange,
    ...overrides,
  };
  for (const [name, value] of Object.entries(tunables)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new StoreError(
        StoreErrorCode.invalidArgument,
        `limits.${name}: expected a positive integer, found ${String(value)}`,
      );
    }
  }
  // At 1 the copy only keeps pace with the head and never finishes.
  if (tunables.stateCompactionCopyPerAddedNode < 2) {
    throw new StoreError(
      StoreErrorCode.invalidArgument,
      `limits.stateCompactionCopyPerAddedNode: expected at least 2, found ${tunables.stateCompactionCopyPerAddedNode}`,
    );
  }
  return tunables;
}
