// The public surface of src/chain, curated by hand: chain objects, their encodings and their
// pure validation.
export { ChainError, ChainErrorCode } from './errors.ts';
export { chainLimits } from './limits.ts';
export {
  TransactionSchema,
  type Transaction,
  type UnsignedTransaction,
  ValidatorSchema,
  type Validator,
  ValidatorSetSchema,
  type ValidatorSet,
  BlockHeaderSchema,
  type BlockHeader,
  voteTypes,
  type VoteType,
  VoteSchema,
  type Vote,
  ProposalSchema,
  type Proposal,
  CommitSignatureSchema,
  type CommitSignature,
  CommitSchema,
  type Commit,
  BlockSchema,
  type Block,
} from './schemas.ts';
export {
  txSigningTag,
  txIdTag,
  transactionSigningHash,
  signTransaction,
  encodeTransaction,
  decodeTransaction,
  transactionId,
  transactionIdOfEncoding,
  assertValidTransaction,
  assertValidEncodedTransaction,
} from './transaction.ts';
export {
  validatorSetTag,
  makeValidatorSet,
  assertValidatorSet,
  validatorSetHash,
  totalPower,
  isQuorum,
  isOneThirdPlus,
  validatorIndexOf,
} from './validator-set.ts';
export {
  voteSigningTag,
  proposalSigningTag,
  type UnsignedVote,
  type UnsignedProposal,
  voteSigningHash,
  proposalSigningHash,
  signVote,
  signProposal,
  assertValidVote,
  assertValidProposal,
} from './vote.ts';
export { makeCommit, assertValidCommit } from './commit.ts';
export {
  blockHashTag,
  blockHash,
  transactionRoot,
  encodeBlock,
  decodeBlock,
  type BlockContext,
  type BlockCheckOptions,
  assertValidBlock,
} from './block.ts';
