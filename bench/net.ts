/**
 * `npm run bench:net`: four validator processes on this machine under a closed-loop load of
 * signed record-anchor transactions sent over HTTP, at three load levels (concurrent clients).
 * Prints, per level, committed tx/s, p50/p95/p99 commit latency (submit → seen in a committed
 * block), CPU (% of one core), garbage-collection pauses and peak RSS (VmHWM) per node, the load
 * generator's own CPU and how busy the whole machine was; a progress display on stderr.
 * Issue 5's targets: ≥ 2,500 tx/s sustained, p50 < 1 s at half that load, RSS < 300 MB per node.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

import cliProgress from 'cli-progress';

import { nodeProcessEnvironment } from '../src/cli/index.ts';
import { clockTicksPerSecond, cpuTicks, machineTicks, peakRssMegabytes } from './fhir-load.ts';
import { AnchorLoad, TestNetwork, quantile, sleep } from '../test/net/harness.ts';

/**
 * Accepted and uncommitted transactions per client of the closed loop: 16 × 250 = 4,000 in all,
 * about 1.7 s of commits at the rate it reaches, so the nodes never wait for work. The earlier
 * 1,000 per client (16,000 in all) only lengthened the queue: 2,079 tx/s at p50 3.4 s and p95
 * 9.8 s against 2,374 tx/s at p50 1.3 s and p95 1.8 s with 250, same tree, back to back
 * (decision 0043). `BENCH_NET_CLOSED_OUTSTANDING` sets it.
 */
const closedLoopOutstanding = Number(process.env.BENCH_NET_CLOSED_OUTSTANDING ?? 250);
/**
 * Load levels: concurrent clients (each its own signer) sending batches of signed anchors
 * (`POST /chain/transactions/batch`); a paced level sends a fixed total rate, a closed-loop
 * level as fast as commits allow (at most `outstanding` accepted and uncommitted per client).
 */
const allLoadLevels = [
  {
    key: 'paced-1250',
    name: 'paced 1,250 tx/s',
    clients: 8,
    batchSize: 25,
    outstanding: 1_000,
    rate: 1_250,
  },
  {
    key: 'paced-2500',
    name: 'paced 2,500 tx/s',
    clients: 8,
    batchSize: 50,
    outstanding: 1_000,
    rate: 2_500,
  },
  {
    key: 'closed',
    name: 'closed loop',
    clients: 16,
    batchSize: 100,
    outstanding: closedLoopOutstanding,
    rate: null,
  },
] as const;
/**
 * `BENCH_NET_LEVELS=paced-2500` (a comma list of `paced-1250`, `paced-2500`, `closed`) measures
 * the chosen levels only (in the order above), e.g. to profile one of them.
 */
const chosenLevels = (process.env.BENCH_NET_LEVELS ?? '').split(',').filter((key) => key !== '');
for (const key of chosenLevels) {
  if (!allLoadLevels.some((level) => level.key === key)) {
    throw new Error(
      `BENCH_NET_LEVELS: unknown level ${JSON.stringify(key)}, expected a comma list of ${allLoadLevels.map((level) => level.key).join(', ')}`,
    );
  }
}
const loadLevels: readonly (typeof allLoadLevels)[number][] =
  chosenLevels.length === 0
    ? allLoadLevels
    : allLoadLevels.filter((level) => chosenLevels.includes(level.key));
/** Seconds of load before measuring, and seconds measured, per level. */
const warmupSeconds = Number(process.env.BENCH_NET_WARMUP_S ?? 5);
const measureSeconds = Number(process.env.BENCH_NET_MEASURE_S ?? 20);
/**
 * The node processes get `colocatedNodeSettings` (src/cli/node-process.ts: V8 heap flags and
 * glibc's malloc settings for nodes that share a machine, decisions 0045 and 0046);
 * `BENCH_NET_NODE_OPTIONS` adds V8 flags after them (a later flag wins: e.g.
 * `--max-semi-space-size=8` restores V8's semi-spaces).
 */
const nodeOptions = process.env.BENCH_NET_NODE_OPTIONS ?? '';
/**
 * `BENCH_NET_CPU_PROF=<folder>` runs the nodes with the V8 CPU profiler of `bench:fhir`
 * (`fhir-cpu-profile.ts`: `<pid>.cpuprofile` written at a graceful stop, which this bench then
 * does instead of killing the nodes).
 */
const profileDir =
  process.env.BENCH_NET_CPU_PROF === undefined ? null : resolve(process.env.BENCH_NET_CPU_PROF);
const profilerImport =
  profileDir === null
    ? ''
    : `--import=data:text/javascript;base64,${readFileSync(
        new URL('./fhir-cpu-profile.ts', import.meta.url),
      ).toString('base64')}`;
if (profileDir !== null) {
  mkdirSync(profileDir, { recursive: true });
  process.env.BENCH_FHIR_CPU_PROF = profileDir;
}
// The node processes inherit this process's environment when they are spawned.
process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS ?? '', nodeOptions, profilerImport]
  .join(' ')
  .trim();
/**
 * The nodes run the built JavaScript (decision 0046; `npm run bench:net` builds it first): with
 * `build`, a node whose build is stale refuses to start rather than run the sources through tsx
 * and measure something else. `MEDLEDGER_RUN=source` measures the sources.
 */
process.env.MEDLEDGER_RUN = process.env.MEDLEDGER_RUN || 'build';
/** A node's garbage-collection pauses so far (`medledger_gc_seconds_total`), in seconds. */
async function gcSeconds(url: string): Promise<{ all: number; minor: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let all = 0;
  let minor = 0;
  for (const match of text.matchAll(/^medledger_gc_seconds_total\{kind="(\w+)"\} (\S+)$/gm)) {
    const seconds = Number(match[2]);
    all += seconds;
    if (match[1] === 'minor') minor += seconds;
  }
  return { all, minor };
}

const network = await TestNetwork.create({
  validators: 4,
  loadSigners: loadLevels.reduce((sum, level) => sum + level.clients, 0),
  logLevel: 'warn',
});
const bar = new cliProgress.SingleBar(
  {
    stream: process.stderr,
    noTTYOutput: true,
    notTTYSchedule: 5000,
    format: '{level} [{bar}] {value}/{total} s · committed {committed} · {rate} tx/s',
  },
  cliProgress.Presets.shades_classic,
);
const nodes = nodeProcessEnvironment(process.env);
try {
  await network.startValidators();
  console.log(
    `bench:net — 4 validator processes on 127.0.0.1 (MEDLEDGER_RUN ${process.env.MEDLEDGER_RUN}, NODE_OPTIONS ${JSON.stringify(nodes.NODE_OPTIONS)}, MALLOC_ARENA_MAX ${nodes.MALLOC_ARENA_MAX}, MALLOC_MMAP_THRESHOLD_ ${nodes.MALLOC_MMAP_THRESHOLD_}, MEDLEDGER_HEAP_GROWING_PERCENT ${nodes.MEDLEDGER_HEAP_GROWING_PERCENT}), chain ${network.chainId}; warm-up ${warmupSeconds} s, measured ${measureSeconds} s per level`,
  );
  const pids = network.processes.map((p) => p.pid!);
  let firstSigner = 0;
  for (const level of loadLevels) {
    const { clients } = level;
    const load = new AnchorLoad({
      network,
      batchSize: level.batchSize,
      maxOutstandingPerClient: level.outstanding,
      ...(level.rate === null ? {} : { ratePerClient: level.rate / clients }),
    });
    load.start(clients, firstSigner);
    firstSigner += clients;
    bar.start(warmupSeconds + measureSeconds, 0, {
      level: level.name,
      committed: 0,
      rate: 0,
    });
    for (let s = 1; s <= warmupSeconds; s++) {
      await sleep(1000);
      bar.update(s, { committed: load.committed, rate: '-' });
    }
    const startCommitted = load.committed;
    const startLatencies = load.latenciesMs.length;
    const startTicks = pids.map(cpuTicks);
    const startGc = await Promise.all(pids.map((_, i) => gcSeconds(network.url(i))));
    const startLoadCpu = process.cpuUsage();
    const startMachine = machineTicks();
    const start = performance.now();
    for (let s = 1; s <= measureSeconds; s++) {
      await sleep(1000);
      const rate = (
        (load.committed - startCommitted) /
        ((performance.now() - start) / 1000)
      ).toFixed(0);
      bar.update(warmupSeconds + s, { committed: load.committed, rate });
    }
    const seconds = (performance.now() - start) / 1000;
    const committed = load.committed - startCommitted;
    const latencies = load.latenciesMs.slice(startLatencies);
    const cpu = pids.map(
      (pid, i) => ((cpuTicks(pid) - startTicks[i]!) / clockTicksPerSecond / seconds) * 100,
    );
    const endGc = await Promise.all(pids.map((_, i) => gcSeconds(network.url(i))));
    const loadCpu = process.cpuUsage(startLoadCpu);
    const loadCpuPercent = ((loadCpu.user + loadCpu.system) / 1e6 / seconds) * 100;
    const machine = machineTicks();
    const machineBusy =
      ((machine.busy - startMachine.busy) / (machine.total - startMachine.total)) * 100;
    bar.stop();
    await load.close();
    console.log(
      `${level.name} (${clients} clients, batches of ${level.batchSize}): committed ${(committed / seconds).toFixed(0)} tx/s (${committed} in ${seconds.toFixed(1)} s), ` +
        `commit latency p50 ${quantile(latencies, 0.5).toFixed(0)} ms, p95 ${quantile(latencies, 0.95).toFixed(0)} ms, p99 ${quantile(latencies, 0.99).toFixed(0)} ms; ` +
        `refused ${load.refused}`,
    );
    console.log(
      `             CPU per node ${cpu.map((c) => `${c.toFixed(0)}%`).join(' ')}; peak RSS per node ${pids.map((pid) => `${peakRssMegabytes(pid).toFixed(0)} MB`).join(' ')}`,
    );
    const gcShare = (i: number, kind: 'minor' | 'all'): string => {
      const start = startGc[i]!;
      const end = endGc[i]!;
      const spent = kind === 'all' ? end.all - start.all : end.minor - start.minor;
      return `${((spent / seconds) * 100).toFixed(0)}%`;
    };
    console.log(
      `             GC pauses per node (% of wall time) ${pids.map((_, i) => gcShare(i, 'all')).join(' ')}, of which scavenges ${pids.map((_, i) => gcShare(i, 'minor')).join(' ')}`,
    );
    console.log(
      `             load generator (this process: signing, HTTP, observer) ${loadCpuPercent.toFixed(0)}% of a core; machine busy ${machineBusy.toFixed(0)}% of ${availableParallelism()} cores`,
    );
  }
  const heights = await network.heights();
  await network.assertAgree([0, 1, 2, 3], Math.min(...heights));
  console.log(`all four nodes agree on ${Math.min(...heights)} blocks`);
} finally {
  bar.stop();
  // A graceful stop lets each profiled node write its profile.
  if (profileDir !== null) await network.stopAll();
  await network.destroy();
}
