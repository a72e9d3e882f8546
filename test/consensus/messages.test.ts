// Checks the wire encoding of consensus messages: every kind round-trips byte for byte, and truncated, bit-flipped, mixed-up or foreign bytes are refused with ConsensusError.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import {
  type ConsensusMessage,
  ConsensusError,
  decodeConsensusMessage,
  encodeConsensusMessage,
} from '../../src/consensus/index.ts';
import { blockAt, proposalBy, validators, voteBy } from './fixtures.ts';

const { set, keyPairs } = validators(4);
const block = blockAt({ height: 1, set, proposer: keyPairs[1]!, lastCommit: null });
const samples: ConsensusMessage[] = [
  proposalBy({ keyPairs, index: 1, round: 0, block }),
  {
    kind: 'vote',
    vote: voteBy({ keyPairs, index: 0, type: 'precommit', round: 2, blockHash: null }),
  },
  { kind: 'status', height: 7, round: 3 },
];

test('every message kind round-trips through its encoding', () => {
  for (const message of samples) {
    const bytes = encodeConsensusMessage(message);
    assert.deepEqual(decodeConsensusMessage(bytes), message);
    assert.deepEqual(encodeConsensusMessage(decodeConsensusMessage(bytes)), bytes);
  }
});

test('malformed bytes are refused with ConsensusError, never another exception', () => {
  const encoded = samples.map(encodeConsensusMessage);
  fc.assert(
    fc.property(
      fc.nat(encoded.length - 1),
      fc.nat(),
      fc.nat(7),
      fc.boolean(),
      (which, at, bit, truncate) => {
        const bytes = new Uint8Array(encoded[which]!);
        const position = at % bytes.length;
        const mutated = truncate ? bytes.subarray(0, position) : bytes;
        if (!truncate) mutated[position] = mutated[position]! ^ (1 << bit);
        try {
          const decoded = decodeConsensusMessage(mutated);
          // A flip inside a signature or hash still decodes; it must then re-encode to itself.
          assert.deepEqual(encodeConsensusMessage(decoded), mutated);
        } catch (error) {
          assert.ok(error instanceof ConsensusError, `unexpected ${String(error)}`);
        }
      },
    ),
    { seed: 20261125, numRuns: 500 },
  );
});

test('a message whose fields do not match its kind is refused', () => {
  const vote = encodeConsensusMessage(samples[1]!);
  // Change the kind text "vote" to "stat"us-like garbage of the same length: still a text.
  const text = new TextDecoder().decode(vote);
  const at = text.indexOf('vote');
  const bytes = new Uint8Array(vote);
  bytes.set(new TextEncoder().encode('vota'), at);
  assert.throws(() => decodeConsensusMessage(bytes), ConsensusError);
  assert.throws(() => decodeConsensusMessage(new Uint8Array([0x80])), ConsensusError);
});
