// Cross-checks the history log against a naive RFC 9162 §2.1 reference (MTH, PATH, PROOF straight
// from the RFC text, hashed with node:crypto) exhaustively on small trees and with fast-check.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import fc from 'fast-check';

import { toHex } from '../../src/base/index.ts';
import {
  HistoryLog,
  HistoryLogError,
  LogErrorCode,
  logLeafHash,
  logNodeHash,
  verifyLogConsistency,
  verifyLogInclusion,
} from '../../src/merkle/index.ts';
import type { LogErrorCode as LogErrorCodeType } from '../../src/merkle/index.ts';

/** Leaves of every tree in this file: distinct inputs (`i:` then 0 to 40 pseudo-random bytes). */
const leafCount = 4096;
const leaves = Array.from({ length: leafCount }, (_, i) => {
  const tail = createHash('sha256')
    .update(`leaf ${i}`)
    .digest()
    .subarray(0, i % 41);
  return new Uint8Array(Buffer.concat([Buffer.from(`${i}:`), tail]));
});

function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/** The k of RFC 9162 §2.1.1: the largest power of two smaller than n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const mthCache = new Map<string, Uint8Array>();

/** MTH(D[begin:end]) of RFC 9162 §2.1.1 (memoised, else the exhaustive checks take minutes). */
function mth(begin: number, end: number): Uint8Array {
  const n = end - begin;
  if (n === 0) return sha256();
  if (n === 1) return sha256(Uint8Array.of(0), leaves[begin]!);
  const key = `${begin}:${end}`;
  let hash = mthCache.get(key);
  if (hash === undefined) {
    const k = split(n);
    hash = sha256(Uint8Array.of(1), mth(begin, begin + k), mth(begin + k, end));
    mthCache.set(key, hash);
  }
  return hash;
}

/** PATH(m, D[begin:end]) of RFC 9162 §2.1.3.1. */
function path(m: number, begin: number, end: number): Uint8Array[] {
  const n = end - begin;
  if (n === 1) return [];
  const k = split(n);
  if (m < k) return [...path(m, begin, begin + k), mth(begin + k, end)];
  return [...path(m - k, begin + k, end), mth(begin, begin + k)];
}

/** SUBPROOF(m, D[begin:end], b) of RFC 9162 §2.1.4.1. */
function subproof(m: number, begin: number, end: number, b: boolean): Uint8Array[] {
  const n = end - begin;
  if (m === n) return b ? [] : [mth(begin, end)];
  const k = split(n);
  if (m <= k) return [...subproof(m, begin, begin + k, b), mth(begin + k, end)];
  return [...subproof(m - k, begin + k, end, false), mth(begin, begin + k)];
}

/** PROOF(m, D[n]) of RFC 9162 §2.1.4.1; empty for m = 0 and m = n, as the log returns it. */
function proof(m: number, n: number): Uint8Array[] {
  return m === 0 || m === n ? [] : subproof(m, 0, n, true);
}

/** Hex of each hash, for readable assertion diffs. */
const hex = (hashes: readonly Uint8Array[]) => hashes.map(toHex);

const log = new HistoryLog();
for (const leaf of leaves) log.append(leaf);

/** The error code a verification throws, or undefined when it verifies. */
function failure(run: () => unknown): LogErrorCodeType | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof HistoryLogError, `a HistoryLogError, got ${String(error)}`);
    return error.code;
  }
}

function flipBit(hash: Uint8Array, bit: number): Uint8Array {
  const flipped = hash.slice();
  flipped[Math.floor(bit / 8) % flipped.length]! ^= 1 << (bit % 8);
  return flipped;
}

test('leaf and node hashes agree with node:crypto SHA-256 and the 0x00/0x01 prefixes', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      (data, other) => {
        const leaf = logLeafHash(data);
        assert.deepEqual(leaf, sha256(Uint8Array.of(0), data));
        assert.deepEqual(logNodeHash(leaf, other), sha256(Uint8Array.of(1), leaf, other));
        assert.notDeepEqual(logNodeHash(other, leaf), logNodeHash(leaf, other));
      },
    ),
  );
});

test('roots of every size up to 4096 equal the reference MTH', () => {
  const growing = new HistoryLog();
  for (let size = 0; size <= leafCount; size++) {
    assert.equal(toHex(growing.root()), toHex(mth(0, size)), `current root at ${size}`);
    assert.equal(toHex(log.root(size)), toHex(mth(0, size)), `root(${size}) of the full log`);
    if (size < leafCount) growing.append(leaves[size]!);
  }
});

test('a root differs from the reference MTH of a different size', () => {
  for (let size = 1; size <= 300; size++) {
    assert.notEqual(toHex(log.root(size)), toHex(mth(0, size - 1)));
    assert.notEqual(toHex(log.root(size)), toHex(mth(0, size + 1)));
  }
});

const exhaustiveSizeMax = 200;

test(`inclusion proofs equal the reference PATH for every index and size up to ${exhaustiveSizeMax}`, () => {
  for (let size = 1; size <= exhaustiveSizeMax; size++) {
    const root = mth(0, size);
    for (let index = 0; index < size; index++) {
      const found = log.inclusionProof({ index, size });
      const expected = path(index, 0, size);
      assert.deepEqual(found.path.map(toHex), hex(expected), `PATH(${index}, D[${size}])`);
      verifyLogInclusion({ index, size, proof: found.path, root, leafData: leaves[index]! });
    }
  }
});

test(`inclusion proofs for another leaf or tree differ from the reference PATH (sizes up to ${exhaustiveSizeMax})`, () => {
  for (let size = 2; size <= exhaustiveSizeMax; size++) {
    for (let index = 0; index < size; index++) {
      const found = hex(path(index, 0, size)).join();
      assert.notEqual(
        log
          .inclusionProof({ index: (index + 1) % size, size })
          .path.map(toHex)
          .join(),
        found,
      );
      if (size < leafCount)
        assert.notEqual(
          log
            .inclusionProof({ index, size: size + 1 })
            .path.map(toHex)
            .join(),
          found,
        );
    }
  }
});

test(`consistency proofs equal the reference PROOF for every pair of sizes up to ${exhaustiveSizeMax}`, () => {
  for (let newSize = 0; newSize <= exhaustiveSizeMax; newSize++) {
    const newRoot = mth(0, newSize);
    for (let oldSize = 0; oldSize <= newSize; oldSize++) {
      const found = log.consistencyProof({ oldSize, newSize });
      assert.deepEqual(
        found.path.map(toHex),
        hex(proof(oldSize, newSize)),
        `PROOF(${oldSize}, D[${newSize}])`,
      );
      verifyLogConsistency({
        oldSize,
        newSize,
        oldRoot: mth(0, oldSize),
        newRoot,
        proof: found.path,
      });
    }
  }
});

test(`consistency proofs verify against no other pair of roots (sizes up to 64)`, () => {
  for (let newSize = 2; newSize <= 64; newSize++) {
    for (let oldSize = 1; oldSize < newSize; oldSize++) {
      const found = log.consistencyProof({ oldSize, newSize }).path;
      for (const [claimedOld, claimedNew] of [
        [oldSize - 1, newSize],
        [oldSize, newSize + 1],
        [oldSize + 1, newSize],
      ] as const) {
        const claim = {
          oldSize,
          newSize,
          oldRoot: mth(0, claimedOld),
          newRoot: mth(0, claimedNew),
          proof: found,
        };
        assert.equal(
          failure(() => verifyLogConsistency(claim)),
          LogErrorCode.rootMismatch,
        );
      }
    }
  }
});

/** A random tree size, and an index in it, for the property tests. */
const sizeAndIndex = fc
  .integer({ min: 1, max: leafCount })
  .chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 })));

/** A random pair of sizes 0 ≤ oldSize ≤ newSize ≤ 4096. */
const sizePair = fc
  .integer({ min: 0, max: leafCount })
  .chain((newSize) => fc.tuple(fc.integer({ min: 0, max: newSize }), fc.constant(newSize)));

test('property: every inclusion proof verifies and has at most ceil(log2 size) hashes', () => {
  fc.assert(
    fc.property(sizeAndIndex, ([size, index]) => {
      const found = log.inclusionProof({ index, size });
      assert.ok(found.path.length <= Math.ceil(Math.log2(size)), `${found.path.length} hashes`);
      const verified = verifyLogInclusion({
        index,
        size,
        proof: found.path,
        root: log.root(size),
        leafData: leaves[index]!,
      });
      assert.deepEqual(verified.leafHash, log.leafHash(index));
    }),
    { numRuns: 300 },
  );
});

test('property: flipping any bit of an inclusion proof, the leaf or the root fails verification', () => {
  fc.assert(
    fc.property(
      sizeAndIndex,
      fc.nat(),
      fc.nat(255),
      fc.constantFrom('proof', 'leaf', 'root'),
      ([size, index], pick, bit, target) => {
        const found = log.inclusionProof({ index, size }).path;
        const leafHash = log.leafHash(index);
        const root = log.root(size);
        const element = found.length === 0 ? -1 : pick % found.length;
        fc.pre(target !== 'proof' || element >= 0);
        const claim = {
          index,
          size,
          proof: found.map((hash, i) =>
            target === 'proof' && i === element ? flipBit(hash, bit) : hash,
          ),
          leafHash: target === 'leaf' ? flipBit(leafHash, bit) : leafHash,
          root: target === 'root' ? flipBit(root, bit) : root,
        };
        assert.equal(
          failure(() => verifyLogInclusion(claim)),
          LogErrorCode.rootMismatch,
        );
      },
    ),
    { numRuns: 300 },
  );
});

test('property: an inclusion proof claimed for another index fails verification', () => {
  fc.assert(
    fc.property(sizeAndIndex, fc.nat(), ([size, index], other) => {
      fc.pre(size > 1);
      const claimed = (index + 1 + (other % (size - 1))) % size;
      const claim = {
        index: claimed,
        size,
        proof: log.inclusionProof({ index, size }).path,
        root: log.root(size),
        leafData: leaves[index]!,
      };
      const code = failure(() => verifyLogInclusion(claim));
      assert.ok(
        code === LogErrorCode.rootMismatch || code === LogErrorCode.proofLengthMismatch,
        code,
      );
    }),
    { numRuns: 300 },
  );
});

/** The side of each sibling of PATH(m, D[n]) of RFC 9162 §2.1.3.1, leaf side first. */
function pathShape(m: number, n: number): string {
  const sides: string[] = [];
  let [index, width] = [m, n];
  while (width > 1) {
    const k = split(width);
    sides.unshift(index < k ? 'R' : 'L');
    [index, width] = index < k ? [index, k] : [index - k, width - k];
  }
  return sides.join();
}

test('property: an inclusion proof claimed for another size verifies exactly when PATH has the same shape', () => {
  // The root does not commit to the size (the signed tree head does): for (index 0, size 5) and
  // (index 0, size 6) the verifier does the very same hashing. It must refuse every other size.
  const five = {
    index: 0,
    proof: log.inclusionProof({ index: 0, size: 5 }).path,
    root: log.root(5),
  };
  verifyLogInclusion({ ...five, size: 6, leafData: leaves[0]! });
  assert.equal(pathShape(0, 5), pathShape(0, 6));
  fc.assert(
    fc.property(
      sizeAndIndex,
      fc.integer({ min: 1, max: 2 * leafCount }),
      ([size, index], claimedSize) => {
        fc.pre(claimedSize !== size && claimedSize > index);
        const claim = {
          index,
          size: claimedSize,
          proof: log.inclusionProof({ index, size }).path,
          root: log.root(size),
          leafData: leaves[index]!,
        };
        const sameShape = pathShape(index, size) === pathShape(index, claimedSize);
        assert.equal(failure(() => verifyLogInclusion(claim)) === undefined, sameShape);
      },
    ),
    { numRuns: 300 },
  );
});

test('property: every consistency proof verifies and has at most ceil(log2 newSize) + 1 hashes', () => {
  fc.assert(
    fc.property(sizePair, ([oldSize, newSize]) => {
      const found = log.consistencyProof({ oldSize, newSize });
      const bound = oldSize === 0 || oldSize === newSize ? 0 : Math.ceil(Math.log2(newSize)) + 1;
      assert.ok(found.path.length <= bound, `${found.path.length} hashes, bound ${bound}`);
      verifyLogConsistency({
        oldSize,
        newSize,
        oldRoot: log.root(oldSize),
        newRoot: log.root(newSize),
        proof: found.path,
      });
    }),
    { numRuns: 300 },
  );
});

test('property: flipping any bit of a consistency proof or of either root fails verification', () => {
  fc.assert(
    fc.property(
      sizePair,
      fc.nat(),
      fc.nat(255),
      fc.constantFrom('proof', 'oldRoot', 'newRoot'),
      ([oldSize, newSize], pick, bit, target) => {
        const found = log.consistencyProof({ oldSize, newSize }).path;
        const element = found.length === 0 ? -1 : pick % found.length;
        fc.pre(target !== 'proof' || element >= 0);
        // Any tree extends the empty tree, so a changed newRoot cannot be caught when oldSize is 0.
        fc.pre(!(target === 'newRoot' && oldSize === 0 && newSize > 0));
        const oldRoot = log.root(oldSize);
        const newRoot = log.root(newSize);
        const claim = {
          oldSize,
          newSize,
          proof: found.map((hash, i) =>
            target === 'proof' && i === element ? flipBit(hash, bit) : hash,
          ),
          oldRoot: target === 'oldRoot' ? flipBit(oldRoot, bit) : oldRoot,
          newRoot: target === 'newRoot' ? flipBit(newRoot, bit) : newRoot,
        };
        assert.equal(
          failure(() => verifyLogConsistency(claim)),
          LogErrorCode.rootMismatch,
        );
      },
    ),
    { numRuns: 300 },
  );
});

/**
 * How the RFC 9162 §2.1.4.2 verifier uses a proof for (m, n): the role of each hash of SUBPROOF,
 * leaf side first. No `start` means the old tree is a perfect left subtree (its root prepended).
 */
function consistencyShape(m: number, n: number): string {
  if (m === 0 || m === n) return '';
  const roles: string[] = [];
  let [oldLeft, width, complete] = [m, n, true];
  while (oldLeft !== width) {
    const k = split(width);
    if (oldLeft <= k) {
      roles.unshift('R');
      width = k;
    } else {
      roles.unshift('L');
      [oldLeft, width, complete] = [oldLeft - k, width - k, false];
    }
  }
  if (!complete) roles.unshift('start');
  return roles.join();
}

test('property: a consistency proof claimed for other sizes verifies exactly when PROOF has the same shape', () => {
  fc.assert(
    fc.property(
      sizePair,
      fc.integer({ min: 0, max: 2 * leafCount }),
      fc.boolean(),
      ([oldSize, newSize], other, changeOld) => {
        fc.pre(oldSize > 0 && oldSize < newSize);
        const claimedOld = changeOld ? other % (newSize + 1) : oldSize;
        const claimedNew = changeOld ? newSize : Math.max(other, oldSize);
        fc.pre(claimedOld !== oldSize || claimedNew !== newSize);
        const claim = {
          oldSize: claimedOld,
          newSize: claimedNew,
          oldRoot: log.root(oldSize),
          newRoot: log.root(newSize),
          proof: log.consistencyProof({ oldSize, newSize }).path,
        };
        const sameShape =
          consistencyShape(oldSize, newSize) === consistencyShape(claimedOld, claimedNew);
        assert.equal(failure(() => verifyLogConsistency(claim)) === undefined, sameShape);
      },
    ),
    { numRuns: 300 },
  );
});
