/**
 * FHIR errors and OperationOutcome builders. Every 4xx/5xx answer of the FHIR API is an
 * OperationOutcome whose IssueType matches its HTTP status as `shared/CONVENTIONS.md` maps them
 * (FHIR R4 operationoutcome.html, valueset-issue-type.html, http.html#summary); unknown exceptions
 * become 500 `exception` without their message or stack (STYLE.md "Errors").
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

import { MedLedgerError, assert } from '../base/index.ts';

/** The IssueType codes (FHIR R4 valueset-issue-type.html) the FHIR API answers errors with. */
export const FhirIssueType = {
  invalid: 'invalid',
  structure: 'structure',
  required: 'required',
  value: 'value',
  login: 'login',
  expired: 'expired',
  forbidden: 'forbidden',
  notFound: 'not-found',
  conflict: 'conflict',
  deleted: 'deleted',
  businessRule: 'business-rule',
  throttled: 'throttled',
  exception: 'exception',
  /** A peer or dependency failed for now; the request may succeed later (502, 503). */
  transient: 'transient',
} as const;

export type FhirIssueType = (typeof FhirIssueType)[keyof typeof FhirIssueType];

/** HTTP statuses of FHIR errors. */
export type FhirErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 412 | 422 | 429 | 500 | 502 | 503;

/** The IssueTypes allowed with each status (CONVENTIONS.md "FHIR R4 REST"). */
export const fhirIssueTypesOfStatus: Readonly<Record<FhirErrorStatus, readonly FhirIssueType[]>> = {
  400: ['invalid', 'structure', 'required', 'value'],
  401: ['login', 'expired'],
  403: ['forbidden'],
  404: ['not-found'],
  409: ['conflict'],
  410: ['deleted'],
  412: ['conflict'],
  422: ['business-rule'],
  429: ['throttled'],
  500: ['exception'],
  // Beyond CONVENTIONS.md's list: a custodian's node that does not answer (503) or answers
  // with a record that does not match its anchor (502).
  502: ['exception'],
  503: ['transient'],
};

/** The status of each IssueType when none is given (`conflict` is 409; 412 is asked for). */
export const fhirStatusOfIssueType: Readonly<Record<FhirIssueType, FhirErrorStatus>> = {
  invalid: 400,
  structure: 400,
  required: 400,
  value: 400,
  login: 401,
  expired: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  deleted: 410,
  'business-rule': 422,
  throttled: 429,
  exception: 500,
  transient: 503,
};

/** Options of `FhirError`. */
export interface FhirErrorOptions {
  /** The HTTP status; defaults to `fhirStatusOfIssueType[code]`. Must be allowed for the code. */
  readonly status?: FhirErrorStatus;
  /** FHIRPath expressions of the elements at fault (`Observation.status`). */
  readonly expression?: readonly string[];
  /** More issues to report with the first (validation reports all it found). */
  readonly issues?: readonly OperationOutcomeIssue[];
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * A FHIR request refused with an HTTP status and an OperationOutcome. The message is shown to the
 * client as the issue's `diagnostics`, so it names what was expected and what was found, and never
 * carries protected health information.
 */
export class FhirError extends MedLedgerError<FhirIssueType> {
  readonly status: FhirErrorStatus;
  readonly issues: readonly OperationOutcomeIssue[];

  constructor(code: FhirIssueType, message: string, options: FhirErrorOptions = {}) {
    super(code, message, options.details ?? {});
    const status = options.status ?? fhirStatusOfIssueType[code];
    assert(
      fhirIssueTypesOfStatus[status].includes(code),
      `IssueType ${code} is not allowed with HTTP status ${status}`,
    );
    this.status = status;
    const first: OperationOutcomeIssue = {
      severity: status === 500 ? 'fatal' : 'error',
      code,
      diagnostics: message,
      ...(options.expression !== undefined && options.expression.length > 0
        ? { expression: [...options.expression] }
        : {}),
    };
    this.issues = [first, ...(options.issues ?? [])];
  }

  /** The OperationOutcome body of this error. */
  toOperationOutcome(): OperationOutcome {
    return operationOutcome(this.issues);
  }
}

/** An OperationOutcome with the given issues (FHIR R4 operationoutcome.html). */
export function operationOutcome(issues: readonly OperationOutcomeIssue[]): OperationOutcome {
  assert(issues.length > 0, 'an OperationOutcome has at least one issue');
  return { resourceType: 'OperationOutcome', issue: issues.map((issue) => ({ ...issue })) };
}

/** An `information` outcome, for successful interactions that answer with a message (delete). */
export function informationOutcome(message: string): OperationOutcome {
  return operationOutcome([
    { severity: 'information', code: 'informational', diagnostics: message },
  ]);
}

/**
 * The issue that says results were withheld (IssueType `suppressed`, FHIR R4
 * valueset-issue-type.html): added where break-glass could reveal them (CONVENTIONS.md
 * "Break-glass"). It carries no count, so it does not say how many rows are hidden.
 */
export function suppressedIssue(
  message = 'some results were withheld by consent or security labels; break-glass could reveal them',
): OperationOutcomeIssue {
  return { severity: 'information', code: 'suppressed', diagnostics: message };
}

/** A FHIR error with status 412 and IssueType `conflict` (FHIR R4 http.html#concurrency). */
export function preconditionFailed(message: string): FhirError {
  return new FhirError('conflict', message, { status: 412 });
}

/**
 * Any thrown value as a status and an OperationOutcome: a `FhirError` as itself, anything else as
 * 500 `exception` with a fixed message, so no stack, message or internal detail reaches a client.
 */
export function outcomeOfError(error: unknown): {
  status: FhirErrorStatus;
  outcome: OperationOutcome;
} {
  if (error instanceof FhirError)
    return { status: error.status, outcome: error.toOperationOutcome() };
  return {
    status: 500,
    outcome: operationOutcome([
      { severity: 'fatal', code: 'exception', diagnostics: 'internal error' },
    ]),
  };
}
