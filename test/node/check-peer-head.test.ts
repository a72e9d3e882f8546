// Checks checkPeerHead on real signed headers (two TestChain histories of one genesis, real keys): same, ahead, fork, and invalid twins.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { equalBytes, toHex } from '../../src/base/index.ts';
import { type BlockHeader, type Commit, blockHash, makeCommit } from '../../src/chain/index.ts';
import { checkPeerHead } from '../../src/node/check-peer-head.ts';
import { chainId, idOf, keyOf } from '../contracts/fixtures.ts';
import { TestChain } from '../verify/chain-fixture.ts';

/** Two histories of one genesis: block 1 enrols another patient in each. */
function twoHistories(): { own: TestChain; other: TestChain } {
  const own = new TestChain();
  const other = new TestChain();
  for (const [chain, patient] of [
    [own, 'patient:p1'],
    [other, 'patient:p2'],
  ] as const) {
    chain.block([
      chain.tx('node:org-a', 'identity.enrol-patient', {
        patientId: idOf(patient),
        publicKey: keyOf(patient).publicKey,
      }),
    ]);
    chain.block([]);
  }
  return { own, other };
}

function signedAt(chain: TestChain, height: number): { header: BlockHeader; commit: Commit } {
  return { header: chain.loadBlock(height)!.header, commit: chain.loadCommit(height)! };
}

/** Runs the check against `own` and counts how often the validator set was asked for. */
function check(options: {
  own: TestChain;
  ownHeight?: number;
  header: BlockHeader;
  commit: Commit;
}): { verdict: ReturnType<typeof checkPeerHead>; setAsked: number } {
  const { own, header } = options;
  const ownHeight = options.ownHeight ?? own.head().height;
  let setAsked = 0;
  const verdict = checkPeerHead({
    chainId,
    header,
    commit: options.commit,
    ownHash: header.height <= ownHeight ? blockHash(own.loadBlock(header.height)!.header) : null,
    validatorSet: () => {
      setAsked++;
      return own.validatorSetAt(header.height);
    },
  });
  return { verdict, setAsked };
}

test('the same block at that height is same, without checking signatures', () => {
  const { own } = twoHistories();
  const { verdict, setAsked } = check({ own, ...signedAt(own, 2) });
  assert.deepEqual(verdict, { kind: 'same', height: 2 });
  assert.equal(setAsked, 0);
});

test('a head beyond this node is ahead; a malformed one beyond it is still invalid', () => {
  const { own } = twoHistories();
  const ahead = check({ own, ownHeight: 1, ...signedAt(own, 2) });
  assert.deepEqual(ahead.verdict, { kind: 'ahead', height: 2 });
  assert.equal(ahead.setAsked, 0);
  // Invalid twin: the commit of height 1 beside the header of height 2.
  const mismatched = check({
    own,
    ownHeight: 1,
    header: own.loadBlock(2)!.header,
    commit: own.loadCommit(1)!,
  });
  assert.equal(mismatched.verdict.kind, 'invalid');
  assert.match(
    mismatched.verdict.kind === 'invalid' ? mismatched.verdict.reason : '',
    /the commit is for height 1 and another block than the header of height 2/,
  );
});

test('another history committed by 3 of 4 validators at a height this node committed is a fork', () => {
  const { own, other } = twoHistories();
  const ownHash = blockHash(own.loadBlock(1)!.header);
  const peerHash = blockHash(other.loadBlock(1)!.header);
  assert.ok(!equalBytes(ownHash, peerHash), 'the two histories differ at height 1');
  const { verdict, setAsked } = check({ own, ...signedAt(other, 1) });
  assert.equal(verdict.kind, 'fork');
  assert.equal(setAsked, 1);
  if (verdict.kind !== 'fork') return;
  assert.equal(verdict.height, 1);
  assert.equal(toHex(verdict.ownHash), toHex(ownHash));
  assert.equal(toHex(verdict.peerHash), toHex(peerHash));
  // And at height 2, where the other history's block also differs (another prevHash).
  assert.equal(check({ own, ...signedAt(other, 2) }).verdict.kind, 'fork');
});

test('another block with a forged commit is invalid, not a fork', () => {
  const { own, other } = twoHistories();
  const header = other.loadBlock(1)!.header;
  const hash = blockHash(header);
  // Signed by keys that are not the validators', claiming to be validators 0, 1 and 2.
  const forged = makeCommit({
    chainId,
    height: 1,
    round: 0,
    blockHash: hash,
    signers: [0, 1, 2].map((validatorIndex) => ({
      validatorIndex,
      keyPair: keyOf(`intruder:${validatorIndex}`),
    })),
  });
  const { verdict } = check({ own, header, commit: forged });
  assert.equal(verdict.kind, 'invalid');
  assert.match(verdict.kind === 'invalid' ? verdict.reason : '', /does not verify/);
});

test('another block signed by only 2 of 4 validators is invalid (no quorum)', () => {
  const { own } = twoHistories();
  const weak = new TestChain({ weakCommitAt: 1 });
  weak.block([]);
  const { verdict } = check({ own, ...signedAt(weak, 1) });
  assert.equal(verdict.kind, 'invalid');
  assert.match(verdict.kind === 'invalid' ? verdict.reason : '', /more than 2\/3 needed/);
});

test("a real commit beside another history's header is invalid; a foreign chain's head too", () => {
  const { own, other } = twoHistories();
  // The commit certifies this node's block 1, not the other header: cheap check, no set asked.
  const swapped = check({ own, header: other.loadBlock(1)!.header, commit: own.loadCommit(1)! });
  assert.equal(swapped.verdict.kind, 'invalid');
  assert.equal(swapped.setAsked, 0);
  const foreign = { ...own.loadBlock(1)!.header, chainId: 'another-chain' };
  const { verdict } = check({ own, header: foreign, commit: own.loadCommit(1)! });
  assert.equal(verdict.kind, 'invalid');
  assert.match(verdict.kind === 'invalid' ? verdict.reason : '', /another-chain/);
});
