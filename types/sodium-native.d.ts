// The subset of sodium-native (libsodium bindings) that MedLedger uses. The package ships no types.
// Lengths are checked by sodium-native itself (it throws on a wrong-length buffer), except where
// noted; functions that return a status throw on failure.
declare module 'sodium-native' {
  export const crypto_sign_PUBLICKEYBYTES: number;
  export const crypto_sign_SECRETKEYBYTES: number;
  export const crypto_sign_SEEDBYTES: number;
  export const crypto_sign_BYTES: number;
  export const crypto_hash_sha256_BYTES: number;
  export const crypto_hash_sha256_STATEBYTES: number;
  export const crypto_core_ed25519_BYTES: number;
  export const crypto_core_ed25519_SCALARBYTES: number;
  /** Reads only the first `crypto_sign_BYTES` of a longer `signature`: check lengths first. */
  export function crypto_sign_verify_detached(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
  ): boolean;
  export function crypto_sign_detached(
    signature: Uint8Array,
    message: Uint8Array,
    secretKey: Uint8Array,
  ): void;
  export function crypto_sign_seed_keypair(
    publicKey: Uint8Array,
    secretKey: Uint8Array,
    seed: Uint8Array,
  ): void;
  /** Canonical, on the curve, not of small order, and in the prime-order subgroup. */
  export function crypto_core_ed25519_is_valid_point(point: Uint8Array): boolean;
  /** `result = p + q`; accepts any points on the curve, small-order ones included. */
  export function crypto_core_ed25519_add(result: Uint8Array, p: Uint8Array, q: Uint8Array): void;
  /** `result = scalar · B` without clamping; throws when the result is the identity. */
  export function crypto_scalarmult_ed25519_base_noclamp(
    result: Uint8Array,
    scalar: Uint8Array,
  ): void;
  /** X25519 (RFC 7748): `result = X25519(scalar, 9)`. */
  export function crypto_scalarmult_base(result: Uint8Array, scalar: Uint8Array): void;
  /** X25519 (RFC 7748): `result = X25519(scalar, point)`; throws on an all-zero result. */
  export function crypto_scalarmult(
    result: Uint8Array,
    scalar: Uint8Array,
    point: Uint8Array,
  ): void;
  export function crypto_hash_sha256(out: Uint8Array, input: Uint8Array): void;
  export function crypto_hash_sha256_init(state: Uint8Array): void;
  export function crypto_hash_sha256_update(state: Uint8Array, input: Uint8Array): void;
  export function crypto_hash_sha256_final(state: Uint8Array, out: Uint8Array): void;
}
