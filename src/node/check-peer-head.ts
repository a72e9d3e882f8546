/**
 * The decision of head gossip (decision 0073): a peer sent its newest signed head (a header and
 * the commit that certifies it); compared with this node's own block at that height, is it the
 * same block, beyond this node's head, invalid, or a fork? A fork — a different header at a
 * height this node committed, certified by more than 2/3 of that height's validators — means
 * Tendermint's safety is broken (more than 1/3 of the voting power signed two blocks at one
 * height, or a node's chain was replaced), which no honest network ever shows.
 *
 * Pure: no I/O, no clock. The validator set is asked for only when the hashes differ, since a
 * past height's set may cost the caller a state read.
 */
import { equalBytes } from '../base/index.ts';
import {
  type BlockHeader,
  ChainError,
  type Commit,
  type ValidatorSet,
  assertValidCommit,
  blockHash,
} from '../chain/index.ts';
import type { Hash } from '../crypto/index.ts';

/** What a peer's signed head is, next to this node's chain. */
export type PeerHeadVerdict =
  /** This node committed the same block at that height. */
  | { readonly kind: 'same'; readonly height: number }
  /** This node has no block at that height yet (block sync checks every block it takes). */
  | { readonly kind: 'ahead'; readonly height: number }
  /** The head is not certified or not of this chain: a misbehaving peer, like other bad data. */
  | { readonly kind: 'invalid'; readonly height: number; readonly reason: string }
  /** A different header at a height this node committed, with a valid commit: a fork. */
  | {
      readonly kind: 'fork';
      readonly height: number;
      readonly ownHash: Hash;
      readonly peerHash: Hash;
    };

/**
 * Classifies a peer's signed head. `ownHash` is this node's block hash at `header.height` (null:
 * no block there yet); `validatorSet` gives the set of that height, and is called only when the
 * two hashes differ (then the commit's signatures decide between `invalid` and `fork`).
 */
export function checkPeerHead(options: {
  chainId: string;
  header: BlockHeader;
  commit: Commit;
  ownHash: Hash | null;
  validatorSet: () => ValidatorSet;
}): PeerHeadVerdict {
  const { header, commit } = options;
  const height = header.height;
  if (header.chainId !== options.chainId) {
    return {
      kind: 'invalid',
      height,
      reason: `the header is of chain ${JSON.stringify(header.chainId.slice(0, 64))}, expected ${JSON.stringify(options.chainId)}`,
    };
  }
  if (height < 1) return { kind: 'invalid', height, reason: 'a header of height 0' };
  const peerHash = blockHash(header);
  // Cheap checks first: a commit for another height or block certifies nothing here.
  if (commit.height !== height || !equalBytes(commit.blockHash, peerHash)) {
    return {
      kind: 'invalid',
      height,
      reason: `the commit is for height ${commit.height} and another block than the header of height ${height}`,
    };
  }
  if (options.ownHash === null) return { kind: 'ahead', height };
  if (equalBytes(options.ownHash, peerHash)) return { kind: 'same', height };
  try {
    assertValidCommit({
      chainId: options.chainId,
      commit,
      height,
      blockHash: peerHash,
      validatorSet: options.validatorSet(),
    });
  } catch (error) {
    if (!(error instanceof ChainError)) throw error;
    return { kind: 'invalid', height, reason: `a different block whose ${error.message}` };
  }
  return { kind: 'fork', height, ownHash: options.ownHash, peerHash };
}
