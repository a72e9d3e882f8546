/**
 * The node's Prometheus metrics (`GET /metrics`, prom-client): height, round, peers, mempool
 * size and bytes, memory (state store, RSS, heap), garbage-collection pauses, commit latency (a
 * transaction's admission here to its block's commit here), committed transactions and blocks.
 * One registry per node, so that nodes in one process do not mix.
 */
import { type PerformanceEntry, PerformanceObserver, constants } from 'node:perf_hooks';

import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** V8's collection kinds as `perf_hooks` reports them, by the label `/metrics` gives them. */
const gcKinds = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
} as const;
type GcKind = (typeof gcKinds)[keyof typeof gcKinds];

/**
 * Seconds the process's garbage collector paused the main thread, by kind, since the first node
 * of the process asked: one observer for the process, however many nodes it runs (tests).
 */
const gcSeconds: Record<GcKind, number> = { minor: 0, major: 0, incremental: 0, weakcb: 0 };
let gcObserver: PerformanceObserver | null = null;

function observeGarbageCollection(): void {
  if (gcObserver !== null) return;
  gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // A 'gc' entry's `detail.kind` is one of the NODE_PERFORMANCE_GC_* constants.
      const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } };
      const kind = gcKinds[detail?.kind ?? -1];
      if (kind !== undefined) gcSeconds[kind] += entry.duration / 1000;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

/** The metrics a node updates. */
export interface NodeMetrics {
  readonly registry: Registry;
  readonly commitLatency: Histogram;
  readonly blockCommitDuration: Histogram;
  readonly committedTransactions: Counter;
  readonly committedBlocks: Counter;
  readonly admissions: Counter<'outcome'>;
  readonly peerDisconnects: Counter;
  readonly forkDetected: Counter;
}

/** Creates the registry; `read` gives the gauges' values when scraped. */
export function createNodeMetrics(read: {
  height: () => number;
  round: () => number;
  peers: () => number;
  mempoolSize: () => number;
  mempoolBytes: () => number;
  stateStoreBytes: () => number;
  stateKeys: () => number;
}): NodeMetrics {
  const registry = new Registry();
  const gauge = (name: string, help: string, value: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value());
      },
    });
  };
  gauge('medledger_height', 'Height of the last committed block.', read.height);
  gauge('medledger_round', 'Consensus round at the current height.', read.round);
  gauge('medledger_peers', 'Connected peers.', read.peers);
  gauge('medledger_mempool_transactions', 'Transactions waiting in the mempool.', read.mempoolSize);
  gauge(
    'medledger_mempool_bytes',
    'Bytes of encoded transactions in the mempool.',
    read.mempoolBytes,
  );
  // Memory (decision 0045): the in-memory state tree and the process as the OS and V8 see it.
  gauge(
    'medledger_state_store_bytes',
    'Bytes the in-memory state node store holds (kept versions, garbage, a compaction copy).',
    read.stateStoreBytes,
  );
  gauge('medledger_state_keys', 'Keys in the committed state.', read.stateKeys);
  gauge('medledger_process_rss_bytes', 'Resident set size of the node process.', () =>
    process.memoryUsage.rss(),
  );
  gauge(
    'medledger_heap_used_bytes',
    'V8 heap in use (live and not yet collected).',
    () => process.memoryUsage().heapUsed,
  );
  gauge(
    'medledger_external_bytes',
    'Memory of ArrayBuffers and other V8 external objects.',
    () => process.memoryUsage().external,
  );
  // Where a loaded node's CPU goes (decision 0076): a scavenge costs what survives it.
  observeGarbageCollection();
  new Counter({
    name: 'medledger_gc_seconds_total',
    help: "Seconds the process's garbage collector paused the main thread, by kind (minor: scavenges of the young generation; major: mark-compact).",
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, seconds] of Object.entries(gcSeconds)) this.inc({ kind }, seconds);
    },
  });
  return {
    registry,
    commitLatency: new Histogram({
      name: 'medledger_commit_latency_seconds',
      help: 'From a transaction admitted by this node to its block committed by this node.',
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
      registers: [registry],
    }),
    blockCommitDuration: new Histogram({
      name: 'medledger_block_commit_seconds',
      help: 'Time to write a decided block to the store (one fsynced transaction).',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    committedTransactions: new Counter({
      name: 'medledger_committed_transactions_total',
      help: 'Transactions in blocks this node committed.',
      registers: [registry],
    }),
    committedBlocks: new Counter({
      name: 'medledger_committed_blocks_total',
      help: 'Blocks this node committed.',
      registers: [registry],
    }),
    admissions: new Counter({
      name: 'medledger_admissions_total',
      help: 'Transactions offered to the mempool, by outcome.',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    peerDisconnects: new Counter({
      name: 'medledger_peer_disconnects_total',
      help: 'Peers this node cut for sending invalid data.',
      registers: [registry],
    }),
    forkDetected: new Counter({
      name: 'medledger_fork_detected_total',
      help: 'Distinct forks seen: a peer head with a valid commit for another block at a height this node committed (decision 0073).',
      registers: [registry],
    }),
  };
}
