/**
 * Receiving a message: the checks before a message may count in any upon-rule of Algorithm 1.
 * Messages for another height are dropped (a peer behind gets the decision it lacks instead);
 * rounds too far ahead are dropped (bounded memory); a proposal counts only from proposer(h, r)
 * (line 22) and only if the block it carries hashes to the signed value; every signature is
 * checked with Ed25519 before it counts; a second, different message from one signer for one
 * step is equivocation and becomes evidence.
 */
import { equalBytes } from '../base/index.ts';
import {
  type Vote,
  ChainError,
  assertValidCommit,
  assertValidProposal,
  assertValidVote,
  blockHash as hashOfBlock,
  encodeBlock,
} from '../chain/index.ts';
import { consensusLimits } from './config.ts';
import { duplicateProposalEvidence, duplicateVoteEvidence } from './evidence.ts';
import type { DecisionMessage, ProposalMessage, StatusMessage } from './messages.ts';
import { proposerIndexOf } from './proposer.ts';
import { type ConsensusAction, type ConsensusState, type KnownBlock, valueKey } from './state.ts';

function isChainErrorFrom(check: () => void): boolean {
  try {
    check();
    return false;
  } catch (error) {
    if (error instanceof ChainError) return true;
    throw error;
  }
}

function roundIsAcceptable(state: ConsensusState, round: number): boolean {
  return round <= state.round + consensusLimits.roundsAheadMax;
}

/**
 * Registers a block of this height and asks the application to check it. The block hash covers
 * the header only (decision 0005), so a peer can alter a block's `lastCommit` in transit without
 * breaking the proposal's signature: when a value is known invalid and another body with the
 * same hash arrives, that body is checked too (at most `revalidationsPerValueMax` times).
 */
export function learnBlock(
  state: ConsensusState,
  actions: ConsensusAction[],
  value: KnownBlock,
): void {
  const known = state.blocks.get(value.key);
  const validity = state.validity.get(value.key);
  if (known !== undefined && validity !== undefined) {
    if (validity !== 'invalid') return;
    const tries = state.revalidations.get(value.key) ?? 0;
    if (tries >= consensusLimits.revalidationsPerValueMax) return;
    if (equalBytes(encodeBlock(known.block), encodeBlock(value.block))) return;
    state.revalidations.set(value.key, tries + 1);
  }
  state.blocks.set(value.key, value);
  state.validity.set(value.key, 'pending');
  actions.push({
    kind: 'validate-block',
    height: state.height,
    blockHash: value.hash,
    block: value.block,
  });
}

/** ⟨PROPOSAL, h, r, v, vr⟩ from a peer. */
export function receiveProposal(
  state: ConsensusState,
  actions: ConsensusAction[],
  message: ProposalMessage,
): void {
  const { proposal, block } = message;
  if (proposal.height !== state.height || !roundIsAcceptable(state, proposal.round)) return;
  const validatorSet = state.votes.validatorSet;
  const expected = proposerIndexOf({
    validatorSet,
    height: proposal.height,
    round: proposal.round,
  });
  if (proposal.proposerIndex !== expected) return;
  const existing = state.proposals.get(proposal.round);
  if (existing !== undefined && equalBytes(existing.proposal.signature, proposal.signature)) {
    // The same signed proposal again, perhaps with another body (see `learnBlock`).
    const hash = hashOfBlock(block.header);
    if (equalBytes(hash, proposal.blockHash))
      learnBlock(state, actions, { block, hash, key: existing.key });
    return;
  }
  const chainId = state.config.chainId;
  if (isChainErrorFrom(() => assertValidProposal({ chainId, proposal, validatorSet }))) return;
  if (existing !== undefined) {
    const key = `proposal:${proposal.height}:${proposal.round}:${proposal.proposerIndex}`;
    if (!state.evidenceReported.has(key)) {
      state.evidenceReported.add(key);
      const validator = validatorSet.validators[proposal.proposerIndex]!.publicKey;
      const evidence = duplicateProposalEvidence({
        validator,
        first: existing.proposal,
        second: proposal,
      });
      actions.push({ kind: 'report-evidence', evidence });
    }
    return;
  }
  const hash = hashOfBlock(block.header);
  state.votes.markSender(proposal.round, proposal.proposerIndex);
  // A proposal whose block does not hash to the signed value is the proposer's fault; it still
  // shows that the proposer is in this round (line 55), but names no value anyone can vote for.
  if (!equalBytes(hash, proposal.blockHash)) return;
  const key = valueKey(hash);
  state.proposals.set(proposal.round, { ...message, key });
  learnBlock(state, actions, { block, hash, key });
}

/** Counts a vote whose signature is already checked; equivocation becomes evidence. */
export function countVote(state: ConsensusState, actions: ConsensusAction[], vote: Vote): void {
  const result = state.votes.add(vote);
  if (result.kind !== 'conflict') return;
  const key = `vote:${vote.type}:${vote.height}:${vote.round}:${vote.validatorIndex}`;
  if (state.evidenceReported.has(key)) return;
  state.evidenceReported.add(key);
  const validator = state.votes.validatorSet.validators[vote.validatorIndex]!.publicKey;
  actions.push({
    kind: 'report-evidence',
    evidence: duplicateVoteEvidence({ validator, first: result.existing, second: vote }),
  });
}

/** ⟨PREVOTE⟩ or ⟨PRECOMMIT⟩ from a peer. */
export function receiveVote(state: ConsensusState, actions: ConsensusAction[], vote: Vote): void {
  if (vote.height !== state.height || !roundIsAcceptable(state, vote.round)) return;
  const validatorSet = state.votes.validatorSet;
  if (vote.validatorIndex >= validatorSet.validators.length) return;
  const existing = state.votes.existing(vote);
  if (existing !== undefined && equalBytes(existing.signature, vote.signature)) return;
  const chainId = state.config.chainId;
  if (isChainErrorFrom(() => assertValidVote({ chainId, vote, validatorSet }))) return;
  countVote(state, actions, vote);
}

/**
 * A status from `peer`: when it is at a lower height, send it that height's decision (block
 * sync); when it is at a lower round of this height, send it our messages from its round on,
 * which is the gossip the paper's liveness proof assumes.
 */
export function receiveStatus(
  state: ConsensusState,
  actions: ConsensusAction[],
  options: { peer: string; status: StatusMessage },
): void {
  const { peer, status } = options;
  if (status.height < state.height) {
    actions.push({ kind: 'send-decision', peer, height: status.height });
    return;
  }
  if (status.height !== state.height || status.round >= state.round) return;
  const from = Math.max(status.round, state.round - consensusLimits.roundsAheadMax);
  for (let round = from; round <= state.round; round++) {
    for (const message of state.ownMessages.get(round) ?? [])
      actions.push({ kind: 'send', peer, message });
  }
}

/**
 * A decided block with its commit: the commit is checked (more than 2/3 of the height's power,
 * every signature); it is kept as a certificate for line 49, which decides once the application
 * has checked the block, and its precommits are counted like received ones.
 */
export function receiveDecision(
  state: ConsensusState,
  actions: ConsensusAction[],
  message: DecisionMessage,
): void {
  const { block, commit } = message;
  if (commit.height !== state.height || block.header.height !== state.height) return;
  const hash = hashOfBlock(block.header);
  const validatorSet = state.votes.validatorSet;
  const chainId = state.config.chainId;
  const height = state.height;
  if (
    isChainErrorFrom(() =>
      assertValidCommit({ chainId, commit, height, blockHash: hash, validatorSet }),
    )
  )
    return;
  const key = valueKey(hash);
  learnBlock(state, actions, { block, hash, key });
  if (!state.receivedCommits.has(key)) state.receivedCommits.set(key, commit);
  for (const entry of commit.signatures) {
    const vote: Vote = {
      type: 'precommit',
      height,
      round: commit.round,
      blockHash: commit.blockHash,
      validatorIndex: entry.validatorIndex,
      signature: entry.signature,
    };
    countVote(state, actions, vote);
  }
}
