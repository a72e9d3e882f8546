/** The vault's tunable numbers (STYLE.md "Limits"), each named with its unit and bound. */

/** Every limit of the vault, in one place. */
export const vaultLimits = {
  /**
   * Largest canonical (RFC 8785) resource stored, in bytes: 1 MiB. FHIR resources of a patient
   * record are a few kB; binary attachments belong in `Binary` resources kept elsewhere.
   */
  resourceBytesMax: 1024 * 1024,
  /** Deepest nesting of objects and arrays in a resource (FHIR R4 resources stay under 20). */
  resourceDepthMax: 64,
  /** Most versions of one record (FHIR `meta.versionId` 1 … 10,000); bounds `history`. */
  versionsPerRecordMax: 10_000,
  /** Longest record or patient id, in characters (FHIR R4 `id`: 1 to 64). */
  idCharsMax: 64,
  /** Longest resource type name, in characters. */
  resourceTypeCharsMax: 64,
  /** Most security labels on one version (FHIR `meta.security`). */
  securityLabelsMax: 32,
  /** Longest security label code, in characters. */
  securityLabelCharsMax: 128,
  /** Largest page `list` returns, in records; a larger `limit` is refused. */
  listPageSizeMax: 1000,
  /** Page `list` returns when no `limit` is given. */
  listPageSizeDefault: 100,
  /** Data keys re-wrapped per database round trip during `rotateKek` (one transaction). */
  rotationBatchRows: 500,
  /** Largest plaintext sealed for a peer, in bytes: a resource plus room for an envelope. */
  sealedPlaintextBytesMax: 1024 * 1024 + 64 * 1024,
  /** Largest additional authenticated data of a sealed record, in bytes. */
  sealedAadBytesMax: 64 * 1024,
  /** Longest chain id or request id bound into a sealing `info`, in UTF-8 bytes. */
  sealingInfoFieldBytesMax: 256,
  /** Largest KEK file read, in bytes (a version 1 file is under 200 bytes). */
  kekFileBytesMax: 4096,
  /** Versions written by one SQLite transaction (group commit) at most. */
  groupCommitVersionsMax: 256,
  /** Connections in a PostgreSQL vault's pool. */
  postgresPoolConnectionsMax: 4,
} as const;
