// Checks that a running four-validator network shrugs off a hostile member peer over real TLS
// links: a forged vote and a gossiped transaction with a bad signature each get the peer cut; raw bytes of a recorded link replayed on a new connection are
// refused by TLS; the validators keep committing throughout.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { pino } from 'pino';

import { fromHex } from '../../src/base/index.ts';
import { signVote } from '../../src/chain/index.ts';
import { createLocalNetwork, makeEnrolPatient } from '../../src/cli/index.ts';
import { encodeConsensusMessage } from '../../src/consensus/index.ts';
import { type PeerNetwork, startPeerNetwork } from '../../src/p2p/index.ts';
import {
  NodeChannel,
  type RunningNode,
  createNodeLogger,
  loadNodeConfig,
  startNode,
} from '../../src/node/index.ts';
import { TxGossipSchema } from '../../src/node/wire.ts';

const dir = mkdtempSync(join(tmpdir(), 'medledger-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const chainId = 'medledger-hostile-test';

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A TCP relay to `port` that records what the client sent. */
function recordingRelay(port: number): Promise<{ server: Server; port: number; sent: Buffer[] }> {
  const sent: Buffer[] = [];
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.push(client, upstream);
    client.on('data', (chunk: Buffer) => {
      sent.push(Buffer.from(chunk));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  server.on('close', () => sockets.forEach((socket) => socket.destroy()));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      resolve({ server, port: address.port, sent });
    }),
  );
}

test('a hostile member peer is cut for forged or invalid data; replayed bytes are refused', async () => {
  const network = await createLocalNetwork({
    dir,
    chainId,
    organisations: ['hospital', 'clinic', 'laboratory', 'payer', 'intruder'].map((orgId) => ({
      orgId,
      roles: ['clinic'],
    })),
    validatorCount: 4,
    genesisTime: Date.now() - 1000,
    logLevel: 'silent',
  });
  const validators = network.nodes.slice(0, 4);
  const nodes: RunningNode[] = await Promise.all(
    validators.map((node) =>
      startNode(loadNodeConfig(node.configFile), {
        logger: createNodeLogger({ level: 'silent', name: node.orgId }),
      }),
    ),
  );
  // The intruder is a member (its key may open links) but not a validator.
  const intruderKey = network.keyPairs[4]!;
  const target = validators[0]!;
  const relay = await recordingRelay(target.p2pPort);
  const downs: string[] = [];
  let hostile: PeerNetwork | null = null;
  try {
    await until('the validators link up', () => nodes.every((n) => n.status().peers.length >= 3));
    hostile = await startPeerNetwork({
      chainId,
      keyPair: intruderKey,
      listen: { host: '127.0.0.1', port: 0 },
      peers: [{ publicKey: fromHex(target.nodeKey), host: '127.0.0.1', port: relay.port }],
      isAllowedPeer: () => true,
      logger: pino({ level: 'silent' }),
      limits: { reconnectDelayMinMs: 60_000, reconnectDelayMaxMs: 60_000 },
      onFrame: () => undefined,
      onPeerDown: (_peer, reason) => downs.push(reason),
    });
    const targetId = target.nodeKey;
    const linked = (): boolean => hostile!.peers().some((peer) => peer.id === targetId);
    await until('the intruder links to the validator', linked);
    const heightBefore = nodes[0]!.status().height;

    // 1. A vote claiming to be validator 0's, signed with the intruder's key.
    const forged = signVote({
      chainId,
      vote: {
        type: 'prevote',
        height: nodes[0]!.status().height + 1,
        round: 0,
        blockHash: null,
        validatorIndex: 0,
      },
      keyPair: intruderKey,
    });
    assert.equal(
      hostile.send(
        targetId,
        NodeChannel.consensus,
        encodeConsensusMessage({ kind: 'vote', vote: forged }),
      ),
      true,
    );
    await until('the forger is cut', () => !linked());
    assert.equal(nodes[0]!.status().peers.length, 3, 'the honest links stay');

    // 2. Raw bytes of the recorded link, replayed on a fresh connection: TLS refuses them.
    const replay = connect(target.p2pPort, '127.0.0.1');
    const closed = new Promise<void>((resolve) => replay.on('close', () => resolve()));
    replay.on('error', () => undefined);
    // Read what the server answers: a paused socket would never see the server's close.
    replay.resume();
    replay.on('connect', () => replay.write(Buffer.concat(relay.sent)));
    await closed;
    assert.equal(nodes[0]!.status().peers.length, 3);
    assert.ok(
      !nodes[0]!
        .status()
        .peers.some((peer) => peer.id === Buffer.from(intruderKey.publicKey).toString('hex')),
      'the replayed bytes opened no link',
    );

    // The network went on committing through all of it.
    await until('a few more blocks', () =>
      nodes.every((n) => n.status().height >= heightBefore + 2),
    );
    assert.ok(downs.length >= 1);

    // 3. A gossiped transaction whose signature was altered, through a validator that admits
    //    the intruder again (a fresh node process has no penalty on record).
    const tampered = makeEnrolPatient({ chainId, keyPair: intruderKey, nonce: 0 }).encoded.slice();
    tampered[tampered.length - 1]! ^= 1;
    await nodes[1]!.stop();
    nodes[1] = await startNode(loadNodeConfig(validators[1]!.configFile), {
      logger: createNodeLogger({ level: 'silent', name: 'clinic' }),
    });
    await hostile.stop();
    const downsAgain: string[] = [];
    hostile = await startPeerNetwork({
      chainId,
      keyPair: intruderKey,
      listen: { host: '127.0.0.1', port: 0 },
      peers: [
        {
          publicKey: fromHex(validators[1]!.nodeKey),
          host: '127.0.0.1',
          port: validators[1]!.p2pPort,
        },
      ],
      isAllowedPeer: () => true,
      logger: pino({ level: 'silent' }),
      limits: { reconnectDelayMinMs: 60_000, reconnectDelayMaxMs: 60_000 },
      onFrame: () => undefined,
      onPeerDown: (_peer, reason) => downsAgain.push(reason),
    });
    const clinicId = validators[1]!.nodeKey;
    await until('the intruder links to the restarted validator', () =>
      hostile!.peers().some((peer) => peer.id === clinicId),
    );
    hostile.send(clinicId, NodeChannel.transactions, TxGossipSchema.encode([tampered]));
    await until('the gossiper is cut', () => !hostile!.peers().some((p) => p.id === clinicId));
    assert.equal(nodes[1].status().mempoolSize, 0, 'nothing was admitted');

    // Everyone links up again and commits.
    await until('the restarted validator rejoins', () => nodes[1]!.status().peers.length >= 3);
    const height = Math.max(...nodes.map((n) => n.status().height));
    await until('all four commit again', () => nodes.every((n) => n.status().height >= height + 2));
  } finally {
    await hostile?.stop();
    relay.server.close();
    await Promise.all(nodes.map((node) => node.stop()));
  }
});
