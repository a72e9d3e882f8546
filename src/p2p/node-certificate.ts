/**
 * The X.509 certificate a node presents on its links (decision 0033): self-signed, its subject
 * public key the node's Ed25519 key (RFC 8410 §4), signed with that key (RFC 8410 §3). It binds
 * nothing but the key: names, dates and issuers are ignored by the check, which only takes the key
 * out and checks the self-signature; TLS 1.3's CertificateVerify (RFC 8446 §4.4.3) is what proves
 * the peer holds the private key.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { type X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';

import { equalBytes, toHex } from '../base/index.ts';
import {
  type Ed25519KeyPair,
  ed25519PublicKeyBytes,
  isEd25519PublicKey,
  sha256,
} from '../crypto/index.ts';

/** The DER of a PKCS#8 `PrivateKeyInfo` for Ed25519 up to the 32-byte seed (RFC 8410 §7). */
const ed25519Pkcs8Prefix = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

/** RFC 5280 §4.1.2.5: "99991231235959Z" means the certificate has no well-defined expiry. */
const notAfter = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));
const notBefore = new Date(Date.UTC(2000, 0, 1));

/** A node's TLS identity: PEM certificate and PKCS#8 PEM private key for `node:tls`. */
export interface NodeCertificate {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

/**
 * Builds the node's self-signed certificate from its key pair. Deterministic: Ed25519 signatures
 * are, and the serial number and dates are derived from the key, so a node presents the same
 * certificate at every start.
 */
export async function createNodeCertificate(keyPair: Ed25519KeyPair): Promise<NodeCertificate> {
  const pkcs8 = new Uint8Array(ed25519Pkcs8Prefix.length + keyPair.seed.length);
  pkcs8.set(ed25519Pkcs8Prefix);
  pkcs8.set(keyPair.seed, ed25519Pkcs8Prefix.length);
  const privateKeyObject = createPrivateKey({
    key: Buffer.from(pkcs8),
    format: 'der',
    type: 'pkcs8',
  });
  const subtle = webcrypto.subtle;
  const privateKey = await subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
  const publicKey = await subtle.importKey('raw', keyPair.publicKey, { name: 'Ed25519' }, true, [
    'verify',
  ]);
  const hex = toHex(keyPair.publicKey);
  // A positive serial (RFC 5280 §4.1.2.2: at most 20 octets): the key's hash, top bit cleared.
  const serial = sha256(keyPair.publicKey).slice(0, 16);
  serial[0] = serial[0]! & 0x7f;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: toHex(serial),
      name: `CN=medledger-node-${hex.slice(0, 16)}`,
      notBefore,
      notAfter,
      keys: { privateKey, publicKey },
      signingAlgorithm: { name: 'Ed25519' },
    },
    webcrypto,
  );
  const certificatePem = certificate.toString('pem');
  // The seed must derive the public key the certificate carries; crypto/ guarantees it for key
  // pairs it built, and this checks it again for one assembled by hand.
  const derived = publicKeyOfKeyObject(privateKeyObject.export({ format: 'jwk' }).x);
  if (derived === undefined || !equalBytes(derived, keyPair.publicKey)) {
    throw new TypeError('createNodeCertificate: keyPair.seed does not derive keyPair.publicKey');
  }
  const privateKeyPem = privateKeyObject.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { certificatePem, privateKeyPem };
}

function publicKeyOfKeyObject(x: unknown): Uint8Array | undefined {
  if (typeof x !== 'string') return undefined;
  const key = new Uint8Array(Buffer.from(x, 'base64url'));
  return key.length === ed25519PublicKeyBytes ? key : undefined;
}

/** The node key a peer's certificate carries, or what is wrong with the certificate. */
export type CertificateKey =
  | { readonly ok: true; readonly publicKey: Uint8Array }
  | { readonly ok: false; readonly problem: string };

/**
 * Takes the Ed25519 key out of a peer's certificate: the key must be Ed25519 (RFC 8410), a valid
 * point of the prime-order subgroup (the rule of `crypto/`), and the certificate must be issued by
 * and signed with that same key.
 */
export function nodeKeyOfCertificate(certificate: X509Certificate): CertificateKey {
  const key = certificate.publicKey;
  if (key.asymmetricKeyType !== 'ed25519') {
    return {
      ok: false,
      problem: `expected an Ed25519 key, found ${key.asymmetricKeyType ?? 'an unknown key type'}`,
    };
  }
  const publicKey = publicKeyOfKeyObject(key.export({ format: 'jwk' }).x);
  if (publicKey === undefined) {
    return { ok: false, problem: 'the Ed25519 key does not export as 32 bytes' };
  }
  if (!isEd25519PublicKey(publicKey)) {
    return {
      ok: false,
      problem: 'the key is not a valid Ed25519 public key (small order or non-canonical)',
    };
  }
  if (!certificate.checkIssued(certificate) || !certificate.verify(key)) {
    return { ok: false, problem: 'the certificate is not self-signed by its own key' };
  }
  return { ok: true, publicKey };
}
