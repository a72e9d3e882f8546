/**
 * Byzantine behaviours. A Byzantine node runs the ordinary state machine (so it looks like a
 * validator) and tampers with what leaves it: each outgoing signed message is, with the run's
 * probability, replaced by one of the behaviours below, signed with the node's real key and
 * without the signing record's guard.
 */
import { toHex } from '../base/index.ts';
import { type Block, type Vote, blockHash, signProposal, signVote } from '../chain/index.ts';
import { type ConsensusMessage, encodeConsensusMessage } from '../consensus/index.ts';
import type { Ed25519KeyPair } from '../crypto/index.ts';
import type { Prng } from './prng.ts';

/** The behaviours a Byzantine validator picks from. */
export const byzantineBehaviours = [
  'equivocate',
  'withhold',
  'vote-invalid',
  'malformed',
  'replay',
  'out-of-turn-proposal',
] as const;
export type ByzantineBehaviour = (typeof byzantineBehaviours)[number];

/** What the Byzantine validators share (they collude). */
export class Coalition {
  /** Invalid blocks a Byzantine proposer made, by `height:round`, that the coalition votes for. */
  readonly invalidBlocks = new Map<string, Uint8Array>();
  /** Recent messages seen on the network, for replay. */
  readonly replayPool: Uint8Array[] = [];
}

/** One delivery a Byzantine node asks the network for. */
export type ByzantineSend = {
  readonly to: readonly number[];
  readonly bytes: Uint8Array;
  readonly what: string;
};

/** A signed message without its signature, to sign again with changed fields. */
function withoutSignature<T extends { readonly signature: Uint8Array }>(
  signed: T,
): Omit<T, 'signature'> {
  const copy: Record<string, unknown> = { ...signed };
  delete copy.signature;
  return copy as Omit<T, 'signature'>;
}

function splitPeers(prng: Prng, peers: readonly number[]): [number[], number[]] {
  const left: number[] = [];
  const right: number[] = [];
  for (const peer of peers) (prng.chance(0.5) ? left : right).push(peer);
  return [left, right];
}

function conflictingVote(options: {
  vote: Vote;
  coalition: Coalition;
  prng: Prng;
  chainId: string;
  keyPair: Ed25519KeyPair;
}): Vote {
  const { vote, coalition, prng } = options;
  const invalid = coalition.invalidBlocks.get(`${vote.height}:${vote.round}`);
  const blockHash = vote.blockHash === null ? (invalid ?? prng.bytes(32)) : null;
  const unsigned = withoutSignature(vote);
  return signVote({
    chainId: options.chainId,
    vote: { ...unsigned, blockHash },
    keyPair: options.keyPair,
  });
}

function malformed(prng: Prng, bytes: Uint8Array): Uint8Array {
  switch (prng.below(3)) {
    case 0:
      return bytes.subarray(0, prng.below(bytes.length));
    case 1: {
      const copy = new Uint8Array(bytes);
      const at = prng.below(copy.length);
      copy[at] = copy[at]! ^ (1 << prng.below(8));
      return copy;
    }
    default:
      return prng.bytes(prng.between(0, 64));
  }
}

/**
 * What a Byzantine node sends instead of broadcasting `message` honestly to `peers`, using
 * `behaviour`. `proposalBlock` builds a block for an out-of-turn proposal.
 */
export function byzantineSends(options: {
  behaviour: ByzantineBehaviour;
  message: ConsensusMessage;
  peers: readonly number[];
  prng: Prng;
  coalition: Coalition;
  chainId: string;
  keyPair: Ed25519KeyPair;
  ownIndex: number;
  height: number;
  round: number;
  proposalBlock: () => Block;
}): ByzantineSend[] {
  const { behaviour, message, peers, prng, coalition, chainId, keyPair } = options;
  const honest = encodeConsensusMessage(message);
  const all = (bytes: Uint8Array, what: string): ByzantineSend => ({ to: peers, bytes, what });
  switch (behaviour) {
    case 'equivocate': {
      const [left, right] = splitPeers(prng, peers);
      if (message.kind === 'vote') {
        const other = conflictingVote({ vote: message.vote, coalition, prng, chainId, keyPair });
        return [
          { to: left, bytes: honest, what: 'equivocating vote (original half)' },
          {
            to: right,
            bytes: encodeConsensusMessage({ kind: 'vote', vote: other }),
            what: 'equivocating vote (conflicting half)',
          },
        ];
      }
      if (message.kind === 'proposal') {
        const block: Block = {
          ...message.block,
          header: {
            ...message.block.header,
            time: message.block.header.time + 1 + prng.below(1000),
          },
        };
        const unsigned = withoutSignature(message.proposal);
        const proposal = signProposal({
          chainId,
          proposal: { ...unsigned, blockHash: blockHash(block.header) },
          keyPair,
        });
        return [
          { to: left, bytes: honest, what: 'equivocating proposal (original half)' },
          {
            to: right,
            bytes: encodeConsensusMessage({ kind: 'proposal', proposal, block }),
            what: 'equivocating proposal (conflicting half)',
          },
        ];
      }
      return [all(honest, 'honest')];
    }
    case 'withhold':
      return [
        {
          to: peers.filter(() => prng.chance(0.3)),
          bytes: honest,
          what: 'withheld from most peers',
        },
      ];
    case 'vote-invalid': {
      if (message.kind !== 'vote') return [all(honest, 'honest')];
      const invalid = coalition.invalidBlocks.get(`${message.vote.height}:${message.vote.round}`);
      if (invalid === undefined) return [all(honest, 'honest')];
      const unsigned = withoutSignature(message.vote);
      const vote = signVote({ chainId, vote: { ...unsigned, blockHash: invalid }, keyPair });
      return [
        all(
          encodeConsensusMessage({ kind: 'vote', vote }),
          `${vote.type} for invalid block ${toHex(invalid).slice(0, 8)}`,
        ),
      ];
    }
    case 'malformed':
      return [all(malformed(prng, honest), 'malformed bytes')];
    case 'replay': {
      const pool = coalition.replayPool;
      const old = pool.length === 0 ? honest : prng.pick(pool);
      return [all(honest, 'honest'), all(old, 'replayed old message')];
    }
    case 'out-of-turn-proposal': {
      const block = options.proposalBlock();
      const proposal = signProposal({
        chainId,
        proposal: {
          height: options.height,
          round: options.round,
          blockHash: blockHash(block.header),
          validRound: null,
          proposerIndex: options.ownIndex,
        },
        keyPair,
      });
      return [
        all(honest, 'honest'),
        all(encodeConsensusMessage({ kind: 'proposal', proposal, block }), 'out-of-turn proposal'),
      ];
    }
  }
}
