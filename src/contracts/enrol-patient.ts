/**
 * Patient identity (DESIGN.md "identity"): an organisation enrols a patient under a 128-bit
 * pseudonym with the patient's public key and nothing that identifies the person; the patient
 * alone rotates that key and adds or removes delegates (guardians, FHIR R4 RelatedPerson), with
 * their own signature.
 */
import { compareBytes, equalBytes, shortHex, toHex } from '../base/index.ts';
import { defineAction } from './action.ts';
import { requireOrganisationSigner, requirePatient } from './authorise.ts';
import type { TxScope } from './block-state.ts';
import { ContractError } from './errors.ts';
import { contractLimits } from './limits.ts';
import { checkNewKey, checkPublicKey } from './register-practitioner.ts';
import {
  DelegateBodySchema,
  EnrolPatientBodySchema,
  type Patient,
  PatientSchema,
  PrincipalSchema,
  RotatePatientKeyBodySchema,
} from './schemas.ts';
import { StateNamespace } from './state-keys.ts';

/** Enrols a new patient; a pseudonym and a key are registered once. */
export const enrolPatient = defineAction({
  kind: 'identity.enrol-patient',
  schema: EnrolPatientBodySchema,
  execute(scope, body) {
    const { orgId } = requireOrganisationSigner(scope, 'enrol a patient');
    if (scope.read(PatientSchema, StateNamespace.patient, body.patientId) !== null) {
      throw new ContractError(
        'already-exists',
        `patient ${shortHex(body.patientId)} is already enrolled`,
        { patientId: toHex(body.patientId) },
      );
    }
    checkNewKey(scope, 'publicKey', body.publicKey, null);
    const patient: Patient = {
      patientId: body.patientId,
      publicKey: body.publicKey,
      delegates: [],
      enrolledBy: orgId,
      enrolledHeight: scope.env.height,
    };
    scope.write(PatientSchema, patient, StateNamespace.patient, body.patientId);
    scope.write(
      PrincipalSchema,
      { kind: 'patient', orgId: null, localId: null, patientId: body.patientId },
      StateNamespace.principal,
      body.publicKey,
    );
    scope.emit('identity.patient-enrolled', { patientId: toHex(body.patientId), orgId });
  },
});

function requirePatientSigner(scope: TxScope, patientId: Uint8Array, what: string): Patient {
  const patient = requirePatient(scope, patientId);
  if (!equalBytes(patient.publicKey, scope.env.signer)) {
    throw new ContractError(
      'unauthorised',
      `signer ${shortHex(scope.env.signer)} may not ${what}: expected patient ${shortHex(patientId)}'s own key`,
      { signer: shortHex(scope.env.signer) },
    );
  }
  return patient;
}

/** The patient replaces their key; the old key stops working in the same block. */
export const rotatePatientKey = defineAction({
  kind: 'identity.rotate-patient-key',
  schema: RotatePatientKeyBodySchema,
  execute(scope, body) {
    const patient = requirePatientSigner(scope, body.patientId, 'rotate the patient key');
    checkNewKey(scope, 'newPublicKey', body.newPublicKey, null);
    scope.remove(StateNamespace.principal, patient.publicKey);
    scope.write(
      PrincipalSchema,
      { kind: 'patient', orgId: null, localId: null, patientId: body.patientId },
      StateNamespace.principal,
      body.newPublicKey,
    );
    scope.write(
      PatientSchema,
      { ...patient, publicKey: body.newPublicKey },
      StateNamespace.patient,
      body.patientId,
    );
    scope.emit('identity.patient-key-rotated', { patientId: toHex(body.patientId) });
  },
});

/** The patient adds a delegate who may then sign consents and revocations for them. */
export const addDelegate = defineAction({
  kind: 'identity.add-delegate',
  schema: DelegateBodySchema,
  execute(scope, body) {
    const patient = requirePatientSigner(scope, body.patientId, 'add a delegate');
    // A delegate may hold a key of its own elsewhere (a guardian who is also a patient): only its
    // form is checked, not its uniqueness.
    checkPublicKey('delegateKey', body.delegateKey);
    if (equalBytes(body.delegateKey, patient.publicKey)) {
      throw new ContractError(
        'invalid-value',
        "delegateKey: expected a key other than the patient's own",
      );
    }
    if (patient.delegates.some((key) => equalBytes(key, body.delegateKey))) {
      throw new ContractError(
        'already-exists',
        `delegate ${shortHex(body.delegateKey)} is already registered for patient ${shortHex(body.patientId)}`,
      );
    }
    if (patient.delegates.length >= contractLimits.delegatesPerPatientMax) {
      throw new ContractError(
        'limit-exceeded',
        `patient ${shortHex(body.patientId)} has ${patient.delegates.length} delegates, at most ${contractLimits.delegatesPerPatientMax} allowed`,
      );
    }
    const delegates = [...patient.delegates, body.delegateKey].sort(compareBytes);
    scope.write(PatientSchema, { ...patient, delegates }, StateNamespace.patient, body.patientId);
    scope.emit('identity.delegate-added', {
      patientId: toHex(body.patientId),
      delegate: toHex(body.delegateKey),
    });
  },
});

/** The patient removes a delegate. */
export const removeDelegate = defineAction({
  kind: 'identity.remove-delegate',
  schema: DelegateBodySchema,
  execute(scope, body) {
    const patient = requirePatientSigner(scope, body.patientId, 'remove a delegate');
    const delegates = patient.delegates.filter((key) => !equalBytes(key, body.delegateKey));
    if (delegates.length === patient.delegates.length) {
      throw new ContractError(
        'not-found',
        `delegate ${shortHex(body.delegateKey)} is not registered for patient ${shortHex(body.patientId)}`,
      );
    }
    scope.write(PatientSchema, { ...patient, delegates }, StateNamespace.patient, body.patientId);
    scope.emit('identity.delegate-removed', {
      patientId: toHex(body.patientId),
      delegate: toHex(body.delegateKey),
    });
  },
});
