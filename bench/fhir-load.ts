// The load side of `npm run bench:fhir`: a keep-alive HTTP client for the FHIR API, a closed-loop
// runner (N requests in flight for a fixed time, completions counted in the measured window
// only), CPU and peak RSS of node processes from /proc, and deltas of a node's /metrics.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

import type cliProgress from 'cli-progress';

import { quantile, sleep } from '../test/net/harness.ts';

/** One FHIR answer as the load sees it: status and raw body. */
export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

/** Sockets per node origin at most (the highest load level's in-flight requests fit). */
const socketsPerOriginMax = 256;
/** Longest wait of one request, in ms (a create waits up to 15 s for its anchor's commit). */
const requestTimeoutMs = 30_000;

/**
 * FHIR requests over keep-alive `node:http` sockets (cheaper per request than `fetch`, which
 * matters on a machine where the load shares two cores with four nodes).
 */
export class FhirHttpClient {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: socketsPerOriginMax });

  send(options: {
    baseUrl: string;
    token: string;
    method: 'GET' | 'POST';
    path: string;
    body?: string;
  }): Promise<HttpAnswer> {
    const url = new URL(`${options.baseUrl}/fhir/${options.path}`);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = {
        authorization: `Bearer ${options.token}`,
        accept: 'application/fhir+json',
      };
      if (options.body !== undefined) {
        headers['content-type'] = 'application/fhir+json';
        headers['content-length'] = Buffer.byteLength(options.body);
      }
      const outgoing = request(
        {
          agent: this.#agent,
          host: url.hostname,
          port: url.port,
          path: `${url.pathname}${url.search}`,
          method: options.method,
          headers,
          timeout: requestTimeoutMs,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', reject);
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error('request timed out')));
      outgoing.on('error', reject);
      outgoing.end(options.body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
export const clockTicksPerSecond = 100;

export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Busy, I/O-wait and total clock ticks of the whole machine, all cores (the first line of
 * /proc/stat: user nice system idle iowait irq softirq steal …).
 */
export function machineTicks(): { busy: number; ioWait: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
  const ticks = fields.map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  return { busy: total - ticks[3]! - ticks[4]!, ioWait: ticks[4]!, total };
}

export function peakRssMegabytes(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

/** What one load level measured. */
export interface LevelResult {
  readonly seconds: number;
  /** Answers with the expected status, completed in the measured window. */
  readonly ok: number;
  /** 429 answers (the audit queue or the mempool full), in the measured window. */
  readonly throttled: number;
  /** Any other status (0: the request failed), in the measured window. */
  readonly failedByStatus: ReadonlyMap<number, number>;
  /** Latency of the expected answers in the window, in ms. */
  readonly latenciesMs: readonly number[];
  /** CPU per node over the window, in % of one core. */
  readonly cpuPercent: readonly number[];
  /** CPU of this process (the load generator) over the window, in % of one core. */
  readonly loadCpuPercent: number;
  /** The whole machine over the window: % of all cores busy, and % waiting on I/O. */
  readonly machineBusyPercent: number;
  readonly machineIoWaitPercent: number;
  /** The start of the first unexpected answer, for the report. */
  readonly firstFailure: string | null;
}

/**
 * `workers` closed loops, each sending its next request as soon as the previous answered, for
 * `warmupSeconds + measureSeconds`; what completes inside the measured window is counted.
 */
export async function runClosedLoop(options: {
  label: string;
  workers: number;
  warmupSeconds: number;
  measureSeconds: number;
  expectedStatus: number;
  operation: (worker: number) => Promise<HttpAnswer>;
  pids: readonly number[];
  bar: cliProgress.SingleBar;
  /** Awaited when the measured window opens and when it closes (metrics scrapes). */
  atWindowStart?: () => Promise<void>;
  atWindowEnd?: () => Promise<void>;
}): Promise<LevelResult> {
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let running = true;
  let completed = 0;
  let ok = 0;
  let throttled = 0;
  let firstFailure: string | null = null;
  const failedByStatus = new Map<number, number>();
  const latenciesMs: number[] = [];
  const worker = async (index: number): Promise<void> => {
    while (running) {
      const started = performance.now();
      let answer: HttpAnswer;
      try {
        answer = await options.operation(index);
      } catch (error) {
        answer = { status: 0, text: error instanceof Error ? error.message : String(error) };
      }
      const now = performance.now();
      completed++;
      if (now < windowStart || now > windowEnd) continue;
      if (answer.status === options.expectedStatus) {
        ok++;
        latenciesMs.push(now - started);
      } else if (answer.status === 429) {
        throttled++;
      } else {
        failedByStatus.set(answer.status, (failedByStatus.get(answer.status) ?? 0) + 1);
        firstFailure ??= `${answer.status} ${answer.text.slice(0, 300)}`;
      }
      // A failing request answers at once: pause so the loop does not spin on refusals.
      if (answer.status !== options.expectedStatus) await sleep(10);
    }
  };
  options.bar.start(options.warmupSeconds + options.measureSeconds, 0, {
    level: options.label,
    done: 0,
    rate: '-',
  });
  const workers = Array.from({ length: options.workers }, (_, index) => worker(index));
  for (let s = 1; s <= options.warmupSeconds; s++) {
    await sleep(1000);
    options.bar.update(s, { done: completed, rate: '-' });
  }
  await options.atWindowStart?.();
  const startTicks = options.pids.map(cpuTicks);
  const startUsage = process.cpuUsage();
  const startMachine = machineTicks();
  windowStart = performance.now();
  for (let s = 1; s <= options.measureSeconds; s++) {
    await sleep(1000);
    const rate = (ok / ((performance.now() - windowStart) / 1000)).toFixed(0);
    options.bar.update(options.warmupSeconds + s, { done: completed, rate });
  }
  windowEnd = performance.now();
  const seconds = (windowEnd - windowStart) / 1000;
  const cpuPercent = options.pids.map(
    (pid, i) => ((cpuTicks(pid) - startTicks[i]!) / clockTicksPerSecond / seconds) * 100,
  );
  const usage = process.cpuUsage(startUsage);
  const loadCpuPercent = ((usage.user + usage.system) / 1e6 / seconds) * 100;
  const machine = machineTicks();
  const machineTotal = machine.total - startMachine.total;
  const machineBusyPercent = ((machine.busy - startMachine.busy) / machineTotal) * 100;
  const machineIoWaitPercent = ((machine.ioWait - startMachine.ioWait) / machineTotal) * 100;
  await options.atWindowEnd?.();
  running = false;
  options.bar.stop();
  await Promise.all(workers);
  return {
    seconds,
    ok,
    throttled,
    failedByStatus,
    latenciesMs,
    cpuPercent,
    loadCpuPercent,
    machineBusyPercent,
    machineIoWaitPercent,
    firstFailure,
  };
}

/** One plain line of a level's figures. */
export function formatLevel(name: string, unit: string, result: LevelResult): string {
  const failed = [...result.failedByStatus.entries()]
    .map(([status, count]) => `${count}×${status === 0 ? 'no answer' : status}`)
    .join(', ');
  return (
    `${name}: ${(result.ok / result.seconds).toFixed(0)} ${unit}/s (${result.ok} in ${result.seconds.toFixed(1)} s), ` +
    `latency p50 ${quantile(result.latenciesMs, 0.5).toFixed(1)} ms, p99 ${quantile(result.latenciesMs, 0.99).toFixed(1)} ms; ` +
    `429 ${result.throttled}; other failures ${failed === '' ? 0 : failed}`
  );
}

export function formatNodes(result: LevelResult, pids: readonly number[]): string {
  return (
    `    CPU per node ${result.cpuPercent.map((c) => `${c.toFixed(0)}%`).join(' ')}; ` +
    `peak RSS per node ${pids.map((pid) => `${peakRssMegabytes(pid).toFixed(0)} MB`).join(' ')}; ` +
    `load generator CPU ${result.loadCpuPercent.toFixed(0)}%; machine busy ` +
    `${result.machineBusyPercent.toFixed(0)}% of ${availableParallelism()} cores, I/O wait ` +
    `${result.machineIoWaitPercent.toFixed(0)}%`
  );
}

/** The counters and histogram sums of a node's /metrics that the bench reads. */
export interface NodeCounters {
  readonly blocks: number;
  readonly transactions: number;
  readonly commitLatencySum: number;
  readonly commitLatencyCount: number;
  readonly blockWriteSum: number;
  readonly blockWriteCount: number;
}

function metricValue(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return match === null ? Number.NaN : Number(match[1]);
}

/** Scrapes `GET /metrics` of a node. */
export async function scrapeCounters(baseUrl: string): Promise<NodeCounters> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return {
    blocks: metricValue(text, 'medledger_committed_blocks_total'),
    transactions: metricValue(text, 'medledger_committed_transactions_total'),
    commitLatencySum: metricValue(text, 'medledger_commit_latency_seconds_sum'),
    commitLatencyCount: metricValue(text, 'medledger_commit_latency_seconds_count'),
    blockWriteSum: metricValue(text, 'medledger_block_commit_seconds_sum'),
    blockWriteCount: metricValue(text, 'medledger_block_commit_seconds_count'),
  };
}

/** A line of what the chain did between two scrapes of the same node. */
export function formatChain(options: {
  node: string;
  before: NodeCounters;
  after: NodeCounters;
  seconds: number;
}): string {
  const { before, after, seconds } = options;
  const blocks = after.blocks - before.blocks;
  const transactions = after.transactions - before.transactions;
  const commitMs =
    ((after.commitLatencySum - before.commitLatencySum) /
      (after.commitLatencyCount - before.commitLatencyCount)) *
    1000;
  const writeMs =
    ((after.blockWriteSum - before.blockWriteSum) /
      (after.blockWriteCount - before.blockWriteCount)) *
    1000;
  return (
    `    chain (${options.node}'s view): ${(blocks / seconds).toFixed(1)} blocks/s, ${(transactions / Math.max(blocks, 1)).toFixed(0)} tx/block, ` +
    `${(transactions / seconds).toFixed(0)} tx/s; own-admitted tx → commit mean ${commitMs.toFixed(0)} ms; block store write mean ${writeMs.toFixed(1)} ms`
  );
}
