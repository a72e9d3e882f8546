/** Every bound of the verifier, with its unit: a bundle is untrusted input. */
export const verifyLimits = {
  /** Longest bundle text, in characters (a year of a busy patient's access log fits). */
  bundleCharsMax: 64 * 1024 * 1024,
  /** Longest hex field, in hex digits (a header, commit or transaction is far smaller). */
  hexCharsMax: 2 * 1024 * 1024,
  /** Most hashes in one Merkle path (RFC 9162 paths of a log of 2^63 leaves, with margin). */
  pathHashesMax: 128,
  /** Most validator-set transitions (contracts' `validatorChangeHeightsMax`). */
  validatorChangesMax: 4096,
  /** Most certified headers a claim refers to. */
  headersMax: 16,
  /** Most state proofs in one list (access-log events, record versions). */
  proofsMax: 100_000,
} as const;
