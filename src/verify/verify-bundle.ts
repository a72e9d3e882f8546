/**
 * Verifies a verification bundle offline, from the genesis document alone (issue 7): the light
 * client certifies the headers, then each kind's claim is checked against them with RFC 9162
 * inclusion proofs (block `txRoot`, history log) and sparse-Merkle state proofs. Returns what was
 * proven; throws `VerifyError` naming the first part that failed.
 */
import { equalBytes, fromHex, shortHex, toHex } from '../base/index.ts';
import {
  type BlockHeader,
  type Transaction,
  assertValidEncodedTransaction,
  decodeTransaction,
  transactionIdOfEncoding,
} from '../chain/index.ts';
import {
  type AuditEventRecord,
  AuditEventRecordSchema,
  type ConsentRecord,
  ConsentRecordSchema,
  type ContractBodies,
  CounterSchema,
  type RecordVersion,
  RecordVersionSchema,
  StateNamespace,
  decodeContractBody,
  stateKey,
  u64Part,
} from '../contracts/index.ts';
import type { Hash } from '../crypto/index.ts';
import { verifyLogConsistency, verifyLogInclusion } from '../merkle/index.ts';
import type {
  AccessLogClaimJson,
  ConsentStateClaimJson,
  ErasureClaimJson,
  LogHeadClaimJson,
  RecordVersionClaimJson,
  StateProofJson,
  TransactionInclusionJson,
  VerificationBundle,
} from './bundle-format.ts';
import { VerifyError, VerifyErrorCode, within } from './errors.ts';
import {
  type CertifiedChain,
  type TrustedGenesis,
  checkStateProof,
  verifyChain,
} from './light-client.ts';

/** The newest certified header, as a verifier reports it. */
export interface VerifiedHead {
  readonly height: number;
  readonly time: number;
  readonly blockHash: string;
  readonly logSize: number;
  readonly logRoot: string;
  readonly stateRoot: string;
}

export interface VerifiedTransaction {
  readonly txId: string;
  readonly kind: string;
  readonly signer: string;
  readonly height: number;
  readonly time: number;
  readonly txIndex: number;
  readonly logIndex: number;
  /** The log size (and header height) the log inclusion was proven against. */
  readonly logSize: number;
  readonly logHeight: number;
}

export interface VerifiedRecordVersion {
  readonly recordId: string;
  readonly version: number;
  readonly resourceType: string;
  readonly patientId: string;
  readonly custodian: string;
  readonly contentHash: string | null;
  readonly securityLabels: readonly string[];
  readonly status: string;
  readonly anchoredHeight: number;
  readonly anchoredTime: number;
}

export interface VerifiedAuditEvent {
  readonly sequence: number;
  readonly recordedHeight: number;
  readonly time: number;
  readonly orgId: string;
  readonly practitionerId: string | null;
  readonly clientId: string | null;
  readonly recordId: string | null;
  readonly recordVersion: number | null;
  readonly queryHash: string | null;
  readonly action: string;
  readonly purpose: string;
  readonly decision: string;
  readonly reason: string;
  readonly consentId: string | null;
  readonly breakGlassId: string | null;
  /** The event's time is within the period asked for. */
  readonly inPeriod: boolean;
}

/** What each kind of bundle proved. */
export type VerifiedClaim =
  | {
      readonly kind: 'record-version';
      readonly record: VerifiedRecordVersion;
      /** A `record.anchor`, or a `record.anchor-batch` holding this version's anchor. */
      readonly anchor: VerifiedTransaction;
      /** The anchor's place in a `record.anchor-batch` (`anchors[i]`), null for a `record.anchor`. */
      readonly batchIndex: number | null;
    }
  | {
      readonly kind: 'erasure';
      readonly recordId: string;
      readonly erasedVersion: number;
      readonly reason: string;
      readonly erasure: VerifiedTransaction;
      /** Every version up to the erased one, as the chain still holds it (hash history). */
      readonly versions: readonly VerifiedRecordVersion[];
    }
  | {
      readonly kind: 'consent-state';
      readonly consentId: string;
      readonly height: number;
      readonly time: number;
      /** Null: no such consent existed at that height. */
      readonly consent: {
        readonly patientId: string;
        readonly status: string;
        readonly policyRule: string;
        readonly grantedHeight: number;
        readonly grantedTime: number;
        readonly revokedHeight: number | null;
        readonly revokedTime: number | null;
      } | null;
    }
  | {
      readonly kind: 'access-log';
      readonly patientId: string;
      readonly from: number;
      readonly to: number;
      /** Every event recorded after height `afterHeight` up to `throughHeight` is listed. */
      readonly afterHeight: number;
      readonly afterTime: number;
      readonly throughHeight: number;
      readonly throughTime: number;
      /** The proven heights cover the whole period asked for. */
      readonly coversPeriod: boolean;
      readonly events: readonly VerifiedAuditEvent[];
    }
  | {
      readonly kind: 'log-head';
      /** The earlier log head the newest one was proven to extend (RFC 9162 §2.1.4.2). */
      readonly consistency: { readonly oldSize: number; readonly oldRoot: string } | null;
    };

/** A verified bundle: what it proved, and the chain facts it rests on. */
export interface VerifiedBundle {
  readonly kind: VerificationBundle['kind'];
  readonly chainId: string;
  readonly genesisHash: string;
  readonly head: VerifiedHead;
  /** Heights of the validator-set transitions followed from genesis. */
  readonly transitionHeights: readonly number[];
  readonly claim: VerifiedClaim;
}

function headOf(header: BlockHeader, hash: Hash): VerifiedHead {
  return {
    height: header.height,
    time: header.time,
    blockHash: toHex(hash),
    logSize: header.logSize,
    logRoot: toHex(header.logRoot),
    stateRoot: toHex(header.stateRoot),
  };
}

function claimError(part: string, message: string): VerifyError {
  return new VerifyError(VerifyErrorCode.claim, part, message);
}

type RecordTxKind = 'record.anchor' | 'record.anchor-batch' | 'record.erase';

/** A decoded transaction of one of the kinds asked for, its kind and body kept together. */
type KindAndBody<K extends RecordTxKind> = {
  [Kind in K]: { readonly kind: Kind; readonly body: ContractBodies[Kind] };
}[K];

/** Checks a transaction's inclusion in its block and in the log; returns it decoded. */
function verifyInclusion<K extends RecordTxKind>(options: {
  part: string;
  inclusion: TransactionInclusionJson;
  chain: CertifiedChain;
  kinds: readonly K[];
}): { tx: Transaction; decoded: KindAndBody<K>; verified: VerifiedTransaction } {
  const { part, inclusion, chain } = options;
  const encoded = fromHex(inclusion.transaction);
  const tx = within(VerifyErrorCode.malformed, `${part}.transaction`, () =>
    decodeTransaction(encoded),
  );
  within(VerifyErrorCode.transaction, `${part}.transaction`, () =>
    assertValidEncodedTransaction({ tx, encoded, chainId: chain.genesis.chainId }),
  );
  const kind = options.kinds.find((each) => each === tx.kind);
  if (kind === undefined) {
    throw new VerifyError(
      VerifyErrorCode.transaction,
      `${part}.transaction`,
      `expected a ${options.kinds.join(' or ')} transaction, found ${tx.kind}`,
    );
  }
  const decoded = {
    kind,
    body: within(VerifyErrorCode.transaction, `${part}.transaction`, () =>
      decodeContractBody(kind, tx.body),
    ),
  } as KindAndBody<K>;
  const txId = transactionIdOfEncoding(encoded);
  const block = chain.headerAt(inclusion.height, `${part}.height`);
  if (inclusion.txIndex >= inclusion.txCount) {
    throw new VerifyError(
      VerifyErrorCode.claim,
      `${part}.txIndex`,
      `expected an index below txCount ${inclusion.txCount}, found ${inclusion.txIndex}`,
      `${part}.txCount`,
    );
  }
  // A path that does not reconstruct the root disagrees with the index and size beside it.
  within(VerifyErrorCode.proof, `${part}.blockPath`, part, () =>
    verifyLogInclusion({
      index: inclusion.txIndex,
      size: inclusion.txCount,
      proof: inclusion.blockPath.map(fromHex),
      root: block.header.txRoot,
      leafData: txId,
    }),
  );
  // The block's transactions are the log's leaves just before its header's logSize.
  const logIndex = block.header.logSize - inclusion.txCount + inclusion.txIndex;
  if (logIndex < 0) {
    throw claimError(
      `${part}.txCount`,
      `block ${block.header.height} has log size ${block.header.logSize}, fewer than ${inclusion.txCount} transactions`,
    );
  }
  if (inclusion.logHeight < inclusion.height) {
    throw claimError(
      `${part}.logHeight`,
      `expected a height from ${inclusion.height}, found ${inclusion.logHeight}`,
    );
  }
  const logHeader = chain.headerAt(inclusion.logHeight, `${part}.logHeight`);
  within(VerifyErrorCode.proof, `${part}.logPath`, part, () =>
    verifyLogInclusion({
      index: logIndex,
      size: logHeader.header.logSize,
      proof: inclusion.logPath.map(fromHex),
      root: logHeader.header.logRoot,
      leafData: txId,
    }),
  );
  return {
    tx,
    decoded,
    verified: {
      txId: toHex(txId),
      kind: tx.kind,
      signer: toHex(tx.signer),
      height: block.header.height,
      time: block.header.time,
      txIndex: inclusion.txIndex,
      logIndex,
      logSize: logHeader.header.logSize,
      logHeight: logHeader.header.height,
    },
  };
}

/** Checks a state proof at its header and decodes its value with `decode` (null: absent). */
function provenValue<T>(options: {
  part: string;
  proof: StateProofJson;
  chain: CertifiedChain;
  key: Uint8Array;
  keyFrom?: string;
  decode: (bytes: Uint8Array) => T;
}): T | null {
  const header = options.chain.headerAt(options.proof.height, `${options.part}.height`);
  const value = checkStateProof({
    part: options.part,
    proof: options.proof,
    rootHash: header.header.stateRoot,
    key: options.key,
    ...(options.keyFrom === undefined ? {} : { keyFrom: options.keyFrom }),
  });
  if (value === null) return null;
  return within(VerifyErrorCode.proof, `${options.part}.value`, () => options.decode(value));
}

function requireAtNewest(part: string, proof: StateProofJson, chain: CertifiedChain): void {
  if (proof.height !== chain.newest.header.height) {
    throw claimError(
      `${part}.height`,
      `expected the newest header's height ${chain.newest.header.height}, found ${proof.height}`,
    );
  }
}

function recordVersionOf(record: RecordVersion): VerifiedRecordVersion {
  return {
    recordId: toHex(record.recordId),
    version: record.version,
    resourceType: record.resourceType,
    patientId: toHex(record.patientId),
    custodian: record.custodian,
    contentHash: record.contentHash === null ? null : toHex(record.contentHash),
    securityLabels: record.securityLabels,
    status: record.status,
    anchoredHeight: record.anchoredHeight,
    anchoredTime: record.anchoredTime,
  };
}

function readVersion(options: {
  part: string;
  proof: StateProofJson;
  chain: CertifiedChain;
  key: Uint8Array;
  keyFrom: string;
  what: string;
}): RecordVersion {
  const record = provenValue({ ...options, decode: (bytes) => RecordVersionSchema.decode(bytes) });
  if (record === null) throw claimError(options.part, `proves that ${options.what} does not exist`);
  return record;
}

/**
 * The anchor of the claimed version in a `record.anchor-batch`: the item with the claim's record
 * id and version (a batch cannot anchor one version twice: the contract refuses the second).
 */
function batchItemOf(
  claim: RecordVersionClaimJson,
  anchors: ContractBodies['record.anchor-batch']['anchors'],
): { body: ContractBodies['record.anchor']; index: number } {
  const index = anchors.findIndex(
    (item) => toHex(item.recordId) === claim.recordId && item.version === claim.version,
  );
  const body = anchors[index];
  if (body === undefined) {
    // The other part is the claim's version when the batch anchors that record (another
    // version of it), its record id otherwise.
    const sameRecord = anchors.some((item) => toHex(item.recordId) === claim.recordId);
    throw new VerifyError(
      VerifyErrorCode.claim,
      'claim.anchor.transaction',
      `the record.anchor-batch transaction anchors ${anchors.length} versions, none of them record ${claim.recordId.slice(0, 8)}… version ${claim.version}`,
      sameRecord ? 'claim.version' : 'claim.recordId',
    );
  }
  return { body, index };
}

function verifyRecordVersion(claim: RecordVersionClaimJson, chain: CertifiedChain): VerifiedClaim {
  const { decoded, tx, verified } = verifyInclusion({
    part: 'claim.anchor',
    inclusion: claim.anchor,
    chain,
    kinds: ['record.anchor', 'record.anchor-batch'],
  });
  // A version anchored by a batch is checked exactly as a single anchor, against its item.
  const { body, index: batchIndex } =
    decoded.kind === 'record.anchor'
      ? { body: decoded.body, index: null }
      : batchItemOf(claim, decoded.body.anchors);
  if (toHex(body.recordId) !== claim.recordId || body.version !== claim.version) {
    throw new VerifyError(
      VerifyErrorCode.claim,
      'claim.anchor.transaction',
      `the transaction anchors record ${shortHex(body.recordId)} version ${body.version}, the claim is record ${claim.recordId.slice(0, 8)}… version ${claim.version}`,
      body.version === claim.version ? 'claim.recordId' : 'claim.version',
    );
  }
  requireAtNewest('claim.state', claim.state, chain);
  const record = readVersion({
    part: 'claim.state',
    proof: claim.state,
    chain,
    key: stateKey(StateNamespace.recordVersion, body.recordId, u64Part(body.version)),
    keyFrom: 'claim.anchor.transaction',
    what: 'the record version',
  });
  const agrees =
    record.contentHash !== null &&
    equalBytes(record.contentHash, body.contentHash) &&
    record.anchoredHeight === verified.height &&
    equalBytes(record.anchoredBy, tx.signer) &&
    record.custodian === body.custodian &&
    equalBytes(record.patientId, body.patientId);
  if (!agrees) {
    throw claimError(
      'claim.state',
      'the version the state holds differs from the anchor transaction (hash, height, custodian, patient or signer)',
    );
  }
  return { kind: 'record-version', record: recordVersionOf(record), anchor: verified, batchIndex };
}

function verifyErasure(claim: ErasureClaimJson, chain: CertifiedChain): VerifiedClaim {
  const { decoded, verified } = verifyInclusion({
    part: 'claim.erasure',
    inclusion: claim.erasure,
    chain,
    kinds: ['record.erase'],
  });
  const { body } = decoded;
  if (toHex(body.recordId) !== claim.recordId) {
    throw new VerifyError(
      VerifyErrorCode.claim,
      'claim.erasure.transaction',
      `the transaction erases record ${shortHex(body.recordId)}, the claim is about ${claim.recordId.slice(0, 8)}…`,
      'claim.recordId',
    );
  }
  requireAtNewest('claim.head', claim.head, chain);
  const head = readVersion({
    part: 'claim.head',
    proof: claim.head,
    chain,
    key: stateKey(StateNamespace.record, body.recordId),
    keyFrom: 'claim.erasure.transaction',
    what: 'the record',
  });
  if (
    head.status !== 'erased' ||
    head.version !== body.version ||
    head.anchoredHeight !== verified.height
  ) {
    throw claimError(
      'claim.head',
      `the record's latest version is ${head.version} (${head.status}, height ${head.anchoredHeight}), not the erasure ${body.version} of height ${verified.height}`,
    );
  }
  if (claim.versions.length !== body.version) {
    throw claimError(
      'claim.versions',
      `expected versions 1 to ${body.version}, found ${claim.versions.length} proofs`,
    );
  }
  const versions = claim.versions.map((proof, index) => {
    const part = `claim.versions[${index}]`;
    requireAtNewest(part, proof, chain);
    const record = readVersion({
      part,
      proof,
      chain,
      key: stateKey(StateNamespace.recordVersion, body.recordId, u64Part(index + 1)),
      keyFrom: 'claim.erasure.transaction',
      what: `version ${index + 1}`,
    });
    return recordVersionOf(record);
  });
  return {
    kind: 'erasure',
    recordId: claim.recordId,
    erasedVersion: body.version,
    reason: body.reasonCode,
    erasure: verified,
    versions,
  };
}

function verifyConsentState(claim: ConsentStateClaimJson, chain: CertifiedChain): VerifiedClaim {
  const consentId = fromHex(claim.consentId);
  const consent: ConsentRecord | null = provenValue({
    part: 'claim.state',
    proof: claim.state,
    chain,
    key: stateKey(StateNamespace.consent, consentId),
    keyFrom: 'claim.consentId',
    decode: (bytes) => ConsentRecordSchema.decode(bytes),
  });
  const header = chain.headerAt(claim.state.height, 'claim.state.height');
  return {
    kind: 'consent-state',
    consentId: claim.consentId,
    height: header.header.height,
    time: header.header.time,
    consent:
      consent === null
        ? null
        : {
            patientId: toHex(consent.patientId),
            status: consent.status,
            policyRule: consent.policyRule,
            grantedHeight: consent.grantedHeight,
            grantedTime: consent.grantedTime,
            revokedHeight: consent.revokedHeight,
            revokedTime: consent.revokedTime,
          },
  };
}

function auditEventOf(record: AuditEventRecord, claim: AccessLogClaimJson): VerifiedAuditEvent {
  const { event } = record;
  const hexOrNull = (bytes: Uint8Array | null) => (bytes === null ? null : toHex(bytes));
  return {
    sequence: record.sequence,
    recordedHeight: record.recordedHeight,
    time: event.time,
    orgId: record.orgId,
    practitionerId: event.practitionerId,
    clientId: event.clientId,
    recordId: hexOrNull(event.recordId),
    recordVersion: event.recordVersion,
    queryHash: hexOrNull(event.queryHash),
    action: event.action,
    purpose: event.purpose,
    decision: event.decision,
    reason: event.reason,
    consentId: hexOrNull(event.consentId),
    breakGlassId: hexOrNull(event.breakGlassId),
    inPeriod: event.time >= claim.from && event.time <= claim.to,
  };
}

function verifyAccessLog(claim: AccessLogClaimJson, chain: CertifiedChain): VerifiedClaim {
  if (claim.from > claim.to) {
    throw claimError('claim.from', `the period starts at ${claim.from}, after its end ${claim.to}`);
  }
  const patientId = fromHex(claim.patientId);
  const countKey = stateKey(StateNamespace.auditCount, patientId);
  const decodeCount = (bytes: Uint8Array) => CounterSchema.decode(bytes).count;
  let before = 0;
  let afterHeight = 0;
  let afterTime = chain.genesis.document.genesisTime;
  if (claim.countBefore !== null) {
    before =
      provenValue({
        part: 'claim.countBefore',
        proof: claim.countBefore,
        chain,
        key: countKey,
        keyFrom: 'claim.patientId',
        decode: decodeCount,
      }) ?? 0;
    const header = chain.headerAt(claim.countBefore.height, 'claim.countBefore.height');
    afterHeight = header.header.height;
    afterTime = header.header.time;
  }
  requireAtNewest('claim.countAfter', claim.countAfter, chain);
  if (claim.countAfter.height <= afterHeight) {
    throw claimError(
      'claim.countAfter.height',
      `expected a height after ${afterHeight}, found ${claim.countAfter.height}`,
    );
  }
  const after =
    provenValue({
      part: 'claim.countAfter',
      proof: claim.countAfter,
      chain,
      key: countKey,
      keyFrom: 'claim.patientId',
      decode: decodeCount,
    }) ?? 0;
  if (after < before) {
    throw claimError('claim.countAfter', `the count went down from ${before} to ${after}`);
  }
  if (claim.events.length !== after - before) {
    throw claimError(
      'claim.events',
      `the patient has ${after - before} events recorded after height ${afterHeight} up to ${claim.countAfter.height} (sequences ${before} to ${after - 1}), the bundle lists ${claim.events.length}`,
    );
  }
  const events = claim.events.map((proof, index) => {
    const part = `claim.events[${index}]`;
    const sequence = before + index;
    requireAtNewest(part, proof, chain);
    const record = provenValue({
      part,
      proof,
      chain,
      key: stateKey(StateNamespace.auditEvent, patientId, u64Part(sequence)),
      keyFrom: 'claim.patientId',
      decode: (bytes) => AuditEventRecordSchema.decode(bytes),
    });
    if (record === null) throw claimError(part, `proves that event ${sequence} does not exist`);
    if (record.sequence !== sequence || !equalBytes(record.event.patientId, patientId)) {
      throw claimError(
        part,
        `holds event ${record.sequence} of patient ${shortHex(record.event.patientId)}, expected event ${sequence} of this patient`,
      );
    }
    if (record.recordedHeight <= afterHeight || record.recordedHeight > claim.countAfter.height) {
      throw claimError(
        part,
        `was recorded at height ${record.recordedHeight}, outside (${afterHeight}, ${claim.countAfter.height}]`,
      );
    }
    return auditEventOf(record, claim);
  });
  const through = chain.newest.header;
  return {
    kind: 'access-log',
    patientId: claim.patientId,
    from: claim.from,
    to: claim.to,
    afterHeight,
    afterTime,
    throughHeight: through.height,
    throughTime: through.time,
    // An event may be recorded up to the audit lag after it happened (contracts' access rules).
    // With no count before (the period starts before the first block), nothing precedes it.
    coversPeriod:
      (claim.countBefore === null || afterTime < claim.from) &&
      through.time >= claim.to + chain.genesis.document.policy.auditLagMaxMs,
    events,
  };
}

function verifyLogHead(claim: LogHeadClaimJson, chain: CertifiedChain): VerifiedClaim {
  if (claim.consistency === null) return { kind: 'log-head', consistency: null };
  const { oldSize, oldRoot } = claim.consistency;
  const head = chain.newest.header;
  within(VerifyErrorCode.proof, 'claim.consistency', () =>
    verifyLogConsistency({
      oldSize,
      newSize: head.logSize,
      oldRoot: fromHex(oldRoot),
      newRoot: head.logRoot,
      proof: claim.consistency!.path.map(fromHex),
    }),
  );
  return { kind: 'log-head', consistency: { oldSize, oldRoot } };
}

/**
 * Verifies `bundle` against the genesis document: the light client, then the claim. Returns
 * what was proven; throws `VerifyError` naming the first part that failed.
 */
export function verifyBundle(bundle: VerificationBundle, genesis: TrustedGenesis): VerifiedBundle {
  const chain = verifyChain(bundle, genesis);
  let claim: VerifiedClaim;
  switch (bundle.kind) {
    case 'record-version':
      claim = verifyRecordVersion(bundle.claim, chain);
      break;
    case 'erasure':
      claim = verifyErasure(bundle.claim, chain);
      break;
    case 'consent-state':
      claim = verifyConsentState(bundle.claim, chain);
      break;
    case 'access-log':
      claim = verifyAccessLog(bundle.claim, chain);
      break;
    case 'log-head':
      claim = verifyLogHead(bundle.claim, chain);
      break;
  }
  return {
    kind: bundle.kind,
    chainId: bundle.chainId,
    genesisHash: bundle.genesisHash,
    head: headOf(chain.newest.header, chain.newest.hash),
    transitionHeights: chain.transitionHeights,
    claim,
  };
}

/**
 * For a witness: checks that a verified `log-head` bundle extends the log head it saw before
 * (size and root), through the bundle's own consistency proof. Throws `VerifyError` `proof` when
 * it does not: the history was rewritten or forked.
 */
export function verifyHeadExtends(options: {
  verified: VerifiedBundle;
  oldSize: number;
  oldRoot: Hash;
}): void {
  const { verified } = options;
  if (verified.claim.kind !== 'log-head') {
    throw claimError('kind', `expected a log-head bundle, found ${verified.kind}`);
  }
  const consistency = verified.claim.consistency;
  if (consistency === null || consistency.oldSize !== options.oldSize) {
    throw claimError(
      'claim.consistency',
      `expected a consistency proof from log size ${options.oldSize}, found ${consistency === null ? 'none' : `one from ${consistency.oldSize}`}`,
    );
  }
  if (consistency.oldRoot !== toHex(options.oldRoot)) {
    throw new VerifyError(
      VerifyErrorCode.proof,
      'claim.consistency.oldRoot',
      `the node proves it extends a log of ${options.oldSize} transactions with root ${consistency.oldRoot.slice(0, 16)}…, but that log had root ${toHex(options.oldRoot).slice(0, 16)}… when seen before: the history was rewritten`,
    );
  }
}

export type { TrustedGenesis };
