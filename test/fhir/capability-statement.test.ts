// Checks the CapabilityStatement: valid R4 (medplum's validator), FHIR 4.0.1, JSON formats, every
// supported type with its interactions and search parameters, and SMART-on-FHIR security.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { validateResource as medplumValidateResource } from '@medplum/core';

import {
  FhirError,
  capabilityStatement,
  chainViewResourceTypes,
  clinicalResourceTypes,
  loadDefinitions,
  oauthUrisExtensionUrl,
  searchParametersOf,
  supportedResourceTypes,
} from '../../src/fhir/index.ts';

const options = {
  baseUrl: 'https://node.example/fhir',
  software: { name: 'MedLedger', version: '0.1.0' },
  time: '2024-05-01T10:00:00Z',
};

test('a valid R4 CapabilityStatement listing every supported type', () => {
  const statement = capabilityStatement(options);
  loadDefinitions();
  assert.deepEqual(
    medplumValidateResource(statement).filter((issue) => issue.severity === 'error'),
    [],
  );
  assert.equal(statement.fhirVersion, '4.0.1');
  assert.deepEqual(statement.format, ['json', 'application/fhir+json']);
  assert.equal(statement.kind, 'instance');
  assert.equal(statement.date, options.time);
  const rest = statement.rest![0]!;
  assert.deepEqual(
    rest.resource?.map((resource) => resource.type).sort(),
    [...supportedResourceTypes].sort(),
  );
  assert.deepEqual(
    rest.interaction?.map((interaction) => interaction.code),
    ['transaction', 'batch'],
  );
  assert.match(rest.interaction?.[0]?.documentation ?? '', /Consent/);
});

test('clinical types have full CRUD and history; chain views only read and search', () => {
  const resources = capabilityStatement(options).rest![0]!.resource!;
  for (const type of clinicalResourceTypes) {
    const codes = resources
      .find((resource) => resource.type === type)!
      .interaction!.map((i) => i.code);
    for (const code of [
      'create',
      'read',
      'vread',
      'update',
      'delete',
      'history-instance',
      'search-type',
    ] as const) {
      assert.ok(codes.includes(code), `${type} ${code}`);
    }
  }
  for (const type of chainViewResourceTypes) {
    const codes = resources
      .find((resource) => resource.type === type)!
      .interaction!.map((i) => i.code);
    assert.deepEqual(codes, ['read', 'search-type'], type);
  }
});

test('search parameters are the ones the search accepts', () => {
  const resources = capabilityStatement(options).rest![0]!.resource!;
  for (const resource of resources) {
    const names = resource.searchParam!.map((parameter) => parameter.name);
    assert.deepEqual(names, [...searchParametersOf(resource.type).keys()]);
    assert.ok(names.includes('_id') && names.includes('_lastUpdated'), resource.type);
    for (const parameter of resource.searchParam!)
      assert.match(parameter.definition ?? '', /^http:\/\/hl7\.org\/fhir\/SearchParameter\//);
  }
  const observation = resources.find((resource) => resource.type === 'Observation')!;
  assert.ok(observation.searchInclude?.includes('Observation:subject'));
  assert.ok(observation.searchRevInclude?.includes('Provenance:target'));
});

test('security is SMART-on-FHIR with the token endpoint in the oauth-uris extension', () => {
  const security = capabilityStatement(options).rest![0]!.security!;
  assert.deepEqual(security.service?.[0]?.coding?.[0]?.code, 'SMART-on-FHIR');
  assert.equal(
    security.service?.[0]?.coding?.[0]?.system,
    'http://terminology.hl7.org/CodeSystem/restful-security-service',
  );
  const oauth = security.extension?.find((extension) => extension.url === oauthUrisExtensionUrl);
  assert.deepEqual(oauth?.extension, [
    { url: 'token', valueUri: 'https://node.example/auth/token' },
  ]);
  const explicit = capabilityStatement({
    ...options,
    tokenUrl: 'https://idp.example/token',
    authorizeUrl: 'https://idp.example/authorize',
  });
  assert.deepEqual(
    explicit.rest![0]!.security!.extension![0]!.extension!.map((extension) => [
      extension.url,
      extension.valueUri,
    ]),
    [
      ['token', 'https://idp.example/token'],
      ['authorize', 'https://idp.example/authorize'],
    ],
  );
  assert.throws(() => capabilityStatement({ ...options, time: 'yesterday' }), FhirError);
});
