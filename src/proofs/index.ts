// The public surface of src/proofs, curated by hand: building verification bundles and raw
// proofs from a node's committed chain (see README.md).
export {
  type ProofSource,
  type TransactionPlace,
  ProofsError,
  ProofsErrorCode,
  signedHeaderJson,
  stateProofJson,
  transactionInclusionJson,
  buildRecordVersionBundle,
  buildErasureBundle,
  buildConsentStateBundle,
  buildAccessLogBundle,
  buildLogHeadBundle,
} from './build-bundle.ts';
