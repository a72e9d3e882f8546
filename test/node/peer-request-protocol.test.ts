// Checks the peer-request protocol (channel 4) between two `PeerRequests` joined by in-memory links: the wire message's strict decoding and its invalid twins, the per-peer and handler bounds, answers from the wrong peer, non-byte and oversized answers, and a link going down.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { pino } from 'pino';

import { utf8 } from '../../src/base/index.ts';
import { CodecError, encodeCbor } from '../../src/codec/index.ts';
import { NodeError, nodeLimits } from '../../src/node/index.ts';
import { PeerRequests } from '../../src/node/peer-requests.ts';
import type { PeerRequestHandler } from '../../src/node/types.ts';
import { PeerRequestMessageSchema, checkPeerRequestMessage } from '../../src/node/wire.ts';

const alice = 'a1'.repeat(32);
const bob = 'b0'.repeat(32);
const silent = pino({ level: 'silent' });

/** Two ends joined by in-memory links that deliver each frame on a later turn, in order. */
function pair() {
  const cut: { by: string; peer: string; reason: string }[] = [];
  let up = true;
  const ends = new Map<string, PeerRequests>();
  const make = (self: string, other: string): PeerRequests =>
    new PeerRequests({
      links: {
        isLinked: (peer) => up && peer === other,
        send: (peer, payload) => {
          if (!up || peer !== other) return false;
          setImmediate(() => {
            if (up) ends.get(other)!.receive(self, payload);
          });
          return true;
        },
        disconnect: (peer, reason) => cut.push({ by: self, peer, reason }),
      },
      logger: silent,
    });
  ends.set(alice, make(alice, bob));
  ends.set(bob, make(bob, alice));
  return {
    alice: ends.get(alice)!,
    bob: ends.get(bob)!,
    cut,
    down(): void {
      up = false;
      ends.get(alice)!.peerDown(bob);
      ends.get(bob)!.peerDown(alice);
    },
  };
}

async function failure(promise: Promise<unknown>): Promise<NodeError> {
  const error = await promise.then(
    () => null,
    (rejected: unknown) => rejected,
  );
  assert.ok(error instanceof NodeError, String(error));
  return error;
}

test('the wire message decodes strictly; malformed messages are named', () => {
  const request = { kind: 'request', id: 3, payload: utf8('x'), code: null } as const;
  const decoded = PeerRequestMessageSchema.decode(PeerRequestMessageSchema.encode(request));
  assert.deepEqual([decoded.kind, decoded.id, decoded.code], ['request', 3, null]);
  assert.equal(checkPeerRequestMessage(decoded), null);
  // Invalid twins: not CBOR, an unknown kind, a negative id, a payload over the limit.
  assert.throws(() => PeerRequestMessageSchema.decode(new Uint8Array([0xff])), CodecError);
  assert.throws(
    () => PeerRequestMessageSchema.decode(encodeCbor(['push', 3, utf8('x'), null])),
    CodecError,
  );
  assert.throws(
    () => PeerRequestMessageSchema.decode(encodeCbor(['request', -1, utf8('x'), null])),
    CodecError,
  );
  const over = new Uint8Array(nodeLimits.peerRequestPayloadBytesMax + 1);
  assert.throws(
    () => PeerRequestMessageSchema.decode(encodeCbor(['response', 1, over, null])),
    CodecError,
  );
  // Decodable but malformed: a code on a request, an error without a code, with a payload, or
  // with a code that is not kebab-case.
  assert.match(
    checkPeerRequestMessage({ ...request, code: 'busy' }) ?? '',
    /carries an error code/,
  );
  const error = { kind: 'error', id: 3, payload: new Uint8Array(0), code: 'busy' } as const;
  assert.equal(checkPeerRequestMessage(error), null);
  assert.match(checkPeerRequestMessage({ ...error, code: null }) ?? '', /without a kebab-case/);
  assert.match(checkPeerRequestMessage({ ...error, code: 'Not Found' }) ?? '', /kebab-case/);
  assert.match(checkPeerRequestMessage({ ...error, payload: utf8('x') }) ?? '', /with a payload/);
});

test('a decodable but malformed message cuts its sender; garbage throws for the node to cut', () => {
  const { alice: end, cut } = pair();
  end.receive(
    bob,
    PeerRequestMessageSchema.encode({ kind: 'request', id: 1, payload: utf8('x'), code: 'x' }),
  );
  assert.equal(cut.length, 1);
  assert.equal(cut[0]!.peer, bob);
  assert.throws(() => end.receive(bob, utf8('not cbor at all')), CodecError);
});

test('an answer from a peer that was not asked is ignored; the asked one settles it', async () => {
  const { alice: end } = pair();
  // Alice asks Bob; Carol (another peer) sends an answer with the same id: ignored.
  const answer = end.request({ peer: bob, payload: utf8('q'), timeoutMs: 60_000 });
  const carol = 'c2'.repeat(32);
  end.receive(
    carol,
    PeerRequestMessageSchema.encode({
      kind: 'response',
      id: 1,
      payload: utf8('forged'),
      code: null,
    }),
  );
  assert.equal(end.pendingCount, 1);
  // Bob has no handler yet (no end is listening on its side in this test): Alice answers as Bob.
  end.receive(
    bob,
    PeerRequestMessageSchema.encode({ kind: 'response', id: 1, payload: utf8('real'), code: null }),
  );
  assert.deepEqual(await answer, utf8('real'));
  assert.equal(end.pendingCount, 0);
});

test('requests to one peer are bounded; a window of them is sent, the rest wait their turn', async () => {
  const { alice: asker, bob: answerer } = pair();
  let open = (): void => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let handling = 0;
  let mostAtOnce = 0;
  answerer.setHandler(async (request) => {
    handling++;
    mostAtOnce = Math.max(mostAtOnce, handling);
    await gate;
    handling--;
    return request.payload;
  });
  const max = nodeLimits.peerRequestsOutstandingPerPeerMax;
  const window = nodeLimits.peerRequestsInFlightPerPeerMax;
  const waiting = Array.from({ length: max }, (_, index) =>
    asker.request({ peer: bob, payload: utf8(`${index}`), timeoutMs: 60_000 }),
  );
  const refused = await failure(asker.request({ peer: bob, payload: utf8('one more') }));
  assert.equal(refused.code, 'busy');
  assert.match(refused.message, new RegExp(`${max} requests wait`));
  // Only a window is sent: the answerer handles that many and answers none of them busy.
  for (let turn = 0; turn < 100 && handling < window; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(handling, window);
  assert.equal(asker.pendingCount, max);
  open();
  const answers = await Promise.all(waiting);
  assert.deepEqual(
    answers.map((payload) => new TextDecoder().decode(payload)),
    Array.from({ length: max }, (_, index) => `${index}`),
  );
  assert.equal(mostAtOnce, window);
  assert.equal(asker.pendingCount, 0);
  assert.deepEqual(await asker.request({ peer: bob, payload: utf8('again') }), utf8('again'));
});

test('an answerer still answers busy beyond its bound, for a peer that sends more than its window', async () => {
  const sent: { id: number; kind: string; code: string | null }[] = [];
  const answerer = new PeerRequests({
    links: {
      isLinked: () => true,
      send: (_peer, payload) => {
        const message = PeerRequestMessageSchema.decode(payload);
        sent.push({ id: message.id, kind: message.kind, code: message.code });
        return true;
      },
      disconnect: () => undefined,
    },
    logger: silent,
  });
  let open = (): void => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  answerer.setHandler(async (request) => {
    await gate;
    return request.payload;
  });
  const perPeer = nodeLimits.peerRequestHandlersPerPeerMax;
  for (let id = 1; id <= perPeer + 1; id++) {
    answerer.receive(
      alice,
      PeerRequestMessageSchema.encode({ kind: 'request', id, payload: utf8('x'), code: null }),
    );
  }
  assert.deepEqual(sent, [{ id: perPeer + 1, kind: 'error', code: 'busy' }]);
  open();
  for (let turn = 0; turn < 100 && sent.length < perPeer + 1; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(
    sent.slice(1).map((message) => [message.kind, message.code]),
    Array.from({ length: perPeer }, () => ['response', null]),
  );
});

test('answers that are not bytes or are too large become error codes', async () => {
  const { alice: asker, bob: answerer } = pair();
  const answers: unknown[] = [
    utf8('fine'),
    'a string',
    new Uint8Array(nodeLimits.peerRequestPayloadBytesMax + 1),
  ];
  answerer.setHandler((() => Promise.resolve(answers.shift())) as PeerRequestHandler);
  assert.deepEqual(await asker.request({ peer: bob, payload: utf8('1') }), utf8('fine'));
  const notBytes = await failure(asker.request({ peer: bob, payload: utf8('2') }));
  assert.equal(notBytes.details.peerCode, 'handler-failed');
  const tooLarge = await failure(asker.request({ peer: bob, payload: utf8('3') }));
  assert.equal(tooLarge.details.peerCode, 'answer-too-large');
  assert.throws(() => answerer.setHandler(null as unknown as PeerRequestHandler), NodeError);
});

test('a link going down rejects what waits on it; stop rejects the rest and refuses more', async () => {
  const link = pair();
  link.bob.setHandler(() => new Promise<Uint8Array>(() => undefined));
  const waiting = link.alice.request({ peer: bob, payload: utf8('q'), timeoutMs: 60_000 });
  const outcome = failure(waiting);
  link.down();
  assert.equal((await outcome).code, 'not-linked');
  assert.equal(
    (await failure(link.alice.request({ peer: bob, payload: utf8('q') }))).code,
    'not-linked',
  );

  const other = pair();
  other.bob.setHandler(() => new Promise<Uint8Array>(() => undefined));
  const pending = failure(
    other.alice.request({ peer: bob, payload: utf8('q'), timeoutMs: 60_000 }),
  );
  other.alice.stop();
  assert.equal((await pending).code, 'stopped');
  assert.equal(other.alice.pendingCount, 0);
  assert.equal(
    (await failure(other.alice.request({ peer: bob, payload: utf8('q') }))).code,
    'stopped',
  );
});
