// Checks peer requests (channel 4) between four in-process validators and a hostile member over real TLS links on 127.0.0.1: round trips, error codes, timeouts and late answers, the payload limit, unlinked peers, a garbage frame that gets its sender cut while the chain goes on, stop() rejecting what waits, and no payload in the logs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { pino } from 'pino';

import { MedLedgerError, concatBytes, fromHex, toHex, utf8 } from '../../src/base/index.ts';
import { type LocalNode, createLocalNetwork } from '../../src/cli/index.ts';
import type { Ed25519KeyPair } from '../../src/crypto/index.ts';
import {
  NodeChannel,
  NodeError,
  type PeerRequest,
  type RunningNode,
  createNodeLogger,
  loadNodeConfig,
  nodeLimits,
  startNode,
} from '../../src/node/index.ts';
import { PeerRequestMessageSchema } from '../../src/node/wire.ts';
import { type PeerNetwork, startPeerNetwork } from '../../src/p2p/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'medledger-peer-requests-'));
const chainId = 'medledger-peer-requests-test';
const nodes: RunningNode[] = [];
const logs: string[][] = [];
let validators: LocalNode[] = [];
let intruderKey: Ed25519KeyPair;

/** A payload no log line may show, in any encoding. */
const marker = utf8('PAYLOAD-MARKER-5b1e0c9d-never-logged');

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function keyOf(node: RunningNode): string {
  return toHex(node.nodeKey);
}

/** A promise with its resolver, for handlers that answer when the test says so. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Asserts that `promise` rejects with a `NodeError` of `code`; returns the error. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<NodeError> {
  const error = await promise.then(
    () => null,
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof NodeError, `expected a NodeError ${code}, found ${String(error)}`);
  assert.equal(error.code, code, error.message);
  return error;
}

class RecordsError extends MedLedgerError<'not-found'> {}

before(async () => {
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
  validators = network.nodes.slice(0, 4);
  intruderKey = network.keyPairs[4]!;
  for (const node of validators) {
    const lines: string[] = [];
    logs.push(lines);
    nodes.push(
      await startNode(loadNodeConfig(node.configFile), {
        logger: createNodeLogger({
          level: 'debug',
          name: node.orgId,
          destination: { write: (line: string) => void lines.push(line) },
        }),
        onFatal: (error) => {
          throw error;
        },
      }),
    );
  }
  await until('the validators link up', () => nodes.every((n) => n.status().peers.length >= 3));
});

after(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
  rmSync(dir, { recursive: true, force: true });
});

test('a request gets the handler answer, and the handler sees the authenticated requester', async () => {
  const seen: PeerRequest[] = [];
  nodes[1]!.handlePeerRequests((request) => {
    seen.push(request);
    return Promise.resolve(concatBytes(utf8('first:'), request.payload));
  });
  const answer = await nodes[0]!.requestPeer({
    peer: keyOf(nodes[1]!),
    payload: marker,
    timeoutMs: 10_000,
  });
  assert.deepEqual(answer, concatBytes(utf8('first:'), marker));
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.peer, keyOf(nodes[0]!));
  assert.deepEqual(seen[0]!.payload, marker);

  // A second handler replaces the first; the payload limit itself goes through, both ways.
  nodes[1]!.handlePeerRequests((request) => Promise.resolve(request.payload.reverse()));
  const largest = new Uint8Array(nodeLimits.peerRequestPayloadBytesMax).map((_, i) => i % 251);
  const echoed = await nodes[0]!.requestPeer({ peer: keyOf(nodes[1]!), payload: largest.slice() });
  assert.equal(echoed.length, largest.length);
  assert.deepEqual(echoed, largest.reverse());
  assert.equal(seen.length, 1, 'the first handler is not called any more');
});

test('a handler that fails answers an error code only; a node without a handler says so', async () => {
  nodes[1]!.handlePeerRequests((request) => {
    const text = new TextDecoder().decode(request.payload);
    if (text === 'missing') return Promise.reject(new RecordsError('not-found', 'no record 42'));
    if (text === 'sync') throw new Error('secret detail of a sync failure');
    return Promise.reject(new Error('secret detail of a failure'));
  });
  const peer = keyOf(nodes[1]!);
  const notFound = await rejectsWith(
    nodes[0]!.requestPeer({ peer, payload: utf8('missing') }),
    'peer-error',
  );
  assert.equal(notFound.details.peerCode, 'not-found');
  for (const payload of ['other', 'sync']) {
    const failed = await rejectsWith(
      nodes[0]!.requestPeer({ peer, payload: utf8(payload) }),
      'peer-error',
    );
    assert.equal(failed.details.peerCode, 'handler-failed');
    assert.ok(!failed.message.includes('secret'), failed.message);
  }
  // The laboratory's node has no handler.
  const none = await rejectsWith(
    nodes[0]!.requestPeer({ peer: keyOf(nodes[2]!), payload: utf8('anything') }),
    'peer-error',
  );
  assert.equal(none.details.peerCode, 'no-handler');
});

test('a request not answered in time rejects; the late answer is ignored and logged', async () => {
  const release = gate();
  nodes[1]!.handlePeerRequests(async (request) => {
    await release.promise;
    return request.payload;
  });
  const error = await rejectsWith(
    nodes[0]!.requestPeer({ peer: keyOf(nodes[1]!), payload: utf8('slow'), timeoutMs: 200 }),
    'timeout',
  );
  const id = Number(error.details.id);
  release.open();
  await until('the late answer is logged', () =>
    logs[0]!.some((line) => line.includes('unknown request id') && line.includes(`"id":${id}`)),
  );
  // The link is still up and the next request is answered.
  nodes[1]!.handlePeerRequests((request) => Promise.resolve(request.payload));
  assert.deepEqual(
    await nodes[0]!.requestPeer({ peer: keyOf(nodes[1]!), payload: utf8('fast') }),
    utf8('fast'),
  );
});

test('a payload over the limit, a bad peer id and an unlinked peer are refused before sending', async () => {
  const calls: string[] = [];
  nodes[1]!.handlePeerRequests((request) => {
    calls.push(new TextDecoder().decode(request.payload.subarray(0, 8)));
    return Promise.resolve(new Uint8Array(0));
  });
  const peer = keyOf(nodes[1]!);
  const tooLarge = new Uint8Array(nodeLimits.peerRequestPayloadBytesMax + 1).fill(0x41);
  await rejectsWith(nodes[0]!.requestPeer({ peer, payload: tooLarge }), 'payload-too-large');
  await rejectsWith(nodes[0]!.requestPeer({ peer: 'abc', payload: utf8('x') }), 'invalid-argument');
  await rejectsWith(
    nodes[0]!.requestPeer({ peer, payload: utf8('x'), timeoutMs: 0 }),
    'invalid-argument',
  );
  // A key no node has, and the node's own key: no link.
  await rejectsWith(
    nodes[0]!.requestPeer({ peer: 'ab'.repeat(32), payload: utf8('x') }),
    'not-linked',
  );
  await rejectsWith(
    nodes[0]!.requestPeer({ peer: keyOf(nodes[0]!), payload: utf8('x') }),
    'not-linked',
  );
  // Frames on a link arrive in order: had the large one been sent, it would be handled first.
  await nodes[0]!.requestPeer({ peer, payload: utf8('after') });
  assert.deepEqual(calls, ['after']);
});

test('a hostile member: its request is answered, an unknown answer id ignored, garbage gets it cut', async () => {
  const target = validators[0]!;
  const targetNode = nodes[0]!;
  nodes[0]!.handlePeerRequests((request) =>
    Promise.resolve(concatBytes(utf8(request.peer.slice(0, 8)), request.payload)),
  );
  const answers: Uint8Array[] = [];
  const hostile: PeerNetwork = await startPeerNetwork({
    chainId,
    keyPair: intruderKey,
    listen: { host: '127.0.0.1', port: 0 },
    peers: [{ publicKey: fromHex(target.nodeKey), host: '127.0.0.1', port: target.p2pPort }],
    isAllowedPeer: () => true,
    logger: pino({ level: 'silent' }),
    limits: { reconnectDelayMinMs: 60_000, reconnectDelayMaxMs: 60_000 },
    onFrame: (_peer, channel, payload) => {
      if (channel === NodeChannel.records) answers.push(payload);
    },
  });
  try {
    const linked = (): boolean => hostile.peers().some((peer) => peer.id === target.nodeKey);
    await until('the intruder links to the validator', linked);
    const intruderId = toHex(intruderKey.publicKey);
    await until('the validator sees the intruder', () =>
      targetNode.status().peers.some((peer) => peer.id === intruderId),
    );

    // A well-formed request: answered, with the intruder's authenticated key seen by the handler.
    hostile.send(
      target.nodeKey,
      NodeChannel.records,
      PeerRequestMessageSchema.encode({ kind: 'request', id: 7, payload: marker, code: null }),
    );
    await until('the answer', () => answers.length === 1);
    const answer = PeerRequestMessageSchema.decode(answers[0]!);
    assert.deepEqual([answer.kind, answer.id, answer.code], ['response', 7, null]);
    assert.deepEqual(
      new Uint8Array(answer.payload),
      concatBytes(utf8(intruderId.slice(0, 8)), marker),
    );

    // An answer to a request never made: ignored and logged, the link stays.
    hostile.send(
      target.nodeKey,
      NodeChannel.records,
      PeerRequestMessageSchema.encode({
        kind: 'response',
        id: 9_999_999,
        payload: marker,
        code: null,
      }),
    );
    await until('the unknown answer is logged', () =>
      logs[0]!.some((line) => line.includes('unknown request id') && line.includes('9999999')),
    );
    assert.ok(linked(), 'an unknown answer id does not cut the peer');

    // Bytes that are not a peer-request message: the intruder is cut.
    const heightBefore = Math.max(...nodes.map((node) => node.status().height));
    hostile.send(target.nodeKey, NodeChannel.records, new Uint8Array([0xff, 0x00, 0x13, 0x37]));
    await until('the intruder is cut', () => !linked());
    await until('the validator forgets the intruder', () =>
      targetNode.status().peers.every((peer) => peer.id !== intruderId),
    );
    await rejectsWith(
      targetNode.requestPeer({ peer: intruderId, payload: utf8('x') }),
      'not-linked',
    );
    assert.ok(
      logs[0]!.some(
        (line) => line.includes('peer cut for invalid data') && line.includes('channel 4'),
      ),
    );
    // The validators go on committing, and requests between them still work.
    await until('two more blocks everywhere', () =>
      nodes.every((node) => node.status().height >= heightBefore + 2),
    );
    assert.equal(targetNode.status().peers.length, 3);
    nodes[1]!.handlePeerRequests((request) => Promise.resolve(request.payload));
    assert.deepEqual(
      await targetNode.requestPeer({ peer: keyOf(nodes[1]!), payload: utf8('still') }),
      utf8('still'),
    );
  } finally {
    await hostile.stop();
  }
});

test('no log line of the nodes shows a payload', () => {
  const forms = [
    new TextDecoder().decode(marker),
    toHex(marker),
    Buffer.from(marker).toString('base64'),
    // pino's JSON of a Uint8Array ({"0":80,…}) and of a Buffer ({"data":[80,…]}).
    JSON.stringify(marker).slice(1, 40),
    [...marker.subarray(0, 12)].join(','),
  ];
  const lines = logs.flat();
  assert.ok(
    lines.some((line) => line.includes('peer request sent')),
    'requests were logged',
  );
  for (const form of forms) {
    assert.ok(!lines.some((line) => line.includes(form)), `a log line shows the payload (${form})`);
  }
});

test('more requests to one peer than it handles at once wait their turn instead of getting busy', async () => {
  const window = nodeLimits.peerRequestsInFlightPerPeerMax;
  assert.equal(window, nodeLimits.peerRequestHandlersPerPeerMax);
  const release = gate();
  let handling = 0;
  let mostAtOnce = 0;
  nodes[2]!.handlePeerRequests(async (request) => {
    handling++;
    mostAtOnce = Math.max(mostAtOnce, handling);
    await release.promise;
    handling--;
    return request.payload;
  });
  const count = window * 2 + 4;
  const answers = Array.from({ length: count }, (_, index) =>
    nodes[0]!.requestPeer({
      peer: keyOf(nodes[2]!),
      payload: utf8(`turn ${index}`),
      timeoutMs: 30_000,
    }),
  );
  await until('the first window is being handled', () => handling === window);
  // The rest wait on the requester's side: the custodian never sees more than its bound.
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(handling, window);
  release.open();
  const results = await Promise.all(answers);
  assert.deepEqual(
    results.map((bytes) => new TextDecoder().decode(bytes)),
    Array.from({ length: count }, (_, index) => `turn ${index}`),
  );
  assert.equal(mostAtOnce, window);

  // A queued request still times out on its own clock, and frees nothing it did not hold.
  const hold = gate();
  nodes[2]!.handlePeerRequests(async (request) => {
    await hold.promise;
    return request.payload;
  });
  const held = Array.from({ length: window }, () =>
    nodes[0]!.requestPeer({ peer: keyOf(nodes[2]!), payload: utf8('held'), timeoutMs: 30_000 }),
  );
  await rejectsWith(
    nodes[0]!.requestPeer({ peer: keyOf(nodes[2]!), payload: utf8('queued'), timeoutMs: 300 }),
    'timeout',
  );
  hold.open();
  assert.equal((await Promise.all(held)).length, window);
  const after = await nodes[0]!.requestPeer({ peer: keyOf(nodes[2]!), payload: utf8('next') });
  assert.equal(new TextDecoder().decode(after), 'next');
});

test('stop() rejects the requests still waiting for an answer', async () => {
  const release = gate();
  let received = 0;
  nodes[1]!.handlePeerRequests(async (request) => {
    received++;
    await release.promise;
    return request.payload;
  });
  const stopping = nodes[3]!;
  const pending = stopping.requestPeer({
    peer: keyOf(nodes[1]!),
    payload: utf8('never answered'),
    timeoutMs: 60_000,
  });
  const rejection = rejectsWith(pending, 'stopped');
  await until('the request is being handled', () => received === 1);
  await stopping.stop();
  await rejection;
  release.open();
  // A stopped node serves nothing more.
  await rejectsWith(
    stopping.requestPeer({ peer: keyOf(nodes[1]!), payload: utf8('x') }),
    'stopped',
  );
  assert.throws(
    () => stopping.stateReader(),
    (error: unknown) => {
      assert.ok(error instanceof NodeError);
      assert.equal(error.code, 'stopped');
      return true;
    },
  );
  const own = await stopping.submitOwn('identity.enrol-patient', {
    patientId: new Uint8Array(16),
    publicKey: intruderKey.publicKey,
  });
  assert.equal(own.accepted ? 'accepted' : own.code, 'busy');
});
