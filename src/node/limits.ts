/**
 * The node's tunable numbers, in one place, named with their unit (STYLE.md "Limits"). Every
 * queue, batch and cache of the node has its bound here.
 */
import type { ConsensusTimeouts } from '../consensus/index.ts';

export const nodeLimits = {
  /** Most transactions waiting in the mempool; a full mempool answers `busy`. */
  mempoolTxCountMax: 50_000,
  /** Most bytes of encoded transactions waiting in the mempool. */
  mempoolBytesMax: 64 * 1024 * 1024,
  /** Most transactions of one signer waiting in the mempool (fairness between signers). */
  mempoolSignerTxCountMax: 2_000,
  /** A transaction still waiting this long after admission is dropped (a nonce gap), in ms. */
  mempoolTxTtlMs: 120_000,
  /** Transactions waiting for signature verification at once (admission back-pressure). */
  admissionPendingMax: 20_000,
  /** Most transactions sent to the verifier threads in one batch. */
  admissionBatchMax: 1_024,
  /** Ids of verified transactions remembered after they left the mempool (for late proposals). */
  verifiedIdsRememberedMax: 100_000,
  /** Most transactions in a block this node proposes (the chain allows 10,000). */
  blockTxCountMax: 5_000,
  /** Signers whose next nonce is kept between commits (admission's cache; then it starts over). */
  nonceCacheSignersMax: 10_000,
  /** Most bytes of transactions in a block this node proposes (the chain allows 4 MiB). */
  blockTxBytesMax: 2 * 1024 * 1024,
  /**
   * A proposer waits this long after its last commit for transactions to gather before it
   * proposes (unless a full block's worth is waiting), in ms: bigger blocks, fewer fsyncs.
   */
  blockIntervalMinMs: 50,
  /** With an empty mempool, a proposer waits this long after the last commit, then proposes an empty block. */
  emptyBlockIntervalMs: 1_000,
  /** A proposed block's time may be at most this far ahead of this node's clock. */
  blockTimeDriftMaxMs: 10_000,
  /** Consensus events (peer messages) queued and not yet handled; more are dropped. */
  consensusQueueMax: 20_000,
  /** Transactions gossiped to peers in one frame. */
  gossipBatchTxMax: 256,
  /** How long admitted transactions gather before a gossip frame goes out, in ms. */
  gossipDelayMs: 5,
  /** Blocks asked for in one sync request. */
  syncBlocksPerRequestMax: 64,
  /** Most bytes of blocks in one sync answer (below the p2p frame limit). */
  syncResponseBytesMax: 6 * 1024 * 1024,
  /** How long a sync request may stay unanswered before another peer is asked, in ms. */
  syncRequestTimeoutMs: 5_000,
  /** Callers waiting for a transaction's commit at once. */
  commitWaitersMax: 100_000,
  /** Blocks whose decoded receipts are kept for transaction look-ups. */
  receiptCacheBlocksMax: 16,
  /**
   * And most decoded receipts kept in that cache, all blocks together (a full block holds 5,000:
   * about 2 MB decoded), so the cache stays a few MB whatever the block size (decision 0045).
   */
  receiptCacheReceiptsMax: 20_000,
  /**
   * Most verifier threads a node starts when its configuration names no `verifyThreads`: one per
   * core up to this (a node alone on its machine). Nodes that share a machine set fewer in their
   * configuration; each thread is a V8 isolate of about 15 MB (decision 0046).
   */
  verifyThreadsDefaultMax: 8,
  /**
   * Most bytes of one peer request's or answer's payload (channel 4): a sealed FHIR record (the
   * vault's 1 MiB resource plus its sealing) fits. With the frame's few bytes of CBOR around it,
   * it stays far below p2p's `frameBytesMax` (8 MiB), which is one limit for every channel.
   */
  peerRequestPayloadBytesMax: 2 * 1024 * 1024,
  /** Requests this node may have waiting for one peer's answers at once; more are refused (`busy`). */
  peerRequestsOutstandingPerPeerMax: 64,
  /**
   * Requests this node has sent to one peer and not yet had answered; more wait in order for a
   * free slot (their timeout running), within `peerRequestsOutstandingPerPeerMax`. The same as
   * `peerRequestHandlersPerPeerMax`, so a node never sends a peer more than that peer handles
   * for it at once (16 reads in flight to one custodian got 8 `busy` answers, 503s, before).
   */
  peerRequestsInFlightPerPeerMax: 8,
  /** Peer requests being handled at once, from all peers; more are answered `busy`. */
  peerRequestHandlersMax: 16,
  /**
   * Peer requests of one peer being handled at once; more are answered `busy`. Also bounds the
   * answers one peer can have queued on its link: 8 × 2 MiB, half of p2p's `queueBytesMax`.
   */
  peerRequestHandlersPerPeerMax: 8,
  /** How long `requestPeer` waits for an answer when the caller names no timeout, in ms. */
  peerRequestTimeoutDefaultMs: 10_000,
  /** Longest timeout `requestPeer` and `submitOwnAndWait` accept, in ms. */
  waitTimeoutMaxMs: 600_000,
  /** Longest error code in a peer's `error` answer, in UTF-8 bytes. */
  peerRequestErrorCodeBytesMax: 64,
  /** How often the node sends its newest signed head to its peers (channel 5), in ms. */
  headGossipIntervalMs: 5_000,
  /** A peer's heads closer together than this are dropped unchecked, in ms (rate limit). */
  headGossipFromPeerIntervalMinMs: 1_000,
  /** Peers whose last head time is remembered for the rate limit; beyond it the memory restarts. */
  headGossipPeersTrackedMax: 1_024,
  /** Distinct forks (height and peer block) remembered, so each is counted and saved once. */
  forkSeenMax: 1_024,
  /** Most fork evidence files this process writes under `<dataDir>/evidence/`. */
  forkEvidenceFilesMax: 64,
} as const;

/** Consensus timeouts of a node on a LAN (the consensus defaults are the simulator's). */
export const nodeConsensusTimeouts: ConsensusTimeouts = {
  proposeTimeoutMs: 3_000,
  prevoteTimeoutMs: 1_000,
  precommitTimeoutMs: 1_000,
  timeoutDeltaMs: 500,
  rebroadcastIntervalMs: 1_000,
};

/** The p2p channels the node uses. */
export const NodeChannel = {
  consensus: 1,
  transactions: 2,
  sync: 3,
  records: 4,
  /** Signed heads (decision 0073). */
  heads: 5,
} as const;
