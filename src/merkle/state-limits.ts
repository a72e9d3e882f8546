/** The state tree's bounds (STYLE.md "Limits"): every size and input has a named ceiling. */

/** Length of a state key in bytes: 256 bits, the tree's full depth (see `state-tree.ts`). */
export const stateKeyBytes = 32;

/**
 * Deepest position in the state tree, in bits: a leaf can sit at depth 256 at most (two keys
 * that differ only in their last bit), so a proof has at most 256 siblings and every recursion
 * over the tree is at most 256 + 1 calls deep.
 */
export const stateDepthMax = stateKeyBytes * 8;

/**
 * Longest value the state tree stores, in bytes (1 MiB). State values are small records
 * (consents, record anchors, memberships); the bound refuses absurd inputs before they are
 * hashed or copied.
 */
export const stateValueBytesMax = 1_048_576;

/**
 * Most entries one `stateTreeUpdate` batch accepts (2^20). A block's writes are far fewer; the
 * bound keeps one call's sort and recursion from holding unbounded memory.
 */
export const stateBatchEntriesMax = 1_048_576;
