// A small real chain in memory for the verifier's tests: contracts execute each block, headers
// carry real roots, commits carry real signatures of more than 2/3 of each height's validator
// set, and the history log is merkle's. It is a `ProofSource`, as a node's store is.
import { toHex } from '../../src/base/index.ts';
import {
  type Block,
  type BlockHeader,
  type Commit,
  type Transaction,
  type ValidatorSet,
  blockHash,
  makeCommit,
  makeValidatorSet,
  signTransaction,
  transactionId,
  transactionRoot,
  validatorSetHash,
} from '../../src/chain/index.ts';
import {
  type Change,
  type ContractBodies,
  type ContractKind,
  type GenesisDocument,
  type Receipt,
  contractBody,
  executeBlock,
  genesisDocumentHash,
  genesisState,
  readValidatorSet,
} from '../../src/contracts/index.ts';
import type { Ed25519KeyPair } from '../../src/crypto/index.ts';
import { HistoryLog, type StateRoot } from '../../src/merkle/index.ts';
import type { ProofSource } from '../../src/proofs/index.ts';
import { chainId, genesisDocument, keyOf } from '../contracts/fixtures.ts';

export const members = ['org-a', 'org-b', 'org-c', 'org-d'] as const;

/** Every node key a test may make a validator: org-a … org-h. */
const nodeNames = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((letter) => `node:org-${letter}`);

export function testGenesis(): GenesisDocument {
  return genesisDocument({
    members,
    policy: { proposalLifetimeHeights: 5, changeDelayHeights: 1 },
  });
}

export class TestChain implements ProofSource {
  readonly genesis: GenesisDocument;
  readonly #blocks: Block[] = [];
  readonly #commits: Commit[] = [];
  readonly #states: StateRoot[];
  readonly #log = new HistoryLog();
  readonly #nonces = new Map<string, number>();
  readonly #keys = new Map<string, Ed25519KeyPair>();
  readonly #genesisSet: ValidatorSet;
  time: number;

  readonly #weakCommitAt: number | undefined;

  constructor(options: { genesis?: GenesisDocument; weakCommitAt?: number } = {}) {
    const genesis = options.genesis ?? testGenesis();
    this.#weakCommitAt = options.weakCommitAt;
    this.genesis = genesis;
    this.#states = [genesisState(genesis).state];
    this.time = genesis.genesisTime;
    for (const name of nodeNames) {
      const pair = keyOf(name);
      this.#keys.set(toHex(pair.publicKey), pair);
    }
    this.#genesisSet = readValidatorSet(this.#states[0]!)!;
  }

  head(): { height: number } {
    return { height: this.#blocks.length };
  }

  loadBlock(height: number): Block | null {
    return this.#blocks[height - 1] ?? null;
  }

  loadCommit(height: number): Commit | null {
    return this.#commits[height - 1] ?? null;
  }

  stateAt(height: number): StateRoot | null {
    return this.#states[height] ?? null;
  }

  log(): HistoryLog {
    return this.#log;
  }

  /** The validator set that signs `height` (decision 0036). */
  validatorSetAt(height: number): ValidatorSet {
    if (height <= 2) return this.#genesisSet;
    return readValidatorSet(this.#states[height - 2]!)!;
  }

  /** A signed transaction by the key named `signer`, with its next nonce. */
  tx<K extends ContractKind>(signer: string, kind: K, body: ContractBodies[K]): Transaction {
    const keyPair = keyOf(signer);
    const nonce = this.#nonces.get(signer) ?? 0;
    this.#nonces.set(signer, nonce + 1);
    return signTransaction({
      unsigned: { chainId, kind, body: contractBody(kind, body), signer: keyPair.publicKey, nonce },
      keyPair,
    });
  }

  /**
   * Executes and commits a block of `txs`; every one must succeed unless `mayFail`. The commit
   * is signed by the first ⌊2n/3⌋ + 1 validators of the height's set, or by `signers` (indices).
   */
  block(
    txs: readonly Transaction[],
    options: { timeStepMs?: number; mayFail?: boolean; signers?: readonly number[] } = {},
  ): readonly Receipt[] {
    const height = this.#blocks.length + 1;
    this.time += options.timeStepMs ?? 1000;
    const set = this.validatorSetAt(height);
    const proposer = set.validators[height % set.validators.length]!.publicKey;
    const previous = this.#states[height - 1]!;
    const result = executeBlock({
      state: previous,
      context: { chainId, height, time: this.time, proposer },
      txs,
    });
    if (options.mayFail !== true) {
      const failed = result.receipts.find((receipt) => !receipt.ok);
      if (failed !== undefined)
        throw new Error(`fixture tx failed: ${failed.code} ${failed.message}`);
    }
    const ids = txs.map(transactionId);
    for (const id of ids) this.#log.append(id);
    const lastBlock = this.#blocks[height - 2];
    const header: BlockHeader = {
      chainId,
      height,
      time: this.time,
      prevHash:
        lastBlock === undefined ? genesisDocumentHash(this.genesis) : blockHash(lastBlock.header),
      txRoot: transactionRoot(ids),
      stateRoot: result.stateRoot,
      logRoot: this.#log.root(),
      logSize: this.#log.size,
      validatorsHash: validatorSetHash(set),
      proposer,
    };
    const quorum = Math.floor((2 * set.validators.length) / 3) + 1;
    const signers =
      options.signers ?? (height === this.#weakCommitAt ? [0, 1] : [...Array(quorum).keys()]);
    const commit = makeCommit({
      chainId,
      height,
      round: 0,
      blockHash: blockHash(header),
      signers: signers.map((validatorIndex) => ({
        validatorIndex,
        keyPair: this.#keys.get(toHex(set.validators[validatorIndex]!.publicKey))!,
      })),
    });
    this.#blocks.push({ header, txs: [...txs], lastCommit: this.#commits[height - 2] ?? null });
    this.#commits.push(commit);
    this.#states.push(result.state);
    return result.receipts;
  }

  /** Proposes `change` as org-a and has org-b and org-c approve it; it applies a block later. */
  govern(change: Change): void {
    const proposal = this.block([this.tx('node:org-a', 'membership.propose', { change })]);
    const proposalId = proposal[0]!.txId;
    this.block([
      this.tx('node:org-b', 'membership.vote', { proposalId }),
      this.tx('node:org-c', 'membership.vote', { proposalId }),
    ]);
    this.block([]);
  }

  /** Sets the validators to the node keys named (power 1 each) by a governance vote. */
  setValidators(names: readonly string[]): void {
    const validators = makeValidatorSet(
      names.map((name) => ({ publicKey: keyOf(name).publicKey, power: 1 })),
    ).validators;
    this.govern({
      type: 'set-validators',
      member: null,
      orgId: null,
      nodeKey: null,
      validators: [...validators],
      policy: null,
    });
  }
}
