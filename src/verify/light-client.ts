/**
 * The light client: from the genesis document alone, learn the validator set of every height a
 * bundle refers to, and check that each header a claim rests on is certified by more than 2/3 of
 * its height's set (Tendermint's commit rule; decision 0072).
 *
 * The set of heights 1 and 2 is the genesis set; block k's execution writes the set of heights
 * k + 2 on (decision 0036). A transition is the header of such a block k, its commit (signed by
 * the set of k, already known) and a state proof of the new set under that header's `stateRoot`.
 * Every header names its set (`validatorsHash`), so a transition left out shows as a mismatch;
 * and the newest header's state lists every height whose block changed the set, so the bundle
 * must hold exactly those transitions.
 */
import { equalBytes, fromHex, shortHex, toHex } from '../base/index.ts';
import {
  type BlockHeader,
  BlockHeaderSchema,
  type Commit,
  CommitSchema,
  type ValidatorSet,
  ValidatorSetSchema,
  assertValidCommit,
  assertValidatorSet,
  blockHash,
  makeValidatorSet,
  validatorSetHash,
} from '../chain/index.ts';
import {
  type GenesisDocument,
  StateNamespace,
  ValidatorChangeHeightsSchema,
  genesisDocumentHash,
  parseGenesisDocument,
  stateKey,
} from '../contracts/index.ts';
import type { Hash } from '../crypto/index.ts';
import { verifyStateProof } from '../merkle/index.ts';
import type { SignedHeaderJson, StateProofJson, VerificationBundle } from './bundle-format.ts';
import { VerifyError, VerifyErrorCode, within } from './errors.ts';

/** A header whose commit was checked against its height's validator set. */
export interface CertifiedHeader {
  readonly header: BlockHeader;
  readonly hash: Hash;
  readonly commit: Commit;
}

/** What the genesis document fixes for a verifier. */
export interface TrustedGenesis {
  readonly document: GenesisDocument;
  readonly chainId: string;
  readonly hash: Hash;
  readonly validatorSet: ValidatorSet;
}

/** Checks a genesis document (parsed JSON) and derives what the light client trusts. */
export function trustGenesis(value: unknown): TrustedGenesis {
  return within(VerifyErrorCode.genesis, 'genesis', () => {
    const document = parseGenesisDocument(value);
    const validatorSet = makeValidatorSet(
      document.validators.map((v) => ({ publicKey: fromHex(v.nodeKey), power: v.power })),
    );
    return {
      document,
      chainId: document.chainId,
      hash: genesisDocumentHash(document),
      validatorSet,
    };
  });
}

/** Decodes and checks one state proof against a root; returns the proven value (or null). */
export function checkStateProof(options: {
  part: string;
  proof: StateProofJson;
  rootHash: Hash;
  key: Uint8Array;
  /** The claim's field the key derives from, named when the two disagree. */
  keyFrom?: string;
}): Uint8Array | null {
  const { part, proof } = options;
  const key = fromHex(proof.key);
  if (!equalBytes(key, options.key)) {
    throw new VerifyError(
      VerifyErrorCode.claim,
      `${part}.key`,
      `proves key ${shortHex(key)}, the claim needs key ${shortHex(options.key)}${options.keyFrom === undefined ? '' : ` (from ${options.keyFrom})`}`,
      options.keyFrom ?? null,
    );
  }
  const value = proof.value === null ? null : fromHex(proof.value);
  within(VerifyErrorCode.proof, part, () =>
    verifyStateProof({
      rootHash: options.rootHash,
      key,
      value,
      proof: {
        depth: proof.depth,
        bitmap: fromHex(proof.bitmap),
        siblings: proof.siblings.map(fromHex),
        otherLeaf:
          proof.otherLeaf === null
            ? null
            : { key: fromHex(proof.otherLeaf.key), valueHash: fromHex(proof.otherLeaf.valueHash) },
      },
    }),
  );
  return value;
}

/** The validator sets the light client has learned, by the height each takes effect. */
class ValidatorSets {
  readonly #sets: Array<{ from: number; set: ValidatorSet }>;

  constructor(genesisSet: ValidatorSet) {
    this.#sets = [{ from: 1, set: genesisSet }];
  }

  /** The set that signs `height` (heights only grow between calls to `learn`). */
  at(height: number): ValidatorSet {
    let set = this.#sets[0]!.set;
    for (const entry of this.#sets) {
      if (entry.from > height) break;
      set = entry.set;
    }
    return set;
  }

  learn(from: number, set: ValidatorSet): void {
    this.#sets.push({ from, set });
  }
}

function certify(options: {
  part: string;
  signed: SignedHeaderJson;
  chainId: string;
  sets: ValidatorSets;
}): CertifiedHeader {
  const { part, signed, chainId } = options;
  const header = within(VerifyErrorCode.malformed, `${part}.header`, () =>
    BlockHeaderSchema.decode(fromHex(signed.header)),
  );
  const commit = within(VerifyErrorCode.malformed, `${part}.commit`, () =>
    CommitSchema.decode(fromHex(signed.commit)),
  );
  if (header.chainId !== chainId) {
    throw new VerifyError(
      VerifyErrorCode.header,
      part,
      `header is of chain ${JSON.stringify(header.chainId)}, the bundle's is ${JSON.stringify(chainId)}`,
    );
  }
  const set = options.sets.at(header.height);
  const expectedSetHash = validatorSetHash(set);
  if (!equalBytes(header.validatorsHash, expectedSetHash)) {
    throw new VerifyError(
      VerifyErrorCode.transition,
      part,
      `header ${header.height} names validator set ${shortHex(header.validatorsHash)}, but the transitions from genesis give ${shortHex(expectedSetHash)} (a transition is missing or forged)`,
    );
  }
  const hash = blockHash(header);
  // A commit that does not certify the header's hash disagrees with the header beside it.
  within(VerifyErrorCode.header, `${part}.commit`, `${part}.header`, () =>
    assertValidCommit({
      chainId,
      commit,
      height: header.height,
      blockHash: hash,
      validatorSet: set,
    }),
  );
  return { header, hash, commit };
}

/** What the light client proved: every header of the bundle, certified, by height. */
export interface CertifiedChain {
  readonly genesis: TrustedGenesis;
  /** The bundle's `headers`, certified, in the same order (strictly increasing heights). */
  readonly headers: readonly CertifiedHeader[];
  /** The heights of the transitions followed (blocks that changed the validator set). */
  readonly transitionHeights: readonly number[];
  /** The certified header at `height`; throws `claim` at `part` if the bundle has none. */
  headerAt(height: number, part: string): CertifiedHeader;
  /** The newest certified header. */
  readonly newest: CertifiedHeader;
}

/**
 * Verifies the bundle's chain part: its genesis hash and chain id against the genesis document,
 * each validator-set transition in order, each header's commit, and that the transitions are
 * exactly those the newest header's state lists.
 */
export function verifyChain(bundle: VerificationBundle, genesis: TrustedGenesis): CertifiedChain {
  if (bundle.chainId !== genesis.chainId) {
    throw new VerifyError(
      VerifyErrorCode.genesis,
      'genesis',
      `the bundle is for chain ${JSON.stringify(bundle.chainId)}, the genesis document for ${JSON.stringify(genesis.chainId)}`,
    );
  }
  if (bundle.genesisHash !== toHex(genesis.hash)) {
    throw new VerifyError(
      VerifyErrorCode.genesis,
      'genesis',
      `the bundle names genesis ${bundle.genesisHash.slice(0, 8)}…, the genesis document hashes to ${toHex(genesis.hash).slice(0, 8)}… (another or an edited genesis file)`,
    );
  }
  const sets = new ValidatorSets(genesis.validatorSet);
  const validatorsKey = stateKey(StateNamespace.validators);
  let previous = 0;
  for (const [index, change] of bundle.validatorChanges.entries()) {
    const part = `validatorChanges[${index}]`;
    if (change.height <= previous) {
      throw new VerifyError(
        VerifyErrorCode.malformed,
        `${part}.height`,
        `expected heights to increase, found ${change.height} after ${previous}`,
      );
    }
    previous = change.height;
    const certified = certify({
      part: `${part}.signedHeader`,
      signed: change.signedHeader,
      chainId: bundle.chainId,
      sets,
    });
    if (certified.header.height !== change.height) {
      throw new VerifyError(
        VerifyErrorCode.transition,
        part,
        `the transition is for height ${change.height}, its header is of height ${certified.header.height}`,
      );
    }
    if (change.validatorSet.height !== change.height) {
      throw new VerifyError(
        VerifyErrorCode.transition,
        `${part}.validatorSet`,
        `the proof is for height ${change.validatorSet.height}, expected ${change.height}`,
      );
    }
    const value = checkStateProof({
      part: `${part}.validatorSet`,
      proof: change.validatorSet,
      rootHash: certified.header.stateRoot,
      key: validatorsKey,
    });
    if (value === null) {
      throw new VerifyError(
        VerifyErrorCode.transition,
        `${part}.validatorSet`,
        'proves no validator set',
      );
    }
    const set = within(VerifyErrorCode.transition, `${part}.validatorSet`, () => {
      const decoded = ValidatorSetSchema.decode(value);
      assertValidatorSet(decoded);
      return decoded;
    });
    sets.learn(change.height + 2, set);
  }

  const headers: CertifiedHeader[] = [];
  for (const [index, signed] of bundle.headers.entries()) {
    const certified = certify({ part: `headers[${index}]`, signed, chainId: bundle.chainId, sets });
    const last = headers[headers.length - 1];
    if (last !== undefined && certified.header.height <= last.header.height) {
      throw new VerifyError(
        VerifyErrorCode.malformed,
        `headers[${index}]`,
        `expected heights to increase, found ${certified.header.height} after ${last.header.height}`,
      );
    }
    headers.push(certified);
  }
  const newest = headers[headers.length - 1];
  if (newest === undefined) {
    throw new VerifyError(VerifyErrorCode.malformed, 'headers', 'expected at least one header');
  }
  const transitionHeights = bundle.validatorChanges.map((change) => change.height);
  checkTransitionsComplete({ bundle, newest, transitionHeights });
  return {
    genesis,
    headers,
    transitionHeights,
    newest,
    headerAt(height, part) {
      const found = headers.find((entry) => entry.header.height === height);
      if (found === undefined) {
        throw new VerifyError(
          VerifyErrorCode.claim,
          part,
          `refers to height ${height}, but the bundle has no certified header of that height`,
        );
      }
      return found;
    },
  };
}

/** The transitions in the bundle must be exactly those up to newest − 2 that the state lists. */
function checkTransitionsComplete(options: {
  bundle: VerificationBundle;
  newest: CertifiedHeader;
  transitionHeights: readonly number[];
}): void {
  const { bundle, newest } = options;
  const part = 'validatorChangeHeights';
  if (bundle.validatorChangeHeights.height !== newest.header.height) {
    throw new VerifyError(
      VerifyErrorCode.transition,
      part,
      `the proof is for height ${bundle.validatorChangeHeights.height}, expected the newest header's ${newest.header.height}`,
    );
  }
  const value = checkStateProof({
    part,
    proof: bundle.validatorChangeHeights,
    rootHash: newest.header.stateRoot,
    key: stateKey(StateNamespace.validatorChangeHeights),
  });
  const listed =
    value === null
      ? []
      : within(VerifyErrorCode.transition, part, () => ValidatorChangeHeightsSchema.decode(value))
          .heights;
  const needed = listed.filter((height) => height + 2 <= newest.header.height);
  const given = options.transitionHeights.filter((height) => height + 2 <= newest.header.height);
  if (needed.length !== options.transitionHeights.length || needed.some((h, i) => given[i] !== h)) {
    throw new VerifyError(
      VerifyErrorCode.transition,
      'validatorChanges',
      `the chain changed its validator set at heights [${needed.join(', ')}] up to height ${newest.header.height - 2}, the bundle has transitions at [${options.transitionHeights.join(', ')}]`,
    );
  }
}
