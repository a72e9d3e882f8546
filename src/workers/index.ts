// The public surface of workers/: Ed25519 verification on worker threads (see README.md).
export {
  createVerifyPool,
  verifyPoolLimits,
  type VerifyItem,
  type VerifyPool,
  type VerifyPoolStats,
} from './verify-pool.ts';
export { VerifyPoolError, VerifyPoolErrorCode } from './errors.ts';
