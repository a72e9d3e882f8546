/**
 * The node's public types: its configuration file and the running node that the HTTP API and
 * the CLI drive. The node owns every timer, socket, file and process of a member's node
 * (DESIGN.md "Layers").
 */
import type { Block, Commit } from '../chain/index.ts';
import type { Hash } from '../crypto/index.ts';
import type { Receipt } from '../contracts/index.ts';

/** A peer to dial: its node key (64 hex digits) and where it listens. */
export interface NodePeerConfig {
  readonly publicKey: string;
  readonly host: string;
  readonly port: number;
}

/**
 * A node's configuration (the JSON file of `medledger node start --config <file>`). Paths are
 * resolved against the configuration file's folder.
 */
export interface NodeConfig {
  /** The network's genesis document (JSON). */
  readonly genesisFile: string;
  /** The node's Ed25519 key file (mode 0600): its identity on links and its validator key. */
  readonly keyFile: string;
  /** Where the node keeps its store. */
  readonly dataDir: string;
  /** Where the node listens for peers (port 0 = any free port). */
  readonly p2p: { readonly host: string; readonly port: number };
  /** Where the node serves its HTTP API (port 0 = any free port). */
  readonly http: { readonly host: string; readonly port: number };
  /** The peers to dial. */
  readonly peers: readonly NodePeerConfig[];
  /** pino level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'. */
  readonly logLevel: string;
}

/** One validator as the status shows it. */
export interface ValidatorStatus {
  readonly publicKey: string;
  readonly power: number;
}

/** One connected peer as the status shows it. */
export interface PeerStatus {
  readonly id: string;
  readonly direction: 'inbound' | 'outbound';
  readonly remote: string;
}

/** What `GET /chain/status` serves (hashes and keys in lowercase hex). */
export interface NodeStatus {
  readonly chainId: string;
  readonly nodeKey: string;
  readonly isValidator: boolean;
  readonly height: number;
  readonly round: number;
  readonly lastBlockHash: string;
  readonly lastBlockTime: number;
  readonly stateRoot: string;
  readonly logSize: number;
  readonly logRoot: string;
  readonly validators: readonly ValidatorStatus[];
  readonly peers: readonly PeerStatus[];
  readonly mempoolSize: number;
  readonly p2pAddress: { readonly host: string; readonly port: number };
}

/** A committed block as the store holds it. */
export interface CommittedBlock {
  readonly height: number;
  readonly hash: Hash;
  readonly block: Block;
  /** The commit certificate that decided it. */
  readonly commit: Commit;
  readonly receipts: readonly Receipt[];
}

/** The answer to a submitted transaction. */
export type SubmitResult =
  | { readonly accepted: true; readonly txId: Hash }
  | {
      readonly accepted: false;
      /**
       * `busy`: the mempool is full, try again later (HTTP 503/429); `invalid`: it does not
       * decode or its signature does not verify (400); `duplicate`: already pending or
       * committed (409); `bad-nonce`: its nonce was already used (409).
       */
      readonly code: 'busy' | 'invalid' | 'duplicate' | 'bad-nonce';
      readonly message: string;
    };

/** Where a committed transaction is, and its outcome. */
export interface TransactionLocation {
  readonly txId: Hash;
  readonly height: number;
  readonly index: number;
  readonly logIndex: number;
  readonly receipt: Receipt;
}

/** What a subscriber to the node's event stream receives. */
export type NodeEvent = {
  readonly kind: 'block-committed';
  readonly height: number;
  readonly hash: Hash;
  readonly time: number;
  readonly txCount: number;
  readonly receipts: readonly Receipt[];
};

/** A started node. */
export interface RunningNode {
  readonly chainId: string;
  /** The node key (Ed25519 public key). */
  readonly nodeKey: Uint8Array;
  status(): NodeStatus;
  /** A committed block, or null above the head. */
  loadBlock(height: number): CommittedBlock | null;
  /** Checks a signed, encoded transaction (off the event loop) and admits it to the mempool. */
  submitTransaction(encoded: Uint8Array): Promise<SubmitResult>;
  /** Where a committed transaction is, or null if it is not committed. */
  findTransaction(txId: Hash): TransactionLocation | null;
  /** Resolves when `txId` is committed, or with null after `timeoutMs`. */
  waitForTransaction(txId: Hash, timeoutMs: number): Promise<TransactionLocation | null>;
  /** Subscribes to the event stream; returns the unsubscribe function. */
  subscribe(listener: (event: NodeEvent) => void): () => void;
  /** The Prometheus exposition of the node's metrics (`GET /metrics`). */
  metricsText(): Promise<string>;
  /** The content type of `metricsText()`. */
  readonly metricsContentType: string;
  /** Stops or resumes every peer link (tests: cut a node off and heal it). */
  pauseLinks(): void;
  resumeLinks(): void;
  /** Stops consensus, links and the store, in that order. */
  stop(): Promise<void>;
}
