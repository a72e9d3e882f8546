// Checks the server-sent event streams helper over a real socket with small limits: the stream
// bound, a client that stops reading cut off, keep-alive comments, a client that leaves and a
// server that closes both end the stream exactly once.
import assert from 'node:assert/strict';
import { type AddressInfo } from 'node:net';
import { test } from 'node:test';

import Fastify from 'fastify';

import { type EventStream, eventStreams } from '../../src/api/event-streams.ts';

async function setup(limits: { streamsMax: number; unsentBytesMax: number; keepAliveMs: number }) {
  const app = Fastify();
  const streams = eventStreams(app, limits);
  const open: EventStream[] = [];
  let ends = 0;
  app.get('/events', (_request, reply) => {
    if (streams.isFull) {
      void reply.code(429).send({ error: 'full' });
      return;
    }
    open.push(streams.open(reply, { headers: { 'x-test': 'yes' }, onEnd: () => ends++ }));
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/events`;
  return { app, streams, open, url, ends: () => ends };
}

/** Waits up to 2 s for `condition` (the server learns of a closed socket asynchronously). */
async function eventually(condition: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 100 && !condition(); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(condition(), what);
}

/** Reads from `response` until `pattern` shows up in the text, or 2 s pass. */
async function readUntil(response: Response, pattern: RegExp): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = setTimeout(() => void reader.cancel(), 2_000);
  try {
    while (!pattern.test(text)) {
      const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(deadline);
    reader.releaseLock();
  }
  return text;
}

test('a stream sends the event-stream head, what is written, and keep-alive comments', async () => {
  const s = await setup({ streamsMax: 4, unsentBytesMax: 1 << 20, keepAliveMs: 50 });
  try {
    const response = await fetch(s.url);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('x-test'), 'yes');
    await eventually(() => s.open.length === 1, 'the stream opened');
    s.open[0]!.write('event: ping\ndata: {"n":1}\n\n');
    const text = await readUntil(response, /: keep-alive\n\n/);
    assert.ok(text.startsWith(': subscribed\n\n'), text);
    assert.match(text, /event: ping\ndata: \{"n":1\}\n\n/);
    await response.body!.cancel();
    await eventually(() => s.ends() === 1, 'a client that leaves ends its stream');
    assert.equal(s.streams.size, 0);
    assert.equal(s.open[0]!.ended, true);
  } finally {
    await s.app.close();
  }
});

test('the stream bound refuses one more, and a place frees when a client leaves', async () => {
  const s = await setup({ streamsMax: 2, unsentBytesMax: 1 << 20, keepAliveMs: 60_000 });
  try {
    const first = await fetch(s.url);
    const second = await fetch(s.url);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    const refused = await fetch(s.url);
    assert.equal(refused.status, 429);
    await refused.text();
    await first.body!.cancel();
    await eventually(() => s.streams.size === 1, 'the closed stream left the count');
    const third = await fetch(s.url);
    assert.equal(third.status, 200);
    await second.body!.cancel();
    await third.body!.cancel();
    await eventually(() => s.ends() === 3, 'each stream ended once');
  } finally {
    await s.app.close();
  }
});

test('a client that stops reading is cut off once too much waits for it', async () => {
  const s = await setup({ streamsMax: 2, unsentBytesMax: 64 * 1024, keepAliveMs: 60_000 });
  try {
    const response = await fetch(s.url);
    assert.equal(response.status, 200);
    await eventually(() => s.open.length === 1, 'the stream opened');
    const stream = s.open[0]!;
    // The client reads nothing: the socket buffers fill, then the response's own buffer grows.
    const event = `data: ${'x'.repeat(16 * 1024)}\n\n`;
    for (let sent = 0; sent < 4096 && !stream.ended; sent++) stream.write(event);
    assert.equal(stream.ended, true, 'cut off rather than buffered without end');
    assert.equal(s.ends(), 1);
    assert.equal(s.streams.size, 0);
    stream.write('data: after the end\n\n'); // ignored, no throw
    await response.body!.cancel().catch(() => undefined);
  } finally {
    await s.app.close();
  }
});

test('closing the server ends every open stream, once each', async () => {
  const s = await setup({ streamsMax: 4, unsentBytesMax: 1 << 20, keepAliveMs: 60_000 });
  const responses = [await fetch(s.url), await fetch(s.url)];
  await eventually(() => s.open.length === 2, 'both streams opened');
  s.open[1]!.write('data: last\n\n');
  await s.app.close();
  assert.equal(s.ends(), 2);
  assert.match(await responses[1]!.text(), /data: last\n\n$/);
  assert.equal(await responses[0]!.text(), ': subscribed\n\n');
});
