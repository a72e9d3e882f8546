/** The history log's bounds (STYLE.md "Limits"): every size and input has a named ceiling. */

/**
 * Most leaves the history log holds: 2^53 - 1, the largest integer a JS number represents
 * exactly. Every index and size is checked against it, so the arithmetic on indices stays exact
 * (RFC 9162 §2.1 allows 2^64 - 1; MedLedger never comes near either).
 */
export const logSizeMax = Number.MAX_SAFE_INTEGER;

/**
 * Longest leaf input `append` accepts, in bytes (1 MiB). Leaves are transaction hashes in
 * MedLedger; the bound only refuses absurd inputs before they are hashed.
 */
export const logLeafBytesMax = 1_048_576;
