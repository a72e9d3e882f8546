import { assert } from '../base/index.ts';

import { MajorType } from './byte-writer.ts';
import { codecDepthMax } from './limits.ts';

/**
 * Walks the items of an encoding this codec wrote (or `decodeCbor` accepted) without building
 * them: where each item ends, and how deeply containers nest. For bytes that are already known
 * to be well-formed; anything else is a programmer error and fails an assertion rather than
 * being reported as bad input (`decodeCbor` is the function for untrusted bytes).
 */

type Head = { readonly major: number; readonly argument: number; readonly length: number };

const twoTo32 = 2 ** 32;

function readHead(bytes: Uint8Array, offset: number): Head {
  const initial = bytes[offset];
  assert(initial !== undefined, 'a scanned item starts inside the bytes');
  const major = initial >> 5;
  const additional = initial & 31;
  assert(major !== MajorType.tag, 'a scanned encoding holds no tags');
  if (additional < 24) return { major, argument: additional, length: 1 };
  const size = additional === 24 ? 1 : additional === 25 ? 2 : additional === 26 ? 4 : 8;
  assert(additional <= 27, 'a scanned head has a definite argument');
  assert(offset + 1 + size <= bytes.length, 'a scanned head lies inside the bytes');
  let argument = 0;
  for (let index = 1; index <= size; index++) {
    argument = argument * 256 + bytes[offset + index]!;
  }
  assert(argument < twoTo32 * 0x200000, 'a scanned argument is a safe integer');
  return { major, argument, length: 1 + size };
}

/**
 * Visits the item at `offset` and everything nested in it; returns the offset after it and the
 * levels of arrays and maps it holds (0 for a scalar, 1 for `[]` or `[1]`, 2 for `[[]]`).
 */
function scanItem(bytes: Uint8Array, offset: number): { end: number; levels: number } {
  // Items still to read in each open container: an explicit stack, bounded by the codec's
  // depth limit, instead of recursion.
  const remaining: number[] = [];
  let levels = 0;
  let at = offset;
  do {
    const head = readHead(bytes, at);
    at += head.length;
    if (remaining.length > 0) remaining[remaining.length - 1]! -= 1;
    if (head.major === MajorType.byteString || head.major === MajorType.textString) {
      at += head.argument;
    } else if (head.major === MajorType.array || head.major === MajorType.map) {
      remaining.push(head.major === MajorType.array ? head.argument : 2 * head.argument);
      assert(remaining.length <= codecDepthMax, 'a scanned item nests within the depth limit');
      levels = Math.max(levels, remaining.length);
    }
    while (remaining.length > 0 && remaining[remaining.length - 1] === 0) remaining.pop();
  } while (remaining.length > 0);
  assert(at <= bytes.length, 'a scanned item ends inside the bytes');
  return { end: at, levels };
}

/** The length of the head of the well-formed item at `offset`: where a string's bytes start. */
export function cborHeadLength(bytes: Uint8Array, offset: number): number {
  return readHead(bytes, offset).length;
}

/** The offset just after the well-formed item that starts at `offset` of `bytes`. */
export function skipCborItem(bytes: Uint8Array, offset: number): number {
  return scanItem(bytes, offset).end;
}

/**
 * The levels of nested arrays and maps in the well-formed item that is the whole of `bytes`
 * (as `codecDepthMax` counts them: a scalar is level 0, `[]` level 1, `[[]]` level 2).
 */
export function cborNestingLevels(bytes: Uint8Array): number {
  const { end, levels } = scanItem(bytes, 0);
  assert(end === bytes.length, 'a scanned encoding is exactly one item');
  return levels;
}

/**
 * The offsets at which the first `count` items of the array that `bytes` encodes start, plus
 * the offset after the last of them: what a caller needs to hash a run of an encoded chain
 * object's fields without encoding them again.
 */
export function cborArrayItemOffsets(bytes: Uint8Array, count: number): number[] {
  const head = readHead(bytes, 0);
  assert(head.major === MajorType.array, 'the scanned encoding is an array');
  assert(count <= head.argument, 'the scanned array has the items asked for');
  const offsets = [head.length];
  for (let index = 0; index < count; index++) {
    offsets.push(skipCborItem(bytes, offsets[index]!));
  }
  return offsets;
}
