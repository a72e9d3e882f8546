/**
 * Versions of the state tree: a `StateRoot` names one version's root node in its store. Handles
 * are plain immutable data; the nodes they name never change (see `state-tree.ts`).
 */
import type { Hash } from '../crypto/index.ts';

import { StateTreeError, StateTreeErrorCode, describeState } from './state-errors.ts';
import { emptyStateHash } from './state-hash.ts';
import { MemoryStateNodeStore, stateEmptyRef } from './state-node-store.ts';
import type { StateNodeRef, StateNodeStore } from './state-node-store.ts';

/**
 * One version of the state: its root node in `store` and the number of keys it holds. Handles
 * are immutable; an update returns a new one and leaves this one valid.
 */
export interface StateRoot {
  readonly store: StateNodeStore;
  readonly ref: StateNodeRef;
  readonly keyCount: number;
}

/** The empty state (root hash: 32 zero bytes), with its nodes to come in `store`. */
export function emptyStateRoot(store: StateNodeStore = new MemoryStateNodeStore()): StateRoot {
  return { store, ref: stateEmptyRef, keyCount: 0 };
}

/** The root hash of `root`: what a block header commits to (32 zero bytes when empty). */
export function stateTreeRootHash(root: StateRoot): Hash {
  checkStateRoot(root);
  return root.ref === stateEmptyRef ? emptyStateHash() : root.store.readHash(root.ref);
}

/** Throws `argumentInvalid` unless `root` looks like a `StateRoot` handle. */
export function checkStateRoot(root: StateRoot): void {
  const candidate: unknown = root;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    !Number.isSafeInteger(root.ref) ||
    !Number.isSafeInteger(root.keyCount) ||
    root.keyCount < 0 ||
    typeof root.store !== 'object' ||
    root.store === null
  ) {
    throw new StateTreeError(
      StateTreeErrorCode.argumentInvalid,
      `root: expected a StateRoot { store, ref, keyCount }, found ${describeState(candidate)}`,
      { argument: 'root', found: describeState(candidate) },
    );
  }
}
