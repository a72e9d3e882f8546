/** Every bound and interval of the records service, with its unit. */
export const recordsLimits = {
  /** How long a write waits for its anchor to commit before answering 504-like `exception`. */
  commitWaitMs: 15_000,
  /** How long a read waits for the custodian's node to answer a shared-record request. */
  peerRequestTimeoutMs: 10_000,
  /** Audit events gathered into one `access.record` transaction at most. */
  auditBatchEventsMax: 64,
  /** `access.record` transactions submitted and not yet committed at most. */
  auditBatchesInFlightMax: 8,
  /** How long an audit event may wait for its batch before the batch is sent. */
  auditBatchDelayMs: 200,
  /** Audit events waiting to be sent at most; beyond it requests are refused (429). */
  auditQueueEventsMax: 10_000,
  /** Records a search decrypts and authorises at most (the candidates before paging). */
  searchCandidatesMax: 2_000,
  /** How long a custodian waits to reach the height a share request was decided at. */
  shareHeightWaitMs: 3_000,
  /** Bytes of a shared record request or answer payload at most (a sealed FHIR record fits). */
  peerPayloadBytesMax: 1_200_000,
} as const;

/** The purpose of use assumed when a token names none (v3-ActReason: treatment). */
export const defaultPurposeOfUse = 'TREAT';
