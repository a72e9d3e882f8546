/**
 * Where the history log keeps its nodes: the hashes of the complete (perfect) subtrees, by
 * (level, index), and the leaf count. Node (level, index) is MTH(D[index·2^level :
 * (index+1)·2^level]) (RFC 9162 §2.1.1); level 0 holds the leaf hashes. Imperfect subtrees on the
 * right edge are never stored: the log computes them from perfect ones when it needs them.
 */
import { assert } from '../base/index.ts';
import { hashBytes } from '../crypto/index.ts';
import type { Hash } from '../crypto/index.ts';

/**
 * Synchronous node storage behind the history log, so that the node's durable store (SQLite, a
 * key-value file) can implement it. Contract:
 *
 * - `writeNode` is called for every perfect subtree as soon as its last leaf arrives, before
 *   `writeLeafCount` covers that leaf. A crash between the two leaves nodes beyond the leaf count,
 *   which are harmless: the log rewrites them with the same hashes.
 * - `readNode(level, index)` returns the hash written for that node, or `undefined` if none was.
 *   The log never mutates what it gets back, so a store may return a view of its own memory.
 * - A durable implementation wraps the writes of one block in one transaction.
 */
export interface LogNodeStore {
  /** Leaves whose nodes are all written: the log's tree_size (RFC 9162 §2.1). */
  readLeafCount(): number;
  /** Records that leaves [0, count) and all their perfect subtrees are written. */
  writeLeafCount(count: number): void;
  /** The hash of the perfect subtree (level, index), or `undefined` if it was never written. */
  readNode(level: number, index: number): Hash | undefined;
  /** Stores the hash of the perfect subtree (level, index); the store copies `hash`. */
  writeNode(level: number, index: number, hash: Hash): void;
}

/**
 * Nodes per memory chunk: 2^15 nodes of 32 bytes = 1 MiB. Larger chunks waste less on chunk
 * bookkeeping; smaller ones bound the copy when a chunk grows and the memory a tiny log holds.
 */
export const memoryLogChunkNodes = 32_768;

/** First capacity of a level's growing chunk, in nodes (doubles up to `memoryLogChunkNodes`). */
const firstChunkNodes = 16;

interface MemoryLevel {
  /** All full chunks, then the growing one. */
  readonly chunks: Uint8Array[];
  /** Nodes stored on this level. */
  count: number;
}

/**
 * In-memory `LogNodeStore`: per level, 32 bytes per node packed in 1 MiB chunks, so 2^20 leaves
 * take about 64 MiB (2 × 32 MiB) and growing never copies more than one chunk. Nodes are
 * written in index order on each level (append-only), or rewritten in place.
 */
export class MemoryLogNodeStore implements LogNodeStore {
  readonly #levels: MemoryLevel[] = [];
  #leafCount = 0;

  readLeafCount(): number {
    return this.#leafCount;
  }

  writeLeafCount(count: number): void {
    assert(Number.isSafeInteger(count) && count >= 0, 'leaf count is a non-negative integer');
    this.#leafCount = count;
  }

  readNode(level: number, index: number): Hash | undefined {
    const stored = this.#levels[level];
    if (stored === undefined || index >= stored.count) return undefined;
    const chunk = stored.chunks[Math.floor(index / memoryLogChunkNodes)];
    assert(chunk !== undefined, 'a stored node lies in an allocated chunk');
    const offset = (index % memoryLogChunkNodes) * hashBytes;
    return chunk.subarray(offset, offset + hashBytes);
  }

  writeNode(level: number, index: number, hash: Hash): void {
    assert(hash.length === hashBytes, 'a log node is a 32-byte hash');
    while (this.#levels.length <= level) this.#levels.push({ chunks: [], count: 0 });
    const stored = this.#levels[level]!;
    // Levels fill left to right, so a write either appends or rewrites a node already there.
    assert(index <= stored.count, 'log nodes are written in index order on each level');
    const chunkIndex = Math.floor(index / memoryLogChunkNodes);
    const offset = (index % memoryLogChunkNodes) * hashBytes;
    let chunk = stored.chunks[chunkIndex];
    if (chunk === undefined) {
      chunk = new Uint8Array(firstChunkNodes * hashBytes);
      stored.chunks.push(chunk);
    } else if (offset + hashBytes > chunk.length) {
      const grown = new Uint8Array(Math.min(chunk.length * 2, memoryLogChunkNodes * hashBytes));
      grown.set(chunk);
      stored.chunks[chunkIndex] = grown;
      chunk = grown;
    }
    chunk.set(hash, offset);
    if (index === stored.count) stored.count++;
  }

  /** Bytes of node memory allocated (for benchmarks and capacity planning). */
  get allocatedBytes(): number {
    let total = 0;
    for (const level of this.#levels) for (const chunk of level.chunks) total += chunk.length;
    return total;
  }
}
