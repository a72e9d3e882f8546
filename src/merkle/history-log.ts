/**
 * The history log (DESIGN.md "The chain"): one append-only RFC 9162 §2.1 Merkle tree over every
 * committed transaction hash, its node storage, its proofs and their verifiers.
 *
 * Everything exported here carries a `Log`/`log` name (or `HistoryLog`) so that it never clashes
 * with the state tree's exports in `merkle/index.ts`.
 */
export { logSizeMax, logLeafBytesMax } from './log-limits.ts';
export { LogErrorCode, HistoryLogError } from './log-errors.ts';
export { logEmptyRoot, logLeafHash, logNodeHash } from './log-hash.ts';
export { type LogNodeStore, MemoryLogNodeStore, memoryLogChunkNodes } from './log-node-store.ts';
export { HistoryLog, type LogInclusionProof, type LogConsistencyProof } from './log-tree.ts';
export { logRootAfterAppend } from './log-root-after.ts';
export {
  verifyLogInclusion,
  type LogInclusionClaim,
  type LogInclusionVerified,
} from './log-verify-inclusion.ts';
export {
  verifyLogConsistency,
  type LogConsistencyClaim,
  type LogConsistencyVerified,
} from './log-verify-consistency.ts';
