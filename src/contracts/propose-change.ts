/**
 * Membership governance (DESIGN.md "membership"): a member proposes a change (admit or remove a
 * member, rotate a node key, change the validator set or the network policy); members approve
 * it by vote; with approvals from at least 2/3 of the active members it is approved and takes
 * effect `changeDelayHeights` later; a proposal not approved within `proposalLifetimeHeights`
 * expires (decision 0026).
 */
import { shortHex, toHex } from '../base/index.ts';
import { defineAction } from './action.ts';
import { requireMemberSigner } from './authorise.ts';
import type { TxScope } from './block-state.ts';
import { checkCodes, checkIdentifier, compareText } from './checks.ts';
import { ContractError } from './errors.ts';
import { contractLimits } from './limits.ts';
import { checkNetworkPolicy } from './network-policy.ts';
import { checkPublicKey } from './register-practitioner.ts';
import {
  type Change,
  type MembershipProposal,
  NetworkPolicySchema,
  PendingChangesSchema,
  ProposalSchema,
  ProposeBodySchema,
  RosterSchema,
  VoteBodySchema,
} from './schemas.ts';
import { StateNamespace } from './state-keys.ts';

/** Whether `approvals` out of `memberCount` active members reach the ≥ 2/3 threshold. */
export function isApprovalQuorum(approvals: number, memberCount: number): boolean {
  return memberCount > 0 && approvals * 3 >= memberCount * 2;
}

/** Checks that exactly the fields of the change's type are set, and their values. */
export function checkChangeShape(change: Change): void {
  const set = {
    member: change.member !== null,
    orgId: change.orgId !== null,
    nodeKey: change.nodeKey !== null,
    validators: change.validators !== null,
    policy: change.policy !== null,
  };
  const needed: Record<Change['type'], ReadonlyArray<keyof typeof set>> = {
    'admit-member': ['member'],
    'remove-member': ['orgId'],
    'rotate-node-key': ['orgId', 'nodeKey'],
    'set-validators': ['validators'],
    'set-policy': ['policy'],
  };
  const expected = needed[change.type];
  for (const field of Object.keys(set) as Array<keyof typeof set>) {
    if (set[field] !== expected.includes(field)) {
      throw new ContractError(
        'invalid-value',
        `change ${change.type}: expected ${expected.join(' and ')} set and nothing else, found ${field} ${set[field] ? 'set' : 'null'}`,
        { field },
      );
    }
  }
  if (change.member !== null) {
    checkIdentifier('change.member.orgId', change.member.orgId);
    checkPublicKey('change.member.nodeKey', change.member.nodeKey);
    checkCodes('change.member.roles', change.member.roles);
  }
  if (change.orgId !== null) checkIdentifier('change.orgId', change.orgId);
  if (change.nodeKey !== null) checkPublicKey('change.nodeKey', change.nodeKey);
  if (change.validators !== null) {
    change.validators.forEach((validator, index) =>
      checkPublicKey(`change.validators[${index}].publicKey`, validator.publicKey),
    );
  }
  if (change.policy !== null) checkNetworkPolicy(change.policy);
}

/** The active members' ids. */
export function readRoster(scope: TxScope): readonly string[] {
  return scope.read(RosterSchema, StateNamespace.roster)?.orgIds ?? [];
}

/** Approves `proposal` if its approvals reach the threshold: schedules it and returns it. */
function approveIfQuorum(scope: TxScope, proposal: MembershipProposal): MembershipProposal {
  const roster = new Set(readRoster(scope));
  const counted = proposal.approvals.filter((orgId) => roster.has(orgId)).length;
  if (!isApprovalQuorum(counted, roster.size)) return proposal;
  const policy = scope.read(NetworkPolicySchema, StateNamespace.policy);
  if (policy === null) throw new ContractError('not-found', 'the network policy is missing');
  const effectiveHeight = scope.env.height + policy.changeDelayHeights;
  const pending = scope.read(PendingChangesSchema, StateNamespace.pendingChanges)?.items ?? [];
  if (pending.length >= contractLimits.pendingChangesMax) {
    throw new ContractError(
      'limit-exceeded',
      `${pending.length} approved changes are waiting, at most ${contractLimits.pendingChangesMax} allowed`,
    );
  }
  const items = [...pending, { effectiveHeight, proposalId: proposal.proposalId }].sort(
    (a, b) =>
      a.effectiveHeight - b.effectiveHeight ||
      compareText(toHex(a.proposalId), toHex(b.proposalId)),
  );
  scope.write(PendingChangesSchema, { items }, StateNamespace.pendingChanges);
  scope.emit('membership.proposal-approved', {
    proposalId: toHex(proposal.proposalId),
    effectiveHeight,
  });
  return { ...proposal, status: 'approved', effectiveHeight };
}

/** A member proposes a change; the proposer's approval is counted (decision 0026). */
export const proposeChange = defineAction({
  kind: 'membership.propose',
  schema: ProposeBodySchema,
  execute(scope, body) {
    const member = requireMemberSigner(scope, 'propose a change');
    checkChangeShape(body.change);
    const policy = scope.read(NetworkPolicySchema, StateNamespace.policy);
    if (policy === null) throw new ContractError('not-found', 'the network policy is missing');
    const proposalId = scope.env.txId;
    const proposal: MembershipProposal = approveIfQuorum(scope, {
      proposalId,
      proposer: member.orgId,
      change: body.change,
      createdHeight: scope.env.height,
      expiresHeight: scope.env.height + policy.proposalLifetimeHeights,
      approvals: [member.orgId],
      status: 'open',
      effectiveHeight: null,
      failure: null,
    });
    scope.write(ProposalSchema, proposal, StateNamespace.proposal, proposalId);
    scope.emit('membership.proposed', {
      proposalId: toHex(proposalId),
      type: body.change.type,
      proposer: member.orgId,
    });
  },
});

/** A member approves an open proposal, once, before it expires. */
export const voteProposal = defineAction({
  kind: 'membership.vote',
  schema: VoteBodySchema,
  execute(scope, body) {
    const member = requireMemberSigner(scope, 'vote on a proposal');
    const proposal = scope.read(ProposalSchema, StateNamespace.proposal, body.proposalId);
    if (proposal === null) {
      throw new ContractError('not-found', `proposal ${shortHex(body.proposalId)} does not exist`);
    }
    if (proposal.status !== 'open') {
      throw new ContractError(
        'wrong-status',
        `proposal ${shortHex(body.proposalId)}: expected status open, found ${proposal.status}`,
      );
    }
    if (scope.env.height > proposal.expiresHeight) {
      throw new ContractError(
        'proposal-expired',
        `proposal ${shortHex(body.proposalId)} expired at height ${proposal.expiresHeight}, vote at height ${scope.env.height}`,
      );
    }
    if (proposal.approvals.includes(member.orgId)) {
      throw new ContractError(
        'already-voted',
        `member ${member.orgId} has already approved proposal ${shortHex(body.proposalId)}`,
      );
    }
    const approvals = [...proposal.approvals, member.orgId].sort(compareText);
    const updated = approveIfQuorum(scope, { ...proposal, approvals });
    scope.write(ProposalSchema, updated, StateNamespace.proposal, body.proposalId);
    scope.emit('membership.voted', { proposalId: toHex(body.proposalId), orgId: member.orgId });
  },
});
