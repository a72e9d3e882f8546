// Checks that hostile or misconfigured peers are refused or cut and logged while an honest link a–b carries on: real TLS and TCP sockets on 127.0.0.1.
import assert from 'node:assert/strict';
import { connect as connectTcp } from 'node:net';
import { test } from 'node:test';
import { connect as connectTls } from 'node:tls';

import { toHex } from '../../src/base/index.ts';
import { encodeCbor } from '../../src/codec/index.ts';
import { encodeFrame } from '../../src/p2p/frame.ts';
import { PeerErrorCode } from '../../src/p2p/index.ts';
import {
  type TestNode,
  closed,
  connectRogue,
  keyPairOf,
  numberedPayload,
  startTestNode,
  testChainId,
  waitUntil,
} from './helpers.ts';

const frameBytesMax = 64 * 1024;
const penaltyDelayMs = 1_000;

/**
 * An honest pair: a (which allows only the keys in `allowed`) and b, linked. Every test ends by
 * checking that this link survived whatever the hostile peer did.
 */
async function startHonestPair(allowed: Set<string>, handshakeTimeoutMs = 2_000) {
  const limits = { frameBytesMax, penaltyDelayMs, handshakeTimeoutMs };
  const a = await startTestNode({
    index: 100,
    limits,
    isAllowedPeer: (key) => allowed.has(toHex(key)),
  });
  const b = await startTestNode({ index: 101, limits, peers: [a.address()] });
  allowed.add(b.id);
  await waitUntil(() => a.upNow.has(b.id) && b.upNow.has(a.id), 'a and b linked');
  return { a, b };
}

/** The honest link still works both ways and never went down. */
async function assertHonestLinkUnaffected(a: TestNode, b: TestNode): Promise<void> {
  assert.deepEqual(a.downs, []);
  assert.deepEqual(b.downs, []);
  const before = b.received.length;
  assert.equal(a.network.send(b.id, 1, numberedPayload(1)), true);
  await waitUntil(() => b.received.length === before + 1, 'a frame over the honest link');
}

async function stopPair(pair: { a: TestNode; b: TestNode }): Promise<void> {
  await Promise.all([pair.a.network.stop(), pair.b.network.stop()]);
}

test('a key that isAllowedPeer refuses is refused; the same key is accepted once allowed', async () => {
  const allowed = new Set<string>();
  const pair = await startHonestPair(allowed);
  const { a, b } = pair;
  try {
    const stranger = keyPairOf(102);
    const rogue = await connectRogue({
      port: a.network.address.port,
      keyPair: stranger,
      hello: { chainId: testChainId },
    });
    await closed(rogue);
    const line = a.logger.withCode(PeerErrorCode.notAllowed)[0];
    assert.ok(line !== undefined, 'a logged the refusal');
    assert.equal(line.message, 'peer refused');
    assert.equal(line.fields.peer, toHex(stranger.publicKey).slice(0, 16));
    assert.equal(a.upNow.size, 1);
    // The membership changes: the same key is now a member, and the next handshake admits it.
    allowed.add(toHex(stranger.publicKey));
    const member = await connectRogue({
      port: a.network.address.port,
      keyPair: stranger,
      hello: { chainId: testChainId },
    });
    await waitUntil(() => a.upNow.has(toHex(stranger.publicKey)), 'the new member linked');
    member.destroy();
    await waitUntil(() => !a.upNow.has(toHex(stranger.publicKey)), 'the member gone');
    assert.deepEqual(
      a.downs.map((down) => down.peer),
      [toHex(stranger.publicKey)],
    );
    a.downs.length = 0;
    await assertHonestLinkUnaffected(a, b);
  } finally {
    await stopPair(pair);
  }
});

test('a TLS client without a certificate is refused', async () => {
  const pair = await startHonestPair(new Set());
  try {
    const rogue = await connectRogue({ port: pair.a.network.address.port });
    await closed(rogue);
    assert.equal(pair.a.logger.withCode(PeerErrorCode.noCertificate).length, 1);
    await assertHonestLinkUnaffected(pair.a, pair.b);
  } finally {
    await stopPair(pair);
  }
});

test('a dialled node that presents another key than the one dialled is refused', async () => {
  const pair = await startHonestPair(new Set());
  const impostorKey = keyPairOf(103);
  const expectedKey = keyPairOf(104);
  // The impostor listens where a believes node 104 is.
  const impostor = await startTestNode({ index: 103 });
  const dialler = await startTestNode({
    index: 105,
    peers: [
      { publicKey: expectedKey.publicKey, host: '127.0.0.1', port: impostor.network.address.port },
    ],
  });
  try {
    await waitUntil(
      () => dialler.logger.withCode(PeerErrorCode.unexpectedKey).length >= 2,
      'the dialler refused the impostor (and kept dialling)',
    );
    const line = dialler.logger.withCode(PeerErrorCode.unexpectedKey)[0]!;
    assert.equal(line.fields.peer, toHex(impostorKey.publicKey).slice(0, 16));
    assert.match(
      String(line.fields.reason),
      new RegExp(
        `^expected node key ${toHex(expectedKey.publicKey).slice(0, 16)}…, found ${toHex(impostorKey.publicKey).slice(0, 16)}…$`,
      ),
    );
    assert.equal(dialler.upNow.size, 0);
    assert.equal(impostor.upNow.size, 0);
    await assertHonestLinkUnaffected(pair.a, pair.b);
  } finally {
    await Promise.all([impostor.network.stop(), dialler.network.stop(), stopPair(pair)]);
  }
});

test('a node on another chain is refused on both sides, with both chainIds in the log', async () => {
  const pair = await startHonestPair(new Set());
  const other = await startTestNode({
    index: 106,
    chainId: 'another-chain',
    peers: [pair.b.address()],
  });
  try {
    await waitUntil(
      () =>
        other.logger.withCode(PeerErrorCode.wrongChain).length > 0 &&
        pair.b.logger.withCode(PeerErrorCode.wrongChain).length > 0,
      'both sides refused the other chain',
    );
    assert.equal(
      pair.b.logger.withCode(PeerErrorCode.wrongChain)[0]!.fields.reason,
      `expected chainId text "${testChainId}", found text "another-chain"`,
    );
    assert.equal(other.upNow.size, 0);
    assert.equal(pair.b.upNow.size, 1);
    await assertHonestLinkUnaffected(pair.a, pair.b);
  } finally {
    await Promise.all([other.network.stop(), stopPair(pair)]);
  }
});

test('garbage bytes instead of TLS are refused and the socket closed', async () => {
  const pair = await startHonestPair(new Set());
  try {
    const socket = connectTcp({ host: '127.0.0.1', port: pair.a.network.address.port });
    socket.on('error', () => undefined);
    socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: medledger\r\n\r\n' + 'x'.repeat(2000)));
    await closed(socket);
    await waitUntil(
      () => pair.a.logger.withCode(PeerErrorCode.tlsFailed).length === 1,
      'the TLS failure logged',
    );
    await assertHonestLinkUnaffected(pair.a, pair.b);
  } finally {
    await stopPair(pair);
  }
});

test('a connection that stalls the TLS handshake, or the hello, is closed after handshakeTimeoutMs', async () => {
  const allowed = new Set<string>();
  const pair = await startHonestPair(allowed, 300);
  try {
    const silent = connectTcp({ host: '127.0.0.1', port: pair.a.network.address.port });
    silent.on('error', () => undefined);
    await closed(silent);
    await waitUntil(
      () => pair.a.logger.withCode(PeerErrorCode.handshakeTimeout).length === 1,
      'the stalled TLS handshake logged',
    );
    const quiet = keyPairOf(107);
    allowed.add(toHex(quiet.publicKey));
    const noHello = await connectRogue({ port: pair.a.network.address.port, keyPair: quiet });
    await closed(noHello);
    await waitUntil(
      () => pair.a.logger.withCode(PeerErrorCode.handshakeTimeout).length === 2,
      'the stalled hello logged',
    );
    const line = pair.a.logger.withCode(PeerErrorCode.handshakeTimeout)[1]!;
    assert.equal(line.fields.peer, toHex(quiet.publicKey).slice(0, 16));
    assert.equal(pair.a.upNow.has(toHex(quiet.publicKey)), false);
    await assertHonestLinkUnaffected(pair.a, pair.b);
  } finally {
    await stopPair(pair);
  }
});

test('a malformed hello, a data frame before the hello, or another protocol version is refused', async () => {
  const allowed = new Set<string>();
  const pair = await startHonestPair(allowed);
  try {
    // Each case with its own key: a malformed hello is misbehaviour, and penalises the key.
    const keys = [keyPairOf(120), keyPairOf(121), keyPairOf(122), keyPairOf(123)] as const;
    for (const key of keys) allowed.add(toHex(key.publicKey));
    const port = pair.a.network.address.port;
    const notCbor = await connectRogue({ port, keyPair: keys[0] });
    notCbor.write(encodeFrame(0, Uint8Array.of(0xff, 0x00)));
    const wrongShape = await connectRogue({ port, keyPair: keys[1] });
    wrongShape.write(encodeFrame(0, encodeCbor(['medledger-p2p', 1])));
    const dataFirst = await connectRogue({ port, keyPair: keys[2] });
    dataFirst.write(encodeFrame(1, Uint8Array.of(1, 2, 3)));
    const future = await connectRogue({
      port,
      keyPair: keys[3],
      hello: { chainId: testChainId, version: 2 },
    });
    await Promise.all([closed(notCbor), closed(wrongShape), closed(dataFirst), closed(future)]);
    await waitUntil(
      () =>
        pair.a.logger.withCode(PeerErrorCode.malformedHello).length === 3 &&
        pair.a.logger.withCode(PeerErrorCode.wrongVersion).length === 1,
      'four refusals logged',
    );
    const reasonOf = (key: (typeof keys)[number]): unknown =>
      pair.a.logger.lines.find((line) => line.fields.peer === toHex(key.publicKey).slice(0, 16))
        ?.fields.reason;
    assert.match(String(reasonOf(keys[0])), /^expected a canonical CBOR hello/);
    assert.equal(
      reasonOf(keys[1]),
      'expected a hello [protocol, version, chainId], found another CBOR value',
    );
    assert.equal(
      reasonOf(keys[2]),
      'expected a hello on channel 0 first, found a frame on channel 1',
    );
    assert.equal(reasonOf(keys[3]), 'expected link protocol version 1, found 2');
    assert.equal(pair.a.upNow.size, 1);
    await assertHonestLinkUnaffected(pair.a, pair.b);
  } finally {
    await stopPair(pair);
  }
});

test('an oversized frame is refused from its header alone, the peer cut and penalised; a frame at the limit passes', async () => {
  const allowed = new Set<string>();
  const pair = await startHonestPair(allowed);
  try {
    const key = keyPairOf(109);
    const id = toHex(key.publicKey);
    allowed.add(id);
    const port = pair.a.network.address.port;
    const rogue = await connectRogue({ port, keyPair: key, hello: { chainId: testChainId } });
    await waitUntil(() => pair.a.upNow.has(id), 'the rogue linked');
    // The twin: a frame of exactly frameBytesMax (channel byte + payload) is delivered.
    rogue.write(encodeFrame(2, new Uint8Array(frameBytesMax - 1)));
    await waitUntil(() => pair.a.received.some((frame) => frame.from === id), 'the largest frame');
    // Only the header of a frame one byte too long: the body never comes, and is not waited for.
    const header = Buffer.alloc(4);
    header.writeUInt32BE(frameBytesMax + 1);
    rogue.write(header);
    await closed(rogue);
    await waitUntil(() => pair.a.downs.length === 1, 'the cut reported');
    const line = pair.a.logger.withCode(PeerErrorCode.frameTooLarge)[0];
    assert.ok(line !== undefined);
    assert.equal(line.message, 'peer link cut');
    assert.equal(
      line.fields.reason,
      `expected a frame of 1 to ${frameBytesMax} bytes, found a header declaring ${frameBytesMax + 1} bytes`,
    );
    assert.ok(
      pair.a.downs.some((down) => down.peer === id && down.reason.startsWith('frame-too-large')),
    );
    // Penalised: the same key is refused at once if it comes straight back.
    const again = await connectRogue({ port, keyPair: key, hello: { chainId: testChainId } });
    await closed(again);
    assert.equal(pair.a.logger.withCode(PeerErrorCode.penalised).length, 1);
    pair.a.downs.length = 0;
    await assertHonestLinkUnaffected(pair.a, pair.b);
  } finally {
    await stopPair(pair);
  }
});

test('disconnect cuts a peer, which is neither dialled nor accepted before the penalty delay', async () => {
  const pair = await startHonestPair(new Set());
  const { a, b } = pair;
  try {
    const cutAt = Date.now();
    a.network.disconnect(b.id, 'a vote that does not verify');
    await waitUntil(() => !a.upNow.has(b.id) && !b.upNow.has(a.id), 'b cut');
    assert.equal(
      a.logger.lines.find((line) => line.message === 'peer disconnected')?.fields.reason,
      'a vote that does not verify',
    );
    assert.ok(a.downs[0]!.reason.startsWith('disconnected: a vote that does not verify'));
    await waitUntil(() => a.upNow.has(b.id) && b.upNow.has(a.id), 'b back after the penalty');
    assert.ok(Date.now() - cutAt >= penaltyDelayMs, 'b came back before the penalty delay');
    assert.ok(
      a.logger.withCode(PeerErrorCode.penalised).length >= 1,
      'b redialled and was refused meanwhile',
    );
  } finally {
    await stopPair(pair);
  }
});

test('an onFrame that throws cuts that peer only; the error is logged without the payload', async () => {
  const allowed = new Set<string>();
  const a = await startTestNode({
    index: 110,
    limits: { penaltyDelayMs },
    isAllowedPeer: (key) => allowed.has(toHex(key)),
    onFrame: (_peer, channel) => {
      if (channel === 9) throw new Error('cannot decode');
    },
  });
  const b = await startTestNode({ index: 111, peers: [a.address()] });
  const c = await startTestNode({ index: 112, peers: [a.address()] });
  allowed.add(b.id);
  allowed.add(c.id);
  try {
    await waitUntil(
      () => a.upNow.size === 2 && b.upNow.has(a.id) && c.upNow.has(a.id),
      'a linked to b and c, on both sides',
    );
    assert.equal(b.network.send(a.id, 9, Uint8Array.of(0xde, 0xad)), true);
    await waitUntil(() => !a.upNow.has(b.id), 'b cut');
    const line = a.logger.lines.find((each) => each.message === 'onFrame threw; the peer is cut')!;
    assert.deepEqual(line.fields, {
      peer: b.id.slice(0, 16),
      channel: 9,
      bytes: 2,
      error: 'cannot decode',
    });
    assert.ok(a.upNow.has(c.id));
    assert.equal(c.network.send(a.id, 1, Uint8Array.of(1)), true);
    await waitUntil(() => a.received.some((frame) => frame.from === c.id), 'c still heard');
  } finally {
    await Promise.all([a.network.stop(), b.network.stop(), c.network.stop()]);
  }
});

test('a TLS 1.2 client is refused: links are TLS 1.3 only', async () => {
  const pair = await startHonestPair(new Set());
  try {
    const old = connectTls({
      host: '127.0.0.1',
      port: pair.a.network.address.port,
      maxVersion: 'TLSv1.2',
      rejectUnauthorized: false,
    });
    const failure = await new Promise<string>((resolve) => {
      old.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      old.once('secureConnect', () => resolve('connected'));
    });
    assert.notEqual(failure, 'connected');
    await waitUntil(() => pair.a.logger.withCode(PeerErrorCode.tlsFailed).length === 1, 'logged');
    await assertHonestLinkUnaffected(pair.a, pair.b);
  } finally {
    await stopPair(pair);
  }
});
