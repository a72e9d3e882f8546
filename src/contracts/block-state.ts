/**
 * The state as execution sees it: the committed version underneath, the writes of the block's
 * successful transactions above it (`BlockState`), and the writes of the running transaction on
 * top (`TxScope`). A transaction's writes reach the block only when it succeeds, so a failed
 * transaction changes nothing (decision 0020); the block's writes reach the tree in one batch.
 *
 * The block keeps every value it has read or written, decoded, for the rest of the block: the
 * keys most transactions touch (the signer's nonce and principal, its organisation, the policy)
 * are then read from the tree and decoded once per block, and their keys derived once per block
 * (`StateKeyCache`). Decoded values are treated as immutable (contracts build new objects).
 * Bench `contracts: execution`: about 9,000 tx/s before the value cache and the cheaper map keys,
 * 21,000–25,000 after; 64,000–72,000 with the key cache, reused buffers and no spreads on the
 * hot path (README "Execution speed").
 */
import { equalBytes } from '../base/index.ts';
import type { Schema } from '../codec/index.ts';
import { type StateEntry, type StateRoot, stateTreeGet } from '../merkle/index.ts';
import { ContractError } from './errors.ts';
import { contractCost, contractLimits } from './limits.ts';
import type { StateNamespace } from './state-keys.ts';
import { StateKeyCache, isRepeatedNamespace, stateKey } from './state-keys.ts';

/** Read access to a state, the interface queries and `decide` use. */
export interface StateReader {
  /** The value at `key`, or null. */
  get(key: Uint8Array): Uint8Array | null;
}

/** A committed version as a `StateReader`. */
export function readerOf(root: StateRoot): StateReader {
  return { get: (key) => stateTreeGet(root, key) };
}

/** Reads and decodes a value, or null if absent. */
export function readValue<T>(
  reader: StateReader,
  schema: Schema<T>,
  namespace: StateNamespace,
  ...parts: readonly Uint8Array[]
): T | null {
  const bytes = reader.get(stateKey(namespace, ...parts));
  return bytes === null ? null : schema.decode(bytes);
}

/** An event of a receipt: a type (`consent.granted`) and flat attributes (ids, codes, times). */
export interface ContractEvent {
  readonly type: string;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

/** A state value known to the block: its bytes (null: absent) and, once decoded, its value. */
interface CachedValue {
  readonly key: Uint8Array;
  /**
   * Null when absent, or for a bookkeeping write whose encoding waits for the block's end;
   * undefined for a value of the committed state that was decoded, whose bytes are read again
   * from the tree if ever needed (they would otherwise live, unused, until the block ends).
   */
  bytes: Uint8Array | null | undefined;
  /** The schema `decoded` was decoded with (or encoded from), null if not decoded yet. */
  schema: Schema<unknown> | null;
  decoded: unknown;
  /** Whether this is a write of the block (as opposed to a read of the committed state). */
  readonly written: boolean;
  /** A bookkeeping write whose bytes are computed by `entries` (see `setDeferred`). */
  deferred?: boolean;
}

/** The bytes of a cached value of a block over `base`, encoding a deferred write first. */
function bytesOf(entry: CachedValue, base: StateRoot): Uint8Array | null {
  if (entry.deferred === true && entry.schema !== null) {
    entry.bytes = entry.schema.encode(entry.decoded);
    entry.deferred = false;
  }
  if (entry.bytes === undefined) return stateTreeGet(base, entry.key);
  return entry.bytes;
}

/**
 * A map from 32-byte state keys to values, indexed by the key's first 30 bits, a small integer
 * that V8 keeps unboxed as a map key (bench `contracts: execution`: cheaper than string keys or a
 * 48-bit number, which is allocated on every lookup). Keys are hashes, so prefixes rarely collide;
 * the keys of a shared prefix go into a map of their own keyed by the whole key, so that keys
 * ground to share a prefix (2^30 hashes each) cost a lookup, not a scan.
 */
class StateKeyMap<V extends { readonly key: Uint8Array }> {
  /** Position in `#list` of the value of each prefix (by whole key once a prefix is shared). */
  readonly #index = new Map<number, number | Map<string, number>>();
  /** The values in the order their keys were first set. */
  readonly #list: V[] = [];

  static prefixOf(key: Uint8Array): number {
    return (key[0]! << 22) | (key[1]! << 14) | (key[2]! << 6) | (key[3]! >>> 2);
  }

  /** The whole key as a string of byte-valued characters, for a shared prefix's map. */
  static wholeKeyOf(key: Uint8Array): string {
    return String.fromCharCode.apply(null, key as unknown as number[]);
  }

  /** The position in `#list` of `key`'s value, or -1. */
  #find(found: number | Map<string, number> | undefined, key: Uint8Array): number {
    if (found === undefined) return -1;
    if (typeof found === 'number') return equalBytes(this.#list[found]!.key, key) ? found : -1;
    return found.get(StateKeyMap.wholeKeyOf(key)) ?? -1;
  }

  get(key: Uint8Array): V | undefined {
    const position = this.#find(this.#index.get(StateKeyMap.prefixOf(key)), key);
    return position < 0 ? undefined : this.#list[position];
  }

  set(value: V): void {
    const prefix = StateKeyMap.prefixOf(value.key);
    const found = this.#index.get(prefix);
    const position = this.#find(found, value.key);
    if (position >= 0) {
      this.#list[position] = value;
      return;
    }
    const added = this.#list.push(value) - 1;
    if (found === undefined) {
      this.#index.set(prefix, added);
    } else if (typeof found === 'number') {
      const shared = new Map<string, number>();
      shared.set(StateKeyMap.wholeKeyOf(this.#list[found]!.key), found);
      shared.set(StateKeyMap.wholeKeyOf(value.key), added);
      this.#index.set(prefix, shared);
    } else {
      found.set(StateKeyMap.wholeKeyOf(value.key), added);
    }
  }

  /** The values, in the order their keys were first set (a view: do not keep it). */
  values(): readonly V[] {
    return this.#list;
  }
}

/** A transaction's writes, by key. */
export type TxWrites = StateKeyMap<CachedValue>;

/** The block's pending writes above a committed version, and the values read so far. */
export class BlockState implements StateReader {
  readonly base: StateRoot;
  /** The keys derived during the block, remembered (`StateKeyCache`). */
  readonly keys = new StateKeyCache();
  readonly #values = new StateKeyMap<CachedValue>();

  constructor(base: StateRoot) {
    this.base = base;
  }

  get(key: Uint8Array): Uint8Array | null {
    return bytesOf(this.entry(key), this.base);
  }

  /**
   * The cached value of `key`, reading the committed state on a miss; kept for the rest of the
   * block if `remember` (keys most transactions read again), else handed out for this read only.
   */
  entry(key: Uint8Array, remember = true): CachedValue {
    let entry = this.#values.get(key);
    if (entry === undefined) {
      entry = {
        key,
        bytes: stateTreeGet(this.base, key),
        schema: null,
        decoded: null,
        written: false,
      };
      if (remember) this.#values.set(entry);
    }
    return entry;
  }

  /**
   * Bookkeeping written by execution itself (nonces): kept decoded and encoded once when the
   * block ends, however many transactions of the block rewrite it. Contracts never read these
   * keys' bytes through `get`; `read` returns the decoded value.
   */
  setDeferred<T>(key: Uint8Array, schema: Schema<T>, value: T): void {
    this.#values.set({
      key,
      bytes: null,
      schema: schema,
      decoded: value,
      written: true,
      deferred: true,
    });
  }

  /** Moves a transaction's writes into the block. */
  absorb(writes: TxWrites): void {
    for (const entry of writes.values()) this.#values.set(entry);
  }

  /** The block's writes as one batch for `stateTreeUpdate` (one entry per key). */
  entries(): StateEntry[] {
    const out: StateEntry[] = [];
    for (const entry of this.#values.values()) {
      if (entry.written) out.push({ key: entry.key, value: bytesOf(entry, this.base) });
    }
    return out;
  }
}

/** What a contract knows of the block and of its transaction. */
export interface TxEnvironment {
  readonly chainId: string;
  readonly height: number;
  /** Block time, Unix ms. */
  readonly time: number;
  readonly proposer: Uint8Array;
  readonly txId: Uint8Array;
  readonly txIndex: number;
  readonly signer: Uint8Array;
}

/**
 * The running transaction's view: reads go through its own writes, then the block's, then the
 * committed state; every read, write and event is charged, and the transaction fails with
 * `cost-exceeded` as soon as it passes `contractLimits.txCostMax`.
 */
export class TxScope implements StateReader {
  readonly env: TxEnvironment;
  readonly events: ContractEvent[] = [];
  readonly writes: TxWrites = new StateKeyMap<CachedValue>();
  #cost = 0;
  readonly #block: BlockState;

  constructor(block: BlockState, env: TxEnvironment) {
    this.#block = block;
    this.env = env;
  }

  get cost(): number {
    return this.#cost;
  }

  #entry(key: Uint8Array, remember: boolean): CachedValue {
    this.charge(contractCost.readUnits);
    return this.writes.get(key) ?? this.#block.entry(key, remember);
  }

  get(key: Uint8Array): Uint8Array | null {
    return bytesOf(this.#entry(key, true), this.#block.base);
  }

  /** The state key of `parts` in `namespace` (`stateKey`, remembered for the block). */
  key(namespace: StateNamespace, a?: Uint8Array, b?: Uint8Array, c?: Uint8Array): Uint8Array {
    return this.#block.keys.key(namespace, a, b, c);
  }

  read<T>(
    schema: Schema<T>,
    namespace: StateNamespace,
    a?: Uint8Array,
    b?: Uint8Array,
    c?: Uint8Array,
  ): T | null {
    // Values most transactions read again (the signer, its organisation, the policy, a patient)
    // stay decoded for the block; the others would only hold memory until the block ends, and
    // the garbage collector copies what lives (bench `contracts: execution`).
    const remember = a === undefined || isRepeatedNamespace(namespace);
    return this.readAt(schema, this.#block.keys.key(namespace, a, b, c), remember);
  }

  /**
   * Like `read`, for a key the caller derived (one it also writes: a record's head, a counter, a
   * consent). The value read is kept for the block only if `remember`; a write is always kept.
   */
  readAt<T>(schema: Schema<T>, key: Uint8Array, remember = false): T | null {
    const entry = this.#entry(key, remember);
    if (entry.schema === schema) return entry.decoded as T;
    const bytes = bytesOf(entry, this.#block.base);
    if (bytes === null) return null;
    entry.decoded = schema.decode(bytes);
    entry.schema = schema;
    // A committed value is kept decoded only; its bytes are in the tree.
    if (!entry.written) entry.bytes = undefined;
    return entry.decoded as T;
  }

  write<T>(
    schema: Schema<T>,
    value: T,
    namespace: StateNamespace,
    a?: Uint8Array,
    b?: Uint8Array,
    c?: Uint8Array,
  ): void {
    this.writeAt(schema, value, [this.#block.keys.key(namespace, a, b, c)]);
  }

  /** Writes one value under several keys, encoding it once (charged once per key). */
  writeAt<T>(schema: Schema<T>, value: T, keys: readonly Uint8Array[]): void {
    const bytes = schema.encode(value);
    for (const key of keys) {
      this.charge(
        contractCost.writeUnits + Math.ceil(bytes.length / 64) * contractCost.writeUnitsPer64Bytes,
      );
      // The value was checked by encoding it; decoding the bytes would give an equal value.
      this.writes.set({
        key,
        bytes,
        schema: schema,
        decoded: value,
        written: true,
      });
    }
  }

  remove(namespace: StateNamespace, a?: Uint8Array, b?: Uint8Array, c?: Uint8Array): void {
    this.charge(contractCost.writeUnits);
    const key = this.#block.keys.key(namespace, a, b, c);
    this.writes.set({
      key,
      bytes: null,
      schema: null,
      decoded: null,
      written: true,
    });
  }

  emit(type: string, attributes: ContractEvent['attributes']): void {
    this.charge(contractCost.eventUnits);
    this.events.push({ type, attributes });
  }

  charge(units: number): void {
    this.#cost += units;
    if (this.#cost > contractLimits.txCostMax) {
      throw new ContractError(
        'cost-exceeded',
        `transaction cost exceeds ${contractLimits.txCostMax} units (reached ${this.#cost})`,
        { costMax: contractLimits.txCostMax, cost: this.#cost },
      );
    }
  }
}
