/**
 * The state, events and actions of the Tendermint state machine (Buchman, Kwon, Milosevic 2018,
 * Algorithm 1). The machine is `stepConsensus(state, event) -> { state, actions }`: events are
 * peer messages, timeouts and the application's answers; actions are what the driver must do, in
 * order (persist before the broadcast that follows it). No I/O, clock or randomness inside.
 */
import { toHex } from '../base/index.ts';
import type { Block, Commit, ValidatorSet } from '../chain/index.ts';
import type { Ed25519KeyPair, Hash } from '../crypto/index.ts';
import type { ConsensusTimeouts } from './config.ts';
import type { Evidence } from './evidence.ts';
import type { ConsensusMessage, ProposalMessage } from './messages.ts';
import type { SigningRecord } from './signing-record.ts';
import type { HeightVotes } from './vote-book.ts';

/** The step of a round (Algorithm 1, `step_p ∈ {propose, prevote, precommit}`). */
export type Step = 'propose' | 'prevote' | 'precommit';

/** What a validator is configured with; fixed for the life of the process. */
export type ConsensusConfig = {
  readonly chainId: string;
  /**
   * The validator's key pairs, newest last: at each height the one whose public key is in that
   * height's set signs (key rotation). Empty for a node that only follows the chain.
   */
  readonly keyPairs: readonly Ed25519KeyPair[];
  readonly timeouts: ConsensusTimeouts;
  /**
   * Test-only: `'no-locking'` disables the locking rule (lines 23 and 29 ignore lockedValue, and
   * a proposer never re-proposes validValue, line 15). Unsafe by design; it exists so the
   * simulator's tests can show that the checkers catch the safety violation it causes.
   */
  readonly testOnlyVariant?: 'no-locking';
};

/** A timer the driver schedules and hands back as a `timeout` event when it fires. */
export type ConsensusTimeout = {
  readonly kind: 'propose' | 'prevote' | 'precommit' | 'rebroadcast';
  readonly height: number;
  readonly round: number;
};

/** Inputs of the state machine. */
export type ConsensusEvent =
  /** A decoded message from `peer` (the driver's name for the sender; used only to answer). */
  | { readonly kind: 'message'; readonly peer: string; readonly message: ConsensusMessage }
  | { readonly kind: 'timeout'; readonly timeout: ConsensusTimeout }
  /** The application's verdict on a block it was asked to check (`validate-block`). */
  | {
      readonly kind: 'block-validated';
      readonly height: number;
      readonly blockHash: Hash;
      readonly valid: boolean;
    }
  /** The application's answer to `get-value`: the block to propose (getValue(), line 18). */
  | {
      readonly kind: 'value-ready';
      readonly height: number;
      readonly round: number;
      readonly block: Block;
    }
  /**
   * The application applied the block of `height`; `validatorSetChange` (or null) takes effect
   * at `height + consensusLimits.validatorSetChangeDelayHeights`.
   */
  | {
      readonly kind: 'block-applied';
      readonly height: number;
      readonly validatorSetChange: ValidatorSet | null;
    };

/** Outputs of the state machine; the driver performs them in order. */
export type ConsensusAction =
  /** Write `record` durably; only then perform the actions after it. */
  | { readonly kind: 'persist'; readonly record: SigningRecord }
  | { readonly kind: 'broadcast'; readonly message: ConsensusMessage }
  | { readonly kind: 'send'; readonly peer: string; readonly message: ConsensusMessage }
  | {
      readonly kind: 'schedule-timeout';
      readonly timeout: ConsensusTimeout;
      readonly delayMs: number;
    }
  /** Run the application check on `block`; answer with `block-validated`. */
  | {
      readonly kind: 'validate-block';
      readonly height: number;
      readonly blockHash: Hash;
      readonly block: Block;
    }
  /** Build the block to propose on top of `lastCommit`; answer with `value-ready`. */
  | {
      readonly kind: 'get-value';
      readonly height: number;
      readonly round: number;
      readonly lastCommit: Commit | null;
    }
  /** The block of `height` is decided (line 51); apply it, then answer with `block-applied`. */
  | {
      readonly kind: 'commit-block';
      readonly height: number;
      readonly block: Block;
      readonly commit: Commit;
    }
  /**
   * `peer` is at `height`, which is decided here: send it that block and its commit from the
   * block store as a `decision` message (block sync is the driver's, it owns the store).
   */
  | { readonly kind: 'send-decision'; readonly peer: string; readonly height: number }
  /** Equivocation was seen; the evidence verifies and can be put in a block. */
  | { readonly kind: 'report-evidence'; readonly evidence: Evidence };

/** A block with its hash, as held in locks and proposals. */
export type KnownBlock = { readonly block: Block; readonly hash: Hash; readonly key: string };

/** The state of one validator. Owned by the machine: callers pass it back and never edit it. */
export type ConsensusState = {
  readonly config: ConsensusConfig;
  height: number;
  round: number;
  step: Step;
  /** lockedValue / lockedRound of Algorithm 1 (null for nil / −1). */
  lockedBlock: KnownBlock | null;
  lockedRound: number | null;
  /** validValue / validRound of Algorithm 1. */
  validBlock: KnownBlock | null;
  validRound: number | null;
  /** Validator sets by height: the current one and those already scheduled. */
  validatorSets: Map<number, ValidatorSet>;
  /** Own index in the current height's set, −1 when not a validator at this height. */
  ownIndex: number;
  /** The commit of height − 1 (null at height 1), for the next block's `lastCommit`. */
  lastCommit: Commit | null;
  /** The proposal of each round of this height from its proposer (the first one received). */
  proposals: Map<number, ProposalMessage & { readonly key: string }>;
  /** Blocks of this height by hash key, and the application's verdict on each. */
  blocks: Map<string, KnownBlock>;
  validity: Map<string, 'pending' | 'valid' | 'invalid'>;
  /** How often another body of an invalid value was checked (see `learnBlock`). */
  revalidations: Map<string, number>;
  votes: HeightVotes;
  /** The last signing record (what was signed last, at any height). */
  record: SigningRecord | null;
  /** Own signed messages of this height, by round, for re-sending. */
  ownMessages: Map<number, ConsensusMessage[]>;
  /** Rounds where a proposal was requested from the application or already sent. */
  proposedRounds: Set<number>;
  /** "For the first time" guards of lines 34, 36 and 47, by round. */
  prevoteTimeoutRounds: Set<number>;
  polkaRounds: Set<number>;
  precommitTimeoutRounds: Set<number>;
  /** Heights whose block the application has applied (answers to `commit-block`). */
  appliedHeight: number;
  /** Verified commit certificates of this height received from peers, by value key. */
  receivedCommits: Map<string, Commit>;
  /** Keys of evidence already reported. */
  evidenceReported: Set<string>;
};

/** The map key of a value: the hex of its hash, or `nil`. */
export function valueKey(hash: Uint8Array | null): string {
  return hash === null ? 'nil' : toHex(hash);
}
