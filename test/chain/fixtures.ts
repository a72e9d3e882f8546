// Shared fixtures for the chain tests: deterministic keys (from fixed seeds) and a valid chain.
import assert from 'node:assert/strict';

import { utf8 } from '../../src/base/index.ts';
import {
  type Block,
  ChainError,
  type Transaction,
  type ValidatorSet,
  blockHash,
  makeCommit,
  makeValidatorSet,
  signTransaction,
  transactionId,
  transactionRoot,
  validatorSetHash,
} from '../../src/chain/index.ts';
import { type Ed25519KeyPair, ed25519KeyPairFromSeed, sha256 } from '../../src/crypto/index.ts';
import { HistoryLog } from '../../src/merkle/index.ts';

export const chainId = 'medledger-test';
export const genesisHash = sha256(utf8('genesis of medledger-test'));
export const genesisTime = 1_700_000_000_000;

/** A key pair derived from a name, the same on every run. */
export function keyPairOf(name: string): Ed25519KeyPair {
  return ed25519KeyPairFromSeed(sha256(utf8(`seed:${name}`)));
}

/** Four validators with equal power, and their key pairs in validator-set order. */
export function fourValidators(): { set: ValidatorSet; keyPairs: Ed25519KeyPair[] } {
  const pairs = ['hospital', 'clinic', 'laboratory', 'payer'].map(keyPairOf);
  const set = makeValidatorSet(pairs.map((pair) => ({ publicKey: pair.publicKey, power: 1 })));
  const keyPairs = set.validators.map((validator) =>
    pairs.find((pair) => pair.publicKey.every((b, i) => b === validator.publicKey[i]))!,
  );
  return { set, keyPairs };
}

/** A signed transaction of `kind` by `signer`. */
export function transaction(options: {
  signer: Ed25519KeyPair;
  nonce: number;
  kind?: string;
  body?: Transaction['body'];
}): Transaction {
  return signTransaction({
    unsigned: {
      chainId,
      kind: options.kind ?? 'record.anchor',
      body: options.body ?? { recordId: `r-${options.nonce}`, version: 1 },
      signer: options.signer.publicKey,
      nonce: options.nonce,
    },
    keyPair: options.signer,
  });
}

/**
 * A valid chain of `count` blocks with `txPerBlock` transactions each, committed by 3 of the
 * 4 validators (indices 0, 1, 2). Returns the blocks and what validating each one needs.
 */
export function buildChain(options: { count: number; txPerBlock: number }) {
  const { set, keyPairs } = fourValidators();
  const author = keyPairOf('practitioner');
  const log = new HistoryLog();
  const blocks: Block[] = [];
  let prevHash = genesisHash;
  let prevTime = genesisTime;
  let nonce = 0;
  for (let height = 1; height <= options.count; height++) {
    const txs: Transaction[] = [];
    for (let i = 0; i < options.txPerBlock; i++)
      txs.push(transaction({ signer: author, nonce: nonce++ }));
    const ids = txs.map(transactionId);
    for (const id of ids) log.append(id);
    const previous = blocks[blocks.length - 1];
    const lastCommit =
      previous === undefined
        ? null
        : makeCommit({
            chainId,
            height: height - 1,
            round: 0,
            blockHash: prevHash,
            signers: [0, 1, 2].map((validatorIndex) => ({
              validatorIndex,
              keyPair: keyPairs[validatorIndex]!,
            })),
          });
    const header = {
      chainId,
      height,
      time: prevTime + 1000,
      prevHash,
      txRoot: transactionRoot(ids),
      stateRoot: new Uint8Array(32),
      logRoot: log.root(),
      logSize: log.size,
      validatorsHash: validatorSetHash(set),
      proposer: keyPairs[height % 4]!.publicKey,
    };
    blocks.push({ header, txs, lastCommit });
    prevHash = blockHash(header);
    prevTime = header.time;
  }
  return { blocks, set, keyPairs, author };
}

/** The validation context of block `index` (0-based) of a chain from `buildChain`. */
export function contextOf(blocks: readonly Block[], index: number, set: ValidatorSet) {
  const previous = blocks[index - 1];
  return {
    chainId,
    height: index + 1,
    prevHash: previous === undefined ? genesisHash : blockHash(previous.header),
    prevTime: previous === undefined ? genesisTime : previous.header.time,
    prevLogSize: previous === undefined ? 0 : previous.header.logSize,
    validatorSet: set,
    prevValidatorSet: set,
  };
}

/** Asserts that `run` throws a `ChainError` with `code` (and a message matching `message`). */
export function assertChainError(run: () => void, code: string, message?: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ChainError, `expected ChainError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}
