/**
 * Validator sets: their canonical form, hash and quorum arithmetic (decision 0004: a quorum is
 * strictly more than two-thirds of the voting power).
 */
import { compareBytes, equalBytes, shortHex } from '../base/index.ts';
import { type Hash, hashTagged, isEd25519PublicKey } from '../crypto/index.ts';
import { ChainError } from './errors.ts';
import { type Validator, type ValidatorSet, ValidatorSetSchema } from './schemas.ts';

/** Tag of a validator set's hash (the header's `validatorsHash`). */
export const validatorSetTag = 'medledger/validators/v1';

/**
 * Builds the canonical validator set from validators in any order: sorted by public key, so
 * that every member computes the same `validatorsHash`. Refuses a key given twice.
 */
export function makeValidatorSet(validators: readonly Validator[]): ValidatorSet {
  const sorted = [...validators].sort((a, b) => compareBytes(a.publicKey, b.publicKey));
  const set: ValidatorSet = { validators: sorted };
  assertValidatorSet(set);
  return set;
}

/** Checks that `set` is canonical: keys valid, strictly increasing, within the codec's bounds. */
export function assertValidatorSet(set: ValidatorSet): void {
  ValidatorSetSchema.encode(set);
  for (let index = 0; index < set.validators.length; index++) {
    const validator = set.validators[index]!;
    if (!isEd25519PublicKey(validator.publicKey)) {
      throw new ChainError(
        'bad-field',
        `validator ${index} (${shortHex(validator.publicKey)}) is not a valid Ed25519 public key`,
      );
    }
    const previous = set.validators[index - 1];
    if (previous !== undefined && compareBytes(previous.publicKey, validator.publicKey) >= 0) {
      const what = equalBytes(previous.publicKey, validator.publicKey) ? 'twice' : 'out of order';
      throw new ChainError(
        'bad-field',
        `validator set lists ${shortHex(validator.publicKey)} ${what} (index ${index})`,
      );
    }
  }
}

/** The hash of a validator set, as carried in block headers. */
export function validatorSetHash(set: ValidatorSet): Hash {
  return hashTagged(validatorSetTag, ValidatorSetSchema.encode(set));
}

/** The total voting power of `set`. */
export function totalPower(set: ValidatorSet): number {
  let total = 0;
  for (const validator of set.validators) total += validator.power;
  return total;
}

/** True when `power` is strictly more than two-thirds of `total` (decision 0004). */
export function isQuorum(options: { power: number; total: number }): boolean {
  return 3 * options.power > 2 * options.total;
}

/** True when `power` is more than one-third of `total`: at least one honest validator. */
export function isOneThirdPlus(options: { power: number; total: number }): boolean {
  return 3 * options.power > options.total;
}

/** The index of `publicKey` in `set`, or −1. */
export function validatorIndexOf(set: ValidatorSet, publicKey: Uint8Array): number {
  return set.validators.findIndex((validator) => equalBytes(validator.publicKey, publicKey));
}
