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
export const chainStoreFormatVersion = 1;

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
 * The tables, created in one transaction with the genesis rows. Every block appends to `blocks`,
 * `log_nodes` and `state_changes` (keys that grow with the height, so appends touch few pages).
 * The two tables keyed by hashes, `state_current` and `transactions`, take random inserts that
 * each dirty a page, so they are brought up to date only every `indexCheckpointBlocks` blocks
 * (at `head.checkpoint_height`), from the appended rows, in the transaction of that block.
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
  checkpoint_height INTEGER NOT NULL
);
CREATE TABLE blocks (
  height INTEGER PRIMARY KEY,
  hash BLOB NOT NULL,
  block BLOB NOT NULL,
  commit_certificate BLOB NOT NULL,
  receipts BLOB NOT NULL,
  tx_ids BLOB NOT NULL
);
CREATE TABLE transactions (
  tx_id BLOB PRIMARY KEY,
  height INTEGER NOT NULL,
  tx_index INTEGER NOT NULL,
  log_index INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE log_nodes (
  level INTEGER NOT NULL,
  node_index INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, node_index)
) WITHOUT ROWID;
CREATE TABLE state_current (
  key BLOB PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE state_changes (
  height INTEGER NOT NULL,
  key BLOB NOT NULL,
  previous BLOB,
  value BLOB,
  PRIMARY KEY (height, key)
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
