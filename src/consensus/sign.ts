/**
 * Signing with double-sign protection. Every vote and proposal goes through here: it compares
 * (height, round, step) with the signing record, refuses anything at or below it that differs,
 * re-sends the recorded message when asked for the same one again, and otherwise signs, emits
 * `persist` with the new record and only then `broadcast` (DESIGN.md "Consensus": a validator
 * persists what it signs before sending it).
 */
import { equalBytes } from '../base/index.ts';
import {
  type Block,
  type VoteType,
  blockHash as hashOfBlock,
  signProposal,
  signVote,
} from '../chain/index.ts';
import type { Ed25519KeyPair } from '../crypto/index.ts';
import type { ConsensusMessage } from './messages.ts';
import { type SigningRecord, compareSigningPosition } from './signing-record.ts';
import { type ConsensusAction, type ConsensusState, type KnownBlock, valueKey } from './state.ts';

/** The key pair that signs for the current height, or null when not a validator here. */
export function ownKeyPair(state: ConsensusState): Ed25519KeyPair | null {
  if (state.ownIndex < 0) return null;
  const publicKey = state.votes.validatorSet.validators[state.ownIndex]!.publicKey;
  return state.config.keyPairs.find((pair) => equalBytes(pair.publicKey, publicKey)) ?? null;
}

/** Makes a `KnownBlock` of `block`. */
export function knownBlock(block: Block): KnownBlock {
  const hash = hashOfBlock(block.header);
  return { block, hash, key: valueKey(hash) };
}

function newRecord(
  state: ConsensusState,
  fields: Pick<SigningRecord, 'step' | 'vote' | 'proposal' | 'proposalBlock'>,
): SigningRecord {
  return {
    height: state.height,
    round: state.round,
    ...fields,
    lockedRound: state.lockedRound,
    lockedBlock: state.lockedBlock?.block ?? null,
    validRound: state.validRound,
    validBlock: state.validBlock?.block ?? null,
    validPolka:
      state.validBlock === null || state.validRound === null
        ? []
        : state.votes.votesFor(state.validRound, 'prevote', state.validBlock.key),
  };
}

function rememberOwn(state: ConsensusState, message: ConsensusMessage): void {
  const list = state.ownMessages.get(state.round) ?? [];
  list.push(message);
  state.ownMessages.set(state.round, list);
}

/**
 * Signs and sends ⟨type, h, round, blockHash⟩ (lines 24, 26, 30, 32, 40, 45, 59, 63), and counts
 * it in the own vote set. Returns false when the record forbids it (after a restart).
 */
export function signAndBroadcastVote(
  state: ConsensusState,
  actions: ConsensusAction[],
  options: { type: VoteType; blockHash: Uint8Array | null },
): boolean {
  const keyPair = ownKeyPair(state);
  if (keyPair === null) return false;
  const position = { height: state.height, round: state.round, step: options.type };
  const record = state.record;
  if (record !== null) {
    const order = compareSigningPosition(position, record);
    if (order < 0) return false;
    if (order === 0) {
      const same =
        record.vote !== null && valueKey(record.vote.blockHash) === valueKey(options.blockHash);
      if (same) actions.push({ kind: 'broadcast', message: { kind: 'vote', vote: record.vote } });
      return same;
    }
  }
  const vote = signVote({
    chainId: state.config.chainId,
    vote: {
      height: state.height,
      round: state.round,
      type: options.type,
      blockHash: options.blockHash,
      validatorIndex: state.ownIndex,
    },
    keyPair,
  });
  const message: ConsensusMessage = { kind: 'vote', vote };
  state.record = newRecord(state, {
    step: options.type,
    vote,
    proposal: null,
    proposalBlock: null,
  });
  actions.push({ kind: 'persist', record: state.record });
  actions.push({ kind: 'broadcast', message });
  rememberOwn(state, message);
  state.votes.add(vote);
  return true;
}

/** Signs and sends ⟨PROPOSAL, h, round, v, validRound⟩ (line 19); holds it as received. */
export function signAndBroadcastProposal(
  state: ConsensusState,
  actions: ConsensusAction[],
  options: { value: KnownBlock; validRound: number | null },
): boolean {
  const keyPair = ownKeyPair(state);
  if (keyPair === null) return false;
  const position = { height: state.height, round: state.round, step: 'proposal' as const };
  const record = state.record;
  if (record !== null && compareSigningPosition(position, record) <= 0) {
    const same =
      compareSigningPosition(position, record) === 0 &&
      record.proposal !== null &&
      equalBytes(record.proposal.blockHash, options.value.hash);
    if (same) {
      const message = {
        kind: 'proposal' as const,
        proposal: record.proposal,
        block: record.proposalBlock!,
      };
      actions.push({ kind: 'broadcast', message });
    }
    return same;
  }
  const proposal = signProposal({
    chainId: state.config.chainId,
    proposal: {
      height: state.height,
      round: state.round,
      blockHash: options.value.hash,
      validRound: options.validRound,
      proposerIndex: state.ownIndex,
    },
    keyPair,
  });
  const message = { kind: 'proposal' as const, proposal, block: options.value.block };
  state.record = newRecord(state, {
    step: 'proposal',
    vote: null,
    proposal,
    proposalBlock: options.value.block,
  });
  actions.push({ kind: 'persist', record: state.record });
  actions.push({ kind: 'broadcast', message });
  rememberOwn(state, message);
  if (options.validRound !== null) {
    // Line 28 needs 2f+1 prevotes for v in validRound at every receiver: send the ones held
    // (CometBFT gossips this "proof of lock change" with the proposal), since peers that lost
    // them could otherwise never accept the re-proposal.
    for (const vote of state.votes.votesFor(options.validRound, 'prevote', options.value.key)) {
      const justification: ConsensusMessage = { kind: 'vote', vote };
      actions.push({ kind: 'broadcast', message: justification });
      rememberOwn(state, justification);
    }
  }
  state.proposals.set(state.round, { ...message, key: options.value.key });
  state.blocks.set(options.value.key, options.value);
  state.validity.set(options.value.key, 'valid');
  state.votes.markSender(state.round, state.ownIndex);
  return true;
}
