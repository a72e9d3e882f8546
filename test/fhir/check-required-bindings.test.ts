// Checks the required-binding walker against the check it replaced (medplum's crawler visiting
// every element), on the synthetic population's resources with codes, extensions and contained
// resources changed at random (fast-check), and the case the crawler let through.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  OperationOutcomeError,
  crawlTypedValue,
  validateResource as medplumValidateResource,
  toTypedValue,
} from '@medplum/core';
import type { CodeableConcept, Coding, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import fc from 'fast-check';

import { checkRequiredBindings, loadDefinitions, valueSetCodes } from '../../src/fhir/index.ts';
import { generatePopulation } from '../../src/synthetic/index.ts';

loadDefinitions();

/** The crawler-based check (medplum's `crawlTypedValue`), as the walker's oracle. */
function crawlerBindingIssues(resource: Resource): string[] {
  const found: string[] = [];
  crawlTypedValue(toTypedValue(resource), {
    visitProperty(_parent, key, _path, propertyValues, schema) {
      const binding = schema.elements[key]?.binding;
      if (binding?.strength !== 'required' || binding.valueSet === undefined) return;
      const url = binding.valueSet.split('|')[0]!;
      const pairs = valueSetCodes(binding.valueSet);
      if (pairs === null) return;
      const codes = new Set([...pairs].map((pair) => pair.slice(pair.indexOf('|') + 1)));
      const inSet = (coding: Coding): boolean =>
        coding.code !== undefined &&
        (coding.system === undefined
          ? codes.has(coding.code)
          : pairs.has(`${coding.system}|${coding.code}`));
      for (const value of propertyValues.flat()) {
        if (value === undefined || value.value === undefined) continue;
        let bad = false;
        if (value.type === 'code') bad = typeof value.value === 'string' && !codes.has(value.value);
        else if (value.type === 'Coding') bad = !inSet(value.value as Coding);
        else if (value.type === 'CodeableConcept') {
          bad = !((value.value as CodeableConcept).coding ?? []).some(inSet);
        }
        if (bad) found.push(`${value.path} ${url}`);
      }
    },
  });
  return found.sort();
}

function walkerBindingIssues(resource: Resource): string[] {
  return checkRequiredBindings(resource)
    .map((issue) => {
      const url = /ValueSet (\S+) \(required binding\)/.exec(issue.diagnostics ?? '')?.[1];
      return `${issue.expression?.[0]} ${url}`;
    })
    .sort();
}

/** Whether medplum's structural validation passes (the walker runs only then). */
function isStructurallyValid(resource: Resource): boolean {
  try {
    return !medplumValidateResource(resource).some((issue: OperationOutcomeIssue) =>
      ['error', 'fatal'].includes(issue.severity ?? ''),
    );
  } catch (error) {
    if (error instanceof OperationOutcomeError) return false;
    throw error;
  }
}

const population = generatePopulation({
  seed: 23,
  patientCount: 12,
  organisations: [
    { id: 'st-mary', name: 'St Mary Hospital', kind: 'hospital' },
    { id: 'central-lab', name: 'Central Laboratory', kind: 'laboratory' },
  ],
});
const resources: Resource[] = population.patients.flatMap((patient) => [
  patient.resource as Resource,
  ...patient.records.map((record) => record.resource as Resource),
]);

/** Codes of several required ValueSets, and codes of none. */
const codePool = [
  'final',
  'preliminary',
  'amended',
  'active',
  'inactive',
  'completed',
  'entered-in-error',
  'male',
  'female',
  'unknown',
  'official',
  'usual',
  'home',
  'work',
  'phone',
  'email',
  'order',
  'plan',
  '<',
  '>=',
  'zz',
  'finalised',
  'http://loinc.org',
  'http://terminology.hl7.org/CodeSystem/condition-clinical',
];

/** Paths of every string in a JSON value, as property names and indexes. */
function stringLeaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'string') return [path];
  if (Array.isArray(value))
    return value.flatMap((item, index) => stringLeaves(item, [...path, index]));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => stringLeaves(item, [...path, key]));
  }
  return [];
}

function setAt(root: unknown, path: readonly (string | number)[], value: string): void {
  let parent = root as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  parent[path[path.length - 1]!] = value;
}

const codeArbitrary = fc.constantFrom(...codePool);
const extensionArbitrary = fc.oneof(
  codeArbitrary.map((code) => ({
    url: 'http://example.org/fhir/quantity',
    valueQuantity: { value: 1, comparator: code },
  })),
  codeArbitrary.map((code) => ({
    url: 'http://example.org/fhir/identifier',
    valueIdentifier: { use: code, value: 'x-1' },
  })),
  codeArbitrary.map((code) => ({
    url: 'http://example.org/fhir/contact',
    valueContactPoint: { system: code, value: '555' },
  })),
);
const containedArbitrary = codeArbitrary.map((code) => ({
  resourceType: 'Patient',
  id: 'contained-1',
  gender: code,
  name: [{ use: 'official', family: 'Doe' }],
}));

test('the walker finds exactly the crawler’s binding issues on changed synthetic resources', () => {
  let compared = 0;
  let withIssues = 0;
  fc.assert(
    fc.property(
      fc.nat(resources.length - 1),
      fc.array(fc.record({ leaf: fc.nat(), code: codeArbitrary }), { maxLength: 4 }),
      fc.option(extensionArbitrary),
      fc.option(containedArbitrary),
      (index, changes, extension, contained) => {
        const resource = structuredClone(resources[index]!) as Resource & Record<string, unknown>;
        const leaves = stringLeaves(resource).filter((path) => path[0] !== 'resourceType');
        for (const change of changes)
          setAt(resource, leaves[change.leaf % leaves.length]!, change.code);
        if (extension !== null) resource['extension'] = [extension];
        if (contained !== null) resource['contained'] = [contained];
        if (!isStructurallyValid(resource)) return;
        compared += 1;
        const expected = crawlerBindingIssues(resource);
        if (expected.length > 0) withIssues += 1;
        assert.deepEqual(walkerBindingIssues(resource), expected);
      },
    ),
    { numRuns: 400, seed: 80 },
  );
  // The comparison is worth something only if many cases got through and many had issues.
  assert.ok(compared >= 150, `only ${compared} of 400 cases were structurally valid`);
  assert.ok(withIssues >= 40, `only ${withIssues} compared cases had a binding issue`);
});

test('a code with a primitive extension is checked too (the crawler skipped it)', () => {
  const observation = {
    resourceType: 'Observation',
    status: 'finalised',
    _status: { extension: [{ url: 'http://example.org/fhir/note', valueString: 'typed by hand' }] },
    code: { text: 'Heart rate' },
    subject: { reference: 'Patient/123' },
  } as unknown as Resource;
  assert.ok(isStructurallyValid(observation));
  assert.deepEqual(crawlerBindingIssues(observation), []);
  const issues = checkRequiredBindings(observation);
  assert.equal(issues.length, 1);
  assert.deepEqual(issues[0]!.expression, ['Observation.status']);
  assert.match(
    issues[0]!.diagnostics!,
    /observation-status \(required binding\), found "finalised"/,
  );
  // Its valid twin.
  assert.deepEqual(checkRequiredBindings({ ...observation, status: 'final' } as Resource), []);
});
