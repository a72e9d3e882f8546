/** Every bound and interval of the records service, with its unit. */
export const recordsLimits = {
  /** How long a write waits for its anchor to commit before answering 504-like `exception`. */
  commitWaitMs: 15_000,
  /** How long a read waits for the custodian's node to answer a shared-record request. */
  peerRequestTimeoutMs: 10_000,
  /**
   * Anchors of single writes gathered into one `record.anchor-batch` transaction at most
   * (`AnchorBatcher`, decision 0061). Each anchor adds about 103 bytes to the transaction, which a
   * record-version verification bundle carries whole as hex (about 206 characters): at 4 such a
   * bundle stays under issue 7's 8 KiB (7,113 bytes with a lone anchor at 1M anchors, bench
   * `verify`, plus 3 × 206).
   */
  anchorBatchMax: 4,
  /**
   * How long the first anchor of a batch waits for others before the batch goes (a full batch
   * goes at once). bench:fhir at 128 creates in flight: 597–620 creates/s with 5 ms against 564–566/s
   * when a batch held only the anchors of one event-loop turn (decision 0061).
   */
  anchorBatchDelayMs: 5,
  /** Audit events gathered into one `access.record` transaction at most. */
  auditBatchEventsMax: 64,
  /** `access.record` transactions submitted and not yet committed at most. */
  auditBatchesInFlightMax: 8,
  /** How long an audit event may wait for its batch before the batch is sent. */
  auditBatchDelayMs: 200,
  /**
   * `Retry-After` of the 429 a full audit queue answers, in seconds: about the time a full queue
   * takes to commit (`auditBatchesInFlightMax` batches per block).
   */
  auditQueueRetryAfterSeconds: 1,
  /** Audit events waiting to be sent at most; beyond it requests are refused (429). */
  auditQueueEventsMax: 10_000,
  /** Records a search decrypts and authorises at most (the candidates before paging). */
  searchCandidatesMax: 2_000,
  /** How long a custodian waits to reach the height a share request was decided at. */
  shareHeightWaitMs: 3_000,
  /** Bytes of a shared record request or answer payload at most (a sealed FHIR record fits). */
  peerPayloadBytesMax: 1_200_000,
  /** `Retry-After` of a 503 when a custodian's node did not answer or could not serve. */
  custodianRetryAfterSeconds: 5,
  /**
   * Records held by other organisations that one search fetches at most (those the requester may
   * read; the most recently anchored first); beyond it the answer carries a `too-costly` warning.
   */
  remoteSearchCandidatesMax: 200,
  /** Share requests one search has in flight at most (a custodian serves 8 per peer at once). */
  remoteSearchFetchesInFlightMax: 4,
  /**
   * How often the node anchors its security log's head on chain when the log grew since
   * (`access.security-log-head`, decision 0063): rows newer than the last anchor are covered by
   * the log's own hash chain only, so this is how long a rewrite by whoever holds the disk can go
   * unseen. One small transaction a minute at most per node. `medledger node start` takes another
   * value from `MEDLEDGER_SECURITY_LOG_ANCHOR_INTERVAL_MS` (tests), within the two bounds below.
   */
  securityLogAnchorIntervalMs: 60_000,
  securityLogAnchorIntervalMsMin: 100,
  securityLogAnchorIntervalMsMax: 24 * 60 * 60 * 1000,
  /**
   * How long a clean shutdown waits for the last head to commit (only when the log grew since the
   * last anchor; the network may be stopping too, so it may not commit).
   */
  securityLogAnchorShutdownWaitMs: 2_000,
} as const;

/** The purpose of use assumed when a token names none (v3-ActReason: treatment). */
export const defaultPurposeOfUse = 'TREAT';

/** Bounds of the break-glass review queue (`GET /$break-glass-review`, decision 0059). */
export const breakGlassReviewLimits = {
  /** Uses per page by default and at most (`_count`). */
  pageDefault: 100,
  pageMax: 100,
  /**
   * Unreviewed uses of the whole network read per request, oldest first (the contracts'
   * `queryItemsMax`); uses beyond it show once older ones are reviewed, and the page says so.
   */
  scanMax: 1_000,
  /**
   * A patient's access-log events read per use by another organisation, from the block that
   * opened it, to find whether it read a record this organisation holds.
   */
  accessEventsScanMax: 128,
} as const;

/**
 * Every bound of the security audit log (decision 0059): its size on disk, its pages and the
 * rates at which refusals are recorded one by one. Beyond a rate, refusals are counted and
 * written as one summary event; beyond the size, the oldest rows go first.
 */
export const securityAuditLimits = {
  /** Rows kept at most (about 1.5 KiB each: about 75 MB when full, 200 MB at most). */
  rowsMax: 50_000,
  /** Rows removed at once, oldest first, when the log is full. */
  rotationRows: 1_000,
  /** UTF-8 bytes of one stored event at most. */
  rowBodyBytesMax: 4_096,
  /** Events per page of the security log's `AuditEvent` search by default and at most. */
  pageRowsDefault: 50,
  pageRowsMax: 100,
  /** Refusals of requests without a verified token recorded one by one per second, sustained. */
  anonymousEventsPerSecond: 10,
  /** … and in a burst. */
  anonymousBurstEvents: 100,
  /** Refusals of requests with a verified token recorded one by one per second, sustained. */
  verifiedEventsPerSecond: 20,
  /** … and in a burst. */
  verifiedBurstEvents: 200,
  /** Characters of the request path kept in an event at most. */
  pathCharsMax: 200,
  /** Path segments kept in an event at most (`Type/id/_history/vid`). */
  pathSegmentsMax: 4,
} as const;
