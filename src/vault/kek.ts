/**
 * The organisation's key-encryption key (KEK): a 256-bit AES key that wraps every record's data
 * key (DESIGN.md "Records off the chain"). The key bytes never leave this folder: a `VaultKek`
 * shows only its id, so logging one (or an object holding one) cannot leak the key.
 *
 * The id is `hex(first 16 bytes of hashTagged('medledger/vault-kek-id/v1', key))`: it names the
 * key in the database (each wrapped data key records the id of the KEK that wrapped it) and in
 * error messages, and a mismatch between a KEK file and a vault is caught before any unwrap. A
 * hash of a uniformly random 256-bit key tells nothing about the key.
 */
import { randomBytes } from 'node:crypto';

import { toHex } from '../base/index.ts';
import { hashTagged } from '../crypto/index.ts';
import { VaultError, VaultErrorCode } from './errors.ts';

/** Length in bytes of a KEK: AES-256. */
export const vaultKekBytes = 32;

/** Tag of the KEK id hash (crypto/'s `hashTagged`). */
export const vaultKekIdTag = 'medledger/vault-kek-id/v1';

/** A key-encryption key: its id in the clear, its 32 key bytes hidden in this module. */
export type VaultKek = { readonly id: string };

const kekKeys = new WeakMap<VaultKek, Uint8Array>();

/** The id of a 32-byte KEK (see the file header). */
export function vaultKekIdOf(key: Uint8Array): string {
  return toHex(hashTagged(vaultKekIdTag, key).subarray(0, 16));
}

/**
 * A KEK from 32 key bytes (copied, so the caller may wipe its buffer). Throws `VaultError`
 * `invalid-argument` for any other length.
 */
export function vaultKekFromBytes(key: Uint8Array): VaultKek {
  if (!(key instanceof Uint8Array) || key.length !== vaultKekBytes) {
    throw new VaultError(
      VaultErrorCode.invalidArgument,
      `key: expected a ${vaultKekBytes}-byte AES-256 key, found ` +
        (key instanceof Uint8Array ? `${key.length} bytes` : typeof key),
      { argument: 'key' },
    );
  }
  const kek: VaultKek = Object.freeze({ id: vaultKekIdOf(key) });
  kekKeys.set(kek, new Uint8Array(key));
  return kek;
}

/** A new KEK of 32 bytes from the operating system's CSPRNG (`crypto.randomBytes`). */
export function generateVaultKek(): VaultKek {
  const key = randomBytes(vaultKekBytes);
  try {
    return vaultKekFromBytes(key);
  } finally {
    key.fill(0);
  }
}

/** Is `value` a KEK made by this module? */
export function isVaultKek(value: unknown): value is VaultKek {
  return typeof value === 'object' && value !== null && kekKeys.has(value as VaultKek);
}

/** The key bytes of a KEK, for this folder's wrapping and key files only. */
export function kekKeyOf(kek: VaultKek, argument = 'kek'): Uint8Array {
  const key = kekKeys.get(kek);
  if (key === undefined) {
    throw new VaultError(
      VaultErrorCode.invalidArgument,
      `${argument}: expected a VaultKek from generateVaultKek, vaultKekFromBytes or loadVaultKekFile`,
      { argument },
    );
  }
  return key;
}
