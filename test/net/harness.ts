// The real-process network harness of the network tests and `npm run bench:net`: a local network
// in a temporary folder (keys, genesis, configs), `medledger node start` processes, a closed-loop
// load of signed record anchors over HTTP, and chain comparison block by block.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { toHex } from '../../src/base/index.ts';
import {
  type BlockView,
  type LocalNode,
  NodeProcess,
  createLocalNetwork,
  fetchBlock,
  fetchStatus,
  followBlockEvents,
  makeAnchorRecord,
  makeEnrolPatient,
  submitBatch,
  submitEncoded,
} from '../../src/cli/index.ts';
import type { Ed25519KeyPair } from '../../src/crypto/index.ts';
import { generateEd25519KeyPair } from '../../src/keys/index.ts';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A seeded PRNG (mulberry32) for reproducible fault schedules. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A local network of node processes in a temporary folder. */
export class TestNetwork {
  readonly dir: string;
  readonly chainId: string;
  readonly nodes: LocalNode[];
  readonly processes: NodeProcess[];
  readonly loadSigners: { orgId: string; keyPair: Ed25519KeyPair }[];

  private constructor(options: {
    dir: string;
    chainId: string;
    nodes: LocalNode[];
    loadSigners: { orgId: string; keyPair: Ed25519KeyPair }[];
  }) {
    this.dir = options.dir;
    this.chainId = options.chainId;
    this.nodes = options.nodes;
    this.loadSigners = options.loadSigners;
    this.processes = options.nodes.map(
      (node) =>
        new NodeProcess({
          configFile: node.configFile,
          logFile: node.logFile,
          httpPort: node.httpPort,
        }),
    );
  }

  /**
   * `validators` validator nodes plus `observers` non-validator nodes (not started by
   * `startAll`), and `loadSigners` member organisations without a node that sign the load.
   */
  static async create(options: {
    validators: number;
    observers?: number;
    loadSigners: number;
    logLevel?: string;
  }): Promise<TestNetwork> {
    const dir = mkdtempSync(join(tmpdir(), 'medledger-'));
    const chainId = `net-test-${Date.now().toString(36)}`;
    const total = options.validators + (options.observers ?? 0);
    const loadSigners = Array.from({ length: options.loadSigners }, (_, i) => ({
      orgId: `load-${i}`,
      keyPair: generateEd25519KeyPair(),
    }));
    const { nodes } = await createLocalNetwork({
      dir,
      chainId,
      organisations: Array.from({ length: total }, (_, i) => ({
        orgId: `node-${i}`,
        roles: ['hospital'],
      })),
      validatorCount: options.validators,
      genesisTime: Date.now(),
      logLevel: options.logLevel ?? 'info',
      extraMembers: loadSigners.map((s) => ({
        orgId: s.orgId,
        nodeKey: toHex(s.keyPair.publicKey),
        roles: ['clinic'],
      })),
    });
    return new TestNetwork({ dir, chainId, nodes, loadSigners });
  }

  url(index: number): string {
    return this.processes[index]!.url;
  }

  /** Starts the validators (all nodes but the observers). */
  async startValidators(): Promise<void> {
    await Promise.all(
      this.processes.filter((_, i) => this.nodes[i]!.isValidator).map((p) => p.start()),
    );
  }

  /** Indices of running nodes. */
  running(): number[] {
    return this.processes.flatMap((p, i) => (p.isRunning ? [i] : []));
  }

  /** Each node's height (-1 when it does not answer). */
  async heights(indices: readonly number[] = this.processes.map((_, i) => i)): Promise<number[]> {
    return Promise.all(
      indices.map((i) =>
        fetchStatus(this.url(i)).then(
          (s) => s.height,
          () => -1,
        ),
      ),
    );
  }

  /** Waits until every node of `indices` reaches `height`; throws after `timeoutMs`. */
  async waitForHeight(
    height: number,
    indices: readonly number[],
    timeoutMs: number,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const heights = await this.heights(indices);
      if (heights.every((h) => h >= height)) return;
      if (Date.now() > deadline) {
        throw new Error(
          `nodes ${indices.join(',')} did not reach height ${height} in ${timeoutMs} ms: heights ${heights.join(',')}`,
        );
      }
      await sleep(200);
    }
  }

  /**
   * Fetches blocks 1..`upTo` from every node of `indices` and checks that hash, state root and
   * log root agree at every height; returns the blocks of the first node.
   */
  async assertAgree(indices: readonly number[], upTo: number): Promise<BlockView[]> {
    const reference: BlockView[] = [];
    for (let height = 1; height <= upTo; height++) {
      const blocks = await Promise.all(indices.map((i) => fetchBlock(this.url(i), height)));
      const first = blocks[0]!;
      for (const [k, block] of blocks.entries()) {
        const where = `height ${height}, node ${indices[k]} vs node ${indices[0]}`;
        if (block.hash !== first.hash)
          throw new Error(`block hash differs at ${where}: ${block.hash} vs ${first.hash}`);
        if (block.header.stateRoot !== first.header.stateRoot)
          throw new Error(`state root differs at ${where}`);
        if (block.header.logRoot !== first.header.logRoot)
          throw new Error(`log root differs at ${where}`);
      }
      reference.push(first);
    }
    return reference;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
  }

  /** Stops every process and deletes the folder (kept when `MEDLEDGER_KEEP_NET` is set). */
  async destroy(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill()));
    if (process.env.MEDLEDGER_KEEP_NET === undefined)
      rmSync(this.dir, { recursive: true, force: true });
  }
}

interface Outstanding {
  readonly encoded: Uint8Array;
  readonly nonce: number;
  readonly submittedAt: number;
  resubmittedAt: number;
}

/** Pause before a submit is retried after a refusal or an unreachable node, in ms. */
const retryPauseMs = 100;
/** An accepted transaction not committed after this long is submitted again, in ms. */
const resubmitAfterMs = 4_000;

/**
 * Closed-loop load: `clients` signers, each submitting its next record anchor as soon as the
 * previous one was accepted (202), to running nodes in turn. An observer follows the committed
 * blocks of a running node (`GET /chain/events`) and records each transaction's commit latency. Transactions lost
 * with a killed node's mempool are submitted again to a live node.
 */
export class AnchorLoad {
  readonly latenciesMs: number[] = [];
  committed = 0;
  refused = 0;
  private readonly network: TestNetwork;
  private readonly targets: () => number[];
  private running = false;
  private observing = false;
  private tasks: Promise<void>[] = [];
  private observer: Promise<void> = Promise.resolve();
  private readonly outstanding = new Map<string, Outstanding>();
  private observedHeight = 0;
  private observerAbort: AbortController | null = null;
  private readonly maxOutstandingPerClient: number;
  private readonly batchSize: number;
  private readonly ratePerClient: number | null;

  constructor(options: {
    network: TestNetwork;
    targets?: () => number[];
    maxOutstandingPerClient?: number;
    /** Transactions per request (`POST /chain/transactions/batch` when more than 1). */
    batchSize?: number;
    /** Paced load: each client sends at most this many transactions per second (batches only). */
    ratePerClient?: number;
  }) {
    this.batchSize = options.batchSize ?? 1;
    this.ratePerClient = options.ratePerClient ?? null;
    this.network = options.network;
    this.targets =
      options.targets ??
      (() => this.network.running().filter((i) => this.network.nodes[i]!.isValidator));
    this.maxOutstandingPerClient = options.maxOutstandingPerClient ?? 64;
  }

  get pending(): number {
    return this.outstanding.size;
  }

  /** Starts `clients` clients with the load signers from `firstSigner` on (fresh nonces). */
  start(clients: number, firstSigner = 0): void {
    this.running = true;
    this.observing = true;
    const signers = this.network.loadSigners.slice(firstSigner, firstSigner + clients);
    if (signers.length < clients) {
      throw new Error(
        `the network has ${this.network.loadSigners.length} load signers, ${firstSigner + clients} needed`,
      );
    }
    this.tasks = signers.map((signer, index) => this.client(signer, index));
    this.observer = this.observe();
  }

  /** Stops submitting; the observer keeps counting commits until `close`. */
  async stopClients(): Promise<void> {
    this.running = false;
    await Promise.all(this.tasks);
  }

  async close(): Promise<void> {
    await this.stopClients();
    this.observing = false;
    this.observerAbort?.abort();
    await this.observer;
  }

  /** Waits until every accepted transaction is committed (or throws after `timeoutMs`). */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.outstanding.size > 0) {
      // Transactions lost with a killed node's mempool are submitted again to a live one.
      const url = this.target(0) === null ? null : this.network.url(this.target(0)!);
      const now = performance.now();
      for (const entry of [...this.outstanding.values()].sort((a, b) => a.nonce - b.nonce)) {
        if (url === null || now - entry.resubmittedAt < resubmitAfterMs) continue;
        entry.resubmittedAt = now;
        await submitEncoded(url, entry.encoded).catch(() => null);
      }
      if (Date.now() > deadline)
        throw new Error(
          `${this.outstanding.size} accepted transactions not committed after ${timeoutMs} ms`,
        );
      await sleep(100);
    }
  }

  private target(counter: number): number | null {
    const targets = this.targets();
    return targets.length === 0 ? null : targets[counter % targets.length]!;
  }

  private async client(
    signer: { orgId: string; keyPair: Ed25519KeyPair },
    index: number,
  ): Promise<void> {
    const chainId = this.network.chainId;
    let nonce = 0;
    let counter = index;
    let patientId: Uint8Array | null = null;
    let pacedSent: { start: number; sent: number } | null = null;
    const mine = new Map<string, Outstanding>();
    while (this.running) {
      const target = this.target(counter++);
      if (target === null) {
        await sleep(retryPauseMs);
        continue;
      }
      const url = this.network.url(target);
      // Resubmit this client's transactions that a killed node may have lost, oldest first.
      for (const id of mine.keys()) {
        if (!this.outstanding.has(id)) mine.delete(id);
      }
      const now = performance.now();
      const stale = [...mine.values()]
        .filter((e) => now - e.resubmittedAt > resubmitAfterMs)
        .sort((a, b) => a.nonce - b.nonce);
      for (const entry of stale) {
        entry.resubmittedAt = now;
        await submitEncoded(url, entry.encoded).catch(() => null);
      }
      if (mine.size >= this.maxOutstandingPerClient) {
        await sleep(20);
        continue;
      }
      try {
        if (patientId === null) {
          const enrol = makeEnrolPatient({ chainId, keyPair: signer.keyPair, nonce });
          const answer = await submitEncoded(url, enrol.encoded, { wait: true });
          if (answer.status === 200 || answer.code === 'duplicate') {
            patientId = enrol.patientId;
            nonce++;
          } else {
            await sleep(retryPauseMs);
          }
          continue;
        }
        if (this.batchSize > 1) {
          if (this.ratePerClient !== null) {
            // Paced: the n-th transaction of this client is due at n / rate seconds.
            pacedSent ??= { start: performance.now(), sent: 0 };
            const due = pacedSent.start + (pacedSent.sent / this.ratePerClient) * 1000;
            const wait = due - performance.now();
            if (wait > 0) await sleep(wait);
          }
          const next = await this.submitAnchorBatch({ url, signer, patientId, nonce, mine });
          if (pacedSent !== null) pacedSent.sent += next - nonce;
          nonce = next;
          continue;
        }
        const tx = makeAnchorRecord({
          chainId,
          keyPair: signer.keyPair,
          nonce,
          orgId: signer.orgId,
          patientId,
        });
        // Awaited before the node answers: a commit may reach the observer before this answer.
        const id = toHex(tx.txId);
        const entry = {
          encoded: tx.encoded,
          nonce,
          submittedAt: performance.now(),
          resubmittedAt: performance.now(),
        };
        this.outstanding.set(id, entry);
        mine.set(id, entry);
        const answer = await submitEncoded(url, tx.encoded).catch((error: unknown) => {
          this.outstanding.delete(id);
          mine.delete(id);
          throw error;
        });
        if (answer.status === 202 || answer.code === 'duplicate') {
          nonce++;
        } else {
          this.outstanding.delete(id);
          mine.delete(id);
          this.refused++;
          if (answer.code === 'invalid-transaction')
            throw new Error(`load transaction refused as invalid: ${JSON.stringify(answer.body)}`);
          await sleep(answer.retryAfterSeconds !== null ? 50 : retryPauseMs);
        }
      } catch (error) {
        if ((error as Error).message.startsWith('load transaction')) throw error;
        await sleep(retryPauseMs);
      }
    }
  }

  /** Signs and submits one batch of anchors; returns the next nonce. */
  private async submitAnchorBatch(options: {
    url: string;
    signer: { orgId: string; keyPair: Ed25519KeyPair };
    patientId: Uint8Array;
    nonce: number;
    mine: Map<string, Outstanding>;
  }): Promise<number> {
    const count = Math.min(this.batchSize, this.maxOutstandingPerClient - options.mine.size);
    const txs = Array.from({ length: count }, (_, index) =>
      makeAnchorRecord({
        chainId: this.network.chainId,
        keyPair: options.signer.keyPair,
        nonce: options.nonce + index,
        orgId: options.signer.orgId,
        patientId: options.patientId,
      }),
    );
    // Awaited before the node answers: a commit may reach the observer before this answer does.
    const sentAt = performance.now();
    const ids = txs.map((tx) => toHex(tx.txId));
    for (const [index, tx] of txs.entries()) {
      const entry = {
        encoded: tx.encoded,
        nonce: tx.nonce,
        submittedAt: sentAt,
        resubmittedAt: sentAt,
      };
      this.outstanding.set(ids[index]!, entry);
      options.mine.set(ids[index]!, entry);
    }
    const forget = (): void => {
      for (const id of ids) {
        this.outstanding.delete(id);
        options.mine.delete(id);
      }
    };
    let answer;
    try {
      answer = await submitBatch(
        options.url,
        txs.map((tx) => tx.encoded),
      );
    } catch (error) {
      forget();
      throw error;
    }
    if (answer.items.length !== txs.length) {
      forget();
      this.refused += txs.length;
      await sleep(retryPauseMs);
      return options.nonce;
    }
    for (const [index, item] of answer.items.entries()) {
      if ('code' in item && item.code === 'invalid-transaction') {
        throw new Error(`load transaction refused as invalid: ${JSON.stringify(item)}`);
      }
      if ('code' in item && item.code !== 'duplicate') {
        this.refused++;
        // A busy refusal is retried soon; an accepted or duplicate one is awaited.
        const entry = this.outstanding.get(ids[index]!);
        if (entry !== undefined) entry.resubmittedAt = sentAt - resubmitAfterMs + 250;
      }
    }
    return options.nonce + txs.length;
  }

  /**
   * Follows a running node's committed blocks (`GET /chain/events`) and records each of this
   * load's transactions as committed; when that node goes down, another one is followed from the
   * last height seen. A stream refused for lagging too far is caught up block by block.
   */
  private async observe(): Promise<void> {
    while (this.observing) {
      const target = this.target(0);
      if (target === null) {
        await sleep(retryPauseMs);
        continue;
      }
      const url = this.network.url(target);
      this.observerAbort = new AbortController();
      try {
        this.observedHeight = await followBlockEvents({
          baseUrl: url,
          after: this.observedHeight,
          signal: this.observerAbort.signal,
          onBlock: (block) => this.recordCommitted(block.height, block.receipts),
        });
      } catch (error) {
        if ((error as { details?: { status?: number } }).details?.status === 400) {
          await this.catchUp(url).catch(() => undefined);
        }
        // Otherwise the observed node went down: the next round picks another.
      }
      if (this.observing) await sleep(50);
    }
  }

  /** Reads the committed blocks after `observedHeight` one by one, up to the node's head. */
  private async catchUp(url: string): Promise<void> {
    const head = (await fetchStatus(url)).height;
    while (this.observedHeight < head) {
      const block = await fetchBlock(url, this.observedHeight + 1);
      this.recordCommitted(block.height, block.receipts);
    }
  }

  private recordCommitted(height: number, receipts: readonly { txId: string }[]): void {
    if (height !== this.observedHeight + 1) return;
    const now = performance.now();
    for (const receipt of receipts) {
      const entry = this.outstanding.get(receipt.txId);
      if (entry === undefined) continue;
      this.outstanding.delete(receipt.txId);
      this.committed++;
      this.latenciesMs.push(now - entry.submittedAt);
    }
    this.observedHeight = height;
  }
}

/** The `q` quantile of `values` (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
