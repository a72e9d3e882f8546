// Checks HPKE sealing between nodes: the RFC 9180 test vector of DHKEM(X25519, HKDF-SHA256),
// HKDF-SHA256, AES-256-GCM (base mode), round trips, wrong keys and every tampered input, and the
// Ed25519 → X25519 conversion against node:crypto and the birational map computed with BigInt.
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { test } from 'node:test';

import fc from 'fast-check';

import { equalBytes, fromHex, toHex, utf8 } from '../../src/base/index.ts';
import {
  ed25519KeyPairFromSeed,
  x25519KeyPairFromSeed,
  x25519SharedSecret,
} from '../../src/crypto/index.ts';
import type { Ed25519KeyPair } from '../../src/crypto/index.ts';
import {
  VaultError,
  VaultErrorCode,
  encodeSealingInfo,
  openSealedRecord,
  sealRecordForPeer,
  x25519KeyPairFromEd25519,
  x25519PublicKeyFromEd25519,
  type SealingInfo,
} from '../../src/vault/index.ts';
import { hpkeOpen, hpkeSeal } from '../../src/vault/seal-record.ts';

/**
 * RFC 9180 test vector, mode 0 (base), kem_id 32, kdf_id 1, aead_id 2: the RFC's published
 * test-vectors.json (the appendix prints only the AES-128-GCM and ChaCha20 suites); the first
 * three encryptions (sequence numbers 0, 1, 2).
 */
const rfc9180 = {
  info: '4f6465206f6e2061204772656369616e2055726e',
  skRm: '497b4502664cfea5d5af0b39934dac72242a74f8480451e1aee7d6a53320333d',
  pkRm: '430f4b9859665145a6b1ba274024487bd66f03a2dd577d7753c68d7d7d00c00c',
  skEm: '179d4b53b6365c45b600c4163b61d95cbc2f4d9e36f1695558dce265ab8bab11',
  pkEm: '6c93e09869df3402d7bf231bf540fadd35cd56be14f97178f0954db94b7fc256',
  plaintext: '4265617574792069732074727574682c20747275746820626561757479',
  aad0: '436f756e742d30',
  ct0: 'e5d84cd531cfb583096e7cfa9641bd3079cf3a91cda813c52deb5f512be9931980a41de125a925cdad859d5b7a',
};

test('RFC 9180 vector (X25519, HKDF-SHA256, AES-256-GCM, base): keys, seal and open match', async () => {
  assert.equal(toHex(x25519KeyPairFromSeed(fromHex(rfc9180.skRm)).publicKey), rfc9180.pkRm);
  assert.equal(toHex(x25519KeyPairFromSeed(fromHex(rfc9180.skEm)).publicKey), rfc9180.pkEm);
  const sealed = await hpkeSeal({
    recipientPublicKey: fromHex(rfc9180.pkRm),
    info: fromHex(rfc9180.info),
    aad: fromHex(rfc9180.aad0),
    plaintext: fromHex(rfc9180.plaintext),
    ephemeralPrivateKey: fromHex(rfc9180.skEm),
  });
  assert.equal(toHex(sealed.enc), rfc9180.pkEm);
  assert.equal(toHex(sealed.ciphertext), rfc9180.ct0);
  const opened = await hpkeOpen({
    recipientPrivateKey: fromHex(rfc9180.skRm),
    enc: fromHex(rfc9180.pkEm),
    info: fromHex(rfc9180.info),
    aad: fromHex(rfc9180.aad0),
    ciphertext: fromHex(rfc9180.ct0),
  });
  assert.ok(opened !== null);
  assert.equal(toHex(opened), rfc9180.plaintext);
  // The vector's second encryption uses sequence number 1: single-shot open (sequence 0) refuses it.
  const second = await hpkeOpen({
    recipientPrivateKey: fromHex(rfc9180.skRm),
    enc: fromHex(rfc9180.pkEm),
    info: fromHex(rfc9180.info),
    aad: fromHex('436f756e742d31'),
    ciphertext: fromHex(
      '2c43aff25343fdbff864506f0818b9d87df84ea01b1a2144d23b4d40c26bf655fdf197fe40297a8aebeed5cc2d',
    ),
  });
  assert.equal(second, null);
});

const custodian = ed25519KeyPairFromSeed(
  fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'),
);
const requester = ed25519KeyPairFromSeed(
  fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb'),
);
const stranger = ed25519KeyPairFromSeed(
  fromHex('c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7'),
);

const info: SealingInfo = {
  chainId: 'medledger-test',
  requestId: 'req-0001',
  senderNodeKey: custodian.publicKey,
  recipientNodeKey: requester.publicKey,
};
const aad = utf8('record rec-1 version 3');
const plaintext = utf8('{"resourceType":"Observation","status":"final"}');

function sealedInvalid(error: unknown): boolean {
  assert.ok(error instanceof VaultError, String(error));
  assert.equal(error.code, VaultErrorCode.sealedRecordInvalid);
  return true;
}

test('a record sealed for a peer opens with its key and bytes', async () => {
  const sealed = await sealRecordForPeer({
    recipientNodeKey: requester.publicKey,
    info,
    aad,
    plaintext,
  });
  assert.equal(sealed.enc.length, 32);
  assert.equal(sealed.ciphertext.length, plaintext.length + 16);
  const opened = await openSealedRecord({ keyPair: requester, info, aad, ...sealed });
  assert.ok(equalBytes(opened, plaintext));
  // A fresh ephemeral key every time: two seals of one record share nothing.
  const again = await sealRecordForPeer({
    recipientNodeKey: requester.publicKey,
    info,
    aad,
    plaintext,
  });
  assert.ok(!equalBytes(again.enc, sealed.enc));
  assert.ok(!equalBytes(again.ciphertext, sealed.ciphertext));
});

test('a sealed record does not open with another key, or with any input changed', async () => {
  const sealed = await sealRecordForPeer({
    recipientNodeKey: requester.publicKey,
    info,
    aad,
    plaintext,
  });
  const flip = (bytes: Uint8Array, index: number): Uint8Array => {
    const copy = bytes.slice();
    copy[index]! ^= 0x01;
    return copy;
  };
  // The stranger is the addressee in the info it claims, but holds the wrong private key.
  await assert.rejects(
    openSealedRecord({
      keyPair: stranger,
      info: { ...info, recipientNodeKey: stranger.publicKey },
      aad,
      ...sealed,
    }),
    sealedInvalid,
  );
  await assert.rejects(
    openSealedRecord({ keyPair: stranger, info, aad, ...sealed }),
    (error: unknown) =>
      sealedInvalid(error) && /sealed for another node/.test((error as Error).message),
  );
  const tampered: Array<Parameters<typeof openSealedRecord>[0]> = [
    { keyPair: requester, info, aad, enc: flip(sealed.enc, 0), ciphertext: sealed.ciphertext },
    {
      keyPair: requester,
      info,
      aad,
      enc: sealed.enc.subarray(0, 31),
      ciphertext: sealed.ciphertext,
    },
    { keyPair: requester, info, aad, enc: new Uint8Array(32), ciphertext: sealed.ciphertext },
    { keyPair: requester, info, aad, enc: sealed.enc, ciphertext: flip(sealed.ciphertext, 0) },
    {
      keyPair: requester,
      info,
      aad,
      enc: sealed.enc,
      ciphertext: flip(sealed.ciphertext, sealed.ciphertext.length - 1),
    },
    {
      keyPair: requester,
      info,
      aad,
      enc: sealed.enc,
      ciphertext: sealed.ciphertext.subarray(0, 10),
    },
    { keyPair: requester, info, aad: flip(aad, 3), ...sealed },
    { keyPair: requester, info, aad: new Uint8Array(0), ...sealed },
    { keyPair: requester, info: { ...info, chainId: 'medledger-prod' }, aad, ...sealed },
    { keyPair: requester, info: { ...info, requestId: 'req-0002' }, aad, ...sealed },
    { keyPair: requester, info: { ...info, senderNodeKey: stranger.publicKey }, aad, ...sealed },
  ];
  for (const options of tampered) await assert.rejects(openSealedRecord(options), sealedInvalid);
  // The untouched twin opens.
  assert.ok(
    equalBytes(await openSealedRecord({ keyPair: requester, info, aad, ...sealed }), plaintext),
  );
});

test('sealing refuses bad arguments with the argument named', async () => {
  await assert.rejects(
    sealRecordForPeer({ recipientNodeKey: stranger.publicKey, info, aad, plaintext }),
    (error: unknown) =>
      error instanceof VaultError && /^info.recipientNodeKey:/.test(error.message),
  );
  await assert.rejects(
    sealRecordForPeer({
      recipientNodeKey: requester.publicKey,
      info: { ...info, chainId: '' },
      aad,
      plaintext,
    }),
    (error: unknown) => error instanceof VaultError && /^info.chainId:/.test(error.message),
  );
  await assert.rejects(
    sealRecordForPeer({
      recipientNodeKey: requester.publicKey,
      info: { ...info, requestId: 'x'.repeat(257) },
      aad,
      plaintext,
    }),
    (error: unknown) => error instanceof VaultError && error.code === VaultErrorCode.tooLarge,
  );
  await assert.rejects(
    sealRecordForPeer({
      recipientNodeKey: new Uint8Array(32),
      info: { ...info, recipientNodeKey: new Uint8Array(32) },
      aad,
      plaintext,
    }),
    /^CryptoError: info.recipientNodeKey: expected the canonical encoding of an Ed25519 point/,
  );
  await assert.rejects(
    sealRecordForPeer({
      recipientNodeKey: requester.publicKey,
      info,
      aad,
      plaintext: new Uint8Array(2 * 1024 * 1024),
    }),
    (error: unknown) => error instanceof VaultError && error.code === VaultErrorCode.tooLarge,
  );
  assert.equal(encodeSealingInfo(info).length, 32);
  assert.notEqual(
    toHex(encodeSealingInfo(info)),
    toHex(encodeSealingInfo({ ...info, chainId: 'medledger-tes', requestId: 'treq-0001' })),
  );
});

const p = 2n ** 255n - 19n;
function modPow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = base % p;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % p;
    b = (b * b) % p;
    e >>= 1n;
  }
  return result;
}

/** u = (1 + y) / (1 − y) mod p (RFC 7748 §4.1), from an encoded Edwards point. */
function montgomeryU(edwardsPublicKey: Uint8Array): Uint8Array {
  const bytes = edwardsPublicKey.slice();
  bytes[31]! &= 0x7f;
  const y = BigInt(`0x${toHex(bytes.reverse())}`);
  const u = ((1n + y) * modPow((1n - y + p) % p, p - 2n)) % p;
  return fromHex(u.toString(16).padStart(64, '0')).reverse();
}

/** The X25519 private key of an Ed25519 seed with node:crypto: SHA-512, first half (RFC 8032 §5.1.5). */
function x25519PrivateOfSeed(seed: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha512').update(seed).digest().subarray(0, 32));
}

test('Ed25519 → X25519 agrees with the birational map and node:crypto, for random keys', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
      const keyPair: Ed25519KeyPair = ed25519KeyPairFromSeed(seed);
      const converted = x25519KeyPairFromEd25519(keyPair);
      assert.ok(equalBytes(converted.publicKey, x25519PublicKeyFromEd25519(keyPair.publicKey)));
      assert.ok(equalBytes(converted.publicKey, montgomeryU(keyPair.publicKey)));
      // node:crypto derives the same public key from the hashed seed (it clamps as X25519 does).
      const der = Buffer.concat([
        Buffer.from('302e020100300506032b656e04220420', 'hex'),
        x25519PrivateOfSeed(seed),
      ]);
      const spki = createPublicKey(
        createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
      ).export({ format: 'der', type: 'spki' });
      assert.equal(toHex(spki.subarray(12)), toHex(converted.publicKey));
      // And the converted keys agree on a shared secret with a fresh X25519 key.
      const other = x25519KeyPairFromSeed(createHash('sha256').update(seed).digest());
      assert.ok(
        equalBytes(
          x25519SharedSecret({ privateKey: converted.privateKey, publicKey: other.publicKey }),
          x25519SharedSecret({ privateKey: other.privateKey, publicKey: converted.publicKey }),
        ),
      );
    }),
    { numRuns: 50, seed: 0x9180, verbose: 1 },
  );
});

test('the conversion refuses keys that are not node keys', () => {
  // All zeros and the identity (01 00…) are small-order points; a key pair with a foreign public key.
  for (const key of [new Uint8Array(32), fromHex(`01${'00'.repeat(31)}`), new Uint8Array(31)]) {
    assert.throws(() => x25519PublicKeyFromEd25519(key), /publicKey/);
  }
  assert.throws(
    () => x25519KeyPairFromEd25519({ seed: custodian.seed, publicKey: requester.publicKey }),
    (error: unknown) => error instanceof VaultError && /^keyPair:/.test(error.message),
  );
  assert.equal(x25519PublicKeyFromEd25519(custodian.publicKey).length, 32);
});
