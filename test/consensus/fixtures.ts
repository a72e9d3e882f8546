// Shared fixtures for the consensus tests: deterministic validators and a tiny in-memory driver.
import { utf8 } from '../../src/base/index.ts';
import {
  type Block,
  type Commit,
  type ValidatorSet,
  blockHash,
  signProposal,
  signVote,
  makeValidatorSet,
  transactionRoot,
  validatorSetHash,
} from '../../src/chain/index.ts';
import {
  type ConsensusAction,
  type ConsensusConfig,
  type ConsensusState,
  defaultConsensusTimeouts,
  startConsensus,
} from '../../src/consensus/index.ts';
import { type Ed25519KeyPair, ed25519KeyPairFromSeed, sha256 } from '../../src/crypto/index.ts';

export const chainId = 'medledger-consensus-test';
export const genesisHash = sha256(utf8('genesis of medledger-consensus-test'));
export const genesisTime = 1_700_000_000_000;

/** `count` validators of equal power, with key pairs in validator-set order. */
export function validators(count: number): { set: ValidatorSet; keyPairs: Ed25519KeyPair[] } {
  const pairs = Array.from({ length: count }, (_, i) =>
    ed25519KeyPairFromSeed(sha256(utf8(`consensus-test:${i}`))),
  );
  const set = makeValidatorSet(pairs.map((pair) => ({ publicKey: pair.publicKey, power: 1 })));
  const keyPairs = set.validators.map((v) =>
    pairs.find((p) => p.publicKey.every((b, i) => b === v.publicKey[i]))!,
  );
  return { set, keyPairs };
}

/** An (empty) block of `height` by `proposer`, distinguishable by `time`. */
export function blockAt(options: {
  height: number;
  set: ValidatorSet;
  proposer: Ed25519KeyPair;
  lastCommit: Commit | null;
  prevHash?: Uint8Array;
  time?: number;
}): Block {
  const empty = transactionRoot([]);
  return {
    header: {
      chainId,
      height: options.height,
      time: options.time ?? genesisTime + options.height * 1000,
      prevHash: options.prevHash ?? genesisHash,
      txRoot: empty,
      stateRoot: new Uint8Array(32),
      logRoot: empty,
      logSize: 0,
      validatorsHash: validatorSetHash(options.set),
      proposer: options.proposer.publicKey,
    },
    txs: [],
    lastCommit: options.lastCommit,
  };
}

export { blockHash };

/** A validator at height 1 with `keyPair` (or a follower with none), after its first actions. */
export function startValidator(options: {
  set: ValidatorSet;
  keyPair: Ed25519KeyPair | null;
  variant?: ConsensusConfig['testOnlyVariant'];
}): { state: ConsensusState; actions: ConsensusAction[] } {
  const config: ConsensusConfig = {
    chainId,
    keyPairs: options.keyPair === null ? [] : [options.keyPair],
    timeouts: defaultConsensusTimeouts,
    ...(options.variant === undefined ? {} : { testOnlyVariant: options.variant }),
  };
  return startConsensus({
    config,
    height: 1,
    validatorSets: new Map([
      [1, options.set],
      [2, options.set],
    ]),
    lastCommit: null,
    record: null,
  });
}

/** Actions of one kind. */
export function actionsOf<K extends ConsensusAction['kind']>(
  actions: readonly ConsensusAction[],
  kind: K,
): Array<Extract<ConsensusAction, { kind: K }>> {
  return actions.filter((a): a is Extract<ConsensusAction, { kind: K }> => a.kind === kind);
}

/** A signed vote by validator `index` of `validators(4)`-style key pairs. */
export function voteBy(options: {
  keyPairs: readonly Ed25519KeyPair[];
  index: number;
  type: 'prevote' | 'precommit';
  height?: number;
  round: number;
  blockHash: Uint8Array | null;
}) {
  return signVote({
    chainId,
    vote: {
      type: options.type,
      height: options.height ?? 1,
      round: options.round,
      blockHash: options.blockHash,
      validatorIndex: options.index,
    },
    keyPair: options.keyPairs[options.index]!,
  });
}

/** A proposal message by validator `index` for `block`. */
export function proposalBy(options: {
  keyPairs: readonly Ed25519KeyPair[];
  index: number;
  round: number;
  block: Block;
  validRound?: number | null;
}) {
  const proposal = signProposal({
    chainId,
    proposal: {
      height: options.block.header.height,
      round: options.round,
      blockHash: blockHash(options.block.header),
      validRound: options.validRound ?? null,
      proposerIndex: options.index,
    },
    keyPair: options.keyPairs[options.index]!,
  });
  return { kind: 'proposal' as const, proposal, block: options.block };
}

/** The votes broadcast in `actions`. */
export function broadcastVotes(actions: readonly ConsensusAction[]) {
  return actionsOf(actions, 'broadcast').flatMap((a) =>
    a.message.kind === 'vote' ? [a.message.vote] : [],
  );
}
