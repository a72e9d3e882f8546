import { assert } from '../base/index.ts';

import {
  type ByteWriter,
  MajorType,
  SimpleByte,
  compareCodePoints,
  releaseWriter,
  takeWriter,
  utf8LengthOf,
} from './byte-writer.ts';
import type { CborValue, FieldPath } from './cbor-value.ts';
import { childPath, describeValue, renderPath, rootPath } from './cbor-value.ts';
import { CodecError } from './codec-error.ts';
import type { CodecErrorCode } from './codec-error.ts';
import { codecDepthMax } from './limits.ts';

/** Options of `encodeCbor`. */
export type EncodeCborOptions = {
  /** The name of the value in error paths (`body` gives `body.provisions[2].period`). */
  readonly name?: string;
};

/**
 * Encodes `value` in deterministic CBOR (RFC 8949 §4.2.1, "Core Deterministic Encoding
 * Requirements"): shortest-form heads, definite lengths, map keys sorted by the bytewise order of
 * their encodings. Refuses, with a `CodecError` naming the path, anything outside the value model
 * of `CborValue`: NaN, fractions, unsafe integers, bigints, undefined, lone surrogates, `Map`s,
 * class instances, sparse arrays, nesting deeper than `codecDepthMax`, and output larger than
 * `codecBytesMax`. The result is a new array; the encoder keeps no reference to `value`.
 */
export function encodeCbor(value: CborValue, options: EncodeCborOptions = {}): Uint8Array {
  const writer = takeWriter();
  try {
    writeCborValue(writer, value, rootPath(options.name ?? 'value'), 0);
    return writer.finish();
  } finally {
    releaseWriter(writer);
  }
}

const valueModel = 'a safe integer, Uint8Array, string, boolean, null, array or plain object';

type Task =
  | { readonly key: string; readonly keyLength: number }
  | { readonly value: unknown; readonly path: FieldPath; readonly depth: number };

/**
 * Writes one value of the model at `path`, inside `depth` enclosing arrays and maps. Internal:
 * the schema layer calls it for `cborValue()` fields so that their errors carry the field path.
 */
export function writeCborValue(
  writer: ByteWriter,
  value: unknown,
  path: FieldPath,
  depth: number,
): void {
  // An explicit stack instead of recursion (TIGER_STYLE): the depth is bounded anyway, but a
  // loop keeps the stack use independent of the input's shape.
  const tasks: Task[] = [{ value, path, depth }];
  for (let task = tasks.pop(); task !== undefined; task = tasks.pop()) {
    if ('key' in task) {
      writer.writeText(task.key, task.keyLength);
      continue;
    }
    const { value: item, path: itemPath, depth: itemDepth } = task;
    if (item === null) {
      writer.writeByte(SimpleByte.null);
    } else if (typeof item === 'boolean') {
      writer.writeByte(item ? SimpleByte.true : SimpleByte.false);
    } else if (typeof item === 'number') {
      writeInteger(writer, item, itemPath);
    } else if (typeof item === 'string') {
      writer.writeText(item, checkText(item, itemPath));
    } else if (item instanceof Uint8Array) {
      writer.writeHead(MajorType.byteString, item.length);
      writer.writeBytes(item);
    } else if (Array.isArray(item)) {
      assertDepth(itemPath, itemDepth);
      if (Object.getPrototypeOf(item) !== Array.prototype) {
        throw valueError('invalid-value', itemPath, 'a plain array', 'an Array subclass instance');
      }
      writer.writeHead(MajorType.array, item.length);
      for (let index = item.length - 1; index >= 0; index--) {
        tasks.push({
          value: (item as unknown[])[index],
          path: childPath(itemPath, index),
          depth: itemDepth + 1,
        });
      }
    } else if (typeof item === 'object' && isPlainObject(item)) {
      assertDepth(itemPath, itemDepth);
      const entries = mapEntries(item, itemPath);
      writer.writeHead(MajorType.map, entries.length);
      for (let index = entries.length - 1; index >= 0; index--) {
        const entry = entries[index]!;
        tasks.push({
          value: entry.value,
          path: childPath(itemPath, entry.key),
          depth: itemDepth + 1,
        });
        tasks.push({ key: entry.key, keyLength: entry.keyLength });
      }
    } else if (typeof item === 'bigint') {
      const inRange = item >= -BigInt(Number.MAX_SAFE_INTEGER) && item <= Number.MAX_SAFE_INTEGER;
      if (inRange) {
        throw valueError(
          'invalid-value',
          itemPath,
          'a number (integers are numbers)',
          describeValue(item),
        );
      }
      throw valueError(
        'unsafe-integer',
        itemPath,
        'an integer within ±(2^53 − 1)',
        describeValue(item),
      );
    } else {
      throw valueError('invalid-value', itemPath, valueModel, describeValue(item));
    }
  }
}

function writeInteger(writer: ByteWriter, value: number, path: FieldPath): void {
  if (Number.isSafeInteger(value)) {
    // -0 is the integer 0: it has one encoding, like every other value.
    if (value >= 0) writer.writeHead(MajorType.unsignedInteger, value);
    else writer.writeHead(MajorType.negativeInteger, -1 - value);
    return;
  }
  if (Number.isInteger(value)) {
    throw valueError('unsafe-integer', path, 'an integer within ±(2^53 − 1)', describeValue(value));
  }
  throw valueError(
    'invalid-value',
    path,
    'an integer (the codec has no floats)',
    describeValue(value),
  );
}

const loneSurrogatePattern = /\p{Cs}/u;

/**
 * The UTF-8 length of `text` after checking that it has one: a lone surrogate has no UTF-8 form
 * and `TextEncoder` would silently replace it with U+FFFD, so it is refused instead.
 */
export function checkText(text: string, path: FieldPath): number {
  const length = utf8LengthOf(text);
  if (length === undefined) {
    const index = loneSurrogatePattern.exec(text)?.index ?? -1;
    throw valueError(
      'invalid-utf8',
      path,
      'a well-formed string (encodable as UTF-8)',
      `a lone surrogate at UTF-16 index ${index}`,
    );
  }
  return length;
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function assertDepth(path: FieldPath, depth: number): void {
  if (depth + 1 > codecDepthMax) {
    throw valueError(
      'too-deep',
      path,
      `at most ${codecDepthMax} levels of nested arrays and maps`,
      `level ${depth + 1} (a cycle, or too deep a value)`,
    );
  }
}

type MapEntry = { readonly key: string; readonly keyLength: number; readonly value: unknown };

function mapEntries(object: object, path: FieldPath): MapEntry[] {
  const entries: MapEntry[] = [];
  for (const key of Reflect.ownKeys(object)) {
    if (typeof key === 'symbol') {
      throw valueError(
        'invalid-value',
        path,
        'a plain object with string keys',
        `the key ${String(key)}`,
      );
    }
    const descriptor = Object.getOwnPropertyDescriptor(object, key);
    assert(descriptor !== undefined, 'an own key has a descriptor');
    const keyPath = childPath(path, key);
    if (!('value' in descriptor)) {
      throw valueError('invalid-value', keyPath, 'a data property', 'a getter or setter');
    }
    if (descriptor.enumerable !== true) {
      throw valueError('invalid-value', keyPath, 'an enumerable property', 'a non-enumerable one');
    }
    entries.push({ key, keyLength: checkText(key, keyPath), value: descriptor.value });
  }
  // RFC 8949 §4.2.1 sorts keys by the bytewise order of their encodings. Shortest-form heads
  // grow with the length, so a shorter key always sorts first; keys of equal length share a
  // head and then sort by their UTF-8 bytes, which is code-point order. Comparing that way
  // needs no encoded copy of each key.
  entries.sort((a, b) => a.keyLength - b.keyLength || compareCodePoints(a.key, b.key));
  return entries;
}

/** A `CodecError` for a value at `path`: "path: expected …, found …". */
export function valueError(
  code: CodecErrorCode,
  path: FieldPath,
  expected: string,
  found: string,
): CodecError {
  const rendered = renderPath(path);
  return new CodecError(code, `${rendered}: expected ${expected}, found ${found}`, {
    path: rendered,
    expected,
    found,
  });
}
