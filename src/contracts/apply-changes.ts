/**
 * Applies approved membership changes whose effective height has come, at the start of a block
 * before its transactions (decision 0026). Each change runs in its own scope: one that no longer
 * fits the state (its member was removed meanwhile, the validator set would be empty) is marked
 * `failed` with the reason, and the others still apply.
 */
import { equalBytes, shortHex, toHex } from '../base/index.ts';
import { type ValidatorSet, ValidatorSetSchema, makeValidatorSet } from '../chain/index.ts';
import type { BlockState, ContractEvent, TxEnvironment } from './block-state.ts';
import { TxScope } from './block-state.ts';
import { compareText } from './checks.ts';
import { ContractError } from './errors.ts';
import { readRoster } from './propose-change.ts';
import { checkNewKey } from './register-practitioner.ts';
import {
  type Change,
  MemberSchema,
  NetworkPolicySchema,
  PendingChangesSchema,
  PrincipalSchema,
  ProposalSchema,
  RosterSchema,
  ValidatorChangeHeightsSchema,
} from './schemas.ts';
import { contractLimits } from './limits.ts';
import { StateNamespace, textPart } from './state-keys.ts';

/** Applies the due changes to `block`; returns their events. */
export function applyDueChanges(block: BlockState, env: TxEnvironment): ContractEvent[] {
  const head = new TxScope(block, env);
  const pending = head.read(PendingChangesSchema, StateNamespace.pendingChanges)?.items ?? [];
  const due = pending.filter((item) => item.effectiveHeight <= env.height);
  if (due.length === 0) return [];
  const events: ContractEvent[] = [];
  const rest = pending.filter((item) => item.effectiveHeight > env.height);
  head.write(PendingChangesSchema, { items: rest }, StateNamespace.pendingChanges);
  block.absorb(head.writes);
  for (const item of due) {
    const scope = new TxScope(block, env);
    const proposal = scope.read(ProposalSchema, StateNamespace.proposal, item.proposalId);
    if (proposal === null) continue;
    try {
      applyChange(scope, proposal.change);
      scope.write(
        ProposalSchema,
        { ...proposal, status: 'applied' },
        StateNamespace.proposal,
        item.proposalId,
      );
      scope.emit('membership.change-applied', {
        proposalId: toHex(item.proposalId),
        type: proposal.change.type,
      });
      block.absorb(scope.writes);
      events.push(...scope.events);
    } catch (error) {
      if (!(error instanceof ContractError)) throw error;
      const failed = new TxScope(block, env);
      failed.write(
        ProposalSchema,
        { ...proposal, status: 'failed', failure: `${error.code}: ${error.message}`.slice(0, 512) },
        StateNamespace.proposal,
        item.proposalId,
      );
      failed.emit('membership.change-failed', {
        proposalId: toHex(item.proposalId),
        type: proposal.change.type,
        code: error.code,
      });
      block.absorb(failed.writes);
      events.push(...failed.events);
    }
  }
  return events;
}

function readValidators(scope: TxScope): ValidatorSet {
  const set = scope.read(ValidatorSetSchema, StateNamespace.validators);
  if (set === null) throw new ContractError('not-found', 'the validator set is missing');
  return set;
}

function writeValidators(scope: TxScope, validators: ValidatorSet['validators']): void {
  if (validators.length === 0) {
    throw new ContractError('invalid-value', 'the change would leave the validator set empty');
  }
  scope.write(ValidatorSetSchema, makeValidatorSet(validators), StateNamespace.validators);
  // Light clients learn from this list which blocks' states hold a new set (decision 0072).
  const changes = scope.read(ValidatorChangeHeightsSchema, StateNamespace.validatorChangeHeights);
  const heights = changes?.heights ?? [];
  if (heights[heights.length - 1] !== scope.env.height) {
    if (heights.length >= contractLimits.validatorChangeHeightsMax) {
      throw new ContractError(
        'invalid-value',
        `the validator set changed ${heights.length} times, the most the chain records`,
      );
    }
    scope.write(
      ValidatorChangeHeightsSchema,
      { heights: [...heights, scope.env.height] },
      StateNamespace.validatorChangeHeights,
    );
  }
  scope.emit('membership.validators-changed', { count: validators.length });
}

function writeRoster(scope: TxScope, orgIds: readonly string[]): void {
  if (orgIds.length === 0) {
    throw new ContractError('invalid-value', 'the change would leave the consortium empty');
  }
  scope.write(RosterSchema, { orgIds: [...orgIds].sort(compareText) }, StateNamespace.roster);
}

function requireActiveMember(scope: TxScope, orgId: string) {
  const member = scope.read(MemberSchema, StateNamespace.member, textPart(orgId));
  if (member?.status !== 'active') {
    throw new ContractError('not-found', `member ${orgId} is not an active member`);
  }
  return member;
}

/** One change's effect on the state. */
function applyChange(scope: TxScope, change: Change): void {
  switch (change.type) {
    case 'admit-member': {
      const input = change.member!;
      const existing = scope.read(MemberSchema, StateNamespace.member, textPart(input.orgId));
      if (existing?.status === 'active') {
        throw new ContractError('already-exists', `member ${input.orgId} is already active`);
      }
      checkNewKey(scope, 'nodeKey', input.nodeKey, null);
      scope.write(
        MemberSchema,
        {
          ...input,
          status: 'active',
          admittedHeight: scope.env.height,
          evidenceCount: existing?.evidenceCount ?? 0,
        },
        StateNamespace.member,
        textPart(input.orgId),
      );
      scope.write(
        PrincipalSchema,
        { kind: 'member', orgId: input.orgId, localId: null, patientId: null },
        StateNamespace.principal,
        input.nodeKey,
      );
      writeRoster(scope, [...readRoster(scope), input.orgId]);
      return;
    }
    case 'remove-member': {
      const member = requireActiveMember(scope, change.orgId!);
      scope.write(
        MemberSchema,
        { ...member, status: 'removed' },
        StateNamespace.member,
        textPart(member.orgId),
      );
      scope.remove(StateNamespace.principal, member.nodeKey);
      writeRoster(
        scope,
        readRoster(scope).filter((orgId) => orgId !== member.orgId),
      );
      const set = readValidators(scope);
      const kept = set.validators.filter((v) => !equalBytes(v.publicKey, member.nodeKey));
      if (kept.length !== set.validators.length) writeValidators(scope, kept);
      return;
    }
    case 'rotate-node-key': {
      const member = requireActiveMember(scope, change.orgId!);
      const nodeKey = change.nodeKey!;
      checkNewKey(scope, 'nodeKey', nodeKey, null);
      scope.remove(StateNamespace.principal, member.nodeKey);
      scope.write(
        PrincipalSchema,
        { kind: 'member', orgId: member.orgId, localId: null, patientId: null },
        StateNamespace.principal,
        nodeKey,
      );
      scope.write(
        MemberSchema,
        { ...member, nodeKey },
        StateNamespace.member,
        textPart(member.orgId),
      );
      const set = readValidators(scope);
      if (set.validators.some((v) => equalBytes(v.publicKey, member.nodeKey))) {
        writeValidators(
          scope,
          set.validators.map((v) =>
            equalBytes(v.publicKey, member.nodeKey) ? { publicKey: nodeKey, power: v.power } : v,
          ),
        );
      }
      return;
    }
    case 'set-validators': {
      const validators = change.validators!;
      for (const validator of validators) {
        const principal = scope.read(
          PrincipalSchema,
          StateNamespace.principal,
          validator.publicKey,
        );
        if (principal?.kind !== 'member') {
          throw new ContractError(
            'invalid-value',
            `validator ${shortHex(validator.publicKey)} is not an active member's node key`,
          );
        }
      }
      try {
        writeValidators(scope, validators);
      } catch (error) {
        if (error instanceof ContractError) throw error;
        throw new ContractError('invalid-value', `validators: ${(error as Error).message}`);
      }
      return;
    }
    case 'set-policy': {
      scope.write(NetworkPolicySchema, change.policy!, StateNamespace.policy);
      scope.emit('membership.policy-changed', { consentDefault: change.policy!.consentDefault });
      return;
    }
  }
}
