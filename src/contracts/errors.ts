/**
 * The contracts' one error type (STYLE.md "Errors"): a stable code, a message that says what was
 * expected and what was found, and a typed payload. A transaction that throws a `ContractError`
 * fails atomically and its receipt carries the code.
 */
import { MedLedgerError } from '../base/index.ts';

/** Codes of `ContractError`, as they appear in receipts and in the `tx-result` state entries. */
export const ContractErrorCode = {
  /** The transaction's kind names no contract. */
  unknownKind: 'unknown-kind',
  /** The body does not match the kind's schema. */
  malformedBody: 'malformed-body',
  /** A field has the right type but a value the contract refuses (pattern, range, duplicates). */
  invalidValue: 'invalid-value',
  /** The nonce is not the signer's next one (a replay, or a gap). */
  badNonce: 'bad-nonce',
  /** The signer is not allowed to do this action. */
  unauthorised: 'unauthorised',
  /** A referenced object (member, patient, record, consent, proposal…) does not exist. */
  notFound: 'not-found',
  /** The object to create exists already. */
  alreadyExists: 'already-exists',
  /** A record version that is not the next one. */
  versionOutOfOrder: 'version-out-of-order',
  /** The record was erased: its history is closed. */
  recordErased: 'record-erased',
  /** The object is not in a state that allows the action (revoked consent, removed member…). */
  wrongStatus: 'wrong-status',
  /** A member votes a second time on one proposal. */
  alreadyVoted: 'already-voted',
  /** A vote after the proposal's last height. */
  proposalExpired: 'proposal-expired',
  /** The transaction used more than `contractLimits.txCostMax` cost units. */
  costExceeded: 'cost-exceeded',
  /** A bounded list (consents of a patient, delegates, pending changes) is full. */
  limitExceeded: 'limit-exceeded',
  /** A genesis document that cannot start a chain. */
  invalidGenesis: 'invalid-genesis',
  /** A block context that does not follow the state's last block (a node bug, not a tx error). */
  wrongBlock: 'wrong-block',
  /** A query argument out of range. */
  invalidQuery: 'invalid-query',
  /**
   * A security log head whose size is not above the organisation's last anchored one (a replay
   * or a rewind of the log; decision 0063).
   */
  logSizeNotIncreasing: 'log-size-not-increasing',
} as const;

export type ContractErrorCode = (typeof ContractErrorCode)[keyof typeof ContractErrorCode];

/** What a contract refused, and why. */
export class ContractError extends MedLedgerError<ContractErrorCode> {}
