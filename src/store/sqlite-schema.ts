/**
 * The store's SQLite file: its name, the numbers that mark it as a MedLedger chain store, the
 * pragmas that make every commit durable, and the tables (decision 0030).
 */

/** The database file inside the store's directory. */
export const chainStoreFileName = 'chain.sqlite';

/**
 * SQLite `application_id` of a chain store: the ASCII bytes "MLCS" (MedLedger chain store), so
 * a MedLedger store is told apart from any other SQLite file (SQLite file format §1.3).
 */
export const chainStoreApplicationId = 0x4d4c4353;

/** SQLite `user_version`: the store format. A store of another format is refused, not migrated. */
export const chainStoreFormatVersion = 2;

/**
 * Pragmas set on every open, before anything is read: one exclusive lock for the life of the
 * connection (a second process opening the store is refused), the write-ahead log, and
 * `synchronous = FULL`, so every committed transaction is fsynced before the commit returns
 * (sqlite.org/pragma.html#pragma_synchronous, sqlite.org/wal.html).
 */
export const chainStorePragmas = [
  'locking_mode = EXCLUSIVE',
  'journal_mode = WAL',
  'synchronous = FULL',
  'foreign_keys = OFF',
  'cache_size = -16384',
  'wal_autocheckpoint = 4096',
] as const;

/**
 * Ranges of the state snapshot: the key space split by the first key byte (keys are hashes, so
 * each range holds about 1/256 of the state). Part of the format: a store of another count is
 * another format.
 */
export const stateSnapshotRanges = 256;

/**
 * The tables, created in one transaction with the genesis rows (decision 0031). Every block
 * appends one `blocks` row (with its state changes and transaction ids as BLOBs), its history
 * log nodes, one `state_changes` row (its changes packed in one BLOB), and rewrites a few ranges
 * of the state snapshot; nothing is keyed by a hash, so a commit touches few pages. The columns
 * read at open (`log_size`, `tx_ids`) come before the large BLOBs, and the changes have their own
 * table, so that reading them does not walk the blocks' overflow pages. `state_snapshot` holds, per generation, one row per key range, each
 * written at some height from the head's state; generation `head.snapshot_generation` is
 * complete, and the state at the head is it plus the changes of the blocks after
 * `head.snapshot_height` (the height its first range was written at), replayed in order.
 */
export const chainStoreTables = `
CREATE TABLE meta (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  height INTEGER NOT NULL,
  block_hash BLOB NOT NULL,
  time INTEGER NOT NULL,
  state_root BLOB NOT NULL,
  log_size INTEGER NOT NULL,
  log_root BLOB NOT NULL,
  snapshot_generation INTEGER NOT NULL,
  snapshot_height INTEGER NOT NULL,
  building_range INTEGER NOT NULL,
  building_height INTEGER NOT NULL
);
CREATE TABLE blocks (
  height INTEGER PRIMARY KEY,
  hash BLOB NOT NULL,
  log_size INTEGER NOT NULL,
  tx_ids BLOB NOT NULL,
  block BLOB NOT NULL,
  commit_certificate BLOB NOT NULL,
  receipts BLOB NOT NULL
);
CREATE TABLE state_changes (
  height INTEGER PRIMARY KEY,
  changes BLOB NOT NULL
);
CREATE TABLE log_nodes (
  level INTEGER NOT NULL,
  node_index INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, node_index)
) WITHOUT ROWID;
CREATE TABLE state_snapshot (
  generation INTEGER NOT NULL,
  key_range INTEGER NOT NULL,
  height INTEGER NOT NULL,
  entries BLOB NOT NULL,
  PRIMARY KEY (generation, key_range)
) WITHOUT ROWID;
`;

/** Names of the rows of `meta`. */
export const MetaName = {
  /** `genesisDocumentHash` of the genesis the store was made for (32 bytes). */
  genesisHash: 'genesis-hash',
  /** The state root at height 0 (32 bytes). */
  genesisStateRoot: 'genesis-state-root',
  /** The consensus signing record, as the node encoded it. */
  signingRecord: 'signing-record',
} as const;
