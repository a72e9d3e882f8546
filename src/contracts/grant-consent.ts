/**
 * `consent.grant` and `consent.revoke` (FHIR R4 Consent, scope patient-privacy; IHE PCF): only
 * the patient or a registered delegate signs; a consent id is used once; a revocation sets the
 * consent `inactive` (FHIR: status inactive, history kept). Both take effect in the state of the
 * block that holds them, so every decision from the next block on sees them (decision 0023).
 */
import { compareBytes, shortHex, toHex } from '../base/index.ts';
import { defineAction } from './action.ts';
import { requirePatientOrDelegateSigner } from './authorise.ts';
import { checkCode, checkCodes, checkIdentifier } from './checks.ts';
import { ContractError } from './errors.ts';
import { contractLimits } from './limits.ts';
import {
  type ConsentRecord,
  ConsentIndexSchema,
  ConsentRecordSchema,
  GrantConsentBodySchema,
  type Provision,
  RevokeConsentBodySchema,
} from './schemas.ts';
import { StateNamespace } from './state-keys.ts';

/** Checks a provision tree's codes, references and periods; names the path of the first fault. */
export function checkProvision(provision: Provision, path = 'provision'): void {
  if (provision.period !== null && provision.period.end !== null) {
    if (provision.period.end <= provision.period.start) {
      throw new ContractError(
        'invalid-value',
        `${path}.period: expected end after start, found start ${provision.period.start} and end ${provision.period.end}`,
      );
    }
  }
  if (provision.dataPeriod !== null && provision.dataPeriod.end !== null) {
    if (provision.dataPeriod.end <= provision.dataPeriod.start) {
      throw new ContractError(
        'invalid-value',
        `${path}.dataPeriod: expected end after start, found start ${provision.dataPeriod.start} and end ${provision.dataPeriod.end}`,
      );
    }
  }
  provision.actors.forEach((actor, index) => {
    const field = `${path}.actors[${index}].id`;
    if (actor.kind === 'role') return checkCode(field, actor.id);
    if (actor.kind === 'organization') return checkIdentifier(field, actor.id);
    const [orgId, localId, ...rest] = actor.id.split('/');
    if (orgId === undefined || localId === undefined || rest.length > 0) {
      throw new ContractError(
        'invalid-value',
        `${field}: expected "orgId/localId" for a ${actor.kind}, found ${JSON.stringify(actor.id)}`,
      );
    }
    checkIdentifier(field, orgId);
    checkIdentifier(field, localId);
  });
  checkCodes(`${path}.purposes`, provision.purposes);
  checkCodes(`${path}.classes`, provision.classes);
  checkCodes(`${path}.securityLabels`, provision.securityLabels);
  provision.provisions.forEach((child, index) =>
    checkProvision(child, `${path}.provisions[${index}]`),
  );
}

/** The patient (or a delegate) grants a new consent. */
export const grantConsent = defineAction({
  kind: 'consent.grant',
  schema: GrantConsentBodySchema,
  execute(scope, body) {
    requirePatientOrDelegateSigner(scope, body.patientId, 'grant a consent');
    checkCode('policyRule', body.policyRule);
    checkProvision(body.provision);
    const consentKey = scope.key(StateNamespace.consent, body.consentId);
    if (scope.readAt(ConsentRecordSchema, consentKey) !== null) {
      throw new ContractError(
        'already-exists',
        `consent ${shortHex(body.consentId)} exists already; a consent id is used once`,
      );
    }
    const indexKey = scope.key(StateNamespace.consentIndex, body.patientId);
    const index = scope.readAt(ConsentIndexSchema, indexKey);
    const consentIds = index?.consentIds ?? [];
    if (consentIds.length >= contractLimits.consentsPerPatientMax) {
      throw new ContractError(
        'limit-exceeded',
        `patient ${shortHex(body.patientId)} has ${consentIds.length} consents, at most ${contractLimits.consentsPerPatientMax} allowed`,
      );
    }
    // Every field named rather than a spread of the body (see `anchorRecord`).
    const record: ConsentRecord = {
      consentId: body.consentId,
      patientId: body.patientId,
      policyRule: body.policyRule,
      provision: body.provision,
      status: 'active',
      grantedHeight: scope.env.height,
      grantedTime: scope.env.time,
      grantedBy: scope.env.signer,
      revokedHeight: null,
      revokedTime: null,
      revokedBy: null,
    };
    scope.writeAt(ConsentRecordSchema, record, [consentKey]);
    // Sorted by id, so the stored index (and every decision read from it) does not depend on the
    // order in which consents were granted.
    scope.writeAt(
      ConsentIndexSchema,
      { consentIds: [...consentIds, body.consentId].sort(compareBytes) },
      [indexKey],
    );
    scope.emit('consent.granted', {
      consentId: toHex(body.consentId),
      patientId: toHex(body.patientId),
      type: body.provision.type,
    });
  },
});

/** The patient (or a delegate) revokes one of the patient's active consents. */
export const revokeConsent = defineAction({
  kind: 'consent.revoke',
  schema: RevokeConsentBodySchema,
  execute(scope, body) {
    const consentKey = scope.key(StateNamespace.consent, body.consentId);
    const record = scope.readAt(ConsentRecordSchema, consentKey);
    if (record === null) {
      throw new ContractError('not-found', `consent ${shortHex(body.consentId)} does not exist`);
    }
    requirePatientOrDelegateSigner(scope, record.patientId, 'revoke this consent');
    if (record.status !== 'active') {
      throw new ContractError(
        'wrong-status',
        `consent ${shortHex(body.consentId)}: expected status active, found ${record.status}`,
      );
    }
    scope.writeAt(
      ConsentRecordSchema,
      {
        consentId: record.consentId,
        patientId: record.patientId,
        policyRule: record.policyRule,
        provision: record.provision,
        status: 'inactive',
        grantedHeight: record.grantedHeight,
        grantedTime: record.grantedTime,
        grantedBy: record.grantedBy,
        revokedHeight: scope.env.height,
        revokedTime: scope.env.time,
        revokedBy: scope.env.signer,
      },
      [consentKey],
    );
    scope.emit('consent.revoked', {
      consentId: toHex(body.consentId),
      patientId: toHex(record.patientId),
    });
  },
});
