/**
 * Builds verification bundles (verify/'s format) and the raw proofs of `/chain/proofs` from a
 * node's committed chain: its blocks and commits, its state at any committed height, its history
 * log. Synchronous: one call reads one consistent view (the node commits between event-loop
 * turns, never during a call).
 */
import { MedLedgerError, equalBytes, toHex } from '../base/index.ts';
import {
  type Block,
  BlockHeaderSchema,
  type Commit,
  CommitSchema,
  encodeTransaction,
  transactionId,
} from '../chain/index.ts';
import {
  type GenesisDocument,
  StateNamespace,
  decodeContractBody,
  genesisDocumentHash,
  readRecordHead,
  readRecordVersion,
  readValidatorChangeHeights,
  stateKey,
  u64Part,
  CounterSchema,
} from '../contracts/index.ts';
import { HistoryLog, type StateRoot, stateTreeGet, stateTreeProve } from '../merkle/index.ts';
import {
  type BundleKind,
  type SignedHeaderJson,
  type StateProofJson,
  type TransactionInclusionJson,
  type ValidatorChangeJson,
  type VerificationBundle,
  bundleFormat,
  bundleVersion,
  verifyLimits,
} from '../verify/index.ts';

/** What the builder reads: a node's chain store satisfies it as it is. */
export interface ProofSource {
  readonly genesis: GenesisDocument;
  /** The newest committed height (0: only genesis). */
  head(): { readonly height: number };
  loadBlock(height: number): Block | null;
  /** The commit certificate of the block at `height`. */
  loadCommit(height: number): Commit | null;
  /** The state after `height` (0: genesis), or null if not committed. */
  stateAt(height: number): StateRoot | null;
  /** The history log as of the newest committed block. */
  log(): HistoryLog;
}

/** Codes of `ProofsError`. */
export const ProofsErrorCode = {
  /** An argument is malformed or out of range; the message names it. */
  invalidArgument: 'invalid-argument',
  /** The chain holds no such record, version, transaction or height. */
  notFound: 'not-found',
  /** The answer would exceed a bound (too many events); the message says which. */
  tooLarge: 'too-large',
} as const;
export type ProofsErrorCode = (typeof ProofsErrorCode)[keyof typeof ProofsErrorCode];

/** A proof or bundle that cannot be built, with the reason. */
export class ProofsError extends MedLedgerError<ProofsErrorCode> {}

function notFound(message: string): ProofsError {
  return new ProofsError(ProofsErrorCode.notFound, message);
}

function requireBlock(source: ProofSource, height: number): Block {
  const block = source.loadBlock(height);
  if (block === null) throw notFound(`no block at height ${height} (head ${source.head().height})`);
  return block;
}

function requireState(source: ProofSource, height: number): StateRoot {
  const state = source.stateAt(height);
  if (state === null) throw notFound(`no state at height ${height} (head ${source.head().height})`);
  return state;
}

function newestHeight(source: ProofSource): number {
  const height = source.head().height;
  if (height < 1) throw notFound('the chain has no block yet');
  return height;
}

/** The header of `height` and the commit that certifies it. */
export function signedHeaderJson(source: ProofSource, height: number): SignedHeaderJson {
  const block = requireBlock(source, height);
  const commit = source.loadCommit(height);
  if (commit === null) throw notFound(`no commit for height ${height}`);
  return {
    header: toHex(BlockHeaderSchema.encode(block.header)),
    commit: toHex(CommitSchema.encode(commit)),
  };
}

/** `key` at `height` with its proof (inclusion, or non-inclusion when absent). */
export function stateProofJson(
  source: ProofSource,
  height: number,
  key: Uint8Array,
): StateProofJson {
  const { value, proof } = stateTreeProve(requireState(source, height), key);
  return {
    height,
    key: toHex(key),
    value: value === null ? null : toHex(value),
    depth: proof.depth,
    bitmap: toHex(proof.bitmap),
    siblings: proof.siblings.map(toHex),
    otherLeaf:
      proof.otherLeaf === null
        ? null
        : { key: toHex(proof.otherLeaf.key), valueHash: toHex(proof.otherLeaf.valueHash) },
  };
}

/** Every validator-set transition a light client needs to certify headers up to `newest`. */
function validatorChanges(source: ProofSource, newest: number): ValidatorChangeJson[] {
  const heights = readValidatorChangeHeights(requireState(source, newest)).filter(
    (height) => height + 2 <= newest,
  );
  const validatorsKey = stateKey(StateNamespace.validators);
  return heights.map((height) => ({
    height,
    signedHeader: signedHeaderJson(source, height),
    validatorSet: stateProofJson(source, height, validatorsKey),
  }));
}

function bundleOf<K extends BundleKind>(
  source: ProofSource,
  kind: K,
  headerHeights: readonly number[],
  claim: Extract<VerificationBundle, { kind: K }>['claim'],
): Extract<VerificationBundle, { kind: K }> {
  const heights = [...new Set(headerHeights)].sort((a, b) => a - b);
  const newest = heights[heights.length - 1]!;
  return {
    format: bundleFormat,
    version: bundleVersion,
    kind,
    chainId: source.genesis.chainId,
    genesisHash: toHex(genesisDocumentHash(source.genesis)),
    validatorChanges: validatorChanges(source, newest),
    headers: heights.map((height) => signedHeaderJson(source, height)),
    validatorChangeHeights: stateProofJson(
      source,
      newest,
      stateKey(StateNamespace.validatorChangeHeights),
    ),
    claim,
  } as unknown as Extract<VerificationBundle, { kind: K }>;
}

/** Where a transaction is: its block's height and its index in the block. */
export interface TransactionPlace {
  readonly height: number;
  readonly index: number;
}

/**
 * A committed transaction with its inclusion proofs: in its block (`txRoot`) and in the history
 * log of the header at `logHeight`.
 */
export function transactionInclusionJson(
  source: ProofSource,
  place: TransactionPlace,
  logHeight: number,
): TransactionInclusionJson {
  const block = requireBlock(source, place.height);
  const tx = block.txs[place.index];
  if (tx === undefined) throw notFound(`block ${place.height} has no transaction ${place.index}`);
  const ids = block.txs.map(transactionId);
  const blockTree = new HistoryLog();
  for (const id of ids) blockTree.append(id);
  const logHeader = requireBlock(source, logHeight).header;
  const logIndex = block.header.logSize - ids.length + place.index;
  return {
    transaction: toHex(encodeTransaction(tx)),
    height: place.height,
    txIndex: place.index,
    txCount: ids.length,
    blockPath: blockTree.inclusionProof({ index: place.index }).path.map(toHex),
    logHeight,
    logPath: source
      .log()
      .inclusionProof({ index: logIndex, size: logHeader.logSize })
      .path.map(toHex),
  };
}

/**
 * Finds the `kind` transaction of block `height` that wrote `recordId` version `version`; for a
 * `record.anchor`, a `record.anchor-batch` holding that version's anchor counts too.
 */
function findRecordTransaction(options: {
  source: ProofSource;
  height: number;
  kind: 'record.anchor' | 'record.erase';
  recordId: Uint8Array;
  version: number;
}): TransactionPlace {
  const block = requireBlock(options.source, options.height);
  const isVersion = (body: { recordId: Uint8Array; version: number }): boolean =>
    equalBytes(body.recordId, options.recordId) && body.version === options.version;
  const index = block.txs.findIndex((tx) => {
    try {
      if (tx.kind === options.kind) return isVersion(decodeContractBody(options.kind, tx.body));
      if (options.kind === 'record.anchor' && tx.kind === 'record.anchor-batch') {
        return decodeContractBody('record.anchor-batch', tx.body).anchors.some(isVersion);
      }
      return false;
    } catch {
      return false;
    }
  });
  if (index < 0) {
    throw notFound(`block ${options.height} holds no ${options.kind} of that record version`);
  }
  return { height: options.height, index };
}

/** The bundle proving one record version: its anchor in its block and the log, its state entry. */
export function buildRecordVersionBundle(
  source: ProofSource,
  options: { recordId: Uint8Array; version: number },
): VerificationBundle {
  const newest = newestHeight(source);
  const record = readRecordVersion(requireState(source, newest), options.recordId, options.version);
  if (record === null) {
    throw notFound(
      `record ${toHex(options.recordId).slice(0, 12)}… has no version ${options.version}`,
    );
  }
  const place = findRecordTransaction({
    source,
    height: record.anchoredHeight,
    kind: record.status === 'erased' ? 'record.erase' : 'record.anchor',
    recordId: options.recordId,
    version: options.version,
  });
  if (record.status === 'erased') {
    throw new ProofsError(
      ProofsErrorCode.notFound,
      `version ${options.version} of the record is its erasure marker: ask for the erasure bundle`,
    );
  }
  // Everything is proven at the anchor's own block: its header carries the log (which ends with
  // the block's transactions) and the state in which the version was written, and a version
  // entry never changes once written. One signed header keeps the bundle small (bench `verify`);
  // that the log went on from there is what consistency proofs and witnesses show.
  return bundleOf(source, 'record-version', [place.height], {
    recordId: toHex(options.recordId),
    version: options.version,
    anchor: transactionInclusionJson(source, place, place.height),
    state: stateProofJson(
      source,
      place.height,
      stateKey(StateNamespace.recordVersion, options.recordId, u64Part(options.version)),
    ),
  });
}

/** The bundle proving a record's erasure and that its hash history is still on chain. */
export function buildErasureBundle(
  source: ProofSource,
  options: { recordId: Uint8Array },
): VerificationBundle {
  const newest = newestHeight(source);
  const state = requireState(source, newest);
  const head = readRecordHead(state, options.recordId);
  if (head === null)
    throw notFound(`record ${toHex(options.recordId).slice(0, 12)}… was never anchored`);
  if (head.status !== 'erased') {
    throw notFound(
      `record ${toHex(options.recordId).slice(0, 12)}… is not erased (version ${head.version} is ${head.status})`,
    );
  }
  const place = findRecordTransaction({
    source,
    height: head.anchoredHeight,
    kind: 'record.erase',
    recordId: options.recordId,
    version: head.version,
  });
  const versions: StateProofJson[] = [];
  for (let version = 1; version <= head.version; version++) {
    versions.push(
      stateProofJson(
        source,
        newest,
        stateKey(StateNamespace.recordVersion, options.recordId, u64Part(version)),
      ),
    );
  }
  return bundleOf(source, 'erasure', [place.height, newest], {
    recordId: toHex(options.recordId),
    erasure: transactionInclusionJson(source, place, newest),
    head: stateProofJson(source, newest, stateKey(StateNamespace.record, options.recordId)),
    versions,
  });
}

/** The bundle proving whether a consent existed (and its status) at `height` (default newest). */
export function buildConsentStateBundle(
  source: ProofSource,
  options: { consentId: Uint8Array; height?: number },
): VerificationBundle {
  const newest = newestHeight(source);
  const height = options.height ?? newest;
  if (!Number.isSafeInteger(height) || height < 1 || height > newest) {
    throw new ProofsError(
      ProofsErrorCode.invalidArgument,
      `height: expected 1 to ${newest}, found ${height}`,
    );
  }
  return bundleOf(source, 'consent-state', [height], {
    consentId: toHex(options.consentId),
    state: stateProofJson(source, height, stateKey(StateNamespace.consent, options.consentId)),
  });
}

/** The patient audit-event count under `key` in the state after `height`. */
function countOf(source: ProofSource, height: number, key: Uint8Array): number {
  const value = stateTreeGet(requireState(source, height), key);
  return value === null ? 0 : CounterSchema.decode(value).count;
}

/** The last height whose block time is before `time` (0 when none is). */
function lastHeightBefore(source: ProofSource, time: number, newest: number): number {
  let low = 0;
  let high = newest;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (requireBlock(source, middle).header.time < time) low = middle;
    else high = middle - 1;
  }
  return low;
}

/**
 * The bundle proving a patient's access log complete for a period: the patient's audit-event
 * count before the period and at its end, and every event between. An event of the period may be
 * recorded up to the network's audit lag after it, so the end height is the first block at least
 * that long after `to` (or the newest block, and the verifier says the period is not yet closed).
 */
export function buildAccessLogBundle(
  source: ProofSource,
  options: { patientId: Uint8Array; from: number; to: number },
): VerificationBundle {
  const { from, to } = options;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to) {
    throw new ProofsError(
      ProofsErrorCode.invalidArgument,
      `period: expected 0 ≤ from ≤ to, found ${from} to ${to}`,
    );
  }
  const newest = newestHeight(source);
  const before = lastHeightBefore(source, from, newest);
  const closesAt = to + source.genesis.policy.auditLagMaxMs;
  const end = Math.min(newest, lastHeightBefore(source, closesAt, newest) + 1);
  const countKey = stateKey(StateNamespace.auditCount, options.patientId);
  const first = before === 0 ? 0 : countOf(source, before, countKey);
  const last = countOf(source, end, countKey);
  if (last - first > verifyLimits.proofsMax) {
    throw new ProofsError(
      ProofsErrorCode.tooLarge,
      `the period holds ${last - first} events, more than ${verifyLimits.proofsMax}: ask for a shorter period`,
    );
  }
  const events: StateProofJson[] = [];
  for (let sequence = first; sequence < last; sequence++) {
    events.push(
      stateProofJson(
        source,
        end,
        stateKey(StateNamespace.auditEvent, options.patientId, u64Part(sequence)),
      ),
    );
  }
  return bundleOf(source, 'access-log', before === 0 ? [end] : [before, end], {
    patientId: toHex(options.patientId),
    from,
    to,
    countBefore: before === 0 ? null : stateProofJson(source, before, countKey),
    countAfter: stateProofJson(source, end, countKey),
    events,
  });
}

/**
 * The newest signed head, with a consistency proof from `oldSize` when asked for (and the log's
 * root at that size as this node holds it: a witness compares it with the root it saw).
 */
export function buildLogHeadBundle(
  source: ProofSource,
  options: { oldSize?: number } = {},
): VerificationBundle {
  const newest = newestHeight(source);
  const head = requireBlock(source, newest).header;
  let consistency: { oldSize: number; oldRoot: string; path: string[] } | null = null;
  if (options.oldSize !== undefined) {
    const { oldSize } = options;
    if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > head.logSize) {
      throw new ProofsError(
        ProofsErrorCode.invalidArgument,
        `oldSize: expected 0 to ${head.logSize}, found ${oldSize}`,
      );
    }
    consistency = {
      oldSize,
      oldRoot: toHex(source.log().root(oldSize)),
      path: source.log().consistencyProof({ oldSize, newSize: head.logSize }).path.map(toHex),
    };
  }
  return bundleOf(source, 'log-head', [newest], { consistency });
}
