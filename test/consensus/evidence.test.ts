// Checks equivocation evidence: two conflicting signed votes or proposals seen by the state machine become evidence that verifies, survives encoding, and every tampered variant is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ConsensusError,
  EvidenceSchema,
  duplicateVoteEvidence,
  stepConsensus,
  verifyEvidence,
} from '../../src/consensus/index.ts';
import {
  actionsOf,
  blockAt,
  blockHash,
  chainId,
  proposalBy,
  startValidator,
  validators,
  voteBy,
} from './fixtures.ts';

const { set, keyPairs } = validators(4);
const block = blockAt({ height: 1, set, proposer: keyPairs[1]!, lastCommit: null });
const other = blockAt({
  height: 1,
  set,
  proposer: keyPairs[1]!,
  lastCommit: null,
  time: 1_700_000_005_555,
});

test('two conflicting prevotes from one validator produce evidence that verifies', () => {
  const { state } = startValidator({ set, keyPair: keyPairs[0]! });
  const first = voteBy({
    keyPairs,
    index: 2,
    type: 'prevote',
    round: 0,
    blockHash: blockHash(block.header),
  });
  const second = voteBy({ keyPairs, index: 2, type: 'prevote', round: 0, blockHash: null });
  stepConsensus(state, { kind: 'message', peer: 'p', message: { kind: 'vote', vote: first } });
  const { actions } = stepConsensus(state, {
    kind: 'message',
    peer: 'p',
    message: { kind: 'vote', vote: second },
  });
  const [reported] = actionsOf(actions, 'report-evidence');
  assert.ok(reported !== undefined, 'evidence is reported');
  verifyEvidence(reported.evidence, set, chainId);
  const decoded = EvidenceSchema.decode(EvidenceSchema.encode(reported.evidence));
  verifyEvidence(decoded, set, chainId);
  assert.deepEqual(decoded.validator, keyPairs[2]!.publicKey);
});

test('the same vote received twice is no evidence', () => {
  const { state } = startValidator({ set, keyPair: keyPairs[0]! });
  const vote = voteBy({ keyPairs, index: 2, type: 'prevote', round: 0, blockHash: null });
  stepConsensus(state, { kind: 'message', peer: 'p', message: { kind: 'vote', vote } });
  const { actions } = stepConsensus(state, {
    kind: 'message',
    peer: 'q',
    message: { kind: 'vote', vote },
  });
  assert.equal(actionsOf(actions, 'report-evidence').length, 0);
});

test('two conflicting proposals from the proposer produce evidence that verifies', () => {
  const { state } = startValidator({ set, keyPair: keyPairs[0]! });
  stepConsensus(state, {
    kind: 'message',
    peer: 'p',
    message: proposalBy({ keyPairs, index: 1, round: 0, block }),
  });
  const { actions } = stepConsensus(state, {
    kind: 'message',
    peer: 'p',
    message: proposalBy({ keyPairs, index: 1, round: 0, block: other }),
  });
  const [reported] = actionsOf(actions, 'report-evidence');
  assert.ok(reported !== undefined);
  assert.equal(reported.evidence.kind, 'duplicate-proposal');
  verifyEvidence(reported.evidence, set, chainId);
});

test('tampered evidence is refused: same value, other step, forged signature, wrong validator', () => {
  const a = voteBy({ keyPairs, index: 2, type: 'prevote', round: 0, blockHash: null });
  const b = voteBy({
    keyPairs,
    index: 2,
    type: 'prevote',
    round: 0,
    blockHash: blockHash(block.header),
  });
  const validator = keyPairs[2]!.publicKey;
  verifyEvidence(duplicateVoteEvidence({ validator, first: a, second: b }), set, chainId);
  const cases = [
    duplicateVoteEvidence({ validator, first: a, second: a }),
    duplicateVoteEvidence({
      validator,
      first: a,
      second: voteBy({ keyPairs, index: 2, type: 'prevote', round: 1, blockHash: null }),
    }),
    duplicateVoteEvidence({
      validator,
      first: a,
      second: { ...b, signature: new Uint8Array(64).fill(1) },
    }),
    duplicateVoteEvidence({ validator: keyPairs[3]!.publicKey, first: a, second: b }),
    duplicateVoteEvidence({
      validator,
      first: a,
      second: voteBy({ keyPairs, index: 3, type: 'prevote', round: 0, blockHash: b.blockHash }),
    }),
  ];
  for (const [index, evidence] of cases.entries()) {
    assert.throws(() => verifyEvidence(evidence, set, chainId), ConsensusError, `case ${index}`);
  }
  assert.throws(
    () =>
      verifyEvidence(duplicateVoteEvidence({ validator, first: a, second: b }), set, 'other-chain'),
    ConsensusError,
  );
});
