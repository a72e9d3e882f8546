// Checks what the codec reuses between calls (the pooled output buffer, field paths made once per
// parent): encodings stay byte-exact after errors, nested and large encodings, a schema shared
// by two parents names the right parent in its errors whichever was used last, and decoded ASCII
// and non-ASCII text both come back exactly.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { toHex } from '../../src/base/index.ts';
import {
  CodecError,
  array,
  bytes,
  decodeCbor,
  encodeCbor,
  struct,
  text,
  uint,
} from '../../src/codec/index.ts';

const Inner = struct({ id: uint({ max: 100 }), name: text({ bytesMax: 16 }) });
const First = struct({ inner: Inner, tag: bytes({ lengthMax: 200_000 }) });
const Second = struct({ items: array(Inner, { itemsMax: 4 }) });

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof CodecError, String(error));
    return error.message;
  }
  assert.fail('expected a CodecError');
}

test('encodings are byte-exact before and after failed, nested and oversized encodings', () => {
  const value = { inner: { id: 7, name: 'seven' }, tag: new Uint8Array([1, 2, 3]) };
  const expected = toHex(First.encode(value));
  // A failed encoding leaves bytes behind in the reused buffer.
  messageOf(() => First.encode({ inner: { id: 101, name: 'x' }, tag: new Uint8Array(0) }));
  assert.equal(toHex(First.encode(value)), expected);
  // A large encoding grows the buffer past what is kept for reuse.
  const large = First.encode({ inner: { id: 1, name: 'a' }, tag: new Uint8Array(100_000) });
  assert.equal(large.length > 100_000, true);
  assert.equal(toHex(First.encode(value)), expected);
  // An encoding started while another is in progress (a getter) gets its own buffer.
  const nested = {
    inner: {
      id: 7,
      get name() {
        assert.equal(encodeCbor(['inner', 1]).length, 8);
        return 'seven';
      },
    },
    tag: new Uint8Array([1, 2, 3]),
  };
  assert.equal(toHex(First.encode(nested)), expected);
  // Every result is a copy: changing one changes no later one.
  const copy = First.encode(value);
  copy.fill(0);
  assert.equal(toHex(First.encode(value)), expected);
});

test('a schema shared by two parents names the parent it is used under in errors', () => {
  const bad = { id: 101, name: 'x' };
  for (let round = 0; round < 3; round++) {
    assert.match(
      messageOf(() => First.encode({ inner: bad, tag: new Uint8Array(0) })),
      /^value\.inner\.id: expected an integer from 0 to 100, found 101$/,
    );
    assert.match(
      messageOf(() => Second.encode({ items: [{ id: 1, name: 'a' }, bad] })),
      /^value\.items\[1\]\.id: expected an integer from 0 to 100, found 101$/,
    );
    // Decoding names paths the same way.
    assert.match(
      messageOf(() =>
        Second.decode(
          encodeCbor([
            [
              [1, 'a'],
              [102, 'b'],
            ],
          ]),
        ),
      ),
      /^value\.items\[1\]\.id: expected an integer from 0 to 100, found 102$/,
    );
  }
  // The valid twin: the same values within bounds encode under both parents.
  assert.equal(
    toHex(Second.encode({ items: [{ id: 100, name: 'x' }] })),
    toHex(encodeCbor([[[100, 'x']]])),
  );
});

test('decoded text is exact for ASCII, non-ASCII and long strings (fast-check)', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
      ),
      (value) => {
        fc.pre(!/\p{Cs}/u.test(value));
        assert.equal(decodeCbor(encodeCbor(value)), value);
      },
    ),
    { numRuns: 400 },
  );
});

test('a string with malformed UTF-8 is refused whether or not it starts as ASCII', () => {
  // "ab" then a lone continuation byte: the ASCII path gives way to the strict decoder.
  const malformed = Uint8Array.of(0x63, 0x61, 0x62, 0x80);
  assert.match(
    messageOf(() => decodeCbor(malformed)),
    /expected a text string of valid UTF-8/,
  );
  assert.equal(decodeCbor(Uint8Array.of(0x62, 0x61, 0x62)), 'ab');
});
