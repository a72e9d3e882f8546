/**
 * Anchors the head of this node's security audit log on chain (decision 0063): every
 * `securityLogAnchorIntervalMs`, when the log holds rows the chain has not seen, the node submits
 * `access.security-log-head` (the newest row's sequence and chain hash) as its own transaction
 * (decision 0055: own transactions share the node key's nonces, which the node hands out). Once
 * a head is on chain, whoever controls the node's disk can no longer rewrite the rows it covers,
 * even recomputing every hash, without `medledger audit security-log` showing it.
 *
 * What was anchored last is read from the committed state, not remembered here, so a restart
 * carries on where the chain is. A log whose head is below the anchored one (deleted and started
 * again, or cut) cannot be anchored any more (the contract refuses a rewind): that is logged as an
 * error each time it is found. A failed submission is logged and tried again at the next tick;
 * nothing here throws into the node. Logs carry sizes and hashes only: the log names no patient.
 */
import type { Logger } from 'pino';

import { equalBytes, shortHex } from '../base/index.ts';
import { readSecurityLogHead } from '../contracts/index.ts';
import { recordsLimits } from './limits.ts';
import type { RecordsNode } from './records-node.ts';

/** What the anchorer reads of the log: its newest row (store's `SqliteSecurityAuditLog.head`). */
export interface SecurityLogHeadSource {
  head(): { readonly sequence: number; readonly hash: Uint8Array };
}

/** The outcome of one attempt. */
export type SecurityLogAnchorOutcome =
  /** The head was anchored (committed, receipt ok). */
  | 'anchored'
  /** Nothing to do: the chain already holds the log's head (or the log is empty). */
  | 'unchanged'
  /** The chain holds a head the log does not have: the log was replaced, cut or rewritten. */
  | 'behind-chain'
  /** The submission failed or was refused; the next tick tries again. */
  | 'failed'
  /** An attempt is already in flight, or the anchorer is stopped. */
  | 'busy';

/** Counters since start (for tests and logs). */
export interface SecurityLogAnchorCounts {
  readonly anchored: number;
  readonly failed: number;
  /** The newest size this node saw committed on chain, 0 before any. */
  readonly lastAnchoredSize: number;
}

export class SecurityLogAnchorer {
  readonly #node: Pick<RecordsNode, 'submitOwnAndWait' | 'stateReader'>;
  readonly #orgId: string;
  readonly #log: SecurityLogHeadSource;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<SecurityLogAnchorOutcome> | null = null;
  #started = false;
  #stopped = false;
  #anchored = 0;
  #failed = 0;
  #lastAnchoredSize = 0;

  constructor(options: {
    node: Pick<RecordsNode, 'submitOwnAndWait' | 'stateReader'>;
    orgId: string;
    log: SecurityLogHeadSource;
    intervalMs?: number;
    logger: Logger;
  }) {
    const intervalMs = options.intervalMs ?? recordsLimits.securityLogAnchorIntervalMs;
    if (
      !Number.isSafeInteger(intervalMs) ||
      intervalMs < recordsLimits.securityLogAnchorIntervalMsMin ||
      intervalMs > recordsLimits.securityLogAnchorIntervalMsMax
    ) {
      throw new RangeError(
        `intervalMs: expected a whole number of ms from ${recordsLimits.securityLogAnchorIntervalMsMin} to ${recordsLimits.securityLogAnchorIntervalMsMax}, found ${String(intervalMs)}`,
      );
    }
    this.#node = options.node;
    this.#orgId = options.orgId;
    this.#log = options.log;
    this.#intervalMs = intervalMs;
    this.#logger = options.logger.child({ part: 'security-log-anchor' });
  }

  get counts(): SecurityLogAnchorCounts {
    return {
      anchored: this.#anchored,
      failed: this.#failed,
      lastAnchoredSize: this.#lastAnchoredSize,
    };
  }

  /** Starts the periodic anchoring (the first attempt one interval from now). */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#schedule();
  }

  /**
   * Stops the ticks (the timer is cleared), waits a bounded time for an attempt in flight, then,
   * when `finalAnchorWaitMs` > 0 and the log grew since the last anchor, anchors once more and
   * waits at most that long for the commit. Never throws.
   */
  async stop(options: { finalAnchorWaitMs: number }): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const waitMs = Math.max(1, options.finalAnchorWaitMs);
    if (this.#inFlight !== null) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#inFlight,
        new Promise((resolve) => {
          timer = setTimeout(resolve, waitMs);
        }),
      ]);
      clearTimeout(timer);
      if (this.#inFlight !== null) return;
    }
    if (options.finalAnchorWaitMs > 0) await this.#attempt(options.finalAnchorWaitMs);
  }

  /** One attempt now (the ticks call this); `busy` while another is in flight or once stopped. */
  anchorNow(): Promise<SecurityLogAnchorOutcome> {
    if (this.#stopped || this.#inFlight !== null) return Promise.resolve('busy');
    return this.#attempt(recordsLimits.commitWaitMs);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.anchorNow().finally(() => this.#schedule());
    }, this.#intervalMs);
    // The ticks alone do not keep the process alive: stopping clears them anyway.
    this.#timer.unref();
  }

  #attempt(timeoutMs: number): Promise<SecurityLogAnchorOutcome> {
    const attempt = this.#submit(timeoutMs)
      .catch((error: unknown) => {
        // #submit catches what it expects; anything else is logged, never thrown into the node.
        this.#failed += 1;
        this.#logger.error(
          { error: error instanceof Error ? error.message : String(error) },
          'security log head not anchored',
        );
        return 'failed' as const;
      })
      .finally(() => {
        if (this.#inFlight === attempt) this.#inFlight = null;
      });
    this.#inFlight = attempt;
    return attempt;
  }

  async #submit(timeoutMs: number): Promise<SecurityLogAnchorOutcome> {
    const head = this.#log.head();
    const onChain = readSecurityLogHead(this.#node.stateReader(), this.#orgId);
    const anchoredSize = onChain?.logSize ?? 0;
    this.#lastAnchoredSize = anchoredSize;
    if (onChain !== null && head.sequence <= anchoredSize) {
      if (head.sequence === anchoredSize && equalBytes(head.hash, onChain.headHash)) {
        return 'unchanged';
      }
      this.#logger.error(
        {
          logSize: head.sequence,
          logHash: shortHex(head.hash),
          anchoredLogSize: anchoredSize,
          anchoredHash: shortHex(onChain.headHash),
          anchoredHeight: onChain.anchoredHeight,
        },
        head.sequence < anchoredSize
          ? 'the security log ends before the head anchored on chain: it was cut, or replaced and started again (decision 0063); it cannot be anchored again'
          : 'the security log head differs from the one anchored on chain at the same size: the log was rewritten (decision 0063)',
      );
      return 'behind-chain';
    }
    if (head.sequence === 0) return 'unchanged';
    let location;
    try {
      location = await this.#node.submitOwnAndWait(
        'access.security-log-head',
        { logSize: head.sequence, headHash: head.hash },
        timeoutMs,
      );
    } catch (error) {
      this.#failed += 1;
      this.#logger.warn(
        {
          logSize: head.sequence,
          error: error instanceof Error ? error.message : String(error),
        },
        'security log head not anchored; trying again at the next tick',
      );
      return 'failed';
    }
    if (!location.receipt.ok) {
      this.#failed += 1;
      this.#logger.error(
        { logSize: head.sequence, code: location.receipt.code, height: location.height },
        `security log head refused by the access contract: ${location.receipt.message ?? ''}`,
      );
      return 'failed';
    }
    this.#anchored += 1;
    this.#lastAnchoredSize = head.sequence;
    this.#logger.info(
      { logSize: head.sequence, headHash: shortHex(head.hash), height: location.height },
      'security log head anchored',
    );
    return 'anchored';
  }
}
