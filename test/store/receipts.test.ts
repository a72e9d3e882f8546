// Checks the stored encoding of receipts: real receipts of executed blocks round-trip exactly,
// and bytes that are not a valid receipt list (wrong attribute types, unknown codes, extra
// bytes) are refused with a CodecError naming the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CodecError, encodeCbor } from '../../src/codec/index.ts';
import type { Receipt } from '../../src/contracts/index.ts';
import { decodeReceipts, encodeReceipts, openChainStore } from '../../src/store/index.ts';
import { nextBlock, storeGenesis, temporaryDirectory } from './fixtures.ts';

const receipt: Receipt = {
  txId: new Uint8Array(32).fill(1),
  ok: false,
  code: 'bad-nonce',
  message: 'signer 0101…: expected nonce 2, found 1',
  events: [{ type: 'record.anchored', attributes: { recordId: 'ab', version: 1, ok: true } }],
  cost: 17,
};

test('receipts of executed blocks, failed ones included, round-trip exactly', () => {
  const { directory, remove } = temporaryDirectory();
  try {
    const store = openChainStore({ directory, genesis: storeGenesis() });
    const entry = nextBlock(store, { txCount: 9 });
    assert.deepEqual(decodeReceipts(encodeReceipts(entry.receipts)), entry.receipts);
    assert.deepEqual(decodeReceipts(encodeReceipts([receipt])), [receipt]);
    assert.deepEqual(decodeReceipts(encodeReceipts([])), []);
    store.close();
  } finally {
    remove();
  }
});

function refuses(bytes: Uint8Array, message: RegExp): void {
  assert.throws(
    () => decodeReceipts(bytes),
    (error: unknown) => {
      assert.ok(error instanceof CodecError, String(error));
      assert.match(error.message, message);
      return true;
    },
  );
}

test('a receipt list that does not decode is refused, naming the field', () => {
  const fields = (overrides: Partial<Record<string, unknown>>) => {
    const base: Record<string, unknown> = {
      txId: receipt.txId,
      ok: receipt.ok,
      code: receipt.code,
      message: receipt.message,
      events: [['record.anchored', { version: 1 }]],
      cost: receipt.cost,
    };
    const merged = { ...base, ...overrides };
    return encodeCbor([
      [merged.txId, merged.ok, merged.code, merged.message, merged.events, merged.cost],
    ] as never);
  };
  // The valid twin decodes.
  assert.equal(decodeReceipts(fields({}))[0]!.events[0]!.attributes.version, 1);
  refuses(fields({ code: 'no-such-code' }), /code/);
  refuses(fields({ txId: new Uint8Array(31) }), /txId/);
  refuses(
    fields({ events: [['x', { bytes: new Uint8Array(1) }]] }),
    /events\[0\]\.attributes\.bytes: expected text, an integer or a boolean, found a byte string$/,
  );
  refuses(
    fields({ events: [['x', [1, 2]]] }),
    /events\[0\]\.attributes: expected a map, found an array$/,
  );
  refuses(Uint8Array.of(...encodeReceipts([receipt]), 0), /trailing|bytes/i);
});
