/**
 * `medledger demo` (`npm start`): four organisations — a hospital, a clinic, a laboratory and a
 * payer — each run a validator node as its own OS process on 127.0.0.1. The first run creates
 * their keys, the genesis document and one configuration per node in the demo folder (ports
 * chosen once and remembered); later runs resume the same chain; `--fresh` starts afresh. A new
 * demo is seeded once its nodes are up: synthetic practitioners, patients, records and consents,
 * and `users.json` for `medledger demo token` (demo-seed.ts, decision 0057). A live line shows
 * every node's height and the transactions committed. Ctrl-C stops every node cleanly.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { MedLedgerError, fromHex } from '../base/index.ts';
import { loadEd25519KeyFile } from '../keys/index.ts';
import type { OrganisationKind } from '../synthetic/index.ts';
import { DemoSeedStopped, seedDemo } from './demo-seed.ts';
import { demoUsersFile } from './demo-users.ts';
import {
  type LocalNode,
  type LocalOrganisation,
  createLocalNetwork,
  writeJsonFile,
} from './network-files.ts';
import { fetchStatus } from './node-client.ts';
import { NodeProcess, tailOfFile } from './node-process.ts';

/** The marker file of a demo folder: `--fresh` deletes only folders that hold it. */
export const demoMarkerFile = 'demo.json';
const demoKind = 'medledger-demo';

/** The demo's tunable numbers. */
export const demoLimits = {
  /** Most nodes `--nodes` accepts. */
  nodesMax: 10,
  /** How often the live line is refreshed, in milliseconds. */
  liveLineIntervalMs: 1_000,
  /** How often the live line is printed when stdout is not a terminal, in milliseconds. */
  liveLinePlainIntervalMs: 5_000,
  /**
   * Before stopping, how long the nodes get to commit what they still hold (the records
   * service's queued audit events, sent every 200 ms), in milliseconds.
   */
  settleWaitMaxMs: 5_000,
  /** Pause between two looks at the nodes' mempools while they settle, in milliseconds. */
  settlePollMs: 250,
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

/** The kind of a demo organisation (its role in the genesis document), by its index. */
function kindOf(index: number, count: number): OrganisationKind {
  return (organisationsFor(count)[index]?.roles[0] ?? 'hospital') as OrganisationKind;
}

/**
 * Seeds a new demo while its nodes run; the progress goes to the live line. Resolves with null
 * when done or stopped by Ctrl-C, or with what failed.
 */
async function runSeeding(input: {
  dir: string;
  chainId: string;
  nodes: readonly LocalNode[];
  processes: readonly NodeProcess[];
  options: { data: string; print: (line: string) => void; live: (line: string) => void };
  stop: AbortController;
}): Promise<string | null> {
  const { dir, nodes, processes, options } = input;
  const started = Date.now();
  try {
    const counts = await seedDemo({
      dir,
      chainId: input.chainId,
      nodes: nodes.map((node, index) => ({
        orgId: node.orgId,
        kind: kindOf(index, nodes.length),
        url: processes[index]!.url,
        keyFile: node.keyFile,
        dataDir: node.dataDir,
      })),
      progress: options.live,
      signal: input.stop.signal,
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    options.print(
      `seeded: ${counts.patients} patients, ${counts.records} records, ${counts.consents} consents in ${seconds} s; users in ${join(dir, demoUsersFile)}`,
    );
    options.print(
      `sign in: medledger demo users --data ${options.data} lists them; medledger demo token <user> --data ${options.data} prints a bearer token`,
    );
    return null;
  } catch (error) {
    if (error instanceof DemoSeedStopped) {
      options.print('seeding stopped before it finished; --fresh starts a new, seeded demo');
      return null;
    }
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Waits (bounded) until no node holds uncommitted transactions, twice in a row. A node's records
 * service commits its queued audit events when it stops, which needs a quorum of the others:
 * stopping all nodes while one still has some can hold that node until it is killed.
 */
async function settle(processes: readonly NodeProcess[]): Promise<void> {
  const deadline = Date.now() + demoLimits.settleWaitMaxMs;
  let quiet = 0;
  while (quiet < 2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, demoLimits.settlePollMs));
    const statuses = await Promise.all(processes.map((p) => fetchStatus(p.url).catch(() => null)));
    quiet = statuses.every((status) => status !== null && status.mempoolSize === 0) ? quiet + 1 : 0;
  }
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
        // The web app's sign-in for the seeded users (decision 0075): demo nodes only.
        extraArgs: ['--demo-sign-in', dir],
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
    if (!created && !existsSync(join(dir, demoUsersFile))) {
      print(
        `note: this demo was never seeded (its first run stopped before seeding finished), so it has no users; --fresh starts a seeded one`,
      );
    }
    // Written by the seeding's promise, read by the live line and after the stop.
    const seeding: { running: boolean; failure: string | null } = {
      running: created,
      failure: null,
    };
    const seed = created
      ? runSeeding({ dir, chainId: manifest.chainId, nodes, processes, options, stop }).then(
          (failure) => {
            seeding.failure = failure;
            seeding.running = false;
            if (failure !== null) stop.abort();
          },
        )
      : Promise.resolve();
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
        if (!seeding.running) {
          const statuses = await Promise.all(
            processes.map((p) => fetchStatus(p.url).catch(() => null)),
          );
          const transactions = Math.max(0, ...statuses.map((status) => status?.logSize ?? 0));
          options.live(
            `heights ${nodes.map((n, i) => `${n.orgId} ${statuses[i]?.height ?? 'down'}`).join(' · ')} · transactions ${transactions}`,
          );
        }
        await sleep(demoLimits.liveLineIntervalMs, stop.signal);
      }
    })();
    await Promise.all([seed, live]);
    if (died !== null) print(died);
    else await settle(processes);
    print('stopping the nodes…');
    const codes = await stopAll();
    print(`stopped (exit codes ${codes.join(', ')}); data kept in ${dir}`);
    if (seeding.failure !== null && died === null) {
      throw new MedLedgerError(
        'seed-failed',
        `seeding the demo failed: ${seeding.failure}; the nodes were stopped; start a new demo with --fresh`,
      );
    }
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
