/**
 * A running node: the wiring of DESIGN.md's shell around the pure core. It owns the timers, the
 * peer links, the store and the verifier threads, and drives one consensus state machine as one
 * event loop (STYLE.md "Determinism and concurrency"): peer messages, timer ticks and the
 * application's answers are queued (bounded) and handled one at a time, never with an `await`
 * in the middle of a step. What consensus signs is written to the store (fsynced) before it is
 * sent, so a restart never signs twice.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';

import type { Logger } from 'pino';

import { assert, shortHex, toHex, fromHex, equalBytes } from '../base/index.ts';
import {
  type Block,
  type Commit,
  ChainError,
  assertValidCommit,
  assertValidEncodedTransaction,
  assertValidProposal,
  assertValidVote,
  blockHash,
  decodeTransaction,
  encodeBlock,
  signTransaction,
  transactionIdOfEncoding,
  transactionSigningHash,
  encodeTransaction,
} from '../chain/index.ts';
import { CodecError } from '../codec/index.ts';
import {
  type ConsensusAction,
  type ConsensusEvent,
  type ConsensusMessage,
  type ConsensusState,
  type Evidence,
  ConsensusError,
  decodeConsensusMessage,
  decodeSigningRecord,
  encodeConsensusMessage,
  encodeSigningRecord,
  startConsensus,
  stepConsensus,
} from '../consensus/index.ts';
import {
  type ContractBodies,
  type ContractKind,
  type GenesisDocument,
  type Receipt,
  ContractError,
  contractBody,
  parseGenesisDocument,
  readMember,
  readRosterIds,
  readerOf,
} from '../contracts/index.ts';
import { type Ed25519KeyPair, type Hash, ed25519Verify } from '../crypto/index.ts';
import { loadEd25519KeyFile } from '../keys/index.ts';
import { type PeerNetwork, startPeerNetwork } from '../p2p/index.ts';
import { type ChainStore, openChainStore } from '../store/index.ts';
import { type VerifyPool, VerifyPoolError, createVerifyPool } from '../workers/index.ts';
import { ChainApplication } from './application.ts';
import { NodeError } from './errors.ts';
import { HeadGossip } from './head-gossip.ts';
import { NodeChannel, nodeConsensusTimeouts, nodeLimits } from './limits.ts';
import { type MempoolEntry, Mempool } from './mempool.ts';
import { type NodeMetrics, createNodeMetrics } from './metrics.ts';
import { PeerRequests } from './peer-requests.ts';
import type {
  CommittedBlock,
  CommittedChainView,
  CommittedStateReader,
  NodeConfig,
  NodeEvent,
  NodeStatus,
  OwnSubmitResult,
  PeerRequestHandler,
  PeerRequestOptions,
  RunningNode,
  SubmitResult,
  TransactionLocation,
} from './types.ts';
import { type SyncMessage, SyncMessageSchema, TxGossipSchema } from './wire.ts';

/** Largest genesis file read, in bytes. */
const genesisFileBytesMax = 1024 * 1024;

/** What `startNode` takes besides the configuration. */
export interface StartNodeOptions {
  readonly logger: Logger;
  /** The wall clock (Unix ms); tests may pass another. */
  readonly now?: () => number;
  /**
   * Called when the node meets a state it must not run on (its execution of a decided block
   * disagrees, an assertion fails). The node has stopped its links; the CLI exits non-zero.
   */
  readonly onFatal?: (error: unknown) => void;
}

/** Reads and checks the genesis document named by the configuration. */
export async function loadGenesisFile(path: string): Promise<GenesisDocument> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > genesisFileBytesMax) {
      throw new NodeError(
        'config',
        `genesis file ${path} is ${bytes.length} bytes, at most ${genesisFileBytesMax} allowed`,
      );
    }
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof NodeError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new NodeError('config', `cannot read genesis file ${path}: ${code ?? String(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new NodeError('config', `genesis file ${path} is not JSON: ${(error as Error).message}`);
  }
  try {
    return parseGenesisDocument(json);
  } catch (error) {
    if (error instanceof ContractError) {
      throw new NodeError('config', `genesis file ${path}: ${error.message}`);
    }
    throw error;
  }
}

/**
 * The node's verifier threads: its configuration's `verifyThreads`, else one per core up to
 * `nodeLimits.verifyThreadsDefaultMax`.
 */
export function verifyThreadCount(config: Pick<NodeConfig, 'verifyThreads'>): number {
  return (
    config.verifyThreads ?? Math.min(availableParallelism(), nodeLimits.verifyThreadsDefaultMax)
  );
}

/** Starts a node from its configuration: store, verifier threads, links, consensus. */
export async function startNode(
  config: NodeConfig,
  options: StartNodeOptions,
): Promise<RunningNode> {
  const genesis = await loadGenesisFile(config.genesisFile);
  const keyPair = await loadEd25519KeyFile(config.keyFile);
  const store = openChainStore({ directory: config.dataDir, genesis });
  let pool: VerifyPool | null = null;
  try {
    pool = createVerifyPool({ threads: verifyThreadCount(config) });
    const node = new Node({ config, genesis, keyPair, store, pool, options });
    await node.start();
    return node;
  } catch (error) {
    await pool?.close();
    store.close();
    throw error;
  }
}

type PendingAdmission = {
  readonly entry: MempoolEntry;
  readonly fromPeer: string | null;
  readonly resolve: (result: SubmitResult) => void;
};

type Waiter = {
  readonly resolve: (location: TransactionLocation | null) => void;
  readonly timer: NodeJS.Timeout;
};

class Node implements RunningNode {
  readonly chainId: string;
  readonly nodeKey: Uint8Array;
  readonly metricsContentType: string;
  readonly #config: NodeConfig;
  readonly #genesis: GenesisDocument;
  readonly #keyPair: Ed25519KeyPair;
  readonly #store: ChainStore;
  readonly #pool: VerifyPool;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #onFatal: (error: unknown) => void;
  readonly #mempool = new Mempool();
  readonly #app: ChainApplication;
  readonly #metrics: NodeMetrics;
  #network: PeerNetwork | null = null;
  #consensus: ConsensusState | null = null;
  #stopped = false;

  // The consensus event loop.
  readonly #local: ConsensusEvent[] = [];
  readonly #queue: ConsensusEvent[] = [];
  #drainScheduled = false;
  readonly #timers = new Set<NodeJS.Timeout>();
  #droppedMessages = 0;

  // Proposing.
  #pendingBuild: { height: number; round: number; lastCommit: Commit | null } | null = null;
  #buildTimer: NodeJS.Timeout | null = null;
  #lastCommitAtMs: number;

  // Admission and gossip.
  readonly #verifying = new Set<string>();
  #admissionBatch: PendingAdmission[] = [];
  #admissionScheduled = false;
  #gossip: Uint8Array[] = [];
  #gossipTimer: NodeJS.Timeout | null = null;

  // Block sync.
  readonly #peerHeights = new Map<string, number>();
  readonly #syncBuffer = new Map<number, { block: Block; commit: Commit; peer: string }>();
  #syncRequest: { peer: string; from: number; atMs: number } | null = null;

  // Subscribers and waiters.
  readonly #listeners = new Set<(event: NodeEvent) => void>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  #waiterCount = 0;
  #allowedPeers = new Set<string>();
  readonly #receiptCache = new Map<number, readonly Receipt[]>();
  #receiptCacheCount = 0;

  // Own transactions and peer requests.
  readonly #nodeKeyHex: string;
  #ownBuildScheduled = false;
  readonly #linkedPeers = new Set<string>();
  readonly #peerRequests: PeerRequests;
  readonly #headGossip: HeadGossip;

  constructor(options: {
    config: NodeConfig;
    genesis: GenesisDocument;
    keyPair: Ed25519KeyPair;
    store: ChainStore;
    pool: VerifyPool;
    options: StartNodeOptions;
  }) {
    this.#config = options.config;
    this.#genesis = options.genesis;
    this.#keyPair = options.keyPair;
    this.#store = options.store;
    this.#pool = options.pool;
    this.#logger = options.options.logger;
    this.#now = options.options.now ?? Date.now;
    this.#onFatal =
      options.options.onFatal ??
      ((error) => this.#logger.fatal({ err: error }, 'node stopped on a fatal error'));
    this.chainId = options.genesis.chainId;
    this.nodeKey = options.keyPair.publicKey;
    this.#nodeKeyHex = toHex(this.nodeKey);
    this.#peerRequests = new PeerRequests({
      links: {
        isLinked: (peer) => this.#linkedPeers.has(peer),
        send: (peer, payload) => this.#network?.send(peer, NodeChannel.records, payload) ?? false,
        disconnect: (peer, reason) => this.#disconnect(peer, reason),
      },
      logger: this.#logger.child({ part: 'peer-requests' }),
    });
    this.#app = new ChainApplication({
      store: options.store,
      genesis: options.genesis,
      mempool: this.#mempool,
      pool: options.pool,
      now: this.#now,
    });
    this.#lastCommitAtMs = this.#now();
    this.#metrics = createNodeMetrics({
      height: () => this.#store.head().height,
      round: () => this.#consensus?.round ?? 0,
      peers: () => this.#network?.peers().length ?? 0,
      mempoolSize: () => this.#mempool.size,
      mempoolBytes: () => this.#mempool.bytes,
      stateStoreBytes: () => (this.#stopped ? 0 : this.#store.stats().stateStoreBytes),
      stateKeys: () => (this.#stopped ? 0 : this.#store.stats().stateKeys),
    });
    this.metricsContentType = this.#metrics.registry.contentType;
    this.#headGossip = new HeadGossip({
      chainId: this.chainId,
      store: options.store,
      dataDir: options.config.dataDir,
      logger: this.#logger.child({ part: 'head-gossip' }),
      onFork: () => this.#metrics.forkDetected.inc(),
      broadcast: (payload) => void this.#network?.broadcast(NodeChannel.heads, payload),
      disconnect: (peer, reason) => this.#disconnect(peer, reason),
      now: this.#now,
    });
    this.#refreshAllowedPeers();
  }

  async start(): Promise<void> {
    const head = this.#store.head();
    this.#network = await startPeerNetwork({
      chainId: this.chainId,
      keyPair: this.#keyPair,
      listen: this.#config.p2p,
      peers: this.#config.peers.map((peer) => ({
        publicKey: fromHex(peer.publicKey),
        host: peer.host,
        port: peer.port,
      })),
      isAllowedPeer: (publicKey) => this.#allowedPeers.has(toHex(publicKey)),
      logger: this.#logger.child({ part: 'p2p' }),
      onFrame: (peer, channel, payload) => this.#onFrame(peer, channel, payload),
      onPeerUp: (peer) => {
        this.#linkedPeers.add(peer);
        this.#logger.info({ peer: peer.slice(0, 12) }, 'peer connected');
      },
      onPeerDown: (peer, reason) => {
        this.#linkedPeers.delete(peer);
        this.#peerRequests.peerDown(peer);
        this.#peerHeights.delete(peer);
        this.#logger.info({ peer: peer.slice(0, 12), reason }, 'peer disconnected');
      },
    });
    const recordBytes = this.#store.loadSigningRecord();
    const { state, actions } = startConsensus({
      config: {
        chainId: this.chainId,
        keyPairs: [this.#keyPair],
        timeouts: nodeConsensusTimeouts,
      },
      height: head.height + 1,
      validatorSets: this.#app.startingSets(),
      lastCommit: head.height === 0 ? null : this.#store.loadCommit(head.height),
      record: recordBytes === null ? null : decodeSigningRecord(recordBytes),
    });
    this.#consensus = state;
    this.#logger.info(
      {
        chainId: this.chainId,
        height: head.height,
        nodeKey: shortHex(this.nodeKey),
        validator: state.ownIndex >= 0,
        p2p: this.#network.address,
      },
      'node started',
    );
    this.#perform(actions);
    this.#scheduleDrain();
    this.#headGossip.start();
  }

  // ---- RunningNode ------------------------------------------------------------------------

  status(): NodeStatus {
    const head = this.#store.head();
    const height = head.height + 1;
    const set = this.#app.validatorSetAt(height);
    return {
      chainId: this.chainId,
      nodeKey: toHex(this.nodeKey),
      isValidator: set.validators.some((validator) =>
        equalBytes(validator.publicKey, this.nodeKey),
      ),
      height: head.height,
      round: this.#consensus?.round ?? 0,
      lastBlockHash: toHex(head.blockHash),
      lastBlockTime: head.time,
      stateRoot: toHex(head.stateRoot),
      logSize: head.logSize,
      logRoot: toHex(head.logRoot),
      validators: set.validators.map((validator) => ({
        publicKey: toHex(validator.publicKey),
        power: validator.power,
      })),
      peers: (this.#network?.peers() ?? []).map((peer) => ({
        id: peer.id,
        direction: peer.direction,
        remote: peer.remote,
      })),
      mempoolSize: this.#mempool.size,
      p2pAddress: this.#network?.address ?? { host: this.#config.p2p.host, port: 0 },
    };
  }

  loadBlock(height: number): CommittedBlock | null {
    if (!Number.isSafeInteger(height) || height < 1) return null;
    const block = this.#store.loadBlock(height);
    const hash = this.#store.loadBlockHash(height);
    const commit = this.#store.loadCommit(height);
    const receipts = this.#store.loadReceipts(height);
    if (block === null || hash === null || commit === null || receipts === null) return null;
    return { height, hash, block, commit, receipts };
  }

  submitTransaction(encoded: Uint8Array): Promise<SubmitResult> {
    return this.#admit(encoded, null);
  }

  findTransaction(txId: Hash): TransactionLocation | null {
    const found = this.#store.findTransaction(txId);
    if (found === null) return null;
    const receipt = this.#receiptsAt(found.height)?.[found.index];
    if (receipt === undefined) return null;
    return { txId, ...found, receipt };
  }

  /** A block's receipts, decoded once for the last few blocks asked about. */
  #receiptsAt(height: number): readonly Receipt[] | null {
    const cached = this.#receiptCache.get(height);
    if (cached !== undefined) return cached;
    const receipts = this.#store.loadReceipts(height);
    if (receipts === null) return null;
    this.#receiptCache.set(height, receipts);
    this.#receiptCacheCount += receipts.length;
    // Oldest first (a Map iterates in insertion order); the block just added always stays.
    for (const [cached, list] of this.#receiptCache) {
      const overBlocks = this.#receiptCache.size > nodeLimits.receiptCacheBlocksMax;
      const overReceipts = this.#receiptCacheCount > nodeLimits.receiptCacheReceiptsMax;
      if (cached === height || (!overBlocks && !overReceipts)) break;
      this.#receiptCache.delete(cached);
      this.#receiptCacheCount -= list.length;
    }
    return receipts;
  }

  waitForTransaction(txId: Hash, timeoutMs: number): Promise<TransactionLocation | null> {
    const found = this.findTransaction(txId);
    if (found !== null || this.#stopped) return Promise.resolve(found);
    if (this.#waiterCount >= nodeLimits.commitWaitersMax) return Promise.resolve(null);
    const key = toHex(txId);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          this.#removeWaiter(key, waiter);
          resolve(null);
        }, timeoutMs),
      };
      let set = this.#waiters.get(key);
      if (set === undefined) {
        set = new Set();
        this.#waiters.set(key, set);
      }
      set.add(waiter);
      this.#waiterCount++;
    });
  }

  subscribe(listener: (event: NodeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  metricsText(): Promise<string> {
    return this.#metrics.registry.metrics();
  }

  chainView(): CommittedChainView {
    if (this.#stopped) throw new NodeError('stopped', 'the node is stopped: its store is closed');
    const store = this.#store;
    return {
      genesis: this.#genesis,
      head: () => store.head(),
      loadBlock: (height) => store.loadBlock(height),
      loadCommit: (height) => store.loadCommit(height),
      stateAt: (height) => store.stateAt(height),
      log: () => store.log(),
    };
  }

  stateReader(): CommittedStateReader {
    if (this.#stopped) throw new NodeError('stopped', 'the node is stopped: its store is closed');
    // The head and its state are read in one synchronous step, and a committed state version is
    // immutable (merkle's node stores only grow; a compaction leaves held versions alive), so
    // the reader answers for this height for as long as it is held.
    const head = this.#store.head();
    const reader = readerOf(this.#store.state());
    return { height: head.height, stateRoot: head.stateRoot, get: (key) => reader.get(key) };
  }

  submitOwn<K extends ContractKind>(kind: K, body: ContractBodies[K]): Promise<OwnSubmitResult> {
    // The executor runs at once (admission is one synchronous step); a throw rejects.
    return new Promise((resolve) => resolve(this.#submitOwnNow(kind, body)));
  }

  async submitOwnAndWait<K extends ContractKind>(
    kind: K,
    body: ContractBodies[K],
    timeoutMs: number,
  ): Promise<TransactionLocation> {
    if (
      !Number.isSafeInteger(timeoutMs) ||
      timeoutMs < 1 ||
      timeoutMs > nodeLimits.waitTimeoutMaxMs
    ) {
      throw new NodeError(
        'invalid-argument',
        `timeoutMs: expected an integer from 1 to ${nodeLimits.waitTimeoutMaxMs}, found ${String(timeoutMs)}`,
      );
    }
    const result = await this.submitOwn(kind, body);
    if (!result.accepted) {
      throw new NodeError(
        result.code === 'busy' && this.#stopped ? 'stopped' : 'refused',
        `own ${kind} transaction refused (${result.code}): ${result.message}`,
        { code: result.code, kind },
      );
    }
    const location = await this.waitForTransaction(result.txId, timeoutMs);
    if (location !== null) return location;
    if (this.#stopped) {
      throw new NodeError(
        'stopped',
        `the node stopped before own ${kind} transaction ${shortHex(result.txId)} committed`,
        { txId: toHex(result.txId), kind },
      );
    }
    throw new NodeError(
      'timeout',
      `own ${kind} transaction ${shortHex(result.txId)} (nonce ${result.nonce}) not committed ` +
        `within ${timeoutMs} ms; it may still commit (findTransaction)`,
      { txId: toHex(result.txId), kind, nonce: result.nonce, timeoutMs },
    );
  }

  requestPeer(options: PeerRequestOptions): Promise<Uint8Array> {
    return this.#peerRequests.request(options);
  }

  handlePeerRequests(handler: PeerRequestHandler): void {
    this.#peerRequests.setHandler(handler);
  }

  pauseLinks(): void {
    this.#network?.pause();
  }

  resumeLinks(): void {
    this.#network?.resume();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    if (this.#gossipTimer !== null) clearTimeout(this.#gossipTimer);
    for (const [, set] of this.#waiters) {
      for (const waiter of set) {
        clearTimeout(waiter.timer);
        waiter.resolve(null);
      }
    }
    this.#waiters.clear();
    for (const pending of this.#admissionBatch) {
      pending.resolve({ accepted: false, code: 'busy', message: 'the node is stopping' });
    }
    this.#admissionBatch = [];
    this.#peerRequests.stop();
    this.#headGossip.stop();
    await this.#network?.stop();
    await this.#pool.close();
    this.#store.close();
    this.#logger.info({ height: this.#store.head().height }, 'node stopped');
  }

  // ---- the consensus event loop -----------------------------------------------------------

  #enqueueLocal(event: ConsensusEvent): void {
    if (this.#stopped) return;
    this.#local.push(event);
    this.#scheduleDrain();
  }

  #enqueuePeer(event: ConsensusEvent): void {
    if (this.#stopped) return;
    if (this.#queue.length >= nodeLimits.consensusQueueMax) {
      this.#droppedMessages++;
      if (this.#droppedMessages % 1000 === 1) {
        this.#logger.warn({ dropped: this.#droppedMessages }, 'consensus queue full: dropping');
      }
      return;
    }
    this.#queue.push(event);
    this.#scheduleDrain();
  }

  #scheduleDrain(): void {
    if (this.#drainScheduled || this.#stopped) return;
    this.#drainScheduled = true;
    setImmediate(() => {
      this.#drainScheduled = false;
      this.#drain();
    });
  }

  /** Handles queued events, local ones first, a bounded number per turn of the I/O loop. */
  #drain(): void {
    const state = this.#consensus;
    if (state === null || this.#stopped) return;
    try {
      for (let handled = 0; handled < 256; handled++) {
        const event = this.#local.shift() ?? this.#queue.shift();
        if (event === undefined) return;
        const { actions } = stepConsensus(state, event);
        this.#perform(actions);
        if (this.#stopped) return;
      }
      this.#scheduleDrain();
    } catch (error) {
      this.#fatal(error);
    }
  }

  #fatal(error: unknown): void {
    this.#logger.fatal({ err: error }, 'fatal: the node stops');
    void this.stop().finally(() => this.#onFatal(error));
  }

  #perform(actions: readonly ConsensusAction[]): void {
    for (const action of actions) {
      if (this.#stopped) return;
      this.#performOne(action);
    }
  }

  #performOne(action: ConsensusAction): void {
    const network = this.#network!;
    switch (action.kind) {
      case 'persist':
        // Durable (fsynced) before the broadcast that follows it in `actions`.
        this.#store.saveSigningRecord(encodeSigningRecord(action.record));
        return;
      case 'broadcast':
        network.broadcast(NodeChannel.consensus, encodeConsensusMessage(action.message));
        return;
      case 'send':
        network.send(action.peer, NodeChannel.consensus, encodeConsensusMessage(action.message));
        return;
      case 'schedule-timeout': {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          this.#enqueueLocal({ kind: 'timeout', timeout: action.timeout });
        }, action.delayMs);
        this.#timers.add(timer);
        return;
      }
      case 'validate-block':
        this.#validate(action.height, action.blockHash, action.block);
        return;
      case 'get-value':
        this.#pendingBuild = {
          height: action.height,
          round: action.round,
          lastCommit: action.lastCommit,
        };
        this.#maybeBuild();
        return;
      case 'commit-block':
        this.#commit(action.block, action.commit);
        return;
      case 'send-decision': {
        const block = this.#store.loadBlock(action.height);
        const commit = this.#store.loadCommit(action.height);
        if (block === null || commit === null) return;
        network.send(
          action.peer,
          NodeChannel.consensus,
          encodeConsensusMessage({ kind: 'decision', block, commit }),
        );
        return;
      }
      case 'report-evidence':
        this.#reportEvidence(action.evidence);
        return;
    }
  }

  #validate(height: number, hash: Hash, block: Block): void {
    const started = performance.now();
    this.#app.validate(block).then(
      (reason) => {
        this.#logger.debug(
          { height, txs: block.txs.length, ms: Math.round(performance.now() - started) },
          'block checked',
        );
        if (reason !== null) {
          this.#logger.warn({ height, block: shortHex(hash), reason }, 'block refused');
        }
        this.#enqueueLocal({
          kind: 'block-validated',
          height,
          blockHash: hash,
          valid: reason === null,
        });
      },
      (error: unknown) => {
        if (this.#stopped) return;
        if (error instanceof VerifyPoolError) {
          // Busy threads: not a verdict on the block; the round's timeouts try again.
          this.#logger.warn({ height, reason: error.message }, 'block check postponed');
          this.#enqueueLocal({ kind: 'block-validated', height, blockHash: hash, valid: false });
          return;
        }
        this.#fatal(error);
      },
    );
  }

  /** Builds the pending proposal now if there is something to propose or waiting is over. */
  #maybeBuild(): void {
    const pending = this.#pendingBuild;
    const state = this.#consensus;
    if (pending === null || state === null || this.#stopped) return;
    if (pending.height !== state.height || pending.round !== state.round) {
      this.#pendingBuild = null;
      return;
    }
    // Transactions gather for a moment after a commit (many per block: one fsync and one round of
    // votes for all of them); with none at all the proposer waits longer, then proposes an empty
    // block. A full block's worth is proposed at once.
    const interval =
      this.#mempool.size === 0 ? nodeLimits.emptyBlockIntervalMs : nodeLimits.blockIntervalMinMs;
    const waitMs = this.#lastCommitAtMs + interval - this.#now();
    if (this.#buildTimer !== null) {
      clearTimeout(this.#buildTimer);
      this.#timers.delete(this.#buildTimer);
      this.#buildTimer = null;
    }
    if (waitMs > 0 && this.#mempool.size < nodeLimits.blockTxCountMax) {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#buildTimer = null;
        this.#maybeBuild();
      }, waitMs);
      this.#timers.add(timer);
      this.#buildTimer = timer;
      return;
    }
    this.#pendingBuild = null;
    const set = this.#app.validatorSetAt(pending.height);
    const proposer = set.validators[state.ownIndex]?.publicKey;
    if (proposer === undefined) return;
    try {
      const started = performance.now();
      const block = this.#app.build({
        height: pending.height,
        lastCommit: pending.lastCommit,
        proposer,
      });
      this.#logger.debug(
        {
          height: pending.height,
          round: pending.round,
          txs: block.txs.length,
          ms: Math.round(performance.now() - started),
        },
        'block built',
      );
      this.#enqueueLocal({
        kind: 'value-ready',
        height: pending.height,
        round: pending.round,
        block,
      });
    } catch (error) {
      this.#fatal(error);
    }
  }

  #commit(block: Block, commit: Commit): void {
    const started = performance.now();
    const outcome = this.#app.commit(block, commit);
    const commitMs = performance.now() - started;
    this.#metrics.blockCommitDuration.observe(commitMs / 1000);
    const now = this.#now();
    this.#lastCommitAtMs = now;
    this.#metrics.committedBlocks.inc();
    this.#metrics.committedTransactions.inc(outcome.txIds.length);
    for (const entry of outcome.carried) {
      this.#metrics.commitLatency.observe(Math.max(0, now - entry.admittedAtMs) / 1000);
    }
    this.#logger.info(
      {
        height: outcome.height,
        block: shortHex(outcome.hash),
        txs: outcome.txIds.length,
        round: commit.round,
        ms: Math.round(commitMs),
      },
      'block committed',
    );
    this.#enqueueLocal({
      kind: 'block-applied',
      height: outcome.height,
      validatorSetChange: outcome.validatorSetChange,
    });
    this.#refreshAllowedPeers();
    if (outcome.height % 64 === 0) {
      const expired = this.#mempool.expire(now - nodeLimits.mempoolTxTtlMs);
      if (expired > 0)
        this.#logger.info({ expired }, 'mempool: dropped transactions that waited too long');
    }
    for (const [index, txId] of outcome.txIds.entries()) {
      const key = toHex(txId);
      const waiters = this.#waiters.get(key);
      if (waiters === undefined) continue;
      this.#waiters.delete(key);
      const location: TransactionLocation = {
        txId,
        height: outcome.height,
        index,
        logIndex: block.header.logSize - outcome.txIds.length + index,
        receipt: outcome.receipts[index]!,
      };
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        this.#waiterCount--;
        waiter.resolve(location);
      }
    }
    const event: NodeEvent = {
      kind: 'block-committed',
      height: outcome.height,
      hash: outcome.hash,
      time: block.header.time,
      txCount: outcome.txIds.length,
      receipts: outcome.receipts,
    };
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.error({ err: error }, 'an event subscriber failed');
      }
    }
    this.#feedSync(outcome.height + 1);
  }

  #reportEvidence(evidence: Evidence): void {
    const height = evidence.voteA?.height ?? evidence.proposalA?.height ?? 0;
    this.#logger.warn(
      { kind: evidence.kind, validator: shortHex(evidence.validator), height },
      'equivocation seen',
    );
    if (evidence.voteA === null || evidence.voteB === null) return;
    const result = this.#submitOwnNow('membership.evidence', {
      voteA: evidence.voteA,
      voteB: evidence.voteB,
    });
    if (result.accepted) {
      this.#logger.info(
        { txId: shortHex(result.txId), nonce: result.nonce },
        'evidence transaction admitted',
      );
    } else {
      this.#logger.warn(
        { code: result.code, reason: result.message },
        'evidence transaction not admitted',
      );
    }
  }

  /**
   * Builds, signs and admits an own transaction in one synchronous step, so no other own
   * transaction can take the same nonce in between and a refusal leaves its nonce free. The
   * nonce is the first after the committed next nonce that no own transaction in the mempool
   * holds (`Mempool.firstFreeNonce`): consecutive while transactions wait for a block, and back
   * to the committed one (or into the gap) when a refused or expired one is not waiting.
   */
  #submitOwnNow<K extends ContractKind>(kind: K, body: ContractBodies[K]): OwnSubmitResult {
    if (this.#stopped) {
      return { accepted: false, code: 'busy', message: 'the node is stopping', nonce: null };
    }
    let txBody;
    try {
      txBody = contractBody(kind, body);
    } catch (error) {
      if (error instanceof CodecError || error instanceof ContractError) {
        this.#metrics.admissions.inc({ outcome: 'invalid' });
        return { accepted: false, code: 'invalid', message: error.message, nonce: null };
      }
      throw error;
    }
    const nonce = this.#mempool.firstFreeNonce(this.#nodeKeyHex, this.#app.nextNonce(this.nodeKey));
    let tx;
    try {
      tx = signTransaction({
        unsigned: { chainId: this.chainId, kind, body: txBody, signer: this.nodeKey, nonce },
        keyPair: this.#keyPair,
      });
    } catch (error) {
      if (error instanceof CodecError || error instanceof ChainError) {
        this.#metrics.admissions.inc({ outcome: 'invalid' });
        return { accepted: false, code: 'invalid', message: error.message, nonce };
      }
      throw error;
    }
    const entry = this.#checkForAdmission(encodeTransaction(tx));
    if ('accepted' in entry) {
      this.#metrics.admissions.inc({ outcome: entry.code });
      return { ...entry, nonce };
    }
    // Signed here a moment ago: checked once more (libsodium, tens of microseconds) rather than
    // on the threads, so that admission stays one synchronous step.
    assert(
      ed25519Verify({
        publicKey: this.nodeKey,
        message: transactionSigningHash(tx),
        signature: tx.signature,
      }),
      'the node key signs own transactions that verify',
    );
    const refusal = this.#mempool.admit(entry, this.#app.nextNonce(this.nodeKey));
    if (refusal !== null) {
      this.#metrics.admissions.inc({ outcome: refusal.code });
      return { accepted: false, ...refusal, nonce };
    }
    this.#metrics.admissions.inc({ outcome: 'accepted' });
    this.#queueGossip(entry.encoded);
    this.#scheduleOwnBuild();
    return { accepted: true, txId: entry.id, nonce };
  }

  /**
   * A proposer waiting on an empty mempool now waits the shorter interval; after this turn, as
   * an own transaction may be admitted while consensus actions are being performed (evidence).
   */
  #scheduleOwnBuild(): void {
    if (this.#ownBuildScheduled) return;
    this.#ownBuildScheduled = true;
    setImmediate(() => {
      this.#ownBuildScheduled = false;
      if (this.#pendingBuild !== null) this.#maybeBuild();
    });
  }

  #removeWaiter(key: string, waiter: Waiter): void {
    const set = this.#waiters.get(key);
    if (set?.delete(waiter) === true) this.#waiterCount--;
    if (set?.size === 0) this.#waiters.delete(key);
  }

  #refreshAllowedPeers(): void {
    // Members' node keys (the membership contract) may open links; a member that runs a node
    // outside the validator set follows the chain.
    const state = this.#store.state();
    const allowed = new Set<string>();
    for (const orgId of readRosterIds(state)) {
      const member = readMember(state, orgId);
      if (member !== null && member.status === 'active') allowed.add(toHex(member.nodeKey));
    }
    for (const validator of this.#app.validatorSetAt(this.#store.head().height + 1).validators) {
      allowed.add(toHex(validator.publicKey));
    }
    allowed.delete(toHex(this.nodeKey));
    this.#allowedPeers = allowed;
  }

  // ---- admission ---------------------------------------------------------------------------

  #admit(encoded: Uint8Array, fromPeer: string | null): Promise<SubmitResult> {
    const outcome = this.#checkForAdmission(encoded);
    if ('accepted' in outcome) {
      this.#metrics.admissions.inc({ outcome: outcome.code });
      return Promise.resolve(outcome);
    }
    if (this.#stopped) {
      return Promise.resolve({ accepted: false, code: 'busy', message: 'the node is stopping' });
    }
    if (this.#verifying.size >= nodeLimits.admissionPendingMax) {
      this.#metrics.admissions.inc({ outcome: 'busy' });
      return Promise.resolve({
        accepted: false,
        code: 'busy',
        message: `${nodeLimits.admissionPendingMax} transactions are being verified already`,
      });
    }
    this.#verifying.add(outcome.idHex);
    return new Promise((resolve) => {
      this.#admissionBatch.push({ entry: outcome, fromPeer, resolve });
      this.#scheduleAdmission();
    });
  }

  /** The checks that need no signature verification: a refusal, or the entry to verify. */
  #checkForAdmission(encoded: Uint8Array): (SubmitResult & { accepted: false }) | MempoolEntry {
    let tx;
    try {
      tx = decodeTransaction(encoded);
      assertValidEncodedTransaction({
        tx,
        encoded,
        chainId: this.chainId,
        signatureVerified: true,
      });
    } catch (error) {
      if (error instanceof CodecError || error instanceof ChainError) {
        return { accepted: false, code: 'invalid', message: error.message };
      }
      throw error;
    }
    const id = transactionIdOfEncoding(encoded);
    const idHex = toHex(id);
    if (this.#verifying.has(idHex)) {
      return { accepted: false, code: 'duplicate', message: 'the transaction is being admitted' };
    }
    const committed = this.#store.findTransaction(id);
    if (committed !== null) {
      return {
        accepted: false,
        code: 'duplicate',
        message: `the transaction is committed already, at height ${committed.height}`,
      };
    }
    const signerHex = toHex(tx.signer);
    const refusal = this.#mempool.refusal({
      idHex,
      signerHex,
      nonce: tx.nonce,
      bytes: encoded.length,
      nextNonce: this.#app.nextNonce(tx.signer, signerHex),
    });
    if (refusal !== null) return { accepted: false, ...refusal };
    return { tx, encoded, id, idHex, signerHex, admittedAtMs: this.#now() };
  }

  #scheduleAdmission(): void {
    if (this.#admissionScheduled) return;
    this.#admissionScheduled = true;
    setImmediate(() => {
      this.#admissionScheduled = false;
      this.#flushAdmissions();
    });
  }

  #flushAdmissions(): void {
    while (this.#admissionBatch.length > 0 && !this.#stopped) {
      const batch = this.#admissionBatch.splice(0, nodeLimits.admissionBatchMax);
      this.#pool
        .verifyBatch(
          batch.map(({ entry }) => ({
            publicKey: entry.tx.signer,
            message: transactionSigningHash(entry.tx),
            signature: entry.tx.signature,
          })),
        )
        .then(
          (verdicts) => this.#admitVerified(batch, verdicts),
          (error: unknown) => {
            for (const pending of batch) {
              this.#verifying.delete(pending.entry.idHex);
              pending.resolve({
                accepted: false,
                code: 'busy',
                message: `signature verification is busy: ${(error as Error).message}`,
              });
            }
          },
        );
    }
  }

  #admitVerified(batch: readonly PendingAdmission[], verdicts: readonly boolean[]): void {
    const cut = new Set<string>();
    let admitted = 0;
    for (const [index, pending] of batch.entries()) {
      const { entry, fromPeer } = pending;
      this.#verifying.delete(entry.idHex);
      if (this.#stopped) {
        pending.resolve({ accepted: false, code: 'busy', message: 'the node is stopping' });
        continue;
      }
      if (verdicts[index] !== true) {
        this.#metrics.admissions.inc({ outcome: 'invalid' });
        if (fromPeer !== null && !cut.has(fromPeer)) {
          cut.add(fromPeer);
          this.#disconnect(fromPeer, 'gossiped a transaction whose signature does not verify');
        }
        pending.resolve({
          accepted: false,
          code: 'invalid',
          message: `the signature does not verify for signer ${shortHex(entry.tx.signer)}`,
        });
        continue;
      }
      const refusal = this.#mempool.admit(
        entry,
        this.#app.nextNonce(entry.tx.signer, entry.signerHex),
      );
      if (refusal !== null) {
        this.#metrics.admissions.inc({ outcome: refusal.code });
        pending.resolve({ accepted: false, ...refusal });
        continue;
      }
      admitted++;
      this.#metrics.admissions.inc({ outcome: 'accepted' });
      if (fromPeer === null) this.#queueGossip(entry.encoded);
      pending.resolve({ accepted: true, txId: entry.id });
    }
    // A proposer waiting on an empty mempool now waits the shorter interval (or not at all).
    if (admitted > 0 && this.#pendingBuild !== null) this.#maybeBuild();
  }

  #queueGossip(encoded: Uint8Array): void {
    this.#gossip.push(encoded);
    if (this.#gossip.length >= nodeLimits.gossipBatchTxMax) {
      this.#flushGossip();
      return;
    }
    if (this.#gossipTimer === null) {
      this.#gossipTimer = setTimeout(() => this.#flushGossip(), nodeLimits.gossipDelayMs);
    }
  }

  #flushGossip(): void {
    if (this.#gossipTimer !== null) clearTimeout(this.#gossipTimer);
    this.#gossipTimer = null;
    const batch = this.#gossip;
    this.#gossip = [];
    if (batch.length === 0 || this.#stopped) return;
    this.#network?.broadcast(NodeChannel.transactions, TxGossipSchema.encode(batch));
  }

  // ---- peer frames -------------------------------------------------------------------------

  #disconnect(peer: string, reason: string): void {
    this.#metrics.peerDisconnects.inc();
    this.#logger.warn({ peer: peer.slice(0, 12), reason }, 'peer cut for invalid data');
    this.#network?.disconnect(peer, reason);
  }

  #onFrame(peer: string, channel: number, payload: Uint8Array): void {
    if (this.#stopped) return;
    try {
      switch (channel) {
        case NodeChannel.consensus:
          this.#onConsensusFrame(peer, payload);
          return;
        case NodeChannel.transactions:
          this.#onGossipFrame(peer, payload);
          return;
        case NodeChannel.sync:
          this.#onSyncFrame(peer, payload);
          return;
        case NodeChannel.records:
          this.#peerRequests.receive(peer, payload);
          return;
        case NodeChannel.heads:
          this.#headGossip.receive(peer, payload);
          return;
        default:
          this.#disconnect(peer, `frame on unknown channel ${channel}`);
      }
    } catch (error) {
      if (
        error instanceof CodecError ||
        error instanceof ChainError ||
        error instanceof ConsensusError
      ) {
        this.#disconnect(peer, `channel ${channel}: ${error.message}`);
        return;
      }
      this.#fatal(error);
    }
  }

  #onConsensusFrame(peer: string, payload: Uint8Array): void {
    const message = decodeConsensusMessage(payload);
    const state = this.#consensus;
    if (state === null) return;
    this.#precheck(message, state);
    if (message.kind === 'status') {
      this.#peerHeights.set(peer, message.height);
      this.#maybeRequestSync(peer);
    }
    this.#enqueuePeer({ kind: 'message', peer, message });
  }

  /**
   * Checks the signature of a vote or proposal of the current height before it is queued, so
   * that a peer that sends forged ones is cut (consensus would only ignore them).
   */
  #precheck(message: ConsensusMessage, state: ConsensusState): void {
    if (message.kind === 'vote' && message.vote.height === state.height) {
      assertValidVote({
        chainId: this.chainId,
        vote: message.vote,
        validatorSet: this.#app.validatorSetAt(state.height),
      });
    } else if (message.kind === 'proposal' && message.proposal.height === state.height) {
      assertValidProposal({
        chainId: this.chainId,
        proposal: message.proposal,
        validatorSet: this.#app.validatorSetAt(state.height),
      });
    }
  }

  #onGossipFrame(peer: string, payload: Uint8Array): void {
    const batch = TxGossipSchema.decode(payload);
    for (const encoded of batch) {
      void this.#admit(encoded, peer).then((result) => {
        if (!result.accepted && result.code === 'invalid') {
          this.#disconnect(peer, `gossiped an invalid transaction: ${result.message}`);
        }
      });
    }
  }

  // ---- block sync --------------------------------------------------------------------------

  #onSyncFrame(peer: string, payload: Uint8Array): void {
    const message = SyncMessageSchema.decode(payload);
    if (message.kind === 'request') {
      this.#answerSync(peer, message);
      return;
    }
    if (message.blocks === null) {
      this.#disconnect(peer, 'a sync answer without blocks');
      return;
    }
    if (this.#syncRequest?.peer === peer) this.#syncRequest = null;
    const current = this.#store.head().height + 1;
    for (const [index, item] of message.blocks.entries()) {
      const height = item.block.header.height;
      if (height !== message.from + index || item.commit.height !== height) {
        this.#disconnect(
          peer,
          `sync answer: block ${index} has height ${height}, expected ${message.from + index}`,
        );
        return;
      }
      if (height >= current && this.#syncBuffer.size < nodeLimits.syncBlocksPerRequestMax * 2) {
        this.#syncBuffer.set(height, { ...item, peer });
      }
    }
    this.#feedSync(current);
  }

  #answerSync(peer: string, request: SyncMessage): void {
    const head = this.#store.head().height;
    const blocks: { block: Block; commit: Commit }[] = [];
    let bytes = 0;
    const count = Math.min(request.count, nodeLimits.syncBlocksPerRequestMax);
    for (let height = request.from; height <= head && blocks.length < count; height++) {
      const block = this.#store.loadBlock(height);
      const commit = this.#store.loadCommit(height);
      if (block === null || commit === null) break;
      bytes += encodeBlock(block).length;
      if (blocks.length > 0 && bytes > nodeLimits.syncResponseBytesMax) break;
      blocks.push({ block, commit });
    }
    this.#network?.send(
      peer,
      NodeChannel.sync,
      SyncMessageSchema.encode({
        kind: 'blocks',
        from: request.from,
        count: blocks.length,
        blocks,
      }),
    );
  }

  #maybeRequestSync(peer: string): void {
    const current = this.#store.head().height + 1;
    const peerHeight = this.#peerHeights.get(peer) ?? 0;
    // The peer decided everything below its height; sync when that is two or more heights
    // ahead (one height behind is what consensus's own decision messages handle).
    if (peerHeight <= current + 1) return;
    if (this.#syncBuffer.has(current)) return;
    const pending = this.#syncRequest;
    if (pending !== null && this.#now() - pending.atMs < nodeLimits.syncRequestTimeoutMs) return;
    this.#syncRequest = { peer, from: current, atMs: this.#now() };
    this.#network?.send(
      peer,
      NodeChannel.sync,
      SyncMessageSchema.encode({
        kind: 'request',
        from: current,
        count: nodeLimits.syncBlocksPerRequestMax,
        blocks: null,
      }),
    );
  }

  /** Hands the buffered decided block of `height` to consensus, as a decision message. */
  #feedSync(height: number): void {
    for (const buffered of this.#syncBuffer.keys()) {
      if (buffered < height) this.#syncBuffer.delete(buffered);
    }
    const item = this.#syncBuffer.get(height);
    if (item === undefined) {
      // Nothing buffered: ask the most advanced peer for more.
      let best: string | null = null;
      for (const [peer, peerHeight] of this.#peerHeights) {
        if (best === null || peerHeight > (this.#peerHeights.get(best) ?? 0)) best = peer;
      }
      if (best !== null) this.#maybeRequestSync(best);
      return;
    }
    this.#syncBuffer.delete(height);
    try {
      assertValidCommit({
        chainId: this.chainId,
        commit: item.commit,
        height,
        blockHash: blockHash(item.block.header),
        validatorSet: this.#app.validatorSetAt(height),
      });
    } catch (error) {
      if (!(error instanceof ChainError)) throw error;
      this.#syncBuffer.clear();
      this.#disconnect(item.peer, `sync answer: block ${height}: ${error.message}`);
      return;
    }
    this.#enqueuePeer({
      kind: 'message',
      peer: item.peer,
      message: { kind: 'decision', block: item.block, commit: item.commit },
    });
  }
}
