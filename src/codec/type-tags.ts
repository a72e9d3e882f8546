/**
 * The registry of chain-object type tags: the first item of every chain object's encoding
 * `[typeTag, version, ...fields]`. A tag is never reused or renumbered, because hashes and
 * signatures cover it; a new object type takes the next free number. The schemas themselves live
 * with their owners (`chain/`, `merkle/`); the numbers live here so that no two owners collide.
 */
export const TypeTag = {
  Transaction: 1,
  BlockHeader: 2,
  Vote: 3,
  Commit: 4,
  Block: 5,
  Proposal: 6,
  LogInclusionProof: 7,
  LogConsistencyProof: 8,
  StateProof: 9,
  ValidatorSet: 10,
  Evidence: 11,
} as const;

/** The name of a registered chain-object type (`'Vote'`). */
export type TypeTagName = keyof typeof TypeTag;

/** The registered number of a chain-object type (`3` for a Vote). */
export type TypeTagNumber = (typeof TypeTag)[TypeTagName];

const namesByTag = new Map<number, TypeTagName>(
  Object.entries(TypeTag).map(([name, tag]) => [tag, name as TypeTagName]),
);

/** The registered name of `tag`, or `undefined` for a number no type uses. */
export function typeTagName(tag: number): TypeTagName | undefined {
  return namesByTag.get(tag);
}
