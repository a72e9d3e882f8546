/**
 * The state tree: a sparse Merkle tree over 256-bit keys that commits to the chain's key-value
 * state (consents, record anchors, memberships) by one root hash in every block header, with
 * proofs of inclusion and of non-inclusion at any committed version (DESIGN.md "The chain").
 *
 * Specification (what a verifier in any language must reproduce):
 *
 * 1. Keys are 32 bytes. Bit d of a key (d = 0 … 255) is bit `7 - d mod 8` of byte `⌊d / 8⌋`,
 *    most significant bit of byte 0 first; at depth d a key with bit 0 goes left, with bit 1
 *    goes right. Values are byte strings (at most `stateValueBytesMax`); a leaf commits to
 *    (key, SHA-256(value)).
 * 2. The tree is a compressed ("shortcut") sparse Merkle tree, as in Diem's Jellyfish Merkle
 *    tree ("Jellyfish Merkle Tree", Gao, Hu, Wu; Diem, 2021) with binary nodes. The subtree at a
 *    position (a path prefix of d bits) holding the set S of keys with that prefix is:
 *    - S empty: the empty subtree, hash = 32 zero bytes (a constant, never hashed);
 *    - S = {k}: the leaf of k, at the highest position where k is alone,
 *      hash = SHA-256(0x10 ‖ k ‖ SHA-256(value)) (HashPrefix.stateLeaf);
 *    - |S| ≥ 2: an internal node, hash = SHA-256(0x11 ‖ left ‖ right) (HashPrefix.stateNode),
 *      where left and right are the subtrees at depth d + 1 and either may be empty (keys that
 *      share a long prefix sit below a chain of internal nodes with one empty child each).
 *    The root hash is the hash of the subtree at depth 0. Since this is a function of the set of
 *    (key, value) pairs, the root never depends on insertion order or on how updates are
 *    batched. Leaves sit at depth 256 at most (two keys that differ only in their last bit).
 * 3. A proof for key q (`StateProof`, in `state-proof.ts`) lists the siblings along q's path from
 *    the root down to depth `depth`, where the path ends at q's leaf (inclusion), at an empty
 *    subtree, or at the leaf of another key alone in that subtree (non-inclusion; the proof then
 *    carries that leaf's key and value hash). Empty siblings are not sent: a bitmap of
 *    `ceil(depth / 8)` bytes says which siblings are present. The verifier hashes from the end of
 *    the path up to the root and compares; it refuses any proof that is not in this canonical
 *    form (each (root, key) has exactly one proof).
 *
 * Versions: nodes are immutable and live in a `StateNodeStore`. `stateTreeUpdate` returns a new
 * `StateRoot` that shares every untouched node with the old one, and the old root stays valid,
 * so a caller keeps the root of every committed version and proves against any of them.
 * A batch update sorts its entries and descends the tree once over the sorted batch, writing one
 * new node per touched position, so the keys of a batch share the hashing of their common path.
 * The descent is recursive, at most 256 + 1 calls deep (one per depth, `stateDepthMax`);
 * `stateTreeGet` and `stateTreeProve` are loops.
 *
 * Memory: `MemoryStateNodeStore` packs nodes in typed arrays (40 bytes per internal node, 108 per
 * leaf plus the value) and never frees them; `stateTreeCopy` copies the versions still wanted
 * into a fresh store (compaction) or into a durable one.
 */
import { assert, compareBytes, equalBytes, shortHex, toHex } from '../base/index.ts';
import { HashPrefix, hashBytes, sha256, sha256Into } from '../crypto/index.ts';
import type { Hash } from '../crypto/index.ts';

import {
  StateTreeError,
  StateTreeErrorCode,
  checkStateBytesAtMost,
  checkStateBytesExact,
  describeState,
} from './state-errors.ts';
import { stateKeyBit, stateLeafHash } from './state-hash.ts';
import {
  stateBatchEntriesMax,
  stateDepthMax,
  stateKeyBytes,
  stateValueBytesMax,
} from './state-limits.ts';
import { MemoryStateNodeStore, stateEmptyRef } from './state-node-store.ts';
import type { StateNodeRef, StateNodeStore } from './state-node-store.ts';
import type { StateProof, StateProofLeaf } from './state-proof.ts';
import { checkStateRoot } from './state-root.ts';
import type { StateRoot } from './state-root.ts';

export { StateTreeError, StateTreeErrorCode } from './state-errors.ts';
export { emptyStateHash, stateLeafHash, stateNodeHash } from './state-hash.ts';
export {
  stateBatchEntriesMax,
  stateDepthMax,
  stateKeyBytes,
  stateValueBytesMax,
} from './state-limits.ts';
export {
  MemoryStateNodeStore,
  memoryStateRegions,
  memoryStateTopRegion,
  stateEmptyRef,
} from './state-node-store.ts';
export type {
  MemoryStateNodeStoreStats,
  StateLeafWrite,
  StateNodeRef,
  StateNodeStore,
} from './state-node-store.ts';
export { assertStateProofShape, isStateProofValid, verifyStateProof } from './state-proof.ts';
export type { StateProof, StateProofClaim, StateProofLeaf } from './state-proof.ts';
export { emptyStateRoot, stateTreeRootHash } from './state-root.ts';
export type { StateRoot } from './state-root.ts';
export { stateTreeCopy } from './state-copy.ts';
export type { StateTreeCopyOptions } from './state-copy.ts';

/** One write of a batch: `value` null deletes `key` (deleting an absent key changes nothing). */
export interface StateEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

/** A key's value (null if absent) and the proof of it, both from the same version. */
export interface StateProofResult {
  readonly value: Uint8Array | null;
  readonly proof: StateProof;
}

/** A (key, value) pair of the state, as `stateTreeEntries` lists them. */
export interface StateKeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/**
 * Applies a batch of writes to `root` and returns the new version; `root` stays valid. Entries
 * may come in any order; two entries with the same key are refused (`duplicateKey`) because
 * their order would decide the result. The result depends only on the resulting set of pairs.
 */
export function stateTreeUpdate(root: StateRoot, entries: readonly StateEntry[]): StateRoot {
  checkStateRoot(root);
  const pending = sortedEntries(entries);
  const update = new StateBatchUpdate(root.store, pending);
  const ref = update.update(root.ref, 0, 0, pending.length);
  const keyCount = root.keyCount + update.created - update.dropped;
  // Only a bug can miscount: every dropped leaf was a key the old version held.
  assert(keyCount >= 0, 'the key count stays non-negative');
  assert((ref === stateEmptyRef) === (keyCount === 0), 'exactly the empty tree counts no key');
  return { store: root.store, ref, keyCount };
}

/** The value of `key` in `root`, or null if the key is absent. */
export function stateTreeGet(root: StateRoot, key: Uint8Array): Uint8Array | null {
  checkStateRoot(root);
  checkStateBytesExact('key', key, stateKeyBytes);
  const { store } = root;
  if (store instanceof MemoryStateNodeStore) {
    const end = store.descend(root.ref, key, 0);
    if (end === stateEmptyRef || !store.isLeafKey(end, key)) return null;
    return store.readLeafValue(end);
  }
  let ref = root.ref;
  for (let depth = 0; ref > 0; depth++) {
    assert(depth < stateDepthMax, 'internal nodes sit above depth 256');
    ref = stateKeyBit(key, depth) === 0 ? store.leftChild(ref) : store.rightChild(ref);
  }
  if (ref === stateEmptyRef) return null;
  return equalBytes(store.readLeafKey(ref), key) ? store.readLeafValue(ref) : null;
}

/**
 * The value of `key` in `root` (null if absent) and the proof of it: inclusion when present,
 * non-inclusion otherwise. Check it with `verifyStateProof({ rootHash, key, value, proof })`.
 */
export function stateTreeProve(root: StateRoot, key: Uint8Array): StateProofResult {
  checkStateRoot(root);
  checkStateBytesExact('key', key, stateKeyBytes);
  const { store } = root;
  const bitmap = new Uint8Array(stateKeyBytes);
  const siblings: Hash[] = [];
  let ref = root.ref;
  let depth = 0;
  while (ref > 0) {
    assert(depth < stateDepthMax, 'internal nodes sit above depth 256');
    const goRight = stateKeyBit(key, depth) === 1;
    const sibling = goRight ? store.leftChild(ref) : store.rightChild(ref);
    ref = goRight ? store.rightChild(ref) : store.leftChild(ref);
    if (sibling !== stateEmptyRef) {
      bitmap[depth >>> 3]! |= 0x80 >>> (depth & 7);
      siblings.push(store.readHash(sibling));
    }
    depth += 1;
  }
  let value: Uint8Array | null = null;
  let otherLeaf: StateProofLeaf | null = null;
  if (ref !== stateEmptyRef) {
    const leafKey = store.readLeafKey(ref);
    if (equalBytes(leafKey, key)) value = store.readLeafValue(ref);
    else otherLeaf = { key: leafKey, valueHash: store.readLeafValueHash(ref) };
  }
  const proof = { depth, bitmap: bitmap.slice(0, Math.ceil(depth / 8)), siblings, otherLeaf };
  return { value, proof };
}

/**
 * Every (key, value) pair of `root` in ascending key order, walked with an explicit stack (no
 * recursion); for snapshots, state sync and tests.
 */
export function* stateTreeEntries(root: StateRoot): Generator<StateKeyValue, void, undefined> {
  checkStateRoot(root);
  const { store } = root;
  const stack: StateNodeRef[] = root.ref === stateEmptyRef ? [] : [root.ref];
  for (let ref = stack.pop(); ref !== undefined; ref = stack.pop()) {
    if (ref < 0) {
      yield { key: store.readLeafKey(ref), value: store.readLeafValue(ref) };
      continue;
    }
    // Right first, so that the left child comes off the stack first: ascending key order.
    const right = store.rightChild(ref);
    const left = store.leftChild(ref);
    if (right !== stateEmptyRef) stack.push(right);
    if (left !== stateEmptyRef) stack.push(left);
  }
}

/**
 * A batch entry after checking. `valueHash` is SHA-256(value), computed when first needed (most
 * entries need it only to write their leaf, so it dies young instead of living through the batch).
 */
interface PendingEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
  valueHash: Hash | null;
  /** The key's first 48 bits as an exact integer, to sort by. */
  readonly prefix: number;
  /** Position in the caller's array, for error messages. */
  readonly index: number;
}

/** Checks every entry, sorts by key, refuses duplicates, and hashes the values. */
function sortedEntries(entries: readonly StateEntry[]): PendingEntry[] {
  if (!Array.isArray(entries)) {
    throw new StateTreeError(
      StateTreeErrorCode.argumentInvalid,
      `entries: expected an array, found ${describeState(entries)}`,
      { argument: 'entries', found: describeState(entries) },
    );
  }
  if (entries.length > stateBatchEntriesMax) {
    throw new StateTreeError(
      StateTreeErrorCode.argumentInvalid,
      `entries: expected at most ${stateBatchEntriesMax} entries, found ${entries.length}`,
      { argument: 'entries', expectedAtMost: stateBatchEntriesMax, found: entries.length },
    );
  }
  const pending: PendingEntry[] = [];
  for (let index = 0; index < entries.length; index++) {
    const entry: unknown = entries[index];
    if (typeof entry !== 'object' || entry === null) {
      throw new StateTreeError(
        StateTreeErrorCode.argumentInvalid,
        `entries[${index}]: expected { key, value }, found ${describeState(entry)}`,
        { argument: `entries[${index}]`, found: describeState(entry) },
      );
    }
    const { key, value } = entry as Record<string, unknown>;
    const checkedKey = checkStateBytesExact(`entries[${index}].key`, key, stateKeyBytes);
    pending.push({
      key: checkedKey,
      value:
        value === null
          ? null
          : checkStateBytesAtMost(`entries[${index}].value`, value, stateValueBytesMax),
      valueHash: null,
      prefix: keyPrefix48(checkedKey),
      index,
    });
  }
  // Comparing the first 48 bits as a number settles almost every comparison of distinct random
  // keys without the byte loop of compareBytes.
  pending.sort((a, b) => a.prefix - b.prefix || compareBytes(a.key, b.key));
  for (let i = 1; i < pending.length; i++) {
    const previous = pending[i - 1]!;
    const current = pending[i]!;
    if (equalBytes(previous.key, current.key)) {
      const [first, second] = [previous.index, current.index].sort((a, b) => a - b);
      throw new StateTreeError(
        StateTreeErrorCode.duplicateKey,
        `entries: expected distinct keys, found entries[${first}] and entries[${second}] ` +
          `both with key ${shortHex(current.key)}`,
        { first, second, key: toHex(current.key) },
      );
    }
  }
  return pending;
}

/**
 * One batch update: a recursive descent over the sorted entries, where all entries in
 * `[lo, hi)` share the position's path prefix of `depth` bits.
 */
class StateBatchUpdate {
  /** Leaves written (new keys and new values of existing keys). */
  created = 0;
  /** Leaves of the old version left out of the new one (deleted or given a new value). */
  dropped = 0;
  readonly #store: StateNodeStore;
  readonly #entries: readonly PendingEntry[];
  /**
   * `0x11 ‖ left ‖ right`: reused for every internal-node hash (no recursion while in use), and
   * the digest it hashes to, which the store copies. Both live off the V8 heap so libsodium
   * writes and reads them in place (see crypto's `sha256`; bench `contracts: state root`).
   */
  readonly #nodeInput = new Uint8Array(new ArrayBuffer(1 + 2 * hashBytes));
  readonly #nodeHash = new Uint8Array(new ArrayBuffer(hashBytes));

  constructor(store: StateNodeStore, entries: readonly PendingEntry[]) {
    this.#store = store;
    this.#entries = entries;
    this.#nodeInput[0] = HashPrefix.stateNode;
  }

  /** The subtree `ref` at `depth` after applying entries `[lo, hi)`. */
  update(ref: StateNodeRef, depth: number, lo: number, hi: number): StateNodeRef {
    if (lo === hi) return ref;
    if (ref === stateEmptyRef) return this.#build(depth, lo, hi, stateEmptyRef, null, -1);
    const store = this.#store;
    if (ref > 0) {
      // An internal node holds two keys or more, so it sits above the deepest level.
      assert(depth < stateDepthMax, 'internal nodes sit above depth 256');
      const left = store.leftChild(ref);
      const right = store.rightChild(ref);
      const middle = this.#split(depth, lo, hi);
      const newLeft = this.update(left, depth + 1, lo, middle);
      const newRight = this.update(right, depth + 1, middle, hi);
      // Deletes of absent keys and rewrites of equal values leave the node as it is, shared.
      if (newLeft === left && newRight === right) return ref;
      return this.#join(newLeft, newRight);
    }
    const leafKey = store.readLeafKey(ref);
    const found = this.#find(leafKey, lo, hi);
    if (found < 0) return this.#build(depth, lo, hi, ref, leafKey, -1);
    const entry = this.#entries[found]!;
    // The same value (compared byte for byte: cheaper than hashing the stored one).
    if (entry.value !== null && equalBytes(entry.value, store.readLeafValue(ref))) {
      return this.#build(depth, lo, hi, ref, leafKey, found);
    }
    // The batch deletes this leaf's key or gives it a new value: the entry replaces the leaf.
    this.dropped += 1;
    return this.#build(depth, lo, hi, stateEmptyRef, null, -1);
  }

  /**
   * The subtree at `depth` holding the non-delete entries of `[lo, hi)` (except `skip`) and, if
   * `keep` is not empty, the existing leaf `keep` whose key is `keepKey`.
   */
  #build(
    depth: number,
    lo: number,
    hi: number,
    keep: StateNodeRef,
    keepKey: Uint8Array | null,
    skip: number,
  ): StateNodeRef {
    // Only "none, one or several" matters here, so the scan stops at the second key.
    let count = keep === stateEmptyRef ? 0 : 1;
    let first = -1;
    for (let i = lo; i < hi && count < 2; i++) {
      if (i === skip || this.#entries[i]!.value === null) continue;
      if (first < 0) first = i;
      count += 1;
    }
    if (count === 0) return stateEmptyRef;
    if (count === 1) return keep !== stateEmptyRef ? keep : this.#leaf(this.#entries[first]!);
    // Two distinct keys differ in some bit below 256, so they split before the deepest level.
    assert(depth < stateDepthMax, 'two distinct keys split above depth 256');
    const middle = this.#split(depth, lo, hi);
    const keepGoesRight = keepKey !== null && stateKeyBit(keepKey, depth) === 1;
    const keepLeft = keepGoesRight ? stateEmptyRef : keep;
    const keepRight = keepGoesRight ? keep : stateEmptyRef;
    const left = this.#build(depth + 1, lo, middle, keepLeft, keepKey, skip);
    const right = this.#build(depth + 1, middle, hi, keepRight, keepKey, skip);
    return this.#internal(left, right);
  }

  /** The canonical subtree over two child subtrees: a lone leaf moves up, empty stays empty. */
  #join(left: StateNodeRef, right: StateNodeRef): StateNodeRef {
    if (left === stateEmptyRef && right <= 0) return right;
    if (right === stateEmptyRef && left < 0) return left;
    return this.#internal(left, right);
  }

  #internal(left: StateNodeRef, right: StateNodeRef): StateNodeRef {
    const input = this.#nodeInput;
    if (left === stateEmptyRef) input.fill(0, 1, 1 + hashBytes);
    else this.#store.copyHash(left, input, 1);
    if (right === stateEmptyRef) input.fill(0, 1 + hashBytes);
    else this.#store.copyHash(right, input, 1 + hashBytes);
    sha256Into(this.#nodeHash, input);
    return this.#store.writeInternal(left, right, this.#nodeHash);
  }

  #leaf(entry: PendingEntry): StateNodeRef {
    const { key, value } = entry;
    // Deletes never reach here: #build counts only entries with a value.
    assert(value !== null, 'a new leaf has a value');
    const valueHash = valueHashOf(entry);
    this.created += 1;
    return this.#store.writeLeaf({ key, value, valueHash, hash: stateLeafHash(key, valueHash) });
  }

  /** First index in `[lo, hi)` whose key has bit `depth` set (the entries are sorted). */
  #split(depth: number, lo: number, hi: number): number {
    let low = lo;
    let high = hi;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (stateKeyBit(this.#entries[middle]!.key, depth) === 1) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  /** Index in `[lo, hi)` of the entry with key `key`, or -1. */
  #find(key: Uint8Array, lo: number, hi: number): number {
    let low = lo;
    let high = hi;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const order = compareBytes(this.#entries[middle]!.key, key);
      if (order === 0) return middle;
      if (order < 0) low = middle + 1;
      else high = middle;
    }
    return -1;
  }
}

/** SHA-256 of the entry's value, computed once. */
function valueHashOf(entry: PendingEntry): Hash {
  assert(entry.value !== null, 'only a write has a value hash');
  entry.valueHash ??= sha256(entry.value);
  return entry.valueHash;
}

/** The first 48 bits of `key` as an integer (exact: below 2^53). */
function keyPrefix48(key: Uint8Array): number {
  return (
    key[0]! * 2 ** 40 +
    key[1]! * 2 ** 32 +
    ((key[2]! << 24) >>> 0) +
    (key[3]! << 16) +
    (key[4]! << 8) +
    key[5]!
  );
}
