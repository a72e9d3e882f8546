/**
 * `medledger demo` (`npm start`): four organisations — a hospital, a clinic, a laboratory and a
 * payer — each run a validator node as its own OS process on 127.0.0.1. The first run creates
 * their keys, the genesis document and one configuration per node in the demo folder (ports
 * chosen once and remembered); later runs resume the same chain; `--fresh` starts afresh. While
 * it runs, each organisation's node key enrols a pseudonymous patient and anchors synthetic
 * record versions (random ids and hashes, no patient data) through `POST /chain/transactions`,
 * and a live line shows every node's height. Ctrl-C stops every node cleanly.
 */
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';

import { MedLedgerError, fromHex } from '../base/index.ts';
import type { Ed25519KeyPair } from '../crypto/index.ts';
import { loadEd25519KeyFile } from '../keys/index.ts';
import {
  type LocalNode,
  type LocalOrganisation,
  createLocalNetwork,
  writeJsonFile,
} from './network-files.ts';
import { fetchBlock, fetchStatus, submitEncoded } from './node-client.ts';
import { NodeProcess, tailOfFile } from './node-process.ts';
import { type SignedTransaction, makeAnchorRecord, makeEnrolPatient } from './transactions.ts';

/** The marker file of a demo folder: `--fresh` deletes only folders that hold it. */
export const demoMarkerFile = 'demo.json';
const demoKind = 'medledger-demo';

/** The demo's tunable numbers. */
export const demoLimits = {
  /** Most nodes `--nodes` accepts. */
  nodesMax: 10,
  /** Pause of each organisation between two anchors, in milliseconds. */
  anchorPauseMs: 700,
  /** Pause after a failed submit before trying again, in milliseconds. */
  retryPauseMs: 1_000,
  /** How often the live line is refreshed, in milliseconds. */
  liveLineIntervalMs: 1_000,
  /** How often the live line is printed when stdout is not a terminal, in milliseconds. */
  liveLinePlainIntervalMs: 5_000,
} as const;

/** The demo's four organisations; more nodes get numbered hospitals. */
const demoOrganisations: readonly LocalOrganisation[] = [
  { orgId: 'st-mary-hospital', roles: ['hospital'] },
  { orgId: 'riverside-clinic', roles: ['clinic'] },
  { orgId: 'central-laboratory', roles: ['laboratory'] },
  { orgId: 'unity-payer', roles: ['payer'] },
];

function organisationsFor(count: number): LocalOrganisation[] {
  return Array.from(
    { length: count },
    (_, i) => demoOrganisations[i] ?? { orgId: `regional-hospital-${i + 1}`, roles: ['hospital'] },
  );
}

interface DemoManifest {
  readonly kind: typeof demoKind;
  readonly version: 1;
  readonly chainId: string;
  readonly nodes: readonly { orgId: string; nodeKey: string; httpPort: number; p2pPort: number }[];
}

/** The nodes of a demo folder, with their paths under `dir`. */
function nodesOf(dir: string, manifest: DemoManifest): LocalNode[] {
  return manifest.nodes.map((node) => ({
    ...node,
    keyFile: join(dir, node.orgId, 'node.key'),
    configFile: join(dir, node.orgId, 'config.json'),
    dataDir: join(dir, node.orgId, 'data'),
    logFile: join(dir, node.orgId, 'node.log'),
    isValidator: true,
  }));
}

function readManifest(dir: string): DemoManifest | null {
  const file = join(dir, demoMarkerFile);
  if (!existsSync(file)) return null;
  let manifest: Partial<DemoManifest>;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as Partial<DemoManifest>;
  } catch (error) {
    throw new MedLedgerError(
      'bad-demo-folder',
      `${file} is not valid JSON (${(error as Error).message}); start afresh with --fresh`,
    );
  }
  if (manifest.kind !== demoKind || manifest.version !== 1 || !Array.isArray(manifest.nodes)) {
    throw new MedLedgerError(
      'bad-demo-folder',
      `${file} is not a MedLedger demo manifest; choose another --data folder`,
    );
  }
  return manifest as DemoManifest;
}

/** Deletes `dir` if it is a demo folder (or empty); refuses any other folder. */
function removeDemoFolder(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory())
    throw new MedLedgerError('bad-demo-folder', `--data: ${dir} is not a folder`);
  if (readdirSync(dir).length > 0 && !existsSync(join(dir, demoMarkerFile))) {
    throw new MedLedgerError(
      'bad-demo-folder',
      `--fresh: ${dir} is not a demo folder (no ${demoMarkerFile}); refusing to delete it`,
    );
  }
  readManifest(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** Creates (first run) or opens (later runs) the demo folder. */
async function prepareDemoFolder(options: {
  dir: string;
  nodeCount: number | undefined;
  fresh: boolean;
  print: (line: string) => void;
}): Promise<{ manifest: DemoManifest; nodes: LocalNode[]; created: boolean }> {
  const { dir, print } = options;
  if (options.fresh) removeDemoFolder(dir);
  const existing = existsSync(dir) ? readManifest(dir) : null;
  if (existing !== null) {
    if (options.nodeCount !== undefined && options.nodeCount !== existing.nodes.length) {
      throw new MedLedgerError(
        'bad-argument',
        `--nodes ${options.nodeCount}: the demo in ${dir} has ${existing.nodes.length} nodes; pass --fresh to start a new one`,
      );
    }
    return { manifest: existing, nodes: nodesOf(dir, existing), created: false };
  }
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
    throw new MedLedgerError(
      'bad-demo-folder',
      `--data: ${dir} exists and is not a demo folder; choose another folder`,
    );
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const chainId = `medledger-demo-${randomBytes(4).toString('hex')}`;
  print(`creating a new demo network in ${dir} (chain ${chainId})`);
  const { nodes } = await createLocalNetwork({
    dir,
    chainId,
    organisations: organisationsFor(options.nodeCount ?? 4),
    validatorCount: options.nodeCount ?? 4,
    genesisTime: Date.now(),
    logLevel: 'info',
  });
  const manifest: DemoManifest = {
    kind: demoKind,
    version: 1,
    chainId,
    nodes: nodes.map((n) => ({
      orgId: n.orgId,
      nodeKey: n.nodeKey,
      httpPort: n.httpPort,
      p2pPort: n.p2pPort,
    })),
  };
  writeJsonFile(join(dir, demoMarkerFile), manifest);
  return { manifest, nodes, created: true };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The next nonce of each demo signer, from the committed chain (kept in `nonces.json`). */
class NonceBook {
  private readonly file: string;
  private scannedHeight = 0;
  private readonly next = new Map<string, number>();

  constructor(dir: string) {
    this.file = join(dir, 'nonces.json');
    if (existsSync(this.file)) {
      const saved = JSON.parse(readFileSync(this.file, 'utf8')) as {
        height: number;
        next: Record<string, number>;
      };
      this.scannedHeight = saved.height;
      for (const [key, value] of Object.entries(saved.next)) this.next.set(key, value);
    }
  }

  nonceOf(signer: string): number {
    return this.next.get(signer) ?? 0;
  }

  committed(signer: string, nonce: number): void {
    this.next.set(signer, Math.max(this.nonceOf(signer), nonce + 1));
  }

  /** Reads the blocks committed since the last scan; blocks are final, so the book only grows. */
  async scan(url: string, signers: ReadonlySet<string>): Promise<void> {
    const head = (await fetchStatus(url)).height;
    for (let height = this.scannedHeight + 1; height <= head; height++) {
      const block = await fetchBlock(url, height);
      block.txs.forEach((tx, index) => {
        if (signers.has(tx.signer) && block.receipts[index]?.code !== 'bad-nonce')
          this.committed(tx.signer, tx.nonce);
      });
      this.scannedHeight = height;
    }
    writeFileSync(
      this.file,
      JSON.stringify({ height: this.scannedHeight, next: Object.fromEntries(this.next) }),
    );
  }
}

/** Each organisation enrols a patient, then anchors records for it, one at a time, until `signal`. */
async function runAnchorTrickle(options: {
  chainId: string;
  nodes: readonly LocalNode[];
  keyPairs: readonly Ed25519KeyPair[];
  book: NonceBook;
  signal: AbortSignal;
  onAnchored: () => void;
}): Promise<void> {
  const { chainId, nodes, keyPairs, book, signal } = options;
  const signers = new Set(nodes.map((node) => node.nodeKey));
  const url = (node: LocalNode) => `http://127.0.0.1:${node.httpPort}`;
  while (!signal.aborted) {
    try {
      await book.scan(url(nodes[0]!), signers);
      break;
    } catch {
      await sleep(demoLimits.retryPauseMs, signal);
    }
  }
  await Promise.all(
    nodes.map(async (node, index) => {
      const keyPair = keyPairs[index]!;
      let patientId: Uint8Array | null = null;
      while (!signal.aborted) {
        const nonce = book.nonceOf(node.nodeKey);
        const enrol: (SignedTransaction & { patientId: Uint8Array }) | null =
          patientId === null ? makeEnrolPatient({ chainId, keyPair, nonce }) : null;
        const tx =
          enrol ??
          makeAnchorRecord({ chainId, keyPair, nonce, orgId: node.orgId, patientId: patientId! });
        try {
          const answer = await submitEncoded(url(node), tx.encoded, { wait: true });
          if (answer.status === 200) {
            book.committed(node.nodeKey, nonce);
            const ok = (answer.body.receipt as { ok?: boolean } | undefined)?.ok === true;
            if (enrol !== null && ok) patientId = enrol.patientId;
            if (enrol === null && ok) options.onAnchored();
            await sleep(demoLimits.anchorPauseMs, signal);
            continue;
          }
          // Not committed in time, refused or busy: learn the nonce from the chain and retry.
          await sleep(demoLimits.retryPauseMs * (answer.retryAfterSeconds ?? 1), signal);
          await book.scan(url(node), signers);
        } catch {
          // The node is restarting or stopping: wait and try again.
          await sleep(demoLimits.retryPauseMs, signal);
        }
      }
    }),
  );
}

/** Runs the demo until SIGINT/SIGTERM (or `durationSeconds`), then stops every node. */
export async function runDemoNetwork(options: {
  data: string;
  nodeCount: number | undefined;
  fresh: boolean;
  durationSeconds: number | undefined;
  print: (line: string) => void;
  live: (line: string) => void;
}): Promise<void> {
  const { print } = options;
  const dir = resolve(options.data);
  const { manifest, nodes, created } = await prepareDemoFolder({
    dir,
    nodeCount: options.nodeCount,
    fresh: options.fresh,
    print,
  });
  if (!created) print(`resuming the demo network in ${dir} (chain ${manifest.chainId})`);
  const keyPairs = await Promise.all(nodes.map((node) => loadEd25519KeyFile(node.keyFile)));
  for (const [index, node] of nodes.entries()) {
    if (
      Buffer.from(keyPairs[index]!.publicKey).toString('hex') !== node.nodeKey ||
      fromHex(node.nodeKey).length !== 32
    ) {
      throw new MedLedgerError(
        'bad-demo-folder',
        `${node.keyFile} does not hold the key of ${node.orgId} in ${demoMarkerFile}; pass --fresh`,
      );
    }
  }
  const processes = nodes.map(
    (node) =>
      new NodeProcess({
        configFile: node.configFile,
        logFile: node.logFile,
        httpPort: node.httpPort,
      }),
  );
  const stopAll = () => Promise.all(processes.map((p) => p.stop()));
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    print(`starting ${nodes.length} node processes…`);
    try {
      await Promise.all(processes.map((p) => p.start()));
    } catch (error) {
      await stopAll();
      throw error;
    }
    for (const [index, node] of nodes.entries()) {
      print(
        `  ${node.orgId.padEnd(20)} ${processes[index]!.url}   (pid ${processes[index]!.pid}, log ${node.logFile})`,
      );
    }
    print('try: medledger status --url ' + processes[0]!.url);
    print(
      'Ctrl-C stops every node; run the demo again to resume this chain (--fresh starts afresh).',
    );
    if (options.durationSeconds !== undefined)
      setTimeout(() => stop.abort(), options.durationSeconds * 1000).unref();
    let anchored = 0;
    const book = new NonceBook(dir);
    const trickle = runAnchorTrickle({
      chainId: manifest.chainId,
      nodes,
      keyPairs,
      book,
      signal: stop.signal,
      onAnchored: () => anchored++,
    });
    let died: string | null = null;
    const live = (async () => {
      while (!stop.signal.aborted) {
        const dead = processes.findIndex((p) => !p.isRunning);
        if (dead >= 0) {
          const node = nodes[dead]!;
          died = `node ${node.orgId} exited by itself; the end of ${node.logFile}:\n${tailOfFile(node.logFile, 10)}`;
          stop.abort();
          break;
        }
        const heights = await Promise.all(
          processes.map((p) =>
            fetchStatus(p.url).then(
              (s) => String(s.height),
              () => 'down',
            ),
          ),
        );
        options.live(
          `heights ${nodes.map((n, i) => `${n.orgId} ${heights[i]}`).join(' · ')} · anchors this run ${anchored}`,
        );
        await sleep(demoLimits.liveLineIntervalMs, stop.signal);
      }
    })();
    await Promise.all([trickle, live]);
    print('');
    if (died !== null) print(died);
    print('stopping the nodes…');
    const codes = await stopAll();
    print(`stopped (exit codes ${codes.join(', ')}); data kept in ${dir}`);
    if (died !== null || codes.some((code) => code !== 0)) {
      throw new MedLedgerError(
        'node-failed',
        `a node did not stop cleanly (exit codes ${codes.join(', ')}); see the node.log files in ${dir}`,
      );
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  }
}
