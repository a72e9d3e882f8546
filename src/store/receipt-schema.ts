/**
 * The stored form of a block's receipts: canonical CBOR through codec's schema layer (RFC 8949
 * §4.2.1), one array per block, in block order. Contracts define `Receipt` as a type only, so the
 * store owns its encoding; receipts are not chain objects (no header commits to them: the
 * outcomes that are provable live in the state under `tx.results`), hence plain structs without
 * a type tag.
 */
import { chainLimits } from '../chain/index.ts';
import {
  type CborValue,
  CodecError,
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

/** Encodes a block's receipts (throws `CodecError` naming the field a receipt got wrong). */
export function encodeReceipts(receipts: readonly Receipt[]): Uint8Array {
  return BlockReceiptsSchema.encode(receipts);
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
