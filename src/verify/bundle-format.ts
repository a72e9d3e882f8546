/**
 * The verification bundle, format `medledger-verification-bundle` version 1 (decision 0072,
 * docs/verification-bundle.md): one JSON document holding everything needed to check a claim
 * about the chain without a node, from the genesis document alone.
 *
 * Chain objects (headers, commits, transactions, validator sets) travel as the lower-case hex of
 * their canonical CBOR encoding: the exact bytes that were hashed and signed, so a verifier never
 * re-encodes what it checks. Hashes and keys are lower-case hex; heights, sizes and indices are
 * JSON integers; times are Unix milliseconds.
 */
import { fromHex } from '../base/index.ts';
import { VerifyError, VerifyErrorCode } from './errors.ts';
import { verifyLimits } from './limits.ts';

/** The `format` of every bundle. */
export const bundleFormat = 'medledger-verification-bundle';
/** The version this code writes and reads. */
export const bundleVersion = 1;

/** The kinds of claim a bundle proves. */
export const bundleKinds = [
  'record-version',
  'erasure',
  'consent-state',
  'access-log',
  'log-head',
] as const;
export type BundleKind = (typeof bundleKinds)[number];

/** A block header and the commit that certifies it (≥ 2/3 of that height's validators). */
export interface SignedHeaderJson {
  /** Canonical CBOR of the `BlockHeader`, hex. */
  readonly header: string;
  /** Canonical CBOR of the `Commit` for that header's block, hex. */
  readonly commit: string;
}

/** A state key's value at a height (null: absent) with its sparse-Merkle proof. */
export interface StateProofJson {
  /** Height of the header whose `stateRoot` the proof is for. */
  readonly height: number;
  readonly key: string;
  /** The value's bytes (canonical CBOR of the contract's schema), hex; null for "no such key". */
  readonly value: string | null;
  readonly depth: number;
  readonly bitmap: string;
  readonly siblings: readonly string[];
  readonly otherLeaf: { readonly key: string; readonly valueHash: string } | null;
}

/** A validator-set transition: block `height` wrote the set that signs from `height + 2` on. */
export interface ValidatorChangeJson {
  readonly height: number;
  readonly signedHeader: SignedHeaderJson;
  /** The `membership.validators` state key at `height`: the new set (canonical CBOR). */
  readonly validatorSet: StateProofJson;
}

/** A transaction in its block (`txRoot`) and in the history log (a later header's `logRoot`). */
export interface TransactionInclusionJson {
  /** Canonical CBOR of the signed `Transaction`, hex. */
  readonly transaction: string;
  /** Height of its block; that header is in `headers`. */
  readonly height: number;
  readonly txIndex: number;
  readonly txCount: number;
  /** RFC 9162 inclusion path of the transaction id under the block's `txRoot`. */
  readonly blockPath: readonly string[];
  /** Height of the header whose `logRoot` / `logSize` the log path is for (≥ `height`). */
  readonly logHeight: number;
  /** RFC 9162 inclusion path of the transaction id at its log index under that `logRoot`. */
  readonly logPath: readonly string[];
}

export interface RecordVersionClaimJson {
  readonly recordId: string;
  readonly version: number;
  readonly anchor: TransactionInclusionJson;
  /** The `records.version` key at the newest header (an entry never changes once written). */
  readonly state: StateProofJson;
}

export interface ErasureClaimJson {
  readonly recordId: string;
  /** The `record.erase` transaction that wrote the erased version. */
  readonly erasure: TransactionInclusionJson;
  /** The `records.head` key at the newest header: the erased version is the latest. */
  readonly head: StateProofJson;
  /** The `records.version` keys of every version, 1 to the erased one, at the newest header. */
  readonly versions: readonly StateProofJson[];
}

export interface ConsentStateClaimJson {
  readonly consentId: string;
  /** The `consent.consent` key at the claimed height. */
  readonly state: StateProofJson;
}

export interface AccessLogClaimJson {
  readonly patientId: string;
  /** The period asked for, Unix milliseconds, inclusive. */
  readonly from: number;
  readonly to: number;
  /** The patient's audit-event count at `countBefore.height` (0: genesis, no proof). */
  readonly countBefore: StateProofJson | null;
  /** The patient's audit-event count at the newest header. */
  readonly countAfter: StateProofJson;
  /** Every event with a sequence from the first count to the second, at the newest header. */
  readonly events: readonly StateProofJson[];
}

export interface LogHeadClaimJson {
  /** A consistency proof from an earlier log size to the newest header's, when asked for. */
  readonly consistency: {
    readonly oldSize: number;
    /** The root of the log at `oldSize`, as the one asking saw it. */
    readonly oldRoot: string;
    readonly path: readonly string[];
  } | null;
}

export interface ClaimJsonOf {
  'record-version': RecordVersionClaimJson;
  erasure: ErasureClaimJson;
  'consent-state': ConsentStateClaimJson;
  'access-log': AccessLogClaimJson;
  'log-head': LogHeadClaimJson;
}

/** A verification bundle as parsed (field shapes checked; nothing verified yet). */
export type VerificationBundle = {
  [K in BundleKind]: {
    readonly format: typeof bundleFormat;
    readonly version: typeof bundleVersion;
    readonly kind: K;
    readonly chainId: string;
    /** Hex of the genesis document's hash (block 1's `prevHash`). */
    readonly genesisHash: string;
    /** Every transition from genesis up to the newest header, oldest first. */
    readonly validatorChanges: readonly ValidatorChangeJson[];
    /** The certified headers the claim refers to, by strictly increasing height. */
    readonly headers: readonly SignedHeaderJson[];
    /** The `membership.validator-change-heights` key at the newest header. */
    readonly validatorChangeHeights: StateProofJson;
    readonly claim: ClaimJsonOf[K];
  };
}[BundleKind];

// ---------------------------------------------------------------------------------------------
// Parsing: every field checked, the first wrong one named by its path.

type Json = Record<string, unknown>;

function malformed(path: string, what: string): VerifyError {
  return new VerifyError(VerifyErrorCode.malformed, path, what);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value) ?? typeof value}`;
}

function object(path: string, value: unknown, keys: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(path, `expected an object, found ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw malformed(`${path}.${key}`, `unexpected field (expected ${keys.join(', ')})`);
    }
  }
  for (const key of keys) {
    if (!(key in value)) throw malformed(`${path}.${key}`, 'missing');
  }
  return value as Json;
}

function integer(path: string, value: unknown, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw malformed(path, `expected an integer ≥ ${min}, found ${describe(value)}`);
  }
  return value;
}

function hexText(path: string, value: unknown, bytes?: number): string {
  if (typeof value !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(value)) {
    throw malformed(path, `expected lower-case hex, found ${describe(value)}`);
  }
  if (value.length > verifyLimits.hexCharsMax) {
    throw malformed(path, `expected at most ${verifyLimits.hexCharsMax} hex digits`);
  }
  if (bytes !== undefined && value.length !== bytes * 2) {
    throw malformed(path, `expected ${bytes} bytes of hex, found ${value.length / 2}`);
  }
  return value;
}

function list<T>(
  path: string,
  value: unknown,
  max: number,
  item: (p: string, v: unknown) => T,
): T[] {
  if (!Array.isArray(value)) throw malformed(path, `expected an array, found ${describe(value)}`);
  if (value.length > max)
    throw malformed(path, `expected at most ${max} items, found ${value.length}`);
  return value.map((entry, index) => item(`${path}[${index}]`, entry));
}

function hashList(path: string, value: unknown): string[] {
  return list(path, value, verifyLimits.pathHashesMax, (p, v) => hexText(p, v, 32));
}

function signedHeader(path: string, value: unknown): SignedHeaderJson {
  const json = object(path, value, ['header', 'commit']);
  return {
    header: hexText(`${path}.header`, json.header),
    commit: hexText(`${path}.commit`, json.commit),
  };
}

function stateProof(path: string, value: unknown): StateProofJson {
  const json = object(path, value, [
    'height',
    'key',
    'value',
    'depth',
    'bitmap',
    'siblings',
    'otherLeaf',
  ]);
  let otherLeaf: StateProofJson['otherLeaf'] = null;
  if (json.otherLeaf !== null) {
    const leaf = object(`${path}.otherLeaf`, json.otherLeaf, ['key', 'valueHash']);
    otherLeaf = {
      key: hexText(`${path}.otherLeaf.key`, leaf.key, 32),
      valueHash: hexText(`${path}.otherLeaf.valueHash`, leaf.valueHash, 32),
    };
  }
  return {
    height: integer(`${path}.height`, json.height),
    key: hexText(`${path}.key`, json.key, 32),
    value: json.value === null ? null : hexText(`${path}.value`, json.value),
    depth: integer(`${path}.depth`, json.depth),
    bitmap: hexText(`${path}.bitmap`, json.bitmap),
    siblings: list(`${path}.siblings`, json.siblings, 256, (p, v) => hexText(p, v, 32)),
    otherLeaf,
  };
}

function inclusion(path: string, value: unknown): TransactionInclusionJson {
  const json = object(path, value, [
    'transaction',
    'height',
    'txIndex',
    'txCount',
    'blockPath',
    'logHeight',
    'logPath',
  ]);
  return {
    transaction: hexText(`${path}.transaction`, json.transaction),
    height: integer(`${path}.height`, json.height, 1),
    txIndex: integer(`${path}.txIndex`, json.txIndex),
    txCount: integer(`${path}.txCount`, json.txCount, 1),
    blockPath: hashList(`${path}.blockPath`, json.blockPath),
    logHeight: integer(`${path}.logHeight`, json.logHeight, 1),
    logPath: hashList(`${path}.logPath`, json.logPath),
  };
}

function parseClaim(kind: BundleKind, value: unknown): VerificationBundle['claim'] {
  const path = 'claim';
  switch (kind) {
    case 'record-version': {
      const json = object(path, value, ['recordId', 'version', 'anchor', 'state']);
      return {
        recordId: hexText(`${path}.recordId`, json.recordId),
        version: integer(`${path}.version`, json.version, 1),
        anchor: inclusion(`${path}.anchor`, json.anchor),
        state: stateProof(`${path}.state`, json.state),
      };
    }
    case 'erasure': {
      const json = object(path, value, ['recordId', 'erasure', 'head', 'versions']);
      return {
        recordId: hexText(`${path}.recordId`, json.recordId),
        erasure: inclusion(`${path}.erasure`, json.erasure),
        head: stateProof(`${path}.head`, json.head),
        versions: list(`${path}.versions`, json.versions, verifyLimits.proofsMax, stateProof),
      };
    }
    case 'consent-state': {
      const json = object(path, value, ['consentId', 'state']);
      return {
        consentId: hexText(`${path}.consentId`, json.consentId),
        state: stateProof(`${path}.state`, json.state),
      };
    }
    case 'access-log': {
      const json = object(path, value, [
        'patientId',
        'from',
        'to',
        'countBefore',
        'countAfter',
        'events',
      ]);
      return {
        patientId: hexText(`${path}.patientId`, json.patientId),
        from: integer(`${path}.from`, json.from),
        to: integer(`${path}.to`, json.to),
        countBefore:
          json.countBefore === null ? null : stateProof(`${path}.countBefore`, json.countBefore),
        countAfter: stateProof(`${path}.countAfter`, json.countAfter),
        events: list(`${path}.events`, json.events, verifyLimits.proofsMax, stateProof),
      };
    }
    case 'log-head': {
      const json = object(path, value, ['consistency']);
      if (json.consistency === null) return { consistency: null };
      const consistency = object(`${path}.consistency`, json.consistency, [
        'oldSize',
        'oldRoot',
        'path',
      ]);
      return {
        consistency: {
          oldSize: integer(`${path}.consistency.oldSize`, consistency.oldSize),
          oldRoot: hexText(`${path}.consistency.oldRoot`, consistency.oldRoot, 32),
          path: hashList(`${path}.consistency.path`, consistency.path),
        },
      };
    }
  }
}

/**
 * Checks the shape of a parsed JSON value and returns it as a bundle, or throws `VerifyError`
 * `malformed` naming the first field that is wrong. Nothing is verified here.
 */
export function parseBundle(value: unknown): VerificationBundle {
  const json = object('bundle', value, [
    'format',
    'version',
    'kind',
    'chainId',
    'genesisHash',
    'validatorChanges',
    'headers',
    'validatorChangeHeights',
    'claim',
  ]);
  if (json.format !== bundleFormat) {
    throw malformed(
      'format',
      `expected ${JSON.stringify(bundleFormat)}, found ${describe(json.format)}`,
    );
  }
  if (json.version !== bundleVersion) {
    throw malformed(
      'version',
      `this verifier reads version ${bundleVersion}, found ${describe(json.version)}`,
    );
  }
  const kind = json.kind;
  if (typeof kind !== 'string' || !(bundleKinds as readonly string[]).includes(kind)) {
    throw malformed('kind', `expected one of ${bundleKinds.join(', ')}, found ${describe(kind)}`);
  }
  if (typeof json.chainId !== 'string' || json.chainId.length === 0 || json.chainId.length > 64) {
    throw malformed('chainId', `expected a chain id, found ${describe(json.chainId)}`);
  }
  const bundle = {
    format: bundleFormat,
    version: bundleVersion,
    kind: kind as BundleKind,
    chainId: json.chainId,
    genesisHash: hexText('genesisHash', json.genesisHash, 32),
    validatorChanges: list(
      'validatorChanges',
      json.validatorChanges,
      verifyLimits.validatorChangesMax,
      (path, entry) => {
        const change = object(path, entry, ['height', 'signedHeader', 'validatorSet']);
        return {
          height: integer(`${path}.height`, change.height, 1),
          signedHeader: signedHeader(`${path}.signedHeader`, change.signedHeader),
          validatorSet: stateProof(`${path}.validatorSet`, change.validatorSet),
        };
      },
    ),
    headers: list('headers', json.headers, verifyLimits.headersMax, signedHeader),
    validatorChangeHeights: stateProof('validatorChangeHeights', json.validatorChangeHeights),
    claim: parseClaim(kind as BundleKind, json.claim),
  };
  return bundle as VerificationBundle;
}

/** Parses bundle text (JSON); a syntax error is `malformed` at `bundle`. */
export function parseBundleText(text: string): VerificationBundle {
  if (text.length > verifyLimits.bundleCharsMax) {
    throw malformed(
      'bundle',
      `expected at most ${verifyLimits.bundleCharsMax} characters, found ${text.length}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw malformed('bundle', `not JSON (${(error as Error).message})`);
  }
  return parseBundle(value);
}

/** Bytes of a hex field already checked by the parser. */
export function bytesOf(hex: string): Uint8Array {
  return fromHex(hex);
}
