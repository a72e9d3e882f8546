// Checks chain objects that remember their encodings (decision 0076) against the same schema
// without memory, with fast-check: same bytes alone and nested, same errors, frozen values,
// nothing kept for a value that fails; and the scanner those objects use, against the decoder.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { AssertionFailedError, equalBytes } from '../../src/base/index.ts';
import {
  CodecError,
  array,
  cborArrayItemOffsets,
  cborValue as cborValueSchema,
  codecDepthMax,
  decodeCbor,
  defineObject,
  encodeCbor,
  struct,
  text,
  uint,
} from '../../src/codec/index.ts';
import type { CborValue } from '../../src/codec/index.ts';
import { cborNestingLevels, skipCborItem } from '../../src/codec/scan-cbor.ts';

import { cborValue } from './arbitraries.ts';

const fields = { label: text({ bytesMax: 64 }), count: uint(), body: cborValueSchema() };
const remembering = defineObject('Transaction', { version: 9, fields, rememberEncodings: true });
const plain = defineObject('Transaction', { version: 9, fields });
type Item = { label: string; count: number; body: CborValue };

/** A container for items: one more level of nesting than the item alone. */
const boxOf = <S extends typeof plain>(schema: S) =>
  struct({ first: schema, rest: array(schema, { itemsMax: 8 }) });
const rememberingBox = boxOf(remembering);
const plainBox = boxOf(plain);

const item = fc.record({
  label: fc.string({ maxLength: 20 }),
  count: fc.nat(),
  body: cborValue,
});

/** Nested arrays `levels` deep: `[[…[0]…]]`. */
function nested(levels: number): CborValue {
  let value: CborValue = 0;
  for (let level = 0; level < levels; level++) value = [value];
  return value;
}

function errorOf(run: () => unknown): CodecError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof CodecError, `expected a CodecError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the encoding to be refused');
}

test('a remembered encoding is byte for byte the fresh one, alone and nested, in any order', () => {
  fc.assert(
    fc.property(fc.array(item, { minLength: 1, maxLength: 5 }), fc.boolean(), (items, boxFirst) => {
      const copies = items.map((one): Item => structuredClone(one));
      const [first, ...rest] = copies as [Item, ...Item[]];
      const expectedBox = plainBox.encode({ first, rest });
      const expectedItems = copies.map((one) => plain.encode(one));
      // Remembered first inside the box, or first alone: either way every later write reuses it.
      if (boxFirst) assert.ok(equalBytes(rememberingBox.encode({ first, rest }), expectedBox));
      for (const [index, one] of copies.entries()) {
        assert.ok(equalBytes(remembering.encode(one), expectedItems[index]!));
        assert.ok(equalBytes(remembering.encode(one), expectedItems[index]!));
      }
      assert.ok(equalBytes(rememberingBox.encode({ first, rest }), expectedBox));
      assert.deepEqual(remembering.decode(expectedItems[0]!), first);
    }),
    { numRuns: 300 },
  );
});

test('a value whose encoding is kept is frozen, nested objects and arrays too', () => {
  const value: Item = {
    label: 'a',
    count: 1,
    body: { list: [1, { deep: true }], bytes: new Uint8Array(2) },
  };
  remembering.encode(value);
  assert.ok(Object.isFrozen(value));
  const body = value.body as { list: [number, { deep: boolean }]; bytes: Uint8Array };
  assert.ok(Object.isFrozen(body) && Object.isFrozen(body.list) && Object.isFrozen(body.list[1]));
  assert.throws(() => {
    (value as { count: number }).count = 2;
  }, TypeError);
  assert.throws(() => {
    body.list[1].deep = false;
  }, TypeError);
  // The twin: the same value through the schema without memory stays as it was.
  const unkept: Item = { label: 'a', count: 1, body: { list: [1] } };
  plain.encode(unkept);
  assert.equal(Object.isFrozen(unkept), false);
});

test('a value that fails to encode is neither kept nor frozen, and encodes once corrected', () => {
  const value = { label: 'a', count: 1, body: { ratio: 0.5 } } as Item;
  const error = errorOf(() => remembering.encode(value));
  assert.equal(error.code, 'invalid-value');
  assert.equal(Object.isFrozen(value), false);
  value.body = { ratio: 1 };
  assert.ok(equalBytes(remembering.encode(value), plain.encode(value)));
});

test('the depth limit holds where a kept encoding is written deeper than it was first', () => {
  // The item's own array is one level, so a body of codecDepthMax − 1 levels just fits alone and
  // is one level too deep inside the box.
  const value: Item = { label: 'deep', count: 0, body: nested(codecDepthMax - 1) };
  assert.ok(equalBytes(remembering.encode(value), plain.encode(value)));
  const expected = errorOf(() => plainBox.encode({ first: value, rest: [] }));
  const found = errorOf(() => rememberingBox.encode({ first: value, rest: [] }));
  assert.equal(expected.code, 'too-deep');
  assert.equal(found.message, expected.message);
  // The twin: one level less fits as the box's first field (one level down), through the kept
  // bytes, and is refused again in the box's list (two levels down).
  const shallower: Item = { label: 'deep', count: 0, body: nested(codecDepthMax - 2) };
  remembering.encode(shallower);
  const box = { first: shallower, rest: [] };
  assert.ok(equalBytes(rememberingBox.encode(box), plainBox.encode(box)));
  const listed = { first: shallower, rest: [shallower] };
  assert.equal(
    errorOf(() => rememberingBox.encode(listed)).message,
    errorOf(() => plainBox.encode(listed)).message,
  );
});

test('the bytes handed out are copies: changing them changes no later encoding', () => {
  const value: Item = { label: 'copy', count: 7, body: [1, 2, 3] };
  const first = remembering.encode(value);
  const expected = Uint8Array.from(first);
  first.fill(0);
  assert.ok(equalBytes(remembering.encode(value), expected));
});

/** The levels of arrays and maps in a decoded value, counted as the codec counts them. */
function levelsOf(value: CborValue): number {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map((child) => levelsOf(child as CborValue)));
}

test('the scanner finds each item end and the nesting levels the decoder sees', () => {
  fc.assert(
    fc.property(fc.array(cborValue, { minLength: 1, maxLength: 6 }), (values) => {
      const encodings = values.map((value) => encodeCbor(value));
      const whole = encodeCbor(values);
      for (const [index, encoded] of encodings.entries()) {
        assert.equal(cborNestingLevels(encoded), levelsOf(decodeCbor(encoded)));
        // Two items back to back: the first one ends where the second starts.
        const pair = new Uint8Array(encoded.length + whole.length);
        pair.set(encoded);
        pair.set(whole, encoded.length);
        assert.equal(skipCborItem(pair, 0), encoded.length, `item ${index}`);
      }
      const offsets = cborArrayItemOffsets(whole, values.length);
      for (const [index, encoded] of encodings.entries()) {
        assert.ok(equalBytes(whole.subarray(offsets[index], offsets[index + 1]), encoded));
      }
      assert.equal(offsets[values.length], whole.length);
    }),
    { numRuns: 300 },
  );
});

test('the scanner refuses bytes that are not one well-formed item, as a programmer error', () => {
  const whole = encodeCbor([1, 'two', new Uint8Array(3), { four: [4] }]);
  for (let cut = 1; cut < whole.length; cut++) {
    assert.throws(() => cborNestingLevels(whole.subarray(0, cut)), AssertionFailedError);
  }
  const trailing = new Uint8Array([...whole, 0]);
  assert.throws(() => cborNestingLevels(trailing), AssertionFailedError);
  assert.throws(() => cborArrayItemOffsets(encodeCbor({ a: 1 }), 1), AssertionFailedError);
  assert.throws(() => cborArrayItemOffsets(encodeCbor([1]), 2), AssertionFailedError);
});
