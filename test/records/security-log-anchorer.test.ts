// Checks the node's periodic anchoring of its security log head (decision 0063) against a node
// double that executes each own transaction on a real contracts network: it anchors when the log
// grew and not otherwise, retries after a failed submission without throwing, reports a log
// behind the chain, clears its timer on stop and anchors once more at a clean stop; a bad
// interval is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { pino } from 'pino';

import { utf8 } from '../../src/base/index.ts';
import {
  type ContractBodies,
  type ContractKind,
  readSecurityLogHead,
  readerOf,
} from '../../src/contracts/index.ts';
import { sha256 } from '../../src/crypto/index.ts';
import type { TransactionLocation } from '../../src/node/index.ts';
import { SecurityLogAnchorer, recordsLimits } from '../../src/records/index.ts';
import { Network } from '../contracts/fixtures.ts';

const silent = pino({ level: 'silent' });

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A log double whose head the test moves, and a node double over a contracts network. */
function setUp() {
  const net = new Network();
  const log: { sequence: number; hash: Uint8Array } = { sequence: 0, hash: new Uint8Array(32) };
  const grow = (rows: number) => {
    log.sequence += rows;
    log.hash = sha256(utf8(`row ${log.sequence}`));
  };
  const calls: number[] = [];
  let failNext = 0;
  const node = {
    stateReader: () => ({ ...readerOf(net.state), height: net.height }),
    submitOwnAndWait<K extends ContractKind>(kind: K, body: ContractBodies[K]) {
      calls.push((body as ContractBodies['access.security-log-head']).logSize);
      if (failNext > 0) {
        failNext -= 1;
        return Promise.reject(new Error('own transaction refused (busy): mempool full'));
      }
      const receipt = net.run(net.tx('node:org-a', kind, body));
      return Promise.resolve({
        txId: receipt.txId,
        height: net.height,
        index: 0,
        logIndex: 0,
        receipt,
      } satisfies TransactionLocation);
    },
  };
  return {
    net,
    log,
    grow,
    calls,
    node,
    failOnce: () => (failNext += 1),
    anchorer: (intervalMs = 60_000) =>
      new SecurityLogAnchorer({
        node,
        orgId: 'org-a',
        log: { head: () => ({ sequence: log.sequence, hash: log.hash }) },
        intervalMs,
        logger: silent,
      }),
  };
}

test('anchors the head when the log grew, and nothing when it did not', async () => {
  const { net, grow, calls, anchorer } = setUp();
  const anchoring = anchorer();
  assert.equal(await anchoring.anchorNow(), 'unchanged', 'an empty log has nothing to anchor');
  grow(3);
  assert.equal(await anchoring.anchorNow(), 'anchored');
  assert.equal(readSecurityLogHead(net.state, 'org-a')?.logSize, 3);
  assert.equal(await anchoring.anchorNow(), 'unchanged');
  grow(2);
  assert.equal(await anchoring.anchorNow(), 'anchored');
  assert.deepEqual(calls, [3, 5]);
  assert.deepEqual(anchoring.counts, { anchored: 2, failed: 0, lastAnchoredSize: 5 });
});

test('a failed submission is counted and tried again at the next tick; it never throws', async () => {
  const { net, grow, calls, failOnce, anchorer } = setUp();
  const anchoring = anchorer(recordsLimits.securityLogAnchorIntervalMsMin);
  grow(4);
  failOnce();
  anchoring.start();
  for (let i = 0; i < 40 && readSecurityLogHead(net.state, 'org-a') === null; i++) await sleep(25);
  await anchoring.stop({ finalAnchorWaitMs: 0 });
  assert.equal(readSecurityLogHead(net.state, 'org-a')?.logSize, 4);
  assert.deepEqual(calls.slice(0, 2), [4, 4], 'the same head again after the failure');
  assert.equal(anchoring.counts.failed, 1);
});

test('a log behind the chain (replaced, or rewritten at the same size) is reported, not anchored', async () => {
  const { log, grow, calls, anchorer } = setUp();
  const anchoring = anchorer();
  grow(10);
  assert.equal(await anchoring.anchorNow(), 'anchored');
  // The log deleted and started again: 2 rows against 10 on chain.
  log.sequence = 2;
  assert.equal(await anchoring.anchorNow(), 'behind-chain');
  // Rewritten at the same size: another hash for row 10.
  log.sequence = 10;
  log.hash = sha256(utf8('rewritten'));
  assert.equal(await anchoring.anchorNow(), 'behind-chain');
  assert.deepEqual(calls, [10]);
});

test('stop clears the timer and anchors once more if the log grew; a stopped anchorer is busy', async () => {
  const { grow, calls, anchorer } = setUp();
  const anchoring = anchorer(recordsLimits.securityLogAnchorIntervalMsMin);
  anchoring.start();
  grow(1);
  await anchoring.stop({ finalAnchorWaitMs: 1_000 });
  const atStop = calls.length;
  assert.ok(atStop >= 1 && calls.at(-1) === 1, `calls ${calls.join(',')}`);
  grow(5);
  await sleep(recordsLimits.securityLogAnchorIntervalMsMin * 4);
  assert.equal(calls.length, atStop, 'no tick after stop');
  assert.equal(await anchoring.anchorNow(), 'busy');

  // Stopping a log that did not grow submits nothing.
  const quiet = setUp();
  const idle = quiet.anchorer();
  idle.start();
  await idle.stop({ finalAnchorWaitMs: 1_000 });
  assert.deepEqual(quiet.calls, []);
});

test('an interval outside its bounds is refused', () => {
  const { anchorer } = setUp();
  assert.throws(() => anchorer(0), /intervalMs: expected a whole number of ms from 100/);
  assert.throws(() => anchorer(recordsLimits.securityLogAnchorIntervalMsMax + 1), /intervalMs/);
  assert.throws(() => anchorer(1.5), /intervalMs/);
  assert.ok(anchorer(recordsLimits.securityLogAnchorIntervalMsMin));
});
