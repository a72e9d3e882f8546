/**
 * Every tunable number of the contracts, named with its unit, in one place (STYLE.md "Limits").
 * Network-wide policy that members may change by vote lives in the state (`NetworkPolicy`); its
 * genesis defaults are `defaultNetworkPolicy` below.
 */

/** Hard bounds of contract inputs and state objects: what exceeds them is refused. */
export const contractLimits = {
  /** Most cost units one transaction may use (see `contractCost`). */
  txCostMax: 40_000,
  /** Most audit events in one `access.record` batch. */
  auditBatchEventsMax: 256,
  /**
   * Most anchors in one `record.anchor-batch` (decision 0058). Bound by the chain's transaction
   * size, not by cost: the worst anchor the records service writes (a 64-byte custodian id, the
   * longest clinical type, all 8 chain labels) is about 200 bytes, so 256 of them in a
   * transaction with a 64-byte chain id take 52,170 bytes of `txBytesMax`' 65,536 (500 would
   * take 101,702), and cost 8,705 units (about 34 per anchor; 500 would cost about 17,000 of
   * `txCostMax`' 40,000). Pinned by test/contracts/anchor-batch.test.ts.
   */
  recordAnchorBatchMax: 256,
  /** Most consents (active or revoked) stored for one patient. */
  consentsPerPatientMax: 64,
  /** Most nested provisions directly under one provision. */
  provisionChildrenMax: 16,
  /** Most codes (actions, purposes, classes, labels, roles, scopes) in one list. */
  codesPerListMax: 32,
  /** Most actors or specific records named by one provision. */
  referencesPerProvisionMax: 64,
  /** Most delegates (guardians) of one patient. */
  delegatesPerPatientMax: 8,
  /** Most members of the consortium (the validator-set bound of chain/). */
  membersMax: 150,
  /** Most approved changes waiting for their effective height. */
  pendingChangesMax: 64,
  /** Most heights at which the validator set changed (the light client's transitions). */
  validatorChangeHeightsMax: 4096,
  /** Longest identifier (organisation, practitioner, client), in UTF-8 bytes. */
  identifierBytesMax: 64,
  /** Longest code (purpose, label, role, resource type, reason), in UTF-8 bytes. */
  codeBytesMax: 64,
  /** Longest SMART scope, in UTF-8 bytes. */
  scopeBytesMax: 128,
  /** Most items one query returns. */
  queryItemsMax: 1000,
  /** Length of pseudonymous ids (patients, records, consents), in bytes: 128 bits. */
  pseudonymBytes: 16,
  /**
   * Latest data month of a record (decision 0029): December 9999, counted in months from
   * January 1970 (month 0).
   */
  dataMonthMax: (9999 - 1970) * 12 + 11,
} as const;

/**
 * The cost model (decision 0024): a transaction pays per state read, per state write (plus its
 * size) and per event, so its work is bounded by `contractLimits.txCostMax` whatever its body.
 */
export const contractCost = {
  /** One state read. */
  readUnits: 1,
  /** One state write or delete. */
  writeUnits: 10,
  /** Each started 64 bytes of a written value. */
  writeUnitsPer64Bytes: 1,
  /** One event in the receipt. */
  eventUnits: 1,
} as const;

/** Consent defaults of the network (DESIGN.md "Contracts"; decision 0022). */
export const consentDefaults = ['opt-in', 'opt-out'] as const;
export type ConsentDefault = (typeof consentDefaults)[number];

/**
 * Sensitive security labels that a permit must name explicitly (FHIR R4 v3-ActCode sensitivity
 * codes, the 42CFRPart2 policy, and the restricted confidentiality codes R and V).
 */
export const defaultSensitiveLabels = [
  '42CFRPart2',
  'ETH',
  'GDIS',
  'HIV',
  'PSY',
  'R',
  'SDV',
  'STD',
  'V',
] as const;

/** The network policy a genesis document gets when it names none. */
export const defaultNetworkPolicy = {
  consentDefault: 'opt-in' as ConsentDefault,
  /** Purposes of use the opt-out default permits without a consent. */
  optOutPurposes: ['TREAT'],
  sensitiveLabels: [...defaultSensitiveLabels],
  /** How long a break-glass grant lasts: 60 minutes. */
  breakGlassDurationMs: 60 * 60 * 1000,
  /** Heights a membership proposal stays open for votes. */
  proposalLifetimeHeights: 1000,
  /** Heights between a proposal's approval and its effect. */
  changeDelayHeights: 10,
  /** How old an audit event's time may be when its batch is committed: 24 hours. */
  auditLagMaxMs: 24 * 60 * 60 * 1000,
};

/** Bounds of the policy values themselves, checked at genesis and on every policy change. */
export const networkPolicyBounds = {
  breakGlassDurationMsMin: 60 * 1000,
  breakGlassDurationMsMax: 24 * 60 * 60 * 1000,
  proposalLifetimeHeightsMax: 1_000_000,
  changeDelayHeightsMax: 100_000,
  auditLagMaxMsMax: 7 * 24 * 60 * 60 * 1000,
} as const;

/** Role codes with a meaning to the contracts (practitioner roles; decision 0025). */
export const ContractRole = {
  /** May open break-glass grants (the "designated group" of CONVENTIONS.md). */
  breakGlass: 'break-glass',
  /** May close break-glass reviews of the same organisation. */
  privacyOfficer: 'privacy-officer',
} as const;

/** Purposes of use (v3-ActReason) that mean break-glass: they need an open grant. */
export const breakGlassPurposes = ['BTG', 'ETREAT'] as const;
export type BreakGlassPurpose = (typeof breakGlassPurposes)[number];
