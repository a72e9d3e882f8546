/** The store's tunable numbers (STYLE.md "Limits"), each named with its unit and bound. */
import { StoreError, StoreErrorCode } from './errors.ts';

/** Every tunable number of the store, in one place. */
export const storeLimits = {
  /**
   * Committed state versions kept in memory, newest first (the head's and the 31 before it):
   * `stateAt` answers them at once; older heights are rebuilt from the change table.
   */
  recentStateVersions: 32,
  /**
   * The in-memory state node store is compacted (the recent versions copied into a fresh store)
   * when it holds more than this many bytes and more than `stateCompactionGrowthFactor` times
   * what it held after the last compaction. Below it, compaction is not worth its cost.
   */
  stateCompactionBytesMin: 64 * 1024 * 1024,
  /** See `stateCompactionBytesMin`: growth over the last compacted size that triggers the next. */
  stateCompactionGrowthFactor: 2,
  /**
   * Blocks between two checkpoints of the hash-keyed tables (current state, transaction index):
   * their random inserts dirty one page each, so writing them once per 16 blocks instead of per
   * block cuts the bytes each commit writes and fsyncs (bench/store.ts, decision 0031). Until
   * then their rows live in `state_changes` and `blocks`, and in memory.
   */
  indexCheckpointBlocks: 16,
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
  readonly stateCompactionGrowthFactor: number;
  readonly stateRebuildBatchEntries: number;
  readonly indexCheckpointBlocks: number;
};

/** `storeLimits` with `overrides` applied, each checked to be a positive integer. */
export function tunablesOf(overrides: Partial<StoreTunables> | undefined): StoreTunables {
  const tunables: StoreTunables = {
    recentStateVersions: storeLimits.recentStateVersions,
    stateCompactionBytesMin: storeLimits.stateCompactionBytesMin,
    stateCompactionGrowthFactor: storeLimits.stateCompactionGrowthFactor,
    stateRebuildBatchEntries: storeLimits.stateRebuildBatchEntries,
    indexCheckpointBlocks: storeLimits.indexCheckpointBlocks,
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
  return tunables;
}
