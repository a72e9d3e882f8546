import { assert } from '../base/index.ts';

import { MajorType } from './byte-writer.ts';
import { codecDepthMax } from './limits.ts';

/**
 * Walks the items of an encoding this codec wrote (or `decodeCbor` accepted) without building
 * them: where each item ends, and how deeply containers nest. For bytes that are already known
 * to be well-formed; anything else is a programmer error and fails an assertion rather than
 * being reported as bad input (`decodeCbor` is the function for untrusted bytes).
 */

const twoTo32 = 2 ** 32;

// The scanner runs synchronously and never re-enters itself, so its working state lives in
// module scratch rather than in objects made per item: it runs over every transaction and block
// a node encodes, and allocation is what the node spends its time collecting (decision 0076).
let headMajor = 0;
let headArgument = 0;
let headLength = 0;
/** Items still to read in each open container, innermost last. */
const remaining = new Float64Array(codecDepthMax);
let scannedLevels = 0;

/** Reads the head at `offset` into `headMajor`, `headArgument` and `headLength`. */
function readHead(bytes: Uint8Array, offset: number): void {
  const initial = bytes[offset];
  assert(initial !== undefined, 'a scanned item starts inside the bytes');
  headMajor = initial >> 5;
  const additional = initial & 31;
  assert(headMajor !== MajorType.tag, 'a scanned encoding holds no tags');
  if (additional < 24) {
    headArgument = additional;
    headLength = 1;
    return;
  }
  assert(additional <= 27, 'a scanned head has a definite argument');
  const size = additional === 24 ? 1 : additional === 25 ? 2 : additional === 26 ? 4 : 8;
  assert(offset + 1 + size <= bytes.length, 'a scanned head lies inside the bytes');
  let argument = 0;
  for (let index = 1; index <= size; index++) {
    argument = argument * 256 + bytes[offset + index]!;
  }
  assert(argument < twoTo32 * 0x200000, 'a scanned argument is a safe integer');
  headArgument = argument;
  headLength = 1 + size;
}

/**
 * Visits the item at `offset` and everything nested in it; returns the offset after it, and
 * leaves in `scannedLevels` the levels of arrays and maps it holds (0 for a scalar, 1 for `[]`
 * or `[1]`, 2 for `[[]]`).
 */
function scanItem(bytes: Uint8Array, offset: number): number {
  // An explicit stack of open containers, bounded by the codec's depth limit, not recursion.
  let open = 0;
  let levels = 0;
  let at = offset;
  do {
    readHead(bytes, at);
    at += headLength;
    if (open > 0) remaining[open - 1]! -= 1;
    if (headMajor === MajorType.byteString || headMajor === MajorType.textString) {
      at += headArgument;
    } else if (headMajor === MajorType.array || headMajor === MajorType.map) {
      assert(open < codecDepthMax, 'a scanned item nests within the depth limit');
      remaining[open] = headMajor === MajorType.array ? headArgument : 2 * headArgument;
      open += 1;
      if (open > levels) levels = open;
    }
    while (open > 0 && remaining[open - 1] === 0) open -= 1;
  } while (open > 0);
  assert(at <= bytes.length, 'a scanned item ends inside the bytes');
  scannedLevels = levels;
  return at;
}

/** The length of the head of the well-formed item at `offset`: where a string's bytes start. */
export function cborHeadLength(bytes: Uint8Array, offset: number): number {
  readHead(bytes, offset);
  return headLength;
}

/** The offset just after the well-formed item that starts at `offset` of `bytes`. */
export function skipCborItem(bytes: Uint8Array, offset: number): number {
  return scanItem(bytes, offset);
}

/**
 * The levels of nested arrays and maps in the well-formed item that is the whole of `bytes`
 * (as `codecDepthMax` counts them: a scalar is level 0, `[]` level 1, `[[]]` level 2).
 */
export function cborNestingLevels(bytes: Uint8Array): number {
  const end = scanItem(bytes, 0);
  assert(end === bytes.length, 'a scanned encoding is exactly one item');
  return scannedLevels;
}

/**
 * The offsets at which the first `count` items of the array that `bytes` encodes start, plus
 * the offset after the last of them: what a caller needs to hash a run of an encoded chain
 * object's fields without encoding them again.
 */
export function cborArrayItemOffsets(bytes: Uint8Array, count: number): number[] {
  readHead(bytes, 0);
  assert(headMajor === MajorType.array, 'the scanned encoding is an array');
  assert(count <= headArgument, 'the scanned array has the items asked for');
  const offsets = [headLength];
  for (let index = 0; index < count; index++) {
    offsets.push(skipCborItem(bytes, offsets[index]!));
  }
  return offsets;
}
