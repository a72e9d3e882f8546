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

/** A closed store of 3 blocks of 8 transactions (log size 24 = 16 + 8) and its head. */
function builtStore(): { directory: string; remove: () => void; head: ChainStoreHead } {
  const { directory, remove } = temporaryDirectory();
  const store = openChainStore({ directory, genesis: storeGenesis() });
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

test('a changed state value: the rebuilt state root disagrees with the last header', () => {
  const { directory, remove } = builtStore();
  try {
    flipBlobByte({
      directory,
      table: 'state_current',
      column: 'value',
      where: 'key = (SELECT key FROM state_current ORDER BY key LIMIT 1 OFFSET 5)',
      offset: 3,
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
  const { directory, remove } = builtStore();
  try {
    changeFile(directory, (database) => {
      database
        .prepare('DELETE FROM state_current WHERE key = (SELECT max(key) FROM state_current)')
        .run();
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
    flipBlobByte({
      directory,
      table: 'state_changes',
      column: 'previous',
      where:
        'height = 3 AND key = (SELECT min(key) FROM state_changes WHERE height = 3 AND previous IS NOT NULL)',
      offset: 2,
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

test('a changed value written after the last checkpoint: the rebuilt state root disagrees', () => {
  const { directory, remove } = temporaryDirectory();
  try {
    const limits = { indexCheckpointBlocks: 2 };
    const store = openChainStore({ directory, genesis: storeGenesis(), limits });
    commitBlocks(store, { count: 3, txCount: 8 });
    store.close();
    // The twin first: checkpointed at height 2, with block 3's changes replayed, it opens.
    openChainStore({ directory, genesis: storeGenesis(), limits }).close();
    flipBlobByte({
      directory,
      table: 'state_changes',
      column: 'value',
      where:
        'height = 3 AND key = (SELECT min(key) FROM state_changes WHERE height = 3 AND value IS NOT NULL)',
      offset: 2,
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
    changeFile(built.directory, (database) => database.pragma('user_version = 2'));
    expectRefusal(
      built.directory,
      StoreErrorCode.foreign,
      /chain\.sqlite is a chain store of format 2; this MedLedger reads format 1$/,
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
