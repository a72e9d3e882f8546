// Checks that a store refuses to open when its last block, state and log disagree: each test
// builds a real store, changes one byte (or row) of its SQLite file directly with better-sqlite3,
// and checks the StoreError's code and message (what disagrees, the height, expected and found);
// also garbage, foreign and future-format files, and random byte flips of the raw file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import BetterSqlite3 from 'better-sqlite3';

import { stateTreeRootHash } from '../../src/merkle/index.ts';
import {
  type ChainStoreHead,
  StoreError,
  StoreErrorCode,
  chainStoreFileName,
  openChainStore,
} from '../../src/store/index.ts';
import { assertStoreError, commitBlocks, storeGenesis, temporaryDirectory } from './fixtures.ts';

/**
 * A closed store of 3 blocks of 8 transactions (log size 24 = 16 + 8) and its head. With the
 * default snapshot pace the complete snapshot is genesis' and all three blocks' changes are
 * replayed at open; with `snapshotEveryBlock`, each block completes a snapshot generation.
 */
function builtStore(options: { snapshotEveryBlock?: boolean } = {}): {
  directory: string;
  remove: () => void;
  head: ChainStoreHead;
} {
  const { directory, remove } = temporaryDirectory();
  const store = openChainStore({
    directory,
    genesis: storeGenesis(),
    limits: options.snapshotEveryBlock === true ? { stateSnapshotEntriesPerChange: 1000 } : {},
  });
  commitBlocks(store, { count: 3, txCount: 8 });
  const head = store.head();
  store.close();
  return { directory, remove, head };
}

/** Runs `change` on the store's SQLite file, opened directly. */
function changeFile(directory: string, change: (database: BetterSqlite3.Database) => void): void {
  const database = new BetterSqlite3(path.join(directory, chainStoreFileName));
  try {
    change(database);
  } finally {
    database.close();
  }
}

/** Flips the low bit of byte `offset` of BLOB `column` in the rows `where` selects. */
function flipBlobByte(options: {
  directory: string;
  table: string;
  column: string;
  where: string;
  offset?: number;
}): void {
  changeFile(options.directory, (database) => {
    const row = database
      .prepare(`SELECT ${options.column} AS value FROM ${options.table} WHERE ${options.where}`)
      .get() as { value: Buffer } | undefined;
    assert.ok(row !== undefined, `a row of ${options.table} where ${options.where}`);
    const value = Buffer.from(row.value);
    value[options.offset ?? 0]! ^= 1;
    const changed = database
      .prepare(`UPDATE ${options.table} SET ${options.column} = ? WHERE ${options.where}`)
      .run(value);
    assert.equal(changed.changes, 1);
  });
}

/**
 * Offsets in a packed state record (the store's layout: u32 count, then per entry a 32-byte key
 * and `valuesPerEntry` values, each a u32 length, 0xffffffff for none, and its bytes) of the
 * first byte of every present value, as [entry, value number, offset, length].
 */
function valueOffsets(
  blob: Uint8Array,
  valuesPerEntry: number,
): [number, number, number, number][] {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const count = view.getUint32(0);
  const found: [number, number, number, number][] = [];
  let at = 4;
  for (let entry = 0; entry < count; entry++) {
    at += 32;
    for (let value = 0; value < valuesPerEntry; value++) {
      const length = view.getUint32(at);
      at += 4;
      if (length === 0xffff_ffff) continue;
      found.push([entry, value, at, length]);
      at += length;
    }
  }
  assert.equal(at, blob.length, 'the record is parsed to its end');
  return found;
}

/** The blob of `column` in the one row `where` selects. */
function readBlob(directory: string, table: string, column: string, where: string): Uint8Array {
  let blob: Uint8Array | undefined;
  changeFile(directory, (database) => {
    const row = database.prepare(`SELECT ${column} AS value FROM ${table} WHERE ${where}`).get() as
      { value: Buffer } | undefined;
    assert.ok(row !== undefined, `a row of ${table} where ${where}`);
    blob = new Uint8Array(row.value);
  });
  return blob!;
}

/** The complete snapshot generation's first range that holds an entry. */
const firstFullRange =
  'generation = (SELECT snapshot_generation FROM head) AND key_range = (SELECT min(key_range) FROM state_snapshot WHERE generation = (SELECT snapshot_generation FROM head) AND length(entries) > 4)';

function expectRefusal(directory: string, code: StoreErrorCode, message: RegExp): void {
  assertStoreError(() => openChainStore({ directory, genesis: storeGenesis() }), code, message);
}

const hex = '[0-9a-f]{16}…';

test('an untouched store opens (the twin of every refusal below)', () => {
  const { directory, remove, head } = builtStore();
  try {
    const store = openChainStore({ directory, genesis: storeGenesis() });
    assert.deepEqual(store.head(), head);
    assert.deepEqual(stateTreeRootHash(store.state()), head.stateRoot);
    store.close();
  } finally {
    remove();
  }
});

test('a changed log node on the right edge: the log root disagrees with the last header', () => {
  const { directory, remove } = builtStore();
  try {
    flipBlobByte({
      directory,
      table: 'log_nodes',
      column: 'hash',
      where: 'level = 4 AND node_index = 0',
    });
    expectRefusal(
      directory,
      StoreErrorCode.inconsistent,
      new RegExp(
        `^log root at height 3 \\(size 24\\): expected ${hex} \\(the last block's header\\), found ${hex} \\(rebuilt from the stored log nodes\\)$`,
      ),
    );
  } finally {
    remove();
  }
});

test("a changed leaf of the last block: the log's last leaves disagree with its transactions", () => {
  const { directory, remove } = builtStore();
  try {
    flipBlobByte({
      directory,
      table: 'log_nodes',
      column: 'hash',
      where: 'level = 0 AND node_index = 23',
    });
    expectRefusal(
      directory,
      StoreErrorCode.inconsistent,
      new RegExp(
        `^log leaf 23 at height 3: expected the leaf of transaction ${hex}, found leaf hash ${hex}$`,
      ),
    );
  } finally {
    remove();
  }
});

test('a missing log node: the stored log is incomplete', () => {
  const { directory, remove } = builtStore();
  try {
    changeFile(directory, (database) => {
      database.prepare('DELETE FROM log_nodes WHERE level = 3 AND node_index = 2').run();
    });
    expectRefusal(
      directory,
      StoreErrorCode.inconsistent,
      /^log root at height 3: the stored log nodes for size 24 are incomplete/,
    );
  } finally {
    remove();
  }
});

test('a changed value in the state snapshot: the rebuilt state root disagrees with the last header', () => {
  const { directory, remove } = builtStore({ snapshotEveryBlock: true });
  try {
    // The twin first: the store opens, its snapshot taken at the head (nothing replayed).
    openChainStore({ directory, genesis: storeGenesis() }).close();
    const blob = readBlob(directory, 'state_snapshot', 'entries', firstFullRange);
    flipBlobByte({
      directory,
      table: 'state_snapshot',
      column: 'entries',
      where: firstFullRange,
      offset: valueOffsets(blob, 1)[0]![2] + 1,
    });
    expectRefusal(
      directory,
      StoreErrorCode.inconsistent,
      new RegExp(
        `^state root at height 3 \\(\\d+ keys\\): expected ${hex} \\(the last block's header\\), found ${hex} \\(rebuilt from the stored state\\)$`,
      ),
    );
  } finally {
    remove();
  }
});

test('a missing state key: the rebuilt state root disagrees with the last header', () => {
  const { directory, remove } = builtStore({ snapshotEveryBlock: true });
  try {
    const blob = readBlob(directory, 'state_snapshot', 'entries', firstFullRange);
    const [, , offset, length] = valueOffsets(blob, 1)[0]!;
    // The range without its first entry: one key fewer, everything else the same.
    const shorter = new Uint8Array(blob.length - (offset + length - 4));
    new DataView(shorter.buffer).setUint32(0, new DataView(blob.buffer).getUint32(0) - 1);
    shorter.set(blob.subarray(offset + length), 4);
    changeFile(directory, (database) => {
      database
        .prepare(`UPDATE state_snapshot SET entries = ? WHERE ${firstFullRange}`)
        .run(shorter);
    });
    expectRefusal(
      directory,
      StoreErrorCode.inconsistent,
      /^state root at height 3 \(\d+ keys\): expected/,
    );
  } finally {
    remove();
  }
});

test("a changed head hash: the head disagrees with the last block's header", () => {
  const { directory, remove } = builtStore();
  try {
    flipBlobByte({ directory, table: 'head', column: 'block_hash', where: 'id = 1', offset: 0 });
    expectRefusal(
      directory,
      StoreErrorCode.inconsistent,
      new RegExp(
        `^block hash at height 3: expected ${hex} \\(the last block's header\\), found ${hex} \\(the stored head\\)$`,
      ),
    );
  } finally {
    remove();
  }
});

test("a changed head state root or log size: named against the last block's header", () => {
  const { directory, remove } = builtStore();
  try {
    flipBlobByte({ directory, table: 'head', column: 'state_root', where: 'id = 1' });
    expectRefusal(
      directory,
      StoreErrorCode.inconsistent,
      new RegExp(
        `^state root at height 3: expected ${hex} \\(the last block's header\\), found ${hex}`,
      ),
    );
    flipBlobByte({ directory, table: 'head', column: 'state_root', where: 'id = 1' });
    changeFile(directory, (database) => database.prepare('UPDATE head SET log_size = 23').run());
    expectRefusal(
      directory,
      StoreErrorCode.inconsistent,
      /^log size at height 3: expected 24 \(the last block's header\), found 23 \(the stored head\)$/,
    );
  } finally {
    remove();
  }
});

test("a changed stored block hash: the blocks table disagrees with the block's header", () => {
  const { directory, remove } = builtStore();
  try {
    flipBlobByte({ directory, table: 'blocks', column: 'hash', where: 'height = 3' });
    expectRefusal(
      directory,
      StoreErrorCode.inconsistent,
      new RegExp(
        `^block hash at height 3: expected ${hex} \\(the stored block's header\\), found ${hex} \\(the blocks table\\)$`,
      ),
    );
  } finally {
    remove();
  }
});

test('a truncated last block is corrupt; a missing last block leaves the head pointing past the end', () => {
  const { directory, remove } = builtStore();
  try {
    changeFile(directory, (database) =>
      database
        .prepare('UPDATE blocks SET block = substr(block, 1, length(block) - 1) WHERE height = 3')
        .run(),
    );
    expectRefusal(directory, StoreErrorCode.corrupt, /^block at height 3 does not decode: /);
    changeFile(directory, (database) =>
      database.prepare('DELETE FROM blocks WHERE height = 3').run(),
    );
    expectRefusal(
      directory,
      StoreErrorCode.inconsistent,
      /^last block: the head says height 3, the blocks table ends at height 2$/,
    );
  } finally {
    remove();
  }
});

test('a changed state change row: the store opens, and rebuilding that height is refused', () => {
  const { directory, remove, head } = builtStore();
  try {
    const blob = readBlob(directory, 'state_changes', 'changes', 'height = 3');
    const previous = valueOffsets(blob, 2).find(([, value]) => value === 0)!;
    flipBlobByte({
      directory,
      table: 'state_changes',
      column: 'changes',
      where: 'height = 3',
      offset: previous[2] + 1,
    });
    const store = openChainStore({ directory, genesis: storeGenesis() });
    assert.deepEqual(store.head(), head);
    // Height 3 is the head, kept in memory; height 2 undoes block 3's changes, the changed one too.
    assert.ok(store.stateAt(3) !== null);
    assertStoreError(
      () => store.stateAt(2),
      StoreErrorCode.inconsistent,
      new RegExp(
        `^state root at height 2 rebuilt from the change table: expected ${hex}, found ${hex}$`,
      ),
    );
    store.close();
  } finally {
    remove();
  }
});

test('a changed value written after the last snapshot: the rebuilt state root disagrees', () => {
  const { directory, remove } = builtStore();
  try {
    // The twin first: the genesis snapshot with the three blocks' changes replayed opens.
    openChainStore({ directory, genesis: storeGenesis() }).close();
    const blob = readBlob(directory, 'state_changes', 'changes', 'height = 3');
    const value = valueOffsets(blob, 2).find(([, which]) => which === 1)!;
    flipBlobByte({
      directory,
      table: 'state_changes',
      column: 'changes',
      where: 'height = 3',
      offset: value[2] + 1,
    });
    expectRefusal(
      directory,
      StoreErrorCode.inconsistent,
      new RegExp(
        `^state root at height 3 \\(\\d+ keys\\): expected ${hex} \\(the last block's header\\)`,
      ),
    );
  } finally {
    remove();
  }
});

test('a missing snapshot range, or a truncated change record: refused, naming what is wrong', () => {
  const { directory, remove } = builtStore();
  try {
    changeFile(directory, (database) => {
      database.prepare('DELETE FROM state_snapshot WHERE key_range = 7').run();
    });
    expectRefusal(
      directory,
      StoreErrorCode.inconsistent,
      /^state snapshot generation 1: expected 256 key ranges, found 255$/,
    );
  } finally {
    remove();
  }
  const built = builtStore();
  try {
    changeFile(built.directory, (database) => {
      database
        .prepare(
          'UPDATE state_changes SET changes = substr(changes, 1, length(changes) - 1) WHERE height = 2',
        )
        .run();
    });
    expectRefusal(
      built.directory,
      StoreErrorCode.corrupt,
      /^state changes of block 2: expected \d+ more bytes at offset \d+ of \d+$/,
    );
  } finally {
    built.remove();
  }
});

test('a garbage file is not a chain store: corrupt, with a clear message', () => {
  const { directory, remove } = temporaryDirectory();
  try {
    let x = 12345;
    const garbage = Buffer.alloc(8192, 0).map(() => {
      x = (x * 1103515245 + 12345) >>> 0;
      return x >>> 24;
    });
    fs.writeFileSync(path.join(directory, chainStoreFileName), garbage);
    expectRefusal(
      directory,
      StoreErrorCode.corrupt,
      /chain\.sqlite is not a readable MedLedger chain store \(opening the chain store\): file is not a database \(SQLITE_NOTADB\)$/,
    );
  } finally {
    remove();
  }
});

test("another application's SQLite file, or a future store format, is foreign", () => {
  const { directory, remove } = temporaryDirectory();
  try {
    changeFile(directory, (database) => database.exec('CREATE TABLE patients (name TEXT)'));
    expectRefusal(
      directory,
      StoreErrorCode.foreign,
      /chain\.sqlite is a SQLite database of another application: expected application_id 0x4d4c4353 \(MedLedger chain store\), found 0x0$/,
    );
  } finally {
    remove();
  }
  const built = builtStore();
  try {
    changeFile(built.directory, (database) => database.pragma('user_version = 3'));
    expectRefusal(
      built.directory,
      StoreErrorCode.foreign,
      /chain\.sqlite is a chain store of format 3; this MedLedger reads format 2$/,
    );
  } finally {
    built.remove();
  }
});

test('random byte flips in the raw file: the store opens unchanged or refuses with a StoreError', () => {
  const { directory, remove, head } = builtStore();
  const file = path.join(directory, chainStoreFileName);
  const original = fs.readFileSync(file);
  const outcomes = { opened: 0, refused: 0 };
  try {
    for (let seed = 1; seed <= 200; seed++) {
      // A multiplicative hash of the seed picks the byte and the bit, so each seed replays.
      const position = Math.imul(seed, 2654435761) >>> 0;
      const bytes = Buffer.from(original);
      bytes[position % bytes.length]! ^= 1 << (seed % 8);
      fs.writeFileSync(file, bytes);
      try {
        const store = openChainStore({ directory, genesis: storeGenesis() });
        assert.deepEqual(store.head(), head, `seed ${seed}: an opened store has the same head`);
        store.close();
        outcomes.opened++;
      } catch (error) {
        assert.ok(
          error instanceof StoreError,
          `seed ${seed} (byte ${position % bytes.length}): expected a StoreError, got ${String(error)}`,
        );
        outcomes.refused++;
      }
    }
    assert.equal(outcomes.opened + outcomes.refused, 200);
    // The seeds are fixed: some flips land in bytes the open reads, and those are refused.
    assert.ok(outcomes.refused > 0, `refused ${outcomes.refused} of 200`);
  } finally {
    remove();
  }
});
