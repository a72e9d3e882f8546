// Checks auditChainStore and `medledger audit-store` on a real store from the fixtures (10 blocks of 40 transactions, a signing record): it passes clean; one byte changed by SQL in each kind of stored item, or a bit in any byte of a signing record, is reported naming its place; bit flips in the file header and seeded ones in the used pages are reported or shown harmless (unused space, every row read back identical); the real CLI as a child process gives exit codes 0, 1, 2 and its lines.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import BetterSqlite3 from 'better-sqlite3';

import { toHex } from '../../src/base/index.ts';
import {
  type Block,
  type Vote,
  blockHash,
  makeValidatorSet,
  signProposal,
  signVote,
} from '../../src/chain/index.ts';
import { findGenesisFile, verifySigningRecord } from '../../src/cli/audit-store-command.ts';
import { type SigningRecord, encodeSigningRecord } from '../../src/consensus/index.ts';
import type { Ed25519KeyPair } from '../../src/crypto/index.ts';
import {
  type SigningRecordCheck,
  type StoreAuditFailure,
  type StoreAuditProgress,
  StoreError,
  StoreErrorCode,
  auditChainStore,
  chainStoreFileName,
  openChainStore,
} from '../../src/store/index.ts';
import {
  chainId,
  commitBlocks,
  keyOf,
  nextBlock,
  organisations,
  storeGenesis,
  temporaryDirectory,
} from './fixtures.ts';

const blockCount = 10;
const txPerBlock = 40;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The built store: `<base>/genesis.json` and `<base>/data/chain.sqlite` (closed). */
let base = '';
let removeBase = () => {};
/** The signing records of the last test: a precommit with a lock (stored) and a proposal. */
let records: { precommit: Uint8Array; proposal: Uint8Array } | null = null;

/** The key pairs of the genesis validators, in validator-set order (as the fixtures sign). */
function validatorKeyPairs(): Ed25519KeyPair[] {
  const pairs = organisations.map((orgId) => keyOf(`node:${orgId}`));
  const set = makeValidatorSet(pairs.map((pair) => ({ publicKey: pair.publicKey, power: 1 })));
  return set.validators.map((validator) =>
    pairs.find((pair) => toHex(pair.publicKey) === toHex(validator.publicKey))!,
  );
}

/**
 * Signing records at the height after the head, as consensus writes them (sign.ts): a
 * precommit of round 1 locked on `block` with the polka of three prevotes, and the proposal of
 * `block` in round 0 by validator 1.
 */
function makeRecords(block: Block): { precommit: Uint8Array; proposal: Uint8Array } {
  const keyPairs = validatorKeyPairs();
  const height = block.header.height;
  const hash = blockHash(block.header);
  const vote = (type: Vote['type'], round: number, validatorIndex: number): Vote =>
    signVote({
      chainId,
      vote: { type, height, round, blockHash: hash, validatorIndex },
      keyPair: keyPairs[validatorIndex]!,
    });
  const precommit: SigningRecord = {
    height,
    round: 1,
    step: 'precommit',
    vote: vote('precommit', 1, 0),
    proposal: null,
    proposalBlock: null,
    lockedRound: 1,
    lockedBlock: block,
    validRound: 1,
    validBlock: block,
    validPolka: [0, 1, 2].map((index) => vote('prevote', 1, index)),
  };
  const proposal: SigningRecord = {
    height,
    round: 0,
    step: 'proposal',
    vote: null,
    proposal: signProposal({
      chainId,
      proposal: { height, round: 0, blockHash: hash, validRound: null, proposerIndex: 1 },
      keyPair: keyPairs[1]!,
    }),
    proposalBlock: block,
    lockedRound: null,
    lockedBlock: null,
    validRound: null,
    validBlock: null,
    validPolka: [],
  };
  return { precommit: encodeSigningRecord(precommit), proposal: encodeSigningRecord(proposal) };
}

before(() => {
  const made = temporaryDirectory();
  base = made.directory;
  removeBase = made.remove;
  fs.writeFileSync(path.join(base, 'genesis.json'), JSON.stringify(storeGenesis()));
  const store = openChainStore({ directory: path.join(base, 'data'), genesis: storeGenesis() });
  commitBlocks(store, { count: blockCount, txCount: txPerBlock });
  records = makeRecords(nextBlock(store, { txCount: 3 }).block);
  store.saveSigningRecord(records.precommit);
  store.close();
});

after(() => removeBase());

const dataDirectory = () => path.join(base, 'data');

/** A fresh copy of the store's folder (the file alone: the closed store has no WAL). */
function copyStore(): { directory: string; file: string; remove: () => void } {
  const { directory, remove } = temporaryDirectory();
  const file = path.join(directory, chainStoreFileName);
  fs.copyFileSync(path.join(dataDirectory(), chainStoreFileName), file);
  return { directory, file, remove };
}

/** Runs `change` on a writable connection to `file` (not through openChainStore). */
function changeFile(file: string, change: (database: BetterSqlite3.Database) => void): void {
  const database = new BetterSqlite3(file);
  try {
    change(database);
  } finally {
    database.close();
  }
}

/** Flips the low bit of byte `offset` (default: the middle) of a BLOB column in one row. */
function flipBlob(
  database: BetterSqlite3.Database,
  options: { table: string; column: string; where: string; offset?: number },
): void {
  const row = database
    .prepare(`SELECT ${options.column} AS value FROM ${options.table} WHERE ${options.where}`)
    .get() as { value: Buffer } | undefined;
  assert.ok(row !== undefined, `a row of ${options.table} where ${options.where}`);
  const value = Buffer.from(row.value);
  const offset = options.offset ?? Math.floor(value.length / 2);
  value[offset]! ^= 1;
  const changed = database
    .prepare(`UPDATE ${options.table} SET ${options.column} = ? WHERE ${options.where}`)
    .run(value);
  assert.equal(changed.changes, 1);
}

const audit = (directory: string, checkSigningRecord: SigningRecordCheck = verifySigningRecord) =>
  auditChainStore({ directory, genesis: storeGenesis(), checkSigningRecord });

/** Audits a copy changed by `change`; returns the failure (asserting there is one). */
function failureAfter(change: (database: BetterSqlite3.Database) => void): StoreAuditFailure {
  const copy = copyStore();
  try {
    changeFile(copy.file, change);
    const result = audit(copy.directory);
    assert.ok(!result.ok, 'expected the audit to find the change');
    return result.failure;
  } finally {
    copy.remove();
  }
}

/** Reads the head's snapshot progress from the built store. */
function snapshotLayout(): { generation: number; building: number } {
  const database = new BetterSqlite3(path.join(dataDirectory(), chainStoreFileName), {
    readonly: true,
  });
  try {
    const head = database
      .prepare('SELECT snapshot_generation AS generation, building_range AS building FROM head')
      .get() as { generation: number; building: number };
    return head;
  } finally {
    database.close();
  }
}

test('a clean store passes, with a summary of what was audited and progress per height', () => {
  const progress: StoreAuditProgress[] = [];
  const result = auditChainStore({
    directory: dataDirectory(),
    genesis: storeGenesis(),
    checkSigningRecord: verifySigningRecord,
    onProgress: (entry) => progress.push(entry),
  });
  assert.ok(result.ok, result.ok ? '' : result.failure.message);
  const { summary } = result;
  assert.equal(summary.heights, blockCount);
  assert.equal(summary.transactions, blockCount * txPerBlock);
  assert.equal(summary.logSize, blockCount * txPerBlock);
  // Every perfect subtree of 400 leaves: 400 + 200 + 100 + 50 + 25 + 12 + 6 + 3 + 1.
  assert.equal(summary.logNodes, 797);
  assert.equal(summary.snapshotRows, 512);
  assert.equal(summary.signingRecord, 'checked');
  assert.ok(summary.stateKeys > blockCount * txPerBlock);
  assert.deepEqual(
    progress.map((entry) => entry.step).filter((step, index, all) => all.indexOf(step) === index),
    ['integrity-check', 'blocks', 'final-checks'],
  );
  assert.equal(progress.at(-1)!.height, blockCount);
  // The layout the snapshot cases below rely on: a stale, a complete and a building generation.
  const layout = snapshotLayout();
  assert.ok(layout.generation >= 2 && layout.building > 0, JSON.stringify(layout));
});

/** One single-byte change of a stored item, and where the audit must say it is. */
interface FlipCase {
  readonly name: string;
  readonly change: (database: BetterSqlite3.Database) => void;
  readonly table: string;
  readonly row: string | RegExp;
  readonly field: RegExp;
}

/** A snapshot row of `generation` whose entries hold at least one key (a value to change). */
function snapshotRowOf(database: BetterSqlite3.Database, generation: number): number {
  const row = database
    .prepare(
      'SELECT key_range AS range FROM state_snapshot WHERE generation = ? AND length(entries) > 40 ORDER BY key_range LIMIT 1',
    )
    .get(generation) as { range: number } | undefined;
  assert.ok(row !== undefined, `a non-empty snapshot row of generation ${generation}`);
  return row.range;
}

/** Flips a byte of the first value (past count, key and length) of a snapshot row. */
function flipSnapshotRow(database: BetterSqlite3.Database, generation: number): void {
  const range = snapshotRowOf(database, generation);
  flipBlob(database, {
    table: 'state_snapshot',
    column: 'entries',
    where: `generation = ${generation} AND key_range = ${range}`,
    offset: 4 + 32 + 4 + 1,
  });
}

const integerFlip =
  (table: string, column: string, where: string) => (database: BetterSqlite3.Database) => {
    const changed = database
      .prepare(`UPDATE ${table} SET ${column} = (${column} | 1) - (${column} & 1) WHERE ${where}`)
      .run();
    assert.equal(changed.changes, 1);
  };

function flipCases(): FlipCase[] {
  const { generation, building } = snapshotLayout();
  const blob =
    (table: string, column: string, where: string, offset?: number) =>
    (database: BetterSqlite3.Database) =>
      flipBlob(database, { table, column, where, ...(offset === undefined ? {} : { offset }) });
  return [
    {
      name: 'block bytes (a transaction)',
      change: blob('blocks', 'block', 'height = 3'),
      table: 'blocks',
      row: 'height 3',
      field: /^block/,
    },
    {
      name: 'block bytes (the header)',
      change: blob('blocks', 'block', 'height = 7', 12),
      table: 'blocks',
      row: 'height 7',
      field: /^(block|hash)/,
    },
    {
      name: 'block hash column',
      change: blob('blocks', 'hash', 'height = 5'),
      table: 'blocks',
      row: 'height 5',
      field: /^hash$/,
    },
    {
      name: 'commit certificate',
      change: blob('blocks', 'commit_certificate', 'height = 4'),
      table: 'blocks',
      row: 'height 4',
      field: /^commit_certificate$/,
    },
    {
      name: 'commit of the last block',
      change: blob('blocks', 'commit_certificate', `height = ${blockCount}`, 60),
      table: 'blocks',
      row: `height ${blockCount}`,
      field: /^commit_certificate$/,
    },
    {
      name: 'receipts',
      change: blob('blocks', 'receipts', 'height = 2'),
      table: 'blocks',
      row: 'height 2',
      field: /^receipts$/,
    },
    {
      name: 'packed transaction ids',
      change: blob('blocks', 'tx_ids', 'height = 6'),
      table: 'blocks',
      row: 'height 6',
      field: /^tx_ids$/,
    },
    {
      name: 'log size column',
      change: integerFlip('blocks', 'log_size', 'height = 8'),
      table: 'blocks',
      row: 'height 8',
      field: /^log_size$/,
    },
    {
      name: 'state changes',
      change: blob('state_changes', 'changes', 'height = 3'),
      table: 'state_changes',
      row: 'height 3',
      field: /^changes$/,
    },
    {
      name: 'state changes (a previous value)',
      change: blob('state_changes', 'changes', 'height = 9', 4 + 32 + 4 + 2),
      table: 'state_changes',
      row: 'height 9',
      field: /^changes$/,
    },
    {
      name: `snapshot row of the complete generation ${generation}`,
      change: (database) => flipSnapshotRow(database, generation),
      table: 'state_snapshot',
      row: new RegExp(`^generation ${generation}, range `),
      field: /^entries$/,
    },
    {
      name: `snapshot row of the generation being built (${generation + 1})`,
      change: (database) => flipSnapshotRow(database, generation + 1),
      table: 'state_snapshot',
      row: new RegExp(`^generation ${generation + 1}, range `),
      field: /^entries$/,
    },
    {
      name: `snapshot row of the stale generation ${generation - 1}`,
      change: (database) => flipSnapshotRow(database, generation - 1),
      table: 'state_snapshot',
      row: new RegExp(`^generation ${generation - 1}, range `),
      field: /^entries$/,
    },
    {
      name: 'snapshot row height',
      change: integerFlip(
        'state_snapshot',
        'height',
        `generation = ${generation} AND key_range = 0`,
      ),
      table: 'head',
      row: 'id 1',
      field: /^snapshot_height$/,
    },
    {
      name: 'snapshot row generation',
      change: integerFlip(
        'state_snapshot',
        'generation',
        `generation = ${generation + 1} AND key_range = ${building - 1}`,
      ),
      table: 'state_snapshot',
      row: `generation ${generation + 2}, range ${building - 1}`,
      field: /^row$/,
    },
    {
      name: 'log node (a leaf)',
      change: blob('log_nodes', 'hash', 'level = 0 AND node_index = 100'),
      table: 'log_nodes',
      row: 'level 0, index 100',
      field: /^hash$/,
    },
    {
      name: 'log node (level 5)',
      change: blob('log_nodes', 'hash', 'level = 5 AND node_index = 7'),
      table: 'log_nodes',
      row: 'level 5, index 7',
      field: /^hash$/,
    },
    {
      name: 'head block hash',
      change: blob('head', 'block_hash', 'id = 1'),
      table: 'head',
      row: 'id 1',
      field: /^block_hash$/,
    },
    {
      name: 'head state root',
      change: blob('head', 'state_root', 'id = 1', 31),
      table: 'head',
      row: 'id 1',
      field: /^state_root$/,
    },
    {
      name: 'head log root',
      change: blob('head', 'log_root', 'id = 1'),
      table: 'head',
      row: 'id 1',
      field: /^log_root$/,
    },
    {
      name: 'head height',
      change: integerFlip('head', 'height', 'id = 1'),
      table: 'head',
      row: 'id 1',
      field: /^height$/,
    },
    {
      name: 'head time',
      change: integerFlip('head', 'time', 'id = 1'),
      table: 'head',
      row: 'id 1',
      field: /^time$/,
    },
    {
      name: 'head log size',
      change: integerFlip('head', 'log_size', 'id = 1'),
      table: 'head',
      row: 'id 1',
      field: /^log_size$/,
    },
    {
      name: 'head snapshot generation',
      change: integerFlip('head', 'snapshot_generation', 'id = 1'),
      table: 'head',
      row: 'id 1',
      field: /^snapshot_generation$/,
    },
    {
      name: 'head building range',
      change: integerFlip('head', 'building_range', 'id = 1'),
      table: 'head',
      row: 'id 1',
      field: /^building_range$/,
    },
    {
      name: 'signing record (the vote signature)',
      change: blob('meta', 'value', "name = 'signing-record'", 100),
      table: 'meta',
      row: 'signing-record',
      field: /^value$/,
    },
    {
      name: 'signing record (the locked block)',
      change: blob('meta', 'value', "name = 'signing-record'"),
      table: 'meta',
      row: 'signing-record',
      field: /^value$/,
    },
    {
      name: 'genesis hash row',
      change: blob('meta', 'value', "name = 'genesis-hash'"),
      table: 'meta',
      row: 'genesis-hash',
      field: /^value$/,
    },
    {
      name: 'genesis state root row',
      change: blob('meta', 'value', "name = 'genesis-state-root'"),
      table: 'meta',
      row: 'genesis-state-root',
      field: /^value$/,
    },
    {
      name: 'application id',
      change: (database) => database.pragma('application_id = 1296843604'),
      table: 'file',
      row: 'header',
      field: /^application_id$/,
    },
    {
      name: 'a missing state changes row',
      change: (database) => database.prepare('DELETE FROM state_changes WHERE height = 4').run(),
      table: 'state_changes',
      row: 'height 4',
      field: /^row$/,
    },
    {
      name: 'a log node beyond the log',
      change: (database) =>
        database
          .prepare('INSERT INTO log_nodes (level, node_index, hash) VALUES (0, 400, zeroblob(32))')
          .run(),
      table: 'log_nodes',
      row: 'level 0, index 400',
      field: /^row$/,
    },
    {
      name: 'a state changes row beyond the chain',
      change: (database) =>
        database
          .prepare("INSERT INTO state_changes (height, changes) VALUES (11, x'00000000')")
          .run(),
      table: 'state_changes',
      row: 'height 11',
      field: /^row$/,
    },
    {
      name: 'a BLOB column turned TEXT of the same bytes',
      change: (database) =>
        database.prepare('UPDATE blocks SET hash = CAST(hash AS TEXT) WHERE height = 2').run(),
      table: 'blocks',
      row: 'height 2',
      field: /^hash$/,
    },
  ];
}

test('one byte changed in any stored item is reported, naming its table, row and field', () => {
  for (const flip of flipCases()) {
    const failure = failureAfter(flip.change);
    const where = `${flip.name}: ${failure.message}`;
    assert.equal(failure.table, flip.table, where);
    if (typeof flip.row === 'string') assert.equal(failure.row, flip.row, where);
    else assert.match(failure.row, flip.row, where);
    assert.match(failure.field, flip.field, where);
    assert.ok(failure.message.startsWith(`${failure.table} ${failure.row}`), where);
  }
});

test('a changed bit in any byte of either signing record is reported by its check', () => {
  // The contexts the audit hands the check, taken from a clean audit of the store.
  const contexts = new Map<
    number,
    ReturnType<Parameters<SigningRecordCheck>[0]['blockContextAt']>
  >();
  let lastHeight = 0;
  const result = audit(dataDirectory(), (options) => {
    lastHeight = options.lastHeight;
    for (let height = 1; height <= lastHeight + 1; height++) {
      contexts.set(height, options.blockContextAt(height));
    }
    return verifySigningRecord(options);
  });
  assert.ok(result.ok);
  const check = (record: Uint8Array) =>
    verifySigningRecord({
      record,
      chainId,
      lastHeight,
      blockContextAt: (height) => contexts.get(height) ?? null,
    });
  for (const [name, record] of Object.entries(records!)) {
    assert.equal(check(record), null, `${name}: the record as written passes`);
    // One bit per byte, each bit position in turn: every byte, and every bit of a byte somewhere.
    for (let offset = 0; offset < record.length; offset++) {
      const bit = 1 << (offset % 8);
      const changed = record.slice();
      changed[offset]! ^= bit;
      assert.notEqual(
        check(changed),
        null,
        `${name}: byte ${offset} ^ 0x${bit.toString(16)} passes`,
      );
    }
  }
});

test('what cannot be audited is a StoreError naming it: no directory, no store file, not SQLite, another file, another chain, a running node', () => {
  const expectRefusal = (directory: string, code: string, message: RegExp) => {
    assert.throws(
      () => audit(directory),
      (error: unknown) => {
        assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
        assert.equal(error.code, code, error.message);
        assert.match(error.message, message);
        return true;
      },
    );
  };
  const { directory, remove } = temporaryDirectory();
  try {
    expectRefusal(
      path.join(directory, 'absent'),
      StoreErrorCode.invalidArgument,
      /expected the node's data directory, found nothing there$/,
    );
    expectRefusal(
      directory,
      StoreErrorCode.invalidArgument,
      /holds no chain store: expected the file chain\.sqlite in it$/,
    );
    fs.writeFileSync(path.join(directory, chainStoreFileName), 'not a database at all');
    expectRefusal(
      directory,
      StoreErrorCode.corrupt,
      /is not a SQLite database: expected it to begin with "SQLite format 3", found "not a database a/,
    );
    fs.rmSync(path.join(directory, chainStoreFileName));
    changeFile(path.join(directory, chainStoreFileName), (database) =>
      database.exec('CREATE TABLE notes (text TEXT)'),
    );
    expectRefusal(
      directory,
      StoreErrorCode.foreign,
      /is not a MedLedger chain store of format 2: its application_id is 0x0, user_version 0, tables notes$/,
    );
  } finally {
    remove();
  }
  assert.throws(
    () =>
      auditChainStore({
        directory: dataDirectory(),
        genesis: storeGenesis({ chainId: 'another-chain' }),
      }),
    (error: unknown) =>
      error instanceof StoreError &&
      error.code === StoreErrorCode.wrongGenesis &&
      /belongs to another chain: its genesis is [0-9a-f]{16}…, the genesis document given \(chain "another-chain"\) hashes to [0-9a-f]{16}…$/.test(
        error.message,
      ),
  );
  const copy = copyStore();
  const running = openChainStore({ directory: copy.directory, genesis: storeGenesis() });
  try {
    expectRefusal(
      copy.directory,
      StoreErrorCode.locked,
      /is locked: a running node \(or another process\) has it open; stop the node or copy its folder/,
    );
  } finally {
    running.close();
    copy.remove();
  }
});

test("a store with no block yet passes; a copy of a running node's folder passes with what its WAL holds", () => {
  const empty = temporaryDirectory();
  const copy = copyStore();
  const snapshot = temporaryDirectory();
  try {
    openChainStore({ directory: empty.directory, genesis: storeGenesis() }).close();
    const result = audit(empty.directory);
    assert.ok(
      result.ok && result.summary.heights === 0 && result.summary.signingRecord === 'absent',
    );
    // Two more blocks committed by a store that stays open: they are in its WAL only.
    const running = openChainStore({ directory: copy.directory, genesis: storeGenesis() });
    try {
      commitBlocks(running, { count: 2, txCount: 8 });
      for (const name of fs.readdirSync(copy.directory)) {
        fs.copyFileSync(path.join(copy.directory, name), path.join(snapshot.directory, name));
      }
    } finally {
      running.close();
    }
    assert.ok(fs.existsSync(path.join(snapshot.directory, `${chainStoreFileName}-wal`)));
    const copied = audit(snapshot.directory);
    assert.ok(copied.ok, copied.ok ? '' : copied.failure.message);
    assert.equal(copied.summary.heights, blockCount + 2);
  } finally {
    empty.remove();
    copy.remove();
    snapshot.remove();
  }
});

test('the audit never writes the database file', () => {
  const copy = copyStore();
  try {
    const before = fs.readFileSync(copy.file);
    assert.ok(audit(copy.directory).ok);
    assert.ok(fs.readFileSync(copy.file).equals(before));
  } finally {
    copy.remove();
  }
});

/** A seeded PRNG (mulberry32): the same seed, the same positions. */
function randomOf(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Every row of every table and of the schema, with its SQLite types, and the header pragmas. */
function dumpOf(file: string): string {
  const database = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    const value = (cell: unknown) =>
      cell instanceof Uint8Array
        ? `x${Buffer.from(cell).toString('hex')}`
        : `${typeof cell}:${String(cell)}`;
    const parts: string[] = [];
    for (const pragma of ['application_id', 'user_version', 'encoding', 'page_size']) {
      parts.push(`${pragma}=${String(database.pragma(pragma, { simple: true }))}`);
    }
    const tables: [string, string][] = [
      ['sqlite_schema', 'name'],
      ['meta', 'name'],
      ['head', 'id'],
      ['blocks', 'height'],
      ['state_changes', 'height'],
      ['log_nodes', 'level, node_index'],
      ['state_snapshot', 'generation, key_range'],
    ];
    for (const [table, order] of tables) {
      for (const row of database
        .prepare(`SELECT * FROM ${table} ORDER BY ${order}`)
        .raw()
        .all() as unknown[][]) {
        parts.push(`${table}:${row.map(value).join('|')}`);
      }
    }
    return parts.join('\n');
  } finally {
    database.close();
  }
}

/** A page as dbstat lists it: its kind, the payload bytes it holds, and its unused bytes. */
interface PageStat {
  readonly pagetype: string;
  readonly payload: number;
  readonly unused: number;
}

/** A SQLite varint at `at` (SQLite file format §1.6): its value and length. */
function varintAt(bytes: Uint8Array, at: number): { value: number; length: number } {
  let value = 0;
  for (let index = 0; index < 8; index++) {
    const byte = bytes[at + index]!;
    value = value * 128 + (byte & 0x7f);
    if (byte < 0x80) return { value, length: index + 1 };
  }
  return { value: value * 256 + bytes[at + 8]!, length: 9 };
}

/** What each byte of a page holds, as `spaceOf` reports it. */
const Space = {
  content: 'content',
  fileHeader: 'the file header',
  unallocated: 'unallocated space in a page',
  freeBlock: 'a free block in a page',
  freeBlockHeader: "a free block's header",
  fragment: 'a fragment in a page',
  overflowTail: 'the tail of an overflow page',
} as const;
type Space = (typeof Space)[keyof typeof Space];

/**
 * What every byte of page `page` holds (SQLite file format §1.3, §1.6): the file header, the
 * page header, cell pointers and cells (content), the unallocated space between them, free
 * blocks (their 4-byte headers apart), fragments, or an overflow page's tail past its payload.
 */
function spaceOf(options: {
  bytes: Uint8Array;
  pageSize: number;
  page: number;
  stat: PageStat;
}): Space[] {
  const { bytes, pageSize, page, stat } = options;
  const base = (page - 1) * pageSize;
  const view = new DataView(bytes.buffer, bytes.byteOffset + base, pageSize);
  const space = new Array<Space>(pageSize).fill(Space.content);
  if (stat.pagetype === 'overflow') {
    return space.fill(Space.overflowTail, 4 + stat.payload);
  }
  const header = page === 1 ? 100 : 0;
  if (page === 1) space.fill(Space.fileHeader, 0, 100);
  const type = view.getUint8(header);
  const interior = type === 0x02 || type === 0x05;
  const cells = view.getUint16(header + 3);
  const pointers = header + (interior ? 12 : 8);
  const contentStart = view.getUint16(header + 5) || 65536;
  space.fill(Space.unallocated, pointers + 2 * cells, contentStart);
  space.fill(Space.fragment, contentStart);
  for (let block = view.getUint16(header + 1); block !== 0; block = view.getUint16(block)) {
    space.fill(Space.freeBlockHeader, block, block + 4);
    space.fill(Space.freeBlock, block + 4, block + view.getUint16(block + 2));
  }
  const usable = pageSize - bytes[20]!;
  for (let cell = 0; cell < cells; cell++) {
    const start = view.getUint16(pointers + 2 * cell);
    let at = start + (interior ? 4 : 0);
    if (type === 0x05) {
      at += varintAt(bytes, base + at).length;
    } else {
      const payload = varintAt(bytes, base + at);
      at += payload.length;
      if (type === 0x0d) at += varintAt(bytes, base + at).length;
      const most = type === 0x0d ? usable - 35 : Math.floor(((usable - 12) * 64) / 255) - 23;
      const least = Math.floor(((usable - 12) * 32) / 255) - 23;
      let local = payload.value;
      if (payload.value > most) {
        const spill = least + ((payload.value - least) % (usable - 4));
        local = (spill <= most ? spill : least) + 4;
      }
      at += local;
    }
    space.fill(Space.content, start, at);
  }
  return space;
}

test('bit flips in the file header and seeded ones in the used pages are each reported, or harmless: unused space, every row read back the same', (t) => {
  // MEDLEDGER_AUDIT_FLIP_SEED and MEDLEDGER_AUDIT_FLIP_SAMPLES explore other samples.
  const seed = Number(process.env.MEDLEDGER_AUDIT_FLIP_SEED ?? 7070);
  const sampleCount = Number(process.env.MEDLEDGER_AUDIT_FLIP_SAMPLES ?? 120);
  const storeFile = path.join(dataDirectory(), chainStoreFileName);
  const original = fs.readFileSync(storeFile);
  const reference = dumpOf(storeFile);
  const database = new BetterSqlite3(storeFile, { readonly: true });
  const pageSize = database.pragma('page_size', { simple: true }) as number;
  // dbstat lists the pages of every b-tree and their overflow pages: the used pages (the free
  // list is not in it). Page 1 holds the file header and the schema.
  const stats = new Map(
    (
      database
        .prepare('SELECT pageno, pagetype, payload, unused FROM dbstat ORDER BY pageno')
        .all() as ({ pageno: number } & PageStat)[]
    ).map(({ pageno, ...stat }) => [pageno, stat]),
  );
  const pages = [...stats.keys()];
  const spaces = new Map(
    pages.map((page) => [
      page,
      spaceOf({ bytes: original, pageSize, page, stat: stats.get(page)! }),
    ]),
  );
  // The map of each page agrees with SQLite's own count of its unused bytes.
  for (const [page, space] of spaces) {
    const unused = space.filter((kind) => kind !== Space.content && kind !== Space.fileHeader);
    assert.equal(unused.length, stats.get(page)!.unused, `page ${page}: unused bytes`);
  }
  database.close();
  const random = randomOf(seed);
  const { directory, remove } = temporaryDirectory();
  const file = path.join(directory, chainStoreFileName);
  const outcomes = { failures: 0, refusals: 0, harmless: 0 };
  const harmless = new Map<string, number>();
  try {
    // The low bit of every byte of the file header after its magic string (which is refused as
    // "not a SQLite database"), then the seeded sample of the used pages.
    const flips: { position: number; bit: number }[] = [];
    for (let position = 16; position < 100; position++) flips.push({ position, bit: 1 });
    for (let sample = 0; sample < sampleCount; sample++) {
      const page = pages[Math.floor(random() * pages.length)]!;
      const position = (page - 1) * pageSize + Math.floor(random() * pageSize);
      flips.push({ position, bit: 1 << Math.floor(random() * 8) });
    }
    for (const [index, { position, bit }] of flips.entries()) {
      const page = Math.floor(position / pageSize) + 1;
      const where = `seed ${seed} flip ${index}: byte ${position} (page ${page}) ^ 0x${bit.toString(16)}`;
      const bytes = Buffer.from(original);
      bytes[position]! ^= bit;
      for (const name of fs.readdirSync(directory)) fs.rmSync(path.join(directory, name));
      fs.writeFileSync(file, bytes);
      let result;
      try {
        result = audit(directory);
      } catch (error) {
        assert.ok(
          error instanceof StoreError,
          `${where}: expected a StoreError, got ${String(error)}`,
        );
        outcomes.refusals++;
        continue;
      }
      if (!result.ok) {
        outcomes.failures++;
        continue;
      }
      // Passed: then the flip changed nothing SQLite returns (every row reads back the same) and
      // lies in space that holds no content; anything else is a miss.
      assert.equal(dumpOf(file), reference, `${where}: passed the audit, but a row differs`);
      const space = spaces.get(page)![position % pageSize]!;
      const unused: readonly Space[] = [
        Space.unallocated,
        Space.freeBlock,
        Space.fragment,
        Space.overflowTail,
        Space.fileHeader,
      ];
      assert.ok(unused.includes(space), `${where}: passed the audit, but the byte holds ${space}`);
      outcomes.harmless++;
      harmless.set(space, (harmless.get(space) ?? 0) + 1);
    }
  } finally {
    remove();
  }
  t.diagnostic(
    `${outcomes.failures + outcomes.refusals + outcomes.harmless} flips: ${outcomes.failures} failures, ${outcomes.refusals} refusals, ${outcomes.harmless} harmless (${[...harmless].map(([space, count]) => `${count} in ${space}`).join(', ')})`,
  );
  assert.equal(outcomes.failures + outcomes.refusals + outcomes.harmless, 84 + sampleCount);
  assert.ok(outcomes.failures > sampleCount / 2, JSON.stringify(outcomes));
});

/** Runs `medledger audit-store` with `args` as a child process: exit code, stdout, stderr. */
function runCli(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'audit-store', ...args],
      { cwd: root, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

test('the CLI: exit 0 and a summary, exit 1 and the failure in one line (or JSON), exit 2 and one line on stderr', async () => {
  const genesisFile = path.join(base, 'genesis.json');
  const damaged = copyStore();
  const running = copyStore();
  const other = temporaryDirectory();
  const otherGenesis = path.join(other.directory, 'genesis.json');
  fs.writeFileSync(otherGenesis, JSON.stringify(storeGenesis({ chainId: 'another-chain' })));
  changeFile(damaged.file, (database) =>
    flipBlob(database, { table: 'blocks', column: 'receipts', where: 'height = 2' }),
  );
  const node = openChainStore({ directory: running.directory, genesis: storeGenesis() });
  try {
    const [clean, failed, json, missing, wrongChain, locked] = await Promise.all([
      // The genesis is found beside the data directory (<base>/genesis.json).
      runCli(['--data', dataDirectory()]),
      runCli(['--data', damaged.directory, '--genesis', genesisFile]),
      runCli(['--data', damaged.directory, '--genesis', genesisFile, '--json']),
      runCli(['--data', path.join(other.directory, 'absent'), '--genesis', genesisFile]),
      runCli(['--data', dataDirectory(), '--genesis', otherGenesis]),
      runCli(['--data', running.directory, '--genesis', genesisFile]),
    ]);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(
      clean.stdout,
      /^audit-store: ok: .*chain\.sqlite: chain "medledger-store-test" \(genesis [0-9a-f]{16}…\), heights 1 to 10, 400 transactions, log size 400 \(797 nodes\), \d+ state keys, 512 snapshot rows, signing record checked; \d+\.\d s\n$/,
    );
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stdout, /^audit-store: FAILED: blocks height 2: receipts: .+\n$/);
    assert.equal(json.code, 1, json.stderr);
    const parsed = JSON.parse(json.stdout) as { ok: boolean; failure: StoreAuditFailure };
    assert.equal(parsed.ok, false);
    assert.deepEqual(
      [parsed.failure.table, parsed.failure.row, parsed.failure.field],
      ['blocks', 'height 2', 'receipts'],
    );
    for (const [result, message] of [
      [
        missing,
        /(?:^|\n)medledger: audit-store: .*absent: expected the node's data directory, found nothing there\n$/,
      ],
      [
        wrongChain,
        /(?:^|\n)medledger: audit-store: .*chain\.sqlite belongs to another chain: its genesis is [0-9a-f]{16}…, the genesis document given \(chain "another-chain"\) hashes to [0-9a-f]{16}…\n$/,
      ],
      [
        locked,
        /(?:^|\n)medledger: audit-store: .*chain\.sqlite is locked: a running node \(or another process\) has it open; stop the node or copy its folder .*\n$/,
      ],
    ] as const) {
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
    }
  } finally {
    node.close();
    damaged.remove();
    running.remove();
    other.remove();
  }
});

test("the CLI finds the genesis through the node's config.json, else a genesis.json above the data", () => {
  const { directory, remove } = temporaryDirectory();
  try {
    // The layout of `medledger demo`: <net>/genesis.json, <net>/<org>/config.json, <org>/data.
    const organisation = path.join(directory, 'hospital');
    const data = path.join(organisation, 'data');
    fs.mkdirSync(data, { recursive: true });
    fs.mkdirSync(path.join(directory, 'genesis'));
    const config = (dataDir: string) => ({
      genesisFile: '../genesis/chain.json',
      keyFile: 'node.key',
      dataDir,
      p2p: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
    });
    fs.writeFileSync(path.join(organisation, 'config.json'), JSON.stringify(config('data')));
    assert.deepEqual(findGenesisFile(data), {
      file: path.join(directory, 'genesis', 'chain.json'),
      via: `genesisFile of ${path.join(organisation, 'config.json')}`,
    });
    // A configuration of another data directory is not this node's.
    fs.writeFileSync(path.join(organisation, 'config.json'), JSON.stringify(config('other')));
    assert.equal(findGenesisFile(data), null);
    fs.writeFileSync(path.join(directory, 'genesis.json'), '{}');
    assert.deepEqual(findGenesisFile(data), {
      file: path.join(directory, 'genesis.json'),
      via: 'beside the data directory',
    });
  } finally {
    remove();
  }
});
