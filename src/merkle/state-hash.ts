/**
 * The state tree's hash functions and key-path bits, shared by the tree and its verifier so both
 * hash exactly one way (the definitions are in the header of `state-tree.ts`).
 */
import { assert } from '../base/index.ts';
import { HashPrefix, hashBytes, sha256 } from '../crypto/index.ts';
import type { Hash } from '../crypto/index.ts';

/**
 * The hash of the empty subtree: 32 zero bytes, a constant (no hash computes to it in practice,
 * since every computed hash is a SHA-256 output). Returns a fresh copy so no caller can alter it.
 */
export function emptyStateHash(): Hash {
  return new Uint8Array(hashBytes);
}

// One input buffer per hash kind, reused by every call: the hash is computed before the function
// returns and nothing else runs meanwhile, so no two calls ever share it. This saves an allocation
// (and libsodium's copy of a fresh small array off the V8 heap) per hash on the update path.
const leafInput = new Uint8Array(1 + 2 * hashBytes);
leafInput[0] = HashPrefix.stateLeaf;
const nodeInput = new Uint8Array(1 + 2 * hashBytes);
nodeInput[0] = HashPrefix.stateNode;

/** Leaf hash `SHA-256(0x10 ‖ key ‖ valueHash)` (HashPrefix.stateLeaf, decision 0003). */
export function stateLeafHash(key: Uint8Array, valueHash: Hash): Hash {
  assert(key.length === hashBytes, 'a state key is 32 bytes');
  assert(valueHash.length === hashBytes, 'a value hash is 32 bytes');
  leafInput.set(key, 1);
  leafInput.set(valueHash, 1 + hashBytes);
  return sha256(leafInput);
}

/** Internal-node hash `SHA-256(0x11 ‖ left ‖ right)` (HashPrefix.stateNode, decision 0003). */
export function stateNodeHash(left: Hash, right: Hash): Hash {
  assert(left.length === hashBytes, 'a left child hash is 32 bytes');
  assert(right.length === hashBytes, 'a right child hash is 32 bytes');
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + hashBytes);
  return sha256(nodeInput);
}

/** Bit `depth` of `key`, most significant bit of byte 0 first: 0 goes left, 1 goes right. */
export function stateKeyBit(key: Uint8Array, depth: number): number {
  return (key[depth >>> 3]! >>> (7 - (depth & 7))) & 1;
}

/** True when every byte of `bytes` is zero (an empty-subtree hash). */
export function isAllZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
