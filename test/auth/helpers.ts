// Shared fixtures of the auth tests: a fixed clock, a node signer, and clients with real keys.
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';

import {
  MemoryReplayCache,
  tokenSigningKeyOf,
  type AccessTokenSigner,
  type ClientRegistry,
  type RegisteredClient,
  type TokenRequestOptions,
} from '../../src/auth/index.ts';
import { generateEd25519KeyPair } from '../../src/keys/index.ts';

/** 2025-01-01T00:00:00Z, in milliseconds. */
export const now = Date.UTC(2025, 0, 1);
export const nowSeconds = now / 1000;
export const baseUrl = 'https://node1.example.org';
export const fhirBaseUrl = 'https://node1.example.org/fhir';
export const tokenUrl = 'https://node1.example.org/auth/token';

export async function newSigner(): Promise<AccessTokenSigner> {
  return {
    signingKey: await tokenSigningKeyOf(generateEd25519KeyPair()),
    issuer: baseUrl,
    audience: fhirBaseUrl,
  };
}

export type ClientAlgorithm = 'RS384' | 'ES384' | 'EdDSA';

/** A client's key pair: the private half signs assertions, the public JWK is registered. */
export interface ClientKey {
  readonly alg: ClientAlgorithm;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function newClientKey(alg: ClientAlgorithm, kid: string): Promise<ClientKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg };
  return { alg, kid, privateKey, publicJwk };
}

/** An in-memory registry: the small interface the token endpoint takes. */
export function registryOf(clients: readonly RegisteredClient[]): ClientRegistry {
  return {
    findClient: (clientId) => clients.find((client) => client.clientId === clientId) ?? null,
  };
}

/** A client assertion (RFC 7523 §3) with good claims unless told otherwise. */
export async function assertionOf(options: {
  key: ClientKey;
  clientId: string;
  claims?: JWTPayload;
  header?: Record<string, unknown>;
  jti?: string;
}): Promise<string> {
  const { key, clientId } = options;
  const payload: JWTPayload = {
    iss: clientId,
    sub: clientId,
    aud: tokenUrl,
    exp: nowSeconds + 240,
    iat: nowSeconds,
    jti: options.jti ?? crypto.randomUUID(),
    ...options.claims,
  };
  return await new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header })
    .sign(key.privateKey);
}

/** A form body of a client_credentials request. */
export function formOf(assertion: string, scope: string): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
    scope,
  };
}

export function optionsOf(options: {
  signer: AccessTokenSigner;
  clients: readonly RegisteredClient[];
  replayCache?: MemoryReplayCache;
  now?: number;
}): TokenRequestOptions {
  return {
    clients: registryOf(options.clients),
    now: options.now ?? now,
    tokenUrl,
    replayCache: options.replayCache ?? new MemoryReplayCache({ entriesMax: 100 }),
    signer: options.signer,
  };
}

/** A compact JWS with header alg "none" and no signature (RFC 7519 §6.1). */
export function unsecuredJwt(header: Record<string, unknown>, payload: JWTPayload): string {
  const encode = (value: unknown): string =>
    Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  return `${encode(header)}.${encode(payload)}.`;
}
