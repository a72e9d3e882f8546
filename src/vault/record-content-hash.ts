/**
 * The salted content hash a custodian anchors on chain for each record version (DESIGN.md
 * "Records off the chain"), and the canonical bytes it is computed over. Both are pure functions
 * of their arguments, so any node holding a shared record, its salt and the on-chain anchor can
 * recompute the hash and check it.
 *
 * `contentHash = hashTagged('medledger/record-content/v1', salt, canonical)`, that is
 * `SHA-256(0x4d ‖ u8(len tag) ‖ tag ‖ u32be(32) ‖ salt ‖ u32be(len canonical) ‖ canonical)`
 * (crypto/'s tagged hash, decision 0003), where `canonical` is the RFC 8785 (JSON Canonicalization
 * Scheme) serialisation of the resource in UTF-8 and `salt` is 32 random bytes. The salt keeps a
 * guess of a small record ("this patient's HIV test is negative") from being confirmed against
 * the public hash.
 */
import canonicalize from 'canonicalize';

import { utf8 } from '../base/index.ts';
import { hashTagged } from '../crypto/index.ts';
import type { Hash } from '../crypto/index.ts';
import { VaultError, VaultErrorCode } from './errors.ts';
import { vaultLimits } from './limits.ts';

/** Tag of the record content hash (crypto/'s `hashTagged`). */
export const recordContentHashTag = 'medledger/record-content/v1';

/** Length in bytes of a record's salt: 256 bits (DESIGN.md). */
export const recordSaltBytes = 32;

/** A FHIR R4 resource as JSON: an object with a `resourceType`. */
export type FhirResourceJson = { readonly resourceType: string; readonly [key: string]: unknown };

function invalid(argument: string, problem: string): VaultError {
  return new VaultError(VaultErrorCode.invalidArgument, `${argument}: ${problem}`, { argument });
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)
      ?.constructor?.name;
    return `an object of class ${name ?? 'null-prototype'}`;
  }
  return typeof value;
}

/**
 * Checks that `resource` is a JSON value tree that RFC 8785 serialises exactly: plain objects,
 * arrays, strings, finite numbers, booleans and null, nested at most `resourceDepthMax` deep.
 * `canonicalize` would silently drop `undefined` members, call `toJSON`, or turn a `Date` into a
 * string; the vault refuses such input instead, so the hash is always over what the caller meant.
 * An explicit stack rather than recursion: a hostile document cannot exhaust the call stack.
 */
function checkJsonTree(resource: unknown): void {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [
    { value: resource, path: 'resource', depth: 0 },
  ];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (value === null || typeof value === 'string' || typeof value === 'boolean') continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) {
        throw invalid(path, `expected a finite number (RFC 8785 §3.2.2.3), found ${value}`);
      }
      continue;
    }
    if (typeof value !== 'object') {
      throw invalid(path, `expected a JSON value, found ${describeValue(value)}`);
    }
    if (depth >= vaultLimits.resourceDepthMax) {
      throw new VaultError(
        VaultErrorCode.tooLarge,
        `${path}: nested deeper than vaultLimits.resourceDepthMax ${vaultLimits.resourceDepthMax}`,
        { argument: 'resource' },
      );
    }
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index += 1) {
        stack.push({ value: value[index], path: `${path}[${index}]`, depth: depth + 1 });
      }
      continue;
    }
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      throw invalid(path, `expected a plain JSON object, found ${describeValue(value)}`);
    }
    for (const [key, member] of Object.entries(value)) {
      stack.push({ value: member, path: `${path}.${key}`, depth: depth + 1 });
    }
  }
}

/** Checks that `resource` is a JSON object with a string `resourceType`, a JSON value tree. */
function checkResource(resource: unknown): void {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    throw invalid(
      'resource',
      `expected a FHIR resource (a JSON object), found ${describeValue(resource)}`,
    );
  }
  const resourceType = (resource as Record<string, unknown>).resourceType;
  if (typeof resourceType !== 'string') {
    throw invalid(
      'resource.resourceType',
      `expected a string, found ${describeValue(resourceType)}`,
    );
  }
  checkJsonTree(resource);
}

/** `text` (the resource as `form`) in UTF-8, refused past `vaultLimits.resourceBytesMax`. */
function boundedResourceBytes(text: string, form: string): Uint8Array {
  const bytes = utf8(text);
  if (bytes.length > vaultLimits.resourceBytesMax) {
    throw new VaultError(
      VaultErrorCode.tooLarge,
      `resource: ${form} is ${bytes.length} bytes, over vaultLimits.resourceBytesMax ` +
        `${vaultLimits.resourceBytesMax}`,
      { argument: 'resource', bytes: bytes.length },
    );
  }
  return bytes;
}

/**
 * The RFC 8785 canonical JSON of a FHIR resource, as UTF-8 bytes: members sorted by UTF-16 code
 * units (§3.2.3), numbers in ECMAScript shortest form (§3.2.2.3), strings with minimal escaping
 * (§3.2.2.2), no whitespace. Throws `VaultError` `invalid-argument` for anything that is not a
 * JSON object with a string `resourceType` (or holds a lone surrogate, a non-finite number, a
 * non-plain object), and `too-large` past `vaultLimits.resourceBytesMax` or `resourceDepthMax`.
 */
export function canonicalResourceBytes(resource: unknown): Uint8Array {
  checkResource(resource);
  let text: string | undefined;
  try {
    text = canonicalize(resource);
  } catch (error) {
    // canonicalize refuses lone surrogates (RFC 8785 §3.2.2.2 needs well-formed UTF-16).
    throw invalid(
      'resource',
      `cannot be canonicalised: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (text === undefined) throw invalid('resource', 'has no JSON representation');
  return boundedResourceBytes(text, 'canonical JSON');
}

/**
 * The JSON of a FHIR resource as UTF-8 bytes, checked as `canonicalResourceBytes` checks it but
 * in `JSON.stringify`'s member order: for what the vault stores but never hashes (a version's
 * Provenance), at less than half the cost of canonicalising (about 3 against 7 µs for a
 * Provenance, a micro-benchmark of decision 0080).
 */
export function jsonResourceBytes(resource: unknown): Uint8Array {
  checkResource(resource);
  return boundedResourceBytes(JSON.stringify(resource), 'JSON');
}

/**
 * The salted content hash of a record version:
 * `hashTagged('medledger/record-content/v1', salt, canonical)` (DESIGN.md; see the file header).
 * `salt` must be 32 bytes; `canonical` is the output of `canonicalResourceBytes`.
 */
export function recordContentHash(options: { salt: Uint8Array; canonical: Uint8Array }): Hash {
  const { salt, canonical } = options;
  if (!(salt instanceof Uint8Array) || salt.length !== recordSaltBytes) {
    throw invalid(
      'salt',
      `expected ${recordSaltBytes} bytes, found ${salt instanceof Uint8Array ? `${salt.length} bytes` : describeValue(salt)}`,
    );
  }
  if (!(canonical instanceof Uint8Array)) {
    throw invalid('canonical', `expected bytes, found ${describeValue(canonical)}`);
  }
  return hashTagged(recordContentHashTag, salt, canonical);
}
