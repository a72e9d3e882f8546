// Checks the node certificate: it carries the node's Ed25519 key, is self-signed and deterministic; certificates of other key types or signed by another key are refused.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { X509Certificate, webcrypto } from 'node:crypto';
import { test } from 'node:test';

import * as x509 from '@peculiar/x509';

import { toHex } from '../../src/base/index.ts';
import { createNodeCertificate, nodeKeyOfCertificate } from '../../src/p2p/node-certificate.ts';
import { keyPairOf } from './helpers.ts';

test('the certificate carries the node key, is self-signed, and is the same at every start', async () => {
  const keyPair = keyPairOf(200);
  const first = await createNodeCertificate(keyPair);
  const second = await createNodeCertificate(keyPair);
  assert.equal(first.certificatePem, second.certificatePem);
  const certificate = new X509Certificate(first.certificatePem);
  const key = nodeKeyOfCertificate(certificate);
  assert.ok(key.ok);
  assert.equal(toHex(key.publicKey), toHex(keyPair.publicKey));
  assert.equal(certificate.subject, `CN=medledger-node-${toHex(keyPair.publicKey).slice(0, 16)}`);
  // Twin: another node's certificate carries another key.
  const other = nodeKeyOfCertificate(
    new X509Certificate((await createNodeCertificate(keyPairOf(201))).certificatePem),
  );
  assert.ok(other.ok);
  assert.notEqual(toHex(other.publicKey), toHex(keyPair.publicKey));
});

test('a key pair whose seed does not derive its public key is refused', async () => {
  const keyPair = { seed: keyPairOf(202).seed, publicKey: keyPairOf(203).publicKey };
  await assert.rejects(createNodeCertificate(keyPair), /does not derive keyPair.publicKey/);
});

test('an ECDSA certificate, and an Ed25519 certificate signed by another key, are refused', async () => {
  const subtle = webcrypto.subtle;
  const ecdsa = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const ecdsaCertificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name: 'CN=not-a-node',
      keys: ecdsa,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    },
    webcrypto,
  );
  const refusedEcdsa = nodeKeyOfCertificate(new X509Certificate(ecdsaCertificate.toString('pem')));
  assert.deepEqual(refusedEcdsa, { ok: false, problem: 'expected an Ed25519 key, found ec' });

  const subject = (await subtle.generateKey({ name: 'Ed25519' }, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const issuer = (await subtle.generateKey({ name: 'Ed25519' }, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const signedByOther = await x509.X509CertificateGenerator.create(
    {
      serialNumber: '02',
      subject: 'CN=medledger-node',
      issuer: 'CN=medledger-node',
      publicKey: subject.publicKey,
      signingKey: issuer.privateKey,
      signingAlgorithm: { name: 'Ed25519' },
    },
    webcrypto,
  );
  const refusedForeign = nodeKeyOfCertificate(new X509Certificate(signedByOther.toString('pem')));
  assert.deepEqual(refusedForeign, {
    ok: false,
    problem: 'the certificate is not self-signed by its own key',
  });
});
