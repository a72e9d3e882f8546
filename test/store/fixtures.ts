// Fixtures for the store tests: a four-organisation genesis, and a builder that makes the next
// valid block on top of a store (enrolments and record anchors, really executed by the contracts,
// committed by three of the four validators), with everything commitBlock takes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { toHex, utf8 } from '../../src/base/index.ts';
import {
  type Block,
  type Transaction,
  blockHash,
  makeCommit,
  makeValidatorSet,
  signTransaction,
  transactionId,
  transactionRoot,
  validatorSetHash,
} from '../../src/chain/index.ts';
import {
  type ContractBodies,
  type ContractKind,
  type GenesisDocument,
  commitBlockWrites,
  contractBody,
  defaultNetworkPolicy,
  executeTransactions,
  readNextNonce,
} from '../../src/contracts/index.ts';
import { type Ed25519KeyPair, ed25519KeyPairFromSeed, sha256 } from '../../src/crypto/index.ts';
import { logRootAfterAppend } from '../../src/merkle/index.ts';
import {
  type ChainStore,
  type CommitBlockEntry,
  StoreError,
  type StoreErrorCode,
} from '../../src/store/index.ts';

export const chainId = 'medledger-store-test';
export const genesisTime = 1_700_000_000_000;
export const organisations = ['hospital', 'clinic', 'laboratory', 'payer'] as const;

const keyCache = new Map<string, Ed25519KeyPair>();

/** A deterministic key pair for a name. */
export function keyOf(name: string): Ed25519KeyPair {
  let pair = keyCache.get(name);
  if (pair === undefined) {
    pair = ed25519KeyPairFromSeed(sha256(utf8(`medledger-store-test-key/${name}`)));
    keyCache.set(name, pair);
  }
  return pair;
}

/** A deterministic 128-bit pseudonym for a name. */
export function idOf(name: string): Uint8Array {
  return sha256(utf8(`medledger-store-test-id/${name}`)).slice(0, 16);
}

/** The genesis of the test chain: four organisations, each a validator of power 1. */
export function storeGenesis(options: { chainId?: string } = {}): GenesisDocument {
  return {
    chainId: options.chainId ?? chainId,
    genesisTime,
    members: organisations.map((orgId) => ({
      orgId,
      nodeKey: toHex(keyOf(`node:${orgId}`).publicKey),
      roles: ['provider'],
    })),
    validators: organisations.map((orgId) => ({
      nodeKey: toHex(keyOf(`node:${orgId}`).publicKey),
      power: 1,
    })),
    policy: defaultNetworkPolicy,
  };
}

/** The validator set of the genesis, and the key pairs in validator-set order. */
function validators(): { hash: Uint8Array; keyPairs: Ed25519KeyPair[] } {
  const pairs = organisations.map((orgId) => keyOf(`node:${orgId}`));
  const set = makeValidatorSet(pairs.map((pair) => ({ publicKey: pair.publicKey, power: 1 })));
  const keyPairs = set.validators.map((validator) =>
    pairs.find((pair) => toHex(pair.publicKey) === toHex(validator.publicKey))!,
  );
  return { hash: validatorSetHash(set), keyPairs };
}

/** A fresh temporary directory for one test's store; `remove` deletes it. */
export function temporaryDirectory(): { directory: string; remove: () => void } {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'medledger-'));
  return { directory, remove: () => fs.rmSync(directory, { recursive: true, force: true }) };
}

/**
 * The next block on top of `store` as `commitBlock` takes it. Each organisation in turn enrols
 * one patient and anchors records for it, so a block of `txCount` transactions holds
 * ⌈txCount / 4⌉-ish enrolments and the rest anchors; every transaction succeeds (checked).
 * Everything depends only on the store's head, so a restarted builder makes the same blocks.
 * `append` adds transactions after those, whatever their outcome.
 */
export function nextBlock(
  store: ChainStore,
  options: { txCount: number; append?: readonly Transaction[] },
): CommitBlockEntry {
  const head = store.head();
  const height = head.height + 1;
  const state = store.state();
  const time = genesisTime + height * 1000;
  const nonces = new Map<string, number>();
  const txs: Transaction[] = [];
  const sign = <K extends ContractKind>(
    orgId: string,
    kind: K,
    body: ContractBodies[K],
  ): Transaction => {
    const keyPair = keyOf(`node:${orgId}`);
    const nonce = nonces.get(orgId) ?? readNextNonce(state, keyPair.publicKey);
    nonces.set(orgId, nonce + 1);
    return signTransaction({
      unsigned: { chainId, kind, body: contractBody(kind, body), signer: keyPair.publicKey, nonce },
      keyPair,
    });
  };
  const perOrganisation = Math.ceil(options.txCount / organisations.length);
  for (const [orgIndex, orgId] of organisations.entries()) {
    const patientId = idOf(`patient:${height}/${orgId}`);
    for (let i = 0; i < perOrganisation && txs.length < options.txCount; i++) {
      if (i === 0) {
        txs.push(
          sign(orgId, 'identity.enrol-patient', {
            patientId,
            publicKey: keyOf(`patient:${height}/${orgId}`).publicKey,
          }),
        );
        continue;
      }
      txs.push(
        sign(orgId, 'record.anchor', {
          recordId: idOf(`record:${height}/${orgIndex}/${i}`),
          version: 1,
          resourceType: 'Observation',
          patientId,
          custodian: orgId,
          contentHash: sha256(utf8(`content:${height}/${orgIndex}/${i}`)),
          securityLabels: ['N'],
        }),
      );
    }
  }
  const ownCount = txs.length;
  // Appended transactions (replays, say) may fail; the fixture's own must not.
  txs.push(...(options.append ?? []));
  const txIds = txs.map(transactionId);
  const { keyPairs, hash: validatorsHash } = validators();
  const proposer = keyPairs[height % keyPairs.length]!;
  const { writes, receipts } = executeTransactions({
    state,
    context: { chainId, height, time, proposer: proposer.publicKey },
    txs,
    txIds,
  });
  const failed = receipts.slice(0, ownCount).find((receipt) => !receipt.ok);
  if (failed !== undefined) throw new Error(`fixture tx failed: ${failed.code} ${failed.message}`);
  const next = commitBlockWrites(state, writes);
  const log = logRootAfterAppend(store.log(), txIds);
  const header = {
    chainId,
    height,
    time,
    prevHash: head.blockHash,
    txRoot: transactionRoot(txIds),
    stateRoot: next.stateRoot,
    logRoot: log.root,
    logSize: log.size,
    validatorsHash,
    proposer: proposer.publicKey,
  };
  const block: Block = { header, txs, lastCommit: store.loadCommit(head.height) };
  return withBlock({ block, txIds, writes, state: next.state, receipts });
}

/** Completes an entry for `block`: its hash and a commit signed by validators 0, 1 and 2. */
export function withBlock(entry: Omit<CommitBlockEntry, 'blockHash' | 'commit'>): CommitBlockEntry {
  const hash = blockHash(entry.block.header);
  const { keyPairs } = validators();
  const commit = makeCommit({
    chainId,
    height: entry.block.header.height,
    round: 0,
    blockHash: hash,
    signers: [0, 1, 2].map((validatorIndex) => ({
      validatorIndex,
      keyPair: keyPairs[validatorIndex]!,
    })),
  });
  return { ...entry, blockHash: hash, commit };
}

/** Commits `count` blocks of `txCount` transactions; returns their entries. */
export function commitBlocks(
  store: ChainStore,
  options: { count: number; txCount: number },
): CommitBlockEntry[] {
  const entries: CommitBlockEntry[] = [];
  for (let i = 0; i < options.count; i++) {
    const entry = nextBlock(store, { txCount: options.txCount });
    store.commitBlock(entry);
    entries.push(entry);
  }
  return entries;
}

/** Asserts that `run` throws a StoreError with `code` and a message matching `message`. */
export function assertStoreError(run: () => unknown, code: StoreErrorCode, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    return true;
  });
}
