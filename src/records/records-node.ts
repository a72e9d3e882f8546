/**
 * What the records service needs of a running node: committed-state reads, the node's own
 * transactions, submitting a patient's signed transaction, and request/response with peer
 * nodes. `node/`'s `RunningNode` provides all of it; tests may pass a narrower double.
 */
import type { Hash } from '../crypto/index.ts';
import type { ContractBodies, ContractKind, StateReader } from '../contracts/index.ts';
import type {
  CommittedBlock,
  NodeEvent,
  SubmitResult,
  TransactionLocation,
} from '../node/index.ts';

export interface RecordsNode {
  readonly chainId: string;
  /** The node key (Ed25519 public key). */
  readonly nodeKey: Uint8Array;
  /** A committed block (its header's time dates audit events), or null above the head. */
  loadBlock(height: number): CommittedBlock | null;
  /** The committed state as of the last block, and that block's height. */
  stateReader(): StateReader & { readonly height: number };
  /** Signs `body` as a transaction of the node's own and waits for its commit. */
  submitOwnAndWait<K extends ContractKind>(
    kind: K,
    body: ContractBodies[K],
    timeoutMs: number,
  ): Promise<TransactionLocation>;
  /** Subscribes to the node's committed blocks; returns the unsubscribe function. */
  subscribe(listener: (event: NodeEvent) => void): () => void;
  /** Admits a transaction signed by someone else (a patient's consent). */
  submitTransaction(encoded: Uint8Array): Promise<SubmitResult>;
  /** Resolves when `txId` is committed, or with null after `timeoutMs`. */
  waitForTransaction(txId: Hash, timeoutMs: number): Promise<TransactionLocation | null>;
  /** Sends a request to a linked peer (by node key, hex) and resolves with its answer. */
  requestPeer(options: {
    peer: string;
    payload: Uint8Array;
    timeoutMs: number;
  }): Promise<Uint8Array>;
  /** Answers peers' requests (one handler; replaces the previous one). */
  handlePeerRequests(
    handler: (request: { peer: string; payload: Uint8Array }) => Promise<Uint8Array>,
  ): void;
}
