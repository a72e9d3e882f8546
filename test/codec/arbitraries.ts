// fast-check arbitraries of the codec's value model (`CborValue`), shared by the codec's
// property tests.
import fc from 'fast-check';

import type { CborValue } from '../../src/codec/index.ts';

const boundaryIntegers = [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32];
export const integer = fc.oneof(
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
export const textValue = fc.string({ unit: 'binary', maxLength: 12 });
export const mapKey = fc.oneof(
  textValue,
  fc.constantFrom('__proto__', 'constructor', 'toString', '', 'a', 'aa', 'b', '10', '2'),
);

export function plainObject(entries: ReadonlyArray<readonly [string, CborValue]>): CborValue {
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

export const { value: cborValue } = fc.letrec<{ value: CborValue }>((tie) => ({
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
