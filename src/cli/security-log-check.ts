/**
 * The chain side of `medledger audit security-log` (decision 0063): the heads an organisation
 * anchored of its security audit log (`access.security-log-head`), read from any node's chain
 * API but trusted only once proven from the genesis file: the node's signed log head is verified
 * as a `log-head` verification bundle (light client from genesis, decision 0072), and each state
 * value against that header's state root with a sparse-Merkle proof (`/chain/proofs/state`). A
 * node that lies, or serves another chain, fails here, whoever runs it.
 */
import { equalBytes, fromHex, shortHex, toHex } from '../base/index.ts';
import {
  type SecurityLogHead,
  SecurityLogHeadSchema,
  StateNamespace,
  stateKey,
  textPart,
  u64Part,
} from '../contracts/index.ts';
import { verifyStateProof } from '../merkle/index.ts';
import type { SecurityAuditAnchorCheck, SecurityAuditLogBounds } from '../store/index.ts';
import {
  type TrustedGenesis,
  VerifyError,
  isoTime,
  parseBundle,
  verifyBundle,
} from '../verify/index.ts';
import { AuditError, AuditErrorCode } from './accounting-of-disclosures.ts';

/** Bounds of the check. */
export const securityLogCheckLimits = {
  /**
   * Anchored heads proven per run at most, newest first (one state proof each). The newest one
   * the log still retains suffices (its hash covers every row before it); older ones only place
   * a change more precisely.
   */
  headsMax: 16,
} as const;

/** The heads proven, newest first, and the certified block they were read at. */
export interface ProvenSecurityLogHeads {
  readonly height: number;
  readonly time: number;
  readonly blockHash: string;
  readonly heads: readonly SecurityLogHead[];
}

function notVerified(message: string): AuditError {
  return new AuditError(AuditErrorCode.notVerified, message);
}

/** A state value at the certified height, proven against its state root; null when absent. */
async function provenValue(options: {
  getJson: (path: string, what: string) => Promise<unknown>;
  key: Uint8Array;
  height: number;
  stateRoot: Uint8Array;
  what: string;
}): Promise<Uint8Array | null> {
  const { key, what } = options;
  const answer = (await options.getJson(
    `/chain/proofs/state?key=${toHex(key)}&height=${options.height}`,
    what,
  )) as { proof?: Record<string, unknown> } | null;
  const proof = answer?.proof;
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  try {
    if (proof === undefined || proof === null || typeof proof !== 'object') {
      throw new Error('expected { proof }');
    }
    if (proof['height'] !== options.height) {
      throw new Error(
        `expected a proof at height ${options.height}, found ${String(proof['height'])}`,
      );
    }
    if (!equalBytes(fromHex(text(proof['key'])), key)) {
      throw new Error(
        `expected a proof of key ${shortHex(key)}, found ${text(proof['key']).slice(0, 16)}`,
      );
    }
    const value = proof['value'] === null ? null : fromHex(text(proof['value']));
    const other = proof['otherLeaf'] as { key?: unknown; valueHash?: unknown } | null;
    verifyStateProof({
      rootHash: options.stateRoot,
      key,
      value,
      proof: {
        depth: Number(proof['depth']),
        bitmap: fromHex(text(proof['bitmap'])),
        siblings: (Array.isArray(proof['siblings']) ? proof['siblings'] : []).map((sibling) =>
          fromHex(text(sibling)),
        ),
        otherLeaf:
          other === null || other === undefined
            ? null
            : { key: fromHex(text(other.key)), valueHash: fromHex(text(other.valueHash)) },
      },
    });
    return value;
  } catch (error) {
    throw notVerified(
      `${what}: the node's state proof does not verify against the certified state root at height ${options.height}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function decodeHead(bytes: Uint8Array, orgId: string, what: string): SecurityLogHead {
  let head: SecurityLogHead;
  try {
    head = SecurityLogHeadSchema.decode(bytes);
  } catch (error) {
    throw notVerified(`${what}: not a security log head (${(error as Error).message})`);
  }
  if (head.orgId !== orgId) {
    throw notVerified(`${what}: expected a head of ${orgId}, found one of ${head.orgId}`);
  }
  return head;
}

/**
 * Proves `orgId`'s anchored heads from the genesis file: the newest, then older ones along
 * `previousLogSize` while they may still be retained by the log (above `bounds.anchorSequence`),
 * at most `securityLogCheckLimits.headsMax`.
 */
export async function proveSecurityLogHeads(options: {
  getJson: (path: string, what: string) => Promise<unknown>;
  genesis: TrustedGenesis;
  orgId: string;
  bounds: SecurityAuditLogBounds;
}): Promise<ProvenSecurityLogHeads> {
  const { getJson, genesis, orgId, bounds } = options;
  const what = "the node's signed log head";
  let verified;
  try {
    verified = verifyBundle(parseBundle(await getJson('/chain/bundles/log-head', what)), genesis);
  } catch (error) {
    if (!(error instanceof VerifyError)) throw error;
    throw notVerified(`${what} does not verify from the genesis file: ${error.message}`);
  }
  const { height, stateRoot, time, blockHash } = verified.head;
  const root = fromHex(stateRoot);
  const heads: SecurityLogHead[] = [];
  const latest = await provenValue({
    getJson,
    key: stateKey(StateNamespace.securityLogHead, textPart(orgId)),
    height,
    stateRoot: root,
    what: `the latest security log head of ${orgId}`,
  });
  let head = latest === null ? null : decodeHead(latest, orgId, `the latest head of ${orgId}`);
  while (head !== null) {
    heads.push(head);
    if (
      heads.length >= securityLogCheckLimits.headsMax ||
      head.previousLogSize === 0 ||
      head.logSize <= bounds.anchorSequence
    ) {
      break;
    }
    const size = head.previousLogSize;
    const value = await provenValue({
      getJson,
      key: stateKey(StateNamespace.securityLogAnchor, textPart(orgId), u64Part(size)),
      height,
      stateRoot: root,
      what: `the head of ${orgId} anchored at row ${size}`,
    });
    if (value === null) {
      throw notVerified(
        `the head of ${orgId} at row ${head.logSize} names an earlier head at row ${size}, which the chain proves absent`,
      );
    }
    head = decodeHead(value, orgId, `the head of ${orgId} anchored at row ${size}`);
  }
  return { height, time, blockHash, heads };
}

/** The lines `medledger audit security-log` prints for a passing check. */
export function securityLogCheckLines(options: {
  file: string;
  orgId: string;
  bounds: SecurityAuditLogBounds;
  proven: ProvenSecurityLogHeads;
  check: Extract<SecurityAuditAnchorCheck, { ok: true }>;
}): string[] {
  const { file, orgId, bounds, proven, check } = options;
  const first = bounds.anchorSequence + 1;
  const lines = [
    `VERIFIED ${file}: ${orgId}'s security log, rows ${first}..${check.headSequence} (${check.rows} rows) hash-chained`,
    `  anchored heads read at block ${proven.height} (${isoTime(proven.time)}), proven from the genesis file: ${proven.heads.length}`,
  ];
  const against = check.checkedAgainst;
  if (against !== null) {
    const head = proven.heads.find((h) => h.logSize === against.logSize);
    lines.push(
      `  agrees with the head anchored at row ${against.logSize}${head === undefined ? '' : ` (block ${head.anchoredHeight}, ${isoTime(head.anchoredTime)})`}: ${toHex(against.headHash)}; ${check.anchoredHeadsChecked} anchored head(s) compared`,
    );
  } else if (check.newestAnchored === null) {
    lines.push(`  no head of ${orgId}'s security log is anchored on chain yet`);
  } else {
    lines.push(
      `  the newest anchored head (row ${check.newestAnchored.logSize}) was rotated out of the log: nothing retained to compare`,
    );
  }
  lines.push(
    check.unanchoredRows === 0
      ? '  every retained row is covered by an anchored head'
      : `  not yet anchored: ${check.unanchoredRows} row(s) after ${against?.logSize ?? bounds.anchorSequence}, vouched for by the log's own hash chain only`,
  );
  return lines;
}
