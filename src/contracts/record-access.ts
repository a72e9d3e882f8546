/**
 * `access.record`: the deciding node submits a batch of audit events, one per access decision,
 * permits and denials alike (IHE BALP, DESIGN.md "access"). Each event is checked against the
 * state (its agent belongs to the submitting organisation, its patient, record version, consent
 * and break-glass grant exist and agree) and stored under the patient's pseudonym with the next
 * sequence number, so a patient's access log is a contiguous, provable list.
 */
import { equalBytes, shortHex, toHex } from '../base/index.ts';
import { defineAction } from './action.ts';
import { requireMemberSigner, requirePatient } from './authorise.ts';
import type { TxScope } from './block-state.ts';
import { checkCode } from './checks.ts';
import { ContractError } from './errors.ts';
import {
  type AuditEventInput,
  AuditEventRecordSchema,
  BreakGlassRecordSchema,
  ClientSchema,
  ConsentRecordSchema,
  CounterSchema,
  NetworkPolicySchema,
  PractitionerSchema,
  RecordAccessBodySchema,
  RecordVersionSchema,
} from './schemas.ts';
import { StateNamespace, textPart, u64Part } from './state-keys.ts';

function invalid(index: number, what: string): ContractError {
  return new ContractError('invalid-value', `events[${index}]: ${what}`, { index });
}

/** Checks one event against the state; throws naming the event's index. */
function checkEvent(
  scope: TxScope,
  orgId: string,
  event: AuditEventInput,
  index: number,
  lagMaxMs: number,
): void {
  checkCode(`events[${index}].purpose`, event.purpose);
  checkCode(`events[${index}].reason`, event.reason);
  if (event.time > scope.env.time || event.time < scope.env.time - lagMaxMs) {
    throw invalid(
      index,
      `expected a time from ${scope.env.time - lagMaxMs} to the block time ${scope.env.time}, found ${event.time}`,
    );
  }
  if ((event.recordId === null) === (event.queryHash === null)) {
    throw invalid(index, 'expected exactly one of recordId and queryHash');
  }
  if ((event.recordId === null) !== (event.recordVersion === null)) {
    throw invalid(index, 'expected recordVersion exactly when recordId is set');
  }
  if (event.practitionerId !== null) {
    const practitioner = scope.read(
      PractitionerSchema,
      StateNamespace.practitioner,
      textPart(orgId),
      textPart(event.practitionerId),
    );
    if (practitioner === null) {
      throw invalid(index, `practitioner ${event.practitionerId} is not registered by ${orgId}`);
    }
  }
  if (event.clientId !== null) {
    const client = scope.read(
      ClientSchema,
      StateNamespace.client,
      textPart(orgId),
      textPart(event.clientId),
    );
    if (client === null) {
      throw invalid(index, `client ${event.clientId} is not registered by ${orgId}`);
    }
  }
  requirePatient(scope, event.patientId);
  if (event.recordId !== null && event.recordVersion !== null) {
    const head = scope.read(RecordVersionSchema, StateNamespace.record, event.recordId);
    if (head === null)
      throw invalid(index, `record ${shortHex(event.recordId)} was never anchored`);
    if (!equalBytes(head.patientId, event.patientId)) {
      throw invalid(index, `record ${shortHex(event.recordId)} belongs to another patient`);
    }
    if (event.recordVersion > head.version) {
      throw invalid(
        index,
        `record ${shortHex(event.recordId)} has versions 1 to ${head.version}, found ${event.recordVersion}`,
      );
    }
  }
  if (event.consentId !== null) {
    const consent = scope.read(ConsentRecordSchema, StateNamespace.consent, event.consentId);
    if (consent === null || !equalBytes(consent.patientId, event.patientId)) {
      throw invalid(index, `consent ${shortHex(event.consentId)} is not a consent of the patient`);
    }
  }
  if (event.breakGlassId !== null) {
    const grant = scope.read(BreakGlassRecordSchema, StateNamespace.breakGlass, event.breakGlassId);
    if (grant === null || !equalBytes(grant.patientId, event.patientId) || grant.orgId !== orgId) {
      throw invalid(
        index,
        `break-glass ${shortHex(event.breakGlassId)} is not a grant of ${orgId} for the patient`,
      );
    }
  }
}

export const recordAccess = defineAction({
  kind: 'access.record',
  schema: RecordAccessBodySchema,
  execute(scope, body) {
    const member = requireMemberSigner(scope, 'record audit events');
    const policy = scope.read(NetworkPolicySchema, StateNamespace.policy);
    if (policy === null) throw new ContractError('not-found', 'the network policy is missing');
    body.events.forEach((event, index) => {
      checkEvent(scope, member.orgId, event, index, policy.auditLagMaxMs);
      const countKey = scope.key(StateNamespace.auditCount, event.patientId);
      const sequence = scope.readAt(CounterSchema, countKey)?.count ?? 0;
      scope.write(
        AuditEventRecordSchema,
        { event, orgId: member.orgId, sequence, recordedHeight: scope.env.height },
        StateNamespace.auditEvent,
        event.patientId,
        u64Part(sequence),
      );
      scope.writeAt(CounterSchema, { count: sequence + 1 }, [countKey]);
    });
    scope.emit('access.recorded', { orgId: member.orgId, events: body.events.length });
    // The first event's patient is enough for the receipt; per-patient notifications read the
    // audit index.
    const first = body.events[0];
    if (first !== undefined && body.events.length === 1) {
      scope.emit('access.patient-notified', { patientId: toHex(first.patientId) });
    }
  },
});
