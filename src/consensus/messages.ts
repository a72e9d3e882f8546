/**
 * The messages validators exchange (Tendermint, Buchman, Kwon, Milosevic 2018, Algorithm 1:
 * ⟨PROPOSAL, h, r, v, validRound⟩, ⟨PREVOTE, h, r, id(v)⟩, ⟨PRECOMMIT, h, r, id(v)⟩) plus two for
 * catching up (a status and a decided block with its commit), and their wire encoding: one
 * canonical CBOR array, strictly decoded, so a malformed message is refused before it reaches the
 * state machine.
 */
import { type Infer, CodecError, array, nullable, struct, textEnum, uint } from '../codec/index.ts';
import {
  type Block,
  type Commit,
  type Proposal,
  type Vote,
  BlockSchema,
  CommitSchema,
  ProposalSchema,
  VoteSchema,
  chainLimits,
} from '../chain/index.ts';
import { ConsensusError } from './errors.ts';

/** A proposal: the signed ⟨PROPOSAL⟩ and the full block it names (`blockHash(block.header)`). */
export type ProposalMessage = {
  readonly kind: 'proposal';
  readonly proposal: Proposal;
  readonly block: Block;
};

/** A signed prevote or precommit. */
export type VoteMessage = { readonly kind: 'vote'; readonly vote: Vote };

/**
 * Where the sender is: its height and round. A peer ahead answers with the decision of that
 * height, or with its own messages of that round (the gossip the paper assumes).
 */
export type StatusMessage = {
  readonly kind: 'status';
  readonly height: number;
  readonly round: number;
};

/** A decided block with its commit certificate, for a peer that is behind (block sync). */
export type DecisionMessage = {
  readonly kind: 'decision';
  readonly block: Block;
  readonly commit: Commit;
};

/** Every message of the consensus protocol. */
export type ConsensusMessage = ProposalMessage | VoteMessage | StatusMessage | DecisionMessage;

const messageKinds = ['proposal', 'vote', 'status', 'decision'] as const;

/** The wire form: `[kind, proposal?, block?, vote?, commit?, [height, round]?]`. */
const WireSchema = struct({
  kind: textEnum(messageKinds),
  proposal: nullable(ProposalSchema),
  block: nullable(BlockSchema),
  vote: nullable(VoteSchema),
  commit: nullable(CommitSchema),
  status: nullable(array(uint({ max: chainLimits.integerMax }), { itemsMin: 2, itemsMax: 2 })),
});
type Wire = Infer<typeof WireSchema>;

/** The canonical bytes of `message`. */
export function encodeConsensusMessage(message: ConsensusMessage): Uint8Array {
  const empty = { proposal: null, block: null, vote: null, commit: null, status: null };
  let wire: Wire;
  switch (message.kind) {
    case 'proposal':
      wire = { ...empty, kind: 'proposal', proposal: message.proposal, block: message.block };
      break;
    case 'vote':
      wire = { ...empty, kind: 'vote', vote: message.vote };
      break;
    case 'status':
      wire = { ...empty, kind: 'status', status: [message.height, message.round] };
      break;
    case 'decision':
      wire = { ...empty, kind: 'decision', block: message.block, commit: message.commit };
      break;
  }
  return WireSchema.encode(wire);
}

function bad(why: string): ConsensusError {
  return new ConsensusError('bad-message', why);
}

/**
 * Strictly decodes a message: the codec checks every field's type and bounds, and this checks
 * that exactly the fields of the message's kind are present. Throws `ConsensusError`.
 */
export function decodeConsensusMessage(bytes: Uint8Array): ConsensusMessage {
  let wire: Wire;
  try {
    wire = WireSchema.decode(bytes);
  } catch (error) {
    if (error instanceof CodecError) throw bad(`malformed consensus message: ${error.message}`);
    throw error;
  }
  const present = (['proposal', 'block', 'vote', 'commit', 'status'] as const).filter(
    (field) => wire[field] !== null,
  );
  const expected = {
    proposal: ['proposal', 'block'],
    vote: ['vote'],
    status: ['status'],
    decision: ['block', 'commit'],
  }[wire.kind];
  if (present.join(',') !== expected.join(',')) {
    throw bad(
      `a ${wire.kind} message carries [${present.join(', ')}], expected [${expected.join(', ')}]`,
    );
  }
  switch (wire.kind) {
    case 'proposal':
      return { kind: 'proposal', proposal: wire.proposal!, block: wire.block! };
    case 'vote':
      return { kind: 'vote', vote: wire.vote! };
    case 'status':
      return { kind: 'status', height: wire.status![0]!, round: wire.status![1]! };
    case 'decision':
      return { kind: 'decision', block: wire.block!, commit: wire.commit! };
  }
}
