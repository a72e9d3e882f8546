import { assert } from '../base/index.ts';

import { CodecError } from './codec-error.ts';
import { codecBytesMax } from './limits.ts';

/** CBOR major types (RFC 8949 §3.1). */
export const MajorType = {
  unsignedInteger: 0,
  negativeInteger: 1,
  byteString: 2,
  textString: 3,
  array: 4,
  map: 5,
  tag: 6,
  simpleOrFloat: 7,
} as const;

/** The three simple values of the subset, as whole initial bytes (RFC 8949 §3.3). */
export const SimpleByte = { false: 0xf4, true: 0xf5, null: 0xf6 } as const;

const initialCapacity = 256;
const textEncoder = new TextEncoder();
const twoTo32 = 2 ** 32;

/**
 * An append-only byte buffer that writes CBOR heads in their shortest form (RFC 8949 §4.2.1)
 * and refuses to grow past `bytesMax`. Internal to the codec.
 */
export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  /** `capacity` is a first guess at the output size; the buffer grows by doubling past it. */
  constructor(
    private readonly bytesMax: number,
    capacity: number = initialCapacity,
  ) {
    this.buffer = new Uint8Array(Math.max(1, Math.min(capacity, bytesMax)));
    this.view = new DataView(this.buffer.buffer);
  }

  /** Writes the head of an item: major type and argument, in the fewest bytes. */
  writeHead(major: number, argument: number): void {
    assert(Number.isSafeInteger(argument), 'a head argument is a safe integer');
    assert(argument >= 0, 'a head argument is not negative');
    if (argument < 24) {
      this.reserve(1);
      this.buffer[this.length++] = (major << 5) | argument;
    } else if (argument < 0x100) {
      this.reserve(2);
      this.buffer[this.length++] = (major << 5) | 24;
      this.buffer[this.length++] = argument;
    } else if (argument < 0x10000) {
      this.reserve(3);
      this.buffer[this.length++] = (major << 5) | 25;
      this.view.setUint16(this.length, argument);
      this.length += 2;
    } else if (argument < twoTo32) {
      this.reserve(5);
      this.buffer[this.length++] = (major << 5) | 26;
      this.view.setUint32(this.length, argument);
      this.length += 4;
    } else {
      this.reserve(9);
      this.buffer[this.length++] = (major << 5) | 27;
      this.view.setUint32(this.length, Math.floor(argument / twoTo32));
      this.view.setUint32(this.length + 4, argument % twoTo32);
      this.length += 8;
    }
  }

  /** Writes a whole initial byte (false, true, null). */
  writeByte(byte: number): void {
    this.reserve(1);
    this.buffer[this.length++] = byte;
  }

  /** Copies `bytes` in; the writer never keeps a reference to the caller's array. */
  writeBytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  /**
   * Writes a text string item: head and UTF-8. `utf8Length` comes from `utf8LengthOf`, which
   * also proved the text well-formed; encoding straight into the buffer avoids an allocation
   * per string.
   */
  writeText(text: string, utf8Length: number): void {
    this.writeHead(MajorType.textString, utf8Length);
    this.reserve(utf8Length);
    if (utf8Length === text.length) {
      // All ASCII: one byte per UTF-16 unit.
      for (let index = 0; index < utf8Length; index++) {
        this.buffer[this.length + index] = text.charCodeAt(index);
      }
    } else {
      const target = this.buffer.subarray(this.length, this.length + utf8Length);
      const { written } = textEncoder.encodeInto(text, target);
      assert(written === utf8Length, 'the UTF-8 length was computed beforehand');
    }
    this.length += utf8Length;
  }

  /** The bytes written so far, in a new array of exactly that length. */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  /** Forgets what was written, keeping the buffer for the next value. */
  reset(): void {
    this.length = 0;
  }

  /** Bytes allocated for the buffer (not bytes written). */
  capacity(): number {
    return this.buffer.length;
  }

  private reserve(count: number): void {
    const needed = this.length + count;
    if (needed > this.bytesMax) {
      throw new CodecError(
        'too-large',
        `encoding too large: expected at most ${this.bytesMax} bytes, found at least ${needed}`,
        { expected: `at most ${this.bytesMax} bytes`, found: `${needed} bytes` },
      );
    }
    if (needed <= this.buffer.length) return;
    // Doubling keeps the total copying linear in the output size.
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(Math.min(capacity, this.bytesMax));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }
}

/**
 * Largest buffer, in bytes, that `takeWriter` keeps for the next encoding: a writer that grew
 * past it (a block's encoding) is dropped rather than held for the life of the process.
 */
export const pooledWriterBytesMax = 65_536;

let pooledWriter: ByteWriter | null = null;

/**
 * A writer of `codecBytesMax` for one top-level encoding, reusing the buffer of the last one
 * returned with `releaseWriter`: most encodings are small state values and transaction bodies,
 * and a fresh buffer (and view) per value was a large part of the allocation of contract
 * execution (bench `contracts: execution`). A nested encoding (a getter that encodes while its
 * object is being encoded) simply gets a fresh writer.
 */
export function takeWriter(): ByteWriter {
  const writer = pooledWriter;
  if (writer === null) return new ByteWriter(codecBytesMax);
  pooledWriter = null;
  writer.reset();
  return writer;
}

/** Gives a writer from `takeWriter` back once its bytes were copied out with `finish`. */
export function releaseWriter(writer: ByteWriter): void {
  if (writer.capacity() <= pooledWriterBytesMax) pooledWriter = writer;
}

/**
 * The UTF-8 length of `text` (RFC 3629), or `undefined` if it holds a lone surrogate, which has
 * no UTF-8 form (`TextEncoder` would silently write U+FFFD instead).
 */
export function utf8LengthOf(text: string): number | undefined {
  let length = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) length += 1;
    else if (unit < 0x800) length += 2;
    else if (unit < 0xd800 || unit > 0xdfff) length += 3;
    else if (unit > 0xdbff) return undefined;
    else {
      const next = text.charCodeAt(index + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return undefined;
      length += 4;
      index += 1;
    }
  }
  return length;
}

/**
 * Orders two well-formed strings by code point, which is the bytewise order of their UTF-8
 * (RFC 3629 §1). Plain `<` compares UTF-16 units and puts U+10000 before U+E000; UTF-8 does not.
 */
export function compareCodePoints(a: string, b: string): number {
  let index = 0;
  while (index < a.length && index < b.length) {
    const left = a.codePointAt(index)!;
    const right = b.codePointAt(index)!;
    if (left !== right) return left - right;
    index += left > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}
