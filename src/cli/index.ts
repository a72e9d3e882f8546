// The CLI is an entry point; it also exports the pieces that the network tests and the
// benchmark reuse: local network files, node processes, the HTTP client and the demo's
// transaction builders.
export { runFoundationDemo } from './demo.ts';
export { makeEnrolPatient, makeAnchorRecord, type SignedTransaction } from './transactions.ts';
export {
  localHost,
  type LocalOrganisation,
  type LocalNode,
  findFreePorts,
  makeGenesisDocument,
  writeJsonFile,
  localNodeConfig,
  localVerifyThreads,
  createLocalNetwork,
} from './network-files.ts';
export {
  NodeProcess,
  colocatedNodeSettings,
  medledgerBin,
  nodeProcessEnvironment,
  nodeProcessLimits,
  tailOfFile,
} from './node-process.ts';
export {
  nodeClientTimeoutMs,
  type BlockView,
  type SubmitAnswer,
  parseNodeUrl,
  getJson,
  fetchStatus,
  fetchBlock,
  followBlockEvents,
  type BlockEventView,
  submitEncoded,
  submitBatch,
  type BatchItemAnswer,
} from './node-client.ts';
export { demoMarkerFile, demoLimits } from './demo-network.ts';
export {
  signContractTransaction,
  submitContractTransaction,
  type DemoUser,
  demoScopes,
  issueDemoToken,
  type FhirAnswer,
  fhirRequest,
  newConsentId,
  grantConsent,
  revokeConsent,
} from './records-client.ts';
export {
  recordsFiles,
  organisationOfNode,
  loadNodeTokenKey,
  startRecords,
  type RecordsWiring,
} from './start-records.ts';
export { securityAuditMetrics } from './security-audit-metrics.ts';
export {
  type DemoSeedNode,
  demoSeedLimits,
  demoPopulation,
  demoUserEntries,
  seedDemo,
} from './demo-seed.ts';
export {
  type DemoUserEntry,
  type DemoUsersDocument,
  type DemoSeedCounts,
  demoUsersFile,
  loginSlug,
  uniqueLoginNames,
  organisationPrefixes,
  makeDemoUsersDocument,
  loadDemoUsers,
  findDemoUser,
  exampleUsers,
  formatDemoUsers,
} from './demo-users.ts';
