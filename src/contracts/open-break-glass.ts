/**
 * Break-glass (CONVENTIONS.md "Break-glass and audit duties"; IHE BALP security alert DCM 110113,
 * subtypes 110127 emergency override started): a practitioner of the designated group (role
 * `break-glass`) opens a time-limited grant for one patient with purpose BTG or ETREAT and a
 * reason code; the grant lasts `breakGlassDurationMs` of the network policy, notifies the patient
 * (receipt event) and stays flagged for review until a privacy officer of the same organisation
 * closes the review with an outcome.
 */
import { shortHex, toHex } from '../base/index.ts';
import { defineAction } from './action.ts';
import { requireOrganisationSigner, requirePatient } from './authorise.ts';
import type { TxScope } from './block-state.ts';
import { checkCode, checkIdentifier } from './checks.ts';
import { ContractError } from './errors.ts';
import { ContractRole } from './limits.ts';
import {
  type BreakGlassRecord,
  BreakGlassPointerSchema,
  BreakGlassQueueSchema,
  BreakGlassRecordSchema,
  CloseReviewBodySchema,
  NetworkPolicySchema,
  OpenBreakGlassBodySchema,
  PractitionerSchema,
} from './schemas.ts';
import { StateNamespace, textPart, u64Part } from './state-keys.ts';

/** Most queue entries one review closing skips over while it advances the low-water mark. */
export const reviewQueueAdvanceMax = 64;

function readQueue(scope: TxScope) {
  return (
    scope.read(BreakGlassQueueSchema, StateNamespace.breakGlassQueue) ?? {
      next: 0,
      lowestUnreviewed: 0,
    }
  );
}

export const openBreakGlass = defineAction({
  kind: 'access.break-glass',
  schema: OpenBreakGlassBodySchema,
  execute(scope, body) {
    checkIdentifier('practitionerId', body.practitionerId);
    checkCode('reasonCode', body.reasonCode);
    const { orgId, practitioner: signer } = requireOrganisationSigner(scope, 'open break-glass');
    if (signer !== null && signer.practitionerId !== body.practitionerId) {
      throw new ContractError(
        'unauthorised',
        `practitioner ${signer.practitionerId} may not open break-glass for ${body.practitionerId}`,
      );
    }
    const practitioner =
      signer ??
      scope.read(
        PractitionerSchema,
        StateNamespace.practitioner,
        textPart(orgId),
        textPart(body.practitionerId),
      );
    if (practitioner?.active !== true || !practitioner.roles.includes(ContractRole.breakGlass)) {
      throw new ContractError(
        'unauthorised',
        `practitioner ${orgId}/${body.practitionerId} is not an active member of the break-glass group (role ${ContractRole.breakGlass})`,
      );
    }
    requirePatient(scope, body.patientId);
    const policy = scope.read(NetworkPolicySchema, StateNamespace.policy);
    if (policy === null) throw new ContractError('not-found', 'the network policy is missing');
    const queue = readQueue(scope);
    const breakGlassId = scope.env.txId;
    const grant: BreakGlassRecord = {
      breakGlassId,
      orgId,
      practitionerId: body.practitionerId,
      patientId: body.patientId,
      purpose: body.purpose,
      reasonCode: body.reasonCode,
      openedHeight: scope.env.height,
      openedTime: scope.env.time,
      expiresTime: scope.env.time + policy.breakGlassDurationMs,
      sequence: queue.next,
      review: null,
    };
    scope.write(BreakGlassRecordSchema, grant, StateNamespace.breakGlass, breakGlassId);
    scope.write(
      BreakGlassPointerSchema,
      { breakGlassId },
      StateNamespace.breakGlassLatest,
      body.patientId,
      textPart(orgId),
      textPart(body.practitionerId),
    );
    scope.write(
      BreakGlassPointerSchema,
      { breakGlassId },
      StateNamespace.breakGlassBySequence,
      u64Part(queue.next),
    );
    scope.write(
      BreakGlassQueueSchema,
      { ...queue, next: queue.next + 1 },
      StateNamespace.breakGlassQueue,
    );
    scope.emit('access.break-glass-opened', {
      breakGlassId: toHex(breakGlassId),
      patientId: toHex(body.patientId),
      orgId,
      practitionerId: body.practitionerId,
      purpose: body.purpose,
      expiresTime: grant.expiresTime,
      notify: 'patient,privacy-officer',
    });
  },
});

export const closeReview = defineAction({
  kind: 'access.close-review',
  schema: CloseReviewBodySchema,
  execute(scope, body) {
    if (body.noteCode !== null) checkCode('noteCode', body.noteCode);
    const { orgId, practitioner } = requireOrganisationSigner(scope, 'close a break-glass review');
    if (practitioner === null || !practitioner.roles.includes(ContractRole.privacyOfficer)) {
      throw new ContractError(
        'unauthorised',
        `signer ${shortHex(scope.env.signer)} is not a privacy officer (role ${ContractRole.privacyOfficer})`,
      );
    }
    const grant = scope.read(BreakGlassRecordSchema, StateNamespace.breakGlass, body.breakGlassId);
    if (grant === null) {
      throw new ContractError(
        'not-found',
        `break-glass ${shortHex(body.breakGlassId)} does not exist`,
      );
    }
    if (grant.orgId !== orgId) {
      throw new ContractError(
        'unauthorised',
        `break-glass ${shortHex(body.breakGlassId)} belongs to ${grant.orgId}, reviewer acts for ${orgId}`,
      );
    }
    if (grant.practitionerId === practitioner.practitionerId) {
      throw new ContractError(
        'unauthorised',
        'a practitioner may not review their own break-glass',
      );
    }
    if (grant.review !== null) {
      throw new ContractError(
        'wrong-status',
        `break-glass ${shortHex(body.breakGlassId)} was already reviewed (${grant.review.outcome})`,
      );
    }
    scope.write(
      BreakGlassRecordSchema,
      {
        ...grant,
        review: {
          outcome: body.outcome,
          reviewerId: practitioner.practitionerId,
          noteCode: body.noteCode,
          reviewedHeight: scope.env.height,
          reviewedTime: scope.env.time,
        },
      },
      StateNamespace.breakGlass,
      body.breakGlassId,
    );
    // Advance the low-water mark over reviewed uses, a bounded number per transaction.
    const queue = readQueue(scope);
    let lowest = queue.lowestUnreviewed;
    for (let step = 0; step < reviewQueueAdvanceMax && lowest < queue.next; step++) {
      const pointer = scope.read(
        BreakGlassPointerSchema,
        StateNamespace.breakGlassBySequence,
        u64Part(lowest),
      );
      if (pointer === null) break;
      const entry = scope.read(
        BreakGlassRecordSchema,
        StateNamespace.breakGlass,
        pointer.breakGlassId,
      );
      if (entry?.review === null) break;
      lowest += 1;
    }
    if (lowest !== queue.lowestUnreviewed) {
      scope.write(
        BreakGlassQueueSchema,
        { ...queue, lowestUnreviewed: lowest },
        StateNamespace.breakGlassQueue,
      );
    }
    scope.emit('access.break-glass-reviewed', {
      breakGlassId: toHex(body.breakGlassId),
      outcome: body.outcome,
      reviewer: `${orgId}/${practitioner.practitionerId}`,
      patientId: toHex(grant.patientId),
    });
  },
});
