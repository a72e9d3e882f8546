/**
 * What the node's durable store offers (DESIGN.md "node/", issue 5 item 1): the committed chain
 * (blocks, commits, receipts, the transaction index), the history log, the state at every
 * committed height, and the consensus signing record.
 */
import type { Block, Commit } from '../chain/index.ts';
import type { Receipt, StateHistory } from '../contracts/index.ts';
import type { Hash } from '../crypto/index.ts';
import type { HistoryLog, StateEntry, StateRoot } from '../merkle/index.ts';

import type { StateMemoryStats } from './state-versions.ts';

/** The last committed block, as the next block builds on it. */
export interface ChainStoreHead {
  /** Last committed height; 0 when only genesis is committed. */
  readonly height: number;
  /**
   * Hash of the last block's header (chain's `blockHash`); at height 0 the genesis document's
   * hash (contracts' `genesisDocumentHash`), which is block 1's `prevHash`.
   */
  readonly blockHash: Hash;
  /** Last block's time (Unix ms); the genesis time at height 0. */
  readonly time: number;
  /** Root of the state after the last block. */
  readonly stateRoot: Hash;
  /** Leaves of the history log (RFC 9162 tree_size) after the last block. */
  readonly logSize: number;
  /** Root of the history log (RFC 9162 MTH) after the last block. */
  readonly logRoot: Hash;
}

/** Where a committed transaction is: its block, its place in the block, its log leaf. */
export interface TransactionLocation {
  readonly height: number;
  /** Index in the block's `txs`. */
  readonly index: number;
  /** Leaf index in the history log (for RFC 9162 inclusion proofs). */
  readonly logIndex: number;
}

/** One decided block and everything its execution produced, for `commitBlock`. */
export interface CommitBlockEntry {
  readonly block: Block;
  /** `blockHash(block.header)`, which the commit certificate signs. */
  readonly blockHash: Hash;
  /** The commit certificate (> 2/3 precommits) that decided the block. */
  readonly commit: Commit;
  /** The ids of `block.txs`, in block order: the leaves appended to the history log. */
  readonly txIds: readonly Hash[];
  /** The block's state writes (contracts' `executeTransactions`), one per key, null deletes. */
  readonly writes: readonly StateEntry[];
  /** `state()` with `writes` applied (contracts' `commitBlockWrites`): the new version. */
  readonly state: StateRoot;
  /** One receipt per transaction, in block order. */
  readonly receipts: readonly Receipt[];
}

/** Sizes of the store, for metrics and the benchmark. */
export interface ChainStoreStats extends StateMemoryStats {
  /** Keys in the current state. */
  readonly stateKeys: number;
}

/**
 * The node's durable store. Everything `commitBlock` and `saveSigningRecord` wrote is durable
 * (fsynced) when they return; nothing else writes. One process at a time opens a store.
 */
export interface ChainStore extends StateHistory {
  /** The directory the store lives in. */
  readonly directory: string;
  /** The last committed block's height, hash, time and roots. */
  head(): ChainStoreHead;
  /** The state after `head().height` (build the next block's state from it). */
  state(): StateRoot;
  /**
   * The history log of all committed transaction ids (RFC 9162), read-only for callers: appends
   * happen in `commitBlock` (an append elsewhere is refused). Proofs read its nodes from disk.
   */
  log(): HistoryLog;
  /** The block at `height`, or null if none (height 0 has none, or beyond the head). */
  loadBlock(height: number): Block | null;
  /** The block hash at `height` (the genesis document's hash at 0), or null beyond the head. */
  loadBlockHash(height: number): Hash | null;
  /** The commit certificate that decided block `height` (for block sync and proofs). */
  loadCommit(height: number): Commit | null;
  /** The receipts of block `height`, in block order. */
  loadReceipts(height: number): readonly Receipt[] | null;
  /** Where transaction `txId` was first committed, or null if never. */
  findTransaction(txId: Hash): TransactionLocation | null;
  /**
   * Commits one decided block atomically, in one SQLite transaction fsynced before return: the
   * block and its commit, the transaction ids appended to the history log, the state writes,
   * the receipts, the new head. Checks first (and writes nothing on a mismatch, throwing a
   * `StoreError`): height = head.height + 1, prevHash = head.blockHash, the block hash, the
   * commit's height and hash, txRoot and the receipts against `txIds`, the log root and size
   * after appending `txIds` against the header, `stateTreeRootHash(state)` against the header,
   * and that `state` holds exactly `writes` over `state()`.
   */
  commitBlock(entry: CommitBlockEntry): void;
  /** Saves the consensus signing record (encoded by the node); durable (fsynced) on return. */
  saveSigningRecord(record: Uint8Array): void;
  /** The last saved signing record, or null if none was ever saved. */
  loadSigningRecord(): Uint8Array | null;
  /** Sizes: state keys and in-memory state bytes. */
  stats(): ChainStoreStats;
  /** Closes the database (idempotent); every later call throws `closed`. */
  close(): void;
}
