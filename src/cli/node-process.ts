/**
 * A `medledger node start` OS process: spawned with its output appended to a log file, waited
 * on until `GET /health` answers, stopped with SIGTERM (then SIGKILL after a bound) or killed
 * with SIGKILL, as the demo and the network tests drive it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { MedLedgerError } from '../base/index.ts';
import { heapGrowingPercentVariable } from '../node/index.ts';

/**
 * The `medledger` executable: it runs the built JavaScript in `dist/node` when that build is
 * fresh, else `main.ts` through tsx (decision 0046).
 */
export const medledgerBin = fileURLToPath(new URL('../../bin/medledger.js', import.meta.url));

/** Bounds of starting and stopping node processes, in milliseconds. */
export const nodeProcessLimits = {
  /** Longest wait for a new process to answer `GET /health`. */
  healthWaitMs: 60_000,
  /** Pause between two health polls. */
  healthPollMs: 150,
  /** Longest wait after SIGTERM before SIGKILL. */
  stopGraceMs: 10_000,
  /** Longest wait of one HTTP request to a node. */
  requestTimeoutMs: 5_000,
  /** Log lines shown when a process fails to start. */
  logTailLines: 15,
} as const;

/**
 * The memory settings of node processes that share one machine (the demo, the network tests,
 * `npm run bench:net`; decision 0046), the ones the node README recommends to an operator who
 * runs several nodes on one host. They come first in the child's `NODE_OPTIONS`, so the caller's
 * own `NODE_OPTIONS` (a later flag wins) and `MALLOC_ARENA_MAX` override them.
 */
export const colocatedNodeSettings = {
  /**
   * V8: a 1 GiB old space (V8 then lets the heap grow about 1.6 times between full collections
   * instead of up to 4; decision 0045) and 8 MiB semi-spaces, what V8 picks for that heap. They
   * were 4 MiB (decision 0045) until the nodes' memory fell by about 40 MB (decision 0079): with
   * twice the room, a scavenge comes half as often and more of a transaction's short-lived
   * objects die before it, so fewer are copied and promoted (scavenges 13–15 % → 8–10 % of a
   * node's wall time in `bench:net`'s paced 2,500 level).
   */
  nodeOptions: ['--max-old-space-size=1024', '--max-semi-space-size=8'],
  /**
   * glibc: at most two malloc arenas instead of eight per core, so memory freed by the libuv,
   * V8 and verifier threads is reused rather than kept in an arena of its own.
   */
  mallocArenaMax: '2',
  /**
   * glibc: every allocation of 128 KiB or more is its own mapping, returned to the system when
   * freed. By default glibc raises this threshold to the size of each large block freed, after
   * which the state store's 1 MiB chunks and pages come from the arenas and stay resident once
   * a compaction frees them (about 50 MB per node after a closed-loop load, decision 0046).
   */
  mallocMmapThresholdBytes: '131072',
  /**
   * V8: a heap growing factor of 1.4 instead of about 1.6 (`MEDLEDGER_HEAP_GROWING_PERCENT`,
   * which the node applies as it starts; Node.js refuses the flag in NODE_OPTIONS). Full
   * collections come sooner, so less garbage is resident (decision 0067). It was 1.2, which kept
   * the closed loop under 300 MB at about 7 % of its throughput; with 40 MB less to hold per node
   * (decision 0079) 1.4 keeps it there, and the full collections' concurrent marking (about 15 %
   * of the machine's CPU in `bench:net` under 1.2, `perf record -a`) runs less often.
   */
  heapGrowingPercent: '40',
} as const;

/**
 * The environment of a node process: the caller's, with `colocatedNodeSettings` under it (a
 * variable the caller sets wins; its `NODE_OPTIONS` come after the settings' flags).
 */
export function nodeProcessEnvironment(
  inherited: NodeJS.ProcessEnv,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const environment = { ...inherited, ...extra };
  return {
    ...environment,
    NODE_OPTIONS: [...colocatedNodeSettings.nodeOptions, environment.NODE_OPTIONS ?? '']
      .join(' ')
      .trim(),
    MALLOC_ARENA_MAX: environment.MALLOC_ARENA_MAX ?? colocatedNodeSettings.mallocArenaMax,
    MALLOC_MMAP_THRESHOLD_:
      environment.MALLOC_MMAP_THRESHOLD_ ?? colocatedNodeSettings.mallocMmapThresholdBytes,
    [heapGrowingPercentVariable]:
      environment[heapGrowingPercentVariable] ?? colocatedNodeSettings.heapGrowingPercent,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The last lines of a log file, for an error message. */
export function tailOfFile(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A node process and how to reach it. */
export class NodeProcess {
  readonly configFile: string;
  readonly logFile: string;
  readonly url: string;
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  private exitCode: number | null = null;
  /** More arguments of `medledger node start` (the demo's `--demo-sign-in <folder>`). */
  private readonly extraArgs: readonly string[];

  constructor(options: {
    configFile: string;
    logFile: string;
    httpPort: number;
    extraArgs?: readonly string[];
  }) {
    this.extraArgs = options.extraArgs ?? [];
    this.configFile = options.configFile;
    this.logFile = options.logFile;
    this.url = `http://127.0.0.1:${options.httpPort}`;
  }

  /** The operating system's process id, or null when not running. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get isRunning(): boolean {
    return this.child !== null;
  }

  /** Spawns the process (output appended to the log file) and waits until it is healthy. */
  async start(options: { extraEnv?: Record<string, string> } = {}): Promise<void> {
    if (this.child !== null)
      throw new MedLedgerError('already-running', `${this.url} is already running`);
    const log = openSync(this.logFile, 'a');
    const child = spawn(
      process.execPath,
      [medledgerBin, 'node', 'start', '--config', this.configFile, ...this.extraArgs],
      {
        stdio: ['ignore', log, log],
        env: nodeProcessEnvironment(process.env, options.extraEnv),
        // Its own process group: a Ctrl-C at the terminal reaches the demo only, which then
        // stops each node with one SIGTERM.
        detached: true,
      },
    );
    closeSync(log);
    this.child = child;
    this.exitCode = null;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal === null ? null : 128);
        if (this.child === child) this.child = null;
        resolve(code);
      });
    });
    await this.waitHealthy();
  }

  private async waitHealthy(): Promise<void> {
    const deadline = Date.now() + nodeProcessLimits.healthWaitMs;
    while (Date.now() < deadline) {
      if (this.child === null) {
        throw new MedLedgerError(
          'node-failed',
          `node ${this.configFile} exited with code ${this.exitCode} before it was healthy; the end of ${this.logFile}:\n${tailOfFile(this.logFile, nodeProcessLimits.logTailLines)}`,
        );
      }
      try {
        const response = await fetch(`${this.url}/health`, {
          signal: AbortSignal.timeout(nodeProcessLimits.requestTimeoutMs),
        });
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      await sleep(nodeProcessLimits.healthPollMs);
    }
    await this.kill();
    throw new MedLedgerError(
      'node-failed',
      `node ${this.configFile} was not healthy after ${nodeProcessLimits.healthWaitMs} ms; the end of ${this.logFile}:\n${tailOfFile(this.logFile, nodeProcessLimits.logTailLines)}`,
    );
  }

  /** SIGTERM, then SIGKILL if it has not exited after the grace period. Returns the exit code. */
  async stop(graceMs: number = nodeProcessLimits.stopGraceMs): Promise<number | null> {
    const child = this.child;
    if (child === null) return this.exitCode;
    child.kill('SIGTERM');
    const timer = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), graceMs).unref(),
    );
    if ((await Promise.race([this.exited, timer])) === 'timeout') child.kill('SIGKILL');
    await this.exited;
    return this.exitCode;
  }

  /** SIGKILL (kill -9): the process gets no chance to clean up. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGSTOP / SIGCONT: the process stops answering anyone (its links go silent) and resumes. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }
}
