// Checks the deterministic encoder: shortest heads at every boundary, map keys in encoding order,
// and each value outside the model refused with a CodecError naming its path (twinned with a
// close value that is accepted).
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

function assertRefused(value: unknown, code: CodecErrorCode, message: string): void {
  assert.throws(
    () => encodeCbor(value as CborValue, { name: 'body' }),
    (error: unknown) => {
      assert.ok(error instanceof CodecError, `expected a CodecError, got ${String(error)}`);
      assert.equal(error.code, code, error.message);
      assert.equal(error.message, message);
      return true;
    },
  );
}

test('integer heads are shortest at every size boundary (RFC 8949 §4.2.1)', () => {
  const cases: ReadonlyArray<readonly [number, string]> = [
    [23, '17'],
    [24, '1818'],
    [255, '18ff'],
    [256, '190100'],
    [65535, '19ffff'],
    [65536, '1a00010000'],
    [2 ** 32 - 1, '1affffffff'],
    [2 ** 32, '1b0000000100000000'],
    [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
    [-24, '37'],
    [-25, '3818'],
    [-256, '38ff'],
    [-257, '390100'],
    [-(2 ** 32), '3affffffff'],
    [-(2 ** 32) - 1, '3b0000000100000000'],
    [-Number.MAX_SAFE_INTEGER, '3b001ffffffffffffe'],
  ];
  for (const [value, hex] of cases) {
    assert.equal(toHex(encodeCbor(value)), hex, `${value}`);
    assert.equal(decodeCbor(encodeCbor(value)), value);
  }
  // -0 is the integer 0 and has its one encoding.
  assert.equal(toHex(encodeCbor(-0)), '00');
});

test('integers outside the safe range and non-integers are refused', () => {
  assertRefused(
    Number.MAX_SAFE_INTEGER + 1,
    'unsafe-integer',
    'body: expected an integer within ±(2^53 − 1), found the unsafe integer 9007199254740992',
  );
  assertRefused(
    -Number.MAX_SAFE_INTEGER - 1,
    'unsafe-integer',
    'body: expected an integer within ±(2^53 − 1), found the unsafe integer -9007199254740992',
  );
  assertRefused(
    { period: [1.5] },
    'invalid-value',
    'body.period[0]: expected an integer (the codec has no floats), found the non-integer number 1.5',
  );
  assertRefused(
    [Number.NaN],
    'invalid-value',
    'body[0]: expected an integer (the codec has no floats), found NaN',
  );
  assertRefused(
    Number.POSITIVE_INFINITY,
    'invalid-value',
    'body: expected an integer (the codec has no floats), found the number Infinity',
  );
});

test('bigints are refused, with the plain number suggested when it would fit', () => {
  assertRefused(
    { height: 5n },
    'invalid-value',
    'body.height: expected a number (integers are numbers), found the bigint 5n',
  );
  assertRefused(
    { height: 2n ** 64n },
    'unsafe-integer',
    'body.height: expected an integer within ±(2^53 − 1), found the bigint 18446744073709551616n',
  );
  assert.equal(toHex(encodeCbor({ height: 5 })), 'a166686569676874' + '05');
});

test('map keys sort by their encodings: shorter first, then bytewise (not JS order)', () => {
  const value = { bb: 1, a: 2, c: 3, aa: 4, '\u00fc': 5, z: 6, '10': 7, '2': 8 };
  // Keys by encoding: "2" 6132, "a" 6161, "c" 6163, "z" 617a, "10" 623130, "aa" 626161,
  // "bb" 626262, "ü" 62c3bc.
  assert.equal(
    toHex(encodeCbor(value)),
    'a8' +
      '613208' +
      '616102' +
      '616303' +
      '617a06' +
      '62313007' +
      '62616104' +
      '62626201' +
      '62c3bc05',
  );
  assert.deepEqual(decodeCbor(encodeCbor(value)), value);
});

test('keys of equal UTF-8 length sort by UTF-8 bytes, not by UTF-16 units', () => {
  // Both keys are 4 bytes of UTF-8. In UTF-16, U+10000 (d800 dc00) sorts before U+E000 (e000);
  // in UTF-8, "\ue000a" (ee 80 80 61) sorts before U+10000 (f0 90 80 80).
  const value = { '\u{10000}': 1, '\ue000a': 2 };
  assert.equal(toHex(encodeCbor(value)), 'a2' + '64ee808061' + '02' + '64f0908080' + '01');
  assert.deepEqual(decodeCbor(encodeCbor(value)), value);
  // Its twin: the UTF-16 order is refused by the decoder.
  assert.throws(() => decodeCbor(fromHex('a264f09080800164ee80806102')), {
    code: 'unsorted-map-keys',
  });
});

test('a null-prototype object encodes like a plain one; a Map or class instance is refused', () => {
  const bare = Object.create(null) as Record<string, CborValue>;
  bare.b = 1;
  bare.a = 2;
  assert.equal(toHex(encodeCbor(bare)), toHex(encodeCbor({ a: 2, b: 1 })));
  assertRefused(
    { provisions: [0, 1, new Map([['a', 1]])] },
    'invalid-value',
    'body.provisions[2]: expected a safe integer, Uint8Array, string, boolean, null, array or ' +
      'plain object, found a Map',
  );
  class Period {
    start = 1;
  }
  assertRefused(
    { period: new Period() },
    'invalid-value',
    'body.period: expected a safe integer, Uint8Array, string, boolean, null, array or plain ' +
      'object, found an instance of Period',
  );
});

test('undefined, symbols, functions and holes are refused with their path', () => {
  assertRefused(
    { a: undefined },
    'invalid-value',
    'body.a: expected a safe integer, Uint8Array, string, boolean, null, array or plain object, ' +
      'found undefined',
  );
  // eslint-disable-next-line no-sparse-arrays
  const sparse = [1, , 3];
  assertRefused(
    sparse,
    'invalid-value',
    'body[1]: expected a safe integer, Uint8Array, string, boolean, null, array or plain object, ' +
      'found undefined',
  );
  assertRefused(
    { 'odd key': [() => 1] },
    'invalid-value',
    'body["odd key"][0]: expected a safe integer, Uint8Array, string, boolean, null, array or ' +
      'plain object, found a function',
  );
  assertRefused(
    [Symbol('x')],
    'invalid-value',
    'body[0]: expected a safe integer, Uint8Array, string, boolean, null, array or plain object, ' +
      'found a symbol',
  );
  assert.equal(toHex(encodeCbor([1, null, 3])), '8301f603');
});

test('objects with symbol keys, getters or non-enumerable properties are refused', () => {
  assertRefused(
    { [Symbol('s')]: 1 },
    'invalid-value',
    'body: expected a plain object with string keys, found the key Symbol(s)',
  );
  assertRefused(
    {
      get computed() {
        return 1;
      },
    },
    'invalid-value',
    'body.computed: expected a data property, found a getter or setter',
  );
  const hidden = Object.defineProperty({}, 'secret', { value: 1, enumerable: false });
  assertRefused(
    hidden,
    'invalid-value',
    'body.secret: expected an enumerable property, found a non-enumerable one',
  );
  assert.equal(toHex(encodeCbor({ computed: 1 })), 'a168636f6d707574656401');
});

test('Array subclasses and typed arrays other than Uint8Array are refused', () => {
  class Items extends Array<number> {}
  assertRefused(
    Items.from([1]),
    'invalid-value',
    'body: expected a plain array, found an Array subclass instance',
  );
  assertRefused(
    new Uint16Array(2),
    'invalid-value',
    'body: expected a safe integer, Uint8Array, string, boolean, null, array or plain object, ' +
      'found an instance of Uint16Array',
  );
  assert.equal(toHex(encodeCbor(new Uint8Array([1, 2]))), '420102');
});

test('lone surrogates are refused in text and in keys; surrogate pairs are fine', () => {
  assertRefused(
    { note: 'ok\ud800' },
    'invalid-utf8',
    'body.note: expected a well-formed string (encodable as UTF-8), found a lone surrogate at ' +
      'UTF-16 index 2',
  );
  assertRefused(
    { ['\udc00']: 1 },
    'invalid-utf8',
    'body["\\udc00"]: expected a well-formed string (encodable as UTF-8), found a lone ' +
      'surrogate at UTF-16 index 0',
  );
  assert.equal(toHex(encodeCbor('\ud800\udd51')), '64f0908591');
});

test(`nesting: ${codecDepthMax} levels encode, ${codecDepthMax + 1} and cycles are too deep`, () => {
  let value: CborValue = 0;
  for (let level = 0; level < codecDepthMax; level++) value = [value];
  assert.equal(toHex(encodeCbor(value)), '81'.repeat(codecDepthMax) + '00');
  assert.throws(() => encodeCbor([value]), { code: 'too-deep' });
  const cycle: unknown[] = [];
  cycle.push(cycle);
  assert.throws(
    () => encodeCbor(cycle as CborValue),
    (error: unknown) => {
      assert.ok(error instanceof CodecError);
      assert.equal(error.code, 'too-deep');
      assert.match(error.message, /^value(\[0\]){32}: expected at most 32 levels/);
      return true;
    },
  );
});

test('an encoding larger than codecBytesMax is refused; one of exactly that size is not', () => {
  const headBytes = 5;
  const fits = new Uint8Array(codecBytesMax - headBytes);
  assert.equal(encodeCbor(fits).length, codecBytesMax);
  assert.throws(() => encodeCbor([fits]), {
    code: 'too-large',
    message: `encoding too large: expected at most ${codecBytesMax} bytes, found at least ${codecBytesMax + 1}`,
  });
});

test('the result is a fresh array that shares nothing with the input', () => {
  const payload = new Uint8Array([1, 2, 3]);
  const encoded = encodeCbor({ payload });
  payload[0] = 9;
  assert.deepEqual(decodeCbor(encoded), { payload: new Uint8Array([1, 2, 3]) });
  assert.notEqual(encoded.buffer, payload.buffer);
});
