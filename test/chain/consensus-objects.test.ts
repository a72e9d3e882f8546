// Checks validator sets, quorum arithmetic, votes, proposals and commits: valid ones pass and
// each kind of fault (bad signature, unknown or repeated validator, too little power) is named.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import {
  VoteSchema,
  assertValidCommit,
  assertValidProposal,
  assertValidVote,
  isOneThirdPlus,
  isQuorum,
  makeCommit,
  makeValidatorSet,
  signProposal,
  signVote,
  validatorSetHash,
} from '../../src/chain/index.ts';
import { sha256 } from '../../src/crypto/index.ts';
import { chainId, fourValidators, keyPairOf, assertChainError } from './fixtures.ts';

const rejects = assertChainError;

const blockHashA = sha256(new Uint8Array([1]));
const blockHashB = sha256(new Uint8Array([2]));

test('quorum is strictly more than two-thirds (decision 0004)', () => {
  const table: Array<[number, number, boolean]> = [
    [3, 4, true],
    [2, 4, false],
    [5, 7, true],
    [4, 7, false],
    [7, 10, true],
    [6, 10, false],
    [4, 6, false],
    [5, 6, true],
  ];
  for (const [power, total, expected] of table)
    assert.equal(isQuorum({ power, total }), expected, `${power}/${total}`);
  assert.equal(isOneThirdPlus({ power: 2, total: 4 }), true);
  assert.equal(isOneThirdPlus({ power: 1, total: 4 }), false);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10_000 }),
      fc.integer({ min: 0, max: 10_000 }),
      (total, p) => {
        const power = p % (total + 1);
        // Checked against exact rational arithmetic in BigInt, independent of the implementation.
        assert.equal(
          isQuorum({ power, total }),
          BigInt(power) * 3n > BigInt(total) * 2n && power / total > 2 / 3,
        );
        // Two quorums always share more than a third of the power: enough to include an honest one.
        if (isQuorum({ power, total }))
          assert.ok(isOneThirdPlus({ power: 2 * power - total, total }));
      },
    ),
  );
});

test('validator sets are canonical: sorted, no duplicates, valid keys; order of input is irrelevant', () => {
  const { set } = fourValidators();
  const reversed = makeValidatorSet([...set.validators].reverse());
  assert.deepEqual(validatorSetHash(reversed), validatorSetHash(set));
  rejects(() => makeValidatorSet([set.validators[0]!, set.validators[0]!]), 'bad-field', /twice/);
  rejects(
    () => makeValidatorSet([{ publicKey: new Uint8Array(32), power: 1 }]),
    'bad-field',
    /not a valid Ed25519/,
  );
  const changed = makeValidatorSet([
    ...set.validators.slice(1),
    { ...set.validators[0]!, power: 2 },
  ]);
  assert.notDeepEqual(validatorSetHash(changed), validatorSetHash(set));
});

test('votes verify for their validator and chain only', () => {
  const { set, keyPairs } = fourValidators();
  const vote = signVote({
    chainId,
    vote: { type: 'prevote', height: 5, round: 2, blockHash: blockHashA, validatorIndex: 1 },
    keyPair: keyPairs[1]!,
  });
  assertValidVote({ chainId, vote, validatorSet: set });
  assert.deepEqual(VoteSchema.decode(VoteSchema.encode(vote)), vote);
  const nilVote = signVote({
    chainId,
    vote: { type: 'precommit', height: 5, round: 2, blockHash: null, validatorIndex: 3 },
    keyPair: keyPairs[3]!,
  });
  assertValidVote({ chainId, vote: nilVote, validatorSet: set });

  rejects(() => assertValidVote({ chainId: 'other', vote, validatorSet: set }), 'bad-signature');
  rejects(
    () => assertValidVote({ chainId, vote: { ...vote, validatorIndex: 2 }, validatorSet: set }),
    'bad-signature',
  );
  rejects(
    () => assertValidVote({ chainId, vote: { ...vote, type: 'precommit' }, validatorSet: set }),
    'bad-signature',
  );
  rejects(
    () => assertValidVote({ chainId, vote: { ...vote, round: 3 }, validatorSet: set }),
    'bad-signature',
  );
  rejects(
    () => assertValidVote({ chainId, vote: { ...vote, blockHash: null }, validatorSet: set }),
    'bad-signature',
  );
  rejects(
    () => assertValidVote({ chainId, vote: { ...vote, validatorIndex: 4 }, validatorSet: set }),
    'unknown-validator',
    /index 4/,
  );
});

test('proposals verify, and a validRound not below the round is refused', () => {
  const { set, keyPairs } = fourValidators();
  const proposal = signProposal({
    chainId,
    proposal: { height: 3, round: 1, blockHash: blockHashA, validRound: 0, proposerIndex: 2 },
    keyPair: keyPairs[2]!,
  });
  assertValidProposal({ chainId, proposal, validatorSet: set });
  rejects(
    () =>
      assertValidProposal({
        chainId,
        proposal: { ...proposal, blockHash: blockHashB },
        validatorSet: set,
      }),
    'bad-signature',
  );
  rejects(
    () =>
      assertValidProposal({ chainId, proposal: { ...proposal, validRound: 1 }, validatorSet: set }),
    'wrong-round',
  );
  rejects(
    () =>
      assertValidProposal({
        chainId,
        proposal: { ...proposal, proposerIndex: 9 },
        validatorSet: set,
      }),
    'unknown-validator',
  );
});

test('a commit needs more than 2/3 of the power in valid, distinct, ordered precommits', () => {
  const { set, keyPairs } = fourValidators();
  const signers = (indices: number[]) =>
    indices.map((validatorIndex) => ({ validatorIndex, keyPair: keyPairs[validatorIndex]! }));
  const commit = makeCommit({
    chainId,
    height: 9,
    round: 1,
    blockHash: blockHashA,
    signers: signers([2, 0, 3]),
  });
  const check = (c = commit, overrides: { height?: number; blockHash?: Uint8Array } = {}) =>
    assertValidCommit({
      chainId,
      commit: c,
      height: overrides.height ?? 9,
      blockHash: overrides.blockHash ?? blockHashA,
      validatorSet: set,
    });
  check();
  assert.deepEqual(
    commit.signatures.map((s) => s.validatorIndex),
    [0, 2, 3],
  );

  const two = makeCommit({
    chainId,
    height: 9,
    round: 1,
    blockHash: blockHashA,
    signers: signers([0, 1]),
  });
  rejects(() => check(two), 'no-quorum', /power 2 of 4/);
  const [first, second, third] = commit.signatures;
  rejects(
    () => check({ ...commit, signatures: [first!, first!, second!, third!] }),
    'duplicate-signature',
  );
  rejects(() => check({ ...commit, signatures: [second!, first!, third!] }), 'duplicate-signature');
  rejects(
    () => check({ ...commit, signatures: [first!, second!, { ...third!, validatorIndex: 7 }] }),
    'unknown-validator',
  );
  rejects(
    () =>
      check({
        ...commit,
        signatures: [first!, second!, { ...third!, signature: first!.signature }],
      }),
    'bad-signature',
    /signature 2/,
  );
  rejects(() => check(commit, { height: 10 }), 'wrong-height');
  rejects(() => check(commit, { blockHash: blockHashB }), 'wrong-block-hash');
  rejects(() => check({ ...commit, round: 2 }), 'bad-signature');
  // Signatures from a key outside the set, placed at a set member's index, do not count.
  const forged = makeCommit({
    chainId,
    height: 9,
    round: 1,
    blockHash: blockHashA,
    signers: [{ validatorIndex: 1, keyPair: keyPairOf('outsider') }],
  });
  rejects(
    () => check({ ...commit, signatures: [first!, forged.signatures[0]!, third!] }),
    'bad-signature',
  );
});
