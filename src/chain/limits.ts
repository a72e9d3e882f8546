/**
 * Bounds of chain objects (TIGER_STYLE: every size has a limit, named with its unit). Objects
 * beyond them are refused by validation, never truncated.
 */
export const chainLimits = {
  /** Longest chain id, in UTF-8 bytes. */
  chainIdBytesMax: 64,
  /** Longest transaction kind (`consent.grant`), in UTF-8 bytes. */
  txKindBytesMax: 64,
  /** Largest encoded transaction, in bytes. */
  txBytesMax: 64 * 1024,
  /** Most transactions in one block. */
  blockTxCountMax: 10_000,
  /** Largest sum of encoded transaction sizes in one block, in bytes. */
  blockTxBytesMax: 4 * 1024 * 1024,
  /** Most validators in one set. */
  validatorCountMax: 150,
  /** Largest voting power of one validator (equal weights use 1). */
  validatorPowerMax: 1_000_000,
  /** Largest round number accepted in votes and commits. */
  roundMax: 1_000_000,
  /** Largest height, nonce or time (ms) value: the safe-integer range of the codec. */
  integerMax: Number.MAX_SAFE_INTEGER,
} as const;
