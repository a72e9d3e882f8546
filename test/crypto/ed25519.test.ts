// Checks Ed25519 against RFC 8032 §7.1 vectors, all single-bit flips, and node:crypto (fast-check).
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import fc from 'fast-check';

import { concatBytes, fromHex, toHex } from '../../src/base/index.ts';
import {
  CryptoError,
  CryptoErrorCode,
  assertEd25519PublicKey,
  ed25519KeyPairFromSeed,
  ed25519PublicKeyBytes,
  ed25519SeedBytes,
  ed25519Sign,
  ed25519SignatureBytes,
  ed25519Verify,
  isEd25519PublicKey,
} from '../../src/crypto/index.ts';
import type { Ed25519KeyPair } from '../../src/crypto/index.ts';

type Rfc8032Vector = {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
};

const vectors = (
  JSON.parse(readFileSync(new URL('../vectors/rfc8032-ed25519.json', import.meta.url), 'utf8')) as {
    vectors: Rfc8032Vector[];
  }
).vectors.map((vector) => ({
  name: vector.name,
  seed: fromHex(vector.secretKey),
  publicKey: fromHex(vector.publicKey),
  message: fromHex(vector.message),
  signature: fromHex(vector.signature),
}));

// RFC 8410 DER prefixes: node:crypto imports raw Ed25519 keys only wrapped in PKCS #8 / SPKI.
const pkcs8Prefix = fromHex('302e020100300506032b657004220420');
const spkiPrefix = fromHex('302a300506032b6570032100');

function nodeSign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  const der = Buffer.from(concatBytes(pkcs8Prefix, seed));
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return new Uint8Array(sign(null, message, key));
}

/** node:crypto's verdict; an import failure (a key OpenSSL cannot decode) counts as invalid. */
function nodeVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const der = Buffer.from(concatBytes(spkiPrefix, publicKey));
    const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

test('the RFC 8032 vector file holds the five §7.1 tests', () => {
  assert.deepEqual(
    vectors.map((vector) => [vector.name, vector.message.length]),
    [
      ['TEST 1', 0],
      ['TEST 2', 1],
      ['TEST 3', 2],
      ['TEST 1024', 1023],
      ['TEST SHA(abc)', 64],
    ],
  );
});

test('RFC 8032 §7.1: the seed gives the public key and the exact signature, which verifies', () => {
  for (const vector of vectors) {
    const keyPair = ed25519KeyPairFromSeed(vector.seed);
    assert.equal(toHex(keyPair.publicKey), toHex(vector.publicKey), vector.name);
    const signature = ed25519Sign({ message: vector.message, keyPair });
    assert.equal(toHex(signature), toHex(vector.signature), vector.name);
    assert.equal(ed25519Verify({ ...vector }), true, vector.name);
  }
});

test('RFC 8032 §7.1: node:crypto gives the same signatures and verdicts', () => {
  for (const vector of vectors) {
    assert.equal(toHex(nodeSign(vector.seed, vector.message)), toHex(vector.signature));
    assert.equal(nodeVerify(vector.publicKey, vector.message, vector.signature), true);
  }
});

test('RFC 8032 §7.1: every single-bit flip of signature, message or public key is rejected', () => {
  let checked = 0;
  for (const { name, publicKey, message, signature } of vectors) {
    const cases: Array<[string, Uint8Array, Uint8Array, Uint8Array]> = [];
    for (let bit = 0; bit < signature.length * 8; bit++) {
      cases.push([`signature bit ${bit}`, publicKey, message, flipBit(signature, bit)]);
    }
    for (let bit = 0; bit < message.length * 8; bit++) {
      cases.push([`message bit ${bit}`, publicKey, flipBit(message, bit), signature]);
    }
    for (let bit = 0; bit < publicKey.length * 8; bit++) {
      cases.push([`public key bit ${bit}`, flipBit(publicKey, bit), message, signature]);
    }
    for (const [what, flippedKey, flippedMessage, flippedSignature] of cases) {
      const options = {
        publicKey: flippedKey,
        message: flippedMessage,
        signature: flippedSignature,
      };
      assert.equal(ed25519Verify(options), false, `${name}: ${what}`);
      assert.equal(
        nodeVerify(flippedKey, flippedMessage, flippedSignature),
        false,
        `${name}: ${what}`,
      );
      checked += 1;
    }
  }
  // 5 × (512 + 256) signature and key bits, plus 8 × (0 + 1 + 2 + 1023 + 64) message bits.
  assert.equal(checked, 5 * 768 + 8 * 1090);
});

test('random seeds and messages: libsodium and node:crypto sign alike and both verify', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 200 }),
      (seed, message) => {
        const keyPair = ed25519KeyPairFromSeed(seed);
        const signature = ed25519Sign({ message, keyPair });
        assert.equal(signature.length, ed25519SignatureBytes);
        assert.equal(toHex(signature), toHex(nodeSign(seed, message)));
        const publicKey = keyPair.publicKey;
        assert.equal(ed25519Verify({ publicKey, message, signature }), true);
        assert.equal(nodeVerify(publicKey, message, signature), true);
      },
    ),
    { numRuns: 150 },
  );
});

test('random seeds and messages: a signature does not verify for another message or key', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }),
      (seed, otherSeed, message, otherMessage) => {
        fc.pre(toHex(seed) !== toHex(otherSeed) && toHex(message) !== toHex(otherMessage));
        const signature = ed25519Sign({ message, keyPair: ed25519KeyPairFromSeed(seed) });
        const publicKey = ed25519KeyPairFromSeed(seed).publicKey;
        const otherKey = ed25519KeyPairFromSeed(otherSeed).publicKey;
        const message2 = otherMessage;
        assert.equal(ed25519Verify({ publicKey, message: message2, signature }), false);
        assert.equal(nodeVerify(publicKey, message2, signature), false);
        assert.equal(ed25519Verify({ publicKey: otherKey, message, signature }), false);
        assert.equal(nodeVerify(otherKey, message, signature), false);
      },
    ),
    { numRuns: 100 },
  );
});

test('random garbage signatures and keys: libsodium and node:crypto both reject', () => {
  const keyPair = ed25519KeyPairFromSeed(vectors[0]!.seed);
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 100 }),
      (signature, garbageKey, message) => {
        const publicKey = keyPair.publicKey;
        assert.equal(ed25519Verify({ publicKey, message, signature }), false);
        assert.equal(nodeVerify(publicKey, message, signature), false);
        assert.equal(ed25519Verify({ publicKey: garbageKey, message, signature }), false);
        assert.equal(nodeVerify(garbageKey, message, signature), false);
      },
    ),
    { numRuns: 300 },
  );
});

test('ed25519Verify returns false, never throws, on inputs of the wrong length or type', () => {
  const { publicKey, message, signature } = vectors[1]!;
  assert.equal(ed25519Verify({ publicKey, message, signature }), true);
  // sodium-native alone reads the first 64 bytes of a longer signature and would accept this.
  const longer = concatBytes(signature, Uint8Array.of(0));
  assert.equal(ed25519Verify({ publicKey, message, signature: longer }), false);
  for (const length of [0, 1, 31, 33, 64]) {
    const key = new Uint8Array(length);
    key.set(publicKey.subarray(0, length));
    assert.equal(ed25519Verify({ publicKey: key, message, signature }), false, `key ${length}`);
  }
  for (const length of [0, 32, 63, 128]) {
    const wrong = new Uint8Array(length);
    wrong.set(signature.subarray(0, length));
    assert.equal(ed25519Verify({ publicKey, message, signature: wrong }), false, `sig ${length}`);
  }
  const notBytes = 'not bytes' as unknown as Uint8Array;
  assert.equal(ed25519Verify({ publicKey: notBytes, message, signature }), false);
  assert.equal(ed25519Verify({ publicKey, message: notBytes, signature }), false);
  assert.equal(ed25519Verify({ publicKey, message, signature: notBytes }), false);
});

test('ed25519Verify accepts Buffers and subarray views of larger buffers', () => {
  const { publicKey, message, signature } = vectors[2]!;
  const packed = concatBytes(Uint8Array.of(7), publicKey, signature, message);
  const view = {
    publicKey: packed.subarray(1, 33),
    signature: packed.subarray(33, 97),
    message: packed.subarray(97),
  };
  assert.equal(ed25519Verify(view), true);
  assert.equal(
    ed25519Verify({
      publicKey: Buffer.from(publicKey),
      message: Buffer.from(message),
      signature: Buffer.from(signature),
    }),
    true,
  );
  // The invalid twin: the same view shifted by one byte.
  assert.equal(ed25519Verify({ ...view, signature: packed.subarray(32, 96) }), false);
});

test('ed25519KeyPairFromSeed copies the seed: wiping the caller buffer changes nothing', () => {
  const seed = new Uint8Array(vectors[1]!.seed);
  const keyPair = ed25519KeyPairFromSeed(seed);
  seed.fill(0);
  assert.equal(toHex(keyPair.seed), toHex(vectors[1]!.seed));
  assert.equal(
    toHex(ed25519Sign({ message: vectors[1]!.message, keyPair })),
    toHex(vectors[1]!.signature),
  );
  assert.ok(Object.isFrozen(keyPair));
});

test('ed25519KeyPairFromSeed refuses seeds that are not 32 bytes, naming the argument', () => {
  for (const length of [0, 16, 31, 33, 64]) {
    assert.throws(
      () => ed25519KeyPairFromSeed(new Uint8Array(length)),
      (error: unknown) =>
        error instanceof CryptoError &&
        error.code === CryptoErrorCode.invalidSeed &&
        error.message ===
          `seed: expected an Ed25519 seed of ${ed25519SeedBytes} bytes, got ${length} bytes`,
    );
  }
  assert.throws(() => ed25519KeyPairFromSeed('seed' as unknown as Uint8Array), /got string/);
});

test('ed25519Sign accepts a key pair built by hand when its public key matches the seed', () => {
  const vector = vectors[3]!;
  const keyPair: Ed25519KeyPair = { seed: vector.seed, publicKey: vector.publicKey };
  assert.equal(toHex(ed25519Sign({ message: vector.message, keyPair })), toHex(vector.signature));
});

test('ed25519Sign refuses a key pair whose public key is not the one its seed derives', () => {
  const keyPair: Ed25519KeyPair = { seed: vectors[0]!.seed, publicKey: vectors[1]!.publicKey };
  assert.throws(
    () => ed25519Sign({ message: new Uint8Array(1), keyPair }),
    (error: unknown) =>
      error instanceof CryptoError &&
      error.code === CryptoErrorCode.keyPairMismatch &&
      error.message.startsWith(
        'keyPair.publicKey: expected d75a980182b10ab7… (derived from the seed), got 3d4017c3e843895a…',
      ),
  );
  const shortSeed: Ed25519KeyPair = { seed: new Uint8Array(31), publicKey: vectors[0]!.publicKey };
  assert.throws(() => ed25519Sign({ message: new Uint8Array(1), keyPair: shortSeed }), {
    message: 'keyPair.seed: expected an Ed25519 seed of 32 bytes, got 31 bytes',
  });
});

test('assertEd25519PublicKey accepts public keys derived from seeds', () => {
  for (const vector of vectors) {
    assert.equal(isEd25519PublicKey(vector.publicKey), true);
    assertEd25519PublicKey(vector.publicKey);
  }
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
      assertEd25519PublicKey(ed25519KeyPairFromSeed(seed).publicKey, 'organisation key');
    }),
    { numRuns: 100 },
  );
});

test('assertEd25519PublicKey refuses wrong lengths and points that are not of prime order', () => {
  const refusals: Array<[string, unknown, RegExp]> = [
    [
      '31 bytes',
      new Uint8Array(31),
      /^nodeKey: expected an Ed25519 public key of 32 bytes, got 31 bytes$/,
    ],
    ['33 bytes', new Uint8Array(ed25519PublicKeyBytes + 1), /got 33 bytes$/],
    ['a string', 'd75a98', /got string$/],
    [
      'the identity (small order)',
      fromHex('01'.padEnd(64, '0')),
      /point of prime order, got 0100000000000000…/,
    ],
    [
      'all zeros (order 4)',
      new Uint8Array(32),
      /not on the curve, not canonical, or of small or mixed order/,
    ],
    ['y = 2, not on the curve', fromHex('02'.padEnd(64, '0')), /got 0200000000000000…/],
    ['non-canonical y = p + 1', fromHex('ee'.padEnd(62, 'f') + '7f'), /got eeffffffffffffff…/],
  ];
  for (const [what, key, message] of refusals) {
    assert.equal(isEd25519PublicKey(key), false, what);
    assert.throws(
      () => assertEd25519PublicKey(key, 'nodeKey'),
      (error: unknown) =>
        error instanceof CryptoError &&
        error.code === CryptoErrorCode.invalidPublicKey &&
        message.test(error.message),
      what,
    );
  }
});
