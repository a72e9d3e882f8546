// Checks the explorer's pure functions on hand-made API answers, without a browser: blocks lose
// their bodies and bad answers are refused naming the field, validators' health from links,
// signatures and proposals, the charts' points and summary, the heights a refresh fetches, and
// the block height a reader types.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  type BlockSummary,
  type StatusJson,
  UnexpectedAnswer,
  blockOfHash,
  blockPoints,
  checkHeight,
  countKinds,
  explorerLimits,
  heightsToFetch,
  readBlock,
  readStatus,
  shortHex,
  summarisePoints,
  validatorHealth,
} from '../../src/web/explorer-data.ts';

const keys = ['aa', 'bb', 'cc', 'dd'].map((pair) => pair.repeat(32));

function blockJson(height: number, options: { txs?: number; signers?: number[] } = {}) {
  const txs = Array.from({ length: options.txs ?? 0 }, (_, index) => ({
    id: `${index}`.padStart(64, '0'),
    chainId: 'test',
    kind: index % 2 === 0 ? 'record.anchor' : 'access.record',
    signer: keys[index % 4]!,
    nonce: index,
    body: 'ab'.repeat(10 + index),
    signature: '00'.repeat(64),
  }));
  return {
    height,
    hash: 'ee'.repeat(32),
    header: {
      chainId: 'test',
      height,
      time: 1_000_000 + height * 1_000,
      prevHash: 'ff'.repeat(32),
      txRoot: '11'.repeat(32),
      stateRoot: '22'.repeat(32),
      logRoot: '33'.repeat(32),
      logSize: height * 2,
      validatorsHash: '44'.repeat(32),
      proposer: keys[height % 4]!,
    },
    txs,
    lastCommit: null,
    commit: {
      height,
      round: 0,
      blockHash: 'ee'.repeat(32),
      signatures: (options.signers ?? [0, 1, 2]).map((validatorIndex) => ({
        validatorIndex,
        signature: '00'.repeat(64),
      })),
    },
    receipts: txs.map((tx, index) => ({
      txId: tx.id,
      ok: index !== 1,
      code: index === 1 ? 'not-authorised' : null,
      message: index === 1 ? 'refused' : null,
      cost: 1,
    })),
  };
}

const status: StatusJson = readStatus({
  chainId: 'test',
  nodeKey: keys[0],
  isValidator: true,
  height: 20,
  round: 0,
  lastBlockHash: 'ee'.repeat(32),
  lastBlockTime: 1_020_000,
  stateRoot: '22'.repeat(32),
  logSize: 40,
  logRoot: '33'.repeat(32),
  validators: keys.map((publicKey) => ({ publicKey, power: 1 })),
  peers: [
    { id: keys[1], direction: 'outbound', remote: '127.0.0.1:1' },
    { id: keys[2], direction: 'inbound', remote: '127.0.0.1:2' },
  ],
  mempoolSize: 0,
  p2pAddress: { host: '127.0.0.1', port: 3 },
});

test('a block keeps kinds, ids, signers, sizes and outcomes, and drops the bodies', () => {
  const block = readBlock(blockJson(7, { txs: 3 }));
  assert.equal(block.height, 7);
  assert.equal(block.time, 1_007_000);
  assert.deepEqual(block.signerIndexes, [0, 1, 2]);
  assert.deepEqual(
    block.transactions.map((tx) => [tx.kind, tx.bodyBytes, tx.ok, tx.code]),
    [
      ['record.anchor', 10, true, null],
      ['access.record', 11, false, 'not-authorised'],
      ['record.anchor', 12, true, null],
    ],
  );
  assert.ok(!JSON.stringify(block).includes('abab'), 'no body is kept');
  assert.deepEqual(countKinds(block.transactions), [
    { kind: 'record.anchor', count: 2 },
    { kind: 'access.record', count: 1 },
  ]);
});

test('an answer of the wrong shape is refused, naming the field', () => {
  const noHeader = { ...blockJson(7), header: null };
  assert.throws(() => readBlock(noHeader), /block 7: header: expected an object/);
  const badKind = blockJson(8, { txs: 1 });
  (badKind.txs[0] as { kind: unknown }).kind = 5;
  assert.throws(() => readBlock(badKind), /block 8: txs\[0\]: kind: expected text, found 5/);
  assert.throws(() => readBlock('nope'), UnexpectedAnswer);
  assert.throws(() => readStatus({ chainId: 'x' }), /chain status: validators: expected a list/);
});

test("validators' health: linked, signing and proposing, lagging, silent", () => {
  // Validator 4 (index 3) signs only block 1; validator 3 (index 2) never signs or proposes.
  const blocks: BlockSummary[] = [];
  for (let height = 1; height <= 20; height += 1) {
    const json = blockJson(height, { signers: height === 1 ? [0, 1, 3] : [0, 1] });
    // Proposers: validators 1 and 2 only, so that the others' state comes from signatures.
    json.header.proposer = keys[height % 2]!;
    blocks.push(readBlock(json));
  }
  const health = validatorHealth({ status, blocks });
  assert.deepEqual(
    health.map((v) => [v.number, v.link, v.state, v.lastSigned, v.signedCount, v.lastProposed]),
    [
      [1, 'this node', 'healthy', 20, 20, 20],
      [2, 'outbound', 'healthy', 20, 20, 19],
      [3, 'inbound', 'silent', null, 0, null],
      [4, 'not connected', 'lagging', 1, 1, null],
    ],
  );
  // A validator left out of recent commits but proposing in turn is healthy.
  const proposing = blocks.map((block) =>
    block.height === 18 ? { ...block, proposer: keys[3]! } : block,
  );
  assert.equal(validatorHealth({ status, blocks: proposing })[3]!.state, 'healthy');
  assert.equal(validatorHealth({ status, blocks: [] })[0]!.state, 'unknown');
});

test("the charts' points and summary: rates from block times, intervals only between neighbours", () => {
  const blocks = [1, 2, 3, 5].map((height) => readBlock(blockJson(height, { txs: height })));
  const points = blockPoints(blocks);
  assert.deepEqual(
    points.map((p) => [p.height, p.transactions, p.intervalMs, p.perSecond]),
    [
      [1, 1, null, null],
      [2, 2, 1000, 2],
      [3, 3, 1000, 3],
      [5, 5, null, null],
    ],
  );
  const summary = summarisePoints(points);
  assert.equal(summary.transactions, 11);
  assert.equal(summary.spanMs, 4000);
  assert.equal(summary.perSecond, 2.5, 'the first block opens the span: 10 transactions in 4 s');
  assert.deepEqual(summary.busiestBlock, { height: 5, transactions: 5 });
  assert.equal(summary.intervalMedianMs, 1000);
  const empty = summarisePoints([]);
  assert.equal(empty.perSecond, null);
  assert.equal(empty.intervalMedianMs, null);
});

test('a refresh fetches only the missing heights of the window, newest first', () => {
  assert.deepEqual(heightsToFetch({ head: 5, held: new Set([2, 4]), windowBlocks: 10 }), [5, 3, 1]);
  assert.deepEqual(heightsToFetch({ head: 100, held: new Set([99]), windowBlocks: 3 }), [100, 98]);
  assert.deepEqual(heightsToFetch({ head: 0, held: new Set(), windowBlocks: 3 }), []);
  assert.equal(
    heightsToFetch({ head: 1_000, held: new Set(), windowBlocks: explorerLimits.windowBlocks })
      .length,
    explorerLimits.windowBlocks,
  );
});

test('a typed height is a whole number from 1 to the head; anything else says why', () => {
  assert.deepEqual(checkHeight(' 12 ', 20), { height: 12 });
  assert.deepEqual(checkHeight('20', 20), { height: 20 });
  assert.match((checkHeight('21', 20) as { problem: string }).problem, /not committed yet/);
  assert.match((checkHeight('0', 20) as { problem: string }).problem, /start at 1/);
  assert.match((checkHeight('twelve', 20) as { problem: string }).problem, /whole number/);
  assert.match((checkHeight('-3', 20) as { problem: string }).problem, /whole number/);
  assert.equal(blockOfHash('#/explorer/block/42'), 42);
  assert.equal(blockOfHash('#/explorer/block/0'), null);
  assert.equal(blockOfHash('#/explorer/block/4x'), null);
  assert.equal(blockOfHash('#/explorer'), null);
  assert.equal(shortHex('384659827946c5fd2ae7'), '38465982…2ae7');
  assert.equal(shortHex('abcd'), 'abcd');
});
