import { MedLedgerError } from '../base/index.ts';

/** Codes of `ChainError`: the first thing found wrong in a chain object. */
export const ChainErrorCode = {
  wrongChain: 'wrong-chain',
  badSignature: 'bad-signature',
  badField: 'bad-field',
  tooLarge: 'too-large',
  wrongHeight: 'wrong-height',
  wrongRound: 'wrong-round',
  wrongPrevHash: 'wrong-prev-hash',
  wrongTime: 'wrong-time',
  wrongTxRoot: 'wrong-tx-root',
  wrongValidatorsHash: 'wrong-validators-hash',
  unknownProposer: 'unknown-proposer',
  unknownValidator: 'unknown-validator',
  duplicateSignature: 'duplicate-signature',
  duplicateTransaction: 'duplicate-transaction',
  wrongBlockHash: 'wrong-block-hash',
  noQuorum: 'no-quorum',
  missingCommit: 'missing-commit',
  unexpectedCommit: 'unexpected-commit',
} as const;

export type ChainErrorCode = (typeof ChainErrorCode)[keyof typeof ChainErrorCode];

/** The first thing wrong with a transaction, vote, commit, header or block. */
export class ChainError extends MedLedgerError<ChainErrorCode> {}
