/**
 * The history log: an append-only Merkle tree exactly as RFC 9162 §2.1.1 defines it, over a
 * `LogNodeStore`, with roots of any past size, inclusion proofs (RFC 9162 §2.1.3.1) and
 * consistency proofs (RFC 9162 §2.1.4.1) read from stored perfect subtrees.
 */
import { assert } from '../base/index.ts';
import { hashBytes } from '../crypto/index.ts';
import type { Hash } from '../crypto/index.ts';

import {
  HistoryLogError,
  LogErrorCode,
  checkBytes,
  checkCount,
  checkHash,
  checkIndex,
} from './log-errors.ts';
import { half, isOdd, logEmptyRoot, hashLeaf, hashNode, powerOfTwoAtMost } from './log-hash.ts';
import { logLeafBytesMax, logSizeMax } from './log-limits.ts';
import { MemoryLogNodeStore } from './log-node-store.ts';
import type { LogNodeStore } from './log-node-store.ts';

/** An inclusion proof: PATH(index, D[size]) of RFC 9162 §2.1.3.1, leaf side first. */
export interface LogInclusionProof {
  /** Index of the proven leaf (RFC 9162 leaf_index), below `size`. */
  readonly index: number;
  /** Size of the tree the proof is for (RFC 9162 tree_size). */
  readonly size: number;
  /** The audit path (RFC 9162 inclusion_path): sibling hashes from the leaf up. */
  readonly path: readonly Hash[];
}

/** A consistency proof: PROOF(oldSize, D[newSize]) of RFC 9162 §2.1.4.1. */
export interface LogConsistencyProof {
  /** Size of the earlier tree (RFC 9162 tree_size_1). */
  readonly oldSize: number;
  /** Size of the later tree (RFC 9162 tree_size_2), at least `oldSize`. */
  readonly newSize: number;
  /** The proof hashes (RFC 9162 consistency_path); empty when `oldSize` is 0 or `newSize`. */
  readonly path: readonly Hash[];
}

/**
 * The append-only history log (DESIGN.md "The chain"): every committed transaction hash becomes
 * a leaf of one RFC 9162 §2.1 Merkle tree, so any leaf has an inclusion proof and any two tree
 * heads have a consistency proof.
 *
 * Cost: `append` hashes the leaf plus one node per perfect subtree it completes (amortised
 * one, at most log2 n). `root(size)`, `inclusionProof` and `consistencyProof` read O(log n)
 * stored nodes and hash at most O(log n) more, for the one imperfect subtree on the right edge.
 * Arguments are checked and refused with a `HistoryLogError` naming the argument.
 */
export class HistoryLog {
  readonly #store: LogNodeStore;
  #size: number;
  /**
   * The compact right edge of the tree: `#edge[level]` is the perfect subtree of 2^level leaves
   * for each set bit of `#size`, so appends and the current root need no store reads.
   */
  readonly #edge: (Hash | undefined)[] = [];
  #currentRoot: Hash | undefined;

  /** Opens the log held by `store` (a new in-memory log by default). */
  constructor(store: LogNodeStore = new MemoryLogNodeStore()) {
    this.#store = store;
    this.#size = checkCount('store leaf count', store.readLeafCount());
    let level = 0;
    let remaining = this.#size;
    let offset = this.#size;
    // The right edge is one perfect subtree per set bit of the size, read from the store.
    while (remaining > 0) {
      const width = 2 ** level;
      if (isOdd(remaining)) {
        offset -= width;
        this.#edge[level] = this.#node(level, offset / width).slice();
      }
      remaining = half(remaining);
      level++;
    }
  }

  /** Number of leaves (RFC 9162 tree_size). */
  get size(): number {
    return this.#size;
  }

  /**
   * The compact right edge, read-only: entry `level` is a copy of the perfect subtree of
   * 2^level leaves ending the tree for each set bit of the size, `undefined` for a clear bit
   * (what `logRootAfterAppend` folds new leaves into without touching the log).
   */
  rightEdge(): (Hash | undefined)[] {
    return this.#edge.map((node) => node?.slice());
  }

  /** Appends a leaf with input `leafData` (hashed as SHA-256(0x00 ‖ data)); returns its index. */
  append(leafData: Uint8Array): number {
    checkBytes('leafData', leafData, logLeafBytesMax);
    return this.#appendHash(hashLeaf(leafData));
  }

  /** Appends a leaf whose leaf hash (RFC 9162 §2.1.1) the caller computed; returns its index. */
  appendLeafHash(leafHash: Hash): number {
    return this.#appendHash(checkHash('leafHash', leafHash).slice());
  }

  /** The leaf hash at `index`. */
  leafHash(index: number): Hash {
    checkIndex('index', index, 'log size', this.#size);
    return this.#node(0, index).slice();
  }

  /** MTH(D[size]) for the current size or any earlier one (RFC 9162 §2.1.1). */
  root(size: number = this.#size): Hash {
    checkCount('size', size, this.#size, 'log size');
    if (size === 0) return logEmptyRoot();
    if (size === this.#size) {
      this.#currentRoot ??= this.#edgeRoot();
      return this.#currentRoot.slice();
    }
    return this.#rangeHash(0, size).slice();
  }

  /**
   * PATH(index, D[size]) of RFC 9162 §2.1.3.1; `size` defaults to the current size. Walks the
   * RFC's recursion from the root down, taking the sibling subtree at each split.
   */
  inclusionProof(options: { index: number; size?: number }): LogInclusionProof {
    const size = checkCount(
      'size',
      options.size === undefined ? this.#size : options.size,
      this.#size,
      'log size',
    );
    const index = checkIndex('index', options.index, 'size', size);
    const topDown: Hash[] = [];
    let begin = 0;
    let end = size;
    while (end - begin > 1) {
      const split = begin + powerOfTwoAtMost(end - begin - 1);
      if (index < split) {
        topDown.push(this.#rangeHash(split, end));
        end = split;
      } else {
        topDown.push(this.#rangeHash(begin, split));
        begin = split;
      }
    }
    return { index, size, path: copyReversed(topDown) };
  }

  /**
   * PROOF(oldSize, D[newSize]) of RFC 9162 §2.1.4.1; `newSize` defaults to the current size.
   * Empty when `oldSize` is 0 or equal to `newSize` (the RFC defines PROOF for 0 < m < n only;
   * the verifier accepts those two cases with an empty proof).
   */
  consistencyProof(options: { oldSize: number; newSize?: number }): LogConsistencyProof {
    const newSize = checkCount(
      'newSize',
      options.newSize === undefined ? this.#size : options.newSize,
      this.#size,
      'log size',
    );
    const oldSize = checkCount('oldSize', options.oldSize, newSize, 'newSize');
    const topDown: Hash[] = [];
    if (oldSize > 0 && oldSize < newSize) {
      // SUBPROOF(m, D[begin:end], b) of RFC 9162 §2.1.4.1, unrolled: `complete` is b, and the
      // old tree always covers D[begin:oldSize] of the current range.
      let begin = 0;
      let end = newSize;
      let complete = true;
      for (;;) {
        if (oldSize === end) {
          if (!complete) topDown.push(this.#rangeHash(begin, end));
          break;
        }
        const split = begin + powerOfTwoAtMost(end - begin - 1);
        if (oldSize <= split) {
          topDown.push(this.#rangeHash(split, end));
          end = split;
        } else {
          topDown.push(this.#rangeHash(begin, split));
          begin = split;
          complete = false;
        }
      }
    }
    return { oldSize, newSize, path: copyReversed(topDown) };
  }

  #appendHash(leafHash: Hash): number {
    const index = this.#size;
    if (index >= logSizeMax) {
      throw new HistoryLogError(
        LogErrorCode.full,
        `history log is full: it holds ${index} leaves, the most it may hold (logSizeMax)`,
        { size: index, sizeMax: logSizeMax },
      );
    }
    this.#store.writeNode(0, index, leafHash);
    let node = leafHash;
    let level = 0;
    let position = index;
    // Each trailing one bit of the index closes a perfect subtree with its left neighbour.
    while (isOdd(position)) {
      const left = this.#edge[level];
      assert(left !== undefined, 'the right edge holds a subtree for each set bit of the size');
      node = hashNode(left, node);
      this.#edge[level] = undefined;
      level++;
      position = (position - 1) / 2;
      this.#store.writeNode(level, position, node);
    }
    this.#edge[level] = node;
    this.#store.writeLeafCount(index + 1);
    this.#size = index + 1;
    this.#currentRoot = undefined;
    return index;
  }

  /** The root folded from the right edge, smallest subtree first. */
  #edgeRoot(): Hash {
    let root: Hash | undefined;
    for (const node of this.#edge) {
      if (node !== undefined) root = root === undefined ? node : hashNode(node, root);
    }
    assert(root !== undefined, 'a non-empty log has a right edge');
    return root;
  }

  /**
   * MTH(D[begin:end]) for a range that starts on a multiple of its largest perfect piece, as
   * every range of the RFC 9162 recursion does: the perfect pieces (one per set bit of the
   * width, largest first) are stored, and MTH folds them from the right.
   */
  #rangeHash(begin: number, end: number): Hash {
    const width = end - begin;
    assert(width > 0, 'a subtree range is not empty');
    let pieceWidth = 1;
    let level = 0;
    while (pieceWidth * 2 <= width) {
      pieceWidth *= 2;
      level++;
    }
    if (pieceWidth === width) return this.#node(level, begin / pieceWidth);
    const pieces: Hash[] = [];
    let offset = begin;
    for (let remaining = width; remaining > 0; pieceWidth /= 2, level--) {
      if (pieceWidth > remaining) continue;
      pieces.push(this.#node(level, offset / pieceWidth));
      offset += pieceWidth;
      remaining -= pieceWidth;
    }
    let hash = pieces[pieces.length - 1]!;
    for (let i = pieces.length - 2; i >= 0; i--) hash = hashNode(pieces[i]!, hash);
    return hash;
  }

  /** A stored perfect subtree; its absence means the store broke its contract. */
  #node(level: number, index: number): Hash {
    assert(Number.isSafeInteger(index), 'a log node index is an integer');
    const hash = this.#store.readNode(level, index);
    assert(hash !== undefined, 'every perfect subtree within the leaf count is stored');
    assert(hash.length === hashBytes, 'a stored log node is a 32-byte hash');
    return hash;
  }
}

/** The proof hashes leaf side first, copied so that callers never hold views of the store. */
function copyReversed(topDown: readonly Hash[]): Hash[] {
  const path: Hash[] = [];
  for (let i = topDown.length - 1; i >= 0; i--) path.push(topDown[i]!.slice());
  return path;
}
