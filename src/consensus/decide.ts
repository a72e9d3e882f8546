/**
 * Deciding a height (Algorithm 1, lines 49-54): precommits for one value from more than 2/3 of
 * the power in some round, and the value's block known and valid. The precommits become the
 * height's commit certificate; the machine moves to the next height at round 0.
 */
import { assert } from '../base/index.ts';
import { type Commit, isQuorum } from '../chain/index.ts';
import { enterHeight, startRound } from './start-round.ts';
import type { ConsensusAction, ConsensusState } from './state.ts';

/**
 * Decides the value `key` (line 49) with the precommits of `round` held in the vote book, or
 * with `certificate`, a verified commit received from a peer; then starts the next height
 * (line 54).
 */
export function decide(
  state: ConsensusState,
  actions: ConsensusAction[],
  options: { round: number; key: string } | { certificate: Commit; key: string },
): void {
  const value = state.blocks.get(options.key);
  assert(value !== undefined, 'a decided value is a known block');
  let commit: Commit;
  if ('certificate' in options) {
    commit = options.certificate;
  } else {
    const votes = state.votes.votesFor(options.round, 'precommit', options.key);
    let power = 0;
    for (const vote of votes)
      power += state.votes.validatorSet.validators[vote.validatorIndex]!.power;
    assert(
      isQuorum({ power, total: state.votes.total }),
      'a commit holds more than 2/3 of the power',
    );
    commit = {
      height: state.height,
      round: options.round,
      blockHash: value.hash,
      signatures: votes.map((vote) => ({
        validatorIndex: vote.validatorIndex,
        signature: vote.signature,
      })),
    };
  }
  const height = state.height;
  actions.push({ kind: 'commit-block', height, block: value.block, commit });
  state.lastCommit = commit;
  enterHeight(state, actions, height + 1);
  startRound(state, actions, 0);
}
