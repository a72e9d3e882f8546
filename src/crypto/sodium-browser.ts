/**
 * Browser stand-in for `sodium-native`: the five functions `hash.ts` and `ed25519.ts` call, with
 * libsodium's semantics, built on `@noble/hashes` (SHA-256, SHA-512) and `@noble/curves`
 * (edwards25519 point arithmetic). Node never loads this file: `scripts/build-verifier.ts`
 * swaps it in for `sodium-native` (esbuild `alias`, listed in `src/layers.ts`) when it bundles
 * the verifier for the patient portal (decision 0071).
 *
 * Ed25519 verification is a consensus rule (README "Ed25519 verification is a consensus rule"),
 * so `crypto_sign_verify_detached` is libsodium 1.0.21's `crypto_sign_ed25519_verify_detached`
 * step for step, not noble's `ed25519.verify`: noble checks the cofactored equation
 * `[8][S]B = [8]R + [8][k]A` and accepts small-order R, which libsodium refuses. What is taken
 * from noble is RFC 8032 §5.1.3 point decoding (`fromBytes(bytes, false)`, i.e. `zip215: false`:
 * y < p, on the curve), the group law and SHA-512. `test/crypto/browser-backend.test.ts` checks
 * every function against `sodium-native` on published vectors, the consensus edge cases and
 * random inputs.
 *
 * Argument checks throw an `AssertionError` with sodium-native's own message, as sodium-native
 * does (it asserts through `node:assert`); a signature that does not verify is `false`.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import type * as SodiumNative from 'sodium-native';

const publicKeyBytes = 32;
const secretKeyBytes = 64;
const seedBytes = 32;
const signatureBytes = 64;
const sha256Bytes = 32;
const pointBytes = 32;

const Point = ed25519.Point;

/** The order L of the prime-order subgroup (RFC 8032 §5.1). */
const groupOrder = Point.Fn.ORDER;

/** sodium-native's argument checks fail with `node:assert`'s error; this mirrors its shape. */
class SodiumAssertionError extends Error {
  readonly code = 'ERR_ASSERTION';

  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new SodiumAssertionError(message);
}

function checkView(value: unknown, message: string): asserts value is ArrayBufferView {
  check(ArrayBuffer.isView(value), message);
}

/** The bytes of any typed array or `DataView`, as libsodium sees them (no copy). */
function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function littleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value;
}

function scalarBytes(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let rest = value;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** A SHA-512 digest read as a little-endian integer, reduced mod L (libsodium `sc25519_reduce`). */
function reducedDigest(...parts: readonly Uint8Array[]): bigint {
  const hash = sha512.create();
  for (const part of parts) hash.update(part);
  return littleEndian(hash.digest()) % groupOrder;
}

/** libsodium `sc25519_is_canonical`: S < L (RFC 8032 §5.1.7 step 1). */
function isCanonicalScalar(bytes: Uint8Array): boolean {
  return littleEndian(bytes) < groupOrder;
}

/**
 * libsodium `ge25519_is_canonical`: the y-coordinate (the sign bit of x set aside) is below
 * p = 2^255 - 19, i.e. not `ed..ff 7f` to `ff..ff 7f`.
 */
function isCanonicalPointEncoding(bytes: Uint8Array): boolean {
  if ((bytes[31]! & 0x7f) !== 0x7f) return true;
  for (let i = 30; i > 0; i--) if (bytes[i] !== 0xff) return true;
  return bytes[0]! < 0xed;
}

/**
 * libsodium `ge25519_has_small_order`'s block list: every encoding of a point of order 1, 2, 4
 * or 8 with y < 2^255 (y = 0, 1, the two order-8 y values, p - 1, and the non-canonical p and
 * p + 1), compared with the sign bit of x ignored.
 */
const smallOrderEncodings = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((hex) => Uint8Array.from(hex.match(/../g)!, (pair) => parseInt(pair, 16)));

function hasSmallOrderEncoding(bytes: Uint8Array): boolean {
  return smallOrderEncodings.some((blocked) => {
    for (let i = 0; i < 31; i++) if (bytes[i] !== blocked[i]) return false;
    return (bytes[31]! & 0x7f) === blocked[31];
  });
}

type EdwardsPoint = ReturnType<typeof Point.fromBytes>;

/** RFC 8032 §5.1.3 decoding (y < p, on the curve), or `undefined` (libsodium returns -1). */
function decodePoint(bytes: Uint8Array): EdwardsPoint | undefined {
  try {
    return Point.fromBytes(bytes, false);
  } catch {
    return undefined;
  }
}

/** The clamped secret scalar of a seed and the nonce prefix (RFC 8032 §5.1.5, §5.1.6 step 1). */
function expandSeed(seed: Uint8Array): { scalar: bigint; prefix: Uint8Array } {
  const digest = sha512(seed);
  const head = digest.slice(0, 32);
  head[0]! &= 248;
  head[31]! &= 127;
  head[31]! |= 64;
  return { scalar: littleEndian(head), prefix: digest.subarray(32) };
}

/** `crypto_hash_sha256(out, input)`: SHA-256 of `input` written into the 32-byte `out`. */
function crypto_hash_sha256(out: unknown, input: unknown): void {
  checkView(out, 'out must be a typed array');
  checkView(input, 'input must be a typed array');
  check(out.byteLength === sha256Bytes, "out must be 'crypto_hash_sha256_BYTES' bytes");
  bytesOf(out).set(sha256(bytesOf(input)));
}

/**
 * `crypto_sign_seed_keypair(pk, sk, seed)`: `pk = [a]B` with `a` the clamped SHA-512 of the
 * seed, and `sk = seed ‖ pk` (libsodium's 64-byte secret key).
 */
function crypto_sign_seed_keypair(pk: unknown, sk: unknown, seed: unknown): void {
  checkView(pk, 'pk must be a typed array');
  checkView(sk, 'sk must be a typed array');
  checkView(seed, 'seed must be a typed array');
  check(pk.byteLength === publicKeyBytes, "pk must be 'crypto_sign_PUBLICKEYBYTES' bytes");
  check(sk.byteLength === secretKeyBytes, "sk must be 'crypto_sign_SECRETKEYBYTES' bytes");
  check(seed.byteLength === seedBytes, "seed must be 'crypto_sign_SEEDBYTES' bytes");
  const seedCopy = bytesOf(seed).slice();
  // The clamped scalar lies in [2^254, 2^255) and is a multiple of 8, so it is never 0 mod L.
  const publicKey = Point.BASE.multiply(expandSeed(seedCopy).scalar % groupOrder).toBytes();
  bytesOf(pk).set(publicKey);
  const secretKey = bytesOf(sk);
  secretKey.set(seedCopy, 0);
  secretKey.set(publicKey, seedBytes);
}

/**
 * `crypto_sign_detached(sig, m, sk)`: RFC 8032 §5.1.6 as libsodium does it, which takes the
 * public key from the second half of `sk` instead of deriving it from the seed.
 */
function crypto_sign_detached(sig: unknown, m: unknown, sk: unknown): void {
  checkView(sig, 'sig must be a typed array');
  checkView(m, 'm must be a typed array');
  checkView(sk, 'sk must be a typed array');
  check(sig.byteLength === signatureBytes, "sig must be 'crypto_sign_BYTES' bytes");
  check(sk.byteLength === secretKeyBytes, "sk must be 'crypto_sign_SECRETKEYBYTES' bytes");
  const message = bytesOf(m);
  const secretKey = bytesOf(sk);
  const { scalar, prefix } = expandSeed(secretKey.subarray(0, seedBytes));
  const nonce = reducedDigest(prefix, message);
  // A zero nonce has probability 2^-252; noble's constant-time multiply refuses 0, so map it to
  // the identity by hand rather than fail.
  const r = (nonce === 0n ? Point.ZERO : Point.BASE.multiply(nonce)).toBytes();
  const challenge = reducedDigest(r, secretKey.subarray(seedBytes), message);
  const s = (nonce + challenge * scalar) % groupOrder;
  const out = bytesOf(sig);
  out.set(r, 0);
  out.set(scalarBytes(s), 32);
}

/**
 * `crypto_sign_verify_detached(sig, m, pk)`: libsodium's verification, in its order:
 * S < L; R not of small order; A canonical and not of small order; A on the curve; then
 * `k = SHA-512(R ‖ A ‖ M) mod L` and the cofactorless check that `[S]B - [k]A` encodes to
 * exactly the bytes of R (which also refuses a non-canonical or off-curve R). Like
 * sodium-native, a `sig` longer than 64 bytes is read up to its 64th byte.
 */
function crypto_sign_verify_detached(sig: unknown, m: unknown, pk: unknown): boolean {
  checkView(sig, 'sig must be a typed array');
  checkView(m, 'm must be a typed array');
  checkView(pk, 'pk must be a typed array');
  check(sig.byteLength >= signatureBytes, "sig must be at least 'crypto_sign_BYTES' bytes");
  check(pk.byteLength === publicKeyBytes, "pk must be 'crypto_sign_PUBLICKEYBYTES' bytes");
  const signature = bytesOf(sig);
  const r = signature.subarray(0, 32);
  const sBytes = signature.subarray(32, signatureBytes);
  const publicKey = bytesOf(pk);
  if (!isCanonicalScalar(sBytes)) return false;
  if (hasSmallOrderEncoding(r)) return false;
  if (!isCanonicalPointEncoding(publicKey) || hasSmallOrderEncoding(publicKey)) return false;
  const a = decodePoint(publicKey);
  if (a === undefined) return false;
  const k = reducedDigest(r, publicKey, bytesOf(m));
  const rCheck = Point.BASE.multiplyUnsafe(littleEndian(sBytes))
    .subtract(a.multiplyUnsafe(k))
    .toBytes();
  for (let i = 0; i < 32; i++) if (rCheck[i] !== r[i]) return false;
  return true;
}

/**
 * `crypto_core_ed25519_is_valid_point(p)`: canonical, not of small order, on the curve, and in
 * the prime-order subgroup (`[L]P` is the identity), as libsodium checks it.
 */
function crypto_core_ed25519_is_valid_point(p: unknown): boolean {
  checkView(p, 'p must be a typed array');
  check(p.byteLength === pointBytes, "p must be 'crypto_core_ed25519_BYTES' bytes");
  const bytes = bytesOf(p);
  if (!isCanonicalPointEncoding(bytes) || hasSmallOrderEncoding(bytes)) return false;
  const point = decodePoint(bytes);
  return point !== undefined && point.isTorsionFree();
}

/** The subset of `sodium-native` that `hash.ts` and `ed25519.ts` use, typed as sodium-native's. */
export type SodiumSubset = Pick<
  typeof SodiumNative,
  | 'crypto_hash_sha256'
  | 'crypto_sign_seed_keypair'
  | 'crypto_sign_detached'
  | 'crypto_sign_verify_detached'
  | 'crypto_core_ed25519_is_valid_point'
>;

/** The browser build's `sodium-native`. */
const sodium: SodiumSubset = {
  crypto_hash_sha256,
  crypto_sign_seed_keypair,
  crypto_sign_detached,
  crypto_sign_verify_detached,
  crypto_core_ed25519_is_valid_point,
};

export default sodium;
