/**
 * The node's public types: its configuration file and the running node that the HTTP API and
 * the CLI drive. The node owns every timer, socket, file and process of a member's node
 * (DESIGN.md "Layers").
 */
import type { Block, Commit } from '../chain/index.ts';
import type { Hash } from '../crypto/index.ts';
import type {
  ContractBodies,
  ContractKind,
  GenesisDocument,
  Receipt,
  StateReader,
} from '../contracts/index.ts';
import type { HistoryLog, StateRoot } from '../merkle/index.ts';

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
  /**
   * Signature verifier threads (`workers/`). Absent: one per core, at most
   * `nodeLimits.verifyThreadsDefaultMax`; nodes that share a machine set fewer (decision 0046).
   */
  readonly verifyThreads?: number;
  /** Where the records service keeps its vault; absent: SQLite in `dataDir` (decision 0064). */
  readonly vault?: NodeVaultConfig;
}

/**
 * The vault's storage (decision 0064): `sqlite` (the embedded default, `vault.sqlite` in the data
 * folder) or a PostgreSQL schema, for a member that outgrows one machine. The password is never in
 * the configuration: it is read from `passwordFile` (mode 0600), or libpq's usual `PGPASSWORD` /
 * `.pgpass` apply.
 */
export type NodeVaultConfig =
  | { readonly backend: 'sqlite' }
  | {
      readonly backend: 'postgres';
      /** A host name or address, or the absolute path of the server's socket folder. */
      readonly host: string;
      readonly port: number;
      readonly user: string;
      readonly database: string;
      /** The schema of the vault's tables (default `medledger_vault`). */
      readonly schema?: string;
      /** A file (mode 0600) holding the password, one line. */
      readonly passwordFile?: string;
    };

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

/**
 * The answer to `submitOwn`: a `SubmitResult`, and the nonce the transaction was signed with
 * (null when it was refused before signing: its body does not fit its kind's schema).
 */
export type OwnSubmitResult = SubmitResult & { readonly nonce: number | null };

/**
 * A read-only view of the committed state after block `height` (contracts' `StateReader`: use it
 * with contracts' `read*`/`list*` queries and `decide`). It is pinned: it answers for `height`
 * for as long as it is held, whatever commits after it was taken, so several reads and a
 * decision made with one reader are consistent. It keeps that version's tree nodes alive: take a
 * fresh one per request rather than holding one.
 */
export interface CommittedStateReader extends StateReader {
  /** The height of the block after which this is the state. */
  readonly height: number;
  /** The state root of that block's header. */
  readonly stateRoot: Hash;
}

/** A request from a peer, as the handler of `handlePeerRequests` receives it. */
export interface PeerRequest {
  /** The requesting peer's node key (64 lowercase hex digits), authenticated by the link's TLS. */
  readonly peer: string;
  readonly payload: Uint8Array;
}

/**
 * Answers a peer's request with bytes (at most `nodeLimits.peerRequestPayloadBytesMax`). If it
 * throws or rejects, the peer gets an `error` answer with a code only: the error's `code` if it
 * is a `MedLedgerError` with a kebab-case code, else `handler-failed`; never a message or stack.
 */
export type PeerRequestHandler = (request: PeerRequest) => Promise<Uint8Array>;

/** What `requestPeer` takes. */
export interface PeerRequestOptions {
  /** The peer's node key (64 hex digits); a link to it must be up. */
  readonly peer: string;
  /** At most `nodeLimits.peerRequestPayloadBytesMax` bytes. */
  readonly payload: Uint8Array;
  /** How long to wait for the answer (default `nodeLimits.peerRequestTimeoutDefaultMs`). */
  readonly timeoutMs?: number;
}

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

/**
 * The committed chain as proofs/ reads it to build proofs and verification bundles: blocks,
 * their commits, the state after any committed height (older ones rebuilt from the store), and
 * the history log. Read it within one synchronous step: the node commits between event-loop turns.
 */
export interface CommittedChainView {
  readonly genesis: GenesisDocument;
  head(): { readonly height: number };
  loadBlock(height: number): Block | null;
  loadCommit(height: number): Commit | null;
  stateAt(height: number): StateRoot | null;
  log(): HistoryLog;
}

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
  /**
   * The committed state as of the last committed block, pinned at that height (see
   * `CommittedStateReader`). Throws `NodeError` `stopped` after `stop()`.
   */
  stateReader(): CommittedStateReader;
  /** The committed chain for proofs (see `CommittedChainView`); throws `stopped` after `stop()`. */
  chainView(): CommittedChainView;
  /**
   * Builds a transaction of `kind` from `body` (contracts' `contractBody`), signs it with the
   * node key and admits it, in one synchronous step: own transactions take consecutive nonces
   * (the first one after the committed next nonce that no own transaction in the mempool holds,
   * so a refused or expired one's nonce is taken again). Refused: `invalid` (the body does not
   * fit the schema, nonce null), `busy` (mempool full, node stopping).
   */
  submitOwn<K extends ContractKind>(kind: K, body: ContractBodies[K]): Promise<OwnSubmitResult>;
  /**
   * `submitOwn`, then waits for the commit: resolves with the location and receipt (whose `ok`
   * may be false: the contract refused it, its nonce is used). Rejects with `NodeError`
   * `refused` (`details.code`), `timeout` (it may still commit later), `stopped`,
   * `invalid-argument`.
   */
  submitOwnAndWait<K extends ContractKind>(
    kind: K,
    body: ContractBodies[K],
    timeoutMs: number,
  ): Promise<TransactionLocation>;
  /**
   * Sends a request to a linked peer on channel 4 and resolves with its answer. Rejects with
   * `NodeError`: `invalid-argument`, `payload-too-large` (not sent), `not-linked` (no link up, or
   * it went down while waiting), `busy` (too many requests wait for that peer, or its send queue
   * is full), `timeout`, `peer-error` (`details.peerCode`), `stopped`.
   */
  requestPeer(options: PeerRequestOptions): Promise<Uint8Array>;
  /** Sets the one handler of peers' requests (replacing the previous one). */
  handlePeerRequests(handler: PeerRequestHandler): void;
  /** Stops or resumes every peer link (tests: cut a node off and heal it). */
  pauseLinks(): void;
  resumeLinks(): void;
  /** Stops consensus, links and the store, in that order; pending peer requests reject. */
  stop(): Promise<void>;
}
