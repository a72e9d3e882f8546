/**
 * Copying versions of the state tree into another store: to move the state into a durable store,
 * or to compact an append-only store down to the versions still wanted (the in-memory store never
 * frees nodes, so a long-running node copies the versions it keeps into a fresh store and drops
 * the old one).
 */
import { assert, equalBytes } from '../base/index.ts';
import { hashBytes, sha256 } from '../crypto/index.ts';
import type { Hash } from '../crypto/index.ts';

import { StateTreeError, StateTreeErrorCode, describeState } from './state-errors.ts';
import { emptyStateHash, stateLeafHash, stateNodeHash } from './state-hash.ts';
import { stateDepthMax } from './state-limits.ts';
import { stateEmptyRef } from './state-node-store.ts';
import type { StateNodeRef, StateNodeStore } from './state-node-store.ts';
import { checkStateRoot } from './state-root.ts';
import type { StateRoot } from './state-root.ts';

/** What `stateTreeCopy` copies, and where to. */
export interface StateTreeCopyOptions {
  /** The versions to copy, oldest first (consecutive versions share their unchanged nodes). */
  readonly roots: readonly StateRoot[];
  /** The store that receives the nodes. */
  readonly to: StateNodeStore;
}

/**
 * Copies each version of `roots` into `to` and returns the new handles, in the same order, with
 * the same root hashes. A subtree that a version shares with the version before it (same node in
 * the same source store) is copied once and shared again in `to`. Every copied node is hashed
 * anew and checked against the hash the source holds, so a corrupted source stops the copy (an
 * assertion) instead of spreading. Recursive, at most 256 + 1 calls deep.
 */
export function stateTreeCopy(options: StateTreeCopyOptions): StateRoot[] {
  const { roots, to } = options;
  const candidate: unknown = roots;
  if (!Array.isArray(candidate)) {
    throw new StateTreeError(
      StateTreeErrorCode.argumentInvalid,
      `roots: expected an array of StateRoot, found ${describeState(roots)}`,
      { argument: 'roots', found: describeState(roots) },
    );
  }
  const copies: StateRoot[] = [];
  let previous: StateRoot | null = null;
  let previousCopy: StateNodeRef = stateEmptyRef;
  for (const root of roots) {
    checkStateRoot(root);
    const copier = new StateCopier(root.store, to);
    const twin = previous !== null && previous.store === root.store ? previous.ref : null;
    const ref = copier.copy(root.ref, 0, twin, previousCopy);
    copies.push({ store: to, ref, keyCount: root.keyCount });
    previous = root;
    previousCopy = ref;
  }
  return copies;
}

/** One version's copy from `from` to `to`. */
class StateCopier {
  readonly #from: StateNodeStore;
  readonly #to: StateNodeStore;

  constructor(from: StateNodeStore, to: StateNodeStore) {
    this.#from = from;
    this.#to = to;
  }

  /**
   * Copies subtree `ref` (at `depth`); `twin` is the node at the same position in the previous
   * version of the same store (null if there is none) and `twinCopy` its copy in `to`.
   */
  copy(
    ref: StateNodeRef,
    depth: number,
    twin: StateNodeRef | null,
    twinCopy: StateNodeRef,
  ): StateNodeRef {
    if (ref === stateEmptyRef) return stateEmptyRef;
    if (ref === twin) return twinCopy;
    const from = this.#from;
    if (ref < 0) {
      const key = from.readLeafKey(ref);
      const value = from.readLeafValue(ref);
      const valueHash = sha256(value);
      const hash = stateLeafHash(key, valueHash);
      assert(equalBytes(hash, from.readHash(ref)), 'a stored leaf matches its hash');
      return this.#to.writeLeaf({ key, value, valueHash, hash });
    }
    assert(depth < stateDepthMax, 'internal nodes sit above depth 256');
    // The twin's children are the previous version's nodes at the child positions, if the twin
    // is an internal node; otherwise nothing below is shared with the previous version.
    const twinIsInternal = twin !== null && twin > 0;
    const left = this.copy(
      from.leftChild(ref),
      depth + 1,
      twinIsInternal ? from.leftChild(twin) : null,
      twinIsInternal ? this.#to.leftChild(twinCopy) : stateEmptyRef,
    );
    const right = this.copy(
      from.rightChild(ref),
      depth + 1,
      twinIsInternal ? from.rightChild(twin) : null,
      twinIsInternal ? this.#to.rightChild(twinCopy) : stateEmptyRef,
    );
    const hash = stateNodeHash(this.#hashOf(left), this.#hashOf(right));
    assert(equalBytes(hash, from.readHash(ref)), 'a stored internal node matches its hash');
    return this.#to.writeInternal(left, right, hash);
  }

  #hashOf(ref: StateNodeRef): Hash {
    if (ref === stateEmptyRef) return emptyStateHash();
    const hash = new Uint8Array(hashBytes);
    this.#to.copyHash(ref, hash, 0);
    return hash;
  }
}
