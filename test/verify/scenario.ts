// One history for the verifier's tests, on a real in-memory chain (chain-fixture.ts): a patient
// enrolled, a record anchored in three versions and then erased, a consent granted and revoked,
// audit events (permits, a denial) over several blocks, and the validator set changed twice.
import { sha256 } from '../../src/crypto/index.ts';
import { utf8 } from '../../src/base/index.ts';
import type { AuditEventInput } from '../../src/contracts/index.ts';
import { idOf, keyOf, provision } from '../contracts/fixtures.ts';
import { TestChain } from './chain-fixture.ts';

export interface Scenario {
  readonly chain: TestChain;
  readonly patientId: Uint8Array;
  readonly recordId: Uint8Array;
  /** A record never erased, in one version, anchored before the validator set changed. */
  readonly keptRecordId: Uint8Array;
  /** A record in one version, anchored after both validator-set changes. */
  readonly lateRecordId: Uint8Array;
  readonly consentId: Uint8Array;
  /** Heights: the consent granted, revoked; the first and last audit batch. */
  readonly grantedHeight: number;
  readonly revokedHeight: number;
  readonly auditTimes: readonly number[];
}

function auditEvent(chain: TestChain, overrides: Partial<AuditEventInput>): AuditEventInput {
  return {
    practitionerId: 'bob',
    clientId: null,
    patientId: idOf('patient:p1'),
    recordId: idOf('record:kept'),
    recordVersion: 1,
    queryHash: null,
    action: 'read',
    purpose: 'TREAT',
    decision: 'permit',
    reason: 'consent-permit',
    consentId: null,
    breakGlassId: null,
    time: chain.time,
    ...overrides,
  };
}

/**
 * Builds the history. `weakCommitAt`: the block of that height is committed by only 2 of its
 * validators (less than 2/3), as a forger would.
 */
export function buildScenario(options: { weakCommitAt?: number } = {}): Scenario {
  const chain = new TestChain({ weakCommitAt: options.weakCommitAt });
  const patientId = idOf('patient:p1');
  const recordId = idOf('record:r1');
  const keptRecordId = idOf('record:kept');
  chain.block([
    chain.tx('node:org-a', 'identity.enrol-patient', {
      patientId,
      publicKey: keyOf('patient:p1').publicKey,
    }),
    chain.tx('node:org-b', 'identity.register-practitioner', {
      practitionerId: 'bob',
      publicKey: keyOf('dr:org-b/bob').publicKey,
      roles: ['doctor'],
      active: true,
    }),
  ]);
  const anchor = (id: Uint8Array, version: number) =>
    chain.tx('node:org-a', 'record.anchor', {
      recordId: id,
      version,
      resourceType: 'Observation',
      patientId,
      custodian: 'org-a',
      contentHash: sha256(utf8(`content:${version}`)),
      securityLabels: ['N'],
    });
  chain.block([anchor(recordId, 1), anchor(keptRecordId, 1)]);
  chain.block([anchor(recordId, 2)]);
  const consentId = idOf('consent:c1');
  chain.block([
    chain.tx('patient:p1', 'consent.grant', {
      consentId,
      patientId,
      policyRule: 'OPTIN',
      provision: provision('permit'),
    }),
  ]);
  const grantedHeight = chain.head().height;
  const auditTimes: number[] = [];
  chain.block([], { timeStepMs: 60_000 });
  auditTimes.push(chain.time);
  chain.block([chain.tx('node:org-b', 'access.record', { events: [auditEvent(chain, {})] })]);
  chain.setValidators(['node:org-a', 'node:org-b', 'node:org-c']);
  chain.block([anchor(recordId, 3)]);
  auditTimes.push(chain.time);
  chain.block(
    [
      chain.tx('node:org-b', 'access.record', {
        events: [
          auditEvent(chain, {}),
          auditEvent(chain, {
            decision: 'deny',
            reason: 'no-consent',
            action: 'search',
            recordId: null,
            recordVersion: null,
            queryHash: sha256(utf8('q')),
          }),
        ],
      }),
    ],
    { timeStepMs: 60_000 },
  );
  chain.setValidators(['node:org-b', 'node:org-c', 'node:org-d']);
  // The second set signs from two heights after the block that wrote it.
  chain.block([]);
  const lateRecordId = idOf('record:late');
  chain.block([anchor(lateRecordId, 1)]);
  chain.block([chain.tx('patient:p1', 'consent.revoke', { consentId })]);
  const revokedHeight = chain.head().height;
  auditTimes.push(chain.time);
  chain.block(
    [
      chain.tx('node:org-b', 'access.record', {
        events: [auditEvent(chain, { decision: 'deny', reason: 'no-consent' })],
      }),
    ],
    { timeStepMs: 60_000 },
  );
  chain.block([
    chain.tx('node:org-a', 'record.erase', { recordId, version: 4, reasonCode: 'patient-request' }),
  ]);
  chain.block([]);
  chain.block([]);
  // A day and more later: the audit lag (24 h) has passed for every event above.
  chain.block([], { timeStepMs: 25 * 60 * 60 * 1000 });
  chain.block([]);
  return {
    chain,
    patientId,
    recordId,
    keptRecordId,
    lateRecordId,
    consentId,
    grantedHeight,
    revokedHeight,
    auditTimes,
  };
}
