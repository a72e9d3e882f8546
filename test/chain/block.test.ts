// Checks block validation on a chain built from real signatures: every valid block passes, and
// each single fault (height, time, hashes, commit, proposer, transactions, log size) is named.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  type Block,
  type Transaction,
  ChainError,
  assertValidBlock,
  blockHash,
  decodeBlock,
  encodeBlock,
  encodeTransaction,
  makeCommit,
  makeValidatorSet,
  transactionId,
  transactionIdOfEncoding,
  transactionRoot,
} from '../../src/chain/index.ts';
import { AssertionFailedError, toHex } from '../../src/base/index.ts';
import { logEmptyRoot } from '../../src/merkle/index.ts';
import {
  buildChain,
  chainId,
  contextOf,
  keyPairOf,
  transaction,
  assertChainError,
} from './fixtures.ts';

const { blocks, set, keyPairs, author } = buildChain({ count: 4, txPerBlock: 3 });

function rejects(block: Block, index: number, code: string, message?: RegExp): void {
  assertChainError(() => assertValidBlock(block, contextOf(blocks, index, set)), code, message);
}

test('every block of a valid chain validates and round-trips through its encoding', () => {
  for (const [index, block] of blocks.entries()) {
    assertValidBlock(block, contextOf(blocks, index, set));
    const decoded = decodeBlock(encodeBlock(block));
    assert.deepEqual(decoded, block);
    assert.deepEqual(blockHash(decoded.header), blockHash(block.header));
  }
});

test('header faults are each refused with their code', () => {
  const block = blocks[2]!;
  const header = block.header;
  rejects({ ...block, header: { ...header, chainId: 'other' } }, 2, 'wrong-chain');
  rejects({ ...block, header: { ...header, height: 4 } }, 2, 'wrong-height');
  rejects({ ...block, header: { ...header, time: blocks[1]!.header.time } }, 2, 'wrong-time');
  rejects(
    { ...block, header: { ...header, prevHash: blockHash(blocks[0]!.header) } },
    2,
    'wrong-prev-hash',
  );
  rejects(
    { ...block, header: { ...header, validatorsHash: new Uint8Array(32) } },
    2,
    'wrong-validators-hash',
  );
  rejects(
    { ...block, header: { ...header, proposer: keyPairOf('outsider').publicKey } },
    2,
    'unknown-proposer',
  );
  rejects({ ...block, header: { ...header, txRoot: logEmptyRoot() } }, 2, 'wrong-tx-root');
  rejects(
    { ...block, header: { ...header, logSize: header.logSize + 1 } },
    2,
    'bad-field',
    /logSize/,
  );
});

test('commit faults: missing, unexpected at height 1, too few signers, signed by another set', () => {
  rejects({ ...blocks[2]!, lastCommit: null }, 2, 'missing-commit');
  rejects({ ...blocks[0]!, lastCommit: blocks[2]!.lastCommit }, 0, 'unexpected-commit');
  const weak = makeCommit({
    chainId,
    height: 2,
    round: 0,
    blockHash: blockHash(blocks[1]!.header),
    signers: [0, 1].map((validatorIndex) => ({
      validatorIndex,
      keyPair: keyPairs[validatorIndex]!,
    })),
  });
  rejects({ ...blocks[2]!, lastCommit: weak }, 2, 'no-quorum');
  const otherSet = makeValidatorSet(
    ['a', 'b', 'c', 'd'].map((n) => ({ publicKey: keyPairOf(n).publicKey, power: 1 })),
  );
  assert.throws(
    () =>
      assertValidBlock(blocks[2]!, { ...contextOf(blocks, 2, set), prevValidatorSet: otherSet }),
    (error: unknown) => error instanceof ChainError && error.code === 'bad-signature',
  );
});

test('transaction faults: a bad signature, a duplicate, a foreign chain', () => {
  const block = blocks[1]!;
  const [tx0, tx1] = block.txs;
  const tampered = { ...tx1!, nonce: tx1!.nonce + 100 };
  rejects({ ...block, txs: [tx0!, tampered, block.txs[2]!] }, 1, 'bad-signature', /transaction 1/);
  rejects(
    { ...block, txs: [tx0!, tx0!, block.txs[2]!] },
    1,
    'duplicate-transaction',
    /transaction 1/,
  );
  const foreign = { ...transaction({ signer: author, nonce: 99 }), chainId: 'other' };
  rejects({ ...block, txs: [foreign] }, 1, 'wrong-chain', /transaction 0/);
});

test('an empty block has the empty-tree txRoot and validates', () => {
  const previous = blocks[3]!;
  const header = {
    ...previous.header,
    height: 5,
    time: previous.header.time + 1,
    prevHash: blockHash(previous.header),
    txRoot: transactionRoot([]),
  };
  const lastCommit = makeCommit({
    chainId,
    height: 4,
    round: 0,
    blockHash: blockHash(previous.header),
    signers: [1, 2, 3].map((validatorIndex) => ({
      validatorIndex,
      keyPair: keyPairs[validatorIndex]!,
    })),
  });
  const block = { header, txs: [], lastCommit };
  const all = [...blocks, block];
  assertValidBlock(block, contextOf(all, 4, set));
});

/**
 * Block 1 with its second transaction's signature replaced: the signature is the only fault, the
 * transaction root is that of the changed transactions.
 */
function blockWithBadSignature(): { candidate: Block; tampered: Transaction } {
  const block = blocks[1]!;
  const tampered = { ...block.txs[1]!, signature: new Uint8Array(64).fill(7) };
  const txs = [block.txs[0]!, tampered, block.txs[2]!];
  const header = { ...block.header, txRoot: transactionRoot(txs.map((tx) => transactionId(tx))) };
  return { candidate: { ...block, header, txs }, tampered };
}

test('verifiedTxIds skips the signature check of the named transactions only', () => {
  const { candidate, tampered } = blockWithBadSignature();
  const tamperedId = toHex(transactionId(tampered));
  const tx0 = candidate.txs[0];
  const context = contextOf(blocks, 1, set);
  assertValidBlock(candidate, context, { verifiedTxIds: new Set([tamperedId]) });
  assertChainError(
    () => assertValidBlock(candidate, context, { verifiedTxIds: new Set() }),
    'bad-signature',
    /transaction 1/,
  );
  assertChainError(
    () =>
      assertValidBlock(candidate, context, {
        verifiedTxIds: new Set([toHex(transactionId(tx0!))]),
      }),
    'bad-signature',
    /transaction 1/,
  );
});

test('txEncodings: the caller encodings and ids are used, not made again; checks are unchanged', () => {
  const context = contextOf(blocks, 1, set);
  const block = blocks[1]!;
  const encoded = block.txs.map((tx) => encodeTransaction(tx));
  const ids = encoded.map((bytes) => transactionIdOfEncoding(bytes));
  assertValidBlock(block, context, { txEncodings: { encoded, ids } });
  // Twin: an id that is not the transaction's (a caller's mistake) shows as the root it gives.
  const wrongIds = [ids[1]!, ids[0]!, ids[2]!];
  assertChainError(
    () => assertValidBlock(block, context, { txEncodings: { encoded, ids: wrongIds } }),
    'wrong-tx-root',
  );
  // The signature is still checked with the caller's encodings.
  const { candidate } = blockWithBadSignature();
  const tamperedEncoded = candidate.txs.map((tx) => encodeTransaction(tx));
  const tamperedIds = tamperedEncoded.map((bytes) => transactionIdOfEncoding(bytes));
  assertChainError(
    () =>
      assertValidBlock(candidate, context, {
        txEncodings: { encoded: tamperedEncoded, ids: tamperedIds },
      }),
    'bad-signature',
    /transaction 1/,
  );
});

test('txEncodings of another length than the transactions is a programmer error', () => {
  const context = contextOf(blocks, 1, set);
  const block = blocks[1]!;
  const encoded = block.txs.map((tx) => encodeTransaction(tx));
  const ids = encoded.map((bytes) => transactionIdOfEncoding(bytes));
  assert.throws(
    () => assertValidBlock(block, context, { txEncodings: { encoded: encoded.slice(1), ids } }),
    (error: unknown) =>
      error instanceof AssertionFailedError && /one encoding per transaction/.test(error.message),
  );
  assert.throws(
    () => assertValidBlock(block, context, { txEncodings: { encoded, ids: ids.slice(1) } }),
    (error: unknown) =>
      error instanceof AssertionFailedError && /one id per transaction/.test(error.message),
  );
});
