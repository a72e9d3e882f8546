/**
 * The hello: the first frame each side sends on channel 0 once the TLS handshake has
 * authenticated the peer. It carries the link protocol's name and version and the chainId, as
 * canonical CBOR (`codec/`): `["medledger-p2p", version, chainId]`.
 */
import { utf8 } from '../base/index.ts';
import { decodeCbor, encodeCbor } from '../codec/index.ts';

/** The link protocol's name, first item of every hello. */
export const helloProtocolName = 'medledger-p2p';

/** The version of the link protocol this build speaks (framing, hello, channel 0 rules). */
export const p2pProtocolVersion = 1;

/** A decoded hello. */
export interface Hello {
  readonly version: number;
  readonly chainId: string;
}

/** Encodes this node's hello. */
export function encodeHello(hello: Hello): Uint8Array {
  return encodeCbor([helloProtocolName, hello.version, hello.chainId]);
}

/**
 * Decodes a peer's hello; a string saying what was expected and what was found if it is not one.
 * Version and chainId are compared by the caller, which knows what to expect.
 */
export function decodeHello(
  payload: Uint8Array,
  limits: { helloBytesMax: number; chainIdBytesMax: number },
): Hello | string {
  let value: unknown;
  try {
    value = decodeCbor(payload, { bytesMax: limits.helloBytesMax, depthMax: 2 });
  } catch (error) {
    return `expected a canonical CBOR hello, found bytes that do not decode (${(error as Error).message})`;
  }
  if (!Array.isArray(value) || value.length !== 3) {
    return 'expected a hello [protocol, version, chainId], found another CBOR value';
  }
  const [protocol, version, chainId] = value as unknown[];
  if (protocol !== helloProtocolName) {
    return `expected protocol "${helloProtocolName}", found ${describe(protocol)}`;
  }
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    return `expected a version number, found ${describe(version)}`;
  }
  if (typeof chainId !== 'string' || chainId.length === 0) {
    return `expected a non-empty chainId, found ${describe(chainId)}`;
  }
  if (utf8(chainId).length > limits.chainIdBytesMax) {
    return `expected a chainId of at most ${limits.chainIdBytesMax} bytes, found ${utf8(chainId).length}`;
  }
  return { version, chainId };
}

/** A short, printable description of a peer-supplied value (never more than 64 characters). */
export function describe(value: unknown): string {
  if (typeof value === 'string') {
    const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    return `text ${shown}`;
  }
  if (typeof value === 'number') return `number ${value}`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value;
}
