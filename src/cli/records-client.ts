/**
 * A small client of a node's records API, for the demo's seeding, `medledger demo token` and
 * the network tests: signed contract transactions (an organisation's staff registrations and
 * enrolments, a patient's consents), user tokens signed with a node's token key (as its sign-in
 * would issue them), and FHIR requests.
 */
import { randomBytes } from 'node:crypto';

import type { Consent, Resource } from '@medplum/fhirtypes';

import { issueUserToken } from '../auth/index.ts';
import { MedLedgerError, toHex } from '../base/index.ts';
import { encodeTransaction, signTransaction } from '../chain/index.ts';
import {
  type ContractBodies,
  type ContractKind,
  type Receipt,
  contractBody,
} from '../contracts/index.ts';
import type { Ed25519KeyPair } from '../crypto/index.ts';
import { consentToGrantBody } from '../fhir/index.ts';
import { getJson, submitEncoded } from './node-client.ts';
import { loadNodeTokenKey } from './start-records.ts';

/** Signs `body` as a `kind` transaction with the signer's next committed nonce. */
export async function signContractTransaction<K extends ContractKind>(options: {
  url: string;
  chainId: string;
  keyPair: Ed25519KeyPair;
  kind: K;
  body: ContractBodies[K];
}): Promise<Uint8Array> {
  const account = await getJson<{ nextNonce: number }>(
    options.url,
    `/chain/accounts/${toHex(options.keyPair.publicKey)}`,
  );
  const tx = signTransaction({
    unsigned: {
      chainId: options.chainId,
      kind: options.kind,
      body: contractBody(options.kind, options.body),
      signer: options.keyPair.publicKey,
      nonce: account.nextNonce,
    },
    keyPair: options.keyPair,
  });
  return encodeTransaction(tx);
}

/** Signs, submits and waits for the commit; throws unless the contract accepted it. */
export async function submitContractTransaction<K extends ContractKind>(options: {
  url: string;
  chainId: string;
  keyPair: Ed25519KeyPair;
  kind: K;
  body: ContractBodies[K];
}): Promise<Receipt | Record<string, unknown>> {
  const encoded = await signContractTransaction(options);
  const answer = await submitEncoded(options.url, encoded, { wait: true });
  const receipt = answer.body.receipt as { ok?: boolean } | undefined;
  if (answer.status !== 200 || receipt?.ok !== true) {
    throw new MedLedgerError(
      'transaction-failed',
      `${options.kind} was not committed or was refused: ${JSON.stringify(answer).slice(0, 300)}`,
    );
  }
  return receipt;
}

/** Who a demo token is for. */
export type DemoUser =
  | { readonly kind: 'practitioner'; readonly orgId: string; readonly practitionerId: string }
  | { readonly kind: 'patient'; readonly orgId: string; readonly patientId: string };

/** Scopes of a demo user's token: clinicians read and write, patients read their own data. */
export function demoScopes(user: DemoUser): string {
  return user.kind === 'practitioner'
    ? 'user/*.cruds openid fhirUser'
    : 'patient/*.rs patient/Consent.cruds openid fhirUser';
}

/**
 * A bearer token for `user`, signed with the token key in the node's data folder, as the node's
 * sign-in would issue it (decision 0056: the demo has no password login).
 */
export async function issueDemoToken(options: {
  dataDir: string;
  baseUrl: string;
  user: DemoUser;
  purposeOfUse?: string;
  breakGlassReason?: string;
  now?: number;
}): Promise<string> {
  const { user } = options;
  const signingKey = await loadNodeTokenKey(options.dataDir);
  const issued = await issueUserToken({
    signer: { signingKey, issuer: options.baseUrl, audience: `${options.baseUrl}/fhir` },
    now: options.now ?? Date.now(),
    principal:
      user.kind === 'practitioner'
        ? { kind: 'practitioner', id: user.practitionerId }
        : { kind: 'patient', id: user.patientId },
    org: user.orgId,
    scopes: demoScopes(user),
    ...(user.kind === 'patient' ? { patient: user.patientId } : {}),
    ...(options.purposeOfUse === undefined ? {} : { purposeOfUse: options.purposeOfUse }),
    ...(options.breakGlassReason === undefined
      ? {}
      : { breakGlassReason: options.breakGlassReason }),
  });
  return issued.accessToken;
}

/** The answer of a FHIR request: status, body (parsed JSON) and headers. */
export interface FhirAnswer<T = Resource> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

/** One FHIR request with a bearer token. */
export async function fhirRequest<T = Resource>(options: {
  url: string;
  token: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}): Promise<FhirAnswer<T>> {
  const response = await fetch(`${options.url}/fhir/${options.path}`, {
    method: options.method,
    headers: {
      authorization: `Bearer ${options.token}`,
      accept: 'application/fhir+json',
      ...(options.body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text.length === 0 ? null : JSON.parse(text)) as T,
    headers: response.headers,
  };
}

/** A new consent id (the FHIR Consent's id): 128 random bits in hex. */
export function newConsentId(): string {
  return toHex(new Uint8Array(randomBytes(16)));
}

/**
 * Posts a patient's Consent with the `consent.grant` transaction signed by the patient's key
 * (what the patient's app does); resolves with the answer (201 once committed).
 */
export async function grantConsent(options: {
  url: string;
  chainId: string;
  token: string;
  patientKeyPair: Ed25519KeyPair;
  consent: Consent & { id: string };
}): Promise<FhirAnswer<Consent>> {
  const consentId = Buffer.from(options.consent.id, 'hex');
  const encoded = await signContractTransaction({
    url: options.url,
    chainId: options.chainId,
    keyPair: options.patientKeyPair,
    kind: 'consent.grant',
    body: consentToGrantBody(options.consent, { consentId }),
  });
  return fhirRequest<Consent>({
    url: options.url,
    token: options.token,
    method: 'POST',
    path: 'Consent',
    body: options.consent,
    headers: { 'x-medledger-transaction': Buffer.from(encoded).toString('base64url') },
  });
}

/** Revokes a consent with the patient's signed `consent.revoke` (a FHIR delete). */
export async function revokeConsent(options: {
  url: string;
  chainId: string;
  token: string;
  patientKeyPair: Ed25519KeyPair;
  consentId: string;
}): Promise<FhirAnswer<unknown>> {
  const encoded = await signContractTransaction({
    url: options.url,
    chainId: options.chainId,
    keyPair: options.patientKeyPair,
    kind: 'consent.revoke',
    body: { consentId: Buffer.from(options.consentId, 'hex') },
  });
  return fhirRequest({
    url: options.url,
    token: options.token,
    method: 'DELETE',
    path: `Consent/${options.consentId}`,
    headers: { 'x-medledger-transaction': Buffer.from(encoded).toString('base64url') },
  });
}
