/**
 * Where the state tree keeps its nodes: a small synchronous interface (so that the node's durable
 * store, SQLite, can implement it later) and a compact in-memory implementation.
 *
 * Nodes are immutable once written: the tree only ever adds nodes, and a new version shares every
 * untouched node with the version it was made from (see `state-tree.ts`).
 */
import { assert } from '../base/index.ts';
import { hashBytes, sha256 } from '../crypto/index.ts';
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
 * Nodes per memory page: 2^12, so a page of hashes is 128 KiB. Each region (below) fills pages of
 * its own; the first page of a region grows by doubling from `memoryStateFirstPageNodes`, so a
 * tiny tree holds a few KiB, and every later page is allocated full.
 */
export const memoryStatePageNodes = 4096;

/** First capacity of the first page, in nodes (doubles up to `memoryStatePageNodes`). */
export const memoryStateFirstPageNodes = 16;

/** Largest value chunk in bytes (1 MiB, at least `stateValueBytesMax`, so every value fits). */
export const memoryStateValueChunkBytes = 1_048_576;

/** First value chunk in bytes (each next chunk doubles, up to `memoryStateValueChunkBytes`). */
export const memoryStateFirstValueChunkBytes = 4096;

/** Most nodes of one kind a `MemoryStateNodeStore` holds: references must stay int32. */
export const memoryStateNodesMax = 2 ** 31 - 2;

/**
 * Key bits that choose a node's region: 16 regions by the first four bits of the key, so that
 * a compaction can copy one region (about a sixteenth of the state) at a time (decision 0066).
 */
export const memoryStateRegionBits = 4;

/** Regions of the keys' subtrees: `0` … `memoryStateRegions - 1`. */
export const memoryStateRegions = 2 ** memoryStateRegionBits;

/** The region of the nodes above the regions (children in different regions): the top. */
export const memoryStateTopRegion = memoryStateRegions;

const pageShift = 12;
const pageMask = memoryStatePageNodes - 1;
const regionShift = 8 - memoryStateRegionBits;

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

/** A page of internal nodes: hashes and (left, right) pairs, of one region. */
interface InternalPage {
  hashes: Uint8Array;
  children: Int32Array;
  /** Nodes written in the page (a page is shared by the stores made from one another). */
  used: number;
  readonly region: number;
}

/**
 * A page of leaves: hashes, keys, (chunk, offset, length) of values. A leaf's value hash is not
 * kept: it is SHA-256 of the value, computed when asked (`readLeafValueHash`, off the update's
 * path), which saves 32 of the about 290 bytes a key costs (decision 0079).
 */
interface LeafPage {
  hashes: Uint8Array;
  keys: Uint8Array;
  locations: Uint32Array;
  used: number;
  readonly region: number;
}

function newInternalPage(capacity: number, region: number): InternalPage {
  return {
    hashes: new Uint8Array(capacity * slotBytes),
    children: new Int32Array(capacity * 2),
    used: 0,
    region,
  };
}

function newLeafPage(capacity: number, region: number): LeafPage {
  return {
    hashes: new Uint8Array(capacity * slotBytes),
    keys: new Uint8Array(capacity * slotBytes),
    locations: new Uint32Array(capacity * 3),
    used: 0,
    region,
  };
}

/** How pages of one kind are made and grown. */
interface PageKind<P> {
  create(capacity: number, region: number): P;
  /** Reallocates the page's arrays for `capacity` nodes, keeping what they hold. */
  grow(page: P, capacity: number): void;
}

const internalPageKind: PageKind<InternalPage> = {
  create: newInternalPage,
  grow(page, capacity) {
    page.hashes = grownArray(page.hashes, capacity * slotBytes);
    page.children = grownArray(page.children, capacity * 2);
  },
};

const leafPageKind: PageKind<LeafPage> = {
  create: newLeafPage,
  grow(page, capacity) {
    page.hashes = grownArray(page.hashes, capacity * slotBytes);
    page.keys = grownArray(page.keys, capacity * slotBytes);
    page.locations = grownArray(page.locations, capacity * 3);
  },
};

function grownArray<A extends Uint8Array | Int32Array | Uint32Array>(array: A, length: number): A {
  const grown = new (array.constructor as new (length: number) => A)(length);
  grown.set(array);
  return grown;
}

/**
 * Where a store appends nodes: per region, the index of the page being filled (-1: none yet),
 * for internal nodes and for leaves.
 */
interface Cursors {
  readonly internal: Int32Array;
  readonly leaf: Int32Array;
}

function newCursors(): Cursors {
  return {
    internal: new Int32Array(memoryStateRegions + 1).fill(-1),
    leaf: new Int32Array(memoryStateRegions + 1).fill(-1),
  };
}

function copyCursors(cursors: Cursors): Cursors {
  return { internal: cursors.internal.slice(), leaf: cursors.leaf.slice() };
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
 *
 * Pages belong to regions: a leaf to the region of its key's first bits, an internal node to
 * its children's region when they share one (or one is empty), else to the top. So every node
 * of a region has all its descendants in that region, and a region can be compacted alone
 * (`beginRegionCopy`): its live nodes and the top's are copied into fresh pages of the same
 * store, and `finishRegionCopy` returns a new store that shares every other page and leaves the
 * region's old pages out. The store it was made from stays readable, unchanged, for whoever
 * still holds it (decision 0066). A reference is `page * memoryStatePageNodes + slot`, plus one
 * (internal) or negated (leaves); page numbers are per store.
 */
export class MemoryStateNodeStore implements StateNodeStore {
  /** Internal-node pages by page number (`undefined`: a page this store no longer holds). */
  #internal: (InternalPage | undefined)[] = [];
  #leaves: (LeafPage | undefined)[] = [];
  /** Page numbers free for new pages (held by older stores, not by this one). */
  #freeInternalPages: number[] = [];
  #freeLeafPages: number[] = [];
  #cursors: Cursors = newCursors();
  /** While a region is copied: the region, and where its copies (and the top's) go. */
  #copyRegion = -1;
  #copyCursors: Cursors = newCursors();
  /** Page numbers of the pages the copy filled. */
  #copyInternalPages = new Set<number>();
  #copyLeafPages = new Set<number>();
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
    const bytes = this.#copiedValueBytes;
    this.#copiedValueBytes = 0;
    return bytes;
  }

  /** The region of node `ref`: `0` … `memoryStateRegions - 1`, or `memoryStateTopRegion`. */
  regionOf(ref: StateNodeRef): number {
    return ref > 0
      ? this.#internalPage(this.#internalIndex(ref)).region
      : this.#leafPage(this.#leafIndex(ref)).region;
  }

  /**
   * Starts compacting `region`: from now on `copyLeafFrom(this, …)` and `copyInternalFrom(this,
   * …)` write into fresh pages (of `region` and of the top), while the tree's own writes go on
   * into the current ones. `finishRegionCopy` ends it.
   */
  beginRegionCopy(region: number): void {
    assert(this.#copyRegion === -1, 'one region copy at a time');
    assert(
      Number.isInteger(region) && region >= 0 && region < memoryStateRegions,
      'a region to copy is one of the key regions',
    );
    this.#copyRegion = region;
    this.#copyCursors = newCursors();
    this.#copyInternalPages = new Set();
    this.#copyLeafPages = new Set();
  }

  /** Whether a region copy must copy node `ref` (it is in the region or the top). */
  copiesInRegionCopy(ref: StateNodeRef): boolean {
    const region = this.regionOf(ref);
    return region === this.#copyRegion || region === memoryStateTopRegion;
  }

  /**
   * Ends the region copy: returns the store that holds every page of this one except the
   * region's and the top's old pages (their live nodes were copied). Every reference the copy
   * returned, and every reference to a node of another region, is valid in the new store;
   * references to the old pages only in this one. This store stays as it was for those who hold
   * it; should one of them write to it, its nodes go to new pages of its own, never to a page the
   * new store fills.
   */
  finishRegionCopy(): MemoryStateNodeStore {
    const region = this.#copyRegion;
    assert(region !== -1, 'a region copy is under way');
    const next = new MemoryStateNodeStore({ sharingValuesOf: this });
    const dropped = (page: { region: number }, copied: boolean) =>
      !copied && (page.region === region || page.region === memoryStateTopRegion);
    next.#internal = this.#internal.map((page, number) =>
      page === undefined || dropped(page, this.#copyInternalPages.has(number)) ? undefined : page,
    );
    next.#leaves = this.#leaves.map((page, number) =>
      page === undefined || dropped(page, this.#copyLeafPages.has(number)) ? undefined : page,
    );
    next.#freeInternalPages = freePageNumbers(next.#internal);
    next.#freeLeafPages = freePageNumbers(next.#leaves);
    const cursors = copyCursors(this.#cursors);
    for (const kind of ['internal', 'leaf'] as const) {
      for (const moved of [region, memoryStateTopRegion]) {
        cursors[kind][moved] = this.#copyCursors[kind][moved]!;
      }
    }
    next.#cursors = cursors;
    // The values counted live so far go on being counted once, region after region.
    next.#copiedShared = this.#copiedShared;
    next.#copiedValueBytes = this.#copiedValueBytes;
    this.#copiedShared = new Map();
    this.#copiedValueBytes = 0;
    this.#copyRegion = -1;
    this.#copyCursors = newCursors();
    this.#cursors = newCursors();
    this.#freeInternalPages = [];
    this.#freeLeafPages = [];
    return next;
  }

  writeInternal(left: StateNodeRef, right: StateNodeRef, hash: Hash): StateNodeRef {
    assert(hash.length === hashBytes, 'internal node hash is 32 bytes');
    const index = this.#appendInternal(this.#cursors, this.#regionOfChildren(left, right));
    const page = this.#internal[index >>> pageShift]!;
    const slot = index & pageMask;
    page.hashes.set(hash, slot * hashBytes);
    page.children[slot * 2] = left;
    page.children[slot * 2 + 1] = right;
    return index + 1;
  }

  writeLeaf(leaf: StateLeafWrite): StateNodeRef {
    const { key, value, valueHash, hash } = leaf;
    assert(key.length === stateKeyBytes, 'leaf key is 32 bytes');
    assert(valueHash.length === hashBytes, 'leaf value hash is 32 bytes');
    assert(hash.length === hashBytes, 'leaf hash is 32 bytes');
    assert(value.length <= stateValueBytesMax, 'leaf value is within stateValueBytesMax');
    const index = this.#appendLeaf(this.#cursors, key[0]! >>> regionShift);
    const page = this.#leaves[index >>> pageShift]!;
    const slot = index & pageMask;
    page.hashes.set(hash, slot * hashBytes);
    page.keys.set(key, slot * stateKeyBytes);
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
    setValueLocation(page, slot, location, value.length);
    return -(index + 1);
  }

  /**
   * Copies leaf `ref` of `source` into this store as it is (hash, key, value), with
   * no allocation per node: the fast path of compaction (the store's incremental copy of the
   * versions it keeps, decision 0032). The hashes are copied, not recomputed. With `source`
   * this store during a region copy, the leaf goes to the copy's fresh pages.
   */
  copyLeafFrom(source: MemoryStateNodeStore, ref: StateNodeRef): StateNodeRef {
    assertInCopy(ref < 0, 'ref names a stored leaf of the source');
    const from = -ref - 1;
    const fromPage = source.#leafPage(from);
    const fromSlot = from & pageMask;
    assertInCopy(fromSlot < fromPage.used, 'ref names a stored leaf of the source');
    const index = this.#appendLeaf(this.#cursorsForCopy(source), fromPage.region);
    const page = this.#leaves[index >>> pageShift]!;
    const slot = index & pageMask;
    copyBytes(fromPage.hashes, fromSlot, page.hashes, slot);
    copyBytes(fromPage.keys, fromSlot, page.keys, slot);
    const locations = fromPage.locations;
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
    setValueLocation(page, slot, location, length);
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
    assertInCopy(ref > 0, 'ref names a stored internal node');
    const from = ref - 1;
    const fromPage = source.#internalPage(from);
    const fromSlot = from & pageMask;
    assertInCopy(fromSlot < fromPage.used, 'ref names a stored internal node');
    const index = this.#appendInternal(
      this.#cursorsForCopy(source),
      this.#regionOfChildren(left, right),
    );
    const page = this.#internal[index >>> pageShift]!;
    const slot = index & pageMask;
    copyBytes(fromPage.hashes, fromSlot, page.hashes, slot);
    page.children[slot * 2] = left;
    page.children[slot * 2 + 1] = right;
    return index + 1;
  }

  copyHash(ref: StateNodeRef, target: Uint8Array, offset: number): void {
    let hashes: Uint8Array;
    let index: number;
    if (ref > 0) {
      index = this.#internalIndex(ref);
      hashes = this.#internalPage(index).hashes;
    } else {
      index = this.#leafIndex(ref);
      hashes = this.#leafPage(index).hashes;
    }
    const start = (index & pageMask) * hashBytes;
    // A byte loop rather than `set(subarray(…))`: no view object is allocated per copy.
    for (let i = 0; i < hashBytes; i++) target[offset + i] = hashes[start + i]!;
  }

  readHash(ref: StateNodeRef): Hash {
    const hash = new Uint8Array(hashBytes);
    this.copyHash(ref, hash, 0);
    return hash;
  }

  leftChild(ref: StateNodeRef): StateNodeRef {
    const index = this.#internalIndex(ref);
    return this.#internalPage(index).children[(index & pageMask) * 2]!;
  }

  rightChild(ref: StateNodeRef): StateNodeRef {
    const index = this.#internalIndex(ref);
    return this.#internalPage(index).children[(index & pageMask) * 2 + 1]!;
  }

  readLeafKey(ref: StateNodeRef): Uint8Array {
    const index = this.#leafIndex(ref);
    const start = (index & pageMask) * stateKeyBytes;
    return this.#leafPage(index).keys.slice(start, start + stateKeyBytes);
  }

  readLeafValueHash(ref: StateNodeRef): Hash {
    return sha256(this.readLeafValue(ref));
  }

  readLeafValue(ref: StateNodeRef): Uint8Array {
    const index = this.#leafIndex(ref);
    const locations = this.#leafPage(index).locations;
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
    const pages = this.#internal;
    let at = ref;
    let bit = depth;
    while (at > 0) {
      assert(bit < stateKeyBytes * 8, 'internal nodes sit above depth 256');
      const index = at - 1;
      const page = pages[index >>> pageShift];
      assert(page !== undefined && (index & pageMask) < page.used, 'ref names a stored node');
      const goRight = (key[bit >>> 3]! >>> (7 - (bit & 7))) & 1;
      at = page.children[(index & pageMask) * 2 + goRight]!;
      bit += 1;
    }
    return at;
  }

  /** Whether leaf `ref` holds `key`, compared in place (no copy of the stored key). */
  isLeafKey(ref: StateNodeRef, key: Uint8Array): boolean {
    const index = this.#leafIndex(ref);
    const keys = this.#leafPage(index).keys;
    const start = (index & pageMask) * stateKeyBytes;
    if (key.length !== stateKeyBytes) return false;
    for (let i = 0; i < stateKeyBytes; i++) if (keys[start + i] !== key[i]) return false;
    return true;
  }

  /** Node counts and allocated bytes. */
  stats(): MemoryStateNodeStoreStats {
    let bytes = 0;
    let internalNodes = 0;
    let leaves = 0;
    for (const page of this.#internal) {
      if (page === undefined) continue;
      internalNodes += page.used;
      bytes += page.hashes.byteLength + page.children.byteLength;
    }
    for (const page of this.#leaves) {
      if (page === undefined) continue;
      leaves += page.used;
      bytes += page.hashes.byteLength + page.keys.byteLength + page.locations.byteLength;
    }
    const valueBytes = this.#values.bytesAllocated();
    return {
      internalNodes,
      leaves,
      bytesAllocated: bytes + valueBytes,
      nodeBytesAllocated: bytes,
      valueBytesAllocated: valueBytes,
      sharedValues: this.#values.shared.size,
    };
  }

  /** The cursors a copy from `source` appends with: the region copy's, or the store's own. */
  #cursorsForCopy(source: MemoryStateNodeStore): Cursors {
    if (source !== this) return this.#cursors;
    assertInCopy(this.#copyRegion !== -1, 'a copy within a store is a region copy');
    return this.#copyCursors;
  }

  #regionOfChildren(left: StateNodeRef, right: StateNodeRef): number {
    if (left === stateEmptyRef) return this.regionOf(right);
    if (right === stateEmptyRef) return this.regionOf(left);
    const region = this.regionOf(left);
    return region === this.regionOf(right) ? region : memoryStateTopRegion;
  }

  /** A slot for an internal node of `region` on the page `cursors` fill; returns its index. */
  #appendInternal(cursors: Cursors, region: number): number {
    const copying = cursors === this.#copyCursors;
    return this.#append(internalPageKind, region, {
      pages: this.#internal,
      free: this.#freeInternalPages,
      cursors: cursors.internal,
      copied: copying ? this.#copyInternalPages : null,
    });
  }

  /** A slot for a leaf of `region` on the page `cursors` fill; returns its index. */
  #appendLeaf(cursors: Cursors, region: number): number {
    const copying = cursors === this.#copyCursors;
    return this.#append(leafPageKind, region, {
      pages: this.#leaves,
      free: this.#freeLeafPages,
      cursors: cursors.leaf,
      copied: copying ? this.#copyLeafPages : null,
    });
  }

  /**
   * A slot on the page of `region` that `table.cursors` names, starting a page when there is
   * none or it is full (a region's first page starts small and doubles; later ones are
   * allocated full); returns the slot's index. `table.copied` collects the pages a region copy
   * starts.
   */
  #append<P extends InternalPage | LeafPage>(
    kind: PageKind<P>,
    region: number,
    table: {
      pages: (P | undefined)[];
      free: number[];
      cursors: Int32Array;
      copied: Set<number> | null;
    },
  ): number {
    let number = table.cursors[region]!;
    let page = number === -1 ? undefined : table.pages[number];
    if (page === undefined || page.used === memoryStatePageNodes) {
      const capacity = page === undefined ? memoryStateFirstPageNodes : memoryStatePageNodes;
      page = kind.create(capacity, region);
      number = this.#newPageNumber(table.pages, table.free, page);
      table.cursors[region] = number;
      table.copied?.add(number);
    } else if (page.used * slotBytes === page.hashes.length) {
      kind.grow(page, Math.min(page.used * 2, memoryStatePageNodes));
    }
    const slot = page.used;
    page.used = slot + 1;
    return number * memoryStatePageNodes + slot;
  }

  #newPageNumber<P>(pages: (P | undefined)[], free: number[], page: P): number {
    const reused = free.pop();
    if (reused !== undefined) {
      pages[reused] = page;
      return reused;
    }
    assertInCopy(
      (pages.length + 1) * memoryStatePageNodes <= memoryStateNodesMax,
      'memory state store has room for a page',
    );
    pages.push(page);
    return pages.length - 1;
  }

  #internalIndex(ref: StateNodeRef): number {
    assert(ref > 0, 'ref names an internal node');
    return ref - 1;
  }

  #leafIndex(ref: StateNodeRef): number {
    assert(ref < 0, 'ref names a leaf');
    return -ref - 1;
  }

  #internalPage(index: number): InternalPage {
    const page = this.#internal[index >>> pageShift];
    assertInCopy(
      page !== undefined && (index & pageMask) < page.used,
      'ref names a stored internal node',
    );
    return page;
  }

  #leafPage(index: number): LeafPage {
    const page = this.#leaves[index >>> pageShift];
    assertInCopy(page !== undefined && (index & pageMask) < page.used, 'ref names a stored leaf');
    return page;
  }
}

/** Records where the value of leaf `slot` of `page` is. */
function setValueLocation(page: LeafPage, slot: number, location: number, length: number): void {
  const locations = page.locations;
  locations[slot * 3] = Math.floor(location / valueLocationChunkFactor);
  locations[slot * 3 + 1] = location % valueLocationChunkFactor;
  locations[slot * 3 + 2] = length;
}

/** The numbers of the holes of a page table, highest first (the lowest is reused first). */
function freePageNumbers(pages: readonly unknown[]): number[] {
  const free: number[] = [];
  for (let number = pages.length - 1; number >= 0; number--) {
    if (pages[number] === undefined) free.push(number);
  }
  return free;
}
