/**
 * Random bytes for the vault's data keys, nonces, salts and record ids, from Node's CSPRNG
 * (`crypto.randomFillSync`, OpenSSL's DRBG) drawn 4 KiB at a time.
 *
 * Each `crypto.randomBytes` call costs about 2 µs of setup whatever its size, and a create takes
 * nine (record id, two salts, two data keys, four nonces): 2 % of a node's busy time under
 * `npm run bench:fhir` (V8 CPU profile, decision 0080). The pool makes that one copy each. Bytes
 * handed out are zeroed in the pool at once, so no two callers share bytes and a data key does not
 * stay behind in the pool after it is used.
 */
import { randomFillSync } from 'node:crypto';

/** Bytes drawn from the CSPRNG at once. */
const poolBytes = 4096;

const pool = new Uint8Array(poolBytes);
let taken = poolBytes;

/** `length` fresh random bytes (1 to 256), in a new array the caller owns. */
export function randomPoolBytes(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 1 || length > 256) {
    throw new RangeError(`length: expected 1 to 256 bytes, found ${String(length)}`);
  }
  if (taken + length > poolBytes) {
    randomFillSync(pool);
    taken = 0;
  }
  const bytes = pool.slice(taken, taken + length);
  pool.fill(0, taken, taken + length);
  taken += length;
  return bytes;
}
