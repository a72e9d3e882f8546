// Checks the Provenance view: the Provenance of a create, update and delete is valid R4 with the
// versioned target, agents, activity and an author signature whose JWS (detached payload over the
// RFC 8785 JSON of the target) verifies with jose and crypto/, and stops verifying when the target changes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Observation } from '@medplum/fhirtypes';
import canonicalize from 'canonicalize';
import { flattenedVerify, importJWK } from 'jose';

import { utf8 } from '../../src/base/index.ts';
import {
  ed25519KeyPairFromSeed,
  ed25519Sign,
  ed25519Verify,
  sha256,
} from '../../src/crypto/index.ts';
import { FhirViewError, fhirInstant } from '../../src/fhir/consent-resource.ts';
import {
  type ProvenanceActivity,
  authorSignatureType,
  provenanceForWrite,
  provenanceSignatureOf,
  provenanceSigningInput,
} from '../../src/fhir/provenance-resource.ts';
import { assertValidFhir } from '../synthetic/fhir-validation.ts';

const keyPair = ed25519KeyPairFromSeed(sha256(utf8('provenance-test-key')));
const header = { alg: 'EdDSA', kid: 'org-a/alice' };
const recordedMs = Date.UTC(2025, 0, 15, 9, 30);

function observation(versionId: string): Observation {
  return {
    resourceType: 'Observation',
    id: '0123456789abcdef0123456789abcdef',
    meta: { versionId, lastUpdated: '2025-01-15T09:30:00.000Z' },
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: 'Patient/fedcba9876543210fedcba9876543210' },
    effectiveDateTime: '2025-01-15T09:00:00Z',
    valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

function signedProvenance(target: Observation, activity: ProvenanceActivity) {
  const { signingInput } = provenanceSigningInput({ target, header });
  const signature = ed25519Sign({ message: signingInput, keyPair });
  return provenanceForWrite({
    target,
    activity,
    recordedMs,
    author: { orgId: 'org-a', practitionerId: 'alice' },
    custodian: 'org-a',
    header,
    signature,
  });
}

const base64Url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

for (const [activity, versionId] of [
  ['create', '1'],
  ['update', '2'],
  ['delete', '3'],
] as const) {
  test(`the Provenance of a ${activity} is valid R4 with target, agents and activity`, () => {
    const provenance = signedProvenance(observation(versionId), activity);
    assertValidFhir(provenance);
    assert.deepEqual(provenance.target, [
      { reference: `Observation/0123456789abcdef0123456789abcdef/_history/${versionId}` },
    ]);
    assert.equal(provenance.recorded, fhirInstant(recordedMs));
    assert.deepEqual(provenance.activity?.coding?.[0], {
      system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
      code: activity.toUpperCase(),
      display: activity,
    });
    const [author, assembler] = provenance.agent;
    assert.equal(author?.type?.coding?.[0]?.code, 'author');
    assert.deepEqual(author?.who, { reference: 'Practitioner/org-a--alice' });
    assert.deepEqual(author?.onBehalfOf, { reference: 'Organization/org-a' });
    assert.equal(assembler?.type?.coding?.[0]?.code, 'assembler');
    const [signature] = provenance.signature ?? [];
    assert.deepEqual(signature?.type, [
      {
        system: 'urn:iso-astm:E1762-95:2013',
        code: authorSignatureType,
        display: "Author's Signature",
      },
    ]);
    assert.equal(signature?.sigFormat, 'application/jose');
    assert.equal(signature?.targetFormat, 'application/fhir+json');
  });
}

test('the signature is a detached-payload JWS over the RFC 8785 JSON of the target (jose verifies it)', async () => {
  const target = observation('1');
  const provenance = signedProvenance(target, 'create');
  const jws = Buffer.from(provenance.signature![0]!.data!, 'base64').toString('utf8');
  const [protectedHeader, payload, signature] = jws.split('.');
  assert.equal(payload, '');
  assert.deepEqual(JSON.parse(Buffer.from(protectedHeader!, 'base64url').toString('utf8')), header);
  const key = await importJWK(
    { kty: 'OKP', crv: 'Ed25519', x: base64Url(keyPair.publicKey) },
    'EdDSA',
  );
  const canonical = canonicalize(target)!;
  const verified = await flattenedVerify(
    { protected: protectedHeader!, payload: base64Url(utf8(canonical)), signature: signature! },
    key,
  );
  assert.equal(new TextDecoder().decode(verified.payload), canonical);
  // The member order of the target does not matter: RFC 8785 sorts members.
  const reordered = Object.fromEntries(Object.entries(target).reverse()) as unknown as Observation;
  assert.deepEqual(
    provenanceSigningInput({ target: reordered, header }).signingInput,
    provenanceSigningInput({ target, header }).signingInput,
  );
});

test('provenanceSignatureOf gives what verifies; a changed target no longer does', () => {
  const target = observation('1');
  const provenance = signedProvenance(target, 'create');
  const parts = provenanceSignatureOf(provenance, target);
  assert.deepEqual(parts.header, header);
  assert.ok(ed25519Verify({ publicKey: keyPair.publicKey, ...parts, message: parts.signingInput }));
  const changed = { ...target, valueQuantity: { ...target.valueQuantity, value: 180 } };
  const tampered = provenanceSignatureOf(provenance, changed);
  assert.equal(
    ed25519Verify({
      publicKey: keyPair.publicKey,
      message: tampered.signingInput,
      signature: tampered.signature,
    }),
    false,
  );
  // Another version is not this Provenance's target at all.
  assert.throws(
    () => provenanceSignatureOf(provenance, observation('2')),
    (error: unknown) =>
      error instanceof FhirViewError && error.details.path === 'Provenance.target[0].reference',
  );
});

const refusals: Array<{ name: string; write: () => unknown; path: string }> = [
  {
    name: 'a target without version',
    write: () => provenanceSigningInput({ target: { ...observation('1'), meta: {} }, header }),
    path: 'target.meta.versionId',
  },
  {
    name: 'a target without id',
    write: () => provenanceSigningInput({ target: { ...observation('1'), id: undefined }, header }),
    path: 'target.id',
  },
  {
    name: 'an unsigned JWS',
    write: () => provenanceSigningInput({ target: observation('1'), header: { alg: 'none' } }),
    path: 'header.alg',
  },
  {
    name: 'a target that RFC 8785 cannot hold as given (a non-finite number)',
    write: () =>
      provenanceSigningInput({
        target: { ...observation('1'), valueQuantity: { value: Number.NaN } },
        header,
      }),
    path: 'target.valueQuantity.value',
  },
  {
    name: 'an empty signature',
    write: () =>
      provenanceForWrite({
        target: observation('1'),
        activity: 'create',
        recordedMs,
        author: { orgId: 'org-a', practitionerId: 'alice' },
        custodian: 'org-a',
        header,
        signature: new Uint8Array(0),
      }),
    path: 'signature',
  },
];

for (const { name, write, path } of refusals) {
  test(`refused: ${name} (${path})`, () => {
    assert.throws(
      write,
      (error: unknown) => error instanceof FhirViewError && error.details.path === path,
    );
  });
}
