/**
 * The contract between the FHIR HTTP routes (`fhir-routes.ts`: HTTP, content types, tokens,
 * headers, OperationOutcomes) and the records service behind them (authorisation by scope,
 * consent and labels; the vault; anchors on chain; audit). The routes never decide access; the
 * service never sees HTTP. Every failure is a `FhirError` (src/fhir) carrying its status.
 */
import type { Bundle, CapabilityStatement, OperationOutcome, Resource } from '@medplum/fhirtypes';

import type { VerifiedAccessToken } from '../auth/index.ts';

/** Who asks, verified: the access token's claims and scopes, and where the request came from. */
export interface FhirRequestContext {
  readonly token: VerifiedAccessToken;
  /** The FHIR base URL as the client sees it, e.g. `http://127.0.0.1:8080/fhir`. */
  readonly baseUrl: string;
  /** A fresh id for this request (logs, audit correlation). */
  readonly requestId: string;
}

/** Query parameters as repeated name → values (FHIR allows repeats: `date=ge…&date=lt…`). */
export type FhirParams = Readonly<Record<string, readonly string[]>>;

/** A write's answer: 201 created, or 200 for an update or a conditional create that matched. */
export interface FhirWriteResult {
  readonly status: 200 | 201;
  readonly resource: Resource;
}

/** A request refused before it reached the service (bad token, bad JSON …), to be audited. */
export interface FhirRejection {
  readonly method: string;
  /** The path below the FHIR base, without the query, e.g. `Observation/abc`. */
  readonly path: string;
  readonly status: number;
  /** The OperationOutcome IssueType code. */
  readonly code: string;
  /** The verified token, when the rejection came after authentication. */
  readonly token: VerifiedAccessToken | null;
  /** The client's network address (the socket's remote end; no proxy header is trusted). */
  readonly address: string | null;
}

/** One notification to a patient: a contract event about them, with where it was committed. */
export interface FhirNotification {
  readonly type: string;
  readonly height: number;
  /** Block time, Unix ms. */
  readonly time: number;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

/** The records service as the FHIR routes use it. */
export interface FhirService {
  /** `GET /metadata` (no token needed). */
  capabilityStatement(options: { baseUrl: string }): CapabilityStatement;
  /**
   * `POST /{type}`; `ifNoneExist` is the raw `If-None-Exist` header (conditional create). For a
   * Consent, `signedTransaction` is the patient's signed `consent.grant` transaction (the
   * `X-MedLedger-Transaction` header, base64url), which must carry the same consent.
   */
  create(
    context: FhirRequestContext,
    request: {
      type: string;
      resource: Resource;
      ifNoneExist: string | null;
      signedTransaction: Uint8Array | null;
    },
  ): Promise<FhirWriteResult>;
  /** `GET /{type}/{id}`: the current version; 404 unknown, 410 deleted or erased, 403 denied. */
  read(context: FhirRequestContext, request: { type: string; id: string }): Promise<Resource>;
  /** `GET /{type}/{id}/_history/{vid}`. */
  vread(
    context: FhirRequestContext,
    request: { type: string; id: string; versionId: string },
  ): Promise<Resource>;
  /** `PUT /{type}/{id}`; `ifMatch` is the raw `If-Match` header (412 on mismatch). */
  update(
    context: FhirRequestContext,
    request: {
      type: string;
      id: string;
      resource: Resource;
      ifMatch: string | null;
      signedTransaction: Uint8Array | null;
    },
  ): Promise<FhirWriteResult>;
  /** `DELETE /{type}/{id}` (idempotent). */
  delete(
    context: FhirRequestContext,
    request: { type: string; id: string; signedTransaction: Uint8Array | null },
  ): Promise<void>;
  /** `GET /{type}/{id}/_history`. */
  history(
    context: FhirRequestContext,
    request: { type: string; id: string; params: FhirParams },
  ): Promise<Bundle>;
  /** `GET /{type}?…` and `POST /{type}/_search`: a `searchset` Bundle. */
  search(
    context: FhirRequestContext,
    request: { type: string; params: FhirParams },
  ): Promise<Bundle>;
  /**
   * `POST /` with a `transaction` Bundle (all or nothing: a `transaction-response`) or a `batch`
   * Bundle (each entry on its own: a `batch-response`, failed entries with their outcome).
   */
  transaction(context: FhirRequestContext, request: { bundle: Bundle }): Promise<Bundle>;
  /**
   * `POST /Patient/{id}/$erase` (right to erasure): destroys the data keys of the patient's
   * records held here and anchors erasure markers; by the patient or a privacy officer.
   */
  erasePatient(
    context: FhirRequestContext,
    request: { id: string; reasonCode: string },
  ): Promise<OperationOutcome>;
  /**
   * `GET /$break-glass-review?_count=&_cursor=`: a page of the break-glass uses awaiting review
   * that the caller (a privacy officer) may see, oldest first, with a `next` link (decision 0059).
   */
  breakGlassReviewQueue(
    context: FhirRequestContext,
    request: { params: FhirParams },
  ): Promise<Bundle>;
  /**
   * `POST /$break-glass-review`: closes a review on chain with the privacy officer's signed
   * `access.close-review` transaction (`X-MedLedger-Transaction`, base64url).
   */
  closeBreakGlassReview(
    context: FhirRequestContext,
    request: { signedTransaction: Uint8Array | null },
  ): Promise<OperationOutcome>;
  /**
   * `GET /Patient/$shared`: the patients of other organisations whose Patient record the caller
   * may read now (consent, or an open break-glass grant), each read and audited.
   */
  sharedPatients(context: FhirRequestContext): Promise<Bundle>;
  /** `GET /Patient/{id}/$everything`: the patient's records the caller may read, wherever held. */
  patientEverything(context: FhirRequestContext, request: { id: string }): Promise<Bundle>;
  /**
   * `GET /$notifications`: what the chain says about the token's patient as it commits
   * (break-glass opened on their data, consents granted or revoked, erasure), for a
   * server-sent event stream. Returns the unsubscribe function; throws 403 for non-patients.
   */
  subscribeNotifications(
    context: FhirRequestContext,
    listener: (notification: FhirNotification) => void,
  ): () => void;
  /**
   * Audits a request the routes refused before calling the service, in the node's security log
   * (decision 0059). Never throws.
   */
  recordRejection(rejection: FhirRejection): void;
}
