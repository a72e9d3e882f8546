/**
 * The privacy officer's signature on a break-glass review, made in this browser: the access
 * contract closes a review only when the officer's own registered key signs `access.close-review`
 * (decision 0028; contracts/open-break-glass.ts), never the node's. The key comes from the
 * officer's MedLedger key file (src/keys format 1, Ed25519), read here and kept in memory only;
 * the transaction is signed with the same core code the nodes run (chain, contracts, crypto with
 * the browser backend of decision 0071) and sent to `POST /fhir/$break-glass-review`.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';

import { fromHex, toHex } from '../base/index.ts';
import { encodeTransaction, signTransaction } from '../chain/index.ts';
import { type ReviewOutcome, contractBody } from '../contracts/index.ts';
import { type Ed25519KeyPair, ed25519KeyPairFromSeed } from '../crypto/index.ts';
import { type Session, call } from './session.ts';

/** Largest key file read, in bytes (a format 1 file is under 300). */
const keyFileBytesMax = 4096;

/** Reads a MedLedger Ed25519 key file; throws an Error that says what is wrong with it. */
export function parseKeyFile(text: string): Ed25519KeyPair {
  if (text.length > keyFileBytesMax) {
    throw new Error(`a key file has at most ${keyFileBytesMax} bytes; this one is larger`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new Error('this is not a MedLedger key file: it is not JSON');
  }
  const file = document as Record<string, unknown>;
  if (typeof document !== 'object' || document === null || file.kind !== 'medledger-key') {
    throw new Error('this is not a MedLedger key file (expected "kind": "medledger-key")');
  }
  if (file.version !== 1 || file.algorithm !== 'ed25519') {
    throw new Error('expected a version 1 Ed25519 key file (a signing key)');
  }
  if (typeof file.seed !== 'string' || !/^[0-9a-f]{64}$/.test(file.seed)) {
    throw new Error('the key file has no valid seed (64 hex digits)');
  }
  const keyPair = ed25519KeyPairFromSeed(fromHex(file.seed));
  if (file.publicKey !== toHex(keyPair.publicKey)) {
    throw new Error('the key file is damaged: its public key is not the one its seed gives');
  }
  return keyPair;
}

/** base64url (RFC 4648 §5) without padding. */
function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Signs `access.close-review` for `breakGlassId` (64 hex digits) with the officer's key at its
 * next nonce on this chain, and sends it; resolves with the node's outcome once committed.
 */
export async function closeReview(options: {
  session: Session;
  keyPair: Ed25519KeyPair;
  breakGlassId: string;
  outcome: ReviewOutcome;
  noteCode: string | null;
}): Promise<OperationOutcome> {
  const { session, keyPair } = options;
  if (!/^[0-9a-f]{64}$/.test(options.breakGlassId)) {
    throw new Error(`break-glass id: expected 64 hex digits, found ${options.breakGlassId}`);
  }
  const [status, account] = await Promise.all([
    call<{ chainId: string }>('/chain/status'),
    call<{ nextNonce: number }>(`/chain/accounts/${toHex(keyPair.publicKey)}`),
  ]);
  const tx = signTransaction({
    unsigned: {
      chainId: status.chainId,
      kind: 'access.close-review',
      body: contractBody('access.close-review', {
        breakGlassId: fromHex(options.breakGlassId),
        outcome: options.outcome,
        noteCode: options.noteCode,
      }),
      signer: keyPair.publicKey,
      nonce: account.nextNonce,
    },
    keyPair,
  });
  return call<OperationOutcome>('/fhir/$break-glass-review', {
    session,
    method: 'POST',
    headers: { 'x-medledger-transaction': base64url(encodeTransaction(tx)) },
  });
}
