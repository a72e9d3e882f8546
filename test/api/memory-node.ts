// A small in-memory RunningNode for the API tests: it checks submitted transactions with the
// real chain code (decoding, signature, nonce), keeps a bounded mempool, and commits blocks with
// real commit signatures when the test calls `commitPending()`. Its state reader reads a fixed
// state (the genesis state, if given, else the empty state); it has no peers.
import { toHex } from '../../src/base/index.ts';
import {
  type Block,
  type BlockHeader,
  type Transaction,
  assertValidTransaction,
  blockHash,
  decodeTransaction,
  encodeTransaction,
  makeCommit,
  signTransaction,
  transactionId,
  transactionRoot,
} from '../../src/chain/index.ts';
import type { Hash, Ed25519KeyPair } from '../../src/crypto/index.ts';
import {
  type ContractBodies,
  type ContractKind,
  type GenesisDocument,
  type Receipt,
  contractBody,
  genesisState,
  readerOf,
} from '../../src/contracts/index.ts';
import { type StateRoot, emptyStateRoot, stateTreeRootHash } from '../../src/merkle/index.ts';
import {
  type CommittedBlock,
  type CommittedChainView,
  type CommittedStateReader,
  type NodeEvent,
  type NodeStatus,
  type OwnSubmitResult,
  type PeerRequestHandler,
  type PeerRequestOptions,
  type RunningNode,
  type SubmitResult,
  type TransactionLocation,
  NodeError,
} from '../../src/node/index.ts';

export class MemoryNode implements RunningNode {
  readonly chainId: string;
  readonly nodeKey: Uint8Array;
  readonly metricsContentType = 'text/plain; version=0.0.4; charset=utf-8';
  /** Most pending transactions before `submitTransaction` answers busy. */
  mempoolMax: number;
  /** When set, `status()` throws this (a node that is stopping). */
  statusFailure: Error | null = null;
  /** When set, `submitTransaction` throws this (an unexpected failure inside the node). */
  submitFailure: Error | null = null;
  /** When true, `waitForTransaction` gives up at once (as if `timeoutMs` had passed). */
  neverCommitWaits = false;
  linksPaused = false;
  /** The handler `handlePeerRequests` was given last (no peer ever calls it). */
  peerRequestHandler: PeerRequestHandler | null = null;

  private readonly keyPair: Ed25519KeyPair;
  private readonly blocks: CommittedBlock[] = [];
  private readonly pending: { tx: Transaction; id: Hash }[] = [];
  private readonly nextNonce = new Map<string, number>();
  private readonly locations = new Map<string, TransactionLocation>();
  private readonly listeners = new Set<(event: NodeEvent) => void>();
  private logSize = 0;
  private readonly state: StateRoot;
  private readonly chain: CommittedChainView | null;

  constructor(options: {
    chainId: string;
    keyPair: Ed25519KeyPair;
    mempoolMax?: number;
    genesis?: GenesisDocument;
    /** What `chainView()` answers (a real chain built by the test); none by default. */
    chain?: CommittedChainView;
  }) {
    this.chain = options.chain ?? null;
    this.chainId = options.chainId;
    this.keyPair = options.keyPair;
    this.nodeKey = options.keyPair.publicKey;
    this.mempoolMax = options.mempoolMax ?? 100;
    this.state =
      options.genesis === undefined ? emptyStateRoot() : genesisState(options.genesis).state;
  }

  status(): NodeStatus {
    if (this.statusFailure !== null) throw this.statusFailure;
    const last = this.blocks[this.blocks.length - 1];
    return {
      chainId: this.chainId,
      nodeKey: toHex(this.nodeKey),
      isValidator: true,
      height: last?.height ?? 0,
      round: 0,
      lastBlockHash: last === undefined ? '0'.repeat(64) : toHex(last.hash),
      lastBlockTime: last?.block.header.time ?? 0,
      stateRoot: last === undefined ? '0'.repeat(64) : toHex(last.block.header.stateRoot),
      logSize: this.logSize,
      logRoot: last === undefined ? '0'.repeat(64) : toHex(last.block.header.logRoot),
      validators: [{ publicKey: toHex(this.nodeKey), power: 1 }],
      peers: [],
      mempoolSize: this.pending.length,
      p2pAddress: { host: '127.0.0.1', port: 1 },
    };
  }

  loadBlock(height: number): CommittedBlock | null {
    return this.blocks[height - 1] ?? null;
  }

  submitTransaction(encoded: Uint8Array): Promise<SubmitResult> {
    if (this.submitFailure !== null) return Promise.reject(this.submitFailure);
    let tx: Transaction;
    try {
      tx = decodeTransaction(encoded);
      assertValidTransaction(tx, { chainId: this.chainId });
    } catch (error) {
      return Promise.resolve({
        accepted: false,
        code: 'invalid',
        message: (error as Error).message,
      });
    }
    const id = transactionId(tx);
    const key = toHex(id);
    if (this.locations.has(key) || this.pending.some((p) => toHex(p.id) === key)) {
      return Promise.resolve({
        accepted: false,
        code: 'duplicate',
        message: `transaction ${key} is already known`,
      });
    }
    const expected = this.nextNonce.get(toHex(tx.signer)) ?? 0;
    if (tx.nonce !== expected) {
      return Promise.resolve({
        accepted: false,
        code: 'bad-nonce',
        message: `expected nonce ${expected}, found ${tx.nonce}`,
      });
    }
    if (this.pending.length >= this.mempoolMax) {
      return Promise.resolve({
        accepted: false,
        code: 'busy',
        message: `mempool holds ${this.mempoolMax} transactions`,
      });
    }
    this.nextNonce.set(toHex(tx.signer), expected + 1);
    this.pending.push({ tx, id });
    return Promise.resolve({ accepted: true, txId: id });
  }

  findTransaction(txId: Hash): TransactionLocation | null {
    return this.locations.get(toHex(txId)) ?? null;
  }

  waitForTransaction(txId: Hash, _timeoutMs: number): Promise<TransactionLocation | null> {
    const found = this.findTransaction(txId);
    if (found !== null || this.neverCommitWaits) return Promise.resolve(found);
    return new Promise((resolve) => {
      const unsubscribe = this.subscribe(() => {
        const location = this.findTransaction(txId);
        if (location !== null) {
          unsubscribe();
          resolve(location);
        }
      });
    });
  }

  subscribe(listener: (event: NodeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  metricsText(): Promise<string> {
    return Promise.resolve(
      `# HELP medledger_height Height\n# TYPE medledger_height gauge\nmedledger_height ${this.blocks.length}\n`,
    );
  }

  chainView(): CommittedChainView {
    if (this.chain === null) throw new Error('this MemoryNode was built without a chain view');
    return this.chain;
  }

  stateReader(): CommittedStateReader {
    const reader = readerOf(this.state);
    return {
      height: this.blocks.length,
      stateRoot: stateTreeRootHash(this.state),
      get: (key) => reader.get(key),
    };
  }

  submitOwn<K extends ContractKind>(kind: K, body: ContractBodies[K]): Promise<OwnSubmitResult> {
    let txBody;
    try {
      txBody = contractBody(kind, body);
    } catch (error) {
      return Promise.resolve({
        accepted: false,
        code: 'invalid',
        message: (error as Error).message,
        nonce: null,
      });
    }
    const nonce = this.nextNonce.get(toHex(this.nodeKey)) ?? 0;
    const tx = signTransaction({
      unsigned: { chainId: this.chainId, kind, body: txBody, signer: this.nodeKey, nonce },
      keyPair: this.keyPair,
    });
    return this.submitTransaction(encodeTransaction(tx)).then((result) => ({ ...result, nonce }));
  }

  async submitOwnAndWait<K extends ContractKind>(
    kind: K,
    body: ContractBodies[K],
    timeoutMs: number,
  ): Promise<TransactionLocation> {
    const result = await this.submitOwn(kind, body);
    if (!result.accepted) {
      throw new NodeError('refused', `own ${kind} transaction refused (${result.code})`, {
        code: result.code,
      });
    }
    const location = await this.waitForTransaction(result.txId, timeoutMs);
    if (location === null) {
      throw new NodeError('timeout', `own ${kind} transaction not committed`, { timeoutMs });
    }
    return location;
  }

  requestPeer(options: PeerRequestOptions): Promise<Uint8Array> {
    return Promise.reject(
      new NodeError(
        'not-linked',
        `peer ${String(options.peer).slice(0, 12)}: no peers (memory node)`,
      ),
    );
  }

  handlePeerRequests(handler: PeerRequestHandler): void {
    this.peerRequestHandler = handler;
  }

  pauseLinks(): void {
    this.linksPaused = true;
  }

  resumeLinks(): void {
    this.linksPaused = false;
  }

  stop(): Promise<void> {
    this.statusFailure = new Error('stopped');
    return Promise.resolve();
  }

  /** Commits every pending transaction in one block (the first fails, to show a failed receipt). */
  commitPending(options: { failFirst?: boolean } = {}): CommittedBlock {
    const height = this.blocks.length + 1;
    const previous = this.blocks[this.blocks.length - 1];
    const txs = this.pending.splice(0);
    const ids = txs.map((p) => p.id);
    const header: BlockHeader = {
      chainId: this.chainId,
      height,
      time: 1_700_000_000_000 + height * 1000,
      prevHash: previous?.hash ?? new Uint8Array(32),
      txRoot: transactionRoot(ids),
      stateRoot: new Uint8Array(32).fill(height),
      logRoot: new Uint8Array(32).fill(height + 1),
      logSize: this.logSize + txs.length,
      validatorsHash: new Uint8Array(32).fill(7),
      proposer: this.nodeKey,
    };
    const block: Block = {
      header,
      txs: txs.map((p) => p.tx),
      lastCommit: previous?.commit ?? null,
    };
    const hash = blockHash(header);
    const commit = makeCommit({
      chainId: this.chainId,
      height,
      round: 0,
      blockHash: hash,
      signers: [{ validatorIndex: 0, keyPair: this.keyPair }],
    });
    const receipts: Receipt[] = ids.map((txId, index) => {
      const failed = options.failFirst === true && index === 0;
      return {
        txId,
        ok: !failed,
        code: failed ? 'unauthorised' : null,
        message: failed ? 'record: expected the custodian' : null,
        events: [],
        cost: 12,
      };
    });
    const committed: CommittedBlock = { height, hash, block, commit, receipts };
    this.blocks.push(committed);
    ids.forEach((txId, index) => {
      this.locations.set(toHex(txId), {
        txId,
        height,
        index,
        logIndex: this.logSize + index,
        receipt: receipts[index]!,
      });
    });
    this.logSize += txs.length;
    for (const listener of this.listeners) {
      listener({
        kind: 'block-committed',
        height,
        hash,
        time: header.time,
        txCount: txs.length,
        receipts,
      });
    }
    return committed;
  }
}
