/**
 * The portal's verified marks, computed in this browser with src/verify (the same verifier as
 * `medledger verify`, decision 0071): a verification bundle from this node's `/chain/bundles/…` is
 * checked against a genesis document the patient trusts, and what the bundle proves is compared
 * with what the page shows (record id, version, type, labels; an audit event's sequence, time,
 * organisation, action, decision; a consent's status). A record's content hash is salted and the
 * salt stays in the vault, so the content itself cannot be recomputed here.
 *
 * The genesis document is pinned in `localStorage` per chain id the first time it is seen
 * (fetched from this node, or a file the patient chose): if the node later serves another one,
 * the page says so and keeps the pinned one. It is only as trusted as where it came from; the page
 * shows its hash so the patient can compare it with one obtained elsewhere.
 */
import { toHex } from '../base/index.ts';
import {
  type TrustedGenesis,
  type VerifiedAuditEvent,
  type VerifiedBundle,
  type VerifiedClaim,
  parseBundle,
  trustGenesis,
  verifyBundle,
} from '../verify/index.ts';
import type { FhirConsent } from './patient-consent-model.ts';
import type { AuditFacts } from './patient-audit-model.ts';
import { organisationName, recordTypeName } from './patient-names.ts';
import { RequestFailed, call } from './session.ts';
import { type Verification, describeFailure, formatTime } from './ui.tsx';

/** A verified mark's state: ui's `Verification`, or not checked (and why). */
export type Mark = Verification | { readonly state: 'unchecked'; readonly detail: string };

/** The genesis document the marks are checked against, and where it came from. */
export interface GenesisTrust {
  readonly genesis: TrustedGenesis;
  readonly chainId: string;
  /** The genesis document's hash (hex): the `prevHash` of block 1. */
  readonly hash: string;
  readonly source: 'node' | 'file';
  readonly fileName: string | null;
  /** When it was first pinned in this browser (Unix ms). */
  readonly since: number;
}

/** The portal's genesis: loading, ready (with a warning if the node now serves another), or not. */
export type GenesisState =
  | { readonly state: 'loading' }
  | { readonly state: 'ready'; readonly trust: GenesisTrust; readonly warning: string | null }
  | { readonly state: 'unavailable'; readonly why: string };

interface PinnedGenesis {
  readonly text: string;
  readonly source: 'node' | 'file';
  readonly fileName: string | null;
  readonly since: number;
}

/** Longest genesis document accepted from a file, in characters (a real one is a few KB). */
const genesisCharsMax = 1024 * 1024;

function storageKey(chainId: string): string {
  return `medledger.genesis.${chainId}`;
}

function loadPin(chainId: string): PinnedGenesis | null {
  let text: string | null = null;
  try {
    text = localStorage.getItem(storageKey(chainId));
  } catch {
    return null; // Storage blocked: nothing pinned, the node's genesis is used for this page.
  }
  if (text === null) return null;
  try {
    const pin = JSON.parse(text) as PinnedGenesis;
    if (typeof pin.text === 'string' && typeof pin.since === 'number') return pin;
  } catch {
    // A damaged pin is dropped below.
  }
  localStorage.removeItem(storageKey(chainId));
  return null;
}

function savePin(chainId: string, pin: PinnedGenesis): void {
  try {
    localStorage.setItem(storageKey(chainId), JSON.stringify(pin));
  } catch {
    // Storage full or blocked: the genesis is still used for this page, just not remembered.
  }
}

/** Drops the pinned genesis of `chainId` (the next load takes the node's again). */
export function forgetGenesis(chainId: string): void {
  try {
    localStorage.removeItem(storageKey(chainId));
  } catch {
    // Nothing was stored.
  }
}

function trustOf(chainId: string, pin: PinnedGenesis): GenesisTrust {
  let value: unknown;
  try {
    value = JSON.parse(pin.text);
  } catch {
    throw new Error('the genesis document is not JSON');
  }
  const genesis = trustGenesis(value);
  if (genesis.chainId !== chainId) {
    throw new Error(
      `the genesis document is of chain ${genesis.chainId}, this node runs chain ${chainId}`,
    );
  }
  return {
    genesis,
    chainId,
    hash: toHex(genesis.hash),
    source: pin.source,
    fileName: pin.fileName,
    since: pin.since,
  };
}

/**
 * The genesis to check marks against for `chainId`: the pinned one, else this node's (then
 * pinned). The node's is fetched each time, to warn when it differs from the pinned one.
 */
export async function loadGenesis(chainId: string): Promise<GenesisState> {
  let fromNode: { text: string; hash: string } | null = null;
  let nodeFailure: string | null = null;
  try {
    const document = await call<unknown>('/chain/genesis');
    const text = JSON.stringify(document);
    const trust = trustOf(chainId, { text, source: 'node', fileName: null, since: 0 });
    fromNode = { text, hash: trust.hash };
  } catch (error) {
    nodeFailure = describeFailure(error);
  }
  const pin = loadPin(chainId);
  if (pin !== null) {
    try {
      const trust = trustOf(chainId, pin);
      const warning =
        fromNode !== null && fromNode.hash !== trust.hash
          ? `This node now serves a different genesis document (hash ${fromNode.hash.slice(0, 16)}…) than the one this browser trusted on ${formatTime(trust.since)}. The marks still use the one you trusted; ask your hospital which is right.`
          : null;
      return { state: 'ready', trust, warning };
    } catch {
      forgetGenesis(chainId);
    }
  }
  if (fromNode === null) {
    return {
      state: 'unavailable',
      why: `the genesis document could not be fetched from this node (${nodeFailure ?? 'unknown error'}); choose your own copy of the genesis file`,
    };
  }
  const fresh: PinnedGenesis = {
    text: fromNode.text,
    source: 'node',
    fileName: null,
    since: Date.now(),
  };
  savePin(chainId, fresh);
  return { state: 'ready', trust: trustOf(chainId, fresh), warning: null };
}

/** Trusts a genesis file the patient chose (replacing the pinned one); throws a message. */
export async function trustGenesisFile(chainId: string, file: File): Promise<GenesisTrust> {
  if (file.size > genesisCharsMax) {
    throw new Error(`expected a genesis document of at most 1 MB, found ${file.size} bytes`);
  }
  const pin: PinnedGenesis = {
    text: await file.text(),
    source: 'file',
    fileName: file.name.slice(0, 120),
    since: Date.now(),
  };
  const trust = trustOf(chainId, pin);
  savePin(chainId, pin);
  return trust;
}

// ---------------------------------------------------------------------------------------------
// Bundles

/** Bundle fetches at once: the node builds each one, so the page does not flood it. */
const bundleFetchesMax = 3;
let running = 0;
const waiting: Array<() => void> = [];

async function withSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= bundleFetchesMax) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Fetches and verifies one bundle; lets the page paint between two verifications. */
async function verifiedBundle(trust: GenesisTrust, path: string): Promise<VerifiedBundle> {
  const json = await withSlot(() => call<unknown>(path));
  await new Promise((resolve) => setTimeout(resolve, 0));
  return verifyBundle(parseBundle(json), trust.genesis);
}

function failed(detail: string): Mark {
  return { state: 'failed', detail };
}

function shortHash(hex: string): string {
  return `${hex.slice(0, 12)}…`;
}

function against(trust: GenesisTrust): string {
  return `checked in your browser against genesis ${shortHash(trust.hash)} of chain ${trust.chainId}`;
}

function bundleFailure(error: unknown): Mark {
  if (error instanceof RequestFailed && error.status === 404) {
    return failed(`the ledger has no proof of it: ${error.message}`);
  }
  if (error instanceof RequestFailed) {
    return { state: 'unchecked', detail: `the proof could not be fetched: ${error.message}` };
  }
  return failed(`the proof does not verify: ${describeFailure(error)}`);
}

function claimOf<K extends VerifiedClaim['kind']>(
  verified: VerifiedBundle,
  kind: K,
): Extract<VerifiedClaim, { kind: K }> {
  if (verified.claim.kind !== kind) {
    throw new Error(`expected a ${kind} bundle, found ${verified.claim.kind}`);
  }
  return verified.claim as Extract<VerifiedClaim, { kind: K }>;
}

const cache = new Map<string, Promise<Mark>>();

function cached(key: string, compute: () => Promise<Mark>): Promise<Mark> {
  let mark = cache.get(key);
  if (mark === undefined) {
    mark = compute();
    cache.set(key, mark);
    // A fetch that failed is tried again next time.
    void mark.then((value) => {
      if (value.state === 'unchecked') cache.delete(key);
    });
  }
  return mark;
}

/** What the page shows of a record version. */
export interface ShownRecord {
  readonly id: string;
  readonly version: number;
  readonly resourceType: string;
  readonly patientId: string;
  /** Security label codes of `meta.security`. */
  readonly labels: readonly string[];
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((item) => right.has(item));
}

/** The mark of a record version: its anchor proven, and its id, version, type and labels. */
export function markOfRecord(trust: GenesisTrust, shown: ShownRecord): Promise<Mark> {
  const key = `${trust.hash}:record:${shown.id}:${shown.version}`;
  return cached(key, async () => {
    if (!/^[0-9a-f]{32}$/.test(shown.id) || !Number.isSafeInteger(shown.version)) {
      return failed(`record ${shown.id} version ${shown.version} is not a ledger record id`);
    }
    let claim;
    try {
      const verified = await verifiedBundle(
        trust,
        `/chain/bundles/record-version?record=${shown.id}&version=${shown.version}`,
      );
      claim = claimOf(verified, 'record-version');
    } catch (error) {
      return bundleFailure(error);
    }
    const { record, anchor } = claim;
    const differences: string[] = [];
    if (record.recordId !== shown.id) differences.push(`record id ${record.recordId}`);
    if (record.version !== shown.version) differences.push(`version ${record.version}`);
    if (record.resourceType !== shown.resourceType) {
      differences.push(`type ${record.resourceType}`);
    }
    if (record.patientId !== shown.patientId) differences.push('another patient');
    if (!sameSet(record.securityLabels, shown.labels)) {
      differences.push(`labels ${record.securityLabels.join(', ') || 'none'}`);
    }
    if (differences.length > 0) {
      return failed(`the ledger's anchor differs from this page: ${differences.join('; ')}`);
    }
    return {
      state: 'verified',
      detail: `${recordTypeName(record.resourceType)} ${shortHash(record.recordId)} version ${record.version}, anchored by ${organisationName(record.custodian)} in block ${anchor.height} on ${formatTime(anchor.time)}; ${against(trust)}`,
    };
  });
}

/** The mark of a consent: its state on the ledger (status, patient, policy) proven. */
export function markOfConsent(trust: GenesisTrust, consent: FhirConsent): Promise<Mark> {
  const id = consent.id ?? '';
  const status = consent.status ?? '';
  const key = `${trust.hash}:consent:${id}:${status}`;
  return cached(key, async () => {
    if (!/^[0-9a-f]{32}$/.test(id)) return failed(`consent ${id} is not a ledger consent id`);
    let claim;
    try {
      claim = claimOf(
        await verifiedBundle(trust, `/chain/bundles/consent-state?consent=${id}`),
        'consent-state',
      );
    } catch (error) {
      return bundleFailure(error);
    }
    const proven = claim.consent;
    if (proven === null) return failed(`the ledger holds no consent ${shortHash(id)}`);
    const patient = (consent.patient?.reference ?? '').replace(/^Patient\//, '');
    const policyRule = consent.policyRule?.coding?.[0]?.code;
    const differences: string[] = [];
    if (proven.status !== status) differences.push(`status ${proven.status}`);
    if (proven.patientId !== patient) differences.push('another patient');
    if (policyRule !== undefined && proven.policyRule !== policyRule) {
      differences.push(`policy ${proven.policyRule}`);
    }
    if (differences.length > 0) {
      return failed(`the ledger's consent differs from this page: ${differences.join('; ')}`);
    }
    const when =
      proven.revokedTime === null
        ? `granted in block ${proven.grantedHeight} on ${formatTime(proven.grantedTime)}`
        : `revoked in block ${proven.revokedHeight ?? '?'} on ${formatTime(proven.revokedTime)}`;
    return {
      state: 'verified',
      detail: `consent ${shortHash(id)} is ${proven.status} at block ${claim.height}, ${when}; ${against(trust)}`,
    };
  });
}

/** What an access-log bundle proved: every event of the patient in the blocks it covers. */
export interface AccessLogProof {
  readonly trust: GenesisTrust;
  readonly events: ReadonlyMap<number, VerifiedAuditEvent>;
  /** Events recorded after this height and through `throughHeight` are all listed. */
  readonly afterHeight: number;
  readonly throughHeight: number;
  readonly throughTime: number;
  readonly coversPeriod: boolean;
}

/** Fetches and verifies the access-log bundle of `patientId` for `[from, to]` (Unix ms). */
export async function proveAccessLog(
  trust: GenesisTrust,
  options: { patientId: string; from: number; to: number },
): Promise<AccessLogProof> {
  const verified = await verifiedBundle(
    trust,
    `/chain/bundles/access-log?patient=${options.patientId}&from=${options.from}&to=${options.to}`,
  );
  const claim = claimOf(verified, 'access-log');
  if (claim.patientId !== options.patientId) {
    throw new Error(`the proof is of another patient's access log`);
  }
  return {
    trust,
    events: new Map(claim.events.map((event) => [event.sequence, event])),
    afterHeight: claim.afterHeight,
    throughHeight: claim.throughHeight,
    throughTime: claim.throughTime,
    coversPeriod: claim.coversPeriod,
  };
}

/** The access-log proof of a failed attempt: why there are no marks. */
export function accessLogFailure(error: unknown): Mark {
  return bundleFailure(error);
}

/** The mark of one access-log entry: proven in the bundle, with the same facts. */
export function markOfAuditEvent(proof: AccessLogProof, facts: AuditFacts): Mark {
  if (facts.sequence === null) return failed('this entry has no place in the ledger’s log');
  const proven = proof.events.get(facts.sequence);
  if (proven === undefined) {
    if (facts.height !== null && facts.height > proof.throughHeight) {
      return {
        state: 'unchecked',
        detail: `recorded in block ${facts.height}, after the proof (block ${proof.throughHeight}); check again`,
      };
    }
    return failed(`the ledger's log has no entry number ${facts.sequence} in this period`);
  }
  const differences: string[] = [];
  if (proven.time !== facts.time) differences.push('time');
  if (proven.orgId !== facts.orgId) differences.push(`organisation ${proven.orgId}`);
  if (proven.action !== facts.action) differences.push(`action ${proven.action}`);
  if (proven.decision !== facts.decision || proven.reason !== facts.reason) {
    differences.push(`decision ${proven.decision}: ${proven.reason}`);
  }
  if (proven.purpose !== facts.purpose) differences.push(`purpose ${proven.purpose}`);
  const practitioner =
    proven.practitionerId === null ? null : `${proven.orgId}/${proven.practitionerId}`;
  if (practitioner !== facts.practitioner) differences.push('who');
  if ((proven.recordId ?? null) !== (facts.record?.id ?? null)) differences.push('record');
  if (facts.record !== null && proven.recordVersion !== facts.record.version) {
    differences.push('record version');
  }
  if (proven.breakGlassId !== facts.breakGlassId) differences.push('break-glass grant');
  if (differences.length > 0) {
    return failed(`the ledger's entry differs from this page: ${differences.join(', ')}`);
  }
  return {
    state: 'verified',
    detail: `entry ${proven.sequence} of your log, committed in block ${proven.recordedHeight}; ${against(proof.trust)}`,
  };
}
