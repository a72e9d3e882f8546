/**
 * Verifying consistency between two tree heads, RFC 9162 §2.1.4.2, step by step. Sizes go up to
 * 2^53 - 1, so LSB and right shifts are done with remainder and division, never 32-bit bit
 * operators.
 */
import { assert, equalBytes, shortHex, toHex } from '../base/index.ts';
import type { Hash } from '../crypto/index.ts';

import {
  HistoryLogError,
  LogErrorCode,
  checkCount,
  checkHash,
  checkHashList,
} from './log-errors.ts';
import { half, isOdd, isPowerOfTwo, logEmptyRoot, hashNodeInto, pathSteps } from './log-hash.ts';

/** What `verifyLogConsistency` checks: two tree heads and the proof between them. */
export interface LogConsistencyClaim {
  /** Size of the earlier tree (RFC 9162 first). */
  readonly oldSize: number;
  /** Size of the later tree (RFC 9162 second), at least `oldSize`. */
  readonly newSize: number;
  /** Root of the earlier tree (RFC 9162 first_hash). */
  readonly oldRoot: Uint8Array;
  /** Root of the later tree (RFC 9162 second_hash). */
  readonly newRoot: Uint8Array;
  /** The proof hashes (RFC 9162 consistency_path). */
  readonly proof: readonly Uint8Array[];
}

/** What a successful `verifyLogConsistency` proved: the old tree is a prefix of the new one. */
export interface LogConsistencyVerified {
  readonly oldSize: number;
  readonly newSize: number;
  readonly oldRoot: Hash;
  readonly newRoot: Hash;
}

/**
 * Verifies that the tree of `oldSize` leaves with root `oldRoot` is a prefix of the tree of
 * `newSize` leaves with root `newRoot` (RFC 9162 §2.1.4.2).
 *
 * RFC 9162 defines the proof for 0 < oldSize < newSize. The two edge cases take an empty proof:
 * equal sizes need equal roots, and an empty old tree needs `oldRoot` = MTH({}) = SHA-256()
 * (RFC 9162 §2.1.1), while any later tree extends it.
 *
 * Style: returns what it proved, or throws a `HistoryLogError` (as `verifyLogInclusion` does):
 * `argumentInvalid` naming a malformed argument, `proofLengthMismatch` when the proof has more or
 * fewer hashes than the algorithm consumes for the two sizes, `rootMismatch` naming the root that
 * differs. The length check runs before any hashing and only sharpens the message: the RFC's
 * loop refuses every other length too.
 */
export function verifyLogConsistency(claim: LogConsistencyClaim): LogConsistencyVerified {
  const newSize = checkCount('newSize', claim.newSize);
  const oldSize = checkCount('oldSize', claim.oldSize, newSize, 'newSize');
  const oldRoot = checkHash('oldRoot', claim.oldRoot);
  const newRoot = checkHash('newRoot', claim.newRoot);
  const proof = checkHashList('proof', claim.proof);
  const verified = { oldSize, newSize, oldRoot: oldRoot.slice(), newRoot: newRoot.slice() };

  if (oldSize === 0 || oldSize === newSize) {
    checkProofLength(proof.length, 0, oldSize, newSize);
    const emptyRoot = logEmptyRoot();
    if (oldSize === 0) {
      checkEdgeRoot('oldRoot', oldRoot, emptyRoot, 'the empty-tree root SHA-256()', verified);
      if (newSize === 0) {
        checkEdgeRoot('newRoot', newRoot, emptyRoot, 'the empty-tree root SHA-256()', verified);
      }
    } else {
      checkEdgeRoot('newRoot', newRoot, oldRoot, 'oldRoot of the same size', verified);
    }
    return verified;
  }

  // Steps 2 to 4 without hashing, to know how many hashes the loop of step 6 consumes.
  const prepend = isPowerOfTwo(oldSize);
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // Step 1 (an empty path fails) is covered: the expected length is at least 1.
  const expected = 1 + pathSteps(fn, sn) - (prepend ? 1 : 0);
  checkProofLength(proof.length, expected, oldSize, newSize);

  // Step 2: when the old tree is a perfect subtree of the new one, its root starts the path.
  const path = prepend ? [oldRoot, ...proof] : proof;
  // Step 3 (and step 4, repeated from above on fresh variables).
  fn = oldSize - 1;
  sn = newSize - 1;
  // Step 4: skip the levels where the old tree's last leaf is a right child.
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5.
  // Two running buffers, folded in place (no allocation per level).
  const fr = path[0]!.slice();
  const sr = path[0]!.slice();
  // Step 6.
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    // Step 6a: a path longer than the tree is tall fails (the length check caught it already).
    assert(sn !== 0, 'the consistency path is no longer than the length check allowed');
    if (isOdd(fn) || fn === sn) {
      // Step 6b: c is a left sibling, common to both trees.
      hashNodeInto(c, fr, fr);
      hashNodeInto(c, sr, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      // c is a right sibling that only the new tree has.
      hashNodeInto(sr, c, sr);
    }
    // Step 6c.
    fn = half(fn);
    sn = half(sn);
  }
  // Step 7: fr must be first_hash, sr must be second_hash, and sn must be 0.
  assert(sn === 0, 'the consistency path is no shorter than the length check allowed');
  checkRoot('oldRoot', fr, oldRoot, oldSize, newSize);
  checkRoot('newRoot', sr, newRoot, oldSize, newSize);
  return verified;
}

function checkProofLength(found: number, expected: number, oldSize: number, newSize: number) {
  if (found === expected) return;
  throw new HistoryLogError(
    LogErrorCode.proofLengthMismatch,
    `consistency proof has ${found} hashes, expected ${expected} ` +
      `(oldSize ${oldSize}, newSize ${newSize})`,
    { oldSize, newSize, expected, found },
  );
}

function checkRoot(
  which: 'oldRoot' | 'newRoot',
  computed: Uint8Array,
  expected: Uint8Array,
  oldSize: number,
  newSize: number,
): void {
  if (equalBytes(computed, expected)) return;
  throw new HistoryLogError(
    LogErrorCode.rootMismatch,
    `consistency proof: computed ${which} ${shortHex(computed)} differs from expected ` +
      `${shortHex(expected)} (oldSize ${oldSize}, newSize ${newSize})`,
    { root: which, oldSize, newSize, computedRoot: toHex(computed), expectedRoot: toHex(expected) },
  );
}

function checkEdgeRoot(
  which: 'oldRoot' | 'newRoot',
  found: Uint8Array,
  expected: Uint8Array,
  expectedName: string,
  sizes: { oldSize: number; newSize: number },
): void {
  if (equalBytes(found, expected)) return;
  const { oldSize, newSize } = sizes;
  throw new HistoryLogError(
    LogErrorCode.rootMismatch,
    `consistency proof: ${which} ${shortHex(found)} differs from ${expectedName} ` +
      `${shortHex(expected)} (oldSize ${oldSize}, newSize ${newSize})`,
    { root: which, oldSize, newSize, foundRoot: toHex(found), expectedRoot: toHex(expected) },
  );
}
