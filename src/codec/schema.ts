import { assert } from '../base/index.ts';

import {
  type ByteWriter,
  MajorType,
  SimpleByte,
  releaseWriter,
  takeWriter,
  utf8LengthOf,
} from './byte-writer.ts';
import type { CborValue, FieldPath } from './cbor-value.ts';
import { childPath, describeValue, renderPath, rootPath } from './cbor-value.ts';
import { CodecError } from './codec-error.ts';
import { decodeCbor } from './decode-cbor.ts';
import type { DecodeCborOptions } from './decode-cbor.ts';
import { checkText, valueError, writeCborValue } from './encode-cbor.ts';
import { codecDepthMax } from './limits.ts';
import { TypeTag, typeTagName } from './type-tags.ts';
import type { TypeTagName } from './type-tags.ts';

/**
 * The type and constraints of one value in a chain object, and how it maps onto the CBOR subset
 * (RFC 8949 §4.2.1). `Infer<typeof schema>` is the TypeScript type it encodes and decodes.
 *
 * Schemas are built once, at module load, with the functions below (`uint`, `bytes`, `struct`,
 * `defineObject`, …); every one checks its constraints both when encoding and when decoding, and
 * names the field path in its errors (`Block.txs[3].signature: expected 64 bytes, found 63`).
 */
export abstract class Schema<T> {
  /** What the schema accepts, for the "expected …" half of error messages. */
  abstract readonly expected: string;

  /** The name of a top-level value in error paths. */
  protected readonly rootName: string = 'value';

  #root: FieldPath | undefined;

  /** The path of a top-level value, made once (paths are immutable). */
  #rootPath(): FieldPath {
    this.#root ??= rootPath(this.rootName);
    return this.#root;
  }

  /**
   * Writes `value` at `path`, inside `depth` enclosing arrays and maps. Internal to the codec:
   * `value` is `unknown` because a caller's cast or plain JavaScript can hand anything in.
   */
  abstract write(writer: ByteWriter, value: unknown, path: FieldPath, depth: number): void;

  /** Checks one decoded item against the schema and converts it. Internal to the codec. */
  abstract read(item: CborValue, path: FieldPath): T;

  /** The deterministic CBOR encoding of `value` (RFC 8949 §4.2.1), after checking it. */
  encode(value: T): Uint8Array {
    const writer = takeWriter();
    try {
      this.write(writer, value, this.#rootPath(), 0);
      return writer.finish();
    } finally {
      releaseWriter(writer);
    }
  }

  /** Strictly decodes `bytes` (see `decodeCbor`) and checks the item against the schema. */
  decode(bytes: Uint8Array, options?: DecodeCborOptions): T {
    return this.read(decodeCbor(bytes, options), this.#rootPath());
  }

  /** Checks an item already decoded by `decodeCbor` (for callers that dispatch on its tag). */
  fromCborValue(item: CborValue): T {
    return this.read(item, this.#rootPath());
  }
}

/** The TypeScript type that a schema encodes and decodes. */
export type Infer<S extends Schema<unknown>> = S extends Schema<infer T> ? T : never;

/** Named fields, in encoding order (the order of the object literal). */
export type Fields = { readonly [name: string]: Schema<unknown> };

/** The object type of `Fields`: one read-only property per field. */
export type InferFields<F extends Fields> = { readonly [K in keyof F]: Infer<F[K]> };

function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function checkDepth(path: FieldPath, depth: number): void {
  if (depth + 1 > codecDepthMax) {
    const expected = `at most ${codecDepthMax} levels of nested arrays and maps`;
    throw valueError('too-deep', path, expected, `level ${depth + 1}`);
  }
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

// ----------------------------------------------------------------------------------------------
// Integers

class IntegerSchema extends Schema<number> {
  readonly expected: string;

  constructor(
    private readonly min: number,
    private readonly max: number,
  ) {
    super();
    assert(Number.isSafeInteger(min), 'an integer schema minimum is a safe integer');
    assert(Number.isSafeInteger(max), 'an integer schema maximum is a safe integer');
    assert(min <= max, 'an integer schema minimum is at most its maximum');
    this.expected = `an integer from ${min} to ${max}`;
  }

  write(writer: ByteWriter, value: unknown, path: FieldPath): void {
    const checked = this.check(value, path);
    if (checked >= 0) writer.writeHead(MajorType.unsignedInteger, checked);
    else writer.writeHead(MajorType.negativeInteger, -1 - checked);
  }

  read(item: CborValue, path: FieldPath): number {
    return this.check(item, path);
  }

  private check(value: unknown, path: FieldPath): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      throw valueError('wrong-type', path, this.expected, describeValue(value));
    }
    if (value < this.min || value > this.max) {
      throw valueError('out-of-range', path, this.expected, `${value}`);
    }
    return value;
  }
}

/** Bounds of `uint`: `max` defaults to 2^53 − 1. */
export type UintBounds = { readonly min?: number; readonly max?: number };

/** An unsigned integer (RFC 8949 major type 0) from `min` (default 0) to `max`. */
export function uint(bounds: UintBounds = {}): Schema<number> {
  const min = bounds.min ?? 0;
  assert(min >= 0, 'a uint schema minimum is not negative');
  return new IntegerSchema(min, bounds.max ?? Number.MAX_SAFE_INTEGER);
}

/** Bounds of `int`: both default to ±(2^53 − 1). */
export type IntBounds = { readonly min?: number; readonly max?: number };

/** A signed integer (RFC 8949 major types 0 and 1) from `min` to `max`. */
export function int(bounds: IntBounds = {}): Schema<number> {
  return new IntegerSchema(
    bounds.min ?? -Number.MAX_SAFE_INTEGER,
    bounds.max ?? Number.MAX_SAFE_INTEGER,
  );
}

// ----------------------------------------------------------------------------------------------
// Byte strings, text, booleans

class LengthRange {
  readonly expected: string;

  constructor(
    readonly min: number,
    readonly max: number,
    unit: string,
  ) {
    assert(Number.isSafeInteger(min) && min >= 0, 'a length minimum is a safe uint');
    assert(Number.isSafeInteger(max) && max >= min, 'a length maximum is at least its minimum');
    if (min === max) this.expected = plural(max, unit);
    else if (min === 0) this.expected = `at most ${plural(max, unit)}`;
    else this.expected = `${min} to ${plural(max, unit)}`;
  }

  /**
   * Checks `length`; the error says "found N" or, with `unit`, "found N units" (built only on
   * failure: this runs for every string, byte string and list encoded or decoded).
   */
  check(length: number, path: FieldPath, unit?: string): void {
    if (length < this.min || length > this.max) {
      const found = unit === undefined ? `${length}` : plural(length, unit);
      throw valueError('wrong-length', path, this.expected, found);
    }
  }
}

/** Length of a `bytes` field: exactly `length`, or from `lengthMin` (default 0) to `lengthMax`. */
export type BytesLength =
  { readonly length: number } | { readonly lengthMax: number; readonly lengthMin?: number };

class BytesSchema extends Schema<Uint8Array> {
  readonly expected: string;
  private readonly range: LengthRange;

  constructor(length: BytesLength) {
    super();
    this.range =
      'length' in length
        ? new LengthRange(length.length, length.length, 'byte')
        : new LengthRange(length.lengthMin ?? 0, length.lengthMax, 'byte');
    this.expected = `a byte string of ${this.range.expected}`;
  }

  write(writer: ByteWriter, value: unknown, path: FieldPath): void {
    const checked = this.check(value, path);
    writer.writeHead(MajorType.byteString, checked.length);
    writer.writeBytes(checked);
  }

  read(item: CborValue, path: FieldPath): Uint8Array {
    // The decoder already copied the bytes out of its input; no second copy is needed.
    return this.check(item, path);
  }

  private check(value: unknown, path: FieldPath): Uint8Array {
    if (!(value instanceof Uint8Array)) {
      throw valueError('wrong-type', path, this.expected, describeValue(value));
    }
    this.range.check(value.length, path);
    return value;
  }
}

/**
 * A byte string (RFC 8949 major type 2) of an exact or bounded length: `bytes({ length: 32 })`
 * for a hash, `bytes({ lengthMax: 1024 })` for a bounded blob. Decoded values are fresh copies.
 */
export function bytes(length: BytesLength): Schema<Uint8Array> {
  return new BytesSchema(length);
}

/** Size of a `text` field in UTF-8 bytes (not characters, whose count depends on the counter). */
export type TextLength = { readonly bytesMax: number; readonly bytesMin?: number };

class TextSchema extends Schema<string> {
  readonly expected: string;
  private readonly range: LengthRange;

  constructor(length: TextLength) {
    super();
    this.range = new LengthRange(length.bytesMin ?? 0, length.bytesMax, 'byte');
    this.expected = `a text string of ${this.range.expected} of UTF-8`;
  }

  write(writer: ByteWriter, value: unknown, path: FieldPath): void {
    if (typeof value !== 'string') {
      throw valueError('wrong-type', path, this.expected, describeValue(value));
    }
    const length = checkText(value, path);
    this.range.check(length, path, 'byte');
    writer.writeText(value, length);
  }

  read(item: CborValue, path: FieldPath): string {
    if (typeof item !== 'string') {
      throw valueError('wrong-type', path, this.expected, describeValue(item));
    }
    // Decoded text is well-formed, so its UTF-8 length is defined.
    const length = utf8LengthOf(item)!;
    this.range.check(length, path, 'byte');
    return item;
  }
}

/** A UTF-8 text string (RFC 8949 major type 3) of at most `bytesMax` bytes. */
export function text(length: TextLength): Schema<string> {
  return new TextSchema(length);
}

class TextEnumSchema<V extends string> extends Schema<V> {
  readonly expected: string;
  // Each value with its UTF-8 length, computed once.
  private readonly lengths: ReadonlyMap<string, number>;

  constructor(values: readonly V[]) {
    super();
    assert(values.length > 0, 'a text enumeration has at least one value');
    const lengths = new Map<string, number>();
    for (const value of values) {
      const length = utf8LengthOf(value);
      assert(length !== undefined, 'a text enumeration value is well-formed');
      lengths.set(value, length);
    }
    assert(lengths.size === values.length, 'a text enumeration lists each value once');
    this.lengths = lengths;
    this.expected = `one of ${values.map((value) => JSON.stringify(value)).join(', ')}`;
  }

  write(writer: ByteWriter, value: unknown, path: FieldPath): void {
    const checked = this.check(value, path);
    writer.writeText(checked, this.lengths.get(checked)!);
  }

  read(item: CborValue, path: FieldPath): V {
    return this.check(item, path);
  }

  private check(value: unknown, path: FieldPath): V {
    if (typeof value !== 'string') {
      throw valueError('wrong-type', path, `a text string, ${this.expected}`, describeValue(value));
    }
    if (!this.lengths.has(value)) {
      throw valueError('out-of-range', path, this.expected, JSON.stringify(value));
    }
    return value as V;
  }
}

/**
 * One text string out of a fixed list, typed as their union:
 * `textEnum(['read', 'write'])` is a `Schema<'read' | 'write'>`.
 */
export function textEnum<const V extends readonly [string, ...string[]]>(
  values: V,
): Schema<V[number]> {
  return new TextEnumSchema<V[number]>(values);
}

class BooleanSchema extends Schema<boolean> {
  readonly expected = 'false or true';

  write(writer: ByteWriter, value: unknown, path: FieldPath): void {
    writer.writeByte(this.check(value, path) ? SimpleByte.true : SimpleByte.false);
  }

  read(item: CborValue, path: FieldPath): boolean {
    return this.check(item, path);
  }

  private check(value: unknown, path: FieldPath): boolean {
    if (typeof value !== 'boolean') {
      throw valueError('wrong-type', path, this.expected, describeValue(value));
    }
    return value;
  }
}

/** `false` or `true` (RFC 8949 simple values 20 and 21). */
export function bool(): Schema<boolean> {
  return new BooleanSchema();
}

class CborValueSchema extends Schema<CborValue> {
  readonly expected = 'any value of the codec subset';

  write(writer: ByteWriter, value: unknown, path: FieldPath, depth: number): void {
    writeCborValue(writer, value, path, depth);
  }

  read(item: CborValue): CborValue {
    return item;
  }
}

/**
 * Any value of the codec's subset (`CborValue`), checked only by the strict decoder. For payloads
 * whose shape another layer checks, such as a transaction body dispatched on its kind.
 */
export function cborValue(): Schema<CborValue> {
  return new CborValueSchema();
}

// ----------------------------------------------------------------------------------------------
// Field paths

/**
 * The paths of a schema's fields or items under the parent path it was last used at. Paths are
 * needed only for error messages, but are passed down for every field of every value encoded or
 * decoded; a schema is mostly used under one parent (a top-level value, a field of a struct), so
 * making each child path once per parent, not once per value, saves most of the allocation of
 * encoding and decoding (bench `contracts: execution`). Paths are immutable, so sharing is safe.
 */
class ChildPaths {
  /** Recent parents and their children's paths, at most `childPathParentsMax`, round robin. */
  readonly #parents: FieldPath[] = [];
  readonly #children: FieldPath[][] = [];
  #next = 0;

  /** `segments[index]` names the child at `index`; without it, children are array indexes. */
  constructor(private readonly segments?: readonly string[]) {}

  /** `childPath(parent, segment of index)`, made once per parent and index. */
  child(parent: FieldPath, index: number): FieldPath {
    let slot = this.#parents.indexOf(parent);
    if (slot < 0) {
      // A schema shared by several parents (a struct inside two others) keeps each of them.
      slot = this.#next;
      this.#next = (this.#next + 1) % childPathParentsMax;
      this.#parents[slot] = parent;
      this.#children[slot] = [];
    }
    const children = this.#children[slot]!;
    let child = children[index];
    if (child === undefined) {
      child = childPath(parent, this.segments === undefined ? index : this.segments[index]!);
      children[index] = child;
    }
    return child;
  }
}

/** Parents whose child paths one schema remembers (see `ChildPaths`). */
const childPathParentsMax = 4;

// ----------------------------------------------------------------------------------------------
// Nullable values and arrays

class NullableSchema<T> extends Schema<T | null> {
  readonly expected: string;

  constructor(private readonly inner: Schema<T>) {
    super();
    this.expected = `${inner.expected}, or null`;
  }

  write(writer: ByteWriter, value: unknown, path: FieldPath, depth: number): void {
    if (value === null) writer.writeByte(SimpleByte.null);
    else this.inner.write(writer, value, path, depth);
  }

  read(item: CborValue, path: FieldPath): T | null {
    return item === null ? null : this.inner.read(item, path);
  }
}

/**
 * `inner` or `null` (RFC 8949 simple value 22). A field that may be absent is nullable: in a
 * positional encoding an absent field still takes its place, as `null` (one byte, 0xf6).
 */
export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return new NullableSchema(inner);
}

/** Item count of an `array` field: at most `itemsMax` (required: every list has a bound). */
export type ArrayLength = { readonly itemsMax: number; readonly itemsMin?: number };

class ArraySchema<T> extends Schema<readonly T[]> {
  readonly expected: string;
  private readonly range: LengthRange;
  readonly #paths = new ChildPaths();

  constructor(
    private readonly item: Schema<T>,
    length: ArrayLength,
  ) {
    super();
    this.range = new LengthRange(length.itemsMin ?? 0, length.itemsMax, 'item');
    this.expected = `an array of ${this.range.expected}`;
  }

  write(writer: ByteWriter, value: unknown, path: FieldPath, depth: number): void {
    if (!Array.isArray(value)) {
      throw valueError('wrong-type', path, this.expected, describeValue(value));
    }
    const items = value as readonly unknown[];
    this.range.check(items.length, path, 'item');
    checkDepth(path, depth);
    writer.writeHead(MajorType.array, items.length);
    // Recursion here follows the schema, which is fixed in code, never the shape of the input.
    for (let index = 0; index < items.length; index++) {
      this.item.write(writer, items[index], this.#paths.child(path, index), depth + 1);
    }
  }

  read(item: CborValue, path: FieldPath): readonly T[] {
    if (!Array.isArray(item)) {
      throw valueError('wrong-type', path, this.expected, describeValue(item));
    }
    const items = item as readonly CborValue[];
    this.range.check(items.length, path, 'item');
    const out: T[] = [];
    for (let index = 0; index < items.length; index++) {
      out.push(this.item.read(items[index]!, this.#paths.child(path, index)));
    }
    return out;
  }
}

/** An array (RFC 8949 major type 4) of `item`, with at most `itemsMax` items. */
export function array<T>(item: Schema<T>, length: ArrayLength): Schema<readonly T[]> {
  return new ArraySchema(item, length);
}

// ----------------------------------------------------------------------------------------------
// Structs and chain objects: positional arrays

const fieldNamePattern = /^[A-Za-z][A-Za-z0-9]*$/;

/**
 * Fields in encoding order. Object-literal order is insertion order for every name that is not
 * an array index, and the name pattern rules those out.
 */
function fieldList(fields: Fields): ReadonlyArray<readonly [string, Schema<unknown>]> {
  const list = Object.entries(fields);
  for (const [name] of list) {
    assert(fieldNamePattern.test(name), `field name ${JSON.stringify(name)} is an identifier`);
  }
  return list;
}

/** Writes and reads the positional fields shared by `struct` and `defineObject`. */
class FieldCodec {
  readonly names: readonly string[];
  private readonly nameSet: ReadonlySet<string>;

  readonly #paths: ChildPaths;

  constructor(private readonly list: ReadonlyArray<readonly [string, Schema<unknown>]>) {
    this.names = list.map(([name]) => name);
    this.nameSet = new Set(this.names);
    this.#paths = new ChildPaths(this.names);
  }

  /** Checks that `value` is a plain object with no fields beyond the schema's. */
  checkShape(value: unknown, path: FieldPath, expected: string): Readonly<Record<string, unknown>> {
    if (!isPlainObject(value)) {
      throw valueError('wrong-type', path, expected, describeValue(value));
    }
    // `for…in` with `Object.hasOwn` visits what `Object.keys` lists (own enumerable string
    // keys) without building the array: this runs for every struct of every encoding.
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      if (!this.nameSet.has(key)) {
        const known = this.names.join(', ');
        throw valueError(
          'unexpected-field',
          childPath(path, key),
          `one of the fields ${known}`,
          'an unknown field',
        );
      }
    }
    return value;
  }

  write(
    writer: ByteWriter,
    value: Readonly<Record<string, unknown>>,
    path: FieldPath,
    depth: number,
  ): void {
    for (let index = 0; index < this.list.length; index++) {
      const [name, schema] = this.list[index]!;
      // Only own properties count: an inherited one would encode data the caller never set.
      const field = Object.hasOwn(value, name) ? value[name] : undefined;
      schema.write(writer, field, this.#paths.child(path, index), depth);
    }
  }

  read(items: readonly CborValue[], first: number, path: FieldPath): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let index = 0; index < this.list.length; index++) {
      const [name, schema] = this.list[index]!;
      out[name] = schema.read(items[first + index]!, this.#paths.child(path, index));
    }
    return out;
  }
}

class StructSchema<F extends Fields> extends Schema<InferFields<F>> {
  readonly expected: string;
  private readonly fields: FieldCodec;

  constructor(fields: F) {
    super();
    this.fields = new FieldCodec(fieldList(fields));
    this.expected = `a struct of ${plural(this.fields.names.length, 'field')} (${this.fields.names.join(', ')})`;
  }

  write(writer: ByteWriter, value: unknown, path: FieldPath, depth: number): void {
    const object = this.fields.checkShape(value, path, this.expected);
    checkDepth(path, depth);
    writer.writeHead(MajorType.array, this.fields.names.length);
    this.fields.write(writer, object, path, depth + 1);
  }

  read(item: CborValue, path: FieldPath): InferFields<F> {
    if (!Array.isArray(item)) {
      throw valueError('wrong-type', path, `${this.expected} as an array`, describeValue(item));
    }
    const items = item as readonly CborValue[];
    const count = this.fields.names.length;
    if (items.length !== count) {
      const expected = `an array of ${plural(count, 'field')}`;
      throw valueError('wrong-field-count', path, expected, plural(items.length, 'item'));
    }
    return this.fields.read(items, 0, path) as InferFields<F>;
  }
}

/**
 * A fixed group of named fields without a type tag, encoded as the array of its field values in
 * declaration order: `struct({ validatorIndex: uint(), signature: bytes({ length: 64 }) })`.
 * For parts of a chain object; a chain object itself uses `defineObject`.
 */
export function struct<const F extends Fields>(fields: F): Schema<InferFields<F>> {
  return new StructSchema(fields);
}

/** The definition of a chain object: its version and its fields in encoding order. */
export type ObjectDefinition<F extends Fields> = { readonly version: number; readonly fields: F };

/**
 * A chain object: encoded as `[typeTag, version, ...fields]`, with the type tag from the
 * `TypeTag` registry. Nested chain objects are embedded whole, so the encoding of a transaction
 * inside a block is byte for byte the encoding that the transaction's hash covers.
 */
export class ObjectSchema<F extends Fields> extends Schema<InferFields<F>> {
  readonly expected: string;
  readonly typeTag: number;
  readonly version: number;
  /** The field names in encoding order. */
  readonly fieldNames: readonly string[];
  protected override readonly rootName: string;
  private readonly fields: FieldCodec;

  constructor(
    readonly name: TypeTagName,
    definition: ObjectDefinition<F>,
  ) {
    super();
    assert(Object.hasOwn(TypeTag, name), `${name} is a registered type`);
    assert(Number.isSafeInteger(definition.version), 'an object version is a safe integer');
    assert(definition.version >= 1, 'object versions start at 1');
    this.typeTag = TypeTag[name];
    this.version = definition.version;
    this.rootName = name;
    this.fields = new FieldCodec(fieldList(definition.fields));
    this.fieldNames = this.fields.names;
    this.expected = `a ${name} (type ${this.typeTag})`;
  }

  write(writer: ByteWriter, value: unknown, path: FieldPath, depth: number): void {
    const object = this.fields.checkShape(value, path, `${this.expected} as a plain object`);
    checkDepth(path, depth);
    writer.writeHead(MajorType.array, 2 + this.fieldNames.length);
    writer.writeHead(MajorType.unsignedInteger, this.typeTag);
    writer.writeHead(MajorType.unsignedInteger, this.version);
    this.fields.write(writer, object, path, depth + 1);
  }

  /** `[tag, version, …n fields]`, for errors. */
  #shape(): string {
    return `an array [${this.typeTag}, ${this.version}, …${plural(this.fieldNames.length, 'field')}]`;
  }

  read(item: CborValue, path: FieldPath): InferFields<F> {
    if (!Array.isArray(item)) {
      throw valueError(
        'wrong-type',
        path,
        `${this.expected}: ${this.#shape()}`,
        describeValue(item),
      );
    }
    const items = item as readonly CborValue[];
    if (items.length < 2) {
      const found = `an array of ${plural(items.length, 'item')}`;
      throw valueError('wrong-field-count', path, `${this.expected}: ${this.#shape()}`, found);
    }
    const tag = items[0];
    if (typeof tag !== 'number' || tag < 0) {
      throw valueError(
        'wrong-type',
        path,
        `${this.expected}: ${this.#shape()}`,
        `${describeValue(tag)} as type tag`,
      );
    }
    if (tag !== this.typeTag) {
      const name = typeTagName(tag);
      const found = name === undefined ? `type ${tag} (unregistered)` : `type ${tag} (${name})`;
      throw valueError('wrong-type-tag', path, this.expected, found);
    }
    const version = items[1];
    if (typeof version !== 'number' || version < 0) {
      throw valueError(
        'wrong-type',
        path,
        `${this.name} version ${this.version}`,
        `${describeValue(version)} as version`,
      );
    }
    if (version !== this.version) {
      const rendered = renderPath(path);
      throw new CodecError(
        'unknown-version',
        `${rendered}: ${this.name} version ${version} is not supported (known: ${this.version})`,
        { path: rendered, expected: `version ${this.version}`, found: `version ${version}` },
      );
    }
    if (items.length !== 2 + this.fieldNames.length) {
      const expected = `${this.name} version ${this.version} with ${plural(this.fieldNames.length, 'field')}`;
      throw valueError('wrong-field-count', path, expected, `${items.length - 2}`);
    }
    return this.fields.read(items, 2, path) as InferFields<F>;
  }
}

/**
 * Defines a chain object type in a few lines and gets its typed `encode`/`decode`:
 *
 * ```ts
 * const VoteSchema = defineObject('Vote', {
 *   version: 1,
 *   fields: { height: uint(), round: uint({ max: 1_000_000 }), blockHash: nullable(bytes({ length: 32 })) },
 * });
 * type Vote = Infer<typeof VoteSchema>; // { readonly height: number; readonly round: number; … }
 * ```
 */
export function defineObject<const F extends Fields>(
  name: TypeTagName,
  definition: ObjectDefinition<F>,
): ObjectSchema<F> {
  return new ObjectSchema(name, definition);
}
