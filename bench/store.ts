/**
 * Store figures (issue 5, decisions 0030–0032): the latency of `commitBlock` for blocks of 2,000
 * transactions (enrolments and record anchors, really executed) on a real SQLite file with WAL
 * and `synchronous = FULL` (one fsync per block) — the median, the slowest commit, and the
 * commits that also compacted the in-memory state; the time to reopen and re-verify the store;
 * the time to rebuild an old state version; and what the state costs in memory, with the
 * process's peak RSS. Building each block (signing, execution) is outside the timings. Figures
 * are printed, never asserted. `MEDLEDGER_BENCH_STORE_BLOCKS` sets the number of blocks (60 by
 * default: 120,000 transactions; 150 is the 300,000).
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
/** Blocks committed in the run. */
const blockCount = Number(process.env.MEDLEDGER_BENCH_STORE_BLOCKS ?? '60');

const mebibyte = 1024 * 1024;

export function benchStore(): void {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'medledger-'));
  try {
    const genesis = storeGenesis();
    let store = openChainStore({ directory, genesis });
    const commitMs: number[] = [];
    const compactionMs: number[] = [];
    const compactingMs: number[] = [];
    let rssMax = 0;
    let stateBytesMax = 0;
    for (let i = 0; i < blockCount; i++) {
      const entry = nextBlock(store, { txCount: blockTxCount });
      const before = store.stats();
      const start = performance.now();
      store.commitBlock(entry);
      const elapsed = performance.now() - start;
      commitMs.push(elapsed);
      if (before.stateCompacting || store.stats().stateCompacting) compactingMs.push(elapsed);
      if (store.stats().stateCompactions > before.stateCompactions) compactionMs.push(elapsed);
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
      stateBytesMax = Math.max(stateBytesMax, store.stats().stateStoreBytes);
    }
    report(
      `store: commitBlock, ${blockTxCount}-tx block (WAL, synchronous FULL), median`,
      median(commitMs),
      'ms',
    );
    const sorted = [...commitMs].sort((a, b) => a - b);
    report(
      'store: commitBlock, 95th percentile',
      sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!,
      'ms',
    );
    report(
      `store: commitBlock, slowest of ${blockCount} (at height ${commitMs.indexOf(sorted[sorted.length - 1]!) + 1})`,
      sorted[sorted.length - 1]!,
      'ms',
    );
    report(
      `store: commitBlock copying a compaction slice (${compactingMs.length} of ${blockCount}), median`,
      compactingMs.length === 0 ? 0 : median(compactingMs),
      'ms',
    );
    report(
      `store: commitBlock that finished a compaction (${compactionMs.length} of ${blockCount}), slowest`,
      compactionMs.length === 0 ? 0 : Math.max(...compactionMs),
      'ms',
    );
    const stats = store.stats();
    report(
      `store: state keys after ${blockCount * blockTxCount} transactions`,
      stats.stateKeys,
      'keys',
    );
    report('store: in-memory state node store at the end', stats.stateStoreBytes / mebibyte, 'MiB');
    report(
      'store: in-memory state node store, peak (both stores while compacting)',
      stateBytesMax / mebibyte,
      'MiB',
    );
    report(
      `store: in-memory state bytes per key (${storeLimits.recentStateVersions} versions kept)`,
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
    const oldHeight = Math.max(0, blockCount - 40);
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
