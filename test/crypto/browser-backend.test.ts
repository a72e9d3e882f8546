// Checks the browser stand-in against sodium-native: vectors, consensus edge cases, fast-check.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import fc from 'fast-check';
import sodium from 'sodium-native';

import { concatBytes, fromHex, toHex, utf8 } from '../../src/base/index.ts';
import {
  BrowserUnavailableError,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
} from '../../src/crypto/node-crypto-browser.ts';
import browser, { type SodiumSubset } from '../../src/crypto/sodium-browser.ts';

type Rfc8032Vector = {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
};

type Sha256Vector = { name: string; messageAscii: string; repeat: number; digest: string };

function readVectors<T>(file: string): T[] {
  const url = new URL(`../vectors/${file}`, import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { vectors: T[] }).vectors;
}

const rfc8032 = readVectors<Rfc8032Vector>('rfc8032-ed25519.json').map((vector) => ({
  name: vector.name,
  seed: fromHex(vector.secretKey),
  publicKey: fromHex(vector.publicKey),
  message: fromHex(vector.message),
  signature: fromHex(vector.signature),
}));

const nist = readVectors<Sha256Vector>('sha256-nist.json');

// --- the two implementations side by side --------------------------------------------------------

type Backend = SodiumSubset;
const backends: ReadonlyArray<[string, Backend]> = [
  ['sodium-native', sodium],
  ['browser', browser],
];

function hashWith(backend: Backend, input: Uint8Array): string {
  const out = new Uint8Array(32);
  backend.crypto_hash_sha256(out, input);
  return toHex(out);
}

function keyPairWith(backend: Backend, seed: Uint8Array): { pk: Uint8Array; sk: Uint8Array } {
  const pk = new Uint8Array(32);
  const sk = new Uint8Array(64);
  backend.crypto_sign_seed_keypair(pk, sk, seed);
  return { pk, sk };
}

function signWith(backend: Backend, message: Uint8Array, sk: Uint8Array): Uint8Array {
  const signature = new Uint8Array(64);
  backend.crypto_sign_detached(signature, message, sk);
  return signature;
}

/** Both verdicts on one input; they must agree, and the agreed verdict is returned. */
function verdict(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const expected = sodium.crypto_sign_verify_detached(signature, message, publicKey);
  const found = browser.crypto_sign_verify_detached(signature, message, publicKey);
  assert.equal(
    found,
    expected,
    `verify disagrees: sodium-native ${expected}, browser ${found} on signature ` +
      `${toHex(signature)}, public key ${toHex(publicKey)}, message ${toHex(message)}`,
  );
  return expected;
}

/** Both answers of `crypto_core_ed25519_is_valid_point`; they must agree. */
function validPoint(point: Uint8Array): boolean {
  const expected = sodium.crypto_core_ed25519_is_valid_point(point);
  assert.equal(
    browser.crypto_core_ed25519_is_valid_point(point),
    expected,
    `is_valid_point disagrees on ${toHex(point)}: sodium-native says ${expected}`,
  );
  return expected;
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

// --- forging helpers, as in ed25519-consensus-rules.test.ts --------------------------------------

/** L = 2^252 + 27742317777372353535851937790883648493. */
const groupOrder = (1n << 252n) + 27742317777372353535851937790883648493n;

/** The base point B (RFC 8032 §5.1). */
const basePoint = fromHex('5866666666666666666666666666666666666666666666666666666666666666');

/**
 * The eight points of small order and three non-canonical encodings: the hex cases of
 * test/crypto/ed25519-consensus-rules.test.ts, copied (that file exports nothing, and importing
 * it would run its tests here).
 */
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

/** Encodings with y ≥ p that decode to no point in libsodium (y = p is 0, not canonical). */
const nonCanonicalY = [
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  'efffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
];

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

/** SHA-512 from node:crypto, so that the forging helpers use neither implementation under test. */
function sha512(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

function secretScalar(seed: Uint8Array): bigint {
  const digest = sha512(seed).subarray(0, 32);
  digest[0]! &= 248;
  digest[31]! &= 127;
  digest[31]! |= 64;
  return littleEndian(digest);
}

function challenge(r: Uint8Array, publicKey: Uint8Array, message: Uint8Array): bigint {
  return littleEndian(sha512(r, publicKey, message)) % groupOrder;
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

const seed = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
const keyPair = keyPairWith(sodium, seed);
const a = secretScalar(seed);
const message = utf8('medledger consensus rule');
const rNonce = 0x1234567890abcdef1234567890abcdef1234567890abcdefn;

// --- SHA-256 -------------------------------------------------------------------------------------

test('SHA-256: both give the NIST digest of every example message', () => {
  assert.equal(nist.length, 5);
  for (const vector of nist) {
    const input = utf8(vector.messageAscii.repeat(vector.repeat));
    for (const [name, backend] of backends) {
      assert.equal(hashWith(backend, input), vector.digest, `${name}: ${vector.name}`);
    }
    // Invalid-input twin: one changed byte changes the digest, in both.
    if (input.length > 0) {
      const changed = flipBit(input, 0);
      assert.notEqual(hashWith(browser, changed), vector.digest, vector.name);
      assert.equal(hashWith(browser, changed), hashWith(sodium, changed), vector.name);
    }
  }
});

test('SHA-256: both agree on random inputs, typed-array views and offsets included', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1200 }), fc.nat(16), fc.nat(16), (bytes, start, end) => {
      assert.equal(hashWith(browser, bytes), hashWith(sodium, bytes));
      // A view into a larger buffer, and a write into an offset view, as hash.ts does.
      const view = bytes.subarray(Math.min(start, bytes.length), bytes.length - end);
      const host = new Uint8Array(48);
      const out = host.subarray(8, 40);
      browser.crypto_hash_sha256(out, view);
      assert.equal(toHex(out), hashWith(sodium, view));
      assert.deepEqual([...host.subarray(0, 8), ...host.subarray(40)], new Array(16).fill(0));
    }),
    { numRuns: 300 },
  );
  // libsodium hashes the bytes of any typed array; so does the stand-in.
  const words = new Uint16Array([0x6261, 0x0063, 0xffff]);
  const expected = new Uint32Array(8);
  const found = new Uint32Array(8);
  sodium.crypto_hash_sha256(expected as unknown as Uint8Array, words as unknown as Uint8Array);
  browser.crypto_hash_sha256(found as unknown as Uint8Array, words as unknown as Uint8Array);
  assert.deepEqual(found, expected);
});

// --- key pairs and signing -----------------------------------------------------------------------

test('RFC 8032 §7.1: both derive the public key and sign exactly; both verify', () => {
  for (const vector of rfc8032) {
    for (const [name, backend] of backends) {
      const { pk, sk } = keyPairWith(backend, vector.seed);
      assert.equal(toHex(pk), toHex(vector.publicKey), `${name}: ${vector.name}`);
      assert.equal(toHex(sk), toHex(concatBytes(vector.seed, vector.publicKey)), vector.name);
      const signature = signWith(backend, vector.message, sk);
      assert.equal(toHex(signature), toHex(vector.signature), `${name}: ${vector.name}`);
    }
    assert.equal(verdict(vector.signature, vector.message, vector.publicKey), true, vector.name);
  }
});

test('RFC 8032 §7.1: every single-bit flip of signature, message or key: both reject', () => {
  let checked = 0;
  for (const { name, publicKey, message: text, signature } of rfc8032) {
    // TEST 1024's 8,184 message bits would dominate the run time; its first 64 bytes suffice.
    const messageBits = Math.min(text.length, 64) * 8;
    for (let bit = 0; bit < 512; bit++) {
      assert.equal(verdict(flipBit(signature, bit), text, publicKey), false, `${name} sig ${bit}`);
      checked += 1;
    }
    for (let bit = 0; bit < messageBits; bit++) {
      assert.equal(verdict(signature, flipBit(text, bit), publicKey), false, `${name} msg ${bit}`);
      checked += 1;
    }
    for (let bit = 0; bit < 256; bit++) {
      assert.equal(verdict(signature, text, flipBit(publicKey, bit)), false, `${name} key ${bit}`);
      checked += 1;
    }
  }
  assert.equal(checked, 5 * 768 + 8 * (0 + 1 + 2 + 64 + 64));
});

test('random seeds and messages: same key pairs and signatures, which both accept', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 300 }),
      (seedBytes, text) => {
        const expected = keyPairWith(sodium, seedBytes);
        const found = keyPairWith(browser, seedBytes);
        assert.equal(toHex(found.pk), toHex(expected.pk));
        assert.equal(toHex(found.sk), toHex(expected.sk));
        const signature = signWith(browser, text, found.sk);
        assert.equal(toHex(signature), toHex(signWith(sodium, text, expected.sk)));
        assert.equal(verdict(signature, text, found.pk), true);
      },
    ),
    { numRuns: 150 },
  );
});

test('a secret key holding another public key: both sign alike, neither verifies', () => {
  // libsodium takes the public key for k = H(R ‖ A ‖ M) from sk[32..64] without checking it
  // (ed25519.ts refuses such key pairs before signing); the stand-in does the same.
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 100 }),
      (seedBytes, otherSeed, text) => {
        fc.pre(toHex(seedBytes) !== toHex(otherSeed));
        const own = keyPairWith(sodium, seedBytes);
        const other = keyPairWith(sodium, otherSeed);
        const mixed = concatBytes(seedBytes, other.pk);
        const signature = signWith(browser, text, mixed);
        assert.equal(toHex(signature), toHex(signWith(sodium, text, mixed)));
        assert.equal(verdict(signature, text, own.pk), false);
        assert.equal(verdict(signature, text, other.pk), false);
      },
    ),
    { numRuns: 50 },
  );
});

// --- verification on hostile input ---------------------------------------------------------------

test('random mutations of valid signatures, keys and messages: same verdict', () => {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('signature bit' as const), bit: fc.nat(511) }),
    fc.record({ kind: fc.constant('key bit' as const), bit: fc.nat(255) }),
    fc.record({ kind: fc.constant('message byte' as const), bit: fc.nat(1000) }),
    fc.record({ kind: fc.constant('S + L' as const), bit: fc.constant(0) }),
    fc.record({ kind: fc.constant('R from another signature' as const), bit: fc.constant(0) }),
    fc.record({ kind: fc.constant('none' as const), bit: fc.constant(0) }),
  );
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 120 }),
      mutation,
      (seedBytes, text, { kind, bit }) => {
        const { pk, sk } = keyPairWith(sodium, seedBytes);
        let signature = signWith(sodium, text, sk);
        let publicKey = pk;
        let signed = text;
        switch (kind) {
          case 'signature bit':
            signature = flipBit(signature, bit);
            break;
          case 'key bit':
            publicKey = flipBit(publicKey, bit);
            break;
          case 'message byte':
            if (text.length === 0) {
              signed = Uint8Array.of(bit & 0xff);
            } else {
              signed = new Uint8Array(text);
              signed[bit % text.length]! ^= 1 + (bit % 255);
            }
            break;
          case 'S + L':
            signature = concatBytes(
              signature.subarray(0, 32),
              scalarBytes(littleEndian(signature.subarray(32)) + groupOrder),
            );
            break;
          case 'R from another signature':
            signature = concatBytes(
              signWith(sodium, concatBytes(text, Uint8Array.of(1)), sk).subarray(0, 32),
              signature.subarray(32),
            );
            break;
          case 'none':
            break;
        }
        assert.equal(verdict(signature, signed, publicKey), kind === 'none', kind);
      },
    ),
    { numRuns: 300 },
  );
});

test('random garbage signatures and keys: same verdict (both reject)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 64 }),
      (signature, garbageKey, text) => {
        assert.equal(verdict(signature, text, keyPair.pk), false);
        assert.equal(verdict(signature, text, garbageKey), false);
        // With S reduced below L, so that the point checks are what decides.
        const reduced = concatBytes(
          signature.subarray(0, 32),
          scalarBytes(littleEndian(signature.subarray(32)) % groupOrder),
        );
        assert.equal(verdict(reduced, text, keyPair.pk), false);
        assert.equal(verdict(reduced, text, garbageKey), false);
      },
    ),
    { numRuns: 300 },
  );
});

test('a signature longer than 64 bytes: both read its first 64 bytes (sodium-native)', () => {
  const { publicKey, message: text, signature } = rfc8032[1]!;
  assert.equal(verdict(concatBytes(signature, Uint8Array.of(0)), text, publicKey), true);
  assert.equal(
    verdict(concatBytes(flipBit(signature, 0), Uint8Array.of(0)), text, publicKey),
    false,
  );
});

// --- the consensus rules of ed25519-consensus-rules.test.ts --------------------------------------

test('consensus rule: the forging helper makes honest signatures, which both accept', () => {
  const r = pointTimesBase(rNonce);
  const signature = forge({ r, rNonce, a, publicKey: keyPair.pk, message });
  assert.equal(verdict(signature, message, keyPair.pk), true);
  const wrong = forge({ r, rNonce, a: a + 1n, publicKey: keyPair.pk, message });
  assert.equal(verdict(wrong, message, keyPair.pk), false);
});

test('consensus rule: S ≥ L is rejected by both', () => {
  const signature = signWith(sodium, message, keyPair.sk);
  const s = littleEndian(signature.subarray(32));
  assert.equal(verdict(signature, message, keyPair.pk), true);
  for (const value of [s + groupOrder, s + 8n * groupOrder, groupOrder, (1n << 256n) - 1n]) {
    const malleated = concatBytes(signature.subarray(0, 32), scalarBytes(value));
    assert.equal(verdict(malleated, message, keyPair.pk), false, value.toString(16));
  }
  // S = L - 1 is canonical: the verdict then rests on the equation (false here), in both.
  const last = concatBytes(signature.subarray(0, 32), scalarBytes(groupOrder - 1n));
  assert.equal(verdict(last, message, keyPair.pk), false);
});

test('consensus rule: small-order and non-canonical public keys are rejected by both', () => {
  // With A = identity, R = B and S = 1 satisfy [S]B = R + [k]A for every message (OpenSSL
  // accepts this; libsodium refuses the key, and so must the browser).
  const forged = concatBytes(basePoint, scalarBytes(1n));
  for (const [what, encoding] of Object.entries(smallOrderPoints)) {
    for (let i = 0; i < 16; i++) {
      assert.equal(verdict(forged, Uint8Array.of(i), fromHex(encoding)), false, what);
    }
  }
  for (const encoding of nonCanonicalY) {
    assert.equal(verdict(forged, message, fromHex(encoding)), false, encoding);
  }
});

test('consensus rule: a small-order R is rejected by both even when the equation holds', () => {
  for (const [what, encoding] of Object.entries(smallOrderPoints)) {
    const r = fromHex(encoding);
    const signature = forge({ r, rNonce: 0n, a, publicKey: keyPair.pk, message });
    assert.equal(verdict(signature, message, keyPair.pk), false, what);
  }
});

test('consensus rule: an R with a small-order component is rejected by both (no cofactor)', () => {
  const honestR = pointTimesBase(rNonce);
  for (const [what, torsion] of Object.entries(smallOrderPoints).slice(1, 8)) {
    const r = addPoints(honestR, fromHex(torsion));
    const signature = forge({ r, rNonce, a, publicKey: keyPair.pk, message });
    assert.equal(verdict(signature, message, keyPair.pk), false, what);
  }
});

test('consensus rule: mixed-order keys verify in both iff the cofactorless equation holds', () => {
  const r = pointTimesBase(rNonce);
  for (const [what, torsion] of Object.entries(smallOrderPoints).slice(1, 8)) {
    const publicKey = addPoints(keyPair.pk, fromHex(torsion));
    const verdicts = { accepted: 0, rejected: 0 };
    for (let i = 0; i < 24; i++) {
      const signature = forge({ r, rNonce, a, publicKey, message: Uint8Array.of(i) });
      const accepted = verdict(signature, Uint8Array.of(i), publicKey);
      verdicts[accepted ? 'accepted' : 'rejected'] += 1;
    }
    // k·T vanishes only when the order of T divides k, so both outcomes occur for every T.
    assert.ok(
      verdicts.accepted > 0 && verdicts.rejected > 0,
      `${what}: ${JSON.stringify(verdicts)}`,
    );
  }
});

// --- crypto_core_ed25519_is_valid_point ----------------------------------------------------------

test('is_valid_point: both accept honest keys, refuse small/mixed-order and non-canonical', () => {
  for (const vector of rfc8032) assert.equal(validPoint(vector.publicKey), true, vector.name);
  assert.equal(validPoint(basePoint), true);
  for (const [what, encoding] of Object.entries(smallOrderPoints)) {
    assert.equal(validPoint(fromHex(encoding)), false, what);
  }
  for (const encoding of nonCanonicalY) assert.equal(validPoint(fromHex(encoding)), false);
  for (const [what, torsion] of Object.entries(smallOrderPoints).slice(1, 8)) {
    assert.equal(validPoint(addPoints(keyPair.pk, fromHex(torsion))), false, `mixed: ${what}`);
  }
  // A y that is on no curve point.
  assert.equal(validPoint(fromHex('02' + '00'.repeat(31))), false);
});

test('is_valid_point: both agree on random bytes, random keys and keys plus torsion', () => {
  const torsion = Object.values(smallOrderPoints).slice(1, 8).map(fromHex);
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.nat(torsion.length - 1),
      (bytes, index) => {
        validPoint(bytes);
        const { pk } = keyPairWith(sodium, bytes);
        assert.equal(validPoint(pk), true);
        assert.equal(validPoint(flipBit(pk, 255)), true, 'the negated key, -A');
        assert.equal(validPoint(addPoints(pk, torsion[index]!)), false);
      },
    ),
    { numRuns: 200 },
  );
});

// --- argument checks -----------------------------------------------------------------------------

test('wrong arguments: both throw an AssertionError with the same message', () => {
  const bytes = (length: number): Uint8Array => new Uint8Array(length);
  const notBytes = 'not bytes' as unknown as Uint8Array;
  const calls: Array<[string, (backend: Backend) => unknown]> = [
    ['sha256 short out', (b) => b.crypto_hash_sha256(bytes(31), bytes(1))],
    ['sha256 string input', (b) => b.crypto_hash_sha256(bytes(32), notBytes)],
    ['sha256 string out', (b) => b.crypto_hash_sha256(notBytes, bytes(1))],
    ['keypair pk', (b) => b.crypto_sign_seed_keypair(bytes(31), bytes(64), bytes(32))],
    ['keypair sk', (b) => b.crypto_sign_seed_keypair(bytes(32), bytes(63), bytes(32))],
    ['keypair seed', (b) => b.crypto_sign_seed_keypair(bytes(32), bytes(64), bytes(33))],
    ['keypair seed type', (b) => b.crypto_sign_seed_keypair(bytes(32), bytes(64), notBytes)],
    ['sign sig', (b) => b.crypto_sign_detached(bytes(65), bytes(1), bytes(64))],
    ['sign sk', (b) => b.crypto_sign_detached(bytes(64), bytes(1), bytes(32))],
    ['sign m type', (b) => b.crypto_sign_detached(bytes(64), notBytes, bytes(64))],
    ['verify short sig', (b) => b.crypto_sign_verify_detached(bytes(63), bytes(1), bytes(32))],
    ['verify pk', (b) => b.crypto_sign_verify_detached(bytes(64), bytes(1), bytes(33))],
    ['verify pk type', (b) => b.crypto_sign_verify_detached(bytes(64), bytes(1), notBytes)],
    ['is_valid_point length', (b) => b.crypto_core_ed25519_is_valid_point(bytes(31))],
    ['is_valid_point type', (b) => b.crypto_core_ed25519_is_valid_point(notBytes)],
  ];
  for (const [what, call] of calls) {
    let expected: unknown;
    assert.throws(
      () => call(sodium),
      (error: unknown) => ((expected = error), true),
      what,
    );
    assert.throws(
      () => call(browser),
      (error: unknown) => {
        assert.ok(error instanceof Error && expected instanceof Error, what);
        assert.equal(error.name, 'AssertionError', what);
        assert.equal(error.message, expected.message, what);
        return true;
      },
      what,
    );
  }
  // Valid-input twin: the same calls with the right lengths succeed in both.
  for (const backend of [sodium, browser]) {
    backend.crypto_hash_sha256(bytes(32), bytes(1));
    backend.crypto_sign_seed_keypair(bytes(32), bytes(64), bytes(32));
    assert.equal(backend.crypto_sign_verify_detached(bytes(64), bytes(1), bytes(32)), false);
    assert.equal(backend.crypto_core_ed25519_is_valid_point(bytes(32)), false);
  }
});

test('the node:crypto stand-in refuses X25519 with a clear error naming the function', () => {
  for (const [name, call] of [
    ['createPrivateKey', () => createPrivateKey({})],
    ['createPublicKey', () => createPublicKey({})],
    ['diffieHellman', () => diffieHellman({})],
  ] as const) {
    assert.throws(call, (error: unknown) => {
      assert.ok(error instanceof BrowserUnavailableError);
      assert.equal(error.code, 'unavailable-in-browser');
      assert.match(error.message, /X25519 is not available in the browser build/);
      assert.match(error.message, new RegExp(`node:crypto ${name}`));
      return true;
    });
  }
});
