/**
 * The files of a local network on 127.0.0.1, as `medledger demo` and the network tests make it:
 * one folder per organisation with its node key (mode 0600), its configuration and its data
 * folder, and one genesis document that lists every organisation as a member (and the first
 * `validatorCount` as validators of power 1). Every node dials every other node.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import { toHex } from '../base/index.ts';
import {
  type GenesisDocument,
  defaultNetworkPolicy,
  parseGenesisDocument,
} from '../contracts/index.ts';
import type { Ed25519KeyPair } from '../crypto/index.ts';
import { generateEd25519KeyPair, saveKeyFile } from '../keys/index.ts';
import { nodeLimits } from '../node/index.ts';

/** The loopback address every local network uses. */
export const localHost = '127.0.0.1';

/** One organisation of a local network. */
export interface LocalOrganisation {
  /** Organisation id (`st-mary-hospital`), also its folder name. */
  readonly orgId: string;
  /** Role codes in the genesis document (`hospital`). */
  readonly roles: readonly string[];
}

/** A node of a local network, as written to disk. */
export interface LocalNode {
  readonly orgId: string;
  readonly nodeKey: string;
  readonly keyFile: string;
  readonly configFile: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly httpPort: number;
  readonly p2pPort: number;
  readonly isValidator: boolean;
}

/** Ports that were free a moment ago: the kernel picks each (port 0), then the socket closes. */
export async function findFreePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, localHost, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP port bound');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** A genesis document for `members` (node keys in hex), validated with `parseGenesisDocument`. */
export function makeGenesisDocument(options: {
  chainId: string;
  genesisTime: number;
  members: readonly { orgId: string; nodeKey: string; roles: readonly string[]; power: number }[];
}): GenesisDocument {
  return parseGenesisDocument({
    chainId: options.chainId,
    genesisTime: options.genesisTime,
    members: options.members.map((m) => ({
      orgId: m.orgId,
      nodeKey: m.nodeKey,
      roles: [...m.roles],
    })),
    validators: options.members
      .filter((m) => m.power > 0)
      .map((m) => ({ nodeKey: m.nodeKey, power: m.power })),
    policy: { ...defaultNetworkPolicy },
  });
}

/** Writes `value` as pretty JSON (a new file, mode 0644). */
export function writeJsonFile(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o644 });
}

/**
 * Verifier threads per node when `nodeCount` nodes share this machine: its cores shared out, at
 * least one each. Each thread is a V8 isolate (about 15 MB); more threads than cores only add
 * memory (decision 0046).
 */
export function localVerifyThreads(nodeCount: number): number {
  if (!Number.isInteger(nodeCount) || nodeCount < 1) {
    throw new RangeError(
      `localVerifyThreads: expected a whole number of nodes of at least 1, found ${nodeCount}`,
    );
  }
  return Math.max(
    1,
    Math.min(nodeLimits.verifyThreadsDefaultMax, Math.floor(availableParallelism() / nodeCount)),
  );
}

/** The configuration JSON of a node of a local network. */
export function localNodeConfig(options: {
  node: Pick<LocalNode, 'orgId' | 'httpPort' | 'p2pPort'>;
  peers: readonly Pick<LocalNode, 'nodeKey' | 'p2pPort'>[];
  logLevel: string;
  /** Signature verifier threads (see `localVerifyThreads`). */
  verifyThreads: number;
}) {
  return {
    genesisFile: '../genesis.json',
    keyFile: 'node.key',
    dataDir: 'data',
    p2p: { host: localHost, port: options.node.p2pPort },
    http: { host: localHost, port: options.node.httpPort },
    peers: options.peers.map((peer) => ({
      publicKey: peer.nodeKey,
      host: localHost,
      port: peer.p2pPort,
    })),
    logLevel: options.logLevel,
    verifyThreads: options.verifyThreads,
  };
}

/**
 * Creates the files of a local network in `dir` (which must exist): keys, `genesis.json`, and a
 * configuration per node with fresh ports. Returns the nodes and their key pairs.
 */
export async function createLocalNetwork(options: {
  dir: string;
  chainId: string;
  organisations: readonly LocalOrganisation[];
  validatorCount: number;
  genesisTime: number;
  logLevel: string;
  /** Members without a node (e.g. a load generator's signing organisations), not validators. */
  extraMembers?: readonly { orgId: string; nodeKey: string; roles: readonly string[] }[];
}): Promise<{ nodes: LocalNode[]; keyPairs: Ed25519KeyPair[]; genesis: GenesisDocument }> {
  const { dir, organisations } = options;
  const ports = await findFreePorts(organisations.length * 2);
  const keyPairs = organisations.map(() => generateEd25519KeyPair());
  const nodes: LocalNode[] = organisations.map((organisation, index) => {
    const folder = join(dir, organisation.orgId);
    return {
      orgId: organisation.orgId,
      nodeKey: toHex(keyPairs[index]!.publicKey),
      keyFile: join(folder, 'node.key'),
      configFile: join(folder, 'config.json'),
      dataDir: join(folder, 'data'),
      logFile: join(folder, 'node.log'),
      httpPort: ports[index * 2]!,
      p2pPort: ports[index * 2 + 1]!,
      isValidator: index < options.validatorCount,
    };
  });
  for (const [index, node] of nodes.entries()) {
    await saveKeyFile({
      path: node.keyFile,
      key: { kind: 'ed25519', seed: keyPairs[index]!.seed },
    });
  }
  const genesis = makeGenesisDocument({
    chainId: options.chainId,
    genesisTime: options.genesisTime,
    members: nodes
      .map((node, index) => ({
        orgId: node.orgId,
        nodeKey: node.nodeKey,
        roles: organisations[index]!.roles,
        power: node.isValidator ? 1 : 0,
      }))
      .concat((options.extraMembers ?? []).map((member) => ({ ...member, power: 0 }))),
  });
  writeJsonFile(join(dir, 'genesis.json'), genesis);
  for (const node of nodes) {
    writeJsonFile(
      node.configFile,
      localNodeConfig({
        node,
        peers: nodes.filter((peer) => peer !== node),
        logLevel: options.logLevel,
        verifyThreads: localVerifyThreads(nodes.length),
      }),
    );
  }
  return { nodes, keyPairs, genesis };
}
