/**
 * Sealing a record for another organisation's node (DESIGN.md "Sharing"): HPKE (RFC 9180) in base
 * mode (§5.1.1) with the suite DHKEM(X25519, HKDF-SHA256) (KEM 0x0020), HKDF-SHA256 (KDF 0x0001)
 * and AES-256-GCM (AEAD 0x0002), single-shot (§6.1), through `@hpke/core`. The recipient's key is
 * its Ed25519 node key converted to X25519 (x25519-from-ed25519.ts).
 *
 * `info` (§5.1, bound into the key schedule) names the chain, the request and both node keys, so
 * a sealed record answers exactly one request between exactly these two nodes on this chain:
 * replayed to another request, or re-addressed, it does not open. `aad` (§5.2) is the caller's
 * (for example the record id, version and content hash the record is sent under).
 */
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';

import { equalBytes, utf8 } from '../base/index.ts';
import { assertEd25519PublicKey, hashTagged, x25519KeyPairFromSeed } from '../crypto/index.ts';
import type { Ed25519KeyPair } from '../crypto/index.ts';
import { VaultError, VaultErrorCode } from './errors.ts';
import { vaultLimits } from './limits.ts';
import { x25519KeyPairFromEd25519, x25519PublicKeyFromEd25519 } from './x25519-from-ed25519.ts';

/** Length in bytes of `enc`, the encapsulated key: an X25519 public key (RFC 9180 §7.1, Nenc). */
export const sealedEncBytes = 32;

/** What a sealed record is bound to (RFC 9180 `info`). */
export type SealingInfo = {
  readonly chainId: string;
  /** The id of the access request this record answers. */
  readonly requestId: string;
  /** The Ed25519 node key of the custodian that seals. */
  readonly senderNodeKey: Uint8Array;
  /** The Ed25519 node key of the requesting node. */
  readonly recipientNodeKey: Uint8Array;
};

/** A sealed record: the encapsulated key and the AEAD ciphertext (with its 16-byte tag). */
export type SealedRecord = { readonly enc: Uint8Array; readonly ciphertext: Uint8Array };

/** The suite, RFC 9180 §7: KEM 0x0020, KDF 0x0001, AEAD 0x0002. */
export const sealingSuite = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes256Gcm(),
});

function invalid(argument: string, problem: string): VaultError {
  return new VaultError(VaultErrorCode.invalidArgument, `${argument}: ${problem}`, { argument });
}

function checkBytes(value: unknown, argument: string, bytesMax: number): Uint8Array {
  if (!(value instanceof Uint8Array))
    throw invalid(argument, `expected bytes, found ${value === null ? 'null' : typeof value}`);
  if (value.length > bytesMax) {
    throw new VaultError(
      VaultErrorCode.tooLarge,
      `${argument}: ${value.length} bytes, over the limit of ${bytesMax}`,
      { argument },
    );
  }
  return value;
}

function checkField(value: unknown, argument: string): Uint8Array {
  if (typeof value !== 'string' || value.length === 0)
    throw invalid(argument, 'expected a non-empty string');
  const bytes = utf8(value);
  if (bytes.length > vaultLimits.sealingInfoFieldBytesMax) {
    throw new VaultError(
      VaultErrorCode.tooLarge,
      `${argument}: ${bytes.length} bytes, over vaultLimits.sealingInfoFieldBytesMax ${vaultLimits.sealingInfoFieldBytesMax}`,
      { argument },
    );
  }
  return bytes;
}

/**
 * The HPKE `info` bytes of a sharing: `hashTagged('medledger/record-share/v1', chainId,
 * requestId, senderNodeKey, recipientNodeKey)`, 32 bytes (each part length-prefixed, so no two
 * contexts share an encoding; RFC 9180 §7.2.1 leaves room for 64 KiB).
 */
export function encodeSealingInfo(info: SealingInfo): Uint8Array {
  if (typeof info !== 'object' || info === null)
    throw invalid('info', 'expected { chainId, requestId, senderNodeKey, recipientNodeKey }');
  const chainId = checkField(info.chainId, 'info.chainId');
  const requestId = checkField(info.requestId, 'info.requestId');
  assertEd25519PublicKey(info.senderNodeKey, 'info.senderNodeKey');
  assertEd25519PublicKey(info.recipientNodeKey, 'info.recipientNodeKey');
  return hashTagged(
    'medledger/record-share/v1',
    chainId,
    requestId,
    info.senderNodeKey,
    info.recipientNodeKey,
  );
}

/**
 * `@hpke/core` in the types this project compiles with. Its keys are WebCrypto `CryptoKey`s, which
 * the project's TypeScript library (ES2022, no DOM) does not declare; here they are opaque
 * objects passed from `deserialize…Key` to `seal` and `open`, never looked into.
 */
type HpkeKey = object;
type HpkeSuite = {
  readonly kem: {
    deserializePublicKey(key: Uint8Array): Promise<HpkeKey>;
    deserializePrivateKey(key: Uint8Array): Promise<HpkeKey>;
  };
  seal(
    params: {
      recipientPublicKey: HpkeKey;
      info: Uint8Array;
      ekm?: { privateKey: HpkeKey; publicKey: HpkeKey };
    },
    plaintext: Uint8Array,
    aad: Uint8Array,
  ): Promise<{ enc: ArrayBuffer; ct: ArrayBuffer }>;
  open(
    params: { recipientKey: HpkeKey; enc: Uint8Array; info: Uint8Array },
    ciphertext: Uint8Array,
    aad: Uint8Array,
  ): Promise<ArrayBuffer>;
};
const suite = sealingSuite as unknown as HpkeSuite;

/** RFC 9180 single-shot seal to a raw X25519 public key (`ephemeralPrivateKey` for test vectors only). */
export async function hpkeSeal(options: {
  recipientPublicKey: Uint8Array;
  info: Uint8Array;
  aad: Uint8Array;
  plaintext: Uint8Array;
  ephemeralPrivateKey?: Uint8Array;
}): Promise<SealedRecord> {
  const recipientPublicKey = await suite.kem.deserializePublicKey(options.recipientPublicKey);
  let ekm: { privateKey: HpkeKey; publicKey: HpkeKey } | undefined;
  if (options.ephemeralPrivateKey !== undefined) {
    const ephemeral = x25519KeyPairFromSeed(options.ephemeralPrivateKey);
    ekm = {
      privateKey: await suite.kem.deserializePrivateKey(ephemeral.privateKey),
      publicKey: await suite.kem.deserializePublicKey(ephemeral.publicKey),
    };
  }
  const sealed = await suite.seal(
    { recipientPublicKey, info: options.info, ...(ekm === undefined ? {} : { ekm }) },
    options.plaintext,
    options.aad,
  );
  return { enc: new Uint8Array(sealed.enc), ciphertext: new Uint8Array(sealed.ct) };
}

/** RFC 9180 single-shot open with a raw X25519 private key; `null` when it does not open. */
export async function hpkeOpen(options: {
  recipientPrivateKey: Uint8Array;
  enc: Uint8Array;
  info: Uint8Array;
  aad: Uint8Array;
  ciphertext: Uint8Array;
}): Promise<Uint8Array | null> {
  try {
    const recipientKey = await suite.kem.deserializePrivateKey(options.recipientPrivateKey);
    const plaintext = await suite.open(
      { recipientKey, enc: options.enc, info: options.info },
      options.ciphertext,
      options.aad,
    );
    return new Uint8Array(plaintext);
  } catch {
    return null;
  }
}

/**
 * Seals `plaintext` (a record's canonical bytes, at most `vaultLimits.sealedPlaintextBytesMax`)
 * for the node whose Ed25519 key is `recipientNodeKey`, bound to `info` and `aad` (see the file
 * header). `info.recipientNodeKey` must be `recipientNodeKey`. A fresh ephemeral key per call.
 */
export async function sealRecordForPeer(options: {
  recipientNodeKey: Uint8Array;
  info: SealingInfo;
  aad: Uint8Array;
  plaintext: Uint8Array;
}): Promise<SealedRecord> {
  const { recipientNodeKey, info } = options;
  const aad = checkBytes(options.aad, 'aad', vaultLimits.sealedAadBytesMax);
  const plaintext = checkBytes(options.plaintext, 'plaintext', vaultLimits.sealedPlaintextBytesMax);
  const infoBytes = encodeSealingInfo(info);
  const recipientPublicKey = x25519PublicKeyFromEd25519(recipientNodeKey);
  if (!equalBytes(info.recipientNodeKey, recipientNodeKey)) {
    throw invalid('info.recipientNodeKey', 'expected the recipientNodeKey the record is sealed to');
  }
  return hpkeSeal({ recipientPublicKey, info: infoBytes, aad, plaintext });
}

/**
 * Opens a record sealed by `sealRecordForPeer` with this node's Ed25519 key pair. Throws
 * `VaultError` `sealed-record-invalid` when it does not open: sealed to another key, or `enc`,
 * `ciphertext`, `aad` or any field of `info` differs from what the sender used.
 */
export async function openSealedRecord(options: {
  keyPair: Ed25519KeyPair;
  info: SealingInfo;
  aad: Uint8Array;
  enc: Uint8Array;
  ciphertext: Uint8Array;
}): Promise<Uint8Array> {
  const { keyPair, info } = options;
  const aad = checkBytes(options.aad, 'aad', vaultLimits.sealedAadBytesMax);
  const ciphertext = checkBytes(
    options.ciphertext,
    'ciphertext',
    vaultLimits.sealedPlaintextBytesMax + 16,
  );
  const enc = checkBytes(options.enc, 'enc', sealedEncBytes);
  const infoBytes = encodeSealingInfo(info);
  if (!equalBytes(info.recipientNodeKey, keyPair.publicKey)) {
    throw new VaultError(
      VaultErrorCode.sealedRecordInvalid,
      "sealed record: info.recipientNodeKey is not this node's key; the record was sealed for another node",
    );
  }
  const x25519 = x25519KeyPairFromEd25519(keyPair);
  let plaintext: Uint8Array | null;
  try {
    plaintext =
      enc.length === sealedEncBytes
        ? await hpkeOpen({
            recipientPrivateKey: x25519.privateKey,
            enc,
            info: infoBytes,
            aad,
            ciphertext,
          })
        : null;
  } finally {
    x25519.privateKey.fill(0);
  }
  if (plaintext === null) {
    throw new VaultError(
      VaultErrorCode.sealedRecordInvalid,
      `sealed record does not open (RFC 9180 §6.1): expected a record sealed to this node's key under this chain id, request id and aad; enc is ${enc.length} bytes, ciphertext ${ciphertext.length} bytes`,
    );
  }
  return plaintext;
}
