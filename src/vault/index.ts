// The public surface of vault/, curated by hand: the encrypted off-chain record vault on SQLite or
// PostgreSQL, the record content hash, the KEK and its file, and HPKE sealing (see README.md).
export { VaultError, VaultErrorCode } from './errors.ts';
export { vaultLimits } from './limits.ts';
export {
  canonicalResourceBytes,
  recordContentHash,
  recordContentHashTag,
  recordSaltBytes,
  type FhirResourceJson,
} from './record-content-hash.ts';
export type {
  RecordVault,
  RecordVersionMeta,
  PutRecordInput,
  PutRecordResult,
  VaultRecord,
  ListRecordsQuery,
  ListRecordsPage,
  ErasedVersion,
} from './record-vault.ts';
export { openSqliteRecordVault } from './sqlite-record-vault.ts';
export { openPostgresRecordVault, postgresVaultSchemaDefault } from './postgres-record-vault.ts';
export {
  type VaultKek,
  vaultKekBytes,
  generateVaultKek,
  vaultKekFromBytes,
  vaultKekIdOf,
} from './kek.ts';
export {
  saveVaultKekFile,
  loadVaultKekFile,
  vaultKekFileKind,
  vaultKekFileVersion,
} from './kek-file.ts';
export { x25519PublicKeyFromEd25519, x25519KeyPairFromEd25519 } from './x25519-from-ed25519.ts';
export { randomPoolBytes } from './random-pool.ts';
export {
  sealRecordForPeer,
  openSealedRecord,
  encodeSealingInfo,
  sealedEncBytes,
  type SealingInfo,
  type SealedRecord,
} from './seal-record.ts';
