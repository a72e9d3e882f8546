// Checks that the store's direct receipt encoder writes exactly the schema layer's canonical CBOR:
// for receipts of executed blocks (failed ones included) and, with fast-check (seeded, the seed
// printed on failure), for random receipts, both valid and not (unknown codes, surrogates, extra
// fields, unsafe integers): the bytes are equal, or both refuse with the same CodecError.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { CodecError } from '../../src/codec/index.ts';
import type { Receipt } from '../../src/contracts/index.ts';
import { openChainStore } from '../../src/store/index.ts';
import {
  encodeReceipts,
  encodeReceiptsDirectly,
  encodeReceiptsWithSchema,
} from '../../src/store/receipt-schema.ts';
import { nextBlock, storeGenesis, temporaryDirectory } from './fixtures.ts';

/** The outcome of an encoding: its bytes as hex, or the CodecError's message. */
function outcome(encode: () => Uint8Array): string {
  try {
    return `bytes ${Buffer.from(encode()).toString('hex')}`;
  } catch (error) {
    if (error instanceof CodecError) return `error ${error.message}`;
    throw error;
  }
}

test('executed blocks: the direct encoding is byte for byte the schema encoding', () => {
  const { directory, remove } = temporaryDirectory();
  try {
    const store = openChainStore({ directory, genesis: storeGenesis() });
    const first = nextBlock(store, { txCount: 30 });
    store.commitBlock(first);
    // A block whose appended replays fail: receipts with codes and messages.
    const entry = nextBlock(store, { txCount: 12, append: first.block.txs.slice(0, 5) });
    assert.ok(entry.receipts.some((receipt) => !receipt.ok));
    for (const receipts of [first.receipts, entry.receipts, []]) {
      const direct = encodeReceiptsDirectly(receipts);
      assert.ok(direct !== null, 'plain receipts take the direct path');
      assert.deepEqual(direct, encodeReceiptsWithSchema(receipts));
    }
    store.close();
  } finally {
    remove();
  }
});

const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.constantFrom('\ud800', 'a\udc00b', 'é', '🩺'),
);
const attributeValue = fc.oneof(
  text,
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  fc.constantFrom(0, -1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32, -(2 ** 32) - 1, -0),
  fc.boolean(),
  fc.constantFrom(1.5, 2 ** 60, null, new Uint8Array(2)),
);
const receiptArbitrary = fc.record({
  txId: fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 33 })),
  ok: fc.oneof(fc.boolean(), fc.constant(1 as unknown as boolean)),
  code: fc.constantFrom(null, 'bad-nonce', 'forbidden', 'not-a-code'),
  message: fc.oneof(fc.constant(null), text),
  events: fc.array(
    fc.record({
      type: text,
      attributes: fc.dictionary(text, attributeValue, { maxKeys: 5 }),
    }),
    { maxLength: 3 },
  ),
  cost: fc.oneof(fc.nat(), fc.constantFrom(-1, 2 ** 53, 0.5)),
});
const receiptsArbitrary = fc.array(
  fc.oneof(
    { weight: 8, arbitrary: receiptArbitrary },
    { weight: 1, arbitrary: receiptArbitrary.map((receipt) => ({ ...receipt, extra: 1 })) },
  ),
  { maxLength: 4 },
);

test('random receipts: the store encoding agrees with the schema, bytes or refusal', () => {
  const seed = 20_261_125;
  let direct = 0;
  let refused = 0;
  fc.assert(
    fc.property(receiptsArbitrary, (receipts) => {
      const given = receipts as unknown as Receipt[];
      const expected = outcome(() => encodeReceiptsWithSchema(given));
      assert.equal(
        outcome(() => encodeReceipts(given)),
        expected,
      );
      if (encodeReceiptsDirectly(given) !== null) direct++;
      if (expected.startsWith('error')) refused++;
    }),
    { seed, numRuns: 3000 },
  );
  // Both paths were exercised: the property is not vacuous.
  assert.ok(direct > 300, `direct encodings: ${direct} (seed ${seed})`);
  assert.ok(refused > 300, `refusals: ${refused} (seed ${seed})`);
});
