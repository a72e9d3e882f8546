import { MedLedgerError } from '../base/index.ts';

/**
 * Every way an encoding or a value can be refused (RFC 8949 §4.2.1 and §5.3 validity, plus the
 * MedLedger schema rules). The codes are stable: tests, logs and peers match on them.
 */
export const CodecErrorCode = {
  /** The argument is not of the type the function takes (not a Uint8Array, a bad option). */
  invalidArgument: 'invalid-argument',
  /** The input ends inside an item. */
  truncated: 'truncated',
  /** Bytes follow the top-level item. */
  trailingBytes: 'trailing-bytes',
  /** An integer is not in its shortest head (RFC 8949 §4.2.1). */
  nonCanonicalInteger: 'non-canonical-integer',
  /** A string length or item count is not in its shortest head (RFC 8949 §4.2.1). */
  nonCanonicalLength: 'non-canonical-length',
  /** Map keys are not in bytewise lexicographic order of their encodings (RFC 8949 §4.2.1). */
  unsortedMapKeys: 'unsorted-map-keys',
  /** A map has the same key twice (RFC 8949 §5.6). */
  duplicateMapKey: 'duplicate-map-key',
  /** A map key is not a text string. */
  invalidMapKey: 'invalid-map-key',
  /** An indefinite-length string, array or map (RFC 8949 §3.2.2; not canonical). */
  indefiniteLength: 'indefinite-length',
  /** A float, tag, `undefined`, simple value other than false/true/null, or break code. */
  unsupportedType: 'unsupported-type',
  /** Additional information 28–30 (reserved), or 31 on an integer (RFC 8949 §3). */
  malformedHead: 'malformed-head',
  /** An integer outside the JavaScript safe range ±(2^53 − 1). */
  unsafeInteger: 'unsafe-integer',
  /** A text string that is not valid UTF-8 (RFC 8949 §3.1 major type 3, RFC 3629). */
  invalidUtf8: 'invalid-utf8',
  /** A declared length or count larger than the bytes left in the input. */
  lengthExceedsInput: 'length-exceeds-input',
  /** Arrays and maps nested deeper than `codecDepthMax`. */
  tooDeep: 'too-deep',
  /** An input or output larger than `codecBytesMax` (or the caller's `bytesMax`). */
  tooLarge: 'too-large',
  /** The encoder was given a value outside the value model (NaN, undefined, a class instance…). */
  invalidValue: 'invalid-value',
  /** Schema: the item has the wrong CBOR type for the field. */
  wrongType: 'wrong-type',
  /** Schema: a chain object carries another object's type tag. */
  wrongTypeTag: 'wrong-type-tag',
  /** Schema: a chain object carries a version this schema does not know. */
  unknownVersion: 'unknown-version',
  /** Schema: a chain object or struct has too few or too many fields. */
  wrongFieldCount: 'wrong-field-count',
  /** Schema: the value to encode has a property the schema does not define. */
  unexpectedField: 'unexpected-field',
  /** Schema: a byte string, text or array is longer or shorter than the field allows. */
  wrongLength: 'wrong-length',
  /** Schema: an integer is outside the field's bounds, or a text outside its enumeration. */
  outOfRange: 'out-of-range',
} as const;

/** One of the values of `CodecErrorCode`. */
export type CodecErrorCode = (typeof CodecErrorCode)[keyof typeof CodecErrorCode];

/**
 * Where and what: `offset` is the byte offset in the decoder's input, `path` the field path
 * (`Block.txs[3].signature`); either may be absent. `expected` and `found` repeat the message's
 * two halves for programs.
 */
export type CodecErrorDetails = {
  readonly offset?: number;
  readonly path?: string;
  readonly expected?: string;
  readonly found?: string;
};

/** The codec's one domain error: a code from `CodecErrorCode` and where it happened. */
export class CodecError extends MedLedgerError<CodecErrorCode> {
  declare readonly details: CodecErrorDetails;

  constructor(code: CodecErrorCode, message: string, details: CodecErrorDetails = {}) {
    super(code, message, details);
  }
}
