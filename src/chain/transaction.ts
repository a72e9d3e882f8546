/**
 * Signing, hashing and validating transactions (DESIGN.md "The chain": `{chainId, kind, body,
 * signer, nonce, signature}`, Ed25519 over a domain-separated hash).
 */
import { equalBytes, shortHex, utf8 } from '../base/index.ts';
import {
  type Hash,
  type Ed25519KeyPair,
  ed25519Sign,
  ed25519Verify,
  hashTagged,
} from '../crypto/index.ts';
import { encodeCbor } from '../codec/index.ts';
import { ChainError } from './errors.ts';
import { chainLimits } from './limits.ts';
import { type Transaction, TransactionSchema, type UnsignedTransaction } from './schemas.ts';

/** Tag of the hash a transaction's signature covers. */
export const txSigningTag = 'medledger/tx/v1';
/** Tag of a transaction's id: the hash of its whole encoding, signature included. */
export const txIdTag = 'medledger/tx-id/v1';

/** A transaction kind: dot-separated lower-case words (`consent.grant`, `record.anchor`). */
const kindPattern = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/;

/**
 * The hash that the signer signs: `hashTagged("medledger/tx/v1", chainId, CBOR([kind, body,
 * signer, nonce]))`. The chain id in the hash stops a transaction signed for one network from
 * being replayed on another.
 */
export function transactionSigningHash(tx: UnsignedTransaction): Hash {
  return hashTagged(
    txSigningTag,
    utf8(tx.chainId),
    encodeCbor([tx.kind, tx.body, tx.signer, tx.nonce]),
  );
}

/** Signs `unsigned` with `keyPair`, whose public key must be `unsigned.signer`. */
export function signTransaction(options: {
  unsigned: UnsignedTransaction;
  keyPair: Ed25519KeyPair;
}): Transaction {
  const { unsigned, keyPair } = options;
  if (!equalBytes(keyPair.publicKey, unsigned.signer)) {
    throw new ChainError('bad-field', 'transaction signer differs from the signing key', {
      signer: shortHex(unsigned.signer),
      key: shortHex(keyPair.publicKey),
    });
  }
  const signature = ed25519Sign({ message: transactionSigningHash(unsigned), keyPair });
  const tx: Transaction = { ...unsigned, signature };
  // Encoding here checks every field's type and bound before the transaction leaves the signer.
  TransactionSchema.encode(tx);
  return tx;
}

/** The canonical encoding of `tx`. */
export function encodeTransaction(tx: Transaction): Uint8Array {
  return TransactionSchema.encode(tx);
}

/** Strictly decodes a transaction (throws `CodecError` naming the field that is wrong). */
export function decodeTransaction(bytes: Uint8Array): Transaction {
  return TransactionSchema.decode(bytes);
}

/** The id of a transaction: the hash of its whole encoding; this is what the history log holds. */
export function transactionId(tx: Transaction): Hash {
  return transactionIdOfEncoding(encodeTransaction(tx));
}

/** The id of a transaction from its canonical encoding. */
export function transactionIdOfEncoding(encoded: Uint8Array): Hash {
  return hashTagged(txIdTag, encoded);
}

/**
 * Checks what a transaction's validity does not leave to its contract: the chain id, the kind's
 * form, the encoded size, and the signature. Throws the first `ChainError` found.
 */
export function assertValidTransaction(tx: Transaction, context: { chainId: string }): void {
  assertValidEncodedTransaction({ tx, encoded: encodeTransaction(tx), chainId: context.chainId });
}

/**
 * `assertValidTransaction` for a caller that holds the transaction's canonical encoding already
 * (block validation, a node's mempool), so that it is not encoded twice.
 */
export function assertValidEncodedTransaction(options: {
  tx: Transaction;
  encoded: Uint8Array;
  chainId: string;
  /** The caller verified the signature already (on a worker thread): skip that check only. */
  signatureVerified?: boolean;
}): void {
  const { tx, encoded } = options;
  const context = { chainId: options.chainId };
  if (tx.chainId !== context.chainId) {
    throw new ChainError(
      'wrong-chain',
      `transaction is for chain ${JSON.stringify(tx.chainId)}, expected ${JSON.stringify(context.chainId)}`,
    );
  }
  if (!kindPattern.test(tx.kind)) {
    throw new ChainError(
      'bad-field',
      `transaction kind ${JSON.stringify(tx.kind)} is not dot-separated lower-case words`,
    );
  }
  const size = encoded.length;
  if (size > chainLimits.txBytesMax) {
    throw new ChainError(
      'too-large',
      `transaction is ${size} bytes encoded, at most ${chainLimits.txBytesMax} allowed`,
    );
  }
  if (options.signatureVerified === true) return;
  const message = transactionSigningHash(tx);
  if (!ed25519Verify({ publicKey: tx.signer, message, signature: tx.signature })) {
    throw new ChainError(
      'bad-signature',
      `transaction signature does not verify for signer ${shortHex(tx.signer)} (nonce ${tx.nonce}, kind ${tx.kind})`,
    );
  }
}
