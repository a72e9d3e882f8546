import { MedLedgerError } from '../base/index.ts';

/** Codes of `ConsensusError`. */
export const ConsensusErrorCode = {
  badMessage: 'bad-message',
  badEvidence: 'bad-evidence',
  badRecord: 'bad-record',
  badStart: 'bad-start',
} as const;

export type ConsensusErrorCode = (typeof ConsensusErrorCode)[keyof typeof ConsensusErrorCode];

/** A consensus input that is wrong: a malformed message, evidence that does not hold, a bad start. */
export class ConsensusError extends MedLedgerError<ConsensusErrorCode> {}
