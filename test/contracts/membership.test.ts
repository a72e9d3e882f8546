// Checks membership governance and genesis by executing blocks: ≥ 2/3 approval, effect after the
// delay, expiry, double votes, non-members, validator-set and key changes, equivocation evidence,
// and genesis documents accepted or refused with the field named.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { toHex } from '../../src/base/index.ts';
import { signVote, validatorIndexOf } from '../../src/chain/index.ts';
import {
  type Change,
  ContractError,
  type Receipt,
  defaultNetworkPolicy,
  findMemberOfNodeKey,
  genesisState,
  isApprovalQuorum,
  parseGenesisDocument,
  readMember,
  readNetworkPolicy,
  readPrincipal,
  readProposal,
  readRosterIds,
  readValidatorSet,
} from '../../src/contracts/index.ts';
import { stateTreeRootHash } from '../../src/merkle/index.ts';
import { Network, chainId, genesisDocument, keyOf } from './fixtures.ts';

const members = ['org-a', 'org-b', 'org-c', 'org-d'];
const policy = { proposalLifetimeHeights: 3, changeDelayHeights: 2 };

function refused(receipt: Receipt, code: string): void {
  assert.equal(receipt.ok, false, `expected failure ${code}, the transaction succeeded`);
  assert.equal(receipt.code, code, receipt.message ?? '');
}

const nullChange = { member: null, orgId: null, nodeKey: null, validators: null, policy: null };
const admitE: Change = {
  ...nullChange,
  type: 'admit-member',
  member: { orgId: 'org-e', nodeKey: keyOf('node:org-e').publicKey, roles: ['laboratory'] },
};

function propose(net: Network, proposer: string, change: Change): Uint8Array {
  const receipt = net.ok(net.tx(`node:${proposer}`, 'membership.propose', { change }));
  return receipt.txId;
}

test('the approval threshold is at least 2/3 of the members', () => {
  assert.equal(isApprovalQuorum(2, 3), true);
  assert.equal(isApprovalQuorum(1, 3), false);
  assert.equal(isApprovalQuorum(3, 4), true);
  assert.equal(isApprovalQuorum(2, 4), false);
  assert.equal(isApprovalQuorum(1, 1), true);
  assert.equal(isApprovalQuorum(0, 0), false);
});

test('findMemberOfNodeKey finds the member holding a node key, and nothing for another key', () => {
  const net = new Network(genesisDocument({ members, policy }));
  assert.equal(findMemberOfNodeKey(net.state, keyOf('node:org-c').publicKey)?.orgId, 'org-c');
  assert.equal(findMemberOfNodeKey(net.state, keyOf('patient:nobody').publicKey), null);
});

test('a member is admitted after ≥ 2/3 approve, a fixed number of heights later', () => {
  const net = new Network(genesisDocument({ members, policy }));
  const id = propose(net, 'org-a', admitE);
  net.ok(net.tx('node:org-b', 'membership.vote', { proposalId: id }));
  assert.equal(readProposal(net.state, id)?.status, 'open', '2 of 4 is not enough');
  net.ok(net.tx('node:org-c', 'membership.vote', { proposalId: id }));
  const approved = readProposal(net.state, id);
  assert.equal(approved?.status, 'approved');
  assert.equal(approved?.effectiveHeight, net.height + policy.changeDelayHeights);
  net.block([]);
  assert.equal(readMember(net.state, 'org-e'), null, 'not before the effective height');
  const result = net.block([]);
  assert.equal(readMember(net.state, 'org-e')?.status, 'active');
  assert.equal(readProposal(net.state, id)?.status, 'applied');
  assert.ok(result.beginEvents.some((e) => e.type === 'membership.change-applied'));
  assert.deepEqual(readRosterIds(net.state), [...members, 'org-e']);
  assert.equal(readPrincipal(net.state, keyOf('node:org-e').publicKey)?.orgId, 'org-e');
  // The new member can act at once.
  net.practitioner('org-e', 'lab-1');
});

test('a member votes once; a non-member cannot vote or propose', () => {
  const net = new Network(genesisDocument({ members, policy }));
  const id = propose(net, 'org-a', admitE);
  refused(net.run(net.tx('node:org-a', 'membership.vote', { proposalId: id })), 'already-voted');
  net.ok(net.tx('node:org-b', 'membership.vote', { proposalId: id }));
  refused(net.run(net.tx('node:org-b', 'membership.vote', { proposalId: id })), 'already-voted');
  refused(net.run(net.tx('node:org-x', 'membership.vote', { proposalId: id })), 'unauthorised');
  refused(net.run(net.tx('node:org-x', 'membership.propose', { change: admitE })), 'unauthorised');
  net.practitioner('org-a', 'alice');
  refused(net.run(net.tx('dr:org-a/alice', 'membership.vote', { proposalId: id })), 'unauthorised');
  assert.deepEqual(readProposal(net.state, id)?.approvals, ['org-a', 'org-b']);
});

test('a vote after the proposal expired is refused', () => {
  const net = new Network(genesisDocument({ members, policy }));
  const id = propose(net, 'org-a', admitE);
  const expires = readProposal(net.state, id)!.expiresHeight;
  while (net.height < expires) net.block([]);
  refused(net.run(net.tx('node:org-b', 'membership.vote', { proposalId: id })), 'proposal-expired');
  assert.equal(readMember(net.state, 'org-e'), null);
});

test('removing a member drops its node key and validator; a change that cannot apply fails', () => {
  const net = new Network(genesisDocument({ members, policy }));
  const remove: Change = { ...nullChange, type: 'remove-member', orgId: 'org-d' };
  const id = propose(net, 'org-a', remove);
  net.ok(net.tx('node:org-b', 'membership.vote', { proposalId: id }));
  // A second proposal to remove the same member, approved in the same block, fails when applied.
  const again = propose(net, 'org-b', remove);
  net.ok(net.tx('node:org-c', 'membership.vote', { proposalId: id }));
  net.ok(net.tx('node:org-a', 'membership.vote', { proposalId: again }));
  net.ok(net.tx('node:org-c', 'membership.vote', { proposalId: again }));
  for (let i = 0; i < policy.changeDelayHeights + 1; i++) net.block([]);
  assert.equal(readMember(net.state, 'org-d')?.status, 'removed');
  assert.equal(readPrincipal(net.state, keyOf('node:org-d').publicKey), null);
  const validators = readValidatorSet(net.state)!;
  assert.equal(validatorIndexOf(validators, keyOf('node:org-d').publicKey), -1);
  assert.equal(validators.validators.length, 3);
  assert.equal(readProposal(net.state, again)?.status, 'failed');
  refused(net.run(net.tx('node:org-d', 'membership.propose', { change: admitE })), 'unauthorised');
});

test('key rotation and validator-set and policy changes take effect by vote', () => {
  const net = new Network(genesisDocument({ members: ['org-a', 'org-b', 'org-c'], policy }));
  const rotate: Change = {
    ...nullChange,
    type: 'rotate-node-key',
    orgId: 'org-c',
    nodeKey: keyOf('node:org-c-2').publicKey,
  };
  const setValidators: Change = {
    ...nullChange,
    type: 'set-validators',
    validators: [
      { publicKey: keyOf('node:org-a').publicKey, power: 2 },
      { publicKey: keyOf('node:org-b').publicKey, power: 1 },
    ],
  };
  const setPolicy: Change = {
    ...nullChange,
    type: 'set-policy',
    policy: { ...defaultNetworkPolicy, ...policy, consentDefault: 'opt-out' },
  };
  for (const change of [rotate, setValidators, setPolicy]) {
    const id = propose(net, 'org-a', change);
    net.ok(net.tx('node:org-b', 'membership.vote', { proposalId: id }));
  }
  for (let i = 0; i < policy.changeDelayHeights; i++) net.block([]);
  assert.deepEqual(readMember(net.state, 'org-c')?.nodeKey, keyOf('node:org-c-2').publicKey);
  assert.equal(readPrincipal(net.state, keyOf('node:org-c').publicKey), null);
  assert.equal(readValidatorSet(net.state)?.validators.length, 2);
  assert.equal(readNetworkPolicy(net.state)?.consentDefault, 'opt-out');
  refused(net.run(net.tx('node:org-c', 'membership.propose', { change: admitE })), 'unauthorised');
  net.ok(net.tx('node:org-c-2', 'membership.propose', { change: admitE }));
});

test('a proposal whose fields do not match its type, or a policy out of bounds, is refused', () => {
  const net = new Network(genesisDocument({ policy }));
  refused(
    net.run(net.tx('node:org-a', 'membership.propose', { change: { ...admitE, orgId: 'org-b' } })),
    'invalid-value',
  );
  refused(
    net.run(
      net.tx('node:org-a', 'membership.propose', {
        change: {
          ...nullChange,
          type: 'set-policy',
          policy: { ...defaultNetworkPolicy, breakGlassDurationMs: 1 },
        },
      }),
    ),
    'invalid-value',
  );
  refused(
    net.run(
      net.tx('node:org-a', 'membership.propose', {
        change: {
          ...nullChange,
          type: 'set-validators',
          validators: [{ publicKey: new Uint8Array(32), power: 1 }],
        },
      }),
    ),
    'invalid-value',
  );
});

test('equivocation evidence is recorded once against the member that signed twice', () => {
  const net = new Network(genesisDocument({ policy }));
  const set = readValidatorSet(net.state)!;
  const index = validatorIndexOf(set, keyOf('node:org-c').publicKey);
  const vote = (blockByte: number) =>
    signVote({
      chainId,
      vote: {
        type: 'precommit',
        height: 7,
        round: 0,
        blockHash: new Uint8Array(32).fill(blockByte),
        validatorIndex: index,
      },
      keyPair: keyOf('node:org-c'),
    });
  const voteA = vote(1);
  const voteB = vote(2);
  net.ok(net.tx('node:org-a', 'membership.evidence', { voteA, voteB }));
  assert.equal(readMember(net.state, 'org-c')?.evidenceCount, 1);
  refused(
    net.run(net.tx('node:org-b', 'membership.evidence', { voteA: voteB, voteB: voteA })),
    'already-exists',
  );
  refused(
    net.run(net.tx('node:org-a', 'membership.evidence', { voteA, voteB: voteA })),
    'invalid-value',
  );
  const forged = { ...vote(3), signature: voteA.signature };
  refused(
    net.run(net.tx('node:org-a', 'membership.evidence', { voteA, voteB: forged })),
    'invalid-value',
  );
  refused(
    net.run(net.tx('node:org-x', 'membership.evidence', { voteA, voteB: vote(4) })),
    'unauthorised',
  );
  assert.equal(readMember(net.state, 'org-c')?.evidenceCount, 1);
});

test('a valid genesis document builds a deterministic state', () => {
  const document = genesisDocument();
  const a = stateTreeRootHash(genesisState(document).state);
  const b = stateTreeRootHash(
    genesisState(JSON.parse(JSON.stringify(document)) as typeof document).state,
  );
  assert.equal(toHex(a), toHex(b));
  assert.deepEqual(readRosterIds(genesisState(document).state), ['org-a', 'org-b', 'org-c']);
});

test('invalid genesis documents are refused, naming the field', () => {
  const good = genesisDocument();
  const cases: Array<[string, unknown]> = [
    ['members', { ...good, members: [] }],
    [
      'members[1].orgId',
      {
        ...good,
        members: [good.members[0], { ...good.members[1], orgId: good.members[0]!.orgId }],
      },
    ],
    ['members[0].nodeKey', { ...good, members: [{ ...good.members[0], nodeKey: 'zz' }] }],
    ['members[0].orgId', { ...good, members: [{ ...good.members[0], orgId: 'Org A' }] }],
    [
      'validators[0].nodeKey',
      { ...good, validators: [{ nodeKey: toHex(keyOf('stranger').publicKey), power: 1 }] },
    ],
    ['validators', { ...good, validators: [] }],
    ['policy', { ...good, policy: { ...good.policy, breakGlassDurationMs: 5 } }],
    ['policy.extra', { ...good, policy: { ...good.policy, extra: 1 } }],
    ['genesisTime', { ...good, genesisTime: -1 }],
    ['.surplus', { ...good, surplus: true }],
  ];
  for (const [path, document] of cases) {
    assert.throws(
      () => parseGenesisDocument(document),
      (e) => e instanceof ContractError && e.code === 'invalid-genesis' && e.message.includes(path),
      `expected an invalid-genesis error naming ${path}`,
    );
  }
});
