/**
 * The transaction index (decision 0031): which block holds a transaction id. Each block's ids are
 * stored once, packed in its `blocks` row; in memory, an open-addressing hash table maps a 32-bit
 * fingerprint of each id (its first four bytes) to the height of its block, 8 bytes a slot at
 * most half full. A lookup reads the candidate blocks' packed ids to confirm (and to find the
 * index), so a fingerprint shared by two ids costs one more row read, never a wrong answer.
 * Rebuilt at open from the `blocks` rows.
 */
import { assert } from '../base/index.ts';
import { type Hash, hashBytes } from '../crypto/index.ts';

/** First capacity of the table, in slots (a power of two). */
const firstCapacity = 1024;

/** Fingerprint → height, for every committed transaction (a replayed one once per block). */
export class TransactionIndex {
  /** Fingerprints, 0 for an empty slot (a fingerprint of 0 is stored as 1). */
  #fingerprints = new Uint32Array(firstCapacity);
  #heights = new Uint32Array(firstCapacity);
  #count = 0;

  /** Entries held. */
  get size(): number {
    return this.#count;
  }

  /** Bytes the table's arrays hold. */
  get bytes(): number {
    return this.#fingerprints.byteLength + this.#heights.byteLength;
  }

  /** Records that the block at `height` holds `txIds`. */
  addBlock(height: number, txIds: readonly Hash[]): void {
    assert(Number.isSafeInteger(height) && height > 0 && height <= 0xffff_ffff, 'a block height');
    for (const txId of txIds) this.#insert(fingerprintOf(txId), height);
  }

  /** Records the packed ids of the block at `height` (32 bytes each). */
  addPacked(height: number, packed: Uint8Array): void {
    assert(Number.isSafeInteger(height) && height > 0 && height <= 0xffff_ffff, 'a block height');
    for (let offset = 0; offset < packed.length; offset += hashBytes) {
      this.#insert(fingerprintAt(packed, offset), height);
    }
  }

  /** The heights of the blocks that may hold `txId`, lowest first. */
  candidates(txId: Hash): number[] {
    const fingerprint = fingerprintOf(txId);
    const mask = this.#fingerprints.length - 1;
    const heights: number[] = [];
    for (let slot = fingerprint & mask; this.#fingerprints[slot] !== 0; slot = (slot + 1) & mask) {
      if (this.#fingerprints[slot] === fingerprint) heights.push(this.#heights[slot]!);
    }
    return heights.sort((a, b) => a - b);
  }

  #insert(fingerprint: number, height: number): void {
    if ((this.#count + 1) * 2 > this.#fingerprints.length) this.#grow();
    const fingerprints = this.#fingerprints;
    const mask = fingerprints.length - 1;
    let slot = fingerprint & mask;
    while (fingerprints[slot] !== 0) slot = (slot + 1) & mask;
    fingerprints[slot] = fingerprint;
    this.#heights[slot] = height;
    this.#count++;
  }

  #grow(): void {
    const fingerprints = this.#fingerprints;
    const heights = this.#heights;
    this.#fingerprints = new Uint32Array(fingerprints.length * 2);
    this.#heights = new Uint32Array(fingerprints.length * 2);
    this.#count = 0;
    for (let slot = 0; slot < fingerprints.length; slot++) {
      if (fingerprints[slot] !== 0) this.#insert(fingerprints[slot]!, heights[slot]!);
    }
  }
}

function fingerprintAt(bytes: Uint8Array, offset: number): number {
  const value =
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8)) +
    bytes[offset + 3]!;
  return value >>> 0 || 1;
}

function fingerprintOf(txId: Hash): number {
  return fingerprintAt(txId, 0);
}

/** A block's transaction ids as one BLOB (32 bytes each, in block order). */
export function packTxIds(txIds: readonly Hash[]): Uint8Array {
  const packed = new Uint8Array(txIds.length * hashBytes);
  txIds.forEach((txId, index) => packed.set(txId, index * hashBytes));
  return packed;
}

/** The index of `txId` in a `packTxIds` BLOB, or -1. */
export function indexInPacked(packed: Uint8Array, txId: Hash): number {
  const count = packed.length / hashBytes;
  outer: for (let index = 0; index < count; index++) {
    const offset = index * hashBytes;
    for (let i = 0; i < hashBytes; i++) if (packed[offset + i] !== txId[i]) continue outer;
    return index;
  }
  return -1;
}

/** The ids of a `packTxIds` BLOB, or null if its length is not a multiple of 32. */
export function unpackTxIds(packed: Uint8Array): Hash[] | null {
  if (packed.length % hashBytes !== 0) return null;
  const txIds: Hash[] = [];
  for (let offset = 0; offset < packed.length; offset += hashBytes) {
    txIds.push(packed.slice(offset, offset + hashBytes));
  }
  return txIds;
}
