// The public surface of src/consensus, curated by hand: the Tendermint state machine (Buchman,
// Kwon, Milosevic 2018, Algorithm 1), its messages and their encoding, equivocation evidence
// and the signing record.
export {
  type ConsensusTimeouts,
  defaultConsensusTimeouts,
  consensusLimits,
  proposeTimeoutMs,
  prevoteTimeoutMs,
  precommitTimeoutMs,
} from './config.ts';
export { ConsensusError, ConsensusErrorCode } from './errors.ts';
export {
  type ConsensusMessage,
  type ProposalMessage,
  type VoteMessage,
  type StatusMessage,
  type DecisionMessage,
  encodeConsensusMessage,
  decodeConsensusMessage,
} from './messages.ts';
export {
  EvidenceSchema,
  type Evidence,
  duplicateVoteEvidence,
  duplicateProposalEvidence,
  verifyEvidence,
} from './evidence.ts';
export {
  signedSteps,
  type SignedStep,
  SigningRecordSchema,
  type SigningRecord,
  encodeSigningRecord,
  decodeSigningRecord,
  compareSigningPosition,
  recordedValue,
} from './signing-record.ts';
export {
  type Step,
  type ConsensusConfig,
  type ConsensusTimeout,
  type ConsensusEvent,
  type ConsensusAction,
  type ConsensusState,
  type KnownBlock,
} from './state.ts';
export { proposerIndexOf } from './proposer.ts';
export { type ConsensusStart, startConsensus } from './start-consensus.ts';
export { type ConsensusStep, stepConsensus } from './step-consensus.ts';
