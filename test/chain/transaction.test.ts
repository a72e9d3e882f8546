// Checks transaction signing, ids and validation: valid transactions pass, and every changed
// field, wrong chain, malformed kind or oversized body is refused with its ChainError code.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import {
  assertValidTransaction,
  chainLimits,
  decodeTransaction,
  encodeTransaction,
  signTransaction,
  transactionId,
  transactionSigningHash,
} from '../../src/chain/index.ts';
import { CodecError } from '../../src/codec/index.ts';
import { chainId, keyPairOf, transaction, assertChainError } from './fixtures.ts';

const signer = keyPairOf('practitioner');

const rejects = assertChainError;

test('a signed transaction validates and round-trips through its encoding', () => {
  const tx = transaction({ signer, nonce: 7, body: { consentId: 'c-1', active: true, n: [1, 2] } });
  assertValidTransaction(tx, { chainId });
  const decoded = decodeTransaction(encodeTransaction(tx));
  assert.deepEqual(decoded, tx);
  assert.deepEqual(transactionId(decoded), transactionId(tx));
});

test('changing any signed field breaks the signature', () => {
  const tx = transaction({ signer, nonce: 1 });
  const other = keyPairOf('someone else');
  const variants = [
    { ...tx, kind: 'record.erase' },
    { ...tx, body: { recordId: 'r-2', version: 1 } },
    { ...tx, nonce: 2 },
    { ...tx, signer: other.publicKey },
  ];
  for (const variant of variants)
    rejects(() => assertValidTransaction(variant, { chainId }), 'bad-signature');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 511 }), (bit) => {
      const signature = tx.signature.slice();
      signature[bit >> 3]! ^= 1 << (bit & 7);
      rejects(() => assertValidTransaction({ ...tx, signature }, { chainId }), 'bad-signature');
    }),
  );
});

test('a transaction for another chain is refused before its signature is checked', () => {
  const tx = transaction({ signer, nonce: 1 });
  rejects(() => assertValidTransaction(tx, { chainId: 'other-net' }), 'wrong-chain', /other-net/);
  // Re-labelling the chain id breaks the signature, since the chain id is in the signed hash.
  rejects(
    () => assertValidTransaction({ ...tx, chainId: 'other-net' }, { chainId: 'other-net' }),
    'bad-signature',
  );
});

test('malformed kinds and oversized transactions are refused', () => {
  for (const kind of ['Consent.grant', 'consent..grant', '.consent', 'consent grant', '1abc']) {
    const tx = transaction({ signer, nonce: 1, kind });
    rejects(() => assertValidTransaction(tx, { chainId }), 'bad-field', /kind/);
  }
  const big = transaction({
    signer,
    nonce: 1,
    body: { blob: new Uint8Array(chainLimits.txBytesMax) },
  });
  rejects(() => assertValidTransaction(big, { chainId }), 'too-large', /bytes encoded/);
});

test('signing refuses a key that is not the named signer', () => {
  const unsigned = {
    chainId,
    kind: 'record.anchor',
    body: null,
    signer: signer.publicKey,
    nonce: 0,
  };
  rejects(() => signTransaction({ unsigned, keyPair: keyPairOf('other') }), 'bad-field', /signer/);
});

test('signing hashes are domain separated by chain id and differ per field', () => {
  const unsigned = { chainId, kind: 'a.b', body: 1, signer: signer.publicKey, nonce: 0 };
  const base = transactionSigningHash(unsigned);
  assert.notDeepEqual(transactionSigningHash({ ...unsigned, chainId: 'x' }), base);
  assert.notDeepEqual(transactionSigningHash({ ...unsigned, body: 2 }), base);
  assert.notDeepEqual(transactionSigningHash({ ...unsigned, nonce: 1 }), base);
});

test('decoding refuses truncated, extended and mistyped encodings with CodecError', () => {
  const bytes = encodeTransaction(transaction({ signer, nonce: 3 }));
  assert.throws(() => decodeTransaction(bytes.subarray(0, bytes.length - 1)), CodecError);
  assert.throws(() => decodeTransaction(new Uint8Array([...bytes, 0])), CodecError);
  const wrongTag = bytes.slice();
  wrongTag[1] = 3; // the type tag follows the array head: 3 is a Vote
  assert.throws(() => decodeTransaction(wrongTag), /expected a Transaction/);
});
