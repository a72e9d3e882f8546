import { compareBytes, toHex } from '../base/index.ts';

import { ByteWriter, MajorType, SimpleByte } from './byte-writer.ts';
import type { CborValue } from './cbor-value.ts';
import { describeValue } from './cbor-value.ts';
import { CodecError } from './codec-error.ts';
import type { CodecErrorCode } from './codec-error.ts';
import { codecBytesMax, codecDepthMax } from './limits.ts';

/** Options of `decodeCbor`; each may only tighten the codec's own limit. */
export type DecodeCborOptions = {
  /** Most input bytes accepted, 1 ≤ bytesMax ≤ `codecBytesMax`. */
  readonly bytesMax?: number;
  /** Most levels of nested arrays and maps, 1 ≤ depthMax ≤ `codecDepthMax`. */
  readonly depthMax?: number;
};

// A fatal decoder refuses malformed UTF-8; ignoreBOM keeps a leading U+FEFF as a character
// instead of stripping it, so that every accepted text re-encodes to the same bytes.
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Longest text decoded through the ASCII path (`Decoder.readAscii`), in bytes. */
const asciiTextBytesMax = 256;
const asciiCodes: number[] = [];

const expectedItem = 'an integer, byte string, text string, array, map, false, true or null';
const twoTo32 = 2 ** 32;
// The largest 8-byte argument that is still a safe integer has this high word.
const safeHighWordMax = 0x1fffff;

type ArrayFrame = { readonly kind: 'array'; readonly items: CborValue[]; remaining: number };
type MapFrame = {
  readonly kind: 'map';
  readonly entries: Record<string, CborValue>;
  remaining: number;
  key: string | undefined;
  previousKeyStart: number;
  previousKeyEnd: number;
};
type Frame = ArrayFrame | MapFrame;

/**
 * Decodes exactly one item of deterministic CBOR (RFC 8949 §4.2.1) in the MedLedger subset and
 * refuses everything else with a `CodecError` that gives the byte offset, what was expected and
 * what was found: non-shortest heads, indefinite lengths, unsorted or duplicate map keys, keys
 * that are not text, floats, tags, simple values other than false/true/null, integers outside
 * ±(2^53 − 1), malformed UTF-8, lengths beyond the input (checked before anything is allocated),
 * nesting deeper than `depthMax`, inputs larger than `bytesMax`, and trailing bytes.
 *
 * Every accepted input re-encodes with `encodeCbor` to the same bytes. Byte strings in the result
 * are fresh copies: mutating them never touches `bytes`, and they do not keep `bytes` alive.
 * Maps are plain objects whose keys are own data properties (`"__proto__"` included).
 */
export function decodeCbor(bytes: Uint8Array, options: DecodeCborOptions = {}): CborValue {
  if (!(bytes instanceof Uint8Array)) {
    throw new CodecError(
      'invalid-argument',
      `decodeCbor: bytes: expected a Uint8Array, found ${describeValue(bytes)}`,
      { expected: 'a Uint8Array', found: describeValue(bytes) },
    );
  }
  const bytesMax = limitOption('bytesMax', options.bytesMax, codecBytesMax);
  const depthMax = limitOption('depthMax', options.depthMax, codecDepthMax);
  if (bytes.length > bytesMax) {
    throw new CodecError(
      'too-large',
      `input too large: expected at most ${bytesMax} bytes, found ${bytes.length}`,
      { offset: 0, expected: `at most ${bytesMax} bytes`, found: `${bytes.length} bytes` },
    );
  }
  return new Decoder(bytes, depthMax).decodeItem();
}

function limitOption(name: string, value: number | undefined, max: number): number {
  if (value === undefined) return max;
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    const expected = `an integer from 1 to ${max}`;
    throw new CodecError(
      'invalid-argument',
      `decodeCbor: options.${name}: expected ${expected}, found ${describeValue(value)}`,
      { expected, found: describeValue(value) },
    );
  }
  return value;
}

class Decoder {
  private offset = 0;

  // No DataView over the input: reading `bytes.buffer` makes V8 move a small array (the most
  // common input: a state value, a transaction body) off its heap first, which cost more than the
  // rest of decoding it (bench `contracts: execution`); heads are read byte by byte instead.
  constructor(
    private readonly bytes: Uint8Array,
    private readonly depthMax: number,
  ) {}

  /** The big-endian u32 at `offset` (the caller checked the bytes are there). */
  private readUint32(offset: number): number {
    const bytes = this.bytes;
    return (
      bytes[offset]! * 0x1000000 +
      ((bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!)
    );
  }

  decodeItem(): CborValue {
    // An explicit stack of open arrays and maps instead of recursion (TIGER_STYLE): its height is
    // bounded by depthMax, and the JavaScript call stack never depends on the input.
    const frames: Frame[] = [];
    for (;;) {
      const start = this.offset;
      const frame = frames[frames.length - 1];
      const isKey = frame?.kind === 'map' && frame.key === undefined;
      let value: CborValue;
      const initial = this.readInitialByte();
      const major = initial >> 5;
      const additional = initial & 31;
      if (isKey && major !== MajorType.textString) {
        throw this.error('invalid-map-key', start, 'a text-string map key', describeMajor(major));
      }
      switch (major) {
        case MajorType.unsignedInteger:
          value = this.readArgument(start, major, additional);
          break;
        case MajorType.negativeInteger: {
          const argument = this.readArgument(start, major, additional);
          if (argument === Number.MAX_SAFE_INTEGER) {
            const found = `-${BigInt(argument) + 1n}`;
            throw this.error('unsafe-integer', start, 'an integer within ±(2^53 − 1)', found);
          }
          value = -1 - argument;
          break;
        }
        case MajorType.byteString: {
          const length = this.readLength(start, major, additional, 1);
          value = this.bytes.slice(this.offset, this.offset + length);
          this.offset += length;
          break;
        }
        case MajorType.textString: {
          const length = this.readLength(start, major, additional, 1);
          value = this.readText(start, length);
          break;
        }
        case MajorType.array: {
          const count = this.readLength(start, major, additional, 1);
          this.checkDepth(start, frames.length + 1);
          if (count > 0) {
            frames.push({ kind: 'array', items: [], remaining: count });
            continue;
          }
          value = [];
          break;
        }
        case MajorType.map: {
          const count = this.readLength(start, major, additional, 2);
          this.checkDepth(start, frames.length + 1);
          if (count > 0) {
            frames.push({
              kind: 'map',
              entries: {},
              remaining: 2 * count,
              key: undefined,
              previousKeyStart: 0,
              previousKeyEnd: -1,
            });
            continue;
          }
          value = {};
          break;
        }
        case MajorType.tag:
          throw this.error('unsupported-type', start, expectedItem, `a tag (0x${hex(initial)})`);
        default:
          value = this.readSimple(start, initial, additional);
      }
      // Hand the finished item to the innermost open container; a container that this item
      // completes becomes in turn the finished item of its parent.
      for (;;) {
        const open = frames[frames.length - 1];
        if (open === undefined) {
          if (this.offset !== this.bytes.length) {
            const extra = this.bytes.length - this.offset;
            throw this.error(
              'trailing-bytes',
              this.offset,
              'the end of the input after the top-level item',
              `${extra} more byte${extra === 1 ? '' : 's'}`,
            );
          }
          return value;
        }
        open.remaining -= 1;
        if (open.kind === 'array') {
          open.items.push(value);
        } else if (open.key === undefined) {
          this.checkKeyOrder(open, start);
          open.key = value as string;
          break;
        } else {
          setEntry(open.entries, open.key, value);
          open.key = undefined;
        }
        if (open.remaining > 0) break;
        frames.pop();
        value = open.kind === 'array' ? open.items : open.entries;
      }
    }
  }

  private readInitialByte(): number {
    const byte = this.bytes[this.offset];
    if (byte === undefined) {
      throw this.error(
        'truncated',
        this.offset,
        'the initial byte of an item',
        'the end of the input',
      );
    }
    this.offset += 1;
    return byte;
  }

  /** The argument of a head (RFC 8949 §3), refusing non-shortest forms (§4.2.1). */
  private readArgument(start: number, major: number, additional: number): number {
    if (additional < 24) return additional;
    if (additional > 27) {
      const found = `additional information ${additional} in 0x${hex(this.bytes[start]!)}`;
      throw this.error('malformed-head', start, 'additional information 0–27', found);
    }
    const size = 1 << (additional - 24);
    const remaining = this.bytes.length - this.offset;
    if (size > remaining) {
      throw this.error(
        'truncated',
        start,
        `${size} argument byte${size === 1 ? '' : 's'} after the initial byte`,
        `${remaining}`,
      );
    }
    let argument: number;
    let minimum: number;
    if (size === 1) {
      argument = this.bytes[this.offset]!;
      minimum = 24;
    } else if (size === 2) {
      argument = (this.bytes[this.offset]! << 8) | this.bytes[this.offset + 1]!;
      minimum = 0x100;
    } else if (size === 4) {
      argument = this.readUint32(this.offset);
      minimum = 0x10000;
    } else {
      const high = this.readUint32(this.offset);
      const low = this.readUint32(this.offset + 4);
      if (high > safeHighWordMax) {
        this.offset += size;
        throw this.unsafeArgument(start, major, (BigInt(high) << 32n) | BigInt(low));
      }
      argument = high * twoTo32 + low;
      minimum = twoTo32;
    }
    this.offset += size;
    if (argument < minimum) {
      const isInteger = major === MajorType.unsignedInteger || major === MajorType.negativeInteger;
      const code = isInteger ? 'non-canonical-integer' : 'non-canonical-length';
      const shortest = new ByteWriter(9, 9);
      shortest.writeHead(major, argument);
      throw this.error(
        code,
        start,
        `the shortest head 0x${toHex(shortest.finish())} for ${isInteger ? 'argument' : 'length'} ${argument}`,
        `0x${toHex(this.bytes.subarray(start, this.offset))}`,
      );
    }
    return argument;
  }

  private unsafeArgument(start: number, major: number, argument: bigint): CodecError {
    if (major === MajorType.unsignedInteger || major === MajorType.negativeInteger) {
      const value = major === MajorType.unsignedInteger ? argument : -1n - argument;
      return this.error('unsafe-integer', start, 'an integer within ±(2^53 − 1)', `${value}`);
    }
    return this.lengthError(start, major, `${argument}`);
  }

  /**
   * A string length or container count, checked against the bytes left before the caller
   * allocates anything: each byte of a string takes one input byte, each array item at least
   * one, each map entry at least two.
   */
  private readLength(
    start: number,
    major: number,
    additional: number,
    bytesPerUnit: number,
  ): number {
    if (additional === 31) {
      const found = `0x${hex(this.bytes[start]!)} (indefinite-length ${majorName(major)})`;
      throw this.error('indefinite-length', start, 'a definite length (RFC 8949 §4.2.1)', found);
    }
    const length = this.readArgument(start, major, additional);
    if (length * bytesPerUnit > this.bytes.length - this.offset) {
      throw this.lengthError(start, major, `${length}`);
    }
    return length;
  }

  private lengthError(start: number, major: number, declared: string): CodecError {
    const remaining = this.bytes.length - this.offset;
    const unit =
      major === MajorType.array ? 'items' : major === MajorType.map ? 'entries' : 'bytes';
    return this.error(
      'length-exceeds-input',
      start,
      `a declared length that fits the ${remaining} byte${remaining === 1 ? '' : 's'} left`,
      `${describeMajor(major)} of ${declared} ${unit}`,
    );
  }

  private readText(start: number, length: number): string {
    if (length <= asciiTextBytesMax) {
      const text = this.readAscii(length);
      if (text !== null) return text;
    }
    const encoded = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    try {
      return textDecoder.decode(encoded);
    } catch {
      return this.invalidUtf8(start, encoded);
    }
  }

  /**
   * The next `length` bytes as text if they are all ASCII (then UTF-8 and the string agree byte
   * for byte), or null without moving. Codes, ids and names are short ASCII strings, and this
   * avoids `TextDecoder` and the view it needs (bench `contracts: execution`).
   */
  private readAscii(length: number): string | null {
    const bytes = this.bytes;
    const offset = this.offset;
    asciiCodes.length = length;
    for (let index = 0; index < length; index++) {
      const byte = bytes[offset + index]!;
      if (byte >= 0x80) return null;
      asciiCodes[index] = byte;
    }
    this.offset += length;
    return String.fromCharCode.apply(null, asciiCodes);
  }

  private invalidUtf8(start: number, encoded: Uint8Array): never {
    const preview = encoded.length > 16 ? `${toHex(encoded.subarray(0, 16))}…` : toHex(encoded);
    throw this.error('invalid-utf8', start, 'a text string of valid UTF-8', `0x${preview}`);
  }

  private readSimple(start: number, initial: number, additional: number): CborValue {
    if (initial === SimpleByte.false) return false;
    if (initial === SimpleByte.true) return true;
    if (initial === SimpleByte.null) return null;
    if (additional >= 28) {
      const found = `0x${hex(initial)} (${additional === 31 ? 'a break code outside an indefinite-length item' : 'reserved'})`;
      throw this.error('malformed-head', start, 'a well-formed initial byte', found);
    }
    throw this.error('unsupported-type', start, expectedItem, describeSimple(initial, additional));
  }

  private checkDepth(start: number, depth: number): void {
    if (depth > this.depthMax) {
      throw this.error(
        'too-deep',
        start,
        `at most ${this.depthMax} levels of nested arrays and maps`,
        `level ${depth}`,
      );
    }
  }

  /** RFC 8949 §4.2.1: each key's encoding sorts strictly after the previous key's. */
  private checkKeyOrder(frame: MapFrame, start: number): void {
    const key = this.bytes.subarray(start, this.offset);
    if (frame.previousKeyEnd >= 0) {
      const previous = this.bytes.subarray(frame.previousKeyStart, frame.previousKeyEnd);
      const order = compareBytes(previous, key);
      if (order === 0) {
        throw this.error('duplicate-map-key', start, 'each map key once', `0x${toHex(key)} again`);
      }
      if (order > 0) {
        throw this.error(
          'unsorted-map-keys',
          start,
          `a key whose encoding sorts after the previous key 0x${toHex(previous)}`,
          `0x${toHex(key)}`,
        );
      }
    }
    frame.previousKeyStart = start;
    frame.previousKeyEnd = this.offset;
  }

  private error(code: CodecErrorCode, offset: number, expected: string, found: string): CodecError {
    return new CodecError(code, `${code} at byte ${offset}: expected ${expected}, found ${found}`, {
      offset,
      expected,
      found,
    });
  }
}

function setEntry(entries: Record<string, CborValue>, key: string, value: CborValue): void {
  // Plain assignment of "__proto__" would replace the prototype instead of adding an entry.
  if (key === '__proto__') {
    Object.defineProperty(entries, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    entries[key] = value;
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

const majorNames = [
  'unsigned integer',
  'negative integer',
  'byte string',
  'text string',
  'array',
  'map',
  'tag',
  'simple value or float',
] as const;

function majorName(major: number): string {
  return majorNames[major]!;
}

/** The major type's name with its article, for "found …". */
function describeMajor(major: number): string {
  const name = majorName(major);
  return `${/^[aeiou]/.test(name) ? 'an' : 'a'} ${name} (major type ${major})`;
}

function describeSimple(initial: number, additional: number): string {
  switch (additional) {
    case 23:
      return 'undefined (0xf7)';
    case 24:
      return 'a one-byte simple value (0xf8)';
    case 25:
      return 'a half-precision float (0xf9)';
    case 26:
      return 'a single-precision float (0xfa)';
    case 27:
      return 'a double-precision float (0xfb)';
    default:
      return `simple value ${additional} (0x${hex(initial)})`;
  }
}
