/**
 * The application side of consensus (Algorithm 1's getValue() and valid(v), and the commit of a
 * decided block): builds this node's proposals from the mempool, checks proposed blocks (chain
 * rules, signatures verified on worker threads, execution through the contracts, the state and
 * log roots they claim), and commits decided blocks to the store. One execution per block: the
 * result of checking a block is kept and reused when that block is decided.
 *
 * Validator sets: the set of height h + 2 is the contracts' validator set in the state after h
 * (consensus takes a change handed in at h from h + 2 on; decision 0036).
 */
import { equalBytes, shortHex, toHex } from '../base/index.ts';
import {
  type Block,
  type Commit,
  type Transaction,
  type ValidatorSet,
  ChainError,
  assertValidBlock,
  blockHash,
  encodeTransaction,
  transactionIdOfEncoding,
  transactionRoot,
  transactionSigningHash,
  validatorSetHash,
} from '../chain/index.ts';
import {
  type GenesisDocument,
  type Receipt,
  ContractError,
  commitBlockWrites,
  executeTransactions,
  readNextNonce,
  readValidatorSet,
} from '../contracts/index.ts';
import type { Hash } from '../crypto/index.ts';
import { type StateEntry, type StateRoot, logRootAfterAppend } from '../merkle/index.ts';
import type { ChainStore } from '../store/index.ts';
import type { VerifyPool } from '../workers/index.ts';
import { nodeLimits } from './limits.ts';
import type { Mempool, MempoolEntry } from './mempool.ts';
import { NodeError } from './errors.ts';

/** A block's execution, kept from its check to its commit. */
interface Executed {
  readonly txIds: readonly Hash[];
  readonly writes: readonly StateEntry[];
  readonly state: StateRoot;
  readonly stateRoot: Hash;
  readonly receipts: readonly Receipt[];
  readonly logRoot: Hash;
  readonly logSize: number;
}

/** What committing a block produced. */
export interface CommitOutcome {
  readonly height: number;
  readonly hash: Hash;
  readonly receipts: readonly Receipt[];
  /** The mempool entries the block carried (for latency and waiters). */
  readonly carried: readonly MempoolEntry[];
  readonly txIds: readonly Hash[];
  /** The validator set of height + 2 if it differs from that of height + 1, else null. */
  readonly validatorSetChange: ValidatorSet | null;
}

export class ChainApplication {
  readonly chainId: string;
  readonly #store: ChainStore;
  readonly #mempool: Mempool;
  readonly #pool: VerifyPool;
  readonly #now: () => number;
  readonly #sets = new Map<number, ValidatorSet>();
  readonly #executions = new Map<string, Executed>();
  /** Next nonces read from one committed state, by signer (hex): see `nextNonce`. */
  #nonces: { state: StateRoot | null; next: Map<string, number> } = {
    state: null,
    next: new Map(),
  };

  constructor(options: {
    store: ChainStore;
    genesis: GenesisDocument;
    mempool: Mempool;
    pool: VerifyPool;
    now: () => number;
  }) {
    this.chainId = options.genesis.chainId;
    this.#store = options.store;
    this.#mempool = options.mempool;
    this.#pool = options.pool;
    this.#now = options.now;
    const height = this.height;
    const current = this.#requireSet(this.#store.state(), height);
    const previous =
      height === 0 ? current : this.#requireSet(this.#stateAt(height - 1), height - 1);
    this.#sets.set(height + 1, previous);
    this.#sets.set(height + 2, current);
  }

  /** The last committed height. */
  get height(): number {
    return this.#store.head().height;
  }

  /** The validator set of `height` (known for the next two heights). */
  validatorSetAt(height: number): ValidatorSet {
    const set = this.#sets.get(height);
    if (set === undefined) {
      throw new NodeError(
        'internal',
        `the validator set of height ${height} is not known (head ${this.height})`,
      );
    }
    return set;
  }

  /** The sets consensus starts with: those of the next height and the one after. */
  startingSets(): Map<number, ValidatorSet> {
    const next = this.height + 1;
    return new Map([
      [next, this.validatorSetAt(next)],
      [next + 1, this.validatorSetAt(next + 1)],
    ]);
  }

  /**
   * The next nonce of a signer in the committed state. Admission asks it twice per transaction
   * (before and after the signature check) for a handful of busy signers, and building a block
   * once per signer, so the answers are kept until the committed state changes: a state-tree read and a decode each were about 2 % of a
   * node's main thread under `npm run bench:net`'s load (decision 0079).
   */
  nextNonce(signer: Uint8Array, signerHex: string = toHex(signer)): number {
    const state = this.#store.state();
    if (this.#nonces.state !== state || this.#nonces.next.size >= nodeLimits.nonceCacheSignersMax) {
      this.#nonces = { state, next: new Map() };
    }
    let next = this.#nonces.next.get(signerHex);
    if (next === undefined) {
      next = readNextNonce(state, signer);
      this.#nonces.next.set(signerHex, next);
    }
    return next;
  }

  /** getValue() of Algorithm 1: a block of the mempool's transactions on top of the head. */
  build(options: { height: number; lastCommit: Commit | null; proposer: Uint8Array }): Block {
    const head = this.#store.head();
    if (options.height !== head.height + 1) {
      throw new NodeError(
        'internal',
        `asked to build block ${options.height} on top of ${head.height}`,
      );
    }
    const entries = this.#mempool.reap({
      txCountMax: nodeLimits.blockTxCountMax,
      bytesMax: nodeLimits.blockTxBytesMax,
      nextNonceOf: (entry) => this.nextNonce(entry.tx.signer, entry.signerHex),
    });
    const txs = entries.map((entry) => entry.tx);
    const txIds = entries.map((entry) => entry.id);
    const time = Math.max(this.#now(), head.time + 1);
    const executed = this.#execute({
      txs,
      txIds,
      height: options.height,
      time,
      proposer: options.proposer,
    });
    if (typeof executed === 'string') {
      throw new NodeError('internal', `own block ${options.height} fails: ${executed}`);
    }
    const block: Block = {
      header: {
        chainId: this.chainId,
        height: options.height,
        time,
        prevHash: head.blockHash,
        txRoot: transactionRoot(txIds),
        stateRoot: executed.stateRoot,
        logRoot: executed.logRoot,
        logSize: executed.logSize,
        validatorsHash: validatorSetHash(this.validatorSetAt(options.height)),
        proposer: options.proposer,
      },
      txs,
      lastCommit: options.lastCommit,
    };
    this.#executions.set(toHex(blockHash(block.header)), executed);
    return block;
  }

  /**
   * valid(v) of Algorithm 1: null if `block` is a valid next block, else why not. Signatures the
   * mempool has not verified are verified on the worker threads; everything else runs here.
   */
  async validate(block: Block): Promise<string | null> {
    const height = block.header.height;
    if (height !== this.height + 1) return `block ${height} is not the next height`;
    const ids: string[] = [];
    const txIds: Hash[] = [];
    const encoded: Uint8Array[] = [];
    const unverified: { index: number; tx: Transaction; idHex: string }[] = [];
    for (const [index, tx] of block.txs.entries()) {
      const bytes = encodeTransaction(tx);
      const id = transactionIdOfEncoding(bytes);
      const idHex = toHex(id);
      encoded.push(bytes);
      txIds.push(id);
      ids.push(idHex);
      if (!this.#mempool.isVerified(idHex)) unverified.push({ index, tx, idHex });
    }
    if (unverified.length > 0) {
      const verdicts = await this.#pool.verifyBatch(
        unverified.map(({ tx }) => ({
          publicKey: tx.signer,
          message: transactionSigningHash(tx),
          signature: tx.signature,
        })),
      );
      for (const [at, ok] of verdicts.entries()) {
        const item = unverified[at]!;
        if (!ok) return `transaction ${item.index}: signature does not verify`;
        this.#mempool.markVerified(item.idHex);
      }
    }
    // The head may have moved while the threads worked.
    if (height !== this.height + 1) return `block ${height} is not the next height any more`;
    const head = this.#store.head();
    try {
      assertValidBlock(
        block,
        {
          chainId: this.chainId,
          height,
          prevHash: head.blockHash,
          prevTime: head.time,
          prevLogSize: head.logSize,
          validatorSet: this.validatorSetAt(height),
          prevValidatorSet: height === 1 ? this.validatorSetAt(1) : this.#previousSet(height),
        },
        { verifiedTxIds: new Set(ids), txEncodings: { encoded, ids: txIds } },
      );
    } catch (error) {
      if (error instanceof ChainError) return error.message;
      throw error;
    }
    const drift = block.header.time - this.#now();
    if (drift > nodeLimits.blockTimeDriftMaxMs) {
      return `block ${height} time is ${drift} ms ahead of this node's clock (at most ${nodeLimits.blockTimeDriftMaxMs})`;
    }
    const executed = this.#execute({
      txs: block.txs,
      txIds,
      height,
      time: block.header.time,
      proposer: block.header.proposer,
    });
    if (typeof executed === 'string') return executed;
    if (!equalBytes(executed.stateRoot, block.header.stateRoot)) {
      return `block ${height} stateRoot is ${shortHex(block.header.stateRoot)}, execution gives ${shortHex(executed.stateRoot)}`;
    }
    if (!equalBytes(executed.logRoot, block.header.logRoot)) {
      return `block ${height} logRoot is ${shortHex(block.header.logRoot)}, the log gives ${shortHex(executed.logRoot)}`;
    }
    this.#executions.set(toHex(blockHash(block.header)), executed);
    return null;
  }

  /** Commits a decided block (its commit certificate checked by consensus). */
  commit(block: Block, commit: Commit): CommitOutcome {
    const height = block.header.height;
    const hash = blockHash(block.header);
    let executed = this.#executions.get(toHex(hash));
    if (executed === undefined) {
      const result = this.#execute({
        txs: block.txs,
        txIds: block.txs.map((tx) => transactionIdOfEncoding(encodeTransaction(tx))),
        height,
        time: block.header.time,
        proposer: block.header.proposer,
      });
      if (typeof result === 'string') {
        throw new NodeError('diverged', `decided block ${height} fails here: ${result}`);
      }
      executed = result;
    }
    this.#store.commitBlock({
      block,
      blockHash: hash,
      commit,
      txIds: executed.txIds,
      writes: executed.writes,
      state: executed.state,
      receipts: executed.receipts,
    });
    this.#executions.clear();
    const carried = this.#mempool.removeCommitted({
      txs: block.txs.map((tx, index) => ({
        idHex: toHex(executed.txIds[index]!),
        signerHex: toHex(tx.signer),
      })),
      nextNonceOf: (entry) => readNextNonce(executed.state, entry.tx.signer),
    });
    const following = this.#requireSet(executed.state, height);
    this.#sets.delete(height - 1);
    const known = this.validatorSetAt(height + 1);
    this.#sets.set(height + 2, following);
    const changed = !equalBytes(validatorSetHash(following), validatorSetHash(known));
    return {
      height,
      hash,
      receipts: executed.receipts,
      carried,
      txIds: executed.txIds,
      validatorSetChange: changed ? following : null,
    };
  }

  #previousSet(height: number): ValidatorSet {
    const set = this.#sets.get(height - 1);
    if (set !== undefined) return set;
    // After a restart only the next two heights' sets are known: the previous one comes from
    // the state two heights before it.
    const previous = this.#requireSet(this.#stateAt(Math.max(0, height - 3)), height - 3);
    this.#sets.set(height - 1, previous);
    return previous;
  }

  #stateAt(height: number): StateRoot {
    const state = this.#store.stateAt(height);
    if (state === null) {
      throw new NodeError('internal', `the store has no state of height ${height}`);
    }
    return state;
  }

  #requireSet(state: StateRoot, height: number): ValidatorSet {
    const set = readValidatorSet(state);
    if (set === null) {
      throw new NodeError('internal', `the state of height ${height} has no validator set`);
    }
    return set;
  }

  #execute(options: {
    txs: readonly Transaction[];
    txIds: readonly Hash[];
    height: number;
    time: number;
    proposer: Uint8Array;
  }): Executed | string {
    const state = this.#store.state();
    let writes: readonly StateEntry[];
    let receipts: readonly Receipt[];
    try {
      ({ writes, receipts } = executeTransactions({
        state,
        context: {
          chainId: this.chainId,
          height: options.height,
          time: options.time,
          proposer: options.proposer,
        },
        txs: options.txs,
        txIds: options.txIds,
      }));
    } catch (error) {
      if (error instanceof ContractError) return error.message;
      throw error;
    }
    const next = commitBlockWrites(state, writes);
    const log = logRootAfterAppend(this.#store.log(), options.txIds);
    return {
      txIds: options.txIds,
      writes,
      state: next.state,
      stateRoot: next.stateRoot,
      receipts,
      logRoot: log.root,
      logSize: log.size,
    };
  }
}
