/**
 * The store's two packed state records (decision 0031), each one BLOB: a block's state changes
 * (key, previous value, new value), read back per block (at open, and to rebuild an old
 * version), and a range of the state snapshot (key, value). Packing a block's 4,000 changes in
 * one row instead of 4,000 rows is what keeps a commit to a few statements (bench/store.ts).
 *
 * Layout, all integers unsigned 32-bit big-endian: `count`, then per entry the 32-byte key and,
 * for each value the record holds, its length (`0xffffffff` for none) and its bytes.
 */
import type { StateEntry } from '../merkle/index.ts';
import { hashBytes } from '../crypto/index.ts';

import { StoreError, StoreErrorCode } from './errors.ts';

/** One recorded state change: the key, the value it replaced and its new value (null: none). */
export interface StateChange {
  readonly key: Uint8Array;
  readonly previous: Uint8Array | null;
  readonly value: Uint8Array | null;
}

const noValue = 0xffff_ffff;

function valueBytes(value: Uint8Array | null): number {
  return 4 + (value === null ? 0 : value.length);
}

function writeValue(view: DataView, out: Uint8Array, at: number, value: Uint8Array | null): number {
  if (value === null) {
    view.setUint32(at, noValue);
    return at + 4;
  }
  view.setUint32(at, value.length);
  out.set(value, at + 4);
  return at + 4 + value.length;
}

/** Reads packed records, refusing (`corrupt`) anything that runs past the end or is left over. */
class RecordReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #what: string;
  #at = 0;

  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#what = what;
  }

  uint32(): number {
    this.#need(4);
    const value = this.#view.getUint32(this.#at);
    this.#at += 4;
    return value;
  }

  key(): Uint8Array {
    this.#need(hashBytes);
    const key = this.#bytes.subarray(this.#at, this.#at + hashBytes);
    this.#at += hashBytes;
    return key;
  }

  value(): Uint8Array | null {
    const length = this.uint32();
    if (length === noValue) return null;
    this.#need(length);
    const value = this.#bytes.subarray(this.#at, this.#at + length);
    this.#at += length;
    return value;
  }

  end(): void {
    if (this.#at !== this.#bytes.length) {
      throw this.#corrupt(`${this.#bytes.length - this.#at} bytes left over`);
    }
  }

  #need(bytes: number): void {
    if (this.#at + bytes > this.#bytes.length) {
      throw this.#corrupt(`expected ${bytes} more bytes at offset ${this.#at}`);
    }
  }

  #corrupt(found: string): StoreError {
    return new StoreError(
      StoreErrorCode.corrupt,
      `${this.#what}: ${found} of ${this.#bytes.length}`,
    );
  }
}

/** Packs a block's state changes. */
export function encodeStateChanges(changes: readonly StateChange[]): Uint8Array {
  let length = 4;
  for (const change of changes) {
    length += hashBytes + valueBytes(change.previous) + valueBytes(change.value);
  }
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  view.setUint32(0, changes.length);
  let at = 4;
  for (const change of changes) {
    out.set(change.key, at);
    at = writeValue(view, out, at + hashBytes, change.previous);
    at = writeValue(view, out, at, change.value);
  }
  return out;
}

/** Unpacks `encodeStateChanges` (views into `bytes`); `what` names the row in errors. */
export function decodeStateChanges(bytes: Uint8Array, what: string): StateChange[] {
  const reader = new RecordReader(bytes, what);
  const count = reader.uint32();
  const changes: StateChange[] = [];
  for (let i = 0; i < count; i++) {
    const key = reader.key();
    const previous = reader.value();
    changes.push({ key, previous, value: reader.value() });
  }
  reader.end();
  return changes;
}

/** Packs the entries of one snapshot range (every value present). */
export function encodeSnapshotEntries(entries: readonly StateEntry[]): Uint8Array {
  let length = 4;
  for (const entry of entries) length += hashBytes + valueBytes(entry.value);
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  view.setUint32(0, entries.length);
  let at = 4;
  for (const entry of entries) {
    out.set(entry.key, at);
    at = writeValue(view, out, at + hashBytes, entry.value);
  }
  return out;
}

/** Unpacks `encodeSnapshotEntries`; a missing value is corrupt (the snapshot holds no deletes). */
export function decodeSnapshotEntries(bytes: Uint8Array, what: string): StateEntry[] {
  const reader = new RecordReader(bytes, what);
  const count = reader.uint32();
  const entries: StateEntry[] = [];
  for (let i = 0; i < count; i++) {
    const key = reader.key();
    const value = reader.value();
    if (value === null) {
      throw new StoreError(StoreErrorCode.corrupt, `${what}: entry ${i} has no value`);
    }
    entries.push({ key, value });
  }
  reader.end();
  return entries;
}
