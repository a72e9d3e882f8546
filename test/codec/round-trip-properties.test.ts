// Checks the codec's laws with fast-check: encode → decode → encode is the identity on arbitrary
// values; decoding random or mutated bytes only ever throws CodecError; every accepted input
// re-encodes to itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { equalBytes, toHex } from '../../src/base/index.ts';
import { CodecError, decodeCbor, encodeCbor } from '../../src/codec/index.ts';
import type { CborValue } from '../../src/codec/index.ts';

const boundaryIntegers = [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32];
const integer = fc.oneof(
  fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  fc.constantFrom(
    ...boundaryIntegers,
    ...boundaryIntegers.map((value) => -value - 1),
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
  ),
);
// Full Unicode including astral characters; fast-check's 'binary' unit never yields a lone
// surrogate, which the codec refuses by design.
const textValue = fc.string({ unit: 'binary', maxLength: 12 });
const mapKey = fc.oneof(
  textValue,
  fc.constantFrom('__proto__', 'constructor', 'toString', '', 'a', 'aa', 'b', '10', '2'),
);

function plainObject(entries: ReadonlyArray<readonly [string, CborValue]>): CborValue {
  const object: Record<string, CborValue> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return object;
}

const { value: cborValue } = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    integer,
    fc.uint8Array({ maxLength: 40 }),
    textValue,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 6 }),
    fc
      .uniqueArray(fc.tuple(mapKey, tie('value')), { maxLength: 6, selector: ([key]) => key })
      .map(plainObject),
  ),
}));

function assertOnlyCodecErrors(bytes: Uint8Array): void {
  let decoded: CborValue;
  try {
    decoded = decodeCbor(bytes);
  } catch (error) {
    assert.ok(error instanceof CodecError, `${toHex(bytes)}: leaked ${String(error)}`);
    return;
  }
  const reencoded = encodeCbor(decoded);
  assert.ok(equalBytes(reencoded, bytes), `${toHex(bytes)} re-encoded as ${toHex(reencoded)}`);
}

test('encode → decode gives the value back, and re-encoding gives the same bytes', () => {
  fc.assert(
    fc.property(cborValue, (value) => {
      const encoded = encodeCbor(value);
      const decoded = decodeCbor(encoded);
      assert.deepEqual(decoded, value);
      assert.ok(equalBytes(encodeCbor(decoded), encoded));
    }),
    { numRuns: 600 },
  );
});

test('equal values encode equally whatever the key insertion order', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(mapKey, integer), { maxLength: 8, selector: ([key]) => key }),
      (entries) => {
        const forward = encodeCbor(plainObject(entries));
        const backward = encodeCbor(plainObject([...entries].reverse()));
        assert.ok(equalBytes(forward, backward));
      },
    ),
  );
});

test('random bytes are accepted only when canonical, and refused only with CodecError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 48 }), assertOnlyCodecErrors), {
    numRuns: 3000,
  });
});

test('mutated encodings (flipped, inserted, deleted bytes) obey the same rule', () => {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip'), at: fc.nat(), byte: fc.nat(255) }),
    fc.record({ kind: fc.constant('insert'), at: fc.nat(), byte: fc.nat(255) }),
    fc.record({ kind: fc.constant('delete'), at: fc.nat(), byte: fc.constant(0) }),
  );
  fc.assert(
    fc.property(cborValue, fc.array(mutation, { minLength: 1, maxLength: 3 }), (value, edits) => {
      const bytes = [...encodeCbor(value)];
      for (const { kind, at, byte } of edits) {
        const index = at % (bytes.length + 1);
        if (kind === 'flip' && index < bytes.length) bytes[index] = byte;
        else if (kind === 'insert') bytes.splice(index, 0, byte);
        else bytes.splice(index, 1);
      }
      assertOnlyCodecErrors(Uint8Array.from(bytes));
    }),
    { numRuns: 1500 },
  );
});

test('a valid encoding cut short is always refused, never half-decoded', () => {
  fc.assert(
    fc.property(cborValue, fc.nat(), (value, cut) => {
      const encoded = encodeCbor(value);
      const prefix = encoded.subarray(0, cut % encoded.length);
      assert.throws(() => decodeCbor(prefix), CodecError);
    }),
    { numRuns: 400 },
  );
});
