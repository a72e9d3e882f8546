// Checks the mempool's bounds and ordering with real signed transactions: nonce runs per signer,
// signers taking turns in a block, duplicates and stale nonces refused, full means busy.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { toHex } from '../../src/base/index.ts';
import { encodeTransaction, transactionIdOfEncoding } from '../../src/chain/index.ts';
import type { Ed25519KeyPair } from '../../src/crypto/index.ts';
import { Mempool, type MempoolEntry } from '../../src/node/mempool.ts';
import { keyPairOf, transaction } from '../chain/fixtures.ts';

function entryOf(signer: Ed25519KeyPair, nonce: number): MempoolEntry {
  const tx = transaction({ signer, nonce });
  const encoded = encodeTransaction(tx);
  const id = transactionIdOfEncoding(encoded);
  return { tx, encoded, id, idHex: toHex(id), signerHex: toHex(tx.signer), admittedAtMs: 0 };
}

const alice = keyPairOf('alice');
const bob = keyPairOf('bob');
const carol = keyPairOf('carol');
const fromZero = (): number => 0;

test('a block takes each signer in turn, and only runs of consecutive nonces', () => {
  const mempool = new Mempool();
  for (let nonce = 0; nonce < 5; nonce++)
    assert.equal(mempool.admit(entryOf(alice, nonce), 0), null);
  assert.equal(mempool.admit(entryOf(bob, 0), 0), null);
  assert.equal(mempool.admit(entryOf(bob, 2), 0), null); // a gap: nonce 1 is missing
  assert.equal(mempool.admit(entryOf(carol, 1), 0), null); // carol's next nonce is 0
  const chosen = mempool.reap({ txCountMax: 4, bytesMax: 1 << 20, nextNonceOf: fromZero });
  const signers = chosen.map((entry) => entry.signerHex);
  assert.equal(chosen.length, 4);
  // Bob's one runnable transaction gets in although Alice has five waiting.
  assert.ok(signers.includes(toHex(bob.publicKey)));
  assert.ok(!signers.includes(toHex(carol.publicKey)));
  const aliceNonces = chosen
    .filter((e) => e.signerHex === toHex(alice.publicKey))
    .map((e) => e.tx.nonce);
  assert.deepEqual(aliceNonces, [0, 1, 2]);
  const all = mempool.reap({ txCountMax: 100, bytesMax: 1 << 20, nextNonceOf: fromZero });
  assert.equal(all.length, 6, 'alice 0-4 and bob 0; bob 2 and carol 1 wait for their gaps');
});

test('byte bound of a block is respected', () => {
  const mempool = new Mempool();
  for (let nonce = 0; nonce < 10; nonce++) mempool.admit(entryOf(alice, nonce), 0);
  const size = entryOf(alice, 0).encoded.length;
  const chosen = mempool.reap({ txCountMax: 100, bytesMax: size * 3 + 1, nextNonceOf: fromZero });
  assert.equal(chosen.length, 3);
});

test('duplicates, used nonces and a full mempool are refused with their code', () => {
  const mempool = new Mempool({ txCountMax: 3, signerTxCountMax: 2 });
  const first = entryOf(alice, 0);
  assert.equal(mempool.admit(first, 0), null);
  assert.equal(mempool.admit(first, 0)?.code, 'duplicate');
  assert.equal(mempool.admit(entryOf(alice, 3), 5)?.code, 'bad-nonce');
  assert.equal(mempool.admit(entryOf(alice, 1), 0), null);
  assert.equal(mempool.admit(entryOf(alice, 2), 0)?.code, 'busy', 'per-signer bound');
  assert.equal(mempool.admit(entryOf(bob, 0), 0), null);
  assert.equal(mempool.admit(entryOf(carol, 0), 0)?.code, 'busy', 'count bound');
  assert.equal(mempool.size, 3);
});

test('a commit removes what the block carried and what it made stale, and forgets their ids', () => {
  const mempool = new Mempool();
  const a0 = entryOf(alice, 0);
  const a1 = entryOf(alice, 1);
  const b0 = entryOf(bob, 0);
  for (const entry of [a0, a1, b0]) mempool.admit(entry, 0);
  // Another node's transaction of Alice with nonce 1 was committed with a0: a1 is stale now.
  const other = entryOf(alice, 1);
  const carried = mempool.removeCommitted({
    txs: [a0, { idHex: 'ff'.repeat(32), signerHex: other.signerHex }],
    nextNonceOf: (entry) => (entry.signerHex === toHex(alice.publicKey) ? 2 : 0),
  });
  assert.deepEqual(
    carried.map((entry) => entry.idHex),
    [a0.idHex],
  );
  assert.equal(mempool.has(a1.idHex), false);
  assert.equal(mempool.has(b0.idHex), true);
  assert.equal(mempool.size, 1);
  assert.equal(mempool.bytes, b0.encoded.length);
  assert.equal(mempool.isVerified(a0.idHex), false, 'committed: its nonce is used');
  assert.equal(mempool.isVerified(a1.idHex), false, 'stale: its nonce is used');
  assert.equal(mempool.isVerified(b0.idHex), true, 'still waiting');
  assert.equal(mempool.isVerified(toHex(entryOf(carol, 0).id)), false);
});

test('transactions that waited too long expire; younger ones stay', () => {
  const mempool = new Mempool();
  const old = { ...entryOf(alice, 5), admittedAtMs: 1_000 };
  const young = { ...entryOf(bob, 0), admittedAtMs: 9_000 };
  mempool.admit(old, 0);
  mempool.admit(young, 0);
  assert.equal(mempool.expire(5_000), 1);
  assert.equal(mempool.has(old.idHex), false);
  assert.equal(mempool.has(young.idHex), true);
  assert.equal(mempool.expire(5_000), 0);
});
