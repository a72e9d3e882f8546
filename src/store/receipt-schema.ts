/**
 * The stored form of a block's receipts: canonical CBOR through codec's schema layer (RFC 8949
 * §4.2.1), one array per block, in block order. Contracts define `Receipt` as a type only, so the
 * store owns its encoding; receipts are not chain objects (no header commits to them: the
 * outcomes that are provable live in the state under `tx.results`), hence plain structs without
 * a type tag.
 */
import { Buffer } from 'node:buffer';

import { chainLimits } from '../chain/index.ts';
import {
  type CborValue,
  CodecError,
  codecBytesMax,
  array,
  bool,
  bytes,
  cborValue,
  nullable,
  struct,
  text,
  textEnum,
  uint,
} from '../codec/index.ts';
import {
  type ContractErrorCode,
  ContractErrorCode as contractErrorCodes,
  type ContractEvent,
  type Receipt,
} from '../contracts/index.ts';
import { hashBytes } from '../crypto/index.ts';

import { storeLimits } from './limits.ts';

const codes = Object.values(contractErrorCodes) as [ContractErrorCode, ...ContractErrorCode[]];

const EventSchema = struct({
  type: text({ bytesMin: 1, bytesMax: storeLimits.receiptEventTypeBytesMax }),
  // A map of text keys to text, integers or booleans, checked by `eventOf` after decoding.
  attributes: cborValue(),
});

const ReceiptSchema = struct({
  txId: bytes({ length: hashBytes }),
  ok: bool(),
  code: nullable(textEnum(codes)),
  message: nullable(text({ bytesMax: storeLimits.receiptMessageBytesMax })),
  events: array(EventSchema, { itemsMax: storeLimits.receiptEventsMax }),
  cost: uint(),
});

/** The receipts of one block: at most one per transaction a block may hold. */
const BlockReceiptsSchema = array(ReceiptSchema, { itemsMax: chainLimits.blockTxCountMax });

/**
 * Encodes a block's receipts (throws `CodecError` naming the field a receipt got wrong). The
 * common case goes through `encodeReceiptsDirectly`, which writes the same bytes without the
 * schema layer's per-field machinery (a third of the cost, bench/store.ts); anything it does not
 * handle goes through the schema, which also produces every error.
 */
export function encodeReceipts(receipts: readonly Receipt[]): Uint8Array {
  return encodeReceiptsDirectly(receipts) ?? encodeReceiptsWithSchema(receipts);
}

/** The schema layer's encoding of a block's receipts: the definition of the stored bytes. */
export function encodeReceiptsWithSchema(receipts: readonly Receipt[]): Uint8Array {
  return BlockReceiptsSchema.encode(receipts);
}

const codeSet: ReadonlySet<string> = new Set(codes);
const surrogate = /\p{Cs}/u;
const receiptFieldCount = 6;
const eventFieldCount = 2;
const limits = {
  txCountMax: chainLimits.blockTxCountMax,
  bytesMax: codecBytesMax,
  messageBytesMax: storeLimits.receiptMessageBytesMax,
  eventsMax: storeLimits.receiptEventsMax,
  eventTypeBytesMax: storeLimits.receiptEventTypeBytesMax,
  hashBytes,
};

/** A growing output buffer with CBOR's shortest-form heads (RFC 8949 §4.2.1). */
class DirectWriter {
  bytes = new Uint8Array(64 * 1024);
  length = 0;

  reserve(count: number): void {
    if (this.length + count <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + count) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  head(major: number, argument: number): void {
    this.reserve(9);
    const out = this.bytes;
    if (argument < 24) out[this.length++] = (major << 5) | argument;
    else if (argument < 0x100) {
      out[this.length++] = (major << 5) | 24;
      out[this.length++] = argument;
    } else if (argument < 0x10000) {
      out[this.length++] = (major << 5) | 25;
      out[this.length++] = argument >>> 8;
      out[this.length++] = argument & 0xff;
    } else if (argument < 0x1_0000_0000) {
      out[this.length++] = (major << 5) | 26;
      for (let shift = 24; shift >= 0; shift -= 8) out[this.length++] = (argument >>> shift) & 0xff;
    } else {
      out[this.length++] = (major << 5) | 27;
      const high = Math.floor(argument / 0x1_0000_0000);
      const low = argument % 0x1_0000_0000;
      for (let shift = 24; shift >= 0; shift -= 8) out[this.length++] = (high >>> shift) & 0xff;
      for (let shift = 24; shift >= 0; shift -= 8) out[this.length++] = (low >>> shift) & 0xff;
    }
  }

  byte(value: number): void {
    this.reserve(1);
    this.bytes[this.length++] = value;
  }

  raw(value: Uint8Array): void {
    this.reserve(value.length);
    this.bytes.set(value, this.length);
    this.length += value.length;
  }

  /** A text string already known to have no lone surrogate, of UTF-8 length `utf8Length`. */
  text(value: string, utf8Length: number): void {
    this.head(3, utf8Length);
    this.reserve(utf8Length);
    const written = Buffer.from(this.bytes.buffer, this.bytes.byteOffset).write(
      value,
      this.length,
      'utf8',
    );
    this.length += written;
  }
}

/** The UTF-8 length of `value`, or -1 if it is not a string or has a lone surrogate. */
function textLength(value: unknown): number {
  if (typeof value !== 'string') return -1;
  if (surrogate.test(value)) return -1;
  return Buffer.byteLength(value, 'utf8');
}

function isPlain(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function fieldCount(value: object): number {
  let count = 0;
  for (const key in value) if (Object.hasOwn(value, key)) count++;
  return count;
}

/**
 * The schema's bytes for `receipts` (each receipt the array [txId, ok, code, message, events,
 * cost], each event [type, attributes], attributes a canonical map), written directly, or null
 * when a receipt is anything but the plain, valid case (attributes of text, safe integers and
 * booleans): the caller then uses the schema, which refuses what is invalid. Checked against the
 * schema's encoding by `test/store/receipts.test.ts`.
 */
export function encodeReceiptsDirectly(receipts: readonly Receipt[]): Uint8Array | null {
  if (!Array.isArray(receipts) || receipts.length > limits.txCountMax) return null;
  const writer = new DirectWriter();
  writer.head(4, receipts.length);
  for (const receipt of receipts as readonly unknown[]) {
    if (!isPlain(receipt) || fieldCount(receipt) !== receiptFieldCount) return null;
    const { txId, ok, code, message, events, cost } = receipt;
    if (!(txId instanceof Uint8Array) || txId.length !== limits.hashBytes) return null;
    if (typeof ok !== 'boolean') return null;
    if (code !== null && (typeof code !== 'string' || !codeSet.has(code))) return null;
    if (!Array.isArray(events) || events.length > limits.eventsMax) return null;
    if (typeof cost !== 'number' || !Number.isSafeInteger(cost) || cost < 0) return null;
    writer.head(4, receiptFieldCount);
    writer.head(2, txId.length);
    writer.raw(txId);
    writer.byte(ok ? 0xf5 : 0xf4);
    if (code === null) writer.byte(0xf6);
    else writer.text(code, textLength(code));
    if (message === null) writer.byte(0xf6);
    else {
      const length = textLength(message);
      if (length < 0 || length > limits.messageBytesMax) return null;
      writer.text(message as string, length);
    }
    writer.head(4, events.length);
    for (const event of events as readonly unknown[]) {
      if (!isPlain(event) || fieldCount(event) !== eventFieldCount) return null;
      const typeLength = textLength(event.type);
      if (typeLength < 1 || typeLength > limits.eventTypeBytesMax) return null;
      writer.head(4, eventFieldCount);
      writer.text(event.type as string, typeLength);
      if (!writeAttributes(writer, event.attributes)) return null;
    }
    writer.head(0, cost);
    if (writer.length > limits.bytesMax) return null;
  }
  return writer.bytes.slice(0, writer.length);
}

/** An event's attributes as a canonical map; false if a key or value needs the schema. */
function writeAttributes(writer: DirectWriter, attributes: unknown): boolean {
  if (!isPlain(attributes)) return false;
  const entries: { key: string; keyLength: number; value: unknown }[] = [];
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    const keyLength = textLength(key);
    if (keyLength < 0) return false;
    entries.push({ key, keyLength, value: attributes[key] });
  }
  // Only own enumerable string keys were seen: anything else (symbols, getters, hidden keys)
  // is left to the schema, which refuses it.
  if (entries.length !== Reflect.ownKeys(attributes).length) return false;
  // RFC 8949 §4.2.1: keys in the bytewise order of their encodings, that is shorter first, then
  // by UTF-8 bytes, which is UTF-16 order for strings without surrogates.
  entries.sort((a, b) => a.keyLength - b.keyLength || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  writer.head(5, entries.length);
  for (const { key, keyLength, value } of entries) {
    const descriptor = Object.getOwnPropertyDescriptor(attributes, key);
    if (descriptor === undefined || !('value' in descriptor)) return false;
    writer.text(key, keyLength);
    if (typeof value === 'boolean') writer.byte(value ? 0xf5 : 0xf4);
    else if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) return false;
      if (value >= 0) writer.head(0, value);
      else writer.head(1, -1 - value);
    } else {
      const length = textLength(value);
      if (length < 0) return false;
      writer.text(value as string, length);
    }
  }
  return true;
}

/** Strictly decodes a block's receipts (throws `CodecError` naming what is wrong). */
export function decodeReceipts(encoded: Uint8Array): Receipt[] {
  return BlockReceiptsSchema.decode(encoded).map((receipt, index) => ({
    ...receipt,
    events: receipt.events.map((event, eventIndex) =>
      eventOf(event.type, event.attributes, `receipts[${index}].events[${eventIndex}]`),
    ),
  }));
}

function eventOf(type: string, attributes: CborValue, path: string): ContractEvent {
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) {
    throw new CodecError(
      'wrong-type',
      `${path}.attributes: expected a map, found ${describe(attributes)}`,
    );
  }
  const checked: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new CodecError(
        'wrong-type',
        `${path}.attributes.${name}: expected text, an integer or a boolean, found ${describe(value)}`,
      );
    }
    checked[name] = value;
  }
  return { type, attributes: checked };
}

function describe(value: CborValue): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return 'a byte string';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
