// Checks the codec against RFC 8949 Appendix A: examples inside the subset encode and decode to
// the RFC's exact hex; examples outside it (big integers, floats, tags, simple values,
// indefinite lengths) are refused by the decoder with the right code and byte offset.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fromHex, toHex } from '../../src/base/index.ts';
import { CodecError, decodeCbor, encodeCbor } from '../../src/codec/index.ts';
import type { CborValue, CodecErrorCode } from '../../src/codec/index.ts';

const inSubset: ReadonlyArray<readonly [string, CborValue, string]> = [
  ['0', 0, '00'],
  ['1', 1, '01'],
  ['10', 10, '0a'],
  ['23', 23, '17'],
  ['24', 24, '1818'],
  ['25', 25, '1819'],
  ['100', 100, '1864'],
  ['1000', 1000, '1903e8'],
  ['1000000', 1000000, '1a000f4240'],
  ['1000000000000', 1000000000000, '1b000000e8d4a51000'],
  ['-1', -1, '20'],
  ['-10', -10, '29'],
  ['-100', -100, '3863'],
  ['-1000', -1000, '3903e7'],
  ['false', false, 'f4'],
  ['true', true, 'f5'],
  ['null', null, 'f6'],
  ["h''", new Uint8Array(), '40'],
  ["h'01020304'", new Uint8Array([1, 2, 3, 4]), '4401020304'],
  ['""', '', '60'],
  ['"a"', 'a', '6161'],
  ['"IETF"', 'IETF', '6449455446'],
  ['"\\"\\\\"', '"\\', '62225c'],
  ['"\\u00fc"', '\u00fc', '62c3bc'],
  ['"\\u6c34"', '\u6c34', '63e6b0b4'],
  ['"\\ud800\\udd51"', '\ud800\udd51', '64f0908591'],
  ['[]', [], '80'],
  ['[1, 2, 3]', [1, 2, 3], '83010203'],
  ['[1, [2, 3], [4, 5]]', [1, [2, 3], [4, 5]], '8301820203820405'],
  [
    '[1, 2, …, 25]',
    Array.from({ length: 25 }, (_, index) => index + 1),
    '98190102030405060708090a0b0c0d0e0f101112131415161718181819',
  ],
  ['{}', {}, 'a0'],
  ['{"a": 1, "b": [2, 3]}', { a: 1, b: [2, 3] }, 'a26161016162820203'],
  ['["a", {"b": "c"}]', ['a', { b: 'c' }], '826161a161626163'],
  [
    '{"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"}',
    { a: 'A', b: 'B', c: 'C', d: 'D', e: 'E' },
    'a56161614161626142616361436164614461656145',
  ],
];

for (const [diagnostic, value, hex] of inSubset) {
  test(`RFC 8949 Appendix A: ${diagnostic} is ${hex} both ways`, () => {
    assert.equal(toHex(encodeCbor(value)), hex);
    assert.deepEqual(decodeCbor(fromHex(hex)), value);
  });
}

const outsideSubset: ReadonlyArray<readonly [string, string, CodecErrorCode, number]> = [
  ['18446744073709551615', '1bffffffffffffffff', 'unsafe-integer', 0],
  ['18446744073709551616 (bignum tag 2)', 'c249010000000000000000', 'unsupported-type', 0],
  ['-18446744073709551616', '3bffffffffffffffff', 'unsafe-integer', 0],
  ['-18446744073709551617 (bignum tag 3)', 'c349010000000000000000', 'unsupported-type', 0],
  ['0.0', 'f90000', 'unsupported-type', 0],
  ['-0.0', 'f98000', 'unsupported-type', 0],
  ['1.0', 'f93c00', 'unsupported-type', 0],
  ['1.1', 'fb3ff199999999999a', 'unsupported-type', 0],
  ['1.5', 'f93e00', 'unsupported-type', 0],
  ['65504.0', 'f97bff', 'unsupported-type', 0],
  ['100000.0', 'fa47c35000', 'unsupported-type', 0],
  ['3.4028234663852886e+38', 'fa7f7fffff', 'unsupported-type', 0],
  ['1.0e+300', 'fb7e37e43c8800759c', 'unsupported-type', 0],
  ['5.960464477539063e-8', 'f90001', 'unsupported-type', 0],
  ['0.00006103515625', 'f90400', 'unsupported-type', 0],
  ['-4.0', 'f9c400', 'unsupported-type', 0],
  ['-4.1', 'fbc010666666666666', 'unsupported-type', 0],
  ['Infinity (half)', 'f97c00', 'unsupported-type', 0],
  ['NaN (half)', 'f97e00', 'unsupported-type', 0],
  ['-Infinity (half)', 'f9fc00', 'unsupported-type', 0],
  ['Infinity (single)', 'fa7f800000', 'unsupported-type', 0],
  ['NaN (single)', 'fa7fc00000', 'unsupported-type', 0],
  ['-Infinity (single)', 'faff800000', 'unsupported-type', 0],
  ['Infinity (double)', 'fb7ff0000000000000', 'unsupported-type', 0],
  ['NaN (double)', 'fb7ff8000000000000', 'unsupported-type', 0],
  ['-Infinity (double)', 'fbfff0000000000000', 'unsupported-type', 0],
  ['undefined', 'f7', 'unsupported-type', 0],
  ['simple(16)', 'f0', 'unsupported-type', 0],
  ['simple(255)', 'f8ff', 'unsupported-type', 0],
  [
    '0("2013-03-21T20:04:00Z")',
    'c074323031332d30332d32315432303a30343a30305a',
    'unsupported-type',
    0,
  ],
  ['1(1363896240)', 'c11a514b67b0', 'unsupported-type', 0],
  ['1(1363896240.5)', 'c1fb41d452d9ec200000', 'unsupported-type', 0],
  ["23(h'01020304')", 'd74401020304', 'unsupported-type', 0],
  ["24(h'6449455446')", 'd818456449455446', 'unsupported-type', 0],
  [
    '32("http://www.example.com")',
    'd82076687474703a2f2f7777772e6578616d706c652e636f6d',
    'unsupported-type',
    0,
  ],
  ['{1: 2, 3: 4}', 'a201020304', 'invalid-map-key', 1],
  ["(_ h'0102', h'030405')", '5f42010243030405ff', 'indefinite-length', 0],
  ['(_ "strea", "ming")', '7f657374726561646d696e67ff', 'indefinite-length', 0],
  ['[_ ]', '9fff', 'indefinite-length', 0],
  ['[_ 1, [2, 3], [_ 4, 5]]', '9f018202039f0405ffff', 'indefinite-length', 0],
  ['[_ 1, [2, 3], [4, 5]]', '9f01820203820405ff', 'indefinite-length', 0],
  ['[1, [2, 3], [_ 4, 5]]', '83018202039f0405ff', 'indefinite-length', 5],
  ['[1, [_ 2, 3], [4, 5]]', '83019f0203ff820405', 'indefinite-length', 2],
  [
    '[_ 1, 2, …, 25]',
    '9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff',
    'indefinite-length',
    0,
  ],
  ['{_ "a": 1, "b": [_ 2, 3]}', 'bf61610161629f0203ffff', 'indefinite-length', 0],
  ['["a", {_ "b": "c"}]', '826161bf61626163ff', 'indefinite-length', 3],
  ['{_ "Fun": true, "Amt": -2}', 'bf6346756ef563416d7421ff', 'indefinite-length', 0],
];

for (const [diagnostic, hex, code, offset] of outsideSubset) {
  test(`RFC 8949 Appendix A: ${diagnostic} (${hex}) is refused as ${code} at byte ${offset}`, () => {
    assert.throws(
      () => decodeCbor(fromHex(hex)),
      (error: unknown) => {
        assert.ok(error instanceof CodecError, `not a CodecError: ${String(error)}`);
        assert.equal(error.code, code, error.message);
        assert.equal(error.details.offset, offset, error.message);
        assert.match(
          error.message,
          new RegExp(`^${code} at byte ${offset}: expected .+, found .+`),
        );
        return true;
      },
    );
  });
}
