/**
 * The encodings of chain objects (DESIGN.md "The chain"), as codec schemas: each object is the
 * deterministic CBOR array `[typeTag, version, ...fields]` (decision 0002). Field order here is
 * the encoding order and therefore part of the protocol: never reorder, add a version instead.
 */
import {
  type Infer,
  array,
  bytes,
  cborValue,
  defineObject,
  nullable,
  struct,
  text,
  textEnum,
  uint,
} from '../codec/index.ts';
import { ed25519PublicKeyBytes, ed25519SignatureBytes, hashBytes } from '../crypto/index.ts';
import { chainLimits } from './limits.ts';

const hash = () => bytes({ length: hashBytes });
const publicKey = () => bytes({ length: ed25519PublicKeyBytes });
const signature = () => bytes({ length: ed25519SignatureBytes });
const chainId = () => text({ bytesMin: 1, bytesMax: chainLimits.chainIdBytesMax });
const height = () => uint({ min: 1 });
const round = () => uint({ max: chainLimits.roundMax });

/**
 * A signed transaction: `kind` routes it to a contract, `body` is that contract's input (checked
 * by the contract), `nonce` is the signer's sequence number (replay protection), `signature`
 * covers `transactionSigningHash` (chain id, kind, body, signer, nonce).
 */
export const TransactionSchema = defineObject('Transaction', {
  version: 1,
  fields: {
    chainId: chainId(),
    kind: text({ bytesMin: 1, bytesMax: chainLimits.txKindBytesMax }),
    body: cborValue(),
    signer: publicKey(),
    nonce: uint(),
    signature: signature(),
  },
});
export type Transaction = Infer<typeof TransactionSchema>;

/** A transaction before it is signed. */
export type UnsignedTransaction = Omit<Transaction, 'signature'>;

/** One validator: its consensus public key and voting power (equal weights use 1). */
export const ValidatorSchema = struct({
  publicKey: publicKey(),
  power: uint({ min: 1, max: chainLimits.validatorPowerMax }),
});
export type Validator = Infer<typeof ValidatorSchema>;

/** A validator set, sorted by public key, with no key twice (checked by `assertValidatorSet`). */
export const ValidatorSetSchema = defineObject('ValidatorSet', {
  version: 1,
  fields: {
    validators: array(ValidatorSchema, { itemsMin: 1, itemsMax: chainLimits.validatorCountMax }),
  },
});
export type ValidatorSet = Infer<typeof ValidatorSetSchema>;

/** The block header of DESIGN.md; its hash is the block's hash. `time` is in Unix milliseconds. */
export const BlockHeaderSchema = defineObject('BlockHeader', {
  version: 1,
  fields: {
    chainId: chainId(),
    height: height(),
    time: uint(),
    prevHash: hash(),
    txRoot: hash(),
    stateRoot: hash(),
    logRoot: hash(),
    logSize: uint(),
    validatorsHash: hash(),
    proposer: publicKey(),
  },
});
export type BlockHeader = Infer<typeof BlockHeaderSchema>;

/** The vote types of Tendermint (Buchman, Kwon, Milosevic 2018, Algorithm 1). */
export const voteTypes = ['prevote', 'precommit'] as const;
export type VoteType = (typeof voteTypes)[number];

/**
 * A prevote or precommit for `blockHash` (or for nil, `null`) at `height` and `round`, by the
 * validator at `validatorIndex` in the height's validator set.
 */
export const VoteSchema = defineObject('Vote', {
  version: 1,
  fields: {
    type: textEnum(voteTypes),
    height: height(),
    round: round(),
    blockHash: nullable(hash()),
    validatorIndex: uint({ max: chainLimits.validatorCountMax - 1 }),
    signature: signature(),
  },
});
export type Vote = Infer<typeof VoteSchema>;

/**
 * A proposal of `blockHash` at `height` and `round` by the round's proposer; `validRound` is the
 * paper's `validRound` (the round of the polka that justifies re-proposing), `null` for −1.
 */
export const ProposalSchema = defineObject('Proposal', {
  version: 1,
  fields: {
    height: height(),
    round: round(),
    blockHash: hash(),
    validRound: nullable(round()),
    proposerIndex: uint({ max: chainLimits.validatorCountMax - 1 }),
    signature: signature(),
  },
});
export type Proposal = Infer<typeof ProposalSchema>;

/** One precommit signature inside a commit. */
export const CommitSignatureSchema = struct({
  validatorIndex: uint({ max: chainLimits.validatorCountMax - 1 }),
  signature: signature(),
});
export type CommitSignature = Infer<typeof CommitSignatureSchema>;

/**
 * The commit certificate of a block: precommits for `blockHash` at (`height`, `round`) from
 * validators holding more than 2/3 of the voting power (decision 0004), sorted by validator
 * index with no index twice.
 */
export const CommitSchema = defineObject('Commit', {
  version: 1,
  fields: {
    height: height(),
    round: round(),
    blockHash: hash(),
    signatures: array(CommitSignatureSchema, {
      itemsMin: 1,
      itemsMax: chainLimits.validatorCountMax,
    }),
  },
});
export type Commit = Infer<typeof CommitSchema>;

/** A block: its header, its transactions, and the commit of the previous block (none at 1). */
export const BlockSchema = defineObject('Block', {
  version: 1,
  fields: {
    header: BlockHeaderSchema,
    txs: array(TransactionSchema, { itemsMax: chainLimits.blockTxCountMax }),
    lastCommit: nullable(CommitSchema),
  },
});
export type Block = Infer<typeof BlockSchema>;
