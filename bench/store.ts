/**
 * Store figures (issue 5, decisions 0030 and 0031): the latency of `commitBlock` for blocks of
 * 2,000 transactions (enrolments and record anchors, really executed) on a real SQLite file with
 * WAL and `synchronous = FULL` (one fsync per block), split into ordinary blocks and the blocks
 * that also checkpoint the hash-keyed tables or compact the in-memory state; the time to reopen
 * and re-verify the store; the time to rebuild an old state version; and what the state costs
 * in memory. Building each block (signing, execution) is outside the timings. Figures are
 * printed, never asserted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { chainStoreFileName, openChainStore, storeLimits } from '../src/store/index.ts';
import { nextBlock, storeGenesis } from '../test/store/fixtures.ts';
import { median, report } from './harness.ts';

/** Transactions per block: the decision's reference block. */
const blockTxCount = 2000;
/** Blocks committed in the run (120,000 transactions). */
const blockCount = 60;

const mebibyte = 1024 * 1024;

export function benchStore(): void {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'medledger-'));
  try {
    const genesis = storeGenesis();
    let store = openChainStore({ directory, genesis });
    const ordinaryMs: number[] = [];
    const checkpointMs: number[] = [];
    const compactionMs: number[] = [];
    let rssMax = 0;
    for (let i = 0; i < blockCount; i++) {
      const entry = nextBlock(store, { txCount: blockTxCount });
      const compactionsBefore = store.stats().stateCompactions;
      const start = performance.now();
      store.commitBlock(entry);
      const elapsed = performance.now() - start;
      if (store.stats().stateCompactions > compactionsBefore) compactionMs.push(elapsed);
      else if (entry.block.header.height % storeLimits.indexCheckpointBlocks === 0) {
        checkpointMs.push(elapsed);
      } else ordinaryMs.push(elapsed);
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
    }
    report(
      `store: commitBlock, ${blockTxCount}-tx block (WAL, synchronous FULL), median`,
      median(ordinaryMs),
      'ms',
    );
    report(
      `store: commitBlock with an index checkpoint (every ${storeLimits.indexCheckpointBlocks}), median`,
      median(checkpointMs),
      'ms',
    );
    report(
      `store: commitBlock that also compacted the state (${compactionMs.length} of ${blockCount})`,
      compactionMs.length === 0 ? 0 : median(compactionMs),
      'ms',
    );
    const stats = store.stats();
    report(
      `store: state keys after ${blockCount * blockTxCount} transactions`,
      stats.stateKeys,
      'keys',
    );
    report('store: in-memory state node store', stats.stateStoreBytes / mebibyte, 'MiB');
    report(
      'store: in-memory state bytes per key (32 versions kept)',
      stats.stateStoreBytes / stats.stateKeys,
      'B/key',
    );
    report('store: peak RSS of the bench process during the run', rssMax / mebibyte, 'MiB');
    const fileBytes = fs.statSync(path.join(directory, chainStoreFileName)).size;
    report(
      'store: SQLite file bytes per committed transaction',
      fileBytes / (blockCount * blockTxCount),
      'B/tx',
    );
    const oldHeight = blockCount - 40;
    const rebuildStart = performance.now();
    store.stateAt(oldHeight);
    report(
      'store: stateAt 40 heights below the head (rebuilt from changes)',
      performance.now() - rebuildStart,
      'ms',
    );
    store.close();
    const openStart = performance.now();
    store = openChainStore({ directory, genesis });
    report(
      `store: reopen with consistency checks (${stats.stateKeys} keys, log ${store.head().logSize})`,
      performance.now() - openStart,
      'ms',
    );
    store.close();
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}
