// The public surface of src/store, curated by hand: the node's durable chain store on SQLite
// (see README.md).
export { StoreError, StoreErrorCode } from './errors.ts';
export { storeLimits } from './limits.ts';
export type {
  ChainStore,
  ChainStoreHead,
  ChainStoreStats,
  CommitBlockEntry,
  TransactionLocation,
} from './chain-store.ts';
export type { StateMemoryStats } from './state-versions.ts';
export { openChainStore } from './open-chain-store.ts';
export { chainStoreFileName } from './sqlite-schema.ts';
export { encodeReceipts, decodeReceipts } from './receipt-schema.ts';
export type {
  AuditChainStoreOptions,
  SigningRecordCheck,
  StoreAuditFailure,
  StoreAuditProgress,
  StoreAuditResult,
  StoreAuditSummary,
} from './audit-store.ts';
export { StoreAuditTable, auditChainStore } from './audit-store.ts';
export {
  type AnchoredSecurityLogHead,
  type SecurityAuditAnchorCheck,
  type SecurityAuditLogBounds,
  type SecurityAuditLogReader,
  openSecurityAuditLogReader,
  type SecurityAuditCheck,
  type SecurityAuditEntry,
  type SecurityAuditFilter,
  type SecurityAuditLogLimits,
  type SecurityAuditLogStats,
  type SecurityAuditPage,
  type SecurityAuditRow,
  type SqliteSecurityAuditLog,
  openSecurityAuditLog,
  securityAuditRowHash,
  securityAuditLogApplicationId,
} from './security-audit-log.ts';
