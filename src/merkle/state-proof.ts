/**
 * State proofs: their canonical plain-data shape and the verifier, which needs nothing but the
 * proof, the expected root hash, the key and the claimed value (the format is specified in the
 * header of `state-tree.ts`). A light client or an auditor runs `verifyStateProof` offline.
 */
import { equalBytes, shortHex, toHex } from '../base/index.ts';
import { hashBytes, sha256 } from '../crypto/index.ts';
import type { Hash } from '../crypto/index.ts';

import {
  StateTreeError,
  StateTreeErrorCode,
  checkStateBytesAtMost,
  checkStateBytesExact,
  describeState,
} from './state-errors.ts';
import {
  emptyStateHash,
  isAllZero,
  stateKeyBit,
  stateLeafHash,
  stateNodeHash,
} from './state-hash.ts';
import { stateDepthMax, stateKeyBytes, stateValueBytesMax } from './state-limits.ts';

/**
 * The leaf a non-inclusion proof ends at: another key that is alone in the subtree where the
 * queried key's path ends (its first `depth` bits equal the queried key's).
 */
export interface StateProofLeaf {
  /** The other leaf's 32-byte key; never the queried key. */
  readonly key: Uint8Array;
  /** SHA-256 of the other leaf's value. */
  readonly valueHash: Hash;
}

/**
 * A state proof in canonical plain-data form (byte strings, an integer, null), as the codec
 * encodes it. Exactly one proof exists for each (root, key):
 *
 * - `depth` (0 to 256): where the queried key's path ends: at its own leaf (inclusion), at an
 *   empty subtree, or at the leaf `otherLeaf` (both non-inclusion).
 * - `bitmap` (`ceil(depth / 8)` bytes): bit d (most significant bit of byte 0 first, like key
 *   bits) is set when the sibling at depth d is not empty. Bits at depth ≥ `depth` are zero.
 * - `siblings`: the non-empty siblings, root side first, one 32-byte hash per set bit. The sibling
 *   at depth d is the child at depth d + 1 that is not on the key's path; empty siblings (32 zero
 *   bytes) are never sent.
 * - `otherLeaf`: null for inclusion and for a path that ends at an empty subtree.
 */
export interface StateProof {
  readonly depth: number;
  readonly bitmap: Uint8Array;
  readonly siblings: readonly Hash[];
  readonly otherLeaf: StateProofLeaf | null;
}

/** What `verifyStateProof` checks: `value` is the claimed value, or null for "no such key". */
export interface StateProofClaim {
  readonly rootHash: Hash;
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
  readonly proof: StateProof;
}

/**
 * Verifies that `proof` shows `key` holding `value` (or, with `value` null, holding nothing)
 * under `rootHash`; throws `StateTreeError` naming what failed: `proofMalformed` for a proof that
 * is not canonical, `rootMismatch` for one that reconstructs another root, `argumentInvalid` for
 * a bad root, key or value. The proof of a compressed sparse Merkle tree as in "Jellyfish Merkle
 * Tree" (Gao, Hu, Wu; Diem, 2021), with a bitmap standing for the empty siblings.
 */
export function verifyStateProof(claim: StateProofClaim): void {
  const rootHash = checkStateBytesExact('rootHash', claim.rootHash, hashBytes);
  const key = checkStateBytesExact('key', claim.key, stateKeyBytes);
  const value =
    claim.value === null ? null : checkStateBytesAtMost('value', claim.value, stateValueBytesMax);
  const proof = assertStateProofShape(claim.proof);

  let current: Hash;
  if (value !== null) {
    if (proof.otherLeaf !== null) {
      throw malformed(
        "an inclusion proof (value given) must end at the key's own leaf, found another leaf " +
          shortHex(proof.otherLeaf.key),
        { otherLeafKey: toHex(proof.otherLeaf.key) },
      );
    }
    current = stateLeafHash(key, sha256(value));
  } else if (proof.otherLeaf === null) {
    current = emptyStateHash();
  } else {
    const other = proof.otherLeaf;
    if (equalBytes(other.key, key)) {
      throw malformed(
        `a non-inclusion proof ends at a leaf of the queried key ${shortHex(key)} itself`,
        { key: toHex(key) },
      );
    }
    const sharedBits = sharedPrefixBits(other.key, key);
    if (sharedBits < proof.depth) {
      throw malformed(
        `the other leaf ${shortHex(other.key)} must share the first ${proof.depth} bits of the ` +
          `queried key ${shortHex(key)}, found ${sharedBits}`,
        { depth: proof.depth, sharedBits },
      );
    }
    current = stateLeafHash(other.key, other.valueHash);
  }

  // Walk from the end of the path up to the root, consuming siblings from the last one; an empty
  // sibling is the constant empty hash.
  let next = proof.siblings.length - 1;
  for (let depth = proof.depth - 1; depth >= 0; depth--) {
    let sibling: Hash;
    if (stateKeyBit(proof.bitmap, depth) === 1) {
      sibling = proof.siblings[next]!;
      next -= 1;
    } else {
      sibling = emptyStateHash();
    }
    current =
      stateKeyBit(key, depth) === 0
        ? stateNodeHash(current, sibling)
        : stateNodeHash(sibling, current);
  }
  if (!equalBytes(current, rootHash)) {
    throw new StateTreeError(
      StateTreeErrorCode.rootMismatch,
      `state proof: computed root ${shortHex(current)} differs from expected ${shortHex(rootHash)}`,
      { computed: toHex(current), expected: toHex(rootHash), key: toHex(key) },
    );
  }
}

/** True when `verifyStateProof(claim)` accepts; other errors than `StateTreeError` propagate. */
export function isStateProofValid(claim: StateProofClaim): boolean {
  try {
    verifyStateProof(claim);
    return true;
  } catch (error) {
    if (error instanceof StateTreeError) return false;
    throw error;
  }
}

/**
 * Throws `proofMalformed` unless `proof` has the canonical shape of `StateProof`: depth an integer
 * in [0, 256], bitmap of `ceil(depth / 8)` bytes with no bit set at or beyond `depth`, one
 * non-empty 32-byte sibling per set bit, and `otherLeaf` null or two 32-byte arrays.
 */
export function assertStateProofShape(proof: unknown): StateProof {
  if (typeof proof !== 'object' || proof === null) {
    throw malformed(`expected a proof object, found ${describeState(proof)}`, {});
  }
  const { depth, bitmap, siblings, otherLeaf } = proof as Record<string, unknown>;
  if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 0 || depth > stateDepthMax) {
    throw malformed(
      `proof depth must be an integer in [0, ${stateDepthMax}], found ${describeState(depth)}`,
      {
        found: describeState(depth),
      },
    );
  }
  const bitmapBytes = Math.ceil(depth / 8);
  if (!(bitmap instanceof Uint8Array) || bitmap.length !== bitmapBytes) {
    throw malformed(
      `proof bitmap must be ${bitmapBytes} bytes for depth ${depth}, found ${describeState(bitmap)}`,
      { depth, found: describeState(bitmap) },
    );
  }
  let bitsSet = 0;
  for (let bit = 0; bit < bitmapBytes * 8; bit++) {
    if (stateKeyBit(bitmap, bit) === 0) continue;
    if (bit >= depth) {
      throw malformed(`proof bitmap has bit ${bit} set, at or beyond the proof depth ${depth}`, {
        bit,
        depth,
      });
    }
    bitsSet += 1;
  }
  if (!Array.isArray(siblings)) {
    throw malformed(`proof siblings must be an array, found ${describeState(siblings)}`, {});
  }
  const siblingList: readonly unknown[] = [...(siblings as readonly unknown[])];
  if (siblingList.length !== bitsSet) {
    throw malformed(`proof bitmap has ${bitsSet} bits set but ${siblingList.length} siblings`, {
      bitsSet,
      siblings: siblingList.length,
    });
  }
  for (let i = 0; i < siblingList.length; i++) {
    const sibling = siblingList[i];
    if (!(sibling instanceof Uint8Array) || sibling.length !== hashBytes) {
      throw malformed(
        `proof sibling ${i} must be a ${hashBytes}-byte hash, found ${describeState(sibling)}`,
        { index: i, found: describeState(sibling) },
      );
    }
    if (isAllZero(sibling)) {
      throw malformed(`proof sibling ${i} is the empty hash, which the bitmap must encode`, {
        index: i,
      });
    }
  }
  let leafCopy: StateProofLeaf | null = null;
  if (otherLeaf !== null) {
    if (typeof otherLeaf !== 'object') {
      throw malformed(
        `proof otherLeaf must be null or a leaf, found ${describeState(otherLeaf)}`,
        {},
      );
    }
    const { key, valueHash } = otherLeaf as Record<string, unknown>;
    for (const [field, bytes] of [
      ['key', key],
      ['valueHash', valueHash],
    ] as const) {
      if (!(bytes instanceof Uint8Array) || bytes.length !== hashBytes) {
        throw malformed(
          `proof otherLeaf.${field} must be ${hashBytes} bytes, found ${describeState(bytes)}`,
          { field, found: describeState(bytes) },
        );
      }
    }
    leafCopy = { key: key as Uint8Array, valueHash: valueHash as Hash };
  }
  // A fresh plain object of the fields just checked, so the verifier reads exactly what was
  // checked even if `proof` is an object whose getters answer differently on a second read.
  return { depth, bitmap, siblings: siblingList as readonly Hash[], otherLeaf: leafCopy };
}

/** Number of leading bits `a` and `b` (both 32 bytes) share. */
function sharedPrefixBits(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < stateKeyBytes; i++) {
    const difference = a[i]! ^ b[i]!;
    if (difference !== 0) return i * 8 + Math.clz32(difference) - 24;
  }
  return stateDepthMax;
}

function malformed(what: string, details: Readonly<Record<string, unknown>>): StateTreeError {
  return new StateTreeError(StateTreeErrorCode.proofMalformed, `state proof: ${what}`, details);
}
