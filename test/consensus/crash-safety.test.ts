// Checks double-sign protection: the signing record round-trips, and a validator restarted from it (after crashing between any two actions, driven by fast-check) never sends two different values for one (height, round, step) and keeps its lock.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { toHex } from '../../src/base/index.ts';
import { BlockSchema, ProposalSchema, VoteSchema } from '../../src/chain/index.ts';
import { array, nullable, struct, textEnum, uint } from '../../src/codec/index.ts';
import {
  type ConsensusAction,
  type ConsensusEvent,
  type ConsensusState,
  type SigningRecord,
  ConsensusError,
  SigningRecordSchema,
  decodeSigningRecord,
  defaultConsensusTimeouts,
  encodeSigningRecord,
  startConsensus,
  stepConsensus,
} from '../../src/consensus/index.ts';
import {
  actionsOf,
  blockAt,
  blockHash,
  broadcastVotes,
  chainId,
  proposalBy,
  validators,
  voteBy,
} from './fixtures.ts';

const { set, keyPairs } = validators(4);
const block = blockAt({ height: 1, set, proposer: keyPairs[1]!, lastCommit: null });
const hash = blockHash(block.header);
const otherBlock = blockAt({
  height: 1,
  set,
  proposer: keyPairs[2]!,
  lastCommit: null,
  time: 1_700_000_007_777,
});

function start(record: SigningRecord | null) {
  return startConsensus({
    config: { chainId, keyPairs: [keyPairs[0]!], timeouts: defaultConsensusTimeouts },
    height: 1,
    validatorSets: new Map([
      [1, set],
      [2, set],
    ]),
    lastCommit: null,
    record,
  });
}

function lastPersisted(actions: readonly ConsensusAction[]): SigningRecord {
  const persisted = actionsOf(actions, 'persist');
  return persisted[persisted.length - 1]!.record;
}

/** Validator 0 after prevoting `block` in round 0: its state and the prevote's actions. */
function prevoted(): { state: ConsensusState; actions: readonly ConsensusAction[] } {
  const { state } = start(null);
  stepConsensus(state, {
    kind: 'message',
    peer: 'p',
    message: proposalBy({ keyPairs, index: 1, round: 0, block }),
  });
  const { actions } = stepConsensus(state, {
    kind: 'block-validated',
    height: 1,
    blockHash: hash,
    valid: true,
  });
  return { state, actions };
}

/** Validator 0 after prevoting `block` in round 0; returns its persisted record. */
function prevotedRecord(): SigningRecord {
  return lastPersisted(prevoted().actions);
}

test('the signing record round-trips through its encoding', () => {
  const record = prevotedRecord();
  assert.deepEqual(decodeSigningRecord(encodeSigningRecord(record)), record);
});

test('a truncated or inconsistent signing record is refused', () => {
  const bytes = encodeSigningRecord(prevotedRecord());
  assert.throws(() => decodeSigningRecord(bytes.subarray(0, bytes.length - 3)), ConsensusError);
  const inconsistent = { ...prevotedRecord(), step: 'proposal' as const };
  assert.throws(() => decodeSigningRecord(encodeSigningRecord(inconsistent)), ConsensusError);
});

/** Validator 0 after precommitting `block` in round 0 (locked and valid): its record. */
function precommittedRecord(): SigningRecord {
  const { state } = prevoted();
  let actions: readonly ConsensusAction[] = [];
  for (const index of [1, 2]) {
    actions = stepConsensus(state, {
      kind: 'message',
      peer: 'p',
      message: {
        kind: 'vote',
        vote: voteBy({ keyPairs, index, type: 'prevote', round: 0, blockHash: hash }),
      },
    }).actions;
  }
  return lastPersisted(actions);
}

/** The record layout written before decision 0079: every block in full in its own field. */
const EarlierLayout = struct({
  height: uint({ min: 1 }),
  round: uint(),
  step: textEnum(['proposal', 'prevote', 'precommit']),
  vote: nullable(VoteSchema),
  proposal: nullable(ProposalSchema),
  proposalBlock: nullable(BlockSchema),
  lockedRound: nullable(uint()),
  lockedBlock: nullable(BlockSchema),
  validRound: nullable(uint()),
  validBlock: nullable(BlockSchema),
  validPolka: array(VoteSchema, { itemsMax: 64 }),
});

test('a record whose locked and valid block are one block holds its encoding once', () => {
  const record = precommittedRecord();
  assert.equal(record.step, 'precommit');
  assert.equal(record.lockedBlock, record.validBlock, 'consensus hands over one block object');
  const bytes = encodeSigningRecord(record);
  const blockBytes = BlockSchema.encode(block).length;
  const earlier = EarlierLayout.encode(record).length;
  assert.ok(bytes.length < earlier - blockBytes / 2, `${bytes.length} bytes, ${earlier} before`);
  const decoded = decodeSigningRecord(bytes);
  assert.deepEqual(decoded, record);
  assert.equal(decoded.lockedBlock, decoded.validBlock, 'decoded as one shared block');
});

test('twin: a record of two different blocks keeps both', () => {
  const record = { ...precommittedRecord(), validBlock: otherBlock, validRound: 0 };
  const decoded = decodeSigningRecord(encodeSigningRecord(record));
  assert.deepEqual(decoded.lockedBlock, block);
  assert.deepEqual(decoded.validBlock, otherBlock);
});

test('a record written in the earlier layout (each block in place) still decodes', () => {
  for (const record of [prevotedRecord(), precommittedRecord()]) {
    assert.deepEqual(decodeSigningRecord(EarlierLayout.encode(record)), record);
  }
});

test('a record that names a missing block, or holds a block it does not name, is refused', () => {
  const Wire = SigningRecordSchema;
  const wire = Wire.decode(encodeSigningRecord(precommittedRecord()));
  assert.equal(wire.blocks.length, 1);
  assert.throws(
    () => decodeSigningRecord(Wire.encode({ ...wire, validBlock: 2 })),
    (error: unknown) =>
      error instanceof ConsensusError &&
      /names block 2 in validBlock, but holds 1/.test(error.message),
  );
  assert.throws(
    () => decodeSigningRecord(Wire.encode({ ...wire, blocks: [block, otherBlock] })),
    (error: unknown) =>
      error instanceof ConsensusError && /holds 2 blocks, but names 1 of them/.test(error.message),
  );
  assert.throws(
    () => decodeSigningRecord(Uint8Array.of(0x83, 1, 2, 3)),
    (error: unknown) => error instanceof ConsensusError && /does not decode/.test(error.message),
  );
});

test('restarted from its record, a validator re-sends its prevote and never signs a nil prevote', () => {
  const record = prevotedRecord();
  const { state, actions } = start(record);
  assert.deepEqual(
    broadcastVotes(actions).map((v) => toHex(v.blockHash!)),
    [toHex(hash)],
    're-sends the recorded prevote',
  );
  const fired = stepConsensus(state, {
    kind: 'timeout',
    timeout: { kind: 'propose', height: 1, round: 0 },
  });
  assert.deepEqual(broadcastVotes(fired.actions), []);
  assert.equal(actionsOf(fired.actions, 'persist').length, 0);
});

test('twin: restarted without a record, the same timeout signs a nil prevote (what the record prevents)', () => {
  const { state } = start(null);
  const fired = stepConsensus(state, {
    kind: 'timeout',
    timeout: { kind: 'propose', height: 1, round: 0 },
  });
  assert.deepEqual(
    broadcastVotes(fired.actions).map((v) => v.blockHash),
    [null],
  );
});

test('a lock survives a restart: the validator prevotes nil for another value in the next round', () => {
  const record = precommittedRecord();
  assert.equal(record.lockedRound, 0);
  assert.equal(record.validRound, 0, 'the record carries validValue with the lock');
  assert.equal(record.validPolka.length, 3, 'and the polka that lets it be re-proposed (line 28)');
  const restarted = start(record).state;
  assert.equal(restarted.lockedRound, 0);
  stepConsensus(restarted, {
    kind: 'timeout',
    timeout: { kind: 'precommit', height: 1, round: 0 },
  });
  stepConsensus(restarted, {
    kind: 'message',
    peer: 'p',
    message: proposalBy({ keyPairs, index: 2, round: 1, block: otherBlock }),
  });
  const voted = stepConsensus(restarted, {
    kind: 'block-validated',
    height: 1,
    blockHash: blockHash(otherBlock.header),
    valid: true,
  });
  assert.deepEqual(
    broadcastVotes(voted.actions).map((v) => [v.round, v.blockHash]),
    [[1, null]],
  );
});

/** The events a fast-check run picks from (messages from the other three, timeouts, verdicts). */
function eventPool(): ConsensusEvent[] {
  const events: ConsensusEvent[] = [];
  const hashes = [hash, blockHash(otherBlock.header), null];
  for (const round of [0, 1, 2]) {
    const proposer = (1 + round) % 4;
    if (proposer !== 0) {
      for (const b of [block, otherBlock]) {
        events.push({
          kind: 'message',
          peer: 'p',
          message: proposalBy({ keyPairs, index: proposer, round, block: b, validRound: null }),
        });
      }
    }
    for (const index of [1, 2, 3]) {
      for (const type of ['prevote', 'precommit'] as const) {
        for (const value of hashes) {
          events.push({
            kind: 'message',
            peer: 'p',
            message: {
              kind: 'vote',
              vote: voteBy({ keyPairs, index, type, round, blockHash: value }),
            },
          });
        }
      }
    }
    for (const kind of ['propose', 'prevote', 'precommit'] as const)
      events.push({ kind: 'timeout', timeout: { kind, height: 1, round } });
  }
  for (const b of [block, otherBlock]) {
    events.push({
      kind: 'block-validated',
      height: 1,
      blockHash: blockHash(b.header),
      valid: true,
    });
    events.push({ kind: 'value-ready', height: 1, round: 3, block: b });
  }
  return events;
}

test('property: crashing between any two actions never leads to two signed values for one step', () => {
  const pool = eventPool();
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(pool.length - 1), fc.option(fc.nat(12), { freq: 4 })), {
        maxLength: 60,
      }),
      (script) => {
        let disk: SigningRecord | null = null;
        const sent = new Map<string, string>();
        let state: ConsensusState | null = null;
        const perform = (actions: readonly ConsensusAction[], crashAt: number | null): boolean => {
          for (const [index, action] of actions.entries()) {
            if (crashAt !== null && index === crashAt) return false;
            if (action.kind === 'persist')
              disk = decodeSigningRecord(encodeSigningRecord(action.record));
            if (action.kind === 'broadcast' && action.message.kind === 'vote') {
              const v = action.message.vote;
              const key = `${v.height}:${v.round}:${v.type}`;
              const value = v.blockHash === null ? 'nil' : toHex(v.blockHash);
              assert.ok(
                sent.get(key) === undefined || sent.get(key) === value,
                `double sign at ${key}`,
              );
              sent.set(key, value);
            }
          }
          return true;
        };
        for (const [which, crashAt] of script) {
          if (state === null) {
            const started = start(disk);
            state = started.state;
            if (!perform(started.actions, null)) state = null;
            continue;
          }
          const { actions } = stepConsensus(state, pool[which]!);
          if (!perform(actions, crashAt)) state = null;
        }
      },
    ),
    { seed: 424242, numRuns: 150 },
  );
});
