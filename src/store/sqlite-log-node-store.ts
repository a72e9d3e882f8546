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

/** Rows per multi-row insert of log nodes: a block's ~4,000 nodes in ~63 statements. */
const rowsPerInsert = 64;

/**
 * `LogNodeStore` on the store's database. Writes are refused (`invalid-argument`) outside
 * `writing`, the window `commitBlock` opens inside its transaction, so a caller holding the
 * `HistoryLog` cannot append behind the store's back (the refused append changes nothing: the
 * log writes its leaf node before it touches its own state). Inside the window, nodes are
 * buffered and written at its end with multi-row inserts (one statement per 64 nodes instead of
 * one per node, bench/store.ts).
 */
export class SqliteLogNodeStore implements LogNodeStore {
  readonly #readNode: Statement;
  readonly #writeNode: Statement;
  readonly #writeNodes: Statement;
  #leafCount: number;
  #writable = false;
  /** Buffered writes: level, index, hash, … (flattened, as the multi-row insert binds them). */
  #buffered: (number | Uint8Array)[] = [];

  constructor(database: Database, leafCount: number) {
    this.#readNode = database.prepare(
      'SELECT hash FROM log_nodes WHERE level = ? AND node_index = ?',
    );
    this.#writeNode = database.prepare(
      'INSERT OR REPLACE INTO log_nodes (level, node_index, hash) VALUES (?, ?, ?)',
    );
    this.#writeNodes = database.prepare(
      `INSERT OR REPLACE INTO log_nodes (level, node_index, hash) VALUES ${Array.from(
        { length: rowsPerInsert },
        () => '(?, ?, ?)',
      ).join(', ')}`,
    );
    this.#leafCount = leafCount;
  }

  /**
   * Runs `write` with writes allowed, inside the caller's SQLite transaction, then writes the
   * buffered nodes. If `write` throws, nothing buffered is written and the caller rolls back.
   */
  writing<T>(write: () => T): T {
    assert(!this.#writable, 'log writes do not nest');
    this.#writable = true;
    try {
      const result = write();
      this.#flush();
      return result;
    } finally {
      this.#writable = false;
      this.#buffered = [];
    }
  }

  /** Sets the leaf count back after a rolled-back append (the rows rolled back with it). */
  reset(leafCount: number): void {
    assert(!this.#writable, 'no reset while writing');
    this.#leafCount = leafCount;
  }

  #flush(): void {
    const values = this.#buffered;
    const perInsert = rowsPerInsert * 3;
    let at = 0;
    for (; at + perInsert <= values.length; at += perInsert) {
      this.#writeNodes.run(values.slice(at, at + perInsert));
    }
    for (; at < values.length; at += 3) {
      this.#writeNode.run(values[at], values[at + 1], values[at + 2]);
    }
    this.#buffered = [];
  }

  readLeafCount(): number {
    return this.#leafCount;
  }

  writeLeafCount(count: number): void {
    this.#refuseOutsideCommit();
    this.#leafCount = count;
  }

  readNode(level: number, index: number): Hash | undefined {
    // The log reads no node while it appends; should it ever, it reads what it wrote.
    if (this.#buffered.length > 0) this.#flush();
    const row = this.#readNode.get(level, index) as { hash: unknown } | undefined;
    return row === undefined ? undefined : bytesOf(row.hash, `log node (${level}, ${index})`);
  }

  writeNode(level: number, index: number, hash: Hash): void {
    this.#refuseOutsideCommit();
    this.#buffered.push(level, index, hash.slice());
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
