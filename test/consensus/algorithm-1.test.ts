// Checks each rule of Tendermint's Algorithm 1 on the pure state machine, by feeding hand-built signed messages and timeouts to one validator of four and reading its actions.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { toHex } from '../../src/base/index.ts';
import { assertValidCommit } from '../../src/chain/index.ts';
import {
  type ConsensusMessage,
  type ConsensusState,
  stepConsensus,
} from '../../src/consensus/index.ts';
import {
  actionsOf,
  blockAt,
  blockHash,
  broadcastVotes,
  chainId,
  proposalBy,
  startValidator,
  validators,
  voteBy,
} from './fixtures.ts';

const { set, keyPairs } = validators(4);
// proposer(h, r) = (h + r) mod n: validator 1 proposes at (1, 0), validator 2 at (1, 1).
const block = blockAt({ height: 1, set, proposer: keyPairs[1]!, lastCommit: null });
const hash = blockHash(block.header);
const otherBlock = blockAt({
  height: 1,
  set,
  proposer: keyPairs[2]!,
  lastCommit: null,
  time: 1_700_000_009_999,
});
const otherHash = blockHash(otherBlock.header);

function message(state: ConsensusState, msg: ConsensusMessage) {
  return stepConsensus(state, { kind: 'message', peer: 'peer', message: msg }).actions;
}

function validated(state: ConsensusState, blockHash: Uint8Array, valid: boolean) {
  return stepConsensus(state, { kind: 'block-validated', height: 1, blockHash, valid }).actions;
}

/** Validator 0 at height 1 with the round-0 proposal received and validated as `valid`. */
function afterProposal(valid: boolean, variant?: 'no-locking') {
  const { state } = startValidator({ set, keyPair: keyPairs[0]!, ...(variant ? { variant } : {}) });
  const received = message(state, proposalBy({ keyPairs, index: 1, round: 0, block }));
  assert.equal(
    actionsOf(received, 'validate-block').length,
    1,
    'the proposal is sent to the application check',
  );
  return { state, actions: validated(state, hash, valid) };
}

test('lines 11-21: the proposer asks the application for a value; the others wait with timeoutPropose', () => {
  const proposer = startValidator({ set, keyPair: keyPairs[1]! });
  assert.deepEqual(
    actionsOf(proposer.actions, 'get-value').map((a) => [a.height, a.round]),
    [[1, 0]],
  );
  const other = startValidator({ set, keyPair: keyPairs[0]! });
  assert.equal(actionsOf(other.actions, 'get-value').length, 0);
  assert.deepEqual(
    actionsOf(other.actions, 'schedule-timeout')
      .map((a) => a.timeout.kind)
      .sort(),
    ['propose', 'rebroadcast'],
  );
});

test('line 19: value-ready makes the proposer sign and broadcast the proposal, persisted first', () => {
  const { state } = startValidator({ set, keyPair: keyPairs[1]! });
  const { actions } = stepConsensus(state, { kind: 'value-ready', height: 1, round: 0, block });
  const kinds = actions.map((a) => a.kind);
  assert.ok(
    kinds.indexOf('persist') < kinds.indexOf('broadcast'),
    'persist comes before broadcast',
  );
  const proposals = actionsOf(actions, 'broadcast').filter((a) => a.message.kind === 'proposal');
  assert.equal(proposals.length, 1);
  // It then prevotes its own proposal (line 22).
  assert.deepEqual(
    broadcastVotes(actions).map((v) => [v.type, toHex(v.blockHash!)]),
    [['prevote', toHex(hash)]],
  );
});

test('line 19 twin: value-ready for another round is ignored', () => {
  const { state } = startValidator({ set, keyPair: keyPairs[1]! });
  const { actions } = stepConsensus(state, { kind: 'value-ready', height: 1, round: 3, block });
  assert.deepEqual(actions, []);
});

test('lines 22-25: a valid proposal from the proposer gets a prevote for it', () => {
  const { state, actions } = afterProposal(true);
  assert.deepEqual(
    broadcastVotes(actions).map((v) => [v.type, v.round, toHex(v.blockHash!)]),
    [['prevote', 0, toHex(hash)]],
  );
  assert.equal(state.step, 'prevote');
});

test('line 26: an invalid proposal gets a nil prevote', () => {
  const { actions } = afterProposal(false);
  assert.deepEqual(
    broadcastVotes(actions).map((v) => [v.type, v.blockHash]),
    [['prevote', null]],
  );
});

test('line 22 twin: a proposal from a validator that is not proposer(h, r) is ignored', () => {
  const { state } = startValidator({ set, keyPair: keyPairs[0]! });
  const actions = message(state, proposalBy({ keyPairs, index: 2, round: 0, block }));
  assert.deepEqual(actions, []);
  assert.equal(state.proposals.size, 0);
});

test('line 22 twin: a proposal with a forged signature is ignored', () => {
  const { state } = startValidator({ set, keyPair: keyPairs[0]! });
  const good = proposalBy({ keyPairs, index: 1, round: 0, block });
  const forged = { ...good, proposal: { ...good.proposal, signature: new Uint8Array(64).fill(7) } };
  assert.deepEqual(message(state, forged), []);
});

test('lines 36-41: a polka for the proposal locks it and precommits it', () => {
  const { state } = afterProposal(true);
  message(state, {
    kind: 'vote',
    vote: voteBy({ keyPairs, index: 1, type: 'prevote', round: 0, blockHash: hash }),
  });
  const actions = message(state, {
    kind: 'vote',
    vote: voteBy({ keyPairs, index: 2, type: 'prevote', round: 0, blockHash: hash }),
  });
  assert.deepEqual(
    broadcastVotes(actions).map((v) => [v.type, toHex(v.blockHash!)]),
    [['precommit', toHex(hash)]],
  );
  assert.equal(state.lockedRound, 0);
  assert.equal(state.lockedBlock?.key, toHex(hash));
  const persisted = actionsOf(actions, 'persist')[0]!.record;
  assert.equal(persisted.lockedRound, 0, 'the lock is in the record persisted with the precommit');
});

test('lines 36-41 twin: two prevotes of four are no polka', () => {
  const { state } = afterProposal(true);
  const actions = message(state, {
    kind: 'vote',
    vote: voteBy({ keyPairs, index: 1, type: 'prevote', round: 0, blockHash: hash }),
  });
  assert.deepEqual(broadcastVotes(actions), []);
  assert.equal(state.lockedRound, null);
});

test('lines 44-46: 2f+1 nil prevotes give a nil precommit', () => {
  const { state } = afterProposal(false);
  message(state, {
    kind: 'vote',
    vote: voteBy({ keyPairs, index: 1, type: 'prevote', round: 0, blockHash: null }),
  });
  const actions = message(state, {
    kind: 'vote',
    vote: voteBy({ keyPairs, index: 2, type: 'prevote', round: 0, blockHash: null }),
  });
  assert.deepEqual(
    broadcastVotes(actions).map((v) => [v.type, v.blockHash]),
    [['precommit', null]],
  );
});

test('lines 34 and 61-64: 2f+1 mixed prevotes schedule timeoutPrevote, which precommits nil', () => {
  const { state } = afterProposal(true);
  message(state, {
    kind: 'vote',
    vote: voteBy({ keyPairs, index: 1, type: 'prevote', round: 0, blockHash: null }),
  });
  const actions = message(state, {
    kind: 'vote',
    vote: voteBy({ keyPairs, index: 2, type: 'prevote', round: 0, blockHash: otherHash }),
  });
  const timers = actionsOf(actions, 'schedule-timeout').map((a) => a.timeout);
  assert.deepEqual(timers, [{ kind: 'prevote', height: 1, round: 0 }]);
  const fired = stepConsensus(state, { kind: 'timeout', timeout: timers[0]! }).actions;
  assert.deepEqual(
    broadcastVotes(fired).map((v) => [v.type, v.blockHash]),
    [['precommit', null]],
  );
});

test('lines 49-54: 2f+1 precommits for a valid block decide it with a valid commit', () => {
  const { state } = afterProposal(true);
  message(state, {
    kind: 'vote',
    vote: voteBy({ keyPairs, index: 1, type: 'precommit', round: 0, blockHash: hash }),
  });
  message(state, {
    kind: 'vote',
    vote: voteBy({ keyPairs, index: 2, type: 'precommit', round: 0, blockHash: hash }),
  });
  const actions = message(state, {
    kind: 'vote',
    vote: voteBy({ keyPairs, index: 3, type: 'precommit', round: 0, blockHash: hash }),
  });
  const [commit] = actionsOf(actions, 'commit-block');
  assert.ok(commit !== undefined, 'the block is committed');
  assertValidCommit({
    chainId,
    commit: commit.commit,
    height: 1,
    blockHash: hash,
    validatorSet: set,
  });
  assert.equal(state.height, 2);
  assert.equal(state.round, 0);
});

test('lines 49-54 twin: 2f+1 precommits for an unknown block decide nothing', () => {
  const { state } = startValidator({ set, keyPair: keyPairs[0]! });
  let actions: ReturnType<typeof message> = [];
  for (const index of [1, 2, 3]) {
    actions = message(state, {
      kind: 'vote',
      vote: voteBy({ keyPairs, index, type: 'precommit', round: 0, blockHash: otherHash }),
    });
  }
  assert.equal(actionsOf(actions, 'commit-block').length, 0);
  assert.equal(state.height, 1);
});

test('line 55: messages of a higher round from f+1 validators move the validator to that round', () => {
  const { state } = startValidator({ set, keyPair: keyPairs[0]! });
  message(state, {
    kind: 'vote',
    vote: voteBy({ keyPairs, index: 1, type: 'prevote', round: 3, blockHash: null }),
  });
  assert.equal(state.round, 0, 'one validator (f) is not enough');
  message(state, {
    kind: 'vote',
    vote: voteBy({ keyPairs, index: 2, type: 'prevote', round: 3, blockHash: null }),
  });
  assert.equal(state.round, 3);
});

test('lines 57-60: timeoutPropose prevotes nil; a stale timeout does nothing', () => {
  const { state } = startValidator({ set, keyPair: keyPairs[0]! });
  const stale = stepConsensus(state, {
    kind: 'timeout',
    timeout: { kind: 'propose', height: 1, round: 5 },
  });
  assert.deepEqual(broadcastVotes(stale.actions), []);
  const fired = stepConsensus(state, {
    kind: 'timeout',
    timeout: { kind: 'propose', height: 1, round: 0 },
  });
  assert.deepEqual(
    broadcastVotes(fired.actions).map((v) => [v.type, v.blockHash]),
    [['prevote', null]],
  );
});

test('lines 65-67: timeoutPrecommit starts the next round, whose timeouts are longer', () => {
  const { state } = startValidator({ set, keyPair: keyPairs[0]! });
  const { actions } = stepConsensus(state, {
    kind: 'timeout',
    timeout: { kind: 'precommit', height: 1, round: 0 },
  });
  assert.equal(state.round, 1);
  const delays = actionsOf(actions, 'schedule-timeout').filter((a) => a.timeout.kind === 'propose');
  const first = actionsOf(
    startValidator({ set, keyPair: keyPairs[0]! }).actions,
    'schedule-timeout',
  ).find((a) => a.timeout.kind === 'propose')!;
  assert.ok(delays[0]!.delayMs > first.delayMs, 'timeoutPropose(1) > timeoutPropose(0)');
});

/** Validator 0 locked on `block` at round 0, then in round 1 (proposer: validator 2). */
function lockedThenRoundOne(variant?: 'no-locking') {
  const { state } = afterProposal(true, variant);
  for (const index of [1, 2]) {
    message(state, {
      kind: 'vote',
      vote: voteBy({ keyPairs, index, type: 'prevote', round: 0, blockHash: hash }),
    });
  }
  assert.equal(state.lockedRound, 0);
  stepConsensus(state, { kind: 'timeout', timeout: { kind: 'precommit', height: 1, round: 0 } });
  assert.equal(state.round, 1);
  message(state, proposalBy({ keyPairs, index: 2, round: 1, block: otherBlock }));
  return { state, actions: validated(state, otherHash, true) };
}

test('line 23 (locking): a validator locked on v prevotes nil for a different new proposal', () => {
  const { actions } = lockedThenRoundOne();
  assert.deepEqual(
    broadcastVotes(actions).map((v) => [v.type, v.round, v.blockHash]),
    [['prevote', 1, null]],
  );
});

test('line 23 twin: with the test-only no-locking variant it prevotes the other value', () => {
  const { actions } = lockedThenRoundOne('no-locking');
  assert.deepEqual(
    broadcastVotes(actions).map((v) => [v.type, v.round, toHex(v.blockHash!)]),
    [['prevote', 1, toHex(otherHash)]],
  );
});

test('lines 28-33: a re-proposal with validRound and a polka there unlocks a lower lock', () => {
  // Validator 0 is locked on `block` at round 0; round 1 brings a polka for `otherBlock`
  // (seen late, after precommitting nil), and round 2's proposer re-proposes it with vr = 1.
  const { state } = lockedThenRoundOne();
  for (const index of [1, 2, 3]) {
    message(state, {
      kind: 'vote',
      vote: voteBy({ keyPairs, index, type: 'prevote', round: 1, blockHash: otherHash }),
    });
  }
  stepConsensus(state, { kind: 'timeout', timeout: { kind: 'precommit', height: 1, round: 1 } });
  assert.equal(state.round, 2);
  const actions = message(
    state,
    proposalBy({ keyPairs, index: 3, round: 2, block: otherBlock, validRound: 1 }),
  );
  assert.deepEqual(
    broadcastVotes(actions).map((v) => [v.type, v.round, toHex(v.blockHash!)]),
    [['prevote', 2, toHex(otherHash)]],
  );
});

test('lines 28-33 twin: a re-proposal with validRound but no polka there is not prevoted', () => {
  const { state } = lockedThenRoundOne();
  stepConsensus(state, { kind: 'timeout', timeout: { kind: 'precommit', height: 1, round: 1 } });
  const actions = message(
    state,
    proposalBy({ keyPairs, index: 3, round: 2, block: otherBlock, validRound: 1 }),
  );
  assert.deepEqual(broadcastVotes(actions), []);
});

test('votes with a forged signature or an unknown validator index do not count', () => {
  const { state } = afterProposal(true);
  const good = voteBy({ keyPairs, index: 1, type: 'prevote', round: 0, blockHash: hash });
  message(state, { kind: 'vote', vote: { ...good, signature: new Uint8Array(64) } });
  message(state, { kind: 'vote', vote: { ...good, validatorIndex: 9 } });
  message(state, {
    kind: 'vote',
    vote: voteBy({ keyPairs, index: 2, type: 'prevote', round: 0, blockHash: hash }),
  });
  assert.equal(state.lockedRound, null, 'only validators 0 and 2 count: no polka');
});

test('a proposal whose lastCommit was altered in transit does not block the genuine block', () => {
  // The block hash covers the header only, so a peer can alter lastCommit without breaking the
  // proposal's signature: the altered body is invalid, the genuine one arriving later is checked.
  const { state } = startValidator({ set, keyPair: keyPairs[0]! });
  const genuine = proposalBy({ keyPairs, index: 1, round: 0, block });
  const altered = {
    ...genuine,
    block: {
      ...block,
      lastCommit: {
        height: 1,
        round: 0,
        blockHash: hash,
        signatures: [{ validatorIndex: 0, signature: new Uint8Array(64) }],
      },
    },
  };
  message(state, altered);
  validated(state, hash, false);
  const again = message(state, genuine);
  assert.equal(actionsOf(again, 'validate-block').length, 1, 'the other body is checked');
  validated(state, hash, true);
  let actions: ReturnType<typeof message> = [];
  for (const index of [1, 2, 3]) {
    actions = message(state, {
      kind: 'vote',
      vote: voteBy({ keyPairs, index, type: 'precommit', round: 0, blockHash: hash }),
    });
  }
  const [committed] = actionsOf(actions, 'commit-block');
  assert.ok(committed !== undefined, 'the genuine block is decided');
  assert.equal(committed.block.lastCommit, null, 'with its genuine body');
});

test('twin: the same invalid body received again is not checked again', () => {
  const { state } = afterProposal(false);
  const again = message(state, proposalBy({ keyPairs, index: 1, round: 0, block }));
  assert.equal(actionsOf(again, 'validate-block').length, 0);
});
