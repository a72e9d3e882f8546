// Checks the strict decoder on hand-made inputs: each canonical encoding is accepted and its
// non-canonical or malformed twin is refused with its own code and byte offset; limits, copies
// and argument checks are exercised directly.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fromHex, toHex } from '../../src/base/index.ts';
import {
  CodecError,
  codecBytesMax,
  codecDepthMax,
  decodeCbor,
  encodeCbor,
} from '../../src/codec/index.ts';
import type { CborValue, CodecErrorCode } from '../../src/codec/index.ts';

function assertRefused(hex: string, code: CodecErrorCode, offset: number): CodecError {
  let caught: unknown;
  try {
    decodeCbor(fromHex(hex));
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CodecError, `${hex}: expected a CodecError, got ${String(caught)}`);
  assert.equal(caught.code, code, `${hex}: ${caught.message}`);
  assert.equal(caught.details.offset, offset, `${hex}: ${caught.message}`);
  return caught;
}

function assertAccepted(hex: string, value: CborValue): void {
  assert.deepEqual(decodeCbor(fromHex(hex)), value, hex);
  assert.equal(toHex(encodeCbor(value)), hex);
}

// Each row: a canonical encoding, its value, then a twin that differs only in being
// non-canonical or malformed, with the code and offset the decoder must report.
const twins: ReadonlyArray<{
  readonly why: string;
  readonly valid: string;
  readonly value: CborValue;
  readonly invalid: string;
  readonly code: CodecErrorCode;
  readonly offset: number;
}> = [
  {
    why: '23 in two bytes',
    valid: '17',
    value: 23,
    invalid: '1817',
    code: 'non-canonical-integer',
    offset: 0,
  },
  {
    why: '0 in three bytes',
    valid: '00',
    value: 0,
    invalid: '190000',
    code: 'non-canonical-integer',
    offset: 0,
  },
  {
    why: '24 in three bytes',
    valid: '1818',
    value: 24,
    invalid: '190018',
    code: 'non-canonical-integer',
    offset: 0,
  },
  {
    why: '255 in three bytes',
    valid: '18ff',
    value: 255,
    invalid: '1900ff',
    code: 'non-canonical-integer',
    offset: 0,
  },
  {
    why: '1000 in five bytes',
    valid: '1903e8',
    value: 1000,
    invalid: '1a000003e8',
    code: 'non-canonical-integer',
    offset: 0,
  },
  {
    why: '65535 in five bytes',
    valid: '19ffff',
    value: 65535,
    invalid: '1a0000ffff',
    code: 'non-canonical-integer',
    offset: 0,
  },
  {
    why: '10^6 in nine bytes',
    valid: '1a000f4240',
    value: 1000000,
    invalid: '1b00000000000f4240',
    code: 'non-canonical-integer',
    offset: 0,
  },
  {
    why: '2^32 − 1 in nine bytes',
    valid: '1affffffff',
    value: 2 ** 32 - 1,
    invalid: '1b00000000ffffffff',
    code: 'non-canonical-integer',
    offset: 0,
  },
  {
    why: '-1 in two bytes',
    valid: '20',
    value: -1,
    invalid: '3800',
    code: 'non-canonical-integer',
    offset: 0,
  },
  {
    why: '-100 in three bytes',
    valid: '3863',
    value: -100,
    invalid: '390063',
    code: 'non-canonical-integer',
    offset: 0,
  },
  {
    why: 'a nested long integer',
    valid: '811818',
    value: [24],
    invalid: '81190018',
    code: 'non-canonical-integer',
    offset: 1,
  },
  {
    why: 'a byte-string length in two bytes',
    valid: '4401020304',
    value: new Uint8Array([1, 2, 3, 4]),
    invalid: '580401020304',
    code: 'non-canonical-length',
    offset: 0,
  },
  {
    why: 'a text length in two bytes',
    valid: '6161',
    value: 'a',
    invalid: '780161',
    code: 'non-canonical-length',
    offset: 0,
  },
  {
    why: 'an array count in two bytes',
    valid: '83010203',
    value: [1, 2, 3],
    invalid: '9803010203',
    code: 'non-canonical-length',
    offset: 0,
  },
  {
    why: 'a map count in two bytes',
    valid: 'a0',
    value: {},
    invalid: 'b800',
    code: 'non-canonical-length',
    offset: 0,
  },
  {
    why: 'keys "b" before "a"',
    valid: 'a26161016162820203',
    value: { a: 1, b: [2, 3] },
    invalid: 'a26162820203616101',
    code: 'unsorted-map-keys',
    offset: 6,
  },
  // Deterministic order is by encoding, so the shorter key "b" sorts before "aa" (unlike JS).
  {
    why: 'key "aa" before the shorter "b"',
    valid: 'a261620262616101',
    value: { b: 2, aa: 1 },
    invalid: 'a262616101616202',
    code: 'unsorted-map-keys',
    offset: 5,
  },
  {
    why: 'key "a" twice',
    valid: 'a1616101',
    value: { a: 1 },
    invalid: 'a2616101616102',
    code: 'duplicate-map-key',
    offset: 4,
  },
  {
    why: 'a key that is an integer',
    valid: 'a1616102',
    value: { a: 2 },
    invalid: 'a10102',
    code: 'invalid-map-key',
    offset: 1,
  },
  {
    why: 'a key that is a byte string',
    valid: 'a1616102',
    value: { a: 2 },
    invalid: 'a1416102',
    code: 'invalid-map-key',
    offset: 1,
  },
  {
    why: 'a trailing byte',
    valid: '00',
    value: 0,
    invalid: '0000',
    code: 'trailing-bytes',
    offset: 1,
  },
  {
    why: 'a trailing item after an array',
    valid: '8101',
    value: [1],
    invalid: '810101',
    code: 'trailing-bytes',
    offset: 2,
  },
  {
    why: 'an indefinite-length array',
    valid: '80',
    value: [],
    invalid: '9fff',
    code: 'indefinite-length',
    offset: 0,
  },
  {
    why: 'an indefinite-length map',
    valid: 'a0',
    value: {},
    invalid: 'bfff',
    code: 'indefinite-length',
    offset: 0,
  },
  {
    why: 'an indefinite-length byte string',
    valid: '40',
    value: new Uint8Array(),
    invalid: '5fff',
    code: 'indefinite-length',
    offset: 0,
  },
  {
    why: 'an indefinite-length text',
    valid: '60',
    value: '',
    invalid: '7fff',
    code: 'indefinite-length',
    offset: 0,
  },
  {
    why: 'a truncated argument',
    valid: '190100',
    value: 256,
    invalid: '1901',
    code: 'truncated',
    offset: 0,
  },
  {
    why: 'an array missing an item',
    valid: '8219010001',
    value: [256, 1],
    invalid: '82190100',
    code: 'truncated',
    offset: 4,
  },
  {
    why: 'a map missing a value',
    valid: 'a1616101',
    value: { a: 1 },
    invalid: 'a16161',
    code: 'truncated',
    offset: 3,
  },
  {
    why: 'a byte string longer than the input',
    valid: '4401020304',
    value: new Uint8Array([1, 2, 3, 4]),
    invalid: '44010203',
    code: 'length-exceeds-input',
    offset: 0,
  },
  {
    why: 'malformed UTF-8 (bad continuation)',
    valid: '62c3bc',
    value: 'ü',
    invalid: '62c328',
    code: 'invalid-utf8',
    offset: 0,
  },
  {
    why: 'overlong UTF-8 for "/"',
    valid: '612f',
    value: '/',
    invalid: '62c0af',
    code: 'invalid-utf8',
    offset: 0,
  },
  {
    why: 'UTF-8 of a surrogate',
    valid: '64f0908591',
    value: '\ud800\udd51',
    invalid: '63eda080',
    code: 'invalid-utf8',
    offset: 0,
  },
  {
    why: 'UTF-8 beyond U+10FFFF',
    valid: '64f48fbfbf',
    value: '\u{10ffff}',
    invalid: '64f4908080',
    code: 'invalid-utf8',
    offset: 0,
  },
  {
    why: 'additional information 28',
    valid: '1b001fffffffffffff',
    value: Number.MAX_SAFE_INTEGER,
    invalid: '1c',
    code: 'malformed-head',
    offset: 0,
  },
  {
    why: 'additional information 31 on an integer',
    valid: '00',
    value: 0,
    invalid: '1f',
    code: 'malformed-head',
    offset: 0,
  },
  {
    why: 'a lone break code',
    valid: 'f6',
    value: null,
    invalid: 'ff',
    code: 'malformed-head',
    offset: 0,
  },
  {
    why: '2^53, one past the safe range',
    valid: '1b001fffffffffffff',
    value: Number.MAX_SAFE_INTEGER,
    invalid: '1b0020000000000000',
    code: 'unsafe-integer',
    offset: 0,
  },
  {
    why: '-(2^53), one past the safe range',
    valid: '3b001ffffffffffffe',
    value: -Number.MAX_SAFE_INTEGER,
    invalid: '3b001fffffffffffff',
    code: 'unsafe-integer',
    offset: 0,
  },
  {
    why: 'simple value 19',
    valid: 'f4',
    value: false,
    invalid: 'f3',
    code: 'unsupported-type',
    offset: 0,
  },
  {
    why: 'simple value 23 (undefined)',
    valid: 'f6',
    value: null,
    invalid: 'f7',
    code: 'unsupported-type',
    offset: 0,
  },
  {
    why: 'a tag on a valid item',
    valid: '00',
    value: 0,
    invalid: 'c000',
    code: 'unsupported-type',
    offset: 0,
  },
];

for (const twin of twins) {
  test(`${twin.why}: ${twin.valid} is accepted, ${twin.invalid} is ${twin.code}`, () => {
    assertAccepted(twin.valid, twin.value);
    assertRefused(twin.invalid, twin.code, twin.offset);
  });
}

test('an empty input is truncated at byte 0', () => {
  assertRefused('', 'truncated', 0);
  assertAccepted('f5', true);
});

test('messages say what was expected and what was found', () => {
  const error = assertRefused('1817', 'non-canonical-integer', 0);
  assert.equal(
    error.message,
    'non-canonical-integer at byte 0: expected the shortest head 0x17 for argument 23, found 0x1817',
  );
  assert.equal(error.details.expected, 'the shortest head 0x17 for argument 23');
  assert.equal(error.details.found, '0x1817');
  const unsorted = assertRefused('a2616201616102', 'unsorted-map-keys', 4);
  assert.match(unsorted.message, /after the previous key 0x6162, found 0x6161$/);
});

test('a declared length of 2^32 bytes in a 10-byte input fails fast, before allocating', () => {
  const hugeLengths: ReadonlyArray<readonly [string, string]> = [
    ['byte string', '5b000000010000000000'],
    ['text string', '7b000000010000000000'],
    ['array', '9b000000010000000000'],
    ['map', 'bb000000010000000000'],
    ['array, 4-byte count', '9affffffff0000000000'],
    ['byte string, 2^63', '5b800000000000000000'],
  ];
  for (const [what, hex] of hugeLengths) {
    assert.equal(hex.length, 20, what);
    // The bounds check must come first: a decoder that allocated or read before checking would
    // fail with RangeError or `truncated`, not `length-exceeds-input` at the head's offset.
    // (No timing assertion: the machines are shared and noisy.)
    const error = assertRefused(hex, 'length-exceeds-input', 0);
    assert.match(error.message, /fits the \d+ bytes? left/);
  }
  // The twin: the same head with a length that fits is accepted.
  assertAccepted('4101', new Uint8Array([1]));
});

test('map counts are checked at two bytes per entry, array counts at one byte per item', () => {
  // Three bytes remain after the head: enough for three array items, not for two map entries.
  assertAccepted('83010203', [1, 2, 3]);
  assertRefused('a2010203', 'length-exceeds-input', 0);
});

test(`nesting: ${codecDepthMax} levels are accepted, ${codecDepthMax + 1} are too deep`, () => {
  const nested = (levels: number) => '81'.repeat(levels) + '00';
  let value: CborValue = 0;
  for (let level = 0; level < codecDepthMax; level++) value = [value];
  assert.deepEqual(decodeCbor(fromHex(nested(codecDepthMax))), value);
  assertRefused(nested(codecDepthMax + 1), 'too-deep', codecDepthMax);
  assertRefused('a16161'.repeat(codecDepthMax) + '80', 'too-deep', 3 * codecDepthMax);
  // An empty container counts as a level too.
  assertRefused('81'.repeat(codecDepthMax) + '80', 'too-deep', codecDepthMax);
});

test('options.depthMax and options.bytesMax tighten the limits', () => {
  const input = fromHex('8181818100');
  assert.deepEqual(decodeCbor(input, { depthMax: 4 }), [[[[0]]]]);
  assert.throws(() => decodeCbor(input, { depthMax: 3 }), { code: 'too-deep' });
  assert.deepEqual(decodeCbor(input, { bytesMax: 5 }), [[[[0]]]]);
  assert.throws(() => decodeCbor(input, { bytesMax: 4 }), {
    code: 'too-large',
    message: 'input too large: expected at most 4 bytes, found 5',
  });
});

test('an input larger than codecBytesMax is refused before it is read', () => {
  const big = new Uint8Array(codecBytesMax + 1);
  assert.throws(() => decodeCbor(big), { code: 'too-large' });
  // Its twin at exactly the limit: a byte string whose head and content fill codecBytesMax.
  const exact = new Uint8Array(codecBytesMax);
  exact.set([0x5a, ...fromHex((codecBytesMax - 5).toString(16).padStart(8, '0'))]);
  assert.equal((decodeCbor(exact) as Uint8Array).length, codecBytesMax - 5);
});

test('bad arguments are refused as invalid-argument', () => {
  assert.throws(() => decodeCbor('00' as unknown as Uint8Array), {
    code: 'invalid-argument',
    message: 'decodeCbor: bytes: expected a Uint8Array, found a text string of 2 UTF-16 units',
  });
  assert.throws(() => decodeCbor(fromHex('00'), { depthMax: codecDepthMax + 1 }), {
    code: 'invalid-argument',
  });
  assert.throws(() => decodeCbor(fromHex('00'), { bytesMax: 0 }), { code: 'invalid-argument' });
  assert.throws(() => decodeCbor(fromHex('00'), { bytesMax: 1.5 }), { code: 'invalid-argument' });
  assert.equal(decodeCbor(fromHex('00'), { bytesMax: 1, depthMax: 1 }), 0);
});

test('decoded byte strings are copies: neither side can change the other', () => {
  const input = fromHex('824201024103');
  const decoded = decodeCbor(input) as Uint8Array[];
  decoded[0]![0] = 0xff;
  assert.equal(toHex(input), '824201024103');
  input[2] = 0xee;
  assert.equal(toHex(decoded[1]!), '03');
  assert.equal(decoded[0]!.buffer.byteLength, 2, 'the copy does not keep the input alive');
});

test('decoding works on a subarray with a non-zero byte offset', () => {
  const backing = fromHex('ffff1a000f4240ffff');
  assert.equal(decodeCbor(backing.subarray(2, 7)), 1000000);
  assert.throws(() => decodeCbor(backing.subarray(2, 8)), { code: 'trailing-bytes' });
});

test('a "__proto__" key becomes an own entry, never the prototype, and re-encodes', () => {
  const hex = 'a1695f5f70726f746f5f5f01';
  const decoded = decodeCbor(fromHex(hex)) as Record<string, CborValue>;
  assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
  assert.deepEqual(Object.keys(decoded), ['__proto__']);
  assert.equal(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value, 1);
  assert.equal(toHex(encodeCbor(decoded)), hex);
  // Its twin: the same entry twice is still a duplicate.
  assertRefused('a2695f5f70726f746f5f5f01695f5f70726f746f5f5f02', 'duplicate-map-key', 12);
});

test('a leading byte-order mark stays part of the text, so the text re-encodes to itself', () => {
  assertAccepted('63efbbbf', '\ufeff');
  assertAccepted('64efbbbf61', '\ufeffa');
  assertRefused('63efbbbf00', 'trailing-bytes', 4);
});
