/**
 * `medledger witness --node <url> [--node <url> …] --state <file> --genesis <file> [--json]`
 * (issue 7, decision 0073): a witness remembers the last signed log head each node served and,
 * on each run, makes the node prove that its new head extends it:
 *
 * - it fetches the node's `log-head` bundle with `since=<saved log size>` and verifies it from
 *   the genesis file alone (verify/'s light client), then `verifyHeadExtends` with the saved
 *   root (RFC 9162 §2.1.4 consistency);
 * - it refuses a head whose height or log size went down, and asks for the certified header at
 *   the saved height (a `consent-state` bundle of that height, which certifies that height's
 *   header), whose hash must be the saved one: an empty log proves nothing about blocks;
 * - with several nodes, at the lower of each two nodes' heights both must serve the same block.
 *
 * Any rewrite, fork or split view is reported loudly on stderr (which node, which heights and
 * sizes, expected and found hashes), its evidence (the head seen before and every bundle as
 * received) is saved beside the state file as `<state>.evidence-<n>.json` (mode 0600), that
 * node's saved head is not advanced, and the exit code is 1. A bundle that does not verify is
 * evidence too. All good: one line per node, exit 0. A node that cannot be reached or wrong
 * arguments: one line, exit 2. The state file is JSON, written atomically (temp file, fsync,
 * rename), mode 0600.
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

import { type Command, CommanderError } from 'commander';

import { fromHex, toHex } from '../base/index.ts';
import {
  type SignedHeaderJson,
  type TrustedGenesis,
  type VerificationBundle,
  type VerifiedBundle,
  type VerifiedHead,
  VerifyError,
  parseBundleText,
  trustGenesis,
  verifyBundle,
  verifyHeadExtends,
  verifyLimits,
} from '../verify/index.ts';
import { nodeClientTimeoutMs } from './node-client.ts';

/** Exit codes of `medledger witness`. */
export const witnessExitCode = {
  /** Every node extends what it served before (or was seen for the first time). */
  ok: 0,
  /** A rewritten or forked history, a split view, or a bundle that does not verify. */
  alarm: 1,
  /** Wrong arguments, an unreadable file, or a node that could not be asked. */
  cannotCheck: 2,
} as const;

/** Bounds of the witness. */
export const witnessLimits = {
  /** Most `--node` options. */
  nodesMax: 32,
  /** Longest answer read from a node, in characters (a bundle's own bound). */
  answerCharsMax: verifyLimits.bundleCharsMax,
  /** Largest state or genesis file read, in bytes. */
  fileBytesMax: 16 * 1024 * 1024,
  /** Most evidence files beside one state file (`<state>.evidence-1.json` …). */
  evidenceFilesMax: 100_000,
} as const;

const stateFormat = 'medledger-witness-state';
const evidenceFormat = 'medledger-witness-evidence';
/** The consent asked about to obtain a certified header at a height: any id works (absent). */
const anyConsentId = '0'.repeat(32);

/** The head of one node as the witness saved it. */
export interface SavedHead {
  readonly height: number;
  readonly blockHash: string;
  readonly logSize: number;
  readonly logRoot: string;
  /** When the witness saw it (ISO 8601). */
  readonly seenAt: string;
  /** The header and commit as the node served them (hex), for evidence. */
  readonly signedHeader: SignedHeaderJson;
}

/** The state file. */
export interface WitnessState {
  readonly format: typeof stateFormat;
  readonly version: 1;
  readonly chainId: string;
  readonly genesisHash: string;
  readonly nodes: Readonly<Record<string, SavedHead>>;
}

/** What one run found wrong: one per node whose history changed, one per split pair. */
export interface WitnessFinding {
  readonly kind: 'history-rewritten' | 'invalid-bundle' | 'split-view';
  readonly nodes: readonly string[];
  readonly headline: string;
  readonly problems: readonly string[];
  readonly seenBefore: { readonly node: string; readonly head: SavedHead } | null;
  readonly received: readonly Received[];
  evidenceFile?: string;
}

/** An answer of a node, kept as received (parsed JSON, or the text when it is not JSON). */
interface Received {
  readonly node: string;
  readonly path: string;
  readonly receivedAt: string;
  readonly body: unknown;
}

/** Options of `medledger witness`, as commander parses them. */
export interface WitnessOptions {
  readonly node: readonly string[];
  readonly state?: string;
  readonly genesis?: string;
  readonly json: boolean;
}

/** Where the command writes whole lines. */
export interface WitnessOutput {
  readonly print: (line: string) => void;
  readonly error: (line: string) => void;
}

/** Wrong arguments, unreadable files, unreachable nodes: exit 2 with the message. */
class CannotCheck extends Error {}

/** A node's HTTP answer that is not a 2xx (`status`), or no answer at all (`status` null). */
class NodeAnswerError extends Error {
  readonly status: number | null;
  constructor(message: string, status: number | null) {
    super(message);
    this.status = status;
  }
}

// ---- arguments and files ---------------------------------------------------------------------

/** `http(s)://host:port` only; the error names `--node`. */
function nodeUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CannotCheck(`--node: expected http://host:port, found ${JSON.stringify(text)}`);
  }
  const plain =
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.username === '' &&
    url.password === '' &&
    (url.pathname === '/' || url.pathname === '') &&
    url.search === '' &&
    url.hash === '';
  if (!plain) {
    throw new CannotCheck(
      `--node: expected only http(s)://host:port (no path, query or credentials), found ${JSON.stringify(text)}`,
    );
  }
  return `${url.protocol}//${url.host}`;
}

function readSmallFile(path: string, what: string): string {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CannotCheck(`${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code}`);
  }
  if (size > witnessLimits.fileBytesMax) {
    throw new CannotCheck(
      `${what} ${path} is ${size} bytes, at most ${witnessLimits.fileBytesMax} are read`,
    );
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CannotCheck(`${what} ${path}: ${(error as NodeJS.ErrnoException).code}`);
  }
}

function loadGenesis(path: string): TrustedGenesis {
  const text = readSmallFile(path, '--genesis');
  try {
    return trustGenesis(JSON.parse(text));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CannotCheck(`--genesis ${path}: not a genesis document: ${message}`);
  }
}

const hexPattern = (bytes: number) => new RegExp(`^[0-9a-f]{${bytes * 2}}$`);
const hash32 = hexPattern(32);

function isSavedHead(value: unknown): value is SavedHead {
  if (typeof value !== 'object' || value === null) return false;
  const head = value as Record<string, unknown>;
  const signed = head.signedHeader as Record<string, unknown> | null | undefined;
  return (
    Number.isSafeInteger(head.height) &&
    (head.height as number) >= 1 &&
    Number.isSafeInteger(head.logSize) &&
    (head.logSize as number) >= 0 &&
    typeof head.blockHash === 'string' &&
    hash32.test(head.blockHash) &&
    typeof head.logRoot === 'string' &&
    hash32.test(head.logRoot) &&
    typeof head.seenAt === 'string' &&
    typeof signed === 'object' &&
    signed !== null &&
    typeof signed.header === 'string' &&
    typeof signed.commit === 'string'
  );
}

/** The state file, or null when there is none yet; refuses a corrupt one or another chain's. */
function loadState(path: string, genesis: TrustedGenesis): WitnessState | null {
  try {
    statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  }
  const text = readSmallFile(path, '--state');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CannotCheck(`--state ${path}: not JSON (${(error as Error).message}); not touched`);
  }
  const state = value as Partial<WitnessState> | null;
  const nodes = state?.nodes as Record<string, unknown> | undefined;
  if (
    state?.format !== stateFormat ||
    state.version !== 1 ||
    typeof state.chainId !== 'string' ||
    typeof state.genesisHash !== 'string' ||
    typeof nodes !== 'object' ||
    nodes === null ||
    !Object.values(nodes).every(isSavedHead)
  ) {
    throw new CannotCheck(
      `--state ${path}: not a witness state file (format ${stateFormat} version 1); not touched`,
    );
  }
  const genesisHash = toHex(genesis.hash);
  if (state.chainId !== genesis.chainId || state.genesisHash !== genesisHash) {
    throw new CannotCheck(
      `--state ${path} is for chain ${JSON.stringify(state.chainId)} (genesis ${state.genesisHash.slice(0, 16)}…), --genesis is chain ${JSON.stringify(genesis.chainId)} (genesis ${genesisHash.slice(0, 16)}…)`,
    );
  }
  return state as WitnessState;
}

/** Writes `text` to `path` atomically: a new temporary file (0600), fsync, rename. */
function saveFileAtomically(path: string, text: string): void {
  const temporary = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temporary, path);
  } catch (error) {
    unlinkSync(temporary);
    throw error;
  }
  // The rename is durable once the folder is synced (not possible on every platform).
  try {
    const folder = openSync(dirname(path), 'r');
    try {
      fsyncSync(folder);
    } finally {
      closeSync(folder);
    }
  } catch {
    // Best effort.
  }
}

/** Saves `evidence` as the first free `<state>.evidence-<n>.json` (mode 0600); returns its path. */
function saveEvidence(statePath: string, evidence: unknown): string {
  const text = `${JSON.stringify(evidence, null, 2)}\n`;
  for (let n = 1; n <= witnessLimits.evidenceFilesMax; n++) {
    const path = `${statePath}.evidence-${n}.json`;
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw error;
    }
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return path;
  }
  throw new CannotCheck(
    `${statePath}: ${witnessLimits.evidenceFilesMax} evidence files beside it already`,
  );
}

/** Runs a write beside the state file; a failure is exit 2 naming the file. */
function writing<T>(statePath: string, write: () => T): T {
  try {
    return write();
  } catch (error) {
    if (error instanceof CannotCheck) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new CannotCheck(`--state ${statePath}: cannot write beside it: ${code}`);
  }
}

// ---- asking nodes ----------------------------------------------------------------------------

/** GETs `path` of `node`; the body as text, bounded; throws `NodeAnswerError`. */
async function getText(node: string, path: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(`${node}${path}`, {
      signal: AbortSignal.timeout(nodeClientTimeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new NodeAnswerError(`cannot reach ${node}: ${reason}`, null);
  }
  const chunks: string[] = [];
  let length = 0;
  const decoder = new TextDecoder();
  try {
    if (response.body !== null) {
      for await (const chunk of response.body) {
        const text = decoder.decode(chunk as Uint8Array, { stream: true });
        length += text.length;
        if (length > witnessLimits.answerCharsMax) {
          // Leaving the loop cancels the stream.
          throw new NodeAnswerError(
            `${node}${path} answered more than ${witnessLimits.answerCharsMax} characters`,
            response.status,
          );
        }
        chunks.push(text);
      }
    }
    chunks.push(decoder.decode());
  } catch (error) {
    if (error instanceof NodeAnswerError) throw error;
    throw new NodeAnswerError(`${node}${path}: the answer broke off: ${String(error)}`, null);
  }
  const text = chunks.join('');
  if (!response.ok) {
    let message = text.slice(0, 200);
    try {
      message = (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {
      // Not the API's JSON error: the start of the body.
    }
    throw new NodeAnswerError(
      `${node}${path} answered ${response.status}: ${message}`,
      response.status,
    );
  }
  return text;
}

function received(node: string, path: string, text: string): Received {
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Kept as text: evidence as received.
  }
  return { node, path, receivedAt: new Date().toISOString(), body };
}

/** A bundle fetched and verified, with what was received. */
interface Fetched {
  readonly received: Received;
  readonly bundle: VerificationBundle;
  readonly verified: VerifiedBundle;
}

/** A bundle that does not verify: the evidence and the verifier's message (naming the part). */
class BadBundle extends Error {
  readonly received: Received;
  constructor(received: Received, error: VerifyError) {
    super(`the bundle from ${received.node}${received.path} does not verify: ${error.message}`);
    this.received = received;
  }
}

async function fetchBundle(node: string, path: string, genesis: TrustedGenesis): Promise<Fetched> {
  const text = await getText(node, path);
  const answer = received(node, path, text);
  try {
    const bundle = parseBundleText(text);
    return { received: answer, bundle, verified: verifyBundle(bundle, genesis) };
  } catch (error) {
    if (error instanceof VerifyError) throw new BadBundle(answer, error);
    throw error;
  }
}

/** The certified header of `node` at `height` (a bundle whose newest header is of that height). */
async function fetchHeaderAt(
  node: string,
  height: number,
  genesis: TrustedGenesis,
): Promise<Fetched> {
  const path = `/chain/bundles/consent-state?consent=${anyConsentId}&height=${height}`;
  const fetched = await fetchBundle(node, path, genesis);
  if (fetched.verified.head.height !== height) {
    throw new BadBundle(
      fetched.received,
      new VerifyError(
        'claim',
        'headers',
        `asked for the header of height ${height}, the bundle certifies height ${fetched.verified.head.height}`,
      ),
    );
  }
  return fetched;
}

// ---- one node --------------------------------------------------------------------------------

/** What the witness learned of one node this run. */
interface NodeResult {
  readonly node: string;
  readonly status: 'first-seen' | 'extends' | 'alarm' | 'unreachable';
  /** The verified newest head this run, and how it was received. */
  readonly head: VerifiedHead | null;
  readonly fetched: Fetched | null;
  readonly consistencyFrom: number | null;
  /** The saved height whose block was found unchanged. */
  readonly blockCheckedAt: number | null;
  readonly message: string | null;
}

function describeHead(head: {
  height: number;
  blockHash: string;
  logSize: number;
  logRoot: string;
}): string {
  return `height ${head.height}, block ${head.blockHash}, log size ${head.logSize}, log root ${head.logRoot}`;
}

function savedHeadOf(fetched: Fetched): SavedHead {
  const { head } = fetched.verified;
  const signedHeader = fetched.bundle.headers[fetched.bundle.headers.length - 1]!;
  return {
    height: head.height,
    blockHash: head.blockHash,
    logSize: head.logSize,
    logRoot: head.logRoot,
    seenAt: new Date().toISOString(),
    signedHeader: { header: signedHeader.header, commit: signedHeader.commit },
  };
}

async function checkNode(options: {
  node: string;
  saved: SavedHead | undefined;
  genesis: TrustedGenesis;
  findings: WitnessFinding[];
}): Promise<NodeResult> {
  const { node, saved, genesis, findings } = options;
  const unreachable = (message: string): NodeResult => ({
    node,
    status: 'unreachable',
    head: null,
    fetched: null,
    consistencyFrom: null,
    blockCheckedAt: null,
    message,
  });
  const invalid = (error: BadBundle, before: SavedHead | undefined): NodeResult => {
    findings.push({
      kind: 'invalid-bundle',
      nodes: [node],
      headline: `${node} served a bundle that does not verify`,
      problems: [error.message],
      seenBefore: before === undefined ? null : { node, head: before },
      received: [error.received],
    });
    return {
      node,
      status: 'alarm',
      head: null,
      fetched: null,
      consistencyFrom: null,
      blockCheckedAt: null,
      message: error.message,
    };
  };
  const logHeadPath = '/chain/bundles/log-head';
  try {
    if (saved === undefined) {
      const fetched = await fetchBundle(node, logHeadPath, genesis);
      return {
        node,
        status: 'first-seen',
        head: fetched.verified.head,
        fetched,
        consistencyFrom: null,
        blockCheckedAt: null,
        message: null,
      };
    }
    const problems: string[] = [];
    const receivedAll: Received[] = [];
    let fetched: Fetched;
    try {
      fetched = await fetchBundle(node, `${logHeadPath}?since=${saved.logSize}`, genesis);
    } catch (error) {
      // A node whose log is now shorter cannot prove a consistency from the saved size (400).
      if (!(error instanceof NodeAnswerError) || error.status !== 400) throw error;
      fetched = await fetchBundle(node, logHeadPath, genesis);
      if (fetched.verified.head.logSize >= saved.logSize) {
        problems.push(
          `refused a consistency proof from log size ${saved.logSize} (${error.message}) although its log has ${fetched.verified.head.logSize} entries`,
        );
      }
    }
    receivedAll.push(fetched.received);
    const head = fetched.verified.head;
    if (head.height < saved.height) {
      problems.push(
        `height went DOWN: it served height ${saved.height} before, now ${head.height}`,
      );
    }
    let consistencyFrom: number | null = null;
    if (head.logSize < saved.logSize) {
      problems.push(
        `log size went DOWN: it served a log of ${saved.logSize} entries before, now ${head.logSize}`,
      );
    } else if (problems.length === 0) {
      try {
        verifyHeadExtends({
          verified: fetched.verified,
          oldSize: saved.logSize,
          oldRoot: fromHex(saved.logRoot),
        });
        consistencyFrom = saved.logSize;
      } catch (error) {
        if (!(error instanceof VerifyError)) throw error;
        const claim = fetched.verified.claim;
        const proven = claim.kind === 'log-head' ? claim.consistency : null;
        problems.push(
          proven !== null && proven.oldSize === saved.logSize
            ? `log root at size ${saved.logSize}: expected ${saved.logRoot} (served before), the node now proves its log of that size had root ${proven.oldRoot}: its log does not extend the one it served`
            : `no consistency proof from log size ${saved.logSize}: ${error.message}`,
        );
      }
    }
    // The block at the saved height must still be the saved one: logs without transactions
    // prove nothing about the blocks around them.
    let badBundle = false;
    if (head.height >= saved.height) {
      let hashThere: string | null = head.blockHash;
      if (head.height > saved.height) {
        try {
          const at = await fetchHeaderAt(node, saved.height, genesis);
          receivedAll.push(at.received);
          hashThere = at.verified.head.blockHash;
        } catch (error) {
          if (!(error instanceof BadBundle)) throw error;
          receivedAll.push(error.received);
          problems.push(error.message);
          badBundle = true;
          hashThere = null;
        }
      }
      if (hashThere !== null && hashThere !== saved.blockHash) {
        problems.push(
          `block at height ${saved.height}: expected ${saved.blockHash} (served before, with a valid commit), now ${hashThere}, also with a valid commit: two committed blocks at one height (BFT safety broken, or the node's chain was replaced)`,
        );
      }
    }
    if (problems.length > 0) {
      const onlyBadBundle = badBundle && problems.length === 1;
      findings.push({
        kind: onlyBadBundle ? 'invalid-bundle' : 'history-rewritten',
        nodes: [node],
        headline: onlyBadBundle
          ? `${node} served a bundle that does not verify`
          : `${node} serves a history that does not extend what it served before: the history was REWRITTEN`,
        problems: [
          `seen before: ${describeHead(saved)} (at ${saved.seenAt})`,
          `now serves:  ${describeHead(head)}`,
          ...problems,
        ],
        seenBefore: { node, head: saved },
        received: receivedAll,
      });
      return {
        node,
        status: 'alarm',
        head,
        fetched,
        consistencyFrom: null,
        blockCheckedAt: null,
        message: null,
      };
    }
    return {
      node,
      status: 'extends',
      head,
      fetched,
      consistencyFrom,
      blockCheckedAt: saved.height,
      message: null,
    };
  } catch (error) {
    if (error instanceof BadBundle) return invalid(error, saved);
    if (error instanceof NodeAnswerError) return unreachable(error.message);
    throw error;
  }
}

// ---- across nodes ----------------------------------------------------------------------------

/**
 * At the lower of each two nodes' heights, both must serve the same certified block; a
 * difference is a split view (two blocks at one height, each with a valid commit).
 */
async function compareNodes(options: {
  results: readonly NodeResult[];
  genesis: TrustedGenesis;
  findings: WitnessFinding[];
  unreachable: (node: string, message: string) => void;
}): Promise<Set<string>> {
  const { genesis, findings } = options;
  const flagged = new Set<string>();
  const withHead = options.results.filter((r) => r.head !== null && r.fetched !== null);
  const cache = new Map<string, Promise<Fetched | null>>();
  // The certified header of a node at a height (its head, or asked for once); null when the
  // node could not be asked or served a bad bundle (then reported).
  const certifiedAt = (result: NodeResult, height: number): Promise<Fetched | null> => {
    if (result.head!.height === height) return Promise.resolve(result.fetched!);
    const key = `${result.node} ${height}`;
    let found = cache.get(key);
    if (found === undefined) {
      found = fetchHeaderAt(result.node, height, genesis).catch((error: unknown) => {
        if (error instanceof NodeAnswerError) {
          options.unreachable(result.node, error.message);
          return null;
        }
        if (!(error instanceof BadBundle)) throw error;
        flagged.add(result.node);
        findings.push({
          kind: 'invalid-bundle',
          nodes: [result.node],
          headline: `${result.node} served a bundle that does not verify`,
          problems: [error.message],
          seenBefore: null,
          received: [error.received],
        });
        return null;
      });
      cache.set(key, found);
    }
    return found;
  };
  for (let i = 0; i < withHead.length; i++) {
    for (let j = i + 1; j < withHead.length; j++) {
      const a = withHead[i]!;
      const b = withHead[j]!;
      const height = Math.min(a.head!.height, b.head!.height);
      const [fetchedA, fetchedB] = await Promise.all([
        certifiedAt(a, height),
        certifiedAt(b, height),
      ]);
      if (fetchedA === null || fetchedB === null) continue;
      const hashA = fetchedA.verified.head.blockHash;
      const hashB = fetchedB.verified.head.blockHash;
      if (hashA === hashB) continue;
      flagged.add(a.node).add(b.node);
      findings.push({
        kind: 'split-view',
        nodes: [a.node, b.node],
        headline: `SPLIT VIEW: ${a.node} and ${b.node} serve different blocks at height ${height}, each with a valid commit (a fork: BFT safety broken)`,
        problems: [
          `${a.node} at height ${height}: block ${hashA} (its head: height ${a.head!.height})`,
          `${b.node} at height ${height}: block ${hashB} (its head: height ${b.head!.height})`,
        ],
        seenBefore: null,
        received: [fetchedA.received, fetchedB.received],
      });
    }
  }
  return flagged;
}

// ---- the command -----------------------------------------------------------------------------

function reportFinding(finding: WitnessFinding, output: WitnessOutput): void {
  output.error(`medledger witness: ALERT: ${finding.headline}`);
  for (const problem of finding.problems) output.error(`  - ${problem}`);
  if (finding.evidenceFile !== undefined) {
    output.error(`  evidence saved to ${finding.evidenceFile}`);
  }
  output.error(
    `  the saved head of ${finding.nodes.join(' and ')} was NOT advanced; check with medledger verify on the bundles in the evidence file`,
  );
}

/**
 * Runs the witness; returns the exit code (`witnessExitCode`). Findings go to `output.error`
 * (loud, whatever `--json` says); the per-node summary to `output.print` (JSON with `--json`).
 */
export async function runWitness(options: WitnessOptions, output: WitnessOutput): Promise<number> {
  try {
    return await witness(options, output);
  } catch (error) {
    if (error instanceof CannotCheck) {
      output.error(`medledger witness: ${error.message}`);
      return witnessExitCode.cannotCheck;
    }
    throw error;
  }
}

async function witness(options: WitnessOptions, output: WitnessOutput): Promise<number> {
  if (options.node.length === 0) {
    throw new CannotCheck('--node <url> is required (once per node to witness)');
  }
  if (options.node.length > witnessLimits.nodesMax) {
    throw new CannotCheck(
      `--node: at most ${witnessLimits.nodesMax} nodes, found ${options.node.length}`,
    );
  }
  const nodes = [...new Set(options.node.map(nodeUrl))];
  if (options.state === undefined || options.state === '') {
    throw new CannotCheck('--state <file> is required: where the witness keeps the heads it saw');
  }
  if (options.genesis === undefined || options.genesis === '') {
    throw new CannotCheck("--genesis <file> is required: the network's genesis document");
  }
  const statePath = options.state;
  const genesis = loadGenesis(options.genesis);
  const state = loadState(statePath, genesis);
  const saved: Record<string, SavedHead> = { ...(state?.nodes ?? {}) };

  const findings: WitnessFinding[] = [];
  const results = await Promise.all(
    nodes.map((node) => checkNode({ node, saved: saved[node], genesis, findings })),
  );
  const unreachable = new Map<string, string>();
  for (const result of results) {
    if (result.status === 'unreachable') unreachable.set(result.node, result.message!);
  }
  const split = await compareNodes({
    results,
    genesis,
    findings,
    unreachable: (node, message) => unreachable.set(node, message),
  });

  // Evidence first, then the state: a head in a finding is never saved.
  const genesisHash = toHex(genesis.hash);
  for (const finding of findings) {
    finding.evidenceFile = writing(statePath, () =>
      saveEvidence(statePath, {
        format: evidenceFormat,
        version: 1,
        kind: finding.kind,
        detectedAt: new Date().toISOString(),
        chainId: genesis.chainId,
        genesisHash,
        nodes: finding.nodes,
        headline: finding.headline,
        problems: finding.problems,
        seenBefore: finding.seenBefore,
        received: finding.received,
      }),
    );
  }
  const advanced: string[] = [];
  for (const result of results) {
    if (result.status !== 'first-seen' && result.status !== 'extends') continue;
    if (split.has(result.node)) continue;
    saved[result.node] = savedHeadOf(result.fetched!);
    advanced.push(result.node);
  }
  if (advanced.length > 0) {
    const next: WitnessState = {
      format: stateFormat,
      version: 1,
      chainId: genesis.chainId,
      genesisHash,
      nodes: saved,
    };
    writing(statePath, () => saveFileAtomically(statePath, `${JSON.stringify(next, null, 2)}\n`));
  }

  for (const finding of findings) reportFinding(finding, output);
  for (const [node, message] of unreachable) {
    output.error(`medledger witness: ${node} could not be checked: ${message}`);
  }
  const code =
    findings.length > 0
      ? witnessExitCode.alarm
      : unreachable.size > 0
        ? witnessExitCode.cannotCheck
        : witnessExitCode.ok;
  if (options.json) {
    output.print(
      JSON.stringify({
        ok: code === witnessExitCode.ok,
        exitCode: code,
        stateFile: statePath,
        nodes: results.map((result) => ({
          node: result.node,
          status: split.has(result.node) ? 'alarm' : result.status,
          height: result.head?.height ?? null,
          blockHash: result.head?.blockHash ?? null,
          logSize: result.head?.logSize ?? null,
          logRoot: result.head?.logRoot ?? null,
          consistencyFrom: result.consistencyFrom,
          saved: advanced.includes(result.node),
          message: unreachable.get(result.node) ?? result.message,
        })),
        findings: findings.map((finding) => ({
          kind: finding.kind,
          nodes: finding.nodes,
          headline: finding.headline,
          problems: finding.problems,
          evidenceFile: finding.evidenceFile,
        })),
      }),
    );
    return code;
  }
  for (const result of results) {
    if (!advanced.includes(result.node)) continue;
    const head = result.head!;
    const what =
      result.status === 'first-seen'
        ? 'first seen, verified from the genesis file; head saved'
        : `extends what it served before (consistency proof from size ${result.consistencyFrom}; block at height ${result.blockCheckedAt} unchanged)`;
    output.print(`OK ${result.node}: height ${head.height}, log size ${head.logSize}: ${what}`);
  }
  if (nodes.length > 1 && findings.every((finding) => finding.kind !== 'split-view')) {
    const compared = results.filter((result) => result.head !== null).length;
    if (compared > 1) {
      output.print(`OK ${compared} nodes serve the same block at the lower of each two heights`);
    }
  }
  return code;
}

/** Adds `medledger witness` to `program`. */
export function registerWitnessCommand(program: Command): void {
  program
    .command('witness')
    .description(
      'remember the signed log head each node served and make it prove that its new head extends ' +
        'it (consistency proof); a rewritten or forked history or a split view between nodes is ' +
        'reported with its evidence saved beside the state file (exit 1); exit 2 when it cannot check',
    )
    .option(
      '--node <url>',
      'a node to witness, http://host:port (repeat for several nodes)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--state <file>',
      'the JSON file where the witness keeps the heads it saw (made at first run)',
    )
    .option('--genesis <file>', "the network's genesis document")
    .option('--json', 'print the per-node result as one JSON object', false)
    // A commander error (an unknown option) is a bad argument too: exit 2, not 1.
    .exitOverride((error) => {
      throw error.exitCode === 0 ? error : new CommanderError(2, error.code, error.message);
    })
    .action(async (options: WitnessOptions) => {
      const code = await runWitness(options, {
        print: (line) => console.log(line),
        error: (line) => console.error(line),
      });
      if (code !== witnessExitCode.ok) {
        // The lines are printed; main returns the code of a CommanderError without printing it.
        throw new CommanderError(code, `medledger.witness.exit-${code}`, 'witness');
      }
    });
}
