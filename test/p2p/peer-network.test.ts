// Checks PeerNetwork with 2–4 real networks on 127.0.0.1 in one process: all-to-all links, order per peer, broadcast, restart, pause/resume, duplicate links, queue bound, frame limit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

import { compareBytes } from '../../src/base/index.ts';
import { FrameDecoder } from '../../src/p2p/frame.ts';
import { PeerError, PeerErrorCode, p2pLimits, startPeerNetwork } from '../../src/p2p/index.ts';
import {
  type TestNode,
  MemoryLogger,
  connectRogue,
  freePort,
  keyPairOf,
  numberedPayload,
  sequenceOf,
  startTestNode,
  testChainId,
  waitUntil,
} from './helpers.ts';

/** Starts `count` nodes, node i dialling nodes 0…i−1, and waits until every pair is linked. */
async function startMesh(count: number, firstIndex = 0): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(
      await startTestNode({ index: firstIndex + i, peers: nodes.map((node) => node.address()) }),
    );
  }
  await waitUntil(
    () => nodes.every((node) => node.upNow.size === count - 1),
    'every node linked to every other',
  );
  return nodes;
}

async function stopAll(nodes: readonly TestNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.network.stop()));
}

test('four networks link all to all; frames arrive in order per peer; broadcast reaches all', async () => {
  const nodes = await startMesh(4);
  try {
    for (const node of nodes) {
      const infos = node.network.peers();
      assert.equal(infos.length, 3);
      assert.deepEqual(
        infos.map((info) => info.id).sort(),
        nodes
          .filter((other) => other !== node)
          .map((other) => other.id)
          .sort(),
      );
    }
    const framesPerPair = 300;
    for (let sequence = 0; sequence < framesPerPair; sequence++) {
      for (const from of nodes) {
        for (const to of nodes) {
          if (to === from) continue;
          assert.equal(
            from.network.send(to.id, 2, numberedPayload(sequence, 1 + (sequence % 700))),
            true,
          );
        }
      }
      if (sequence % 50 === 0) await yieldToLoop();
    }
    await waitUntil(
      () => nodes.every((node) => node.received.length === 3 * framesPerPair),
      'every frame delivered',
    );
    for (const to of nodes) {
      for (const from of nodes) {
        if (from === to) continue;
        const sequences = to.received
          .filter((frame) => frame.from === from.id)
          .map((frame) => {
            assert.equal(frame.channel, 2);
            assert.equal(frame.payload.length, Math.max(4, 1 + (sequenceOf(frame.payload) % 700)));
            return sequenceOf(frame.payload);
          });
        assert.deepEqual(
          sequences,
          Array.from({ length: framesPerPair }, (_, i) => i),
        );
      }
    }
    assert.equal(nodes[0]!.network.broadcast(1, Uint8Array.of(7, 7, 7)), 3);
    await waitUntil(
      () => nodes.slice(1).every((node) => node.received.some((frame) => frame.channel === 1)),
      'the broadcast delivered',
    );
    for (const node of nodes.slice(1)) {
      const frame = node.received.find((each) => each.channel === 1)!;
      assert.equal(frame.from, nodes[0]!.id);
      assert.deepEqual(frame.payload, Uint8Array.of(7, 7, 7));
    }
    const info = nodes[0]!.network.peers().find((each) => each.id === nodes[1]!.id)!;
    assert.equal(info.framesOut, framesPerPair + 1);
    assert.equal(info.framesIn, framesPerPair);
  } finally {
    await stopAll(nodes);
  }
});

test('send refuses an unknown peer, channel 0, a channel over 255 and an oversized payload', async () => {
  const nodes = await startMesh(2, 10);
  try {
    const [a, b] = nodes as [TestNode, TestNode];
    assert.equal(a.network.send('00'.repeat(32), 1, Uint8Array.of(1)), false);
    assert.equal(a.network.send(b.id, 255, Uint8Array.of(1)), true);
    for (const channel of [0, 256, -1, 1.5]) {
      assert.throws(
        () => a.network.send(b.id, channel, Uint8Array.of(1)),
        (error: unknown) =>
          error instanceof PeerError && error.code === PeerErrorCode.invalidChannel,
      );
    }
    const largest = new Uint8Array(p2pLimits.frameBytesMax - 1);
    assert.equal(a.network.send(b.id, 3, largest), true);
    assert.throws(
      () => a.network.broadcast(3, new Uint8Array(p2pLimits.frameBytesMax)),
      (error: unknown) =>
        error instanceof PeerError &&
        error.code === PeerErrorCode.payloadTooLarge &&
        error.message.includes(`expected at most ${p2pLimits.frameBytesMax - 1} bytes`),
    );
    await waitUntil(() => b.received.length === 2, 'the largest frame delivered');
    assert.equal(b.received[1]!.payload.length, p2pLimits.frameBytesMax - 1);
  } finally {
    await stopAll(nodes);
  }
});

test('a stopped network is noticed, and redialled when it comes back on the same port', async () => {
  const nodes = await startMesh(3, 20);
  const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
  let restarted: TestNode | undefined;
  try {
    // b and c dialled a (a was started first); a is stopped and comes back with no peers of its
    // own, so only their redialling can link it again.
    const port = a.network.address.port;
    await a.network.stop();
    assert.equal(a.network.peers().length, 0);
    await waitUntil(() => !b.upNow.has(a.id) && !c.upNow.has(a.id), 'a reported down');
    assert.ok(
      b.downs.some((down) => down.peer === a.id && down.reason.startsWith('connection-closed')),
    );
    assert.equal(b.network.send(a.id, 1, Uint8Array.of(1)), false);
    assert.ok(b.upNow.has(c.id) && c.upNow.has(b.id), 'the link b–c was not touched');
    restarted = await startTestNode({ index: 20, port });
    await waitUntil(
      () => b.upNow.has(a.id) && c.upNow.has(a.id) && restarted!.upNow.size === 2,
      'a linked again',
    );
    assert.equal(b.network.send(a.id, 4, Uint8Array.of(42)), true);
    await waitUntil(() => restarted!.received.length === 1, 'a frame to the restarted a');
    assert.equal(restarted.received[0]!.from, b.id);
  } finally {
    await stopAll([b, c, ...(restarted === undefined ? [] : [restarted])]);
  }
});

test('pause closes every link and refuses inbound ones; resume brings them back', async () => {
  const nodes = await startMesh(3, 30);
  const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
  try {
    b.network.pause();
    await waitUntil(
      () => b.upNow.size === 0 && !a.upNow.has(b.id) && !c.upNow.has(b.id),
      'b cut off from both',
    );
    assert.equal(b.network.peers().length, 0);
    assert.equal(b.network.send(a.id, 1, Uint8Array.of(1)), false);
    assert.equal(b.network.broadcast(1, Uint8Array.of(1)), 0);
    // c dialled b (b was started before c); c keeps trying and b keeps refusing.
    const failedBefore = c.logger.lines.filter((line) => line.message === 'dial failed').length;
    await waitUntil(
      () =>
        c.logger.lines.filter((line) => line.message === 'dial failed').length >= failedBefore + 2,
      'c tried b twice more while b was paused',
    );
    assert.equal(b.upNow.size, 0);
    assert.ok(a.upNow.has(c.id) && c.upNow.has(a.id), 'the link a–c was not touched');
    b.network.resume();
    await waitUntil(
      () => b.upNow.size === 2 && a.upNow.has(b.id) && c.upNow.has(b.id),
      'b linked again',
    );
    assert.equal(b.network.send(a.id, 1, Uint8Array.of(5)), true);
    await waitUntil(
      () => a.received.some((frame) => frame.from === b.id),
      'a frame from b after resume',
    );
  } finally {
    await stopAll(nodes);
  }
});

test('when both sides dial each other, exactly one link survives: the one dialled by the lower key', async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  const keyA = keyPairOf(40);
  const keyB = keyPairOf(41);
  const a = await startTestNode({
    index: 40,
    port: portA,
    peers: [{ publicKey: keyB.publicKey, host: '127.0.0.1', port: portB }],
  });
  const b = await startTestNode({
    index: 41,
    port: portB,
    peers: [{ publicKey: keyA.publicKey, host: '127.0.0.1', port: portA }],
  });
  try {
    await waitUntil(() => a.upNow.size === 1 && b.upNow.size === 1, 'a and b linked');
    // Both resume in the same turn, so both dial at once and two links come up.
    a.network.pause();
    b.network.pause();
    await waitUntil(() => a.upNow.size === 0 && b.upNow.size === 0, 'a and b apart');
    a.network.resume();
    b.network.resume();
    const duplicates = (node: TestNode): number =>
      node.logger.lines.filter((line) => line.message === 'duplicate link closed').length;
    await waitUntil(() => duplicates(a) + duplicates(b) >= 1, 'a duplicate link closed');
    // Whatever order the four handshakes finish in, both sides settle on the same link: the one
    // the lower key dialled (a wrong rule never gets here, and the wait fails).
    const lowerIsA = compareBytes(keyA.publicKey, keyB.publicKey) < 0;
    const settled = (): boolean => {
      const [onA, onB] = [a.network.peers(), b.network.peers()];
      return (
        onA.length === 1 &&
        onB.length === 1 &&
        onA[0]!.direction === (lowerIsA ? 'outbound' : 'inbound') &&
        onB[0]!.direction === (lowerIsA ? 'inbound' : 'outbound')
      );
    };
    await waitUntil(settled, 'one link each side, dialled by the lower key');
    // The surviving link works both ways, and stays the only one.
    assert.equal(a.network.send(b.id, 1, Uint8Array.of(1)), true);
    assert.equal(b.network.send(a.id, 1, Uint8Array.of(2)), true);
    await waitUntil(() => a.received.length === 1 && b.received.length === 1, 'both frames');
    assert.ok(settled());
    assert.ok(a.upNow.has(b.id) && b.upNow.has(a.id));
  } finally {
    await stopAll([a, b]);
  }
});

test('a peer that stops reading fills its queue: send returns false, memory stays bounded, accepted frames all arrive in order', async () => {
  const limits = { frameBytesMax: 64 * 1024, queueBytesMax: 256 * 1024, queueFramesMax: 64 };
  const a = await startTestNode({ index: 50, limits });
  const rogueKey = keyPairOf(51);
  const rogue = await connectRogue({
    port: a.network.address.port,
    keyPair: rogueKey,
    hello: { chainId: testChainId },
  });
  try {
    await waitUntil(() => a.upNow.size === 1, 'the slow reader linked');
    rogue.pause();
    const peer = a.network.peers()[0]!.id;
    const payloadBytes = 4096;
    let accepted = 0;
    let maxQueued = 0;
    for (let attempt = 0; attempt < 100_000; attempt++) {
      if (!a.network.send(peer, 3, numberedPayload(accepted, payloadBytes))) break;
      accepted++;
      maxQueued = Math.max(maxQueued, a.network.peers()[0]!.queuedBytes);
      await yieldToLoop();
    }
    const info = a.network.peers()[0]!;
    assert.ok(info.framesDropped === 1, `expected one dropped frame, found ${info.framesDropped}`);
    // The queue's bound, plus what the socket holds beyond its high-water mark (one write chunk).
    const bound = limits.queueBytesMax + p2pLimits.writeChunkBytesMax + 16 * 1024;
    assert.ok(maxQueued <= bound, `queued ${maxQueued} bytes, bound ${bound}`);
    assert.ok(info.queuedBytes > 0);
    // Resume reading: every frame that send accepted arrives, in order, and nothing else.
    const decoder = new FrameDecoder(limits.frameBytesMax);
    const sequences: number[] = [];
    let helloSeen = false;
    rogue.on('data', (chunk: Buffer) => {
      decoder.push(chunk, (frame) => {
        if (!helloSeen) helloSeen = frame.channel === 0;
        else sequences.push(sequenceOf(frame.payload));
        return true;
      });
    });
    rogue.resume();
    await waitUntil(() => sequences.length === accepted, `${accepted} frames read`);
    assert.deepEqual(
      sequences,
      Array.from({ length: accepted }, (_, i) => i),
    );
    assert.equal(a.network.send(peer, 3, numberedPayload(accepted, payloadBytes)), true);
  } finally {
    rogue.destroy();
    await a.network.stop();
  }
});

test('startPeerNetwork refuses bad options, naming the option', async () => {
  const base = {
    chainId: testChainId,
    keyPair: keyPairOf(60),
    listen: { host: '127.0.0.1', port: 0 },
    peers: [],
    isAllowedPeer: () => true,
    logger: new MemoryLogger(),
    onFrame: () => undefined,
  };
  const cases: [string, object][] = [
    ['chainId', { chainId: '' }],
    ['listen.port', { listen: { host: '127.0.0.1', port: 70_000 } }],
    [
      'peers[0].publicKey',
      { peers: [{ publicKey: new Uint8Array(32), host: '127.0.0.1', port: 1 }] },
    ],
    [
      'peers[0].port',
      { peers: [{ publicKey: keyPairOf(61).publicKey, host: '127.0.0.1', port: 0 }] },
    ],
    ['limits.queueBytesMax', { limits: { queueBytesMax: 1024 } }],
    ['limits.reconnectDelayMinMs', { limits: { reconnectDelayMinMs: 10_000 } }],
    ['limits.frameBytesMax', { limits: { frameBytesMax: 0 } }],
    ['limits.noSuchLimit', { limits: { noSuchLimit: 1 } }],
  ];
  for (const [option, override] of cases) {
    await assert.rejects(
      startPeerNetwork({ ...base, ...override }),
      (error: unknown) =>
        error instanceof PeerError &&
        error.code === PeerErrorCode.invalidOptions &&
        error.message.startsWith(`startPeerNetwork: ${option}: expected`),
      option,
    );
  }
  const network = await startPeerNetwork(base);
  await assert.rejects(
    startPeerNetwork({ ...base, listen: { host: '127.0.0.1', port: network.address.port } }),
    (error: unknown) => error instanceof PeerError && error.code === PeerErrorCode.listenFailed,
  );
  await network.stop();
});
