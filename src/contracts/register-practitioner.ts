/**
 * `identity.register-practitioner` and `identity.register-client`: an organisation registers
 * (or updates, or deactivates) its practitioners with their role codes (FHIR R4
 * PractitionerRole.code) and its client applications with their allowed SMART on FHIR v2 scopes.
 * Only the organisation's node signs.
 */
import { equalBytes, shortHex } from '../base/index.ts';
import { assertEd25519PublicKey } from '../crypto/index.ts';
import { defineAction } from './action.ts';
import { requireMemberSigner } from './authorise.ts';
import type { TxScope } from './block-state.ts';
import { checkCodes, checkDistinct, checkIdentifier, checkScope } from './checks.ts';
import { ContractError } from './errors.ts';
import {
  ClientSchema,
  PractitionerSchema,
  PrincipalSchema,
  type Principal,
  RegisterClientBodySchema,
  RegisterPractitionerBodySchema,
} from './schemas.ts';
import { StateNamespace, textPart } from './state-keys.ts';

/** Checks that `key` is a canonical Ed25519 key of the prime-order subgroup (crypto/ README). */
export function checkPublicKey(field: string, key: Uint8Array): void {
  try {
    assertEd25519PublicKey(key, field);
  } catch {
    throw new ContractError(
      'invalid-value',
      `${field}: expected a canonical Ed25519 public key of the prime-order subgroup, found ${shortHex(key)}`,
      { field },
    );
  }
}

/** Checks that `key` is a valid Ed25519 key not bound to another principal than `self`. */
export function checkNewKey(
  scope: TxScope,
  field: string,
  key: Uint8Array,
  self: Principal | null,
): void {
  checkPublicKey(field, key);
  const existing = scope.read(PrincipalSchema, StateNamespace.principal, key);
  if (existing === null) return;
  const same =
    self !== null &&
    existing.kind === self.kind &&
    existing.orgId === self.orgId &&
    existing.localId === self.localId &&
    (existing.patientId === null) === (self.patientId === null) &&
    (existing.patientId === null || equalBytes(existing.patientId, self.patientId!));
  if (!same) {
    throw new ContractError(
      'already-exists',
      `${field}: key ${shortHex(key)} is already registered to another ${existing.kind}`,
      { field, key: shortHex(key) },
    );
  }
}

/** Registers or updates a practitioner of the signing organisation. */
export const registerPractitioner = defineAction({
  kind: 'identity.register-practitioner',
  schema: RegisterPractitionerBodySchema,
  execute(scope, body) {
    const member = requireMemberSigner(scope, 'register a practitioner');
    checkIdentifier('practitionerId', body.practitionerId);
    checkCodes('roles', body.roles);
    const self: Principal = {
      kind: 'practitioner',
      orgId: member.orgId,
      localId: body.practitionerId,
      patientId: null,
    };
    checkNewKey(scope, 'publicKey', body.publicKey, self);
    const parts = [textPart(member.orgId), textPart(body.practitionerId)] as const;
    const previous = scope.read(PractitionerSchema, StateNamespace.practitioner, ...parts);
    if (previous !== null && !equalBytes(previous.publicKey, body.publicKey)) {
      scope.remove(StateNamespace.principal, previous.publicKey);
    }
    scope.write(
      PractitionerSchema,
      { orgId: member.orgId, ...body },
      StateNamespace.practitioner,
      ...parts,
    );
    scope.write(PrincipalSchema, self, StateNamespace.principal, body.publicKey);
    scope.emit('identity.practitioner-registered', {
      orgId: member.orgId,
      practitionerId: body.practitionerId,
      active: body.active,
    });
  },
});

/** Registers or updates a client application of the signing organisation. */
export const registerClient = defineAction({
  kind: 'identity.register-client',
  schema: RegisterClientBodySchema,
  execute(scope, body) {
    const member = requireMemberSigner(scope, 'register a client application');
    checkIdentifier('clientId', body.clientId);
    body.scopes.forEach((scopeText, index) => checkScope(`scopes[${index}]`, scopeText));
    checkDistinct('scopes', body.scopes);
    const self: Principal = {
      kind: 'client',
      orgId: member.orgId,
      localId: body.clientId,
      patientId: null,
    };
    checkNewKey(scope, 'publicKey', body.publicKey, self);
    const parts = [textPart(member.orgId), textPart(body.clientId)] as const;
    const previous = scope.read(ClientSchema, StateNamespace.client, ...parts);
    if (previous !== null && !equalBytes(previous.publicKey, body.publicKey)) {
      scope.remove(StateNamespace.principal, previous.publicKey);
    }
    scope.write(ClientSchema, { orgId: member.orgId, ...body }, StateNamespace.client, ...parts);
    scope.write(PrincipalSchema, self, StateNamespace.principal, body.publicKey);
    scope.emit('identity.client-registered', {
      orgId: member.orgId,
      clientId: body.clientId,
      active: body.active,
    });
  },
});
