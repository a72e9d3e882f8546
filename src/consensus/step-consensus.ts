/**
 * The state machine's one entry point for events: `stepConsensus(state, event)` handles the
 * event, fires the upon-rules of Algorithm 1 until none applies, and returns the actions for the
 * driver. Deterministic and free of I/O, clocks and randomness: the same state and event give
 * the same actions on every machine. For speed the state is updated in place and returned;
 * callers keep only the returned state.
 */
import { assert, equalBytes } from '../base/index.ts';
import type { ValidatorSet } from '../chain/index.ts';
import { consensusLimits } from './config.ts';
import { receiveDecision, receiveProposal, receiveStatus, receiveVote } from './receive-message.ts';
import { knownBlock, signAndBroadcastProposal } from './sign.ts';
import { isOwnTurn } from './start-round.ts';
import type { ConsensusAction, ConsensusEvent, ConsensusState } from './state.ts';
import { onTimeout } from './on-timeout.ts';
import { applyUponRules } from './upon-rules.ts';
import { valueKey } from './state.ts';

/** The result of one step: the (same, updated) state and the actions to perform in order. */
export type ConsensusStep = { readonly state: ConsensusState; readonly actions: ConsensusAction[] };

function scheduleValidatorSet(
  state: ConsensusState,
  options: { height: number; change: ValidatorSet | null },
): void {
  const effective = options.height + consensusLimits.validatorSetChangeDelayHeights;
  const previous = state.validatorSets.get(effective - 1);
  assert(
    previous !== undefined,
    `the validator set of height ${effective - 1} is known when ${options.height} is applied`,
  );
  state.validatorSets.set(effective, options.change ?? previous);
  state.appliedHeight = options.height;
}

/** Handles one event (see `ConsensusEvent`) and returns the actions it causes. */
export function stepConsensus(state: ConsensusState, event: ConsensusEvent): ConsensusStep {
  const actions: ConsensusAction[] = [];
  switch (event.kind) {
    case 'message': {
      const { message } = event;
      switch (message.kind) {
        case 'proposal':
          receiveProposal(state, actions, message);
          break;
        case 'vote':
          receiveVote(state, actions, message.vote);
          break;
        case 'status':
          receiveStatus(state, actions, { peer: event.peer, status: message });
          break;
        case 'decision':
          receiveDecision(state, actions, message);
          break;
      }
      break;
    }
    case 'timeout':
      onTimeout(state, actions, event.timeout);
      break;
    case 'block-validated': {
      const key = valueKey(event.blockHash);
      if (event.height === state.height && state.validity.get(key) === 'pending') {
        state.validity.set(key, event.valid ? 'valid' : 'invalid');
      }
      break;
    }
    case 'value-ready': {
      // Line 19: broadcast ⟨PROPOSAL, h, round, getValue(), −1⟩, if still this round's proposer.
      if (event.height !== state.height || event.round !== state.round || !isOwnTurn(state)) break;
      const value = knownBlock(event.block);
      assert(
        event.block.header.height === state.height,
        'the application builds a block of this height',
      );
      const proposed = state.proposals.get(state.round);
      if (proposed !== undefined && equalBytes(proposed.proposal.blockHash, value.hash)) break;
      signAndBroadcastProposal(state, actions, { value, validRound: null });
      break;
    }
    case 'block-applied':
      scheduleValidatorSet(state, { height: event.height, change: event.validatorSetChange });
      break;
  }
  applyUponRules(state, actions);
  return { state, actions };
}
