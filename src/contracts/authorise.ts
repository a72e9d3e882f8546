/**
 * Who signed: execution maps the transaction's signer key to a registered principal (member
 * node, practitioner, client, patient) and each contract checks that this principal may do the
 * action (decision 0025). Signatures themselves are checked before execution (chain/).
 */
import { equalBytes, shortHex } from '../base/index.ts';
import type { TxScope } from './block-state.ts';
import { ContractError } from './errors.ts';
import {
  type Member,
  MemberSchema,
  type Patient,
  PatientSchema,
  type Practitioner,
  PractitionerSchema,
  type Principal,
  PrincipalSchema,
} from './schemas.ts';
import { StateNamespace, textPart } from './state-keys.ts';

/** The principal of `key`, or null. */
export function principalOf(scope: TxScope, key: Uint8Array): Principal | null {
  return scope.read(PrincipalSchema, StateNamespace.principal, key);
}

function unauthorised(scope: TxScope, what: string): ContractError {
  return new ContractError('unauthorised', `signer ${shortHex(scope.env.signer)} may not ${what}`, {
    signer: shortHex(scope.env.signer),
  });
}

/** The active member whose node key signed, or `unauthorised`. */
export function requireMemberSigner(scope: TxScope, what: string): Member {
  const principal = principalOf(scope, scope.env.signer);
  if (principal?.kind !== 'member' || principal.orgId === null) {
    throw unauthorised(scope, `${what}: expected a member's node key`);
  }
  const member = scope.read(MemberSchema, StateNamespace.member, textPart(principal.orgId));
  if (member?.status !== 'active') throw unauthorised(scope, `${what}: the member is not active`);
  return member;
}

/**
 * The organisation acting: the signer is the node of an active member, or an active
 * practitioner of one. Returns the org id and the practitioner (null for the node).
 */
export function requireOrganisationSigner(
  scope: TxScope,
  what: string,
): { orgId: string; practitioner: Practitioner | null } {
  const principal = principalOf(scope, scope.env.signer);
  if (principal === null || principal.orgId === null) {
    throw unauthorised(scope, `${what}: expected an organisation's node or practitioner key`);
  }
  let practitioner: Practitioner | null = null;
  if (principal.kind === 'practitioner' && principal.localId !== null) {
    practitioner = scope.read(
      PractitionerSchema,
      StateNamespace.practitioner,
      textPart(principal.orgId),
      textPart(principal.localId),
    );
    if (practitioner?.active !== true) {
      throw unauthorised(scope, `${what}: the practitioner is not active`);
    }
  } else if (principal.kind !== 'member') {
    throw unauthorised(scope, `${what}: expected an organisation's node or practitioner key`);
  }
  const member = scope.read(MemberSchema, StateNamespace.member, textPart(principal.orgId));
  if (member?.status !== 'active') {
    throw unauthorised(scope, `${what}: organisation ${principal.orgId} is not an active member`);
  }
  return { orgId: principal.orgId, practitioner };
}

/** The enrolled patient `patientId`, or `not-found`. */
export function requirePatient(scope: TxScope, patientId: Uint8Array): Patient {
  const patient = scope.read(PatientSchema, StateNamespace.patient, patientId);
  if (patient === null) {
    throw new ContractError('not-found', `patient ${shortHex(patientId)} is not enrolled`, {
      patientId: shortHex(patientId),
    });
  }
  return patient;
}

/** Whether `key` is the patient's own key or one of their registered delegates. */
export function isPatientOrDelegate(patient: Patient, key: Uint8Array): boolean {
  if (equalBytes(patient.publicKey, key)) return true;
  return patient.delegates.some((delegate) => equalBytes(delegate, key));
}

/** The patient, if the signer is that patient or a delegate; `unauthorised` otherwise. */
export function requirePatientOrDelegateSigner(
  scope: TxScope,
  patientId: Uint8Array,
  what: string,
): Patient {
  const patient = requirePatient(scope, patientId);
  if (!isPatientOrDelegate(patient, scope.env.signer)) {
    throw unauthorised(scope, `${what}: expected patient ${shortHex(patientId)} or a delegate`);
  }
  return patient;
}
