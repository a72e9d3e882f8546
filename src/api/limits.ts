/** Every tunable number of the HTTP API, named with its unit (STYLE.md "Limits"). */
import { chainLimits } from '../chain/index.ts';
import { fhirLimits } from '../fhir/index.ts';

export const apiLimits = {
  /** Largest request body of `POST /chain/transactions`, in bytes: one encoded transaction. */
  transactionBodyBytesMax: chainLimits.txBytesMax,
  /** Most transactions in one `POST /chain/transactions/batch`. */
  batchTransactionsMax: 1_000,
  /** Largest request body of `POST /chain/transactions/batch`, in bytes. */
  batchBodyBytesMax: 4 * 1024 * 1024,
  /** Largest request body of any other route, in bytes. */
  otherBodyBytesMax: 16 * 1024,
  /** Longest wait of `POST /chain/transactions?wait=1` for the commit, in milliseconds. */
  commitWaitMsMax: 10_000,
  /** `Retry-After` of a busy answer, in seconds. */
  busyRetryAfterSeconds: 1,
  /** Largest FHIR request body (a resource, a `_search` form), in bytes. */
  fhirBodyBytesMax: 1024 * 1024,
  /** Largest FHIR `transaction` Bundle body, in bytes: the FHIR library's own bound. */
  fhirTransactionBodyBytesMax: fhirLimits.resourceBytesMax,
  /** Largest `X-MedLedger-Transaction` header once decoded, in bytes: one transaction. */
  fhirSignedTransactionBytesMax: chainLimits.txBytesMax,
  /** Largest `POST /auth/token` form body, in bytes (a client assertion and a scope list). */
  tokenBodyBytesMax: 64 * 1024,
  /** Longest request path quoted in an audited rejection or an error message, in characters. */
  fhirPathCharsMax: 200,
  /** Most open `GET /chain/events` streams per node. */
  chainEventStreamsMax: 64,
  /** Most committed blocks `GET /chain/events` replays to a client that resumes. */
  chainEventReplayBlocksMax: 1_000,
  /** Blocks a resuming event stream replays per event-loop turn. */
  chainEventReplayBlocksPerTurn: 16,
  /**
   * Most bytes written to an event stream and not yet taken by its client: a client that falls
   * this far behind is cut off, and resumes with `Last-Event-ID`.
   */
  chainEventUnsentBytesMax: 8 * 1024 * 1024,
  /** Interval of the comment lines that keep an idle event stream open, in milliseconds. */
  chainEventKeepAliveMs: 15_000,
  /**
   * Most open FHIR `$notifications` streams per node (each patient's phone or portal tab holds
   * one); every committed block is matched against each of them.
   */
  fhirNotificationStreamsMax: 256,
  /** Most bytes a `$notifications` client may leave unread before it is cut off. */
  fhirNotificationUnsentBytesMax: 1024 * 1024,
  /** Longest time a request may take to arrive, in milliseconds (slow-client guard). */
  requestTimeoutMs: 30_000,
} as const;
