/**
 * The votes of one height: for each round and vote type, at most one vote per validator (the
 * first valid one received), and the voting power behind each value. The upon-rules of
 * Algorithm 1 ask it "2f+1 ⟨PREVOTE, h, r, id(v)⟩", "2f+1 ⟨PRECOMMIT, h, r, ∗⟩" and "f+1
 * ⟨∗, h, r, ∗⟩" — here "2f+1" is strictly more than 2/3 of the voting power (decision 0004) and
 * "f+1" is more than 1/3.
 */
import { assert } from '../base/index.ts';
import {
  type ValidatorSet,
  type Vote,
  type VoteType,
  isOneThirdPlus,
  isQuorum,
  totalPower,
} from '../chain/index.ts';
import { valueKey } from './state.ts';

type RoundVotes = {
  /** The first vote of each validator. */
  readonly byValidator: Map<number, Vote>;
  /** The votes for each value, by validator: an equivocator counts for each value it signed. */
  readonly byValue: Map<string, Map<number, Vote>>;
  readonly powerByValue: Map<string, number>;
  /** Power of the distinct validators that voted at all (each counted once). */
  anyPower: number;
};

/** Values counted per validator per (round, type): its first vote and one conflicting vote. */
const valuesPerValidatorMax = 2;

type RoundEntry = {
  readonly prevote: RoundVotes;
  readonly precommit: RoundVotes;
  /** Validators that sent any message of this round (line 55), and their power. */
  readonly senders: Set<number>;
  senderPower: number;
};

function emptyRoundVotes(): RoundVotes {
  return { byValidator: new Map(), byValue: new Map(), powerByValue: new Map(), anyPower: 0 };
}

/** The result of adding a vote whose signature was checked. */
export type VoteAddResult =
  | { readonly kind: 'added' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'conflict'; readonly existing: Vote };

/** All votes of one height, under that height's validator set. */
export class HeightVotes {
  readonly total: number;
  private readonly rounds = new Map<number, RoundEntry>();
  /** Every (round, value) whose precommits reached a quorum, in the order they did (line 49). */
  readonly precommitQuorums: Array<{ readonly round: number; readonly key: string }> = [];

  constructor(readonly validatorSet: ValidatorSet) {
    this.total = totalPower(validatorSet);
  }

  private entry(round: number): RoundEntry {
    let entry = this.rounds.get(round);
    if (entry === undefined) {
      entry = {
        prevote: emptyRoundVotes(),
        precommit: emptyRoundVotes(),
        senders: new Set(),
        senderPower: 0,
      };
      this.rounds.set(round, entry);
    }
    return entry;
  }

  /** The vote already held from `validatorIndex` for (`round`, `type`), if any. */
  existing(options: { round: number; type: VoteType; validatorIndex: number }): Vote | undefined {
    return this.rounds.get(options.round)?.[options.type].byValidator.get(options.validatorIndex);
  }

  /** Records that `validatorIndex` sent a message of `round` (proposal or vote), for line 55. */
  markSender(round: number, validatorIndex: number): void {
    const entry = this.entry(round);
    if (entry.senders.has(validatorIndex)) return;
    const validator = this.validatorSet.validators[validatorIndex];
    assert(validator !== undefined, 'a sender is in the validator set');
    entry.senders.add(validatorIndex);
    entry.senderPower += validator.power;
  }

  /**
   * Adds `vote`, whose signature the caller checked. Each signed vote counts for its value, as
   * the paper counts messages; a validator's power counts once towards "any value". A second
   * value from one validator is reported as a conflict (equivocation); a third is dropped, which
   * bounds the memory an equivocator can take.
   */
  add(vote: Vote): VoteAddResult {
    const validator = this.validatorSet.validators[vote.validatorIndex];
    assert(validator !== undefined, 'a checked vote names a validator of the set');
    const votes = this.entry(vote.round)[vote.type];
    const key = valueKey(vote.blockHash);
    let voters = votes.byValue.get(key);
    if (voters?.has(vote.validatorIndex) === true) return { kind: 'duplicate' };
    const existing = votes.byValidator.get(vote.validatorIndex);
    if (existing !== undefined) {
      let values = 0;
      for (const other of votes.byValue.values()) if (other.has(vote.validatorIndex)) values++;
      if (values >= valuesPerValidatorMax) return { kind: 'conflict', existing };
    } else {
      votes.byValidator.set(vote.validatorIndex, vote);
      votes.anyPower += validator.power;
      this.markSender(vote.round, vote.validatorIndex);
    }
    if (voters === undefined) {
      voters = new Map();
      votes.byValue.set(key, voters);
    }
    voters.set(vote.validatorIndex, vote);
    const before = votes.powerByValue.get(key) ?? 0;
    const after = before + validator.power;
    votes.powerByValue.set(key, after);
    const wasQuorum = isQuorum({ power: before, total: this.total });
    if (vote.type === 'precommit' && key !== 'nil' && !wasQuorum) {
      if (isQuorum({ power: after, total: this.total })) {
        this.precommitQuorums.push({ round: vote.round, key });
      }
    }
    return existing === undefined ? { kind: 'added' } : { kind: 'conflict', existing };
  }

  /** True when the votes of (`round`, `type`) for value `key` are more than 2/3 of the power. */
  hasQuorumFor(round: number, type: VoteType, key: string): boolean {
    const power = this.rounds.get(round)?.[type].powerByValue.get(key) ?? 0;
    return isQuorum({ power, total: this.total });
  }

  /** True when the votes of (`round`, `type`) for any values are more than 2/3 of the power. */
  hasQuorumForAny(round: number, type: VoteType): boolean {
    const power = this.rounds.get(round)?.[type].anyPower ?? 0;
    return isQuorum({ power, total: this.total });
  }

  /** The lowest round above `round` from which more than 1/3 of the power sent messages. */
  roundToSkipTo(round: number): number | null {
    let best: number | null = null;
    for (const [candidate, entry] of this.rounds) {
      if (candidate <= round) continue;
      if (!isOneThirdPlus({ power: entry.senderPower, total: this.total })) continue;
      if (best === null || candidate > best) best = candidate;
    }
    return best;
  }

  /** The votes of (`round`, `type`) for value `key`, by validator index. */
  votesFor(round: number, type: VoteType, key: string): Vote[] {
    const voters = this.rounds.get(round)?.[type].byValue.get(key);
    if (voters === undefined) return [];
    return [...voters.values()].sort((a, b) => a.validatorIndex - b.validatorIndex);
  }
}
