/**
 * Building the demo's and the load generator's transactions: an organisation's node enrols a
 * pseudonymous patient, then anchors record versions for them (contracts' `identity.enrol-patient`
 * and `record.anchor`). Everything is synthetic: random 128-bit pseudonyms and random content
 * hashes, never clinical content.
 */
import { randomBytes } from 'node:crypto';

import { encodeTransaction, signTransaction, transactionId } from '../chain/index.ts';
import { contractBody } from '../contracts/index.ts';
import type { Ed25519KeyPair, Hash } from '../crypto/index.ts';
import { generateEd25519KeyPair } from '../keys/index.ts';

/** A signed transaction ready to submit: its canonical encoding and its id. */
export interface SignedTransaction {
  readonly encoded: Uint8Array;
  readonly txId: Hash;
  readonly nonce: number;
}

function sign(options: {
  chainId: string;
  keyPair: Ed25519KeyPair;
  nonce: number;
  kind: 'identity.enrol-patient' | 'record.anchor';
  body: ReturnType<typeof contractBody>;
}): SignedTransaction {
  const tx = signTransaction({
    unsigned: {
      chainId: options.chainId,
      kind: options.kind,
      body: options.body,
      signer: options.keyPair.publicKey,
      nonce: options.nonce,
    },
    keyPair: options.keyPair,
  });
  return { encoded: encodeTransaction(tx), txId: transactionId(tx), nonce: options.nonce };
}

/** `identity.enrol-patient` of a new random pseudonym, signed by an organisation's node key. */
export function makeEnrolPatient(options: {
  chainId: string;
  keyPair: Ed25519KeyPair;
  nonce: number;
}): SignedTransaction & { patientId: Uint8Array } {
  const patientId = new Uint8Array(randomBytes(16));
  const body = contractBody('identity.enrol-patient', {
    patientId,
    publicKey: generateEd25519KeyPair().publicKey,
  });
  return { ...sign({ ...options, kind: 'identity.enrol-patient', body }), patientId };
}

/** `record.anchor` of version 1 of a new random record of `patientId`, custodian `orgId`. */
export function makeAnchorRecord(options: {
  chainId: string;
  keyPair: Ed25519KeyPair;
  nonce: number;
  orgId: string;
  patientId: Uint8Array;
}): SignedTransaction {
  const body = contractBody('record.anchor', {
    recordId: new Uint8Array(randomBytes(16)),
    version: 1,
    resourceType: 'Observation',
    patientId: options.patientId,
    custodian: options.orgId,
    contentHash: new Uint8Array(randomBytes(32)),
    securityLabels: ['N'],
  });
  return sign({ ...options, kind: 'record.anchor', body });
}
