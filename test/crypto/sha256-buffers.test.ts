// Checks the reused-buffer paths of sha256, sha256Prefixed, sha256Node and hashTagged against
// node:crypto on inputs on both sides of the reused input buffer's size (fast-check), and that
// each call returns a digest of its own that later calls never overwrite.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import fc from 'fast-check';

import { concatBytes, toHex, utf8 } from '../../src/base/index.ts';
import {
  HashPrefix,
  hashTagged,
  sha256,
  sha256Node,
  sha256Prefixed,
} from '../../src/crypto/index.ts';

function reference(...parts: Uint8Array[]): string {
  return createHash('sha256')
    .update(concatBytes(...parts))
    .digest('hex');
}

/** Inputs from empty to well past 512 bytes, where the hashes stop framing in their buffer. */
const dataArb = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 500, maxLength: 530 }),
  fc.uint8Array({ maxLength: 1500 }),
);

test('sha256, sha256Prefixed and sha256Node agree with node:crypto at every input size', () => {
  fc.assert(
    fc.property(dataArb, dataArb, fc.integer({ min: 0, max: 255 }), (a, b, prefix) => {
      assert.equal(toHex(sha256(a)), reference(a));
      assert.equal(toHex(sha256Prefixed(prefix, a)), reference(Uint8Array.of(prefix), a));
      assert.equal(toHex(sha256Node(prefix, a, b)), reference(Uint8Array.of(prefix), a, b));
    }),
    { numRuns: 300 },
  );
});

test('hashTagged agrees with its framing hashed by node:crypto at every input size', () => {
  const tag = utf8('medledger/test/v1');
  const frame = (parts: readonly Uint8Array[]) =>
    concatBytes(
      Uint8Array.of(HashPrefix.tagged, tag.length),
      tag,
      ...parts.flatMap((part) => {
        const length = new Uint8Array(4);
        new DataView(length.buffer).setUint32(0, part.length);
        return [length, part];
      }),
    );
  fc.assert(
    fc.property(fc.array(dataArb, { maxLength: 3 }), (parts) => {
      assert.equal(toHex(hashTagged('medledger/test/v1', ...parts)), reference(frame(parts)));
    }),
    { numRuns: 200 },
  );
});

test('each digest is a fresh array: later hashes do not change it, and it can be changed freely', () => {
  const first = sha256(utf8('first'));
  const kept = toHex(first);
  const second = sha256(utf8('second'));
  sha256Node(HashPrefix.stateNode, first, second);
  hashTagged('medledger/test/v1', first);
  assert.equal(toHex(first), kept);
  assert.notEqual(toHex(second), kept);
  // Writing into a returned digest does not reach the next one (the invalid twin of the above).
  first.fill(0);
  assert.equal(toHex(sha256(utf8('first'))), kept);
});
