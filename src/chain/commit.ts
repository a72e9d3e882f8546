/**
 * Commit certificates: precommits for one block from more than two-thirds of the voting power
 * (Tendermint Algorithm 1, line 49; decision 0004).
 */
import { equalBytes, shortHex } from '../base/index.ts';
import { type Ed25519KeyPair, ed25519Verify } from '../crypto/index.ts';
import { ChainError } from './errors.ts';
import type { Commit, CommitSignature, ValidatorSet } from './schemas.ts';
import { isQuorum, totalPower } from './validator-set.ts';
import { signVote, voteSigningHash } from './vote.ts';

/**
 * Builds a commit from precommit signers, in canonical order (by validator index). For the
 * simulator, tests and the demo; the consensus driver assembles commits from received votes.
 */
export function makeCommit(options: {
  chainId: string;
  height: number;
  round: number;
  blockHash: Uint8Array;
  signers: ReadonlyArray<{ validatorIndex: number; keyPair: Ed25519KeyPair }>;
}): Commit {
  const { chainId, height, round, blockHash } = options;
  const signatures: CommitSignature[] = options.signers
    .map(({ validatorIndex, keyPair }) => {
      const vote = { type: 'precommit' as const, height, round, blockHash, validatorIndex };
      return { validatorIndex, signature: signVote({ chainId, vote, keyPair }).signature };
    })
    .sort((a, b) => a.validatorIndex - b.validatorIndex);
  return { height, round, blockHash, signatures };
}

/**
 * Checks that `commit` certifies block `blockHash` at `height` under `validatorSet`: indices
 * strictly increasing and known, every signature a valid precommit, and the signers' power
 * strictly more than 2/3 of the total. Throws the first `ChainError` found.
 */
export function assertValidCommit(options: {
  chainId: string;
  commit: Commit;
  height: number;
  blockHash: Uint8Array;
  validatorSet: ValidatorSet;
}): void {
  const { chainId, commit, validatorSet } = options;
  if (commit.height !== options.height) {
    throw new ChainError(
      'wrong-height',
      `commit is for height ${commit.height}, expected ${options.height}`,
    );
  }
  if (!equalBytes(commit.blockHash, options.blockHash)) {
    throw new ChainError(
      'wrong-block-hash',
      `commit at height ${commit.height} is for block ${shortHex(commit.blockHash)}, expected ${shortHex(options.blockHash)}`,
    );
  }
  let power = 0;
  let previousIndex = -1;
  for (const [position, entry] of commit.signatures.entries()) {
    if (entry.validatorIndex <= previousIndex) {
      throw new ChainError(
        'duplicate-signature',
        `commit signature ${position} has validator index ${entry.validatorIndex}, not above the previous ${previousIndex}`,
      );
    }
    previousIndex = entry.validatorIndex;
    const validator = validatorSet.validators[entry.validatorIndex];
    if (validator === undefined) {
      throw new ChainError(
        'unknown-validator',
        `commit signature ${position} names validator index ${entry.validatorIndex}, but the set has ${validatorSet.validators.length}`,
      );
    }
    const vote = {
      type: 'precommit' as const,
      height: commit.height,
      round: commit.round,
      blockHash: commit.blockHash,
      validatorIndex: entry.validatorIndex,
    };
    const message = voteSigningHash({ chainId, vote });
    if (!ed25519Verify({ publicKey: validator.publicKey, message, signature: entry.signature })) {
      throw new ChainError(
        'bad-signature',
        `commit signature ${position} (validator ${entry.validatorIndex}, ${shortHex(validator.publicKey)}) does not verify for height ${commit.height} round ${commit.round}`,
      );
    }
    power += validator.power;
  }
  const total = totalPower(validatorSet);
  if (!isQuorum({ power, total })) {
    throw new ChainError(
      'no-quorum',
      `commit at height ${commit.height} has voting power ${power} of ${total}; more than 2/3 needed`,
    );
  }
}
