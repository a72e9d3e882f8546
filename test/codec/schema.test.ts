// Checks the schema layer on example chain objects: exact encodings (by hand and against the
// generic encoder), decoding back, and each field constraint refused in both directions with the
// field path; the type-tag registry is pinned; TypeScript inference is checked at compile time.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AssertionFailedError, toHex } from '../../src/base/index.ts';
import {
  CodecError,
  TypeTag,
  array,
  bool,
  bytes,
  cborValue,
  decodeCbor,
  defineObject,
  encodeCbor,
  int,
  nullable,
  struct,
  text,
  textEnum,
  typeTagName,
  uint,
} from '../../src/codec/index.ts';
import type { CborValue, CodecErrorCode, Infer } from '../../src/codec/index.ts';

// Example schemas in the shape chain/ will use; the real ones live in chain/.
const VoteSchema = defineObject('Vote', {
  version: 1,
  fields: {
    height: uint(),
    round: uint({ max: 1000 }),
    blockHash: nullable(bytes({ length: 32 })),
    validator: uint({ max: 255 }),
    signature: bytes({ length: 64 }),
  },
});

const TransactionSchema = defineObject('Transaction', {
  version: 1,
  fields: {
    kind: textEnum(['record/anchor', 'consent/grant']),
    nonce: uint(),
    body: cborValue(),
    signature: bytes({ length: 64 }),
  },
});

const BlockSchema = defineObject('Block', {
  version: 1,
  fields: {
    height: uint(),
    note: text({ bytesMax: 3 }),
    offsetMs: int({ min: -1000, max: 1000 }),
    final: bool(),
    txs: array(TransactionSchema, { itemsMax: 4 }),
    commit: nullable(
      array(struct({ validator: uint({ max: 255 }), signature: bytes({ lengthMax: 64 }) }), {
        itemsMax: 2,
      }),
    ),
  },
});

type Vote = Infer<typeof VoteSchema>;
type Block = Infer<typeof BlockSchema>;

// Compile-time checks of inference: these aliases fail `tsc` if the inferred types drift.
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Expect<T extends true> = T;
export type VoteIsInferred = Expect<
  Equal<
    Vote,
    {
      readonly height: number;
      readonly round: number;
      readonly blockHash: Uint8Array | null;
      readonly validator: number;
      readonly signature: Uint8Array;
    }
  >
>;
export type KindIsAUnion = Expect<
  Equal<Infer<typeof TransactionSchema>['kind'], 'record/anchor' | 'consent/grant'>
>;
export type CommitIsInferred = Expect<
  Equal<
    Block['commit'],
    ReadonlyArray<{ readonly validator: number; readonly signature: Uint8Array }> | null
  >
>;

function expectCodecError(run: () => unknown, code: CodecErrorCode, message: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof CodecError, `expected a CodecError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.message, message);
    return true;
  });
}

const signature = new Uint8Array(64).fill(0xab);
const vote: Vote = { height: 812, round: 0, blockHash: null, validator: 3, signature };

function transaction(nonce: number, body: CborValue = {}): Infer<typeof TransactionSchema> {
  return { kind: 'record/anchor', nonce, body, signature };
}

const block: Block = {
  height: 7,
  note: 'ok',
  offsetMs: -5,
  final: true,
  txs: [transaction(0), transaction(1, { provisions: [1, 2, { period: 3 }] })],
  commit: [{ validator: 1, signature: new Uint8Array([1, 2]) }],
};

test('a Vote encodes as [3, 1, ...fields], byte for byte', () => {
  // 87 array(7) · 03 tag · 01 version · 19032c 812 · 00 round · f6 null · 03 · 5840 + 64 bytes
  const expected = '870301' + '19032c' + '00' + 'f6' + '03' + '5840' + 'ab'.repeat(64);
  assert.equal(toHex(VoteSchema.encode(vote)), expected);
  assert.deepEqual(VoteSchema.decode(VoteSchema.encode(vote)), vote);
  const hashed = { ...vote, blockHash: new Uint8Array(32).fill(1) };
  assert.deepEqual(VoteSchema.decode(VoteSchema.encode(hashed)), hashed);
});

test('a schema encoding equals the generic encoding of its positional array', () => {
  const positional = (tx: Infer<typeof TransactionSchema>): CborValue => [
    TypeTag.Transaction,
    1,
    tx.kind,
    tx.nonce,
    tx.body,
    tx.signature,
  ];
  const generic = encodeCbor([
    TypeTag.Block,
    1,
    block.height,
    block.note,
    block.offsetMs,
    block.final,
    block.txs.map(positional),
    block.commit!.map((entry) => [entry.validator, entry.signature]),
  ]);
  assert.equal(toHex(BlockSchema.encode(block)), toHex(generic));
  assert.deepEqual(BlockSchema.decode(generic), block);
});

test('a nested chain object is embedded whole: its own encoding is a substring', () => {
  const blockHex = toHex(BlockSchema.encode(block));
  for (const tx of block.txs) assert.ok(blockHex.includes(toHex(TransactionSchema.encode(tx))));
});

test('decoding checks the type tag: "expected a Vote (type 3), found type 5"', () => {
  const asBlock = encodeCbor([5, 1, 812, 0, null, 3, signature]);
  expectCodecError(
    () => VoteSchema.decode(asBlock),
    'wrong-type-tag',
    'Vote: expected a Vote (type 3), found type 5 (Block)',
  );
  expectCodecError(
    () => VoteSchema.decode(encodeCbor([99, 1, 812, 0, null, 3, signature])),
    'wrong-type-tag',
    'Vote: expected a Vote (type 3), found type 99 (unregistered)',
  );
  assert.deepEqual(VoteSchema.decode(encodeCbor([3, 1, 812, 0, null, 3, signature])), vote);
});

test('decoding checks the version: unknown-version names the known one', () => {
  expectCodecError(
    () => VoteSchema.decode(encodeCbor([3, 2, 812, 0, null, 3, signature])),
    'unknown-version',
    'Vote: Vote version 2 is not supported (known: 1)',
  );
  expectCodecError(
    () => VoteSchema.decode(encodeCbor([3, 'one', 812, 0, null, 3, signature])),
    'wrong-type',
    'Vote: expected Vote version 1, found a text string of 3 UTF-16 units as version',
  );
});

test('decoding checks the shape and the field count', () => {
  expectCodecError(
    () => VoteSchema.decode(encodeCbor([3, 1, 812, 0, null, 3])),
    'wrong-field-count',
    'Vote: expected Vote version 1 with 5 fields, found 4',
  );
  expectCodecError(
    () => VoteSchema.decode(encodeCbor([3])),
    'wrong-field-count',
    'Vote: expected a Vote (type 3): an array [3, 1, …5 fields], found an array of 1 item',
  );
  expectCodecError(
    () => VoteSchema.decode(encodeCbor({ height: 812 })),
    'wrong-type',
    'Vote: expected a Vote (type 3): an array [3, 1, …5 fields], found a map',
  );
  expectCodecError(
    () => VoteSchema.decode(encodeCbor([-3, 1, 812, 0, null, 3, signature])),
    'wrong-type',
    'Vote: expected a Vote (type 3): an array [3, 1, …5 fields], found the integer -3 as type tag',
  );
});

test('a wrong field is named by its path, in both directions', () => {
  const shortSignature = new Uint8Array(63);
  const bad = {
    ...block,
    txs: [...block.txs, transaction(2), { ...transaction(3), signature: shortSignature }],
  };
  const message = 'Block.txs[3].signature: expected 64 bytes, found 63';
  expectCodecError(() => BlockSchema.encode(bad), 'wrong-length', message);
  // Build the same bytes without the schema, then decode them with it.
  const loose = encodeCbor([
    5,
    1,
    7,
    'ok',
    -5,
    true,
    bad.txs.map((tx) => [1, 1, tx.kind, tx.nonce, tx.body, tx.signature]),
    null,
  ]);
  expectCodecError(() => BlockSchema.decode(loose), 'wrong-length', message);
});

test('integer bounds: out-of-range and wrong-type, both directions', () => {
  expectCodecError(
    () => VoteSchema.encode({ ...vote, round: 1001 }),
    'out-of-range',
    'Vote.round: expected an integer from 0 to 1000, found 1001',
  );
  expectCodecError(
    () => VoteSchema.decode(encodeCbor([3, 1, 812, 1001, null, 3, signature])),
    'out-of-range',
    'Vote.round: expected an integer from 0 to 1000, found 1001',
  );
  expectCodecError(
    () => VoteSchema.encode({ ...vote, height: -1 }),
    'out-of-range',
    'Vote.height: expected an integer from 0 to 9007199254740991, found -1',
  );
  expectCodecError(
    () => VoteSchema.decode(encodeCbor([3, 1, '812', 0, null, 3, signature])),
    'wrong-type',
    'Vote.height: expected an integer from 0 to 9007199254740991, found a text string of 3 UTF-16 units',
  );
  expectCodecError(
    () => BlockSchema.encode({ ...block, offsetMs: -1001 }),
    'out-of-range',
    'Block.offsetMs: expected an integer from -1000 to 1000, found -1001',
  );
  expectCodecError(
    () => VoteSchema.encode({ ...vote, round: 1.5 }),
    'wrong-type',
    'Vote.round: expected an integer from 0 to 1000, found the non-integer number 1.5',
  );
  assert.equal(VoteSchema.decode(VoteSchema.encode({ ...vote, round: 1000 })).round, 1000);
});

test('text: UTF-8 byte bound, and enumerations', () => {
  // "ü" is two bytes of UTF-8: "üa" (3 bytes) fits a 3-byte bound, "üü" (4 bytes) does not.
  assert.equal(BlockSchema.decode(BlockSchema.encode({ ...block, note: 'üa' })).note, 'üa');
  expectCodecError(
    () => BlockSchema.encode({ ...block, note: 'üü' }),
    'wrong-length',
    'Block.note: expected at most 3 bytes, found 4 bytes',
  );
  const tx = transaction(0);
  expectCodecError(
    () => TransactionSchema.encode({ ...tx, kind: 'record/erase' as 'record/anchor' }),
    'out-of-range',
    'Transaction.kind: expected one of "record/anchor", "consent/grant", found "record/erase"',
  );
  expectCodecError(
    () => TransactionSchema.decode(encodeCbor([1, 1, 'record/erase', 0, {}, signature])),
    'out-of-range',
    'Transaction.kind: expected one of "record/anchor", "consent/grant", found "record/erase"',
  );
});

test('arrays: item bound and type, both directions; structs: field count', () => {
  const five = [0, 1, 2, 3, 4].map((nonce) => transaction(nonce));
  expectCodecError(
    () => BlockSchema.encode({ ...block, txs: five }),
    'wrong-length',
    'Block.txs: expected at most 4 items, found 5 items',
  );
  expectCodecError(
    () => BlockSchema.encode({ ...block, final: 1 as unknown as boolean }),
    'wrong-type',
    'Block.final: expected false or true, found the integer 1',
  );
  const withCommit = (commit: CborValue) => encodeCbor([5, 1, 7, 'ok', -5, true, [], commit]);
  expectCodecError(
    () => BlockSchema.decode(withCommit([[1, new Uint8Array(2), 0]])),
    'wrong-field-count',
    'Block.commit[0]: expected an array of 2 fields, found 3 items',
  );
  expectCodecError(
    () => BlockSchema.decode(withCommit('none')),
    'wrong-type',
    'Block.commit: expected an array of at most 2 items, found a text string of 4 UTF-16 units',
  );
  assert.deepEqual(BlockSchema.decode(withCommit(null)).commit, null);
  assert.deepEqual(BlockSchema.decode(withCommit([[1, new Uint8Array(2)]])).commit, [
    { validator: 1, signature: new Uint8Array(2) },
  ]);
});

test('encoding refuses unknown, missing and inherited fields, and non-plain objects', () => {
  expectCodecError(
    () => VoteSchema.encode({ ...vote, extra: 1 } as Vote),
    'unexpected-field',
    'Vote.extra: expected one of the fields height, round, blockHash, validator, signature, found an unknown field',
  );
  const withoutRound = Object.fromEntries(Object.entries(vote).filter(([key]) => key !== 'round'));
  expectCodecError(
    () => VoteSchema.encode(withoutRound as Vote),
    'wrong-type',
    'Vote.round: expected an integer from 0 to 1000, found undefined',
  );
  const inherited = Object.assign(Object.create({ round: 0 }) as object, withoutRound);
  expectCodecError(
    () => VoteSchema.encode(inherited as Vote),
    'wrong-type',
    'Vote: expected a Vote (type 3) as a plain object, found an object with a custom prototype',
  );
  expectCodecError(
    () => VoteSchema.encode([3, 1] as unknown as Vote),
    'wrong-type',
    'Vote: expected a Vote (type 3) as a plain object, found an array of 2 items',
  );
});

test('cborValue fields carry the field path into the generic encoder errors', () => {
  const bad = {
    ...block,
    txs: [transaction(0), transaction(1, { provisions: [1, 2, { period: 1.5 }] })],
  };
  expectCodecError(
    () => BlockSchema.encode(bad),
    'invalid-value',
    'Block.txs[1].body.provisions[2].period: expected an integer (the codec has no floats), found the non-integer number 1.5',
  );
});

test('decoded byte fields are copies of the input', () => {
  const encoded = VoteSchema.encode(vote);
  const decoded = VoteSchema.decode(encoded);
  decoded.signature[0] = 0;
  assert.equal(toHex(encoded), toHex(VoteSchema.encode(vote)));
});

test('fromCborValue checks an item already decoded, for callers that dispatch on the tag', () => {
  const item = decodeCbor(VoteSchema.encode(vote));
  assert.ok(Array.isArray(item) && item[0] === TypeTag.Vote);
  assert.deepEqual(VoteSchema.fromCborValue(item), vote);
  expectCodecError(
    () => TransactionSchema.fromCborValue(item),
    'wrong-type-tag',
    'Transaction: expected a Transaction (type 1), found type 3 (Vote)',
  );
});

test('the type-tag registry is pinned, unique, and reversible', () => {
  assert.deepEqual(TypeTag, {
    Transaction: 1,
    BlockHeader: 2,
    Vote: 3,
    Commit: 4,
    Block: 5,
    Proposal: 6,
    LogInclusionProof: 7,
    LogConsistencyProof: 8,
    StateProof: 9,
    ValidatorSet: 10,
    Evidence: 11,
  });
  assert.equal(new Set(Object.values(TypeTag)).size, Object.keys(TypeTag).length);
  for (const [name, tag] of Object.entries(TypeTag)) assert.equal(typeTagName(tag), name);
  assert.equal(typeTagName(0), undefined);
  assert.equal(typeTagName(12), undefined);
  assert.deepEqual([VoteSchema.typeTag, VoteSchema.version, VoteSchema.name], [3, 1, 'Vote']);
  assert.deepEqual(VoteSchema.fieldNames, [
    'height',
    'round',
    'blockHash',
    'validator',
    'signature',
  ]);
});

test('schema definitions with programmer errors stop at once', () => {
  assert.doesNotThrow(() => defineObject('Evidence', { version: 1, fields: { height: uint() } }));
  assert.throws(
    () => defineObject('Evidence', { version: 0, fields: { height: uint() } }),
    AssertionFailedError,
  );
  assert.throws(
    () => defineObject('Evidence', { version: 1, fields: { '0': uint() } }),
    AssertionFailedError,
  );
  assert.throws(
    () => defineObject('Nope' as 'Vote', { version: 1, fields: {} }),
    AssertionFailedError,
  );
  assert.throws(() => bytes({ lengthMax: -1 }), AssertionFailedError);
  assert.throws(() => uint({ min: 5, max: 4 }), AssertionFailedError);
  assert.throws(() => textEnum(['a', 'a']), AssertionFailedError);
});

test('encoding a badly typed value is a type error at compile time', () => {
  // @ts-expect-error height must be a number
  const textHeight: Vote = { ...vote, height: '1' };
  expectCodecError(
    () => VoteSchema.encode(textHeight),
    'wrong-type',
    'Vote.height: expected an integer from 0 to 9007199254740991, found a text string of 1 UTF-16 unit',
  );
  // @ts-expect-error a byte field takes a Uint8Array, not an array of numbers
  const listSignature: Vote = { ...vote, signature: [1, 2] };
  assert.throws(() => VoteSchema.encode(listSignature), { code: 'wrong-type' });
  assert.doesNotThrow(() => VoteSchema.encode({ ...vote, height: 1 }));
});
