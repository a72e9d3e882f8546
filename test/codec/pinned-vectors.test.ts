// Checks the pinned vectors in test/vectors/codec-vectors.json in both directions: each value
// encodes to its hex and the hex decodes to the value; each invalid hex is refused with its code
// and offset; the schema-object vectors do the same through example schemas defined below.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { fromHex, toHex } from '../../src/base/index.ts';
import {
  CodecError,
  array,
  bytes,
  cborValue,
  decodeCbor,
  defineObject,
  encodeCbor,
  nullable,
  struct,
  textEnum,
  uint,
} from '../../src/codec/index.ts';
import type { CborValue, CodecErrorCode, Schema } from '../../src/codec/index.ts';

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

type VectorFile = {
  readonly values: ReadonlyArray<{ name: string; value: JsonValue; hex: string }>;
  readonly invalid: ReadonlyArray<{
    name: string;
    hex: string;
    code: CodecErrorCode;
    offset: number;
  }>;
  readonly objects: ReadonlyArray<{ name: string; schema: string; value: JsonValue; hex: string }>;
  readonly invalidObjects: ReadonlyArray<{
    name: string;
    schema: string;
    hex: string;
    code: CodecErrorCode;
    message: string;
  }>;
};

const vectors = JSON.parse(
  readFileSync(new URL('../vectors/codec-vectors.json', import.meta.url), 'utf8'),
) as VectorFile;

/** The file's convention: `{"$bytes": "<hex>"}` is a byte string, any other object a map. */
function fromJson(json: JsonValue): CborValue {
  if (json === null || typeof json !== 'object') return json;
  if (Array.isArray(json)) return json.map(fromJson);
  const keys = Object.keys(json);
  if (keys.length === 1 && keys[0] === '$bytes' && typeof json.$bytes === 'string') {
    return fromHex(json.$bytes);
  }
  const map: Record<string, CborValue> = {};
  for (const key of keys) {
    // defineProperty, because the vectors include a "__proto__" key.
    Object.defineProperty(map, key, {
      value: fromJson(json[key]!),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return map;
}

// Example schemas that pin the schema layer's format (tag, version, positional fields, nested
// objects embedded whole, null for absent). The chain's real schemas are pinned by chain/.
const Transaction = defineObject('Transaction', {
  version: 1,
  fields: {
    kind: textEnum(['record/anchor', 'consent/grant']),
    nonce: uint(),
    body: cborValue(),
    signature: bytes({ length: 64 }),
  },
});
const schemas: Readonly<Record<string, Schema<unknown>>> = {
  Vote: defineObject('Vote', {
    version: 1,
    fields: {
      height: uint(),
      round: uint({ max: 1000 }),
      blockHash: nullable(bytes({ length: 32 })),
      signature: bytes({ length: 64 }),
    },
  }),
  Transaction,
  Block: defineObject('Block', {
    version: 1,
    fields: {
      height: uint(),
      txs: array(Transaction, { itemsMax: 16 }),
      commit: nullable(
        array(struct({ validator: uint({ max: 255 }), signature: bytes({ length: 64 }) }), {
          itemsMax: 16,
        }),
      ),
    },
  }),
};

function schemaNamed(name: string): Schema<unknown> {
  const schema = schemas[name];
  assert.ok(schema !== undefined, `unknown schema ${name}`);
  return schema;
}

test('the vector file holds enough of each kind', () => {
  assert.ok(vectors.values.length >= 40, `${vectors.values.length} values`);
  assert.ok(vectors.invalid.length >= 20, `${vectors.invalid.length} invalid`);
  assert.ok(vectors.objects.length >= 5, `${vectors.objects.length} objects`);
  assert.ok(vectors.invalidObjects.length >= 5, `${vectors.invalidObjects.length} invalid objects`);
});

test('each value encodes to its pinned hex, and the hex decodes to the value', () => {
  for (const { name, value, hex } of vectors.values) {
    const expected = fromJson(value);
    assert.equal(toHex(encodeCbor(expected)), hex, name);
    assert.deepEqual(decodeCbor(fromHex(hex)), expected, name);
  }
});

test('each invalid hex is refused with its pinned code and offset', () => {
  for (const { name, hex, code, offset } of vectors.invalid) {
    assert.throws(
      () => decodeCbor(fromHex(hex)),
      (error: unknown) => {
        assert.ok(error instanceof CodecError, `${name}: ${String(error)}`);
        assert.equal(error.code, code, `${name}: ${error.message}`);
        assert.equal(error.details.offset, offset, `${name}: ${error.message}`);
        return true;
      },
      name,
    );
  }
});

test('each schema object encodes to its pinned hex and decodes back', () => {
  for (const { name, schema, value, hex } of vectors.objects) {
    const expected = fromJson(value);
    assert.equal(toHex(schemaNamed(schema).encode(expected)), hex, name);
    assert.deepEqual(schemaNamed(schema).decode(fromHex(hex)), expected, name);
    // The schema encoding is also a plain canonical item: the generic decoder accepts it.
    assert.equal(toHex(encodeCbor(decodeCbor(fromHex(hex)))), hex, name);
  }
});

test('each invalid schema object is refused with its pinned code and message', () => {
  for (const { name, schema, hex, code, message } of vectors.invalidObjects) {
    // The twin check: the bytes are canonical CBOR, so only the schema can refuse them.
    assert.doesNotThrow(() => decodeCbor(fromHex(hex)), name);
    assert.throws(
      () => schemaNamed(schema).decode(fromHex(hex)),
      { name: 'CodecError', code, message },
      name,
    );
  }
});
