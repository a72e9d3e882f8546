// The public surface of fhir/: validation, errors and OperationOutcome, search, Bundles,
// CapabilityStatement and resource metadata for the FHIR R4 API (see README.md).
export { fhirLimits } from './limits.ts';
export {
  clinicalResourceTypes,
  chainViewResourceTypes,
  supportedResourceTypes,
  type ClinicalResourceType,
  type ChainViewResourceType,
  type SupportedResourceType,
  isSupportedResourceType,
  isClinicalResourceType,
  isFhirId,
} from './resource-types.ts';
export {
  FhirError,
  FhirIssueType,
  type FhirErrorStatus,
  type FhirErrorOptions,
  fhirIssueTypesOfStatus,
  fhirStatusOfIssueType,
  operationOutcome,
  informationOutcome,
  suppressedIssue,
  preconditionFailed,
  outcomeOfError,
} from './operation-outcome.ts';
export { loadDefinitions } from './load-definitions.ts';
export {
  validateResource,
  assertValidResource,
  parseResourceJson,
  jsonBoundsProblem,
  type ValidateResourceOptions,
} from './validate-resource.ts';
export {
  checkRequiredBindings,
  uncheckableRequiredBindings,
  valueSetCodes,
  type UncheckableBinding,
} from './check-required-bindings.ts';
export {
  searchParametersOf,
  supportedSearchParameterTypes,
  type SearchParameterDefinition,
  type SearchParameterType,
} from './search-parameters.ts';
export {
  parseSearchRequest,
  ignoredSearchParameters,
  datePrefixes,
  type DatePrefix,
  type SearchParams,
  type SearchRequest,
  type SearchFilter,
  type SortKey,
  type IncludeRequest,
} from './parse-search.ts';
export { matchesSearch, normaliseReference } from './match-search.ts';
export { parseDateRange, periodRange, type DateRange } from './date-range.ts';
export {
  searchResources,
  sortResources,
  type SearchResourcesOptions,
  type SearchResult,
} from './search-resources.ts';
export { historyBundle, type HistoryVersion } from './history-bundle.ts';
export {
  planTransaction,
  planBatch,
  rewriteReferences,
  transactionResponseBundle,
  batchResponseBundle,
  type NewId,
  type BatchEntryPlan,
  type TransactionOperation,
  type TransactionPlan,
  type TransactionEntryResult,
  type FailedEntryResult,
  type BundleEntryResult,
} from './plan-transaction.ts';
export { parseIfNoneExist, decideConditionalCreate } from './conditional-create.ts';
export {
  capabilityStatement,
  oauthUrisExtensionUrl,
  type CapabilityStatementOptions,
} from './capability-statement.ts';
export {
  withServerMeta,
  formatEtag,
  parseEtag,
  assertIfMatch,
  versionLocation,
  isFhirInstant,
} from './resource-version.ts';
export {
  securityLabelsOf,
  confidentialitySystem,
  actCodeSystem,
  confidentialityCodes,
  sensitivityCodes,
  type ConfidentialityCode,
  type SensitivityCode,
  type SecurityLabels,
} from './security-labels.ts';
export { patientReferenceOf, patientIdOfReference } from './patient-reference.ts';
export {
  FhirViewError,
  FhirViewErrorCode,
  ConsentSystem,
  consentCategoryCode,
  consentPolicyRules,
  consentPurposes,
  consentConfidentialityCodes,
  consentSensitivityCodes,
  fhirInstant,
  actorReference,
  type ConsentViewOptions,
  type ConsentGrantOptions,
  consentToGrantBody,
  consentGrantTransactionBody,
  consentRecordToFhir,
} from './consent-resource.ts';
export {
  AuditSystem,
  type CommittedAt,
  type AuditEventViewOptions,
  provisionFhirPath,
  auditEventRecordToFhir,
  breakGlassAuditEvent,
} from './audit-event-resource.ts';
export {
  ProvenanceSystem,
  authorSignatureType,
  provenanceLimits,
  type ProvenanceActivity,
  type ProvenanceJwsHeader,
  type ProvenanceSigningInput,
  type ProvenanceWrite,
  versionedReference,
  provenanceSigningInput,
  provenanceForWrite,
  provenanceSignatureOf,
} from './provenance-resource.ts';
