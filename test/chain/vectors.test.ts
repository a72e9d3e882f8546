// Pins the canonical encodings and hashes of chain objects built from fixed seeds to
// test/vectors/chain-objects.json: any change to a schema, a tag or a signed hash shows here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import fc from 'fast-check';

import { fromHex, toHex } from '../../src/base/index.ts';
import {
  BlockHeaderSchema,
  CommitSchema,
  TransactionSchema,
  ValidatorSetSchema,
  VoteSchema,
  blockHash,
  decodeBlock,
  encodeBlock,
  signVote,
  transactionId,
  transactionSigningHash,
  validatorSetHash,
  voteSigningHash,
} from '../../src/chain/index.ts';
import { CodecError } from '../../src/codec/index.ts';
import { buildChain, chainId } from './fixtures.ts';

type Vectors = Record<string, string>;

/** Recomputes every pinned value from the deterministic fixtures. */
export function computeVectors(): Vectors {
  const { blocks, set, keyPairs } = buildChain({ count: 2, txPerBlock: 2 });
  const block = blocks[1]!;
  const tx = block.txs[0]!;
  const vote = signVote({
    chainId,
    vote: {
      type: 'prevote',
      height: 2,
      round: 0,
      blockHash: blockHash(block.header),
      validatorIndex: 1,
    },
    keyPair: keyPairs[1]!,
  });
  return {
    transaction: toHex(TransactionSchema.encode(tx)),
    transactionSigningHash: toHex(transactionSigningHash(tx)),
    transactionId: toHex(transactionId(tx)),
    validatorSet: toHex(ValidatorSetSchema.encode(set)),
    validatorSetHash: toHex(validatorSetHash(set)),
    header: toHex(BlockHeaderSchema.encode(block.header)),
    blockHash: toHex(blockHash(block.header)),
    vote: toHex(VoteSchema.encode(vote)),
    voteSigningHash: toHex(voteSigningHash({ chainId, vote })),
    commit: toHex(CommitSchema.encode(block.lastCommit!)),
    block: toHex(encodeBlock(block)),
  };
}

const pinned = JSON.parse(
  readFileSync(new URL('../vectors/chain-objects.json', import.meta.url), 'utf8'),
) as { vectors: Vectors };

test('chain objects encode and hash to the pinned vectors', () => {
  assert.deepEqual(computeVectors(), pinned.vectors);
});

test('the pinned block decodes, and re-encodes to the same bytes', () => {
  const bytes = fromHex(pinned.vectors.block!);
  assert.equal(toHex(encodeBlock(decodeBlock(bytes))), pinned.vectors.block);
});

test('a pinned block with any one byte changed is refused or decodes to a different block', () => {
  const original = fromHex(pinned.vectors.block!);
  fc.assert(
    fc.property(
      fc.nat({ max: original.length - 1 }),
      fc.integer({ min: 1, max: 255 }),
      (at, xor) => {
        const bytes = original.slice();
        bytes[at]! ^= xor;
        let decoded;
        try {
          decoded = decodeBlock(bytes);
        } catch (error) {
          assert.ok(error instanceof CodecError, `expected CodecError, got ${String(error)}`);
          return;
        }
        // Canonical: whatever still decodes re-encodes to exactly the changed bytes.
        assert.equal(toHex(encodeBlock(decoded)), toHex(bytes));
        assert.notEqual(toHex(bytes), pinned.vectors.block);
      },
    ),
    { numRuns: 2000 },
  );
});
