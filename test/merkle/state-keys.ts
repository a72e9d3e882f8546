// Shared key generators for the state-tree tests: random keys and keys sharing long prefixes.
import fc from 'fast-check';

import { toHex } from '../../src/base/index.ts';

/** Bit `depth` of `key`, most significant bit of byte 0 first (the tree's path order). */
export function bitOf(key: Uint8Array, depth: number): number {
  return (key[Math.floor(depth / 8)]! >> (7 - (depth % 8))) & 1;
}

/**
 * A key that copies the first `shared` bits of `base`, flips the next bit, and takes the rest
 * from `tail`, so that splits happen deep in the tree too.
 */
export function deriveKey(base: Uint8Array, shared: number, tail: Uint8Array): Uint8Array {
  const key = Uint8Array.from(tail);
  for (let bit = 0; bit <= shared && bit < 256; bit++) {
    const mask = 0x80 >> (bit % 8);
    const wanted = bit < shared ? bitOf(base, bit) : 1 - bitOf(base, bit);
    const index = Math.floor(bit / 8);
    key[index] = wanted === 1 ? key[index]! | mask : key[index]! & ~mask;
  }
  return key;
}

/** Any 32-byte key. */
export const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

/** Distinct keys: random ones and ones sharing 0..255 leading bits with one base key. */
export const keySetArbitrary = (maxKeys: number) =>
  fc
    .tuple(
      bytes32,
      fc.array(fc.oneof(bytes32, fc.tuple(fc.integer({ min: 0, max: 255 }), bytes32)), {
        maxLength: maxKeys,
      }),
    )
    .map(([base, specs]) => {
      const keys = new Map<string, Uint8Array>();
      for (const spec of specs) {
        const key = spec instanceof Uint8Array ? spec : deriveKey(base, spec[0], spec[1]);
        keys.set(toHex(key), key);
      }
      return [...keys.values()];
    });
