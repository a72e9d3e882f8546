// Checks head gossip on a real node over real TLS links: it sends its signed head; a conflicting head signed by the validator is a fork (log, /metrics, 0600 file); a forged one gets the peer cut.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { pino } from 'pino';

import { fromHex, toHex } from '../../src/base/index.ts';
import { type BlockHeader, blockHash, makeCommit } from '../../src/chain/index.ts';
import { createLocalNetwork } from '../../src/cli/index.ts';
import { type Ed25519KeyPair } from '../../src/crypto/index.ts';
import {
  NodeChannel,
  type RunningNode,
  createNodeLogger,
  loadNodeConfig,
  startNode,
} from '../../src/node/index.ts';
import { HeadGossipSchema } from '../../src/node/wire.ts';
import { type PeerNetwork, startPeerNetwork } from '../../src/p2p/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'medledger-head-gossip-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const chainId = 'medledger-head-gossip-test';

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A signed head for `header`, committed by `signer` as validator 0. */
function signedHead(header: BlockHeader, signer: Ed25519KeyPair): Uint8Array {
  const commit = makeCommit({
    chainId,
    height: header.height,
    round: 0,
    blockHash: blockHash(header),
    signers: [{ validatorIndex: 0, keyPair: signer }],
  });
  return HeadGossipSchema.encode({ header, commit });
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((entry) => entry.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

test('a node sends its signed head, and counts and saves a conflicting signed head as a fork', async () => {
  // One validator (it commits alone) and a member without a validator's power: the peer.
  const network = await createLocalNetwork({
    dir,
    chainId,
    organisations: ['hospital', 'intruder'].map((orgId) => ({ orgId, roles: ['clinic'] })),
    validatorCount: 1,
    genesisTime: Date.now() - 1000,
    logLevel: 'silent',
  });
  const validator = network.nodes[0]!;
  const validatorKey = network.keyPairs[0]!;
  const intruderKey = network.keyPairs[1]!;
  const logLines: string[] = [];
  const node: RunningNode = await startNode(loadNodeConfig(validator.configFile), {
    logger: createNodeLogger({
      level: 'warn',
      name: 'hospital',
      destination: { write: (line: string) => void logLines.push(line) },
    }),
  });
  const heads: { header: BlockHeader }[] = [];
  const downs: string[] = [];
  let peer: PeerNetwork | null = null;
  try {
    await until('two blocks', () => node.status().height >= 2);
    peer = await startPeerNetwork({
      chainId,
      keyPair: intruderKey,
      listen: { host: '127.0.0.1', port: 0 },
      peers: [
        { publicKey: fromHex(validator.nodeKey), host: '127.0.0.1', port: validator.p2pPort },
      ],
      isAllowedPeer: () => true,
      logger: pino({ level: 'silent' }),
      limits: { reconnectDelayMinMs: 60_000, reconnectDelayMaxMs: 60_000 },
      onFrame: (_from, channel, payload) => {
        if (channel === NodeChannel.heads) heads.push(HeadGossipSchema.decode(payload));
      },
      onPeerDown: (_from, reason) => downs.push(reason),
    });
    const linked = (): boolean => peer!.peers().some((p) => p.id === validator.nodeKey);
    await until('the peer links to the node', linked);

    // The node's own head arrives within the gossip interval, certified, of a committed block.
    await until('a head from the node', () => heads.length > 0, 10_000);
    const sent = heads[0]!.header;
    assert.equal(toHex(blockHash(sent)), toHex(node.loadBlock(sent.height)!.hash));

    // Its own head back: nothing happens.
    const own = node.loadBlock(1)!;
    assert.ok(
      peer.send(
        validator.nodeKey,
        NodeChannel.heads,
        HeadGossipSchema.encode({ header: own.block.header, commit: own.commit }),
      ),
    );
    await sleep(1_200);
    assert.ok(linked(), 'its own head does not get the peer cut');
    assert.equal(metric(await node.metricsText(), 'medledger_fork_detected_total'), 0);

    // Another block at height 1, committed by the validator's real key: a fork.
    const conflicting: BlockHeader = { ...own.block.header, time: own.block.header.time + 1 };
    assert.ok(
      peer.send(validator.nodeKey, NodeChannel.heads, signedHead(conflicting, validatorKey)),
    );
    await until('the fork counted', () =>
      logLines.some((line) => line.includes('FORK: a peer holds another block')),
    );
    assert.equal(metric(await node.metricsText(), 'medledger_fork_detected_total'), 1);
    const log = JSON.parse(logLines.find((line) => line.includes('FORK'))!) as Record<
      string,
      unknown
    >;
    assert.equal(log.height, 1);
    assert.equal(log.level, 50, 'logged at error level');
    const file = join(validator.dataDir, 'evidence', 'fork-1-1.json');
    await until('the evidence file', () => logLines.some((l) => l.includes('fork evidence saved')));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const evidence = JSON.parse(readFileSync(file, 'utf8')) as {
      height: number;
      own: { blockHash: string; header: string; commit: string };
      peer: { blockHash: string; header: string; nodeKey: string };
    };
    assert.equal(evidence.height, 1);
    assert.equal(evidence.own.blockHash, toHex(own.hash));
    assert.equal(evidence.peer.blockHash, toHex(blockHash(conflicting)));
    assert.equal(evidence.peer.nodeKey, toHex(intruderKey.publicKey));
    assert.ok(linked(), 'a fork is evidence, not a reason to cut the link');

    // The same head again is not counted twice.
    await sleep(1_200);
    peer.send(validator.nodeKey, NodeChannel.heads, signedHead(conflicting, validatorKey));
    await sleep(300);
    assert.equal(metric(await node.metricsText(), 'medledger_fork_detected_total'), 1);

    // Invalid twin: another block whose commit the peer signed itself: the peer is cut.
    await sleep(1_200);
    const forged: BlockHeader = { ...own.block.header, time: own.block.header.time + 2 };
    peer.send(validator.nodeKey, NodeChannel.heads, signedHead(forged, intruderKey));
    await until('the forger is cut', () => !linked());
    const metrics = await node.metricsText();
    assert.equal(metric(metrics, 'medledger_fork_detected_total'), 1);
    assert.equal(metric(metrics, 'medledger_peer_disconnects_total'), 1);
    assert.ok(downs.length >= 1);
    assert.ok(node.status().height >= 2, 'the node runs on');
  } finally {
    await peer?.stop();
    await node.stop();
  }
});
