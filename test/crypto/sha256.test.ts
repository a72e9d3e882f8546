// Checks SHA-256 and hashTagged against NIST vectors and node:crypto (fast-check), and tag rules.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import fc from 'fast-check';

import { concatBytes, fromHex, toHex, utf8 } from '../../src/base/index.ts';
import {
  HashPrefix,
  hashBytes,
  hashTagBytesMax,
  hashTagged,
  sha256,
  sha256Into,
  sha256Node,
  sha256Prefixed,
} from '../../src/crypto/index.ts';

type Sha256Vector = {
  name: string;
  messageAscii: string;
  repeat: number;
  digest: string;
};

const vectors = (
  JSON.parse(readFileSync(new URL('../vectors/sha256-nist.json', import.meta.url), 'utf8')) as {
    vectors: Sha256Vector[];
  }
).vectors;

function nodeSha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

test('sha256 gives the NIST digest of every example message', () => {
  assert.equal(vectors.length, 5);
  for (const vector of vectors) {
    const message = utf8(vector.messageAscii.repeat(vector.repeat));
    const digest = sha256(message);
    assert.equal(digest.length, hashBytes);
    assert.equal(toHex(digest), vector.digest, vector.name);
  }
});

test('a message one bit away from a NIST example does not give its digest', () => {
  for (const vector of vectors) {
    const message = utf8(vector.messageAscii.repeat(vector.repeat));
    // Flip the last bit; the empty message gets one zero byte instead (eight bits away).
    const changed = message.length === 0 ? new Uint8Array(1) : message;
    changed[changed.length - 1]! ^= 1;
    assert.notEqual(toHex(sha256(changed)), vector.digest, vector.name);
  }
});

test('sha256 agrees with node:crypto on random inputs', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
      assert.equal(toHex(sha256(data)), nodeSha256(data));
    }),
    { numRuns: 300 },
  );
});

test('sha256 of two different random inputs differs (node:crypto agrees on both)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 100 }), (a, b) => {
      fc.pre(toHex(a) !== toHex(b));
      assert.notEqual(toHex(sha256(a)), toHex(sha256(b)));
      assert.notEqual(nodeSha256(a), nodeSha256(b));
    }),
    { numRuns: 200 },
  );
});

test('sha256Prefixed and sha256Node hash the prefix byte followed by their inputs', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 255 }),
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ maxLength: 64 }),
      (prefix, left, right) => {
        const prefixByte = Uint8Array.of(prefix);
        const leaf = sha256Prefixed(prefix, left);
        assert.equal(toHex(leaf), nodeSha256(concatBytes(prefixByte, left)));
        const node = sha256Node(prefix, left, right);
        assert.equal(toHex(node), nodeSha256(concatBytes(prefixByte, left, right)));
        // The invalid twin: another prefix byte never gives the same hash.
        const otherPrefix = (prefix + 1) % 256;
        assert.notEqual(toHex(sha256Prefixed(otherPrefix, left)), toHex(leaf));
        assert.notEqual(toHex(sha256Node(otherPrefix, left, right)), toHex(node));
      },
    ),
    { numRuns: 200 },
  );
});

test('hashTagged hashes 0x4d, the length-prefixed tag and the length-prefixed parts', () => {
  const expected = nodeSha256(
    concatBytes(
      Uint8Array.of(HashPrefix.tagged, 15),
      utf8('medledger/tx/v1'),
      fromHex('00000002'),
      utf8('ab'),
      fromHex('00000001'),
      utf8('c'),
    ),
  );
  assert.equal(toHex(hashTagged('medledger/tx/v1', utf8('ab'), utf8('c'))), expected);
  assert.notEqual(toHex(hashTagged('medledger/tx/v1', utf8('abc'))), expected);
});

test('hashTagged separates tags and part boundaries', () => {
  const ab = utf8('ab');
  const c = utf8('c');
  const a = utf8('a');
  const bc = utf8('bc');
  const outputs = [
    hashTagged('medledger/tx/v1', ab, c),
    hashTagged('medledger/tx/v1', a, bc),
    hashTagged('medledger/tx/v1', utf8('abc')),
    hashTagged('medledger/tx/v1', ab, c, new Uint8Array(0)),
    hashTagged('medledger/header/v1', ab, c),
    hashTagged('medledger/tx/v', utf8('1'), ab, c),
    hashTagged('medledger/tx/v1'),
    sha256Prefixed(HashPrefix.logLeaf, utf8('medledger/tx/v1abc')),
  ].map(toHex);
  assert.equal(new Set(outputs).size, outputs.length, 'every input gives its own hash');
  // The valid twin: the same tag and parts give the same hash every time.
  assert.equal(toHex(hashTagged('medledger/tx/v1', ab, c)), outputs[0]);
});

test('hashTagged separates random tags and part splits (fast-check)', () => {
  fc.assert(
    fc.property(
      fc.string({ minLength: 1, maxLength: 20 }),
      fc.uint8Array({ minLength: 2, maxLength: 40 }),
      fc.nat(),
      (tag, data, cut) => {
        const split = 1 + (cut % (data.length - 1));
        const whole = toHex(hashTagged(tag, data));
        const parts = toHex(hashTagged(tag, data.subarray(0, split), data.subarray(split)));
        assert.notEqual(whole, parts);
        assert.notEqual(toHex(hashTagged(`${tag}x`, data)), whole);
      },
    ),
    { numRuns: 200 },
  );
});

test('hashTagged accepts tags of 1 and hashTagBytesMax bytes', () => {
  assert.equal(hashTagged('t').length, hashBytes);
  assert.equal(hashTagged('t'.repeat(hashTagBytesMax)).length, hashBytes);
  // Multi-byte characters count in UTF-8 bytes: 127 × 2 bytes fits.
  assert.equal(hashTagged('é'.repeat(127)).length, hashBytes);
});

test('hashTagged refuses an empty tag and tags longer than hashTagBytesMax bytes', () => {
  assert.throws(() => hashTagged(''), {
    name: 'RangeError',
    message: `hash tag must be 1..${hashTagBytesMax} bytes, got 0`,
  });
  assert.throws(() => hashTagged('t'.repeat(hashTagBytesMax + 1)), {
    name: 'RangeError',
    message: `hash tag must be 1..${hashTagBytesMax} bytes, got ${hashTagBytesMax + 1}`,
  });
  assert.throws(() => hashTagged('é'.repeat(128)), /got 256/);
});

test('sha256Into writes the same digest as sha256 in place, and refuses a wrong-size output', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (data) => {
      const out = new Uint8Array(32).fill(0xaa);
      sha256Into(out, data);
      assert.equal(toHex(out), createHash('sha256').update(data).digest('hex'));
    }),
  );
  assert.throws(() => sha256Into(new Uint8Array(31), new Uint8Array(1)), /32-byte array/);
});
