/**
 * JSON views of chain objects for the API: hashes, keys and signatures in lower-case hex, times
 * in Unix milliseconds. Transaction bodies are shown as their canonical CBOR in hex, never
 * decoded: a client that needs a body decodes it with the kind's schema.
 */
import { toHex } from '../base/index.ts';
import { type Commit, type Transaction, transactionId } from '../chain/index.ts';
import type { Hash } from '../crypto/index.ts';
import { encodeCbor } from '../codec/index.ts';
import type { Receipt } from '../contracts/index.ts';
import type { CommittedBlock, TransactionLocation } from '../node/index.ts';

/** A commit certificate as JSON. */
export function commitJson(commit: Commit) {
  return {
    height: commit.height,
    round: commit.round,
    blockHash: toHex(commit.blockHash),
    signatures: commit.signatures.map((signature) => ({
      validatorIndex: signature.validatorIndex,
      signature: toHex(signature.signature),
    })),
  };
}

/**
 * A transaction as JSON: its id, kind, signer and nonce, and its body as hex CBOR. `id` is for a
 * caller that holds the id already (a committed block's receipts), so that it is not hashed again.
 */
export function transactionJson(tx: Transaction, id: Hash = transactionId(tx)) {
  return {
    id: toHex(id),
    chainId: tx.chainId,
    kind: tx.kind,
    signer: toHex(tx.signer),
    nonce: tx.nonce,
    body: toHex(encodeCbor(tx.body)),
    signature: toHex(tx.signature),
  };
}

/** A receipt as JSON: outcome, error code and message (ids and codes only), cost. */
export function receiptJson(receipt: Receipt) {
  return {
    txId: toHex(receipt.txId),
    ok: receipt.ok,
    code: receipt.code,
    message: receipt.message,
    cost: receipt.cost,
  };
}

/** A committed block as JSON (`GET /chain/blocks/:height`). */
export function committedBlockJson(committed: CommittedBlock) {
  const { header, txs, lastCommit } = committed.block;
  return {
    height: committed.height,
    hash: toHex(committed.hash),
    header: {
      chainId: header.chainId,
      height: header.height,
      time: header.time,
      prevHash: toHex(header.prevHash),
      txRoot: toHex(header.txRoot),
      stateRoot: toHex(header.stateRoot),
      logRoot: toHex(header.logRoot),
      logSize: header.logSize,
      validatorsHash: toHex(header.validatorsHash),
      proposer: toHex(header.proposer),
    },
    // Execution gives one receipt per transaction, in order, and each names its transaction's id.
    txs: txs.map((tx, index) => transactionJson(tx, committed.receipts[index]?.txId)),
    lastCommit: lastCommit === null ? null : commitJson(lastCommit),
    commit: commitJson(committed.commit),
    receipts: committed.receipts.map(receiptJson),
  };
}

/** Where a committed transaction is, and its receipt. */
export function transactionLocationJson(location: TransactionLocation) {
  return {
    txId: toHex(location.txId),
    committed: true,
    height: location.height,
    index: location.index,
    logIndex: location.logIndex,
    receipt: receiptJson(location.receipt),
  };
}
