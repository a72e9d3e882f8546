/**
 * Block hashes, transaction roots and the pure validation of a block against its predecessor
 * (DESIGN.md "The chain"). What needs execution (the state root, the log root) is checked by the
 * application after it runs the transactions; everything else is checked here.
 */
import { assert, equalBytes, shortHex, toHex } from '../base/index.ts';
import { type Hash, hashTagged } from '../crypto/index.ts';
import { HistoryLog, logEmptyRoot } from '../merkle/index.ts';
import { assertValidCommit } from './commit.ts';
import { ChainError } from './errors.ts';
import { chainLimits } from './limits.ts';
import {
  type Block,
  type BlockHeader,
  BlockHeaderSchema,
  BlockSchema,
  type Transaction,
  type ValidatorSet,
} from './schemas.ts';
import {
  assertValidEncodedTransaction,
  encodeTransaction,
  transactionIdOfEncoding,
} from './transaction.ts';
import { validatorIndexOf, validatorSetHash } from './validator-set.ts';

/** Tag of a block's hash: the hash of its encoded header. */
export const blockHashTag = 'medledger/header/v1';

/** The hash of a block (of its header: the header commits to everything else). */
export function blockHash(header: BlockHeader): Hash {
  return hashTagged(blockHashTag, BlockHeaderSchema.encode(header));
}

/**
 * The root of an RFC 9162 Merkle tree whose leaves are the ids of `txIds` in block order: the
 * header's `txRoot`. The same leaves are appended to the history log, so a transaction's
 * inclusion in its block and in the log are proven the same way.
 */
export function transactionRoot(txIds: readonly Hash[]): Hash {
  if (txIds.length === 0) return logEmptyRoot();
  const tree = new HistoryLog();
  for (const id of txIds) tree.append(id);
  return tree.root();
}

/** The canonical encoding of a block. */
export function encodeBlock(block: Block): Uint8Array {
  return BlockSchema.encode(block);
}

/** Strictly decodes a block (throws `CodecError` naming the field that is wrong). */
export function decodeBlock(bytes: Uint8Array): Block {
  return BlockSchema.decode(bytes);
}

/** What a block is checked against: the chain, its predecessor and the validator sets. */
export type BlockContext = {
  readonly chainId: string;
  /** The expected height: the predecessor's height + 1 (1 for the first block). */
  readonly height: number;
  /** The predecessor's block hash, or the genesis document's hash at height 1. */
  readonly prevHash: Uint8Array;
  /** The predecessor's time (Unix ms), or the genesis time at height 1. */
  readonly prevTime: number;
  /** The history-log size after the predecessor (0 at height 1). */
  readonly prevLogSize: number;
  /** The validator set of this height: `validatorsHash` and the proposer are checked against it. */
  readonly validatorSet: ValidatorSet;
  /** The validator set of the predecessor's height, which signed `lastCommit` (unused at 1). */
  readonly prevValidatorSet: ValidatorSet;
};

/** Options of `assertValidBlock`. */
export type BlockCheckOptions = {
  /**
   * Ids (lowercase hex) of transactions whose signatures the caller has already verified (a
   * node's mempool verifies each transaction once, on worker threads): their signature check is
   * skipped, every other check still runs. Absent: every signature is checked here.
   */
  readonly verifiedTxIds?: ReadonlySet<string>;
  /**
   * The caller's encodings of the block's transactions and their ids, one per transaction in
   * order (`encodeTransaction(tx)` and `transactionIdOfEncoding` of it), so that they are not
   * made a second time: a node has them from looking its mempool up (about 2 % of a node's main
   * thread under `npm run bench:net`, decision 0079). Absent: made here.
   */
  readonly txEncodings?: { readonly encoded: readonly Uint8Array[]; readonly ids: readonly Hash[] };
};

/** The ids of a block's transactions, checking each one and the block's size bounds. */
function checkTransactions(
  txs: readonly Transaction[],
  chainId: string,
  options: BlockCheckOptions,
): Hash[] {
  const { verifiedTxIds, txEncodings } = options;
  if (txEncodings !== undefined) {
    assert(txEncodings.encoded.length === txs.length, 'one encoding per transaction');
    assert(txEncodings.ids.length === txs.length, 'one id per transaction');
  }
  if (txs.length > chainLimits.blockTxCountMax) {
    throw new ChainError(
      'too-large',
      `block has ${txs.length} transactions, at most ${chainLimits.blockTxCountMax} allowed`,
    );
  }
  const ids: Hash[] = [];
  const seen = new Set<string>();
  let bytes = 0;
  for (const [index, tx] of txs.entries()) {
    const encoded = txEncodings?.encoded[index] ?? encodeTransaction(tx);
    const id = txEncodings?.ids[index] ?? transactionIdOfEncoding(encoded);
    const key = toHex(id);
    try {
      assertValidEncodedTransaction({
        tx,
        encoded,
        chainId,
        signatureVerified: verifiedTxIds?.has(key) ?? false,
      });
    } catch (error) {
      if (error instanceof ChainError) {
        throw new ChainError(error.code, `transaction ${index}: ${error.message}`, error.details);
      }
      throw error;
    }
    bytes += encoded.length;
    if (bytes > chainLimits.blockTxBytesMax) {
      throw new ChainError(
        'too-large',
        `block transactions exceed ${chainLimits.blockTxBytesMax} bytes at transaction ${index}`,
      );
    }
    if (seen.has(key)) {
      throw new ChainError(
        'duplicate-transaction',
        `transaction ${index} appears twice in the block`,
      );
    }
    seen.add(key);
    ids.push(id);
  }
  return ids;
}

/**
 * Checks `block` against `context` and throws a `ChainError` naming the first thing wrong:
 * chain id, height, time, previous hash, the previous block's commit, proposer, validator-set
 * hash, every transaction (chain id, form, size, signature), duplicates, the transaction root,
 * and the history-log size. The state root and log root need execution and are the
 * application's to check.
 */
export function assertValidBlock(
  block: Block,
  context: BlockContext,
  options: BlockCheckOptions = {},
): void {
  const { header } = block;
  if (header.chainId !== context.chainId) {
    throw new ChainError(
      'wrong-chain',
      `block is for chain ${JSON.stringify(header.chainId)}, expected ${JSON.stringify(context.chainId)}`,
    );
  }
  if (header.height !== context.height) {
    throw new ChainError(
      'wrong-height',
      `block height is ${header.height}, expected ${context.height}`,
    );
  }
  if (header.time <= context.prevTime) {
    throw new ChainError(
      'wrong-time',
      `block time ${header.time} is not after the previous block's ${context.prevTime}`,
    );
  }
  if (!equalBytes(header.prevHash, context.prevHash)) {
    throw new ChainError(
      'wrong-prev-hash',
      `block ${header.height} prevHash is ${shortHex(header.prevHash)}, expected ${shortHex(context.prevHash)}`,
    );
  }
  if (header.height === 1) {
    if (block.lastCommit !== null) {
      throw new ChainError(
        'unexpected-commit',
        'block 1 carries a lastCommit, but it has no predecessor',
      );
    }
  } else {
    if (block.lastCommit === null) {
      throw new ChainError(
        'missing-commit',
        `block ${header.height} has no commit of block ${header.height - 1}`,
      );
    }
    assertValidCommit({
      chainId: context.chainId,
      commit: block.lastCommit,
      height: header.height - 1,
      blockHash: context.prevHash,
      validatorSet: context.prevValidatorSet,
    });
  }
  const expectedValidatorsHash = validatorSetHash(context.validatorSet);
  if (!equalBytes(header.validatorsHash, expectedValidatorsHash)) {
    throw new ChainError(
      'wrong-validators-hash',
      `block ${header.height} validatorsHash is ${shortHex(header.validatorsHash)}, expected ${shortHex(expectedValidatorsHash)}`,
    );
  }
  if (validatorIndexOf(context.validatorSet, header.proposer) < 0) {
    throw new ChainError(
      'unknown-proposer',
      `block ${header.height} proposer ${shortHex(header.proposer)} is not in the validator set`,
    );
  }
  const ids = checkTransactions(block.txs, context.chainId, options);
  const expectedTxRoot = transactionRoot(ids);
  if (!equalBytes(header.txRoot, expectedTxRoot)) {
    throw new ChainError(
      'wrong-tx-root',
      `block ${header.height} txRoot is ${shortHex(header.txRoot)}, computed ${shortHex(expectedTxRoot)} from ${ids.length} transactions`,
    );
  }
  const expectedLogSize = context.prevLogSize + ids.length;
  if (header.logSize !== expectedLogSize) {
    throw new ChainError(
      'bad-field',
      `block ${header.height} logSize is ${header.logSize}, expected ${expectedLogSize} (${context.prevLogSize} + ${ids.length} transactions)`,
    );
  }
}
