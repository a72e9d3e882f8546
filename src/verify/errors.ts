/**
 * The verifier's one error: a code, the part of the bundle that failed (a JSON path such as
 * `headers[1].commit` or `claim.events[3]`, or `genesis`), and a message that says what was
 * expected and what was found.
 */
import { MedLedgerError } from '../base/index.ts';

/** Codes of `VerifyError`. */
export const VerifyErrorCode = {
  /** The bundle is not a well-formed bundle of this format and version (a field is wrong). */
  malformed: 'malformed',
  /** The genesis document is invalid, or the bundle is for another chain. */
  genesis: 'genesis',
  /** A header is not certified: its commit, its validator set or its place in the chain. */
  header: 'header',
  /** A validator-set transition does not verify, or one is missing. */
  transition: 'transition',
  /** A Merkle proof (history log, block, state) does not reconstruct the signed root. */
  proof: 'proof',
  /** A transaction does not verify (signature, chain, kind) or does not match the claim. */
  transaction: 'transaction',
  /** The proven values do not support the claim (wrong record, count, height, period). */
  claim: 'claim',
} as const;

export type VerifyErrorCode = (typeof VerifyErrorCode)[keyof typeof VerifyErrorCode];

/** A bundle that does not verify; `part` names where (a JSON path into the bundle). */
export class VerifyError extends MedLedgerError<VerifyErrorCode> {
  readonly part: string;
  /** For a disagreement between two parts: the other one (e.g. the claim's id vs a proof's key). */
  readonly otherPart: string | null;

  constructor(
    code: VerifyErrorCode,
    part: string,
    message: string,
    otherPart: string | null = null,
  ) {
    super(code, `${part}: ${message}`, { part, otherPart });
    this.part = part;
    this.otherPart = otherPart;
  }
}

/**
 * Runs `check`; any error it throws becomes a `VerifyError` of `code` at `part` (and
 * `otherPart`, when given as the third argument: the part the failure may equally lie in).
 */
export function within<T>(
  code: VerifyErrorCode,
  part: string,
  ...rest: [() => T] | [string, () => T]
): T {
  const otherPart = rest.length === 2 ? rest[0] : null;
  const check = rest.length === 2 ? rest[1] : rest[0];
  try {
    return check();
  } catch (error) {
    if (error instanceof VerifyError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new VerifyError(code, part, message, otherPart);
  }
}
