// Checks state proofs over random histories (fast-check): at every committed height, every key
// ever written (and random absent keys) has an inclusion or non-inclusion proof that verifies
// against that height's root, and fails against a tampered value or another height's root.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { equalBytes, toHex } from '../../src/base/index.ts';
import { StateNamespace, proveStateAt, stateKey, u64Part } from '../../src/contracts/index.ts';
import { isStateProofValid, stateTreeEntries, stateTreeGet } from '../../src/merkle/index.ts';
import { Network, idOf, keyOf, provision } from './fixtures.ts';
import { hashTagged } from '../../src/crypto/index.ts';
import { utf8 } from '../../src/base/index.ts';

type Step =
  | { kind: 'enrol'; patient: number }
  | { kind: 'anchor'; patient: number; record: number }
  | { kind: 'grant'; patient: number; consent: number }
  | { kind: 'revoke'; patient: number; consent: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('enrol' as const), patient: fc.nat(3) }),
  fc.record({ kind: fc.constant('anchor' as const), patient: fc.nat(3), record: fc.nat(4) }),
  fc.record({ kind: fc.constant('grant' as const), patient: fc.nat(3), consent: fc.nat(4) }),
  fc.record({ kind: fc.constant('revoke' as const), patient: fc.nat(3), consent: fc.nat(4) }),
);

function txOf(net: Network, step: Step) {
  const patientId = idOf(`patient:${step.patient}`);
  switch (step.kind) {
    case 'enrol':
      return net.tx('node:org-a', 'identity.enrol-patient', {
        patientId,
        publicKey: keyOf(`patient:${step.patient}`).publicKey,
      });
    case 'anchor': {
      // Versions are whatever comes next in this history; a wrong guess fails, which is part of
      // the history too.
      return net.tx('node:org-a', 'record.anchor', {
        recordId: idOf(`record:${step.record}`),
        version: 1,
        resourceType: 'Observation',
        patientId,
        custodian: 'org-a',
        contentHash: hashTagged('test/content', utf8(`${step.record}`)),
        securityLabels: ['N'],
      });
    }
    case 'grant':
      return net.tx(`patient:${step.patient}`, 'consent.grant', {
        consentId: idOf(`consent:${step.consent}`),
        patientId,
        policyRule: 'OPTIN',
        provision: provision(step.consent % 2 === 0 ? 'permit' : 'deny'),
      });
    case 'revoke':
      return net.tx(`patient:${step.patient}`, 'consent.revoke', {
        consentId: idOf(`consent:${step.consent}`),
      });
  }
}

test('every key has a verifying inclusion or non-inclusion proof at every height', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(stepArb, { maxLength: 5 }), { minLength: 1, maxLength: 5 }),
      fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 3 }),
      (blocks, randomKeys) => {
        const net = new Network();
        for (const steps of blocks) net.block(steps.map((step) => txOf(net, step)));
        const keys = new Map<string, Uint8Array>();
        for (let height = 0; height <= net.height; height++) {
          for (const { key } of stateTreeEntries(net.history.stateAt(height)!))
            keys.set(toHex(key), key);
        }
        for (const key of randomKeys) keys.set(toHex(key), key);
        // Keys the layout would use but that were never written: non-inclusion at every height.
        keys.set('absent-consent', stateKey(StateNamespace.consent, idOf('consent:never')));
        keys.set(
          'absent-version',
          stateKey(StateNamespace.recordVersion, idOf('record:0'), u64Part(99)),
        );
        let inclusions = 0;
        let nonInclusions = 0;
        for (let height = 0; height <= net.height; height++) {
          const state = net.history.stateAt(height)!;
          for (const key of keys.values()) {
            const proven = proveStateAt({ history: net.history, height, key });
            const expected = stateTreeGet(state, key);
            assert.ok(
              proven.value === null
                ? expected === null
                : expected !== null && equalBytes(proven.value, expected),
            );
            assert.ok(
              isStateProofValid({
                rootHash: proven.rootHash,
                key,
                value: proven.value,
                proof: proven.proof,
              }),
              `height ${height}`,
            );
            if (proven.value === null) nonInclusions += 1;
            else inclusions += 1;
            // The invalid twins: a claimed value that differs, and another height's root.
            const tampered = proven.value === null ? new Uint8Array([1]) : null;
            assert.equal(
              isStateProofValid({
                rootHash: proven.rootHash,
                key,
                value: tampered,
                proof: proven.proof,
              }),
              false,
            );
            if (height > 0) {
              const previous = proveStateAt({ history: net.history, height: height - 1, key });
              const same =
                previous.value === null
                  ? proven.value === null
                  : proven.value !== null && equalBytes(previous.value, proven.value);
              if (!same) {
                assert.equal(
                  isStateProofValid({
                    rootHash: previous.rootHash,
                    key,
                    value: proven.value,
                    proof: proven.proof,
                  }),
                  false,
                );
              }
            }
          }
        }
        assert.ok(inclusions > 0 && nonInclusions > 0);
      },
    ),
    { numRuns: 25 },
  );
});

test('a height never committed cannot be proven', () => {
  const net = new Network();
  assert.throws(
    () => proveStateAt({ history: net.history, height: 5, key: new Uint8Array(32) }),
    /not committed/,
  );
});
