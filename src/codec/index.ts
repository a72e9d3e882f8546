// The public surface of src/codec, curated by hand: canonical CBOR (RFC 8949 §4.2.1), the schema
// layer for chain objects, the type-tag registry, the error type and the limits.
export { encodeCbor, type EncodeCborOptions } from './encode-cbor.ts';
export { decodeCbor, type DecodeCborOptions } from './decode-cbor.ts';
export type { CborValue, CborMap } from './cbor-value.ts';
export { CodecError, CodecErrorCode, type CodecErrorDetails } from './codec-error.ts';
export { codecBytesMax, codecDepthMax } from './limits.ts';
export { TypeTag, typeTagName, type TypeTagName, type TypeTagNumber } from './type-tags.ts';
export {
  Schema,
  ObjectSchema,
  type Infer,
  type Fields,
  type InferFields,
  type ObjectDefinition,
  type UintBounds,
  type IntBounds,
  type BytesLength,
  type TextLength,
  type ArrayLength,
  uint,
  int,
  bytes,
  text,
  textEnum,
  bool,
  cborValue,
  nullable,
  array,
  struct,
  defineObject,
} from './schema.ts';
