/**
 * The one base class for MedLedger's domain errors (STYLE.md "Errors"): a stable code from an
 * `as const` object, a message that says what was expected and what was found, and a typed
 * payload for callers that need the details.
 */
export class MedLedgerError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: Code, message: string, details: Readonly<Record<string, unknown>> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** Thrown by `assert`: a programmer error or corrupted state, never bad input. */
export class AssertionFailedError extends Error {
  constructor(why: string) {
    super(`assertion failed: ${why}`);
    this.name = 'AssertionFailedError';
  }
}

/**
 * Checks an invariant that only a bug can break (TIGER_STYLE). Stays on in production: a node
 * must stop rather than run on with corrupted state. One condition per call.
 */
export function assert(condition: boolean, why: string): asserts condition {
  if (!condition) throw new AssertionFailedError(why);
}
