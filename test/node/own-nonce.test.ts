// Checks how the node picks its own next nonce from the mempool (`Mempool.firstFreeNonce`) with real signed transactions: consecutive while own transactions wait, back to the committed nonce when none wait, and into the gap a dropped (expired) one left.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { toHex } from '../../src/base/index.ts';
import { encodeTransaction, transactionIdOfEncoding } from '../../src/chain/index.ts';
import type { Ed25519KeyPair } from '../../src/crypto/index.ts';
import { Mempool, type MempoolEntry } from '../../src/node/mempool.ts';
import { keyPairOf, transaction } from '../chain/fixtures.ts';

function entryOf(signer: Ed25519KeyPair, nonce: number, admittedAtMs = 0): MempoolEntry {
  const tx = transaction({ signer, nonce });
  const encoded = encodeTransaction(tx);
  const id = transactionIdOfEncoding(encoded);
  return { tx, encoded, id, idHex: toHex(id), signerHex: toHex(tx.signer), admittedAtMs };
}

const node = keyPairOf('alice');
const other = keyPairOf('bob');
const nodeHex = toHex(node.publicKey);

test('with nothing waiting, the own next nonce is the committed one', () => {
  const mempool = new Mempool();
  assert.equal(mempool.firstFreeNonce(nodeHex, 0), 0);
  assert.equal(mempool.firstFreeNonce(nodeHex, 7), 7);
  // Another signer's waiting transactions do not count.
  assert.equal(mempool.admit(entryOf(other, 7), 7), null);
  assert.equal(mempool.firstFreeNonce(nodeHex, 7), 7);
});

test('own transactions waiting for a block take consecutive nonces', () => {
  const mempool = new Mempool();
  const admitted: MempoolEntry[] = [];
  for (let count = 0; count < 5; count++) {
    const nonce = mempool.firstFreeNonce(nodeHex, 3);
    assert.equal(nonce, 3 + count);
    const entry = entryOf(node, nonce);
    assert.equal(mempool.admit(entry, 3), null);
    admitted.push(entry);
  }
  assert.equal(mempool.firstFreeNonce(nodeHex, 3), 8);
  // A block carries the first two (committed next nonce 5): the run goes on from there.
  const carried = mempool.removeCommitted({
    txs: admitted.slice(0, 2).map((entry) => ({ idHex: entry.idHex, signerHex: nodeHex })),
    nextNonceOf: () => 5,
  });
  assert.equal(carried.length, 2);
  assert.equal(mempool.firstFreeNonce(nodeHex, 5), 8);
  // A committed nonce past what waits (another process signed with the key) wins.
  assert.equal(mempool.firstFreeNonce(nodeHex, 9), 9);
});

test('a dropped own transaction leaves a gap that the next one fills', () => {
  const mempool = new Mempool();
  // Nonces 0, 1 admitted early, 2, 3 later; the early ones expire (nothing committed).
  assert.equal(mempool.admit(entryOf(node, 0, 100), 0), null);
  assert.equal(mempool.admit(entryOf(node, 1, 100), 0), null);
  assert.equal(mempool.admit(entryOf(node, 2, 900), 0), null);
  assert.equal(mempool.admit(entryOf(node, 3, 900), 0), null);
  assert.equal(mempool.firstFreeNonce(nodeHex, 0), 4);
  assert.equal(mempool.expire(500), 2);
  // 2 and 3 cannot be proposed before 0 and 1: the next own transaction takes 0, then 1.
  assert.equal(mempool.firstFreeNonce(nodeHex, 0), 0);
  assert.equal(mempool.admit(entryOf(node, 0, 1000), 0), null);
  assert.equal(mempool.firstFreeNonce(nodeHex, 0), 1);
  assert.equal(mempool.admit(entryOf(node, 1, 1000), 0), null);
  // The run is whole again, and a block can take all four.
  assert.equal(mempool.firstFreeNonce(nodeHex, 0), 4);
  const chosen = mempool.reap({ txCountMax: 10, bytesMax: 1 << 20, nextNonceOf: () => 0 });
  assert.deepEqual(
    chosen.map((entry) => entry.tx.nonce),
    [0, 1, 2, 3],
  );
});
