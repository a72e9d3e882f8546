/**
 * The history-log head a batch of appends would give, computed without appending: the node
 * needs a block's `logRoot` and `logSize` (its header) before the block is decided, and checks a
 * proposed header against them, while the log itself only grows when the block commits.
 */
import { assert } from '../base/index.ts';
import type { Hash } from '../crypto/index.ts';

import { HistoryLogError, LogErrorCode, checkBytes } from './log-errors.ts';
import { half, hashLeaf, hashNode, isOdd, logEmptyRoot } from './log-hash.ts';
import { logLeafBytesMax, logSizeMax } from './log-limits.ts';
import type { HistoryLog } from './log-tree.ts';

/**
 * MTH(D[size + k]) (RFC 9162 §2.1.1) and size + k for the log `log` after appending the `k`
 * leaves `leaves` (the same leaf data `log.append` takes), leaving `log` unchanged. Folds the new
 * leaves into a copy of the log's compact right edge as `append` does, so it costs one leaf hash
 * per leaf, amortised one node hash per leaf, and at most log2(size + k) hashes for the root:
 * O(k + log n), never O(n).
 */
export function logRootAfterAppend(
  log: HistoryLog,
  leaves: readonly Uint8Array[],
): { root: Hash; size: number } {
  const candidate: unknown = leaves;
  if (!Array.isArray(candidate)) {
    throw new HistoryLogError(
      LogErrorCode.argumentInvalid,
      `leaves: expected an array of leaf data, got ${typeof candidate}`,
      { argument: 'leaves' },
    );
  }
  const size = log.size + leaves.length;
  if (size > logSizeMax) {
    throw new HistoryLogError(
      LogErrorCode.full,
      `history log would hold ${size} leaves, more than logSizeMax ${logSizeMax}`,
      { size: log.size, appended: leaves.length, sizeMax: logSizeMax },
    );
  }
  const edge = log.rightEdge();
  let position = log.size;
  for (let i = 0; i < leaves.length; i++) {
    let node = hashLeaf(checkBytes(`leaves[${i}]`, leaves[i], logLeafBytesMax));
    let level = 0;
    // Each trailing one bit of the position closes a perfect subtree with its left neighbour,
    // exactly as HistoryLog's append does, but only in this copy of the edge.
    let closing = position;
    while (isOdd(closing)) {
      const left = edge[level];
      assert(left !== undefined, 'the right edge holds a subtree for each set bit of the size');
      node = hashNode(left, node);
      edge[level] = undefined;
      level++;
      closing = half(closing);
    }
    edge[level] = node;
    position++;
  }
  if (size === 0) return { root: logEmptyRoot(), size };
  let root: Hash | undefined;
  for (let level = 0; level < edge.length; level++) {
    const node = edge[level];
    if (node !== undefined) root = root === undefined ? node : hashNode(node, root);
  }
  assert(root !== undefined, 'a non-empty log has a right edge');
  return { root, size };
}
