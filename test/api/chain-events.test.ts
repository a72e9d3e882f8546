// Checks GET /chain/events over a real socket against the in-memory RunningNode: live blocks in
// order, resuming with Last-Event-ID or ?after=, bad and too-old positions refused, the stream
// bound, a server that closes with streams open, and the CLI's client of the stream.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { pino } from 'pino';

import { apiLimits, startApiServer } from '../../src/api/index.ts';
import { toHex } from '../../src/base/index.ts';
import { followBlockEvents, makeEnrolPatient } from '../../src/cli/index.ts';
import { generateEd25519KeyPair } from '../../src/keys/index.ts';
import { MemoryNode } from './memory-node.ts';

const chainId = 'events-test';
const silent = pino({ level: 'silent' });

async function setup() {
  const keyPair = generateEd25519KeyPair();
  const node = new MemoryNode({ chainId, keyPair });
  const server = await startApiServer({ node, host: '127.0.0.1', port: 0, logger: silent });
  const url = `http://127.0.0.1:${server.address.port}`;
  let nonce = 0;
  /** Submits `count` transactions and commits them in one block; their ids in hex. */
  const commitBlock = async (count: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let index = 0; index < count; index++) {
      const tx = makeEnrolPatient({ chainId, keyPair, nonce: nonce++ });
      const result = await node.submitTransaction(tx.encoded);
      assert.ok(result.accepted);
      ids.push(toHex(tx.txId));
    }
    node.commitPending();
    return ids;
  };
  return { node, server, url, commitBlock };
}

type BlockEvent = {
  id: string;
  data: { height: number; hash: string; time: number; receipts: { txId: string; ok: boolean }[] };
};

/** Reads server-sent events from `response` until `count` block events came (or 5 s passed). */
async function readBlocks(response: Response, count: number): Promise<BlockEvent[]> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: BlockEvent[] = [];
  let text = '';
  const deadline = setTimeout(() => void reader.cancel(), 5_000);
  try {
    while (events.length < count) {
      const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
      if (done) break;
      text += decoder.decode(value, { stream: true });
      let boundary = text.indexOf('\n\n');
      while (boundary >= 0) {
        const lines = text.slice(0, boundary).split('\n');
        text = text.slice(boundary + 2);
        boundary = text.indexOf('\n\n');
        const field = (name: string) =>
          lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
        if (field('event') !== 'block') continue;
        events.push({ id: field('id')!, data: JSON.parse(field('data')!) as BlockEvent['data'] });
      }
    }
  } finally {
    clearTimeout(deadline);
    reader.releaseLock();
  }
  return events;
}

test('GET /chain/events streams each committed block once, in order, with its receipts', async () => {
  const { node, server, url, commitBlock } = await setup();
  await commitBlock(1);
  const response = await fetch(`${url}/chain/events`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  // Without a position the stream starts at the next block: block 1 is not replayed.
  const second = await commitBlock(2);
  const third = await commitBlock(0);
  const events = await readBlocks(response, 2);
  assert.deepEqual(
    events.map((event) => [event.id, event.data.height]),
    [
      ['2', 2],
      ['3', 3],
    ],
  );
  assert.deepEqual(
    events[0]!.data.receipts.map((receipt) => receipt.txId),
    second,
  );
  assert.deepEqual(third, []);
  assert.equal(events[0]!.data.hash, toHex(node.loadBlock(2)!.hash));
  await response.body!.cancel();
  await server.close();
});

test('a client resumes after Last-Event-ID or ?after=: the missed blocks first, then live ones', async () => {
  const { server, url, commitBlock } = await setup();
  const first = await commitBlock(2);
  await commitBlock(1);
  await commitBlock(1);
  const resumed = await fetch(`${url}/chain/events`, { headers: { 'last-event-id': '1' } });
  assert.equal(resumed.status, 200);
  const fromStart = await fetch(`${url}/chain/events?after=0`);
  await commitBlock(1);
  const replayed = await readBlocks(resumed, 3);
  assert.deepEqual(
    replayed.map((event) => event.data.height),
    [2, 3, 4],
  );
  const all = await readBlocks(fromStart, 4);
  assert.deepEqual(
    all.map((event) => event.data.height),
    [1, 2, 3, 4],
  );
  assert.deepEqual(
    all[0]!.data.receipts.map((receipt) => receipt.txId),
    first,
  );
  // ?after= wins over the header; a position ahead of the head simply waits for it.
  const ahead = await fetch(`${url}/chain/events?after=5`, { headers: { 'last-event-id': '0' } });
  await commitBlock(0);
  await commitBlock(0);
  const later = await readBlocks(ahead, 1);
  assert.deepEqual(
    later.map((event) => event.data.height),
    [6],
  );
  for (const response of [resumed, fromStart, ahead]) await response.body!.cancel();
  await server.close();
});

test('a position that is not a height, or too far behind to replay, is refused with 400', async () => {
  const { node, server, url } = await setup();
  for (const [query, header, message] of [
    ['?after=abc', undefined, /after: expected a height/],
    ['?after=-1', undefined, /after: expected a height/],
    ['?after=1.5', undefined, /after: expected a height/],
    ['', 'x', /Last-Event-ID: expected a height/],
    ['?after=9999999999999999', undefined, /after: expected a height up to/],
    ['?after=99999999999999999', undefined, /after: expected a height \(a whole number\)/],
  ] as const) {
    const response = await fetch(`${url}/chain/events${query}`, {
      headers: header === undefined ? {} : { 'last-event-id': header },
    });
    assert.equal(response.status, 400, `${query} ${header}`);
    const body = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'bad-request');
    assert.match(body.error.message, message);
  }
  for (let height = 0; height <= apiLimits.chainEventReplayBlocksMax; height++)
    node.commitPending();
  const tooOld = await fetch(`${url}/chain/events?after=0`);
  assert.equal(tooOld.status, 400);
  assert.match(await tooOld.text(), /after: at most 1000 blocks are replayed.*\/chain\/blocks/);
  const tooOldResumed = await fetch(`${url}/chain/events`, { headers: { 'last-event-id': '0' } });
  assert.equal(tooOldResumed.status, 400);
  assert.match(await tooOldResumed.text(), /Last-Event-ID: at most 1000 blocks are replayed/);
  // The twin: exactly the bound behind is replayed, a few blocks per turn; a block committed
  // meanwhile comes after the replayed ones, once.
  const oldest = await fetch(`${url}/chain/events?after=1`);
  assert.equal(oldest.status, 200);
  node.commitPending();
  const replayed = await readBlocks(oldest, apiLimits.chainEventReplayBlocksMax + 1);
  assert.deepEqual(
    replayed.map((event) => event.data.height),
    Array.from({ length: apiLimits.chainEventReplayBlocksMax + 1 }, (_, index) => index + 2),
  );
  await oldest.body!.cancel();
  await server.close();
});

test('streams are bounded per node, a closed one frees its place, and close() ends them all', async () => {
  const { server, url, commitBlock } = await setup();
  const open: Response[] = [];
  for (let index = 0; index < apiLimits.chainEventStreamsMax; index++) {
    const response = await fetch(`${url}/chain/events`);
    assert.equal(response.status, 200);
    open.push(response);
  }
  const refused = await fetch(`${url}/chain/events`);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), '1');
  assert.match(await refused.text(), /64 event streams are open/);
  await open.pop()!.body!.cancel();
  // The server learns of the closed socket asynchronously.
  let admitted: Response | null = null;
  for (let attempt = 0; attempt < 50 && admitted === null; attempt++) {
    const response = await fetch(`${url}/chain/events`);
    if (response.status === 200) admitted = response;
    else await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(admitted !== null, 'a closed stream frees its place');
  open.push(admitted);
  await commitBlock(1);
  // Closing the server ends every stream: each reader sees its end after the last block.
  await server.close();
  for (const response of open) {
    const events = await readBlocks(response, 2);
    assert.deepEqual(
      events.map((event) => event.data.height),
      [1],
    );
  }
});

test("the CLI's followBlockEvents reads the stream in order and stops when aborted or refused", async () => {
  const { server, url, commitBlock } = await setup();
  const first = await commitBlock(2);
  const controller = new AbortController();
  const seen: { height: number; txIds: string[] }[] = [];
  const following = followBlockEvents({
    baseUrl: url,
    after: 0,
    signal: controller.signal,
    onBlock: (block) => {
      seen.push({ height: block.height, txIds: block.receipts.map((receipt) => receipt.txId) });
      if (block.height === 2) controller.abort();
    },
  });
  await commitBlock(1);
  assert.equal(await following, 2);
  assert.deepEqual(seen[0], { height: 1, txIds: first });
  assert.deepEqual(
    seen.map((block) => block.height),
    [1, 2],
  );
  // The twin: a refused position throws with the node's status and message.
  await assert.rejects(
    followBlockEvents({
      baseUrl: url,
      after: -1,
      signal: new AbortController().signal,
      onBlock: () => assert.fail('no block for a refused stream'),
    }),
    (error: Error & { details?: { status?: number } }) =>
      error.details?.status === 400 && /after: expected a height/.test(error.message),
  );
  await server.close();
});
