/**
 * Committed versions of the state, one per height, and proofs against any of them (DESIGN.md
 * "The chain": proofs of inclusion and non-inclusion for any key at any committed height). The
 * interface is small and synchronous so that the node's durable store can implement it; the
 * in-memory implementation here keeps every version (the tree shares unchanged nodes).
 */
import type { Hash } from '../crypto/index.ts';
import {
  type StateProof,
  type StateRoot,
  stateTreeProve,
  stateTreeRootHash,
} from '../merkle/index.ts';
import { ContractError } from './errors.ts';

/** Where the state version of each committed height is kept. */
export interface StateHistory {
  /** Records the state after executing `height` (0: genesis); heights go up by one. */
  commit(height: number, state: StateRoot): void;
  /** The state after `height`, or null if not committed (or pruned). */
  stateAt(height: number): StateRoot | null;
  /** The last committed height, or null before genesis. */
  latestHeight(): number | null;
}

/** Keeps every committed version in memory. */
export class MemoryStateHistory implements StateHistory {
  readonly #versions: StateRoot[] = [];

  commit(height: number, state: StateRoot): void {
    if (height !== this.#versions.length) {
      throw new ContractError(
        'wrong-block',
        `state history: expected height ${this.#versions.length} next, found ${height}`,
      );
    }
    this.#versions.push(state);
  }

  stateAt(height: number): StateRoot | null {
    return this.#versions[height] ?? null;
  }

  latestHeight(): number | null {
    return this.#versions.length === 0 ? null : this.#versions.length - 1;
  }
}

/** A key's value at a height with the proof of it (inclusion, or non-inclusion when null). */
export interface HeightStateProof {
  readonly height: number;
  readonly rootHash: Hash;
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
  readonly proof: StateProof;
}

/** Proves `key` at `height`; check it offline with merkle's `verifyStateProof`. */
export function proveStateAt(options: {
  history: StateHistory;
  height: number;
  key: Uint8Array;
}): HeightStateProof {
  const state = options.history.stateAt(options.height);
  if (state === null) {
    throw new ContractError(
      'invalid-query',
      `height ${options.height} is not committed (latest ${options.history.latestHeight()})`,
    );
  }
  const { value, proof } = stateTreeProve(state, options.key);
  return {
    height: options.height,
    rootHash: stateTreeRootHash(state),
    key: options.key,
    value,
    proof,
  };
}
