// Pins ed25519Verify on forged edge cases (S ≥ L, small/mixed order, non-canonical) vs OpenSSL.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { test } from 'node:test';

import sodium from 'sodium-native';

import { concatBytes, fromHex } from '../../src/base/index.ts';
import { ed25519KeyPairFromSeed, ed25519Sign, ed25519Verify } from '../../src/crypto/index.ts';

/** The order of the prime-order subgroup, L = 2^252 + 27742317777372353535851937790883648493. */
const groupOrder = (1n << 252n) + 27742317777372353535851937790883648493n;

/** The base point B (RFC 8032 §5.1). */
const basePoint = fromHex('5866666666666666666666666666666666666666666666666666666666666666');

/** The eight points of small order, canonically encoded, and three non-canonical encodings. */
const smallOrderPoints = {
  'identity (order 1)': '0100000000000000000000000000000000000000000000000000000000000000',
  'y = -1 (order 2)': 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'all zeros, y = 0 (order 4)': '0000000000000000000000000000000000000000000000000000000000000000',
  'y = 0, x negative (order 4)': '0000000000000000000000000000000000000000000000000000000000000080',
  'order 8, x positive': '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'order 8, x negative': '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'order 8, second pair, x positive':
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'order 8, second pair, x negative':
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  'identity, non-canonical y = p + 1':
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'identity, non-canonical x = -0':
    '0100000000000000000000000000000000000000000000000000000000000080',
  'y = -1, x = -0 (non-canonical)':
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
} as const;

function littleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value;
}

function scalarBytes(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** The secret scalar a of a seed: the clamped lower half of SHA-512(seed) (RFC 8032 §5.1.5). */
function secretScalar(seed: Uint8Array): bigint {
  const digest = createHash('sha512').update(seed).digest().subarray(0, 32);
  digest[0]! &= 248;
  digest[31]! &= 127;
  digest[31]! |= 64;
  return littleEndian(digest);
}

/** k = SHA-512(R ‖ A ‖ M) mod L (RFC 8032 §5.1.6 step 4). */
function challenge(r: Uint8Array, publicKey: Uint8Array, message: Uint8Array): bigint {
  return (
    littleEndian(createHash('sha512').update(r).update(publicKey).update(message).digest()) %
    groupOrder
  );
}

function pointTimesBase(scalar: bigint): Uint8Array {
  const out = new Uint8Array(32);
  sodium.crypto_scalarmult_ed25519_base_noclamp(out, scalarBytes(scalar));
  return out;
}

function addPoints(p: Uint8Array, q: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  sodium.crypto_core_ed25519_add(out, p, q);
  return out;
}

/** A signature with a chosen R and S = rNonce + k·a mod L, as a (possibly dishonest) signer can make. */
function forge(options: {
  r: Uint8Array;
  rNonce: bigint;
  a: bigint;
  publicKey: Uint8Array;
  message: Uint8Array;
}): Uint8Array {
  const { r, rNonce, a, publicKey, message } = options;
  const s = (rNonce + challenge(r, publicKey, message) * a) % groupOrder;
  return concatBytes(r, scalarBytes(s));
}

function nodeVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const der = Buffer.from(concatBytes(fromHex('302a300506032b6570032100'), publicKey));
    return verify(
      null,
      message,
      createPublicKey({ key: der, format: 'der', type: 'spki' }),
      signature,
    );
  } catch {
    return false;
  }
}

const seed = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
const keyPair = ed25519KeyPairFromSeed(seed);
const a = secretScalar(seed);
const message = new TextEncoder().encode('medledger consensus rule');
const rNonce = 0x1234567890abcdef1234567890abcdef1234567890abcdefn;

test('the forging helper makes honest signatures when R = r·B (so the edge cases below are real)', () => {
  const r = pointTimesBase(rNonce);
  const signature = forge({ r, rNonce, a, publicKey: keyPair.publicKey, message });
  assert.equal(ed25519Verify({ publicKey: keyPair.publicKey, message, signature }), true);
  assert.equal(nodeVerify(keyPair.publicKey, message, signature), true);
  // And with the wrong scalar it is rejected.
  const wrong = forge({ r, rNonce, a: a + 1n, publicKey: keyPair.publicKey, message });
  assert.equal(ed25519Verify({ publicKey: keyPair.publicKey, message, signature: wrong }), false);
});

test('S ≥ L is rejected (RFC 8032 §5.1.7 step 1), by node:crypto too', () => {
  const signature = ed25519Sign({ message, keyPair });
  const s = littleEndian(signature.subarray(32));
  const publicKey = keyPair.publicKey;
  assert.equal(ed25519Verify({ publicKey, message, signature }), true);
  for (const [what, value] of [
    ['S + L', s + groupOrder],
    ['S + 8L', s + 8n * groupOrder],
    ['L', groupOrder],
    ['2^256 - 1', (1n << 256n) - 1n],
  ] as const) {
    const malleated = concatBytes(signature.subarray(0, 32), scalarBytes(value));
    assert.equal(ed25519Verify({ publicKey, message, signature: malleated }), false, what);
    assert.equal(nodeVerify(publicKey, message, malleated), false, what);
  }
});

test('small-order and non-canonical public keys are rejected, where node:crypto accepts', () => {
  // With A = identity, R = B and S = 1 satisfy [S]B = R + [k]A for every message: a signature
  // "by" the identity key on anything. OpenSSL accepts it; libsodium refuses the key.
  const forged = concatBytes(basePoint, scalarBytes(1n));
  for (const identity of [
    smallOrderPoints['identity (order 1)'],
    smallOrderPoints['identity, non-canonical y = p + 1'],
    smallOrderPoints['identity, non-canonical x = -0'],
  ]) {
    const publicKey = fromHex(identity);
    assert.equal(nodeVerify(publicKey, message, forged), true, 'OpenSSL accepts the forgery');
    assert.equal(ed25519Verify({ publicKey, message, signature: forged }), false, identity);
  }
  for (const [what, encoding] of Object.entries(smallOrderPoints)) {
    const publicKey = fromHex(encoding);
    for (let i = 0; i < 16; i++) {
      const anyMessage = Uint8Array.of(i);
      assert.equal(
        ed25519Verify({ publicKey, message: anyMessage, signature: forged }),
        false,
        what,
      );
    }
  }
});

test('a small-order R is rejected even when the equation holds exactly, where node:crypto accepts', () => {
  // R = identity and S = k·a: then [S]B = [k]A = R + [k]A holds without any cofactor.
  const r = fromHex(smallOrderPoints['identity (order 1)']);
  const signature = forge({ r, rNonce: 0n, a, publicKey: keyPair.publicKey, message });
  assert.equal(nodeVerify(keyPair.publicKey, message, signature), true, 'OpenSSL accepts it');
  assert.equal(ed25519Verify({ publicKey: keyPair.publicKey, message, signature }), false);
});

test('an R with a small-order component is rejected: the equation is checked without cofactor', () => {
  // R' = r·B + T satisfies the cofactored equation [8][S]B = [8]R' + [8][k]A only.
  const honestR = pointTimesBase(rNonce);
  for (const [what, torsion] of Object.entries(smallOrderPoints).slice(1, 8)) {
    const r = addPoints(honestR, fromHex(torsion));
    const signature = forge({ r, rNonce, a, publicKey: keyPair.publicKey, message });
    assert.equal(ed25519Verify({ publicKey: keyPair.publicKey, message, signature }), false, what);
    assert.equal(nodeVerify(keyPair.publicKey, message, signature), false, what);
  }
});

test('a mixed-order public key verifies exactly when the cofactorless equation holds', () => {
  // A' = a·B + T (T of order 2). [S]B - [k]A' = R - [k]T, which equals R exactly when k is
  // even. libsodium and OpenSSL agree here; keys like A' are refused at registration instead,
  // by assertEd25519PublicKey.
  const publicKey = addPoints(keyPair.publicKey, fromHex(smallOrderPoints['y = -1 (order 2)']));
  const r = pointTimesBase(rNonce);
  const verdicts = { even: 0, odd: 0 };
  for (let i = 0; i < 24; i++) {
    const anyMessage = Uint8Array.of(i);
    const signature = forge({ r, rNonce, a, publicKey, message: anyMessage });
    const even = challenge(r, publicKey, anyMessage) % 2n === 0n;
    const verdict = ed25519Verify({ publicKey, message: anyMessage, signature });
    assert.equal(verdict, even, `message ${i}`);
    assert.equal(nodeVerify(publicKey, anyMessage, signature), even, `message ${i}`);
    verdicts[even ? 'even' : 'odd'] += 1;
  }
  assert.ok(verdicts.even > 0 && verdicts.odd > 0, 'both branches were exercised');
});
