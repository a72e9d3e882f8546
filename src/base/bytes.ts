/** Small byte helpers shared by the pure core. No I/O, no Node-only APIs. */

const hexAlphabet = '0123456789abcdef';
/** Char codes of the hex digits of each byte value: `2 * byte` (high), `2 * byte + 1` (low). */
const hexCodes: number[] = [];
for (let byte = 0; byte < 256; byte++) {
  hexCodes.push(hexAlphabet.charCodeAt(byte >> 4), hexAlphabet.charCodeAt(byte & 15));
}
/** Longest input converted in one piece (its char codes go through one reused array). */
const hexChunkBytes = 1024;
const hexChunk: number[] = [];

/**
 * Lower-case hex of `bytes`. Built from char codes in chunks rather than by concatenation, so the
 * result is one flat string (ids in receipts and events live as long as the block).
 */
export function toHex(bytes: Uint8Array): string {
  if (bytes.length <= hexChunkBytes) return hexOf(bytes, 0, bytes.length);
  let out = '';
  for (let start = 0; start < bytes.length; start += hexChunkBytes) {
    out += hexOf(bytes, start, Math.min(bytes.length, start + hexChunkBytes));
  }
  return out;
}

/** Hex of `bytes[start, end)`, at most `hexChunkBytes` bytes. */
function hexOf(bytes: Uint8Array, start: number, end: number): string {
  hexChunk.length = 2 * (end - start);
  for (let index = start, at = 0; index < end; index++, at += 2) {
    const byte = bytes[index]!;
    hexChunk[at] = hexCodes[2 * byte]!;
    hexChunk[at + 1] = hexCodes[2 * byte + 1]!;
  }
  return String.fromCharCode.apply(null, hexChunk);
}

/** Parses lower- or upper-case hex; throws a `TypeError` naming the problem. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new TypeError(`hex: odd length ${hex.length}`);
  if (!/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError('hex: non-hex character');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A short hex prefix for error messages (`3f9a0c12…`). */
export function shortHex(bytes: Uint8Array): string {
  return toHex(bytes.subarray(0, 8)) + (bytes.length > 8 ? '…' : '');
}

/** Concatenates byte strings into one new array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Constant-length comparison is not needed here (public data); this is plain equality. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic byte order: negative, zero or positive like `Array.prototype.sort` wants. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const difference = a[i]! - b[i]!;
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text);
}

/**
 * Strict UTF-8 decoding: throws `TypeError` on malformed input. A leading U+FEFF is kept, so
 * that two different byte strings never decode to the same text.
 */
export function fromUtf8(bytes: Uint8Array): string {
  return textDecoder.decode(bytes);
}
