/**
 * Value checks shared by the contracts: identifier and code patterns, SMART scopes, lists
 * without duplicates. Each throws `ContractError('invalid-value')` naming the field.
 */
import { ContractError } from './errors.ts';

/** Organisation, practitioner and client ids: lower-case slugs (`org-a`, `dr-17`). */
const identifierPattern = /^[a-z0-9][a-z0-9._-]*$/;
/** Codes (v3-ActReason, v3-ActCode, resource types, role codes): no spaces or control characters. */
const codePattern = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;
/**
 * SMART on FHIR v2 scopes `(patient|user|system)/(Type|*).[c][r][u][d][s]` with an optional
 * `?query` (granular scopes), and the v1 forms `.read`, `.write`, `.*`.
 */
const scopePattern =
  /^(patient|user|system)\/(\*|[A-Z][A-Za-z]+)\.(c?r?u?d?s?|read|write|\*)(\?[A-Za-z0-9_.:|=&%-]+)?$/;

export function checkIdentifier(field: string, value: string): void {
  if (!identifierPattern.test(value)) {
    throw new ContractError(
      'invalid-value',
      `${field}: expected a lower-case identifier (a-z, 0-9, '.', '_', '-'), found ${JSON.stringify(value)}`,
      { field },
    );
  }
}

export function checkCode(field: string, value: string): void {
  if (!codePattern.test(value)) {
    throw new ContractError(
      'invalid-value',
      `${field}: expected a code (letters, digits, '.', '_', ':', '/', '-'), found ${JSON.stringify(value)}`,
      { field },
    );
  }
}

export function checkCodes(field: string, values: readonly string[]): void {
  values.forEach((value, index) => checkCode(`${field}[${index}]`, value));
  checkDistinct(field, values);
}

export function checkScope(field: string, value: string): void {
  const match = scopePattern.exec(value);
  if (match === null || match[3] === '') {
    throw new ContractError(
      'invalid-value',
      `${field}: expected a SMART scope like "user/Observation.rs", found ${JSON.stringify(value)}`,
      { field },
    );
  }
}

/** Refuses a list with a value twice (its order would otherwise carry meaning). */
export function checkDistinct(field: string, values: readonly string[]): void {
  // Most lists hold one or two codes: compare them directly rather than build a set.
  if (values.length <= 4) {
    for (let i = 1; i < values.length; i++) {
      for (let j = 0; j < i; j++) if (values[i] === values[j]) throw duplicate(field, values[i]!);
    }
    return;
  }
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) throw duplicate(field, value);
    seen.add(value);
  }
}

function duplicate(field: string, value: string): ContractError {
  return new ContractError(
    'invalid-value',
    `${field}: expected distinct values, found ${JSON.stringify(value)} twice`,
    { field },
  );
}

/** Bytewise order of UTF-8 strings, the canonical order of id lists in the state. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
