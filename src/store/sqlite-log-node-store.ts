/**
 * The history log's nodes in SQLite: merkle's `LogNodeStore` over the table `log_nodes (level,
 * node_index, hash)`. The leaf count is the head's `log_size`, written with the head in the same
 * transaction, so nodes and count never disagree after a crash.
 */
import { assert } from '../base/index.ts';
import type { Hash } from '../crypto/index.ts';
import type { LogNodeStore } from '../merkle/index.ts';

import type { Database, Statement } from './sqlite.ts';
import { StoreError, StoreErrorCode } from './errors.ts';
import { bytesOf } from './sqlite.ts';

/**
 * `LogNodeStore` on the store's database. Writes are refused (`invalid-argument`) outside
 * `writing`, the window `commitBlock` opens inside its transaction, so a caller holding the
 * `HistoryLog` cannot append behind the store's back (the refused append changes nothing: the
 * log writes its leaf node before it touches its own state).
 */
export class SqliteLogNodeStore implements LogNodeStore {
  readonly #readNode: Statement;
  readonly #writeNode: Statement;
  #leafCount: number;
  #writable = false;

  constructor(database: Database, leafCount: number) {
    this.#readNode = database.prepare(
      'SELECT hash FROM log_nodes WHERE level = ? AND node_index = ?',
    );
    this.#writeNode = database.prepare(
      'INSERT OR REPLACE INTO log_nodes (level, node_index, hash) VALUES (?, ?, ?)',
    );
    this.#leafCount = leafCount;
  }

  /** Runs `write` with writes allowed (inside the caller's SQLite transaction). */
  writing<T>(write: () => T): T {
    assert(!this.#writable, 'log writes do not nest');
    this.#writable = true;
    try {
      return write();
    } finally {
      this.#writable = false;
    }
  }

  readLeafCount(): number {
    return this.#leafCount;
  }

  writeLeafCount(count: number): void {
    this.#refuseOutsideCommit();
    this.#leafCount = count;
  }

  readNode(level: number, index: number): Hash | undefined {
    const row = this.#readNode.get(level, index) as { hash: unknown } | undefined;
    return row === undefined ? undefined : bytesOf(row.hash, `log node (${level}, ${index})`);
  }

  writeNode(level: number, index: number, hash: Hash): void {
    this.#refuseOutsideCommit();
    this.#writeNode.run(level, index, hash);
  }

  #refuseOutsideCommit(): void {
    if (!this.#writable) {
      throw new StoreError(
        StoreErrorCode.invalidArgument,
        'the history log is read-only outside commitBlock: append through commitBlock',
      );
    }
  }
}
