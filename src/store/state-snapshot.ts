/**
 * The rolling state snapshot (decision 0031): the state is saved one key range at a time (the
 * keys whose first byte is the range's number), each range read from the head's state when it
 * is written, a few ranges per block, so that no commit writes the whole state. A generation is
 * complete when all `stateSnapshotRanges` ranges are written; the state at the head is that
 * generation plus every change after the height its first range was written at, replayed in
 * height order (a key changed in between is simply set again, to its later value).
 */
import { assert } from '../base/index.ts';
import type { StateEntry, StateNodeRef, StateRoot } from '../merkle/index.ts';
import { stateEmptyRef } from '../merkle/index.ts';

import { stateSnapshotRanges } from './sqlite-schema.ts';

/** Bits of the key that name its range: the first byte. */
const rangeBits = 8;

/**
 * The entries of `state` whose key's first byte is `range`, in key order. Walks merkle's tree by
 * its documented shape (the child at depth d is the key's bit d, most significant bit of the
 * first byte first, 0 left; a lone key is a leaf higher up), through the `StateNodeStore`
 * interface; the rebuilt root is checked against the header at every open, which catches a walk
 * that got the shape wrong.
 */
export function stateRangeEntries(state: StateRoot, range: number): StateEntry[] {
  assert(Number.isInteger(range) && range >= 0 && range < stateSnapshotRanges, 'a key range');
  const { store } = state;
  let ref: StateNodeRef = state.ref;
  for (let depth = 0; depth < rangeBits && ref > 0; depth++) {
    const bit = (range >>> (rangeBits - 1 - depth)) & 1;
    ref = bit === 0 ? store.leftChild(ref) : store.rightChild(ref);
  }
  const entries: StateEntry[] = [];
  if (ref === stateEmptyRef) return entries;
  if (ref < 0) {
    // A leaf above the range's depth holds the only key under its prefix, which may not be ours.
    const key = store.readLeafKey(ref);
    if (key[0] === range) entries.push({ key, value: store.readLeafValue(ref) });
    return entries;
  }
  // Left before right, so the entries come in key order; a stack, not recursion.
  const stack: StateNodeRef[] = [ref];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node < 0) {
      entries.push({ key: store.readLeafKey(node), value: store.readLeafValue(node) });
      continue;
    }
    const right = store.rightChild(node);
    const left = store.leftChild(node);
    if (right !== stateEmptyRef) stack.push(right);
    if (left !== stateEmptyRef) stack.push(left);
  }
  return entries;
}

/** Where the snapshot being built stands: the next range to write and its generation's start. */
export interface SnapshotProgress {
  /** The last complete generation, and the height its first range was written at. */
  readonly generation: number;
  readonly height: number;
  /** The next range of generation `generation + 1` to write (0: none written yet). */
  readonly buildingRange: number;
  /** The height range 0 of generation `generation + 1` was written at (if `buildingRange` > 0). */
  readonly buildingHeight: number;
}

/**
 * Decides how many ranges each block rewrites: every committed change earns
 * `entriesPerChange` entries of credit, and a range costs the average range size (at least one
 * entry), so the snapshot is rewritten once per state-size worth of changes.
 */
export class SnapshotPacer {
  #credit = 0;
  readonly #entriesPerChange: number;

  constructor(entriesPerChange: number) {
    this.#entriesPerChange = entriesPerChange;
  }

  /** The number of ranges the block with `changes` changes over `stateKeys` keys rewrites. */
  rangesFor(options: { changes: number; stateKeys: number; rangesLeft: number }): number {
    this.#credit += options.changes * this.#entriesPerChange;
    const rangeCost = Math.max(1, options.stateKeys / stateSnapshotRanges);
    const ranges = Math.min(options.rangesLeft, Math.floor(this.#credit / rangeCost));
    this.#credit -= ranges * rangeCost;
    // Credit is not hoarded across a generation's end: a quiet chain does not owe a burst.
    if (ranges === options.rangesLeft) this.#credit = 0;
    return ranges;
  }
}
