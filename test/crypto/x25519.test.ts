// Checks X25519 against RFC 7748 §5.2/§6.1 vectors and libsodium, and its refusal of bad keys.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';
import sodium from 'sodium-native';

import { fromHex, toHex } from '../../src/base/index.ts';
import {
  CryptoError,
  CryptoErrorCode,
  x25519KeyPairFromSeed,
  x25519SharedSecret,
  x25519SharedSecretBytes,
} from '../../src/crypto/index.ts';

// RFC 7748 §6.1 (Curve25519 Diffie-Hellman).
const alice = {
  privateKey: fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'),
  publicKey: fromHex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'),
};
const bob = {
  privateKey: fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'),
  publicKey: fromHex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'),
};
const sharedSecret = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

// RFC 7748 §5.2: X25519(k, u) for arbitrary inputs; both u have the unused top bit set, which
// must be ignored, and the first iteration of the iterated test (k = u = 9).
const scalarMultVectors = [
  {
    k: 'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
    u: 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
    out: 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
  },
  {
    k: '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
    u: 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
    out: '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
  },
  {
    k: '0900000000000000000000000000000000000000000000000000000000000000',
    u: '0900000000000000000000000000000000000000000000000000000000000000',
    out: '422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079',
  },
];

function isCryptoError(code: CryptoErrorCode, message: RegExp) {
  return (error: unknown): boolean =>
    error instanceof CryptoError && error.code === code && message.test(error.message);
}

test('RFC 7748 §6.1: the private keys give the public keys', () => {
  for (const party of [alice, bob]) {
    const keyPair = x25519KeyPairFromSeed(party.privateKey);
    assert.equal(toHex(keyPair.publicKey), toHex(party.publicKey));
    assert.equal(toHex(keyPair.privateKey), toHex(party.privateKey));
  }
  // The invalid twin: one bit of the private key changes the public key.
  const changed = new Uint8Array(alice.privateKey);
  changed[5]! ^= 1;
  assert.notEqual(toHex(x25519KeyPairFromSeed(changed).publicKey), toHex(alice.publicKey));
});

test('RFC 7748 §6.1: Alice and Bob derive the same shared secret K', () => {
  const fromAlice = x25519SharedSecret({ privateKey: alice.privateKey, publicKey: bob.publicKey });
  const fromBob = x25519SharedSecret({ privateKey: bob.privateKey, publicKey: alice.publicKey });
  assert.equal(toHex(fromAlice), sharedSecret);
  assert.equal(toHex(fromBob), sharedSecret);
  assert.equal(fromAlice.length, x25519SharedSecretBytes);
});

test('RFC 7748 §6.1: a flipped bit in either key gives another secret', () => {
  for (const bit of [0, 77, 200, 254]) {
    const publicKey = new Uint8Array(bob.publicKey);
    publicKey[bit >> 3]! ^= 1 << (bit & 7);
    const secret = x25519SharedSecret({ privateKey: alice.privateKey, publicKey });
    assert.notEqual(toHex(secret), sharedSecret, `public key bit ${bit}`);
  }
  // Private-key bits 0-2 and 255 are cleared by clamping (RFC 7748 §5); bit 3 is not.
  const privateKey = new Uint8Array(alice.privateKey);
  privateKey[0]! ^= 8;
  const secret = x25519SharedSecret({ privateKey, publicKey: bob.publicKey });
  assert.notEqual(toHex(secret), sharedSecret);
});

test('RFC 7748 §5.2: X25519(k, u) gives the published outputs', () => {
  for (const { k, u, out } of scalarMultVectors) {
    const secret = x25519SharedSecret({ privateKey: fromHex(k), publicKey: fromHex(u) });
    assert.equal(toHex(secret), out);
    // The invalid twin: swapping k and u (not symmetric) gives another output.
    if (k !== u) {
      const swapped = x25519SharedSecret({ privateKey: fromHex(u), publicKey: fromHex(k) });
      assert.notEqual(toHex(swapped), out);
    }
  }
});

test('random keys: node:crypto and libsodium agree, and both sides derive the same secret', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      (seedA, seedB) => {
        const a = x25519KeyPairFromSeed(seedA);
        const b = x25519KeyPairFromSeed(seedB);
        const sodiumPublic = new Uint8Array(32);
        sodium.crypto_scalarmult_base(sodiumPublic, seedA);
        assert.equal(toHex(a.publicKey), toHex(sodiumPublic));
        const ab = x25519SharedSecret({ privateKey: a.privateKey, publicKey: b.publicKey });
        const ba = x25519SharedSecret({ privateKey: b.privateKey, publicKey: a.publicKey });
        assert.equal(toHex(ab), toHex(ba));
        const sodiumSecret = new Uint8Array(32);
        sodium.crypto_scalarmult(sodiumSecret, seedA, b.publicKey);
        assert.equal(toHex(ab), toHex(sodiumSecret));
      },
    ),
    { numRuns: 100 },
  );
});

test('x25519 refuses keys that are not 32 bytes, naming the argument', () => {
  assert.throws(
    () => x25519KeyPairFromSeed(new Uint8Array(31)),
    isCryptoError(
      CryptoErrorCode.invalidSeed,
      /^seed: expected an X25519 key of 32 bytes, got 31 bytes$/,
    ),
  );
  assert.throws(
    () => x25519SharedSecret({ privateKey: new Uint8Array(33), publicKey: bob.publicKey }),
    isCryptoError(CryptoErrorCode.invalidSeed, /^privateKey: .* got 33 bytes$/),
  );
  assert.throws(
    () => x25519SharedSecret({ privateKey: alice.privateKey, publicKey: new Uint8Array(0) }),
    isCryptoError(CryptoErrorCode.invalidPublicKey, /^publicKey: .* got 0 bytes$/),
  );
});

test('x25519SharedSecret refuses small-order public keys (the all-zero secret of §6.1)', () => {
  const smallOrder = [
    '0000000000000000000000000000000000000000000000000000000000000000', // u = 0
    '0100000000000000000000000000000000000000000000000000000000000000', // u = 1
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // u = p - 1
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
  ];
  for (const u of smallOrder) {
    assert.throws(
      () => x25519SharedSecret({ privateKey: alice.privateKey, publicKey: fromHex(u) }),
      isCryptoError(
        CryptoErrorCode.lowOrderPublicKey,
        /^publicKey: expected an X25519 public key of large order/,
      ),
      u,
    );
  }
});
