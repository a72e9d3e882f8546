/**
 * The value model of the codec: the JavaScript values that stand for the CBOR subset MedLedger
 * uses (RFC 8949 §3.1 major types 0–5 and the simple values false, true, null of major type 7).
 *
 * | CBOR                          | JavaScript                                             |
 * | ----------------------------- | ------------------------------------------------------ |
 * | unsigned / negative integer   | `number`, a safe integer (`Number.isSafeInteger`)       |
 * | byte string                   | `Uint8Array`                                           |
 * | text string                   | `string` (well-formed UTF-16: no lone surrogates)      |
 * | array                         | an `Array` (dense)                                     |
 * | map with text-string keys     | a plain object (prototype `Object.prototype` or null)  |
 * | false, true, null             | `false`, `true`, `null`                                |
 *
 * Maps are plain objects, not `Map`s: chain objects are arrays described by schemas, so maps are
 * rare, and plain objects print, compare and write to JSON naturally. Only own, enumerable,
 * string-keyed data properties count; an object with a symbol key, a getter or a non-enumerable
 * property is refused rather than silently trimmed.
 */
export type CborValue =
  number | Uint8Array | string | boolean | null | readonly CborValue[] | CborMap;

/** A CBOR map with text-string keys, as a plain object (see `CborValue`). */
export type CborMap = { readonly [key: string]: CborValue };

/**
 * A field path for error messages (`Block.txs[3].signature`), kept as a linked list so that
 * building one costs an allocation and rendering happens only when an error is thrown.
 */
export type FieldPath = {
  readonly parent: FieldPath | undefined;
  readonly segment: string | number;
};

/** The path of a top-level value, named `name` in messages. */
export function rootPath(name: string): FieldPath {
  return { parent: undefined, segment: name };
}

/** The path of a field (string) or an array item (number) under `parent`. */
export function childPath(parent: FieldPath, segment: string | number): FieldPath {
  return { parent, segment };
}

const identifierPattern = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Renders a path as `root.field[3]["odd key"]`. */
export function renderPath(path: FieldPath): string {
  const segments: Array<string | number> = [];
  for (let at: FieldPath | undefined = path; at !== undefined; at = at.parent) {
    segments.push(at.segment);
  }
  let out = String(segments.pop());
  for (let index = segments.length - 1; index >= 0; index--) {
    const segment = segments[index]!;
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (identifierPattern.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Describes any JavaScript value for the "found …" half of an error message. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return describeObject(value);
  if (typeof value === 'number') return describeNumber(value);
  if (typeof value === 'string') return `a text string of ${count(value.length, 'UTF-16 unit')}`;
  if (typeof value === 'bigint') return `the bigint ${value}n`;
  if (typeof value === 'boolean') return String(value);
  // What is left: undefined, a symbol or a function.
  return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`;
}

function describeNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return `the number ${value}`;
  if (!Number.isInteger(value)) return `the non-integer number ${value}`;
  return Number.isSafeInteger(value) ? `the integer ${value}` : `the unsafe integer ${value}`;
}

function count(amount: number, unit: string): string {
  return `${amount} ${unit}${amount === 1 ? '' : 's'}`;
}

function describeObject(value: object): string {
  if (value instanceof Uint8Array) return `a byte string of ${count(value.length, 'byte')}`;
  if (Array.isArray(value)) return `an array of ${count(value.length, 'item')}`;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === null) return 'a map';
  if (value instanceof Map) return 'a Map';
  // Only a prototype's own constructor names the class; an inherited one would say "Object".
  const constructor: unknown =
    typeof prototype === 'object' && Object.hasOwn(prototype, 'constructor')
      ? (prototype as { constructor: unknown }).constructor
      : undefined;
  return typeof constructor === 'function' && constructor.name !== ''
    ? `an instance of ${constructor.name}`
    : 'an object with a custom prototype';
}
