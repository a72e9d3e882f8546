// Checks frame decoding on arbitrary chunkings (fast-check), refusal of bad lengths from the header alone, and hello encoding with its invalid twins.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { encodeCbor } from '../../src/codec/index.ts';
import { type Frame, FrameDecoder, encodeFrame } from '../../src/p2p/frame.ts';
import { decodeHello, encodeHello, p2pProtocolVersion } from '../../src/p2p/hello.ts';

const helloLimits = { helloBytesMax: 1024, chainIdBytesMax: 256 };

/** Feeds `stream` to a decoder in pieces cut at `cuts`; returns the frames and any refusal. */
function decodeInPieces(stream: Buffer, cuts: readonly number[], limit: number) {
  const decoder = new FrameDecoder(limit);
  const frames: Frame[] = [];
  let refused: number | undefined;
  let start = 0;
  for (const cut of [...cuts.filter((at) => at > 0 && at < stream.length)]
    .sort((a, b) => a - b)
    .concat(stream.length)) {
    if (cut < start) continue;
    refused ??= decoder.push(Buffer.from(stream.subarray(start, cut)), (frame) => {
      frames.push({ channel: frame.channel, payload: new Uint8Array(frame.payload) });
      return true;
    });
    start = cut;
  }
  return { frames, refused, buffered: decoder.bufferedBytes };
}

test('frames survive any cutting of the stream into chunks, in order', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          channel: fc.integer({ min: 0, max: 255 }),
          payload: fc.uint8Array({ maxLength: 300 }),
        }),
        { maxLength: 20 },
      ),
      fc.array(fc.nat(7000), { maxLength: 30 }),
      (frames, cuts) => {
        const stream = Buffer.concat(
          frames.map((frame) => encodeFrame(frame.channel, frame.payload)),
        );
        const result = decodeInPieces(stream, cuts, 301);
        assert.equal(result.refused, undefined);
        assert.equal(result.buffered, 0);
        assert.deepEqual(
          result.frames,
          frames.map((frame) => ({ channel: frame.channel, payload: frame.payload })),
        );
      },
    ),
  );
});

test('a header declaring more than the limit, or zero, is refused before any body arrives', () => {
  const limit = 1000;
  const atLimit = encodeFrame(3, new Uint8Array(limit - 1));
  assert.equal(decodeInPieces(atLimit, [], limit).frames.length, 1);
  for (const declared of [limit + 1, 0, 0xffffffff]) {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(declared);
    // Only the header, and a frame before it that still counts.
    const stream = Buffer.concat([encodeFrame(1, Uint8Array.of(9)), header]);
    const result = decodeInPieces(stream, [2, 6], limit);
    assert.equal(result.refused, declared);
    assert.deepEqual(result.frames, [{ channel: 1, payload: Uint8Array.of(9) }]);
    assert.equal(result.buffered, 0);
  }
});

test('the limit can rise between two frames of one chunk; a callback returning false stops decoding', () => {
  const small = 10;
  const stream = Buffer.concat([
    encodeFrame(0, Uint8Array.of(1)),
    encodeFrame(1, new Uint8Array(50)),
  ]);
  const decoder = new FrameDecoder(small);
  const seen: number[] = [];
  const refused = decoder.push(stream, (frame) => {
    seen.push(frame.payload.length);
    decoder.bodyBytesMax = 100;
    return true;
  });
  assert.equal(refused, undefined);
  assert.deepEqual(seen, [1, 50]);
  // Twin: with the limit left small, the second frame is refused.
  const strict = new FrameDecoder(small);
  assert.equal(
    strict.push(stream, () => true),
    51,
  );
  // And a false return stops at the first frame.
  const stopping = new FrameDecoder(100);
  let calls = 0;
  stopping.push(stream, () => {
    calls++;
    return false;
  });
  assert.equal(calls, 1);
});

test('a hello round-trips; each malformed hello is refused with what was expected', () => {
  const hello = { version: p2pProtocolVersion, chainId: 'medledger-test' };
  assert.deepEqual(decodeHello(encodeHello(hello), helloLimits), hello);
  const cases: [Uint8Array, RegExp][] = [
    [Uint8Array.of(0xff), /^expected a canonical CBOR hello/],
    [encodeCbor({ chainId: 'x' }), /^expected a hello \[protocol, version, chainId\]/],
    [
      encodeCbor(['other-protocol', 1, 'x']),
      /^expected protocol "medledger-p2p", found text "other-protocol"$/,
    ],
    [encodeCbor(['medledger-p2p', -1, 'x']), /^expected a version number, found number -1$/],
    [encodeCbor(['medledger-p2p', 1, '']), /^expected a non-empty chainId, found text ""$/],
    [
      encodeCbor(['medledger-p2p', 1, new Uint8Array(3)]),
      /^expected a non-empty chainId, found 3 bytes$/,
    ],
    [
      encodeCbor(['medledger-p2p', 1, 'x'.repeat(257)]),
      /^expected a chainId of at most 256 bytes, found 257$/,
    ],
    [encodeCbor(['medledger-p2p', 1, 'y'.repeat(2000)]), /^expected a canonical CBOR hello/],
  ];
  for (const [bytes, expected] of cases) {
    const result = decodeHello(bytes, helloLimits);
    assert.equal(typeof result, 'string');
    assert.match(result as string, expected);
  }
});
