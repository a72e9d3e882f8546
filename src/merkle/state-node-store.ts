/**
 * Where the state tree keeps its nodes: a small synchronous interface (so that the node's durable
 * store, SQLite, can implement it later) and a compact in-memory implementation.
 *
 * Nodes are immutable once written: the tree only ever adds nodes, and a new version shares every
 * untouched node with the version it was made from (see `state-tree.ts`).
 */
import { assert } from '../base/index.ts';
import { hashBytes } from '../crypto/index.ts';
import type { Hash } from '../crypto/index.ts';

import { stateKeyBytes, stateValueBytesMax } from './state-limits.ts';

/**
 * A reference to a stored node: `0` is the empty subtree (never stored), a positive number an
 * internal node, a negative number a leaf. References are small integers so that a store can keep
 * them in typed arrays (here) or as row ids (SQLite).
 */
export type StateNodeRef = number;

/** The reference of the empty subtree. */
export const stateEmptyRef: StateNodeRef = 0;

/** A leaf as the tree writes it: the store copies every array it is given. */
export interface StateLeafWrite {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly valueHash: Hash;
  readonly hash: Hash;
}

/**
 * Synchronous node storage behind the state tree. Contract:
 *
 * - `write*` returns a fresh reference (> 0 for internal nodes, < 0 for leaves) and copies its
 *   inputs; a written node is never changed or reused for another node.
 * - Every `read*` and `copy*` is called only with a non-empty reference this store returned, and
 *   only with the right kind (children of internal nodes, key and value of leaves).
 * - `read*` returns arrays the caller owns (copies), so no caller can alter stored nodes.
 * - A durable implementation wraps the writes of one block in one transaction.
 */
export interface StateNodeStore {
  /** Writes an internal node with children `left` (bit 0) and `right` (bit 1) and its hash. */
  writeInternal(left: StateNodeRef, right: StateNodeRef, hash: Hash): StateNodeRef;
  /** Writes a leaf: its key, value, SHA-256 of the value and leaf hash. */
  writeLeaf(leaf: StateLeafWrite): StateNodeRef;
  /** Copies the 32-byte hash of node `ref` into `target` at `offset` (the update's hot path). */
  copyHash(ref: StateNodeRef, target: Uint8Array, offset: number): void;
  /** The hash of node `ref`. */
  readHash(ref: StateNodeRef): Hash;
  /** The left child (bit 0) of internal node `ref`. */
  leftChild(ref: StateNodeRef): StateNodeRef;
  /** The right child (bit 1) of internal node `ref`. */
  rightChild(ref: StateNodeRef): StateNodeRef;
  /** The 32-byte key of leaf `ref`. */
  readLeafKey(ref: StateNodeRef): Uint8Array;
  /** SHA-256 of the value of leaf `ref`. */
  readLeafValueHash(ref: StateNodeRef): Hash;
  /** The value of leaf `ref`. */
  readLeafValue(ref: StateNodeRef): Uint8Array;
}

/**
 * Nodes per memory page: 2^15, so a page of hashes is 1 MiB. The first page grows by doubling
 * from `memoryStateFirstPageNodes` until it is full, so a tiny tree holds a few KiB; every later
 * page is allocated full, so growing never copies more than the first page.
 */
export const memoryStatePageNodes = 32_768;

/** First capacity of the first page, in nodes (doubles up to `memoryStatePageNodes`). */
export const memoryStateFirstPageNodes = 16;

/** Largest value chunk in bytes (1 MiB, at least `stateValueBytesMax`, so every value fits). */
export const memoryStateValueChunkBytes = 1_048_576;

/** First value chunk in bytes (each next chunk doubles, up to `memoryStateValueChunkBytes`). */
export const memoryStateFirstValueChunkBytes = 4096;

/** Most nodes of one kind a `MemoryStateNodeStore` holds: references must stay int32. */
export const memoryStateNodesMax = 2 ** 31 - 2;

const pageShift = 15;
const pageMask = memoryStatePageNodes - 1;

type Column = Uint8Array | Int32Array | Uint32Array;

/**
 * Bytes of a hash or key slot, as a module constant: an imported binding is read through a
 * getter on every use when the code runs through tsx, which dominated compaction's copy loop.
 */
const slotBytes: number = hashBytes;

/** `assert`, read once for the copy paths (see `slotBytes`). */
const assertInCopy: typeof assert = assert;

/** Copies the 32 bytes of slot `fromSlot` of `from` to slot `toSlot` of `to` (a byte loop). */
function copyBytes(from: Uint8Array, fromSlot: number, to: Uint8Array, toSlot: number): void {
  const source = fromSlot * slotBytes;
  const target = toSlot * slotBytes;
  for (let i = 0; i < slotBytes; i++) to[target + i] = from[source + i]!;
}

/** One typed-array column of `stride` elements per node, in pages of `memoryStatePageNodes`. */
class PagedColumn<A extends Column> {
  readonly pages: A[] = [];
  readonly #stride: number;
  readonly #allocate: (length: number) => A;

  constructor(stride: number, allocate: (length: number) => A) {
    this.#stride = stride;
    this.#allocate = allocate;
  }

  /** Adds room for more nodes (the first page doubles, or a new page starts); returns capacity. */
  grow(): number {
    const last = this.pages[this.pages.length - 1];
    const fullPage = memoryStatePageNodes * this.#stride;
    if (last === undefined) {
      this.pages.push(this.#allocate(memoryStateFirstPageNodes * this.#stride));
    } else if (last.length === fullPage) {
      this.pages.push(this.#allocate(fullPage));
    } else {
      const grown = this.#allocate(Math.min(last.length * 2, fullPage));
      grown.set(last);
      this.pages[this.pages.length - 1] = grown;
    }
    const lastNodes = this.pages[this.pages.length - 1]!.length / this.#stride;
    return (this.pages.length - 1) * memoryStatePageNodes + lastNodes;
  }

  /** Bytes allocated by this column's pages. */
  bytesAllocated(): number {
    let bytes = 0;
    for (const page of this.pages) bytes += page.byteLength;
    return bytes;
  }
}

/** Counts and sizes of a `MemoryStateNodeStore`, for measurements and tests. */
export interface MemoryStateNodeStoreStats {
  readonly internalNodes: number;
  readonly leaves: number;
  /** Bytes held in typed arrays (pages and value chunks), allocated, not only used. */
  readonly bytesAllocated: number;
  /** Of `bytesAllocated`, the node pages (hashes, keys, children, value locations). */
  readonly nodeBytesAllocated: number;
  /** Of `bytesAllocated`, the value chunks (shared with the store this one was compacted from). */
  readonly valueBytesAllocated: number;
  /** Values more than one leaf points to (a value written under two keys), in the chunks. */
  readonly sharedValues: number;
}

/** A value's place in the value chunks: `chunk * valueLocationChunkFactor + offset`. */
const valueLocationChunkFactor = 2 ** 21;

/**
 * The values of the leaves, packed in append-only chunks. A compacted copy of a store shares its
 * chunks (`MemoryStateNodeStore.sharingValuesOf`), so that compaction copies the nodes, not the
 * values (decision 0045). A value written again with the same bytes as one written a moment ago
 * (the same array: contracts write one encoded value under several keys, such as a record's head
 * and its version) shares the bytes already stored.
 */
class StateValueChunks {
  readonly chunks: Uint8Array[] = [];
  used = 0;
  /** Values written lately, by identity (the contract's encoded array), to their location. */
  readonly recent = new WeakMap<Uint8Array, number>();
  /** Locations that more than one leaf points to (a copy into other chunks keeps them shared). */
  readonly shared = new Set<number>();

  /** Appends `value`; returns its location. */
  append(value: Uint8Array): number {
    // A value that does not fit in the rest of the current chunk starts a new one, twice as large
    // as the last (up to the maximum, which every value fits), so the tail left over is at most
    // one value long and a tiny tree holds a few KiB.
    let chunk = this.chunks[this.chunks.length - 1];
    if (chunk === undefined || this.used + value.length > chunk.length) {
      const doubled = (chunk?.length ?? memoryStateFirstValueChunkBytes / 2) * 2;
      chunk = new Uint8Array(Math.min(Math.max(doubled, value.length), memoryStateValueChunkBytes));
      this.chunks.push(chunk);
      this.used = 0;
    }
    chunk.set(value, this.used);
    const location = (this.chunks.length - 1) * valueLocationChunkFactor + this.used;
    this.used += value.length;
    return location;
  }

  /** Whether the `length` bytes at `location` are `value`'s (so a location can be shared). */
  holds(location: number, value: Uint8Array): boolean {
    const chunk = this.chunks[Math.floor(location / valueLocationChunkFactor)];
    const offset = location % valueLocationChunkFactor;
    if (chunk === undefined || offset + value.length > chunk.length) return false;
    for (let i = 0; i < value.length; i++) if (chunk[offset + i] !== value[i]) return false;
    return true;
  }

  bytesAllocated(): number {
    let bytes = 0;
    for (const chunk of this.chunks) bytes += chunk.byteLength;
    return bytes;
  }
}

/**
 * In-memory `StateNodeStore`, packed in typed-array pages: an internal node takes 40 bytes (hash,
 * two int32 children), a leaf 108 bytes (hash, key, value hash, value location) plus its value.
 * It is append-only: every version's nodes stay until the store itself is dropped, so a
 * long-running node compacts it with `stateTreeCopy` (copy the versions it keeps into a new store).
 */
export class MemoryStateNodeStore implements StateNodeStore {
  /** Internal nodes by `ref - 1`: 32-byte hashes, and (left, right) pairs. */
  readonly #internalHashes = new PagedColumn(hashBytes, (n) => new Uint8Array(n));
  readonly #internalChildren = new PagedColumn(2, (n) => new Int32Array(n));
  #internalCount = 0;
  #internalCapacity = 0;
  /** Leaves by `-ref - 1`: hash, key, value hash, and (chunk, offset, length) of the value. */
  readonly #leafHashes = new PagedColumn(hashBytes, (n) => new Uint8Array(n));
  readonly #leafKeys = new PagedColumn(stateKeyBytes, (n) => new Uint8Array(n));
  readonly #leafValueHashes = new PagedColumn(hashBytes, (n) => new Uint8Array(n));
  readonly #leafValueLocations = new PagedColumn(3, (n) => new Uint32Array(n));
  #leafCount = 0;
  #leafCapacity = 0;
  /** Values, packed in chunks (possibly shared with the store this one was compacted from). */
  readonly #values: StateValueChunks;
  /**
   * While this store is filled by copying from another with other value chunks: where each
   * shared value of the source went (source location → location here), so it stays shared.
   */
  #copiedShared = new Map<number, number>();
  /** Bytes of the values copied into this store (each shared value once): what is live. */
  #copiedValueBytes = 0;

  /**
   * An empty store; with `sharingValuesOf`, one that keeps its values in that store's chunks
   * (compaction: the copy moves node records and value locations, not value bytes).
   */
  constructor(options: { sharingValuesOf?: MemoryStateNodeStore } = {}) {
    const source = options.sharingValuesOf;
    this.#values = source === undefined ? new StateValueChunks() : source.#values;
  }

  /** Whether this store keeps its values in the same chunks as `other`. */
  sharesValuesWith(other: MemoryStateNodeStore): boolean {
    return this.#values === other.#values;
  }

  /**
   * Ends a copy into this store: forgets the map of shared values copied, and returns the bytes
   * of the values the copied leaves point to (each once), what the versions copied keep alive.
   */
  endCopy(): number {
    this.#copiedShared = new Map();
    return this.#copiedValueBytes;
  }

  writeInternal(left: StateNodeRef, right: StateNodeRef, hash: Hash): StateNodeRef {
    assert(hash.length === hashBytes, 'internal node hash is 32 bytes');
    const index = this.#internalCount;
    if (index === this.#internalCapacity) {
      assert(index < memoryStateNodesMax, 'memory state store has room for a node');
      const capacity = this.#internalHashes.grow();
      const childrenCapacity = this.#internalChildren.grow();
      assert(childrenCapacity === capacity, 'internal-node columns grow together');
      this.#internalCapacity = capacity;
    }
    const page = index >>> pageShift;
    const slot = index & pageMask;
    this.#internalHashes.pages[page]!.set(hash, slot * hashBytes);
    const children = this.#internalChildren.pages[page]!;
    children[slot * 2] = left;
    children[slot * 2 + 1] = right;
    this.#internalCount = index + 1;
    return index + 1;
  }

  writeLeaf(leaf: StateLeafWrite): StateNodeRef {
    const { key, value, valueHash, hash } = leaf;
    assert(key.length === stateKeyBytes, 'leaf key is 32 bytes');
    assert(valueHash.length === hashBytes, 'leaf value hash is 32 bytes');
    assert(hash.length === hashBytes, 'leaf hash is 32 bytes');
    assert(value.length <= stateValueBytesMax, 'leaf value is within stateValueBytesMax');
    const index = this.#leafCount;
    if (index === this.#leafCapacity) this.#growLeaves();
    const page = index >>> pageShift;
    const slot = index & pageMask;
    this.#leafHashes.pages[page]!.set(hash, slot * hashBytes);
    this.#leafKeys.pages[page]!.set(key, slot * stateKeyBytes);
    this.#leafValueHashes.pages[page]!.set(valueHash, slot * hashBytes);
    const values = this.#values;
    // The same array written a moment ago under another key (checked byte for byte, as a caller
    // could have changed it since) shares the stored bytes.
    let location = values.recent.get(value);
    if (location !== undefined && values.holds(location, value)) {
      values.shared.add(location);
    } else {
      location = values.append(value);
      values.recent.set(value, location);
    }
    this.#setValueLocation(page, slot, location, value.length);
    this.#leafCount = index + 1;
    return -(index + 1);
  }

  /**
   * Copies leaf `ref` of `source` into this store as it is (hash, key, value hash, value), with
   * no allocation per node: the fast path of compaction (the store's incremental copy of the
   * versions it keeps, decision 0032). The hashes are copied, not recomputed.
   */
  copyLeafFrom(source: MemoryStateNodeStore, ref: StateNodeRef): StateNodeRef {
    assertInCopy(ref < 0 && -ref <= source.#leafCount, 'ref names a stored leaf of the source');
    const from = -ref - 1;
    const fromPage = from >>> pageShift;
    const fromSlot = from & pageMask;
    const index = this.#leafCount;
    if (index === this.#leafCapacity) this.#growLeaves();
    const page = index >>> pageShift;
    const slot = index & pageMask;
    copyBytes(source.#leafHashes.pages[fromPage]!, fromSlot, this.#leafHashes.pages[page]!, slot);
    copyBytes(source.#leafKeys.pages[fromPage]!, fromSlot, this.#leafKeys.pages[page]!, slot);
    copyBytes(
      source.#leafValueHashes.pages[fromPage]!,
      fromSlot,
      this.#leafValueHashes.pages[page]!,
      slot,
    );
    const locations = source.#leafValueLocations.pages[fromPage]!;
    const sourceLocation =
      locations[fromSlot * 3]! * valueLocationChunkFactor + locations[fromSlot * 3 + 1]!;
    const length = locations[fromSlot * 3 + 2]!;
    const sourceValues = source.#values;
    // A value several leaves point to is copied (and counted) once: the map says where it went.
    const isShared = sourceValues.shared.has(sourceLocation);
    let location = isShared ? this.#copiedShared.get(sourceLocation) : undefined;
    if (location === undefined) {
      this.#copiedValueBytes += length;
      if (sourceValues === this.#values) {
        // The same chunks: the location is copied, not the bytes (decision 0045).
        location = sourceLocation;
      } else {
        const chunk = sourceValues.chunks[Math.floor(sourceLocation / valueLocationChunkFactor)]!;
        const offset = sourceLocation % valueLocationChunkFactor;
        location = this.#values.append(chunk.subarray(offset, offset + length));
      }
      if (isShared) this.#copiedShared.set(sourceLocation, location);
    } else {
      this.#values.shared.add(location);
    }
    this.#setValueLocation(page, slot, location, length);
    this.#leafCount = index + 1;
    return -(index + 1);
  }

  /**
   * Writes internal node `ref` of `source` into this store with children `left` and `right`
   * (their copies here), copying its hash: compaction's fast path, as `copyLeafFrom`.
   */
  copyInternalFrom(
    source: MemoryStateNodeStore,
    ref: StateNodeRef,
    left: StateNodeRef,
    right: StateNodeRef,
  ): StateNodeRef {
    assertInCopy(ref > 0 && ref <= source.#internalCount, 'ref names a stored internal node');
    const from = ref - 1;
    const index = this.#internalCount;
    if (index === this.#internalCapacity) {
      assert(index < memoryStateNodesMax, 'memory state store has room for a node');
      const capacity = this.#internalHashes.grow();
      const childrenCapacity = this.#internalChildren.grow();
      assert(childrenCapacity === capacity, 'internal-node columns grow together');
      this.#internalCapacity = capacity;
    }
    const page = index >>> pageShift;
    const slot = index & pageMask;
    copyBytes(
      source.#internalHashes.pages[from >>> pageShift]!,
      from & pageMask,
      this.#internalHashes.pages[page]!,
      slot,
    );
    const children = this.#internalChildren.pages[page]!;
    children[slot * 2] = left;
    children[slot * 2 + 1] = right;
    this.#internalCount = index + 1;
    return index + 1;
  }

  /** Records where leaf (`page`, `slot`)'s value is. */
  #setValueLocation(page: number, slot: number, location: number, length: number): void {
    const locations = this.#leafValueLocations.pages[page]!;
    locations[slot * 3] = Math.floor(location / valueLocationChunkFactor);
    locations[slot * 3 + 1] = location % valueLocationChunkFactor;
    locations[slot * 3 + 2] = length;
  }

  copyHash(ref: StateNodeRef, target: Uint8Array, offset: number): void {
    const pages = ref > 0 ? this.#internalHashes.pages : this.#leafHashes.pages;
    const index = ref > 0 ? this.#internalIndex(ref) : this.#leafIndex(ref);
    const page = pages[index >>> pageShift]!;
    const start = (index & pageMask) * hashBytes;
    // A byte loop rather than `set(subarray(…))`: no view object is allocated per copy.
    for (let i = 0; i < hashBytes; i++) target[offset + i] = page[start + i]!;
  }

  readHash(ref: StateNodeRef): Hash {
    const hash = new Uint8Array(hashBytes);
    this.copyHash(ref, hash, 0);
    return hash;
  }

  leftChild(ref: StateNodeRef): StateNodeRef {
    const index = this.#internalIndex(ref);
    return this.#internalChildren.pages[index >>> pageShift]![(index & pageMask) * 2]!;
  }

  rightChild(ref: StateNodeRef): StateNodeRef {
    const index = this.#internalIndex(ref);
    return this.#internalChildren.pages[index >>> pageShift]![(index & pageMask) * 2 + 1]!;
  }

  readLeafKey(ref: StateNodeRef): Uint8Array {
    const index = this.#leafIndex(ref);
    const start = (index & pageMask) * stateKeyBytes;
    return this.#leafKeys.pages[index >>> pageShift]!.slice(start, start + stateKeyBytes);
  }

  readLeafValueHash(ref: StateNodeRef): Hash {
    const index = this.#leafIndex(ref);
    const start = (index & pageMask) * hashBytes;
    return this.#leafValueHashes.pages[index >>> pageShift]!.slice(start, start + hashBytes);
  }

  readLeafValue(ref: StateNodeRef): Uint8Array {
    const index = this.#leafIndex(ref);
    const locations = this.#leafValueLocations.pages[index >>> pageShift]!;
    const slot = index & pageMask;
    const chunk = this.#values.chunks[locations[slot * 3]!]!;
    const offset = locations[slot * 3 + 1]!;
    return chunk.slice(offset, offset + locations[slot * 3 + 2]!);
  }

  /**
   * The end of `key`'s path down from node `ref`: the leaf or empty subtree (`stateEmptyRef`)
   * reached by following the key's bits from `depth`. The walk of `stateTreeGet`, reading the
   * child pages directly instead of two checked calls per level (bench `contracts: execution`).
   */
  descend(ref: StateNodeRef, key: Uint8Array, depth: number): StateNodeRef {
    assert(ref <= this.#internalCount, 'ref names a stored internal node');
    const pages = this.#internalChildren.pages;
    let at = ref;
    let bit = depth;
    while (at > 0) {
      assert(bit < stateKeyBytes * 8, 'internal nodes sit above depth 256');
      const index = at - 1;
      const goRight = (key[bit >>> 3]! >>> (7 - (bit & 7))) & 1;
      at = pages[index >>> pageShift]![(index & pageMask) * 2 + goRight]!;
      bit += 1;
    }
    return at;
  }

  /** Whether leaf `ref` holds `key`, compared in place (no copy of the stored key). */
  isLeafKey(ref: StateNodeRef, key: Uint8Array): boolean {
    const index = this.#leafIndex(ref);
    const page = this.#leafKeys.pages[index >>> pageShift]!;
    const start = (index & pageMask) * stateKeyBytes;
    if (key.length !== stateKeyBytes) return false;
    for (let i = 0; i < stateKeyBytes; i++) if (page[start + i] !== key[i]) return false;
    return true;
  }

  /** Node counts and allocated bytes. */
  stats(): MemoryStateNodeStoreStats {
    let bytes = 0;
    for (const column of [this.#internalHashes, this.#internalChildren, this.#leafHashes]) {
      bytes += column.bytesAllocated();
    }
    for (const column of [this.#leafKeys, this.#leafValueHashes, this.#leafValueLocations]) {
      bytes += column.bytesAllocated();
    }
    const valueBytes = this.#values.bytesAllocated();
    return {
      internalNodes: this.#internalCount,
      leaves: this.#leafCount,
      bytesAllocated: bytes + valueBytes,
      nodeBytesAllocated: bytes,
      valueBytesAllocated: valueBytes,
      sharedValues: this.#values.shared.size,
    };
  }

  #internalIndex(ref: StateNodeRef): number {
    assert(ref > 0, 'ref names an internal node');
    assert(ref <= this.#internalCount, 'ref names a stored internal node');
    return ref - 1;
  }

  #leafIndex(ref: StateNodeRef): number {
    assert(ref < 0, 'ref names a leaf');
    assert(-ref <= this.#leafCount, 'ref names a stored leaf');
    return -ref - 1;
  }

  #growLeaves(): void {
    assert(this.#leafCount < memoryStateNodesMax, 'memory state store has room for a leaf');
    const capacity = this.#leafHashes.grow();
    const capacities = [
      this.#leafKeys.grow(),
      this.#leafValueHashes.grow(),
      this.#leafValueLocations.grow(),
    ];
    for (const other of capacities) assert(other === capacity, 'leaf columns grow together');
    this.#leafCapacity = capacity;
  }
}
