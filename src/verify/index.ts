// The public surface of src/verify, curated by hand: the verification bundle's format and the
// offline verifier that checks it from the genesis document alone (see README.md).
export { VerifyError, VerifyErrorCode } from './errors.ts';
export { verifyLimits } from './limits.ts';
export {
  bundleFormat,
  bundleVersion,
  bundleKinds,
  type BundleKind,
  type VerificationBundle,
  type SignedHeaderJson,
  type StateProofJson,
  type ValidatorChangeJson,
  type TransactionInclusionJson,
  type RecordVersionClaimJson,
  type ErasureClaimJson,
  type ConsentStateClaimJson,
  type AccessLogClaimJson,
  type LogHeadClaimJson,
  parseBundle,
  parseBundleText,
} from './bundle-format.ts';
export { type TrustedGenesis, type CertifiedHeader, trustGenesis } from './light-client.ts';
export {
  type VerifiedBundle,
  type VerifiedClaim,
  type VerifiedHead,
  type VerifiedTransaction,
  type VerifiedRecordVersion,
  type VerifiedAuditEvent,
  verifyBundle,
  verifyHeadExtends,
} from './verify-bundle.ts';
export { summariseVerifiedBundle, isoTime } from './summary.ts';
