/**
 * The simulated application: what a node's chain holds on its "disk" (decided blocks and their
 * commits), the block it proposes (empty blocks: consensus is what is under test), the check it
 * applies to proposed blocks (`assertValidBlock` plus its own state rules), and the validator-set
 * changes it hands to consensus at fixed heights.
 */
import {
  type Block,
  type Commit,
  type ValidatorSet,
  ChainError,
  assertValidBlock,
  blockHash,
  transactionRoot,
  validatorSetHash,
} from '../chain/index.ts';
import { consensusLimits } from '../consensus/index.ts';
import { type Hash, sha256 } from '../crypto/index.ts';
import { equalBytes, utf8 } from '../base/index.ts';

/** The chain id of every simulated network. */
export const simChainId = 'medledger-sim';
/** The genesis hash (height 1's prevHash). */
export const simGenesisHash: Hash = sha256(utf8('genesis of medledger-sim'));
/** The genesis time, in virtual ms; virtual time 0 is this instant. */
export const simGenesisTimeMs = 1_700_000_000_000;
/** The state root every simulated block carries (the simulated application has no state). */
export const simStateRoot = new Uint8Array(32);

/** A validator-set change the application hands in while applying `height`. */
export type ValidatorSetChange = {
  readonly height: number;
  readonly set: ValidatorSet;
  readonly what: string;
};

/** The validator set of `height` under the genesis set and the planned changes. */
export function validatorSetAt(options: {
  genesis: ValidatorSet;
  changes: readonly ValidatorSetChange[];
  height: number;
}): ValidatorSet {
  let set = options.genesis;
  for (const change of options.changes) {
    if (change.height + consensusLimits.validatorSetChangeDelayHeights <= options.height)
      set = change.set;
  }
  return set;
}

/** One node's decided chain: its disk, which survives crashes. */
export class SimChain {
  readonly blocks: Block[] = [];
  readonly commits: Commit[] = [];

  constructor(
    readonly genesis: ValidatorSet,
    readonly changes: readonly ValidatorSetChange[],
  ) {}

  /** The height of the last decided block (0 before the first). */
  get height(): number {
    return this.blocks.length;
  }

  setAt(height: number): ValidatorSet {
    return validatorSetAt({ genesis: this.genesis, changes: this.changes, height });
  }

  /** The validator-set change handed in when `height` is applied, or null. */
  changeAt(height: number): ValidatorSet | null {
    return this.changes.find((change) => change.height === height)?.set ?? null;
  }

  private previous(): { hash: Hash; time: number } {
    const last = this.blocks[this.blocks.length - 1];
    if (last === undefined) return { hash: simGenesisHash, time: simGenesisTimeMs };
    return { hash: blockHash(last.header), time: last.header.time };
  }

  /** The block this node proposes at the next height (getValue of Algorithm 1, line 18). */
  buildBlock(options: { nowMs: number; proposer: Uint8Array; lastCommit: Commit | null }): Block {
    const height = this.height + 1;
    const previous = this.previous();
    const empty = transactionRoot([]);
    return {
      header: {
        chainId: simChainId,
        height,
        time: Math.max(simGenesisTimeMs + options.nowMs, previous.time + 1),
        prevHash: previous.hash,
        txRoot: empty,
        stateRoot: simStateRoot,
        logRoot: empty,
        logSize: 0,
        validatorsHash: validatorSetHash(this.setAt(height)),
        proposer: options.proposer,
      },
      txs: [],
      lastCommit: options.lastCommit,
    };
  }

  /**
   * The application check (valid(v) of Algorithm 1): the chain rules of `assertValidBlock` for
   * the next height, and the simulated application's own rules (its state and log roots).
   * Returns the reason it is invalid, or null.
   */
  whyInvalid(block: Block): string | null {
    const height = this.height + 1;
    const previous = this.previous();
    try {
      assertValidBlock(block, {
        chainId: simChainId,
        height,
        prevHash: previous.hash,
        prevTime: previous.time,
        prevLogSize: 0,
        validatorSet: this.setAt(height),
        prevValidatorSet: this.setAt(Math.max(1, height - 1)),
      });
    } catch (error) {
      if (error instanceof ChainError) return error.message;
      throw error;
    }
    if (!equalBytes(block.header.stateRoot, simStateRoot))
      return `block ${height} has a wrong state root`;
    if (!equalBytes(block.header.logRoot, transactionRoot([])))
      return `block ${height} has a wrong log root`;
    return null;
  }

  /** Appends a decided block and its commit (the caller checked it). */
  append(block: Block, commit: Commit): void {
    this.blocks.push(block);
    this.commits.push(commit);
  }
}
