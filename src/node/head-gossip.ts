/**
 * Head gossip (decision 0073): every `headGossipIntervalMs` the node sends its newest signed head
 * (header and commit, canonical CBOR) to every peer on channel 5; a head received from a peer is
 * compared with this node's block at that height (`checkPeerHead`). A fork — another block with
 * a valid commit at a height this node committed — is logged at error level (heights and short
 * hashes, nothing else), counted in `medledger_fork_detected_total`, and its evidence (both
 * signed headers) saved to `<dataDir>/evidence/fork-<height>-<n>.json` (mode 0600). A head that
 * is not certified gets the peer cut, like other invalid data.
 *
 * Off the consensus path: a received head costs a map look-up and one hash read from the store;
 * signatures are checked only when the hashes differ, each peer is heard at most once per
 * `headGossipFromPeerIntervalMinMs`, and evidence is written asynchronously.
 */
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';

import type { Logger } from 'pino';

import { shortHex, toHex } from '../base/index.ts';
import {
  BlockHeaderSchema,
  type BlockHeader,
  type Commit,
  CommitSchema,
  type ValidatorSet,
} from '../chain/index.ts';
import { readValidatorChangeHeights, readValidatorSet } from '../contracts/index.ts';
import type { Hash } from '../crypto/index.ts';
import type { ChainStore } from '../store/index.ts';
import { checkPeerHead } from './check-peer-head.ts';
import { NodeError } from './errors.ts';
import { nodeLimits } from './limits.ts';
import { HeadGossipSchema } from './wire.ts';

/** The folder under the data directory where fork evidence goes. */
export const evidenceFolderName = 'evidence';

/** Sends and checks signed heads; see the module comment. */
export class HeadGossip {
  readonly #chainId: string;
  readonly #store: ChainStore;
  readonly #dataDir: string;
  readonly #logger: Logger;
  readonly #onFork: () => void;
  readonly #broadcast: (payload: Uint8Array) => void;
  readonly #disconnect: (peer: string, reason: string) => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #encoded: { height: number; payload: Uint8Array } | null = null;
  readonly #lastFromPeer = new Map<string, number>();
  readonly #forksSeen = new Set<string>();
  #evidenceFiles = 0;
  /** Validator sets read from past states, by the height of the block that wrote them. */
  readonly #pastSets = new Map<number, ValidatorSet>();

  constructor(options: {
    chainId: string;
    store: ChainStore;
    dataDir: string;
    logger: Logger;
    /** Counts a fork (the node's Prometheus counter). */
    onFork: () => void;
    /** Sends a channel-5 frame to every connected peer. */
    broadcast: (payload: Uint8Array) => void;
    /** Cuts a peer that sent a head that is not certified. */
    disconnect: (peer: string, reason: string) => void;
    now: () => number;
  }) {
    this.#chainId = options.chainId;
    this.#store = options.store;
    this.#dataDir = options.dataDir;
    this.#logger = options.logger;
    this.#onFork = options.onFork;
    this.#broadcast = options.broadcast;
    this.#disconnect = options.disconnect;
    this.#now = options.now;
  }

  /** Starts sending the newest head every `headGossipIntervalMs`. */
  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => this.#sendHead(), nodeLimits.headGossipIntervalMs);
    this.#timer.unref();
  }

  /** Stops sending (before the store closes). */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #sendHead(): void {
    try {
      const height = this.#store.head().height;
      if (height < 1) return;
      if (this.#encoded?.height !== height) {
        const block = this.#store.loadBlock(height);
        const commit = this.#store.loadCommit(height);
        if (block === null || commit === null) return;
        this.#encoded = {
          height,
          payload: HeadGossipSchema.encode({ header: block.header, commit }),
        };
      }
      this.#broadcast(this.#encoded.payload);
    } catch (error) {
      this.#logger.warn({ err: error }, 'head gossip: the newest head was not sent');
    }
  }

  /**
   * Handles a channel-5 frame from `peer`. Throws `CodecError` if it does not decode (the node
   * cuts the peer, as on every channel).
   */
  receive(peer: string, payload: Uint8Array): void {
    const now = this.#now();
    const last = this.#lastFromPeer.get(peer);
    if (last !== undefined && now - last < nodeLimits.headGossipFromPeerIntervalMinMs) {
      this.#logger.debug({ peer: peer.slice(0, 12) }, 'head gossip: too soon after the last one');
      return;
    }
    if (this.#lastFromPeer.size >= nodeLimits.headGossipPeersTrackedMax) this.#lastFromPeer.clear();
    this.#lastFromPeer.set(peer, now);
    const { header, commit } = HeadGossipSchema.decode(payload);
    try {
      this.#check(peer, header, commit);
    } catch (error) {
      // A store read that failed is not the peer's fault, and must not stop the node.
      this.#logger.error(
        { err: error, peer: peer.slice(0, 12), height: header.height },
        'head gossip: a peer head could not be checked',
      );
    }
  }

  #check(peer: string, header: BlockHeader, commit: Commit): void {
    const head = this.#store.head().height;
    const ownHash =
      header.height >= 1 && header.height <= head ? this.#store.loadBlockHash(header.height) : null;
    const verdict = checkPeerHead({
      chainId: this.#chainId,
      header,
      commit,
      ownHash,
      validatorSet: () => this.#validatorSetAt(header.height),
    });
    switch (verdict.kind) {
      case 'same':
      case 'ahead':
        return;
      case 'invalid':
        this.#disconnect(peer, `head gossip: height ${verdict.height}: ${verdict.reason}`);
        return;
      case 'fork':
        this.#fork({ peer, header, commit, ownHash: verdict.ownHash, peerHash: verdict.peerHash });
        return;
    }
  }

  /**
   * The validator set that signed `height`: the one written by the last block at least two
   * heights before it that changed the set, or genesis's (decision 0036). Read once per change.
   */
  #validatorSetAt(height: number): ValidatorSet {
    let writtenAt = 0;
    for (const changed of readValidatorChangeHeights(this.#store.state())) {
      if (changed + 2 <= height) writtenAt = changed;
    }
    const cached = this.#pastSets.get(writtenAt);
    if (cached !== undefined) return cached;
    const state = this.#store.stateAt(writtenAt);
    const set = state === null ? null : readValidatorSet(state);
    if (set === null) {
      throw new NodeError('internal', `no validator set in the state after height ${writtenAt}`);
    }
    // The sets a chain ever had are few (each is a governance vote); the bound is a safeguard.
    if (this.#pastSets.size >= 64) this.#pastSets.clear();
    this.#pastSets.set(writtenAt, set);
    return set;
  }

  #fork(options: {
    peer: string;
    header: BlockHeader;
    commit: Commit;
    ownHash: Hash;
    peerHash: Hash;
  }): void {
    const { peer, header, commit, ownHash, peerHash } = options;
    const key = `${header.height}:${toHex(peerHash)}`;
    if (this.#forksSeen.has(key)) return;
    if (this.#forksSeen.size >= nodeLimits.forkSeenMax) this.#forksSeen.clear();
    this.#forksSeen.add(key);
    this.#onFork();
    this.#logger.error(
      {
        height: header.height,
        ownBlock: shortHex(ownHash),
        peerBlock: shortHex(peerHash),
        peer: peer.slice(0, 12),
      },
      'FORK: a peer holds another block with a valid commit at a height this node committed ' +
        '(BFT safety broken: more than 1/3 of the validators signed two blocks, or a chain was replaced)',
    );
    if (this.#evidenceFiles >= nodeLimits.forkEvidenceFilesMax) {
      this.#logger.warn(
        { height: header.height, filesMax: nodeLimits.forkEvidenceFilesMax },
        'fork evidence not saved: this process saved as many files as it may',
      );
      return;
    }
    const ownBlock = this.#store.loadBlock(header.height);
    const ownCommit = this.#store.loadCommit(header.height);
    if (ownBlock === null || ownCommit === null) return;
    this.#evidenceFiles++;
    const evidence = {
      format: 'medledger-fork-evidence',
      version: 1,
      chainId: this.#chainId,
      height: header.height,
      detectedAt: new Date(this.#now()).toISOString(),
      own: {
        blockHash: toHex(ownHash),
        header: toHex(BlockHeaderSchema.encode(ownBlock.header)),
        commit: toHex(CommitSchema.encode(ownCommit)),
      },
      peer: {
        nodeKey: peer,
        blockHash: toHex(peerHash),
        header: toHex(BlockHeaderSchema.encode(header)),
        commit: toHex(CommitSchema.encode(commit)),
      },
    };
    saveEvidence({ dataDir: this.#dataDir, height: header.height, evidence }).then(
      (path) => this.#logger.error({ height: header.height, path }, 'fork evidence saved'),
      (error: unknown) =>
        this.#logger.error({ err: error, height: header.height }, 'fork evidence not saved'),
    );
  }
}

/** Writes `evidence` to the first free `evidence/fork-<height>-<n>.json` (mode 0600). */
async function saveEvidence(options: {
  dataDir: string;
  height: number;
  evidence: unknown;
}): Promise<string> {
  const folder = join(options.dataDir, evidenceFolderName);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const text = `${JSON.stringify(options.evidence, null, 2)}\n`;
  for (let n = 1; n <= nodeLimits.forkEvidenceFilesMax; n++) {
    const path = join(folder, `fork-${options.height}-${n}.json`);
    let handle;
    try {
      handle = await open(path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw error;
    }
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return path;
  }
  throw new NodeError(
    'internal',
    `${folder} holds ${nodeLimits.forkEvidenceFilesMax} fork files of height ${options.height} already`,
  );
}
