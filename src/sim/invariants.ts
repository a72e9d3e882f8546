/**
 * The invariant checkers, run at every simulated step that can break one (each send, each
 * commit, each piece of evidence), so a violation is caught at the step that caused it:
 *
 * - agreement: no two honest nodes commit different blocks at one height;
 * - validity: every committed block passes the application check;
 * - commit-quorum: every commit carries valid precommits of more than 2/3 of the power;
 * - double-sign: no honest validator signs two different values for one (height, round, step);
 * - persist-before-send: an honest validator sends a signed message only once its signing record
 *   covers it;
 * - false-evidence: evidence verifies, and never accuses an honest validator.
 *
 * Liveness (every honest node commits new heights within a bounded time after stabilisation)
 * is checked at the end of a run, by `run-simulation.ts`.
 */
import { shortHex, toHex } from '../base/index.ts';
import {
  type Block,
  type Commit,
  type ValidatorSet,
  ChainError,
  assertValidCommit,
  blockHash,
} from '../chain/index.ts';
import {
  type ConsensusMessage,
  type Evidence,
  type SigningRecord,
  ConsensusError,
  compareSigningPosition,
  recordedValue,
  verifyEvidence,
} from '../consensus/index.ts';
import { simChainId } from './application.ts';

/** The names of the safety invariants. */
export const safetyInvariants = [
  'agreement',
  'validity',
  'commit-quorum',
  'double-sign',
  'persist-before-send',
  'false-evidence',
] as const;
export type SafetyInvariant = (typeof safetyInvariants)[number];

/** A broken invariant: which one, where, when, and what was seen. */
export type Violation = {
  readonly invariant: SafetyInvariant;
  readonly node: string;
  readonly timeMs: number;
  readonly detail: string;
};

function valueText(hash: Uint8Array | null): string {
  return hash === null ? 'nil' : shortHex(hash);
}

/** The global view the checkers keep across all nodes of one run. */
export class InvariantChecker {
  readonly violations: Violation[] = [];
  private readonly committed = new Map<number, { hash: string; node: string }>();
  private readonly signed = new Map<string, { value: string; node: string }>();

  private fail(invariant: SafetyInvariant, node: string, timeMs: number, detail: string): void {
    this.violations.push({ invariant, node, timeMs, detail });
  }

  /** An honest node sends `message`; `record` is its persisted signing record. */
  onHonestSend(options: {
    node: string;
    timeMs: number;
    message: ConsensusMessage;
    record: SigningRecord | null;
    signer: Uint8Array | null;
  }): void {
    const { node, timeMs, message, record, signer } = options;
    let position: { height: number; round: number; step: 'proposal' | 'prevote' | 'precommit' };
    let value: Uint8Array | null;
    if (message.kind === 'vote') {
      position = {
        height: message.vote.height,
        round: message.vote.round,
        step: message.vote.type,
      };
      value = message.vote.blockHash;
    } else if (message.kind === 'proposal') {
      position = {
        height: message.proposal.height,
        round: message.proposal.round,
        step: 'proposal',
      };
      value = message.proposal.blockHash;
    } else {
      return;
    }
    const what = `${position.step} h${position.height} r${position.round} for ${valueText(value)}`;
    if (record === null || compareSigningPosition(position, record) > 0) {
      this.fail(
        'persist-before-send',
        node,
        timeMs,
        `${node} sent ${what} before its signing record covered it`,
      );
    } else if (
      compareSigningPosition(position, record) === 0 &&
      valueText(recordedValue(record)) !== valueText(value)
    ) {
      this.fail(
        'persist-before-send',
        node,
        timeMs,
        `${node} sent ${what}, but its record holds ${valueText(recordedValue(record))}`,
      );
    }
    if (signer === null) return;
    const key = `${toHex(signer)}:${position.height}:${position.round}:${position.step}`;
    const seen = this.signed.get(key);
    if (seen === undefined) {
      this.signed.set(key, { value: valueText(value), node });
    } else if (seen.value !== valueText(value)) {
      this.fail(
        'double-sign',
        node,
        timeMs,
        `honest ${node} signed ${what}, having signed ${seen.value} for the same step`,
      );
    }
  }

  /**
   * An honest node commits `block` at `height` with `commit`; `whyInvalid` is its application
   * check (null when valid) and `validatorSet` the height's set.
   */
  onCommit(options: {
    node: string;
    timeMs: number;
    height: number;
    block: Block;
    commit: Commit;
    whyInvalid: string | null;
    validatorSet: ValidatorSet;
  }): void {
    const { node, timeMs, height, block, commit } = options;
    const hash = blockHash(block.header);
    const key = toHex(hash);
    const first = this.committed.get(height);
    if (first === undefined) this.committed.set(height, { hash: key, node });
    else if (first.hash !== key) {
      this.fail(
        'agreement',
        node,
        timeMs,
        `${node} committed ${shortHex(hash)} at height ${height}, but ${first.node} committed ${first.hash.slice(0, 8)}…`,
      );
    }
    if (options.whyInvalid !== null) {
      this.fail(
        'validity',
        node,
        timeMs,
        `${node} committed an invalid block at height ${height}: ${options.whyInvalid}`,
      );
    }
    try {
      assertValidCommit({
        chainId: simChainId,
        commit,
        height,
        blockHash: hash,
        validatorSet: options.validatorSet,
      });
    } catch (error) {
      if (!(error instanceof ChainError)) throw error;
      this.fail(
        'commit-quorum',
        node,
        timeMs,
        `${node}'s commit of height ${height}: ${error.message}`,
      );
    }
  }

  /** A node reports `evidence`; `honestKeys` are the keys of the honest validators. */
  onEvidence(options: {
    node: string;
    timeMs: number;
    evidence: Evidence;
    validatorSet: ValidatorSet;
    isHonestKey: (key: Uint8Array) => boolean;
  }): void {
    const { node, timeMs, evidence } = options;
    try {
      verifyEvidence(evidence, options.validatorSet, simChainId);
    } catch (error) {
      if (!(error instanceof ConsensusError)) throw error;
      this.fail(
        'false-evidence',
        node,
        timeMs,
        `${node} reported evidence that does not verify: ${error.message}`,
      );
      return;
    }
    if (options.isHonestKey(evidence.validator)) {
      this.fail(
        'false-evidence',
        node,
        timeMs,
        `${node} holds valid evidence against honest ${shortHex(evidence.validator)}`,
      );
    }
  }

  /** The highest height any honest node committed. */
  get highestCommitted(): number {
    let highest = 0;
    for (const height of this.committed.keys()) highest = Math.max(highest, height);
    return highest;
  }
}
