// Checks the byte helpers and assert of src/base against Node's Buffer and fast-check properties.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import {
  AssertionFailedError,
  MedLedgerError,
  assert as check,
  compareBytes,
  concatBytes,
  equalBytes,
  fromHex,
  fromUtf8,
  shortHex,
  toHex,
  utf8,
} from '../../src/base/index.ts';

test('hex round-trips and agrees with Buffer', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const hex = toHex(bytes);
      assert.equal(hex, Buffer.from(bytes).toString('hex'));
      assert.deepEqual(fromHex(hex), bytes);
      assert.deepEqual(fromHex(hex.toUpperCase()), bytes);
    }),
  );
});

test('fromHex refuses odd lengths and non-hex characters', () => {
  assert.throws(() => fromHex('abc'), /odd length 3/);
  assert.throws(() => fromHex('zz'), /non-hex character/);
  assert.throws(() => fromHex('0x00'), /non-hex character/);
});

test('compareBytes orders like Buffer.compare; equalBytes agrees with it', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (a, b) => {
      assert.equal(Math.sign(compareBytes(a, b)), Buffer.compare(a, b));
      assert.equal(equalBytes(a, b), Buffer.compare(a, b) === 0);
    }),
  );
  assert.equal(equalBytes(new Uint8Array([1]), new Uint8Array([1, 0])), false);
});

test('concatBytes joins in order', () => {
  assert.deepEqual(
    concatBytes(new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3])),
    new Uint8Array([1, 2, 3]),
  );
  assert.equal(shortHex(new Uint8Array(10).fill(255)), 'ffffffffffffffff…');
  assert.equal(shortHex(new Uint8Array([1, 2])), '0102');
});

test('utf8 round-trips; fromUtf8 refuses malformed input', () => {
  assert.equal(fromUtf8(utf8('水 ü')), '水 ü');
  assert.equal(fromUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])), '\ufeffa');
  assert.throws(() => fromUtf8(new Uint8Array([0xc3])), TypeError);
  assert.throws(() => fromUtf8(new Uint8Array([0xed, 0xa0, 0x80])), TypeError);
});

test('assert throws AssertionFailedError with its reason; MedLedgerError keeps code and details', () => {
  assert.doesNotThrow(() => check(true, 'never'));
  assert.throws(
    () => check(false, 'height only grows'),
    (error: unknown) => {
      assert.ok(error instanceof AssertionFailedError);
      assert.equal(error.message, 'assertion failed: height only grows');
      return true;
    },
  );
  class ProofError extends MedLedgerError<'root-mismatch'> {}
  const error = new ProofError('root-mismatch', 'proof root mismatch', { height: 812 });
  assert.equal(error.name, 'ProofError');
  assert.equal(error.code, 'root-mismatch');
  assert.deepEqual(error.details, { height: 812 });
});
