// The public surface of records/: the records service behind the FHIR API (see README.md).
export {
  RecordsService,
  type RecordsServiceOptions,
  type RecordsRequestContext,
} from './records-service.ts';
export type { RecordsNode } from './records-node.ts';
export { AuditBatcher } from './audit-batcher.ts';
export {
  recordsLimits,
  defaultPurposeOfUse,
  breakGlassReviewLimits,
  securityAuditLimits,
} from './limits.ts';
export {
  SecurityAudit,
  MemorySecurityAuditStore,
  auditedPath,
  interactionOf,
  type SecurityAuditCounts,
  type SecurityAuditStore,
  type SecurityAuditStoreEntry,
  type SecurityAuditStoreFilter,
  type SecurityAuditStoreRow,
  type SecurityLogReader,
  type SecurityRefusal,
} from './security-audit.ts';
export {
  SecurityLogAnchorer,
  type SecurityLogAnchorCounts,
  type SecurityLogAnchorOutcome,
  type SecurityLogHeadSource,
} from './security-log-anchorer.ts';
export {
  ShareRequestSchema,
  ShareResponseSchema,
  type ShareRequest,
  type ShareResponse,
  shareOutcomes,
  shareAad,
} from './share-protocol.ts';
