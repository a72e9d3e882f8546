/**
 * Verifying an inclusion proof, RFC 9162 §2.1.3.2, step by step. Indices go up to 2^53 - 1, so
 * LSB and right shifts are done with remainder and division, never 32-bit bit operators.
 */
import { assert, equalBytes, shortHex, toHex } from '../base/index.ts';
import type { Hash } from '../crypto/index.ts';

import {
  HistoryLogError,
  LogErrorCode,
  checkBytes,
  checkCount,
  checkHash,
  checkHashList,
  checkIndex,
} from './log-errors.ts';
import { half, isOdd, hashLeaf, hashNodeInto, pathSteps } from './log-hash.ts';
import { logLeafBytesMax } from './log-limits.ts';

/** What `verifyLogInclusion` checks: a leaf (by hash or by input), its position, the proof. */
export type LogInclusionClaim = {
  /** Index of the leaf (RFC 9162 leaf_index). */
  readonly index: number;
  /** Size of the tree (RFC 9162 tree_size). */
  readonly size: number;
  /** The audit path (RFC 9162 inclusion_path), leaf side first. */
  readonly proof: readonly Uint8Array[];
  /** The signed root of the tree of `size` leaves (RFC 9162 root_hash). */
  readonly root: Uint8Array;
} & (
  | { readonly leafHash: Uint8Array; readonly leafData?: never }
  | { readonly leafData: Uint8Array; readonly leafHash?: never }
);

/** What a successful `verifyLogInclusion` proved: leaf `leafHash` is at `index` under `root`. */
export interface LogInclusionVerified {
  readonly index: number;
  readonly size: number;
  readonly leafHash: Hash;
  readonly root: Hash;
}

/**
 * Verifies that a leaf is in the tree of `size` leaves with root `root` (RFC 9162 §2.1.3.2).
 * Give the leaf as `leafHash` or as `leafData` (hashed as SHA-256(0x00 ‖ data)).
 *
 * Style: returns what it proved, or throws a `HistoryLogError`, never a boolean to forget:
 * `argumentInvalid` for a malformed argument (named in the message), `proofLengthMismatch` when
 * the path has more or fewer hashes than the algorithm consumes for (`index`, `size`), and
 * `rootMismatch` when the computed root differs from `root`. The length check runs before any
 * hashing and only sharpens the message: the RFC's loop below refuses every other length too.
 */
export function verifyLogInclusion(claim: LogInclusionClaim): LogInclusionVerified {
  const size = checkCount('size', claim.size);
  // RFC 9162 §2.1.3.2 step 1: leaf_index ≥ tree_size fails.
  const index = checkIndex('index', claim.index, 'size', size);
  const root = checkHash('root', claim.root);
  const path = checkHashList('proof', claim.proof);
  const leafHash = leafHashOf(claim);
  // A shorter path ends the loop below with sn ≠ 0 and a longer one meets sn = 0 with hashes
  // left, so the RFC accepts exactly `pathSteps` hashes.
  const expected = pathSteps(index, size - 1);
  if (path.length !== expected) {
    throw new HistoryLogError(
      LogErrorCode.proofLengthMismatch,
      `inclusion proof has ${path.length} hashes, expected ${expected} (index ${index}, size ${size})`,
      { index, size, expected, found: path.length },
    );
  }

  // Step 2: fn is leaf_index, sn is tree_size - 1. Step 3: r is the leaf hash.
  let fn = index;
  let sn = size - 1;
  // One running buffer: each fold hashes into it in place (no allocation per level).
  const r = leafHash.slice();
  // Step 4: fold in each path element.
  for (const p of path) {
    // Step 4a: a path longer than the tree is tall fails (the length check caught it already).
    assert(sn !== 0, 'the inclusion path is no longer than the length check allowed');
    if (isOdd(fn) || fn === sn) {
      // Step 4b: p is a left sibling, or the right edge has no sibling on these levels.
      hashNodeInto(p, r, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      hashNodeInto(r, p, r);
    }
    // Step 4c.
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5: sn must be 0 and r must equal the root.
  assert(sn === 0, 'the inclusion path is no shorter than the length check allowed');
  if (!equalBytes(r, root)) {
    throw new HistoryLogError(
      LogErrorCode.rootMismatch,
      `inclusion proof: computed root ${shortHex(r)} differs from expected ${shortHex(root)} ` +
        `(index ${index}, size ${size})`,
      { index, size, computedRoot: toHex(r), expectedRoot: toHex(root) },
    );
  }
  return { index, size, leafHash: leafHash.slice(), root: root.slice() };
}

function leafHashOf(claim: LogInclusionClaim): Uint8Array {
  const hasHash = claim.leafHash !== undefined;
  const hasData = claim.leafData !== undefined;
  if (hasHash === hasData) {
    throw new HistoryLogError(
      LogErrorCode.argumentInvalid,
      `leafHash, leafData: expected exactly one of them, got ${hasHash ? 'both' : 'neither'}`,
      { argument: 'leafHash, leafData' },
    );
  }
  if (hasHash) return checkHash('leafHash', claim.leafHash);
  return hashLeaf(checkBytes('leafData', claim.leafData, logLeafBytesMax));
}
