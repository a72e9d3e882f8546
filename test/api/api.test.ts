// Checks every route of the HTTP API with fastify's inject against an in-memory RunningNode that
// uses the real chain code, valid and invalid input side by side, and one real socket.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { pino } from 'pino';

import { buildApiServer, startApiServer } from '../../src/api/index.ts';
import { toHex } from '../../src/base/index.ts';
import { array, bytes } from '../../src/codec/index.ts';
import { makeAnchorRecord, makeEnrolPatient } from '../../src/cli/index.ts';
import { generateEd25519KeyPair } from '../../src/keys/index.ts';
import { MemoryNode } from './memory-node.ts';

const chainId = 'api-test';
const silent = pino({ level: 'silent' });

async function setup(options: { mempoolMax?: number } = {}) {
  const keyPair = generateEd25519KeyPair();
  const node = new MemoryNode({ chainId, keyPair, ...options });
  const app = await buildApiServer({ node, logger: silent });
  return { node, app, keyPair };
}

function submit(app: Awaited<ReturnType<typeof setup>>['app'], body: Uint8Array, query = '') {
  return app.inject({
    method: 'POST',
    url: `/chain/transactions${query}`,
    headers: { 'content-type': 'application/cbor' },
    payload: Buffer.from(body),
  });
}

function assertError(
  response: { statusCode: number; json(): unknown; body: string },
  status: number,
  code: string,
  message?: RegExp,
) {
  assert.equal(response.statusCode, status, response.body);
  const body = response.json() as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  if (message !== undefined) assert.match(body.error.message, message);
  assert.doesNotMatch(response.body, /at .*\.ts:\d+/, 'no stack trace');
}

test('GET /health answers ok with the height, and 503 when the node cannot report', async () => {
  const { node, app } = await setup();
  const ok = await app.inject({ method: 'GET', url: '/health' });
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(ok.json(), { status: 'ok', height: 0 });
  node.statusFailure = new Error('store closed at /secret/path');
  const down = await app.inject({ method: 'GET', url: '/health' });
  assertError(down, 503, 'unavailable', /not running/);
  assert.doesNotMatch(down.body, /secret/);
  await app.close();
});

test('GET /chain/status serves the node status; an unknown route is a JSON 404', async () => {
  const { node, app } = await setup();
  const status = await app.inject({ method: 'GET', url: '/chain/status' });
  assert.equal(status.statusCode, 200);
  assert.deepEqual(status.json(), node.status());
  assertError(
    await app.inject({ method: 'GET', url: '/chain/nothing' }),
    404,
    'not-found',
    /no route GET \/chain\/nothing/,
  );
  assertError(await app.inject({ method: 'DELETE', url: '/chain/status' }), 404, 'not-found');
});

test('POST /chain/transactions accepts a signed transaction (202) and GET finds it once committed', async () => {
  const { node, app, keyPair } = await setup();
  const enrol = makeEnrolPatient({ chainId, keyPair, nonce: 0 });
  const accepted = await submit(app, enrol.encoded);
  assert.equal(accepted.statusCode, 202, accepted.body);
  assert.deepEqual(accepted.json(), { txId: toHex(enrol.txId) });

  const before = await app.inject({
    method: 'GET',
    url: `/chain/transactions/${toHex(enrol.txId)}`,
  });
  assertError(before, 404, 'not-found', /is not committed/);
  node.commitPending();
  const found = await app.inject({
    method: 'GET',
    url: `/chain/transactions/${toHex(enrol.txId).toUpperCase()}`,
  });
  assert.equal(found.statusCode, 200, found.body);
  assert.deepEqual(found.json(), {
    txId: toHex(enrol.txId),
    committed: true,
    height: 1,
    index: 0,
    logIndex: 0,
    receipt: { txId: toHex(enrol.txId), ok: true, code: null, message: null, cost: 12 },
  });
  for (const bad of ['abc', 'g'.repeat(64), '0'.repeat(63), '0'.repeat(65)]) {
    assertError(
      await app.inject({ method: 'GET', url: `/chain/transactions/${bad}` }),
      400,
      'bad-request',
      /txId: expected 64 hex digits/,
    );
  }
});

test('POST /chain/transactions?wait=1 answers 200 with the location after the commit', async () => {
  const { node, app, keyPair } = await setup();
  const enrol = makeEnrolPatient({ chainId, keyPair, nonce: 0 });
  const pending = submit(app, enrol.encoded, '?wait=1');
  // The memory node commits when told; commit as soon as the transaction is in its mempool.
  while (node.status().mempoolSize === 0) await new Promise((resolve) => setImmediate(resolve));
  node.commitPending();
  const answer = await pending;
  assert.equal(answer.statusCode, 200, answer.body);
  const body = answer.json<{ txId: string; height: number; receipt: { ok: boolean } }>();
  assert.equal(body.txId, toHex(enrol.txId));
  assert.equal(body.height, 1);
  assert.equal(body.receipt.ok, true);

  node.neverCommitWaits = true;
  const anchor = makeAnchorRecord({
    chainId,
    keyPair,
    nonce: 1,
    orgId: 'hospital',
    patientId: enrol.patientId,
  });
  const timedOut = await submit(app, anchor.encoded, '?wait=true');
  assert.equal(timedOut.statusCode, 202);
  assert.deepEqual(timedOut.json(), { txId: toHex(anchor.txId), committed: false });
  for (const wait of ['yes', '2', '']) {
    assertError(
      await submit(app, anchor.encoded, `?wait=${wait}`),
      400,
      'bad-request',
      /wait: expected 1, 0, true or false/,
    );
  }
});

test('POST /chain/transactions refuses bad input with the right status and code', async () => {
  const { node, app, keyPair } = await setup({ mempoolMax: 2 });
  const first = makeEnrolPatient({ chainId, keyPair, nonce: 0 });
  assert.equal((await submit(app, first.encoded)).statusCode, 202);

  assertError(await submit(app, first.encoded), 409, 'duplicate', /already known/);
  assertError(
    await submit(app, makeEnrolPatient({ chainId, keyPair, nonce: 5 }).encoded),
    409,
    'bad-nonce',
    /expected nonce 1, found 5/,
  );
  assertError(await submit(app, new Uint8Array([0xff, 0x00, 0x13])), 400, 'invalid-transaction');
  assertError(await submit(app, new Uint8Array(0)), 400, 'invalid-transaction', /empty body/);
  // A transaction of another chain, and one whose signature byte was flipped.
  assertError(
    await submit(app, makeEnrolPatient({ chainId: 'other', keyPair, nonce: 1 }).encoded),
    400,
    'invalid-transaction',
    /chain/,
  );
  const tampered = makeEnrolPatient({ chainId, keyPair, nonce: 1 }).encoded.slice();
  tampered[tampered.length - 1]! ^= 1;
  assertError(await submit(app, tampered), 400, 'invalid-transaction', /signature/);
  assertError(await submit(app, new Uint8Array(64 * 1024 + 1)), 413, 'too-large');

  const json = await app.inject({
    method: 'POST',
    url: '/chain/transactions',
    headers: { 'content-type': 'application/json' },
    payload: '{"kind":"record.anchor"}',
  });
  assertError(json, 415, 'unsupported-media-type', /application\/cbor/);
  const text = await app.inject({
    method: 'POST',
    url: '/chain/transactions',
    headers: { 'content-type': 'text/plain' },
    payload: 'hello',
  });
  assertError(text, 415, 'unsupported-media-type');
  const none = await app.inject({ method: 'POST', url: '/chain/transactions' });
  assertError(none, 415, 'unsupported-media-type');
  const badJson = await app.inject({
    method: 'POST',
    url: '/chain/transactions',
    headers: { 'content-type': 'application/json' },
    payload: '{',
  });
  assertError(badJson, 400, 'bad-request');

  assert.equal(
    (await submit(app, makeEnrolPatient({ chainId, keyPair, nonce: 1 }).encoded)).statusCode,
    202,
  );
  const busy = await submit(app, makeEnrolPatient({ chainId, keyPair, nonce: 2 }).encoded);
  assertError(busy, 503, 'busy', /busy/);
  assert.equal(busy.headers['retry-after'], '1');

  node.submitFailure = new Error('disk full at /var/lib/medledger');
  const failed = await submit(app, makeEnrolPatient({ chainId, keyPair, nonce: 2 }).encoded);
  assertError(failed, 500, 'internal', /internal error/);
  assert.doesNotMatch(failed.body, /disk full|var\/lib/);
});

test('GET /chain/blocks/:height shows header, transactions, commit and receipts in hex', async () => {
  const { node, app, keyPair } = await setup();
  const enrol = makeEnrolPatient({ chainId, keyPair, nonce: 0 });
  const anchor = makeAnchorRecord({
    chainId,
    keyPair,
    nonce: 1,
    orgId: 'hospital',
    patientId: enrol.patientId,
  });
  assert.equal((await submit(app, enrol.encoded)).statusCode, 202);
  assert.equal((await submit(app, anchor.encoded)).statusCode, 202);
  const committed = node.commitPending({ failFirst: true });
  const answer = await app.inject({ method: 'GET', url: '/chain/blocks/1' });
  assert.equal(answer.statusCode, 200, answer.body);
  const block = answer.json<{
    height: number;
    hash: string;
    header: Record<string, unknown>;
    txs: { id: string; kind: string; signer: string; nonce: number; body: string }[];
    commit: { blockHash: string; signatures: unknown[] };
    lastCommit: unknown;
    receipts: { txId: string; ok: boolean; code: string | null }[];
  }>();
  assert.equal(block.height, 1);
  assert.equal(block.hash, toHex(committed.hash));
  assert.equal(block.header.stateRoot, toHex(committed.block.header.stateRoot));
  assert.equal(block.header.logSize, 2);
  assert.equal(block.header.proposer, toHex(keyPair.publicKey));
  assert.deepEqual(
    block.txs.map((tx) => [tx.id, tx.kind, tx.signer, tx.nonce]),
    [
      [toHex(enrol.txId), 'identity.enrol-patient', toHex(keyPair.publicKey), 0],
      [toHex(anchor.txId), 'record.anchor', toHex(keyPair.publicKey), 1],
    ],
  );
  for (const tx of block.txs) assert.match(tx.body, /^[0-9a-f]+$/);
  assert.equal(block.commit.blockHash, block.hash);
  assert.equal(block.commit.signatures.length, 1);
  assert.equal(block.lastCommit, null);
  assert.deepEqual(
    block.receipts.map((r) => [r.txId, r.ok, r.code]),
    [
      [toHex(enrol.txId), false, 'unauthorised'],
      [toHex(anchor.txId), true, null],
    ],
  );

  assertError(
    await app.inject({ method: 'GET', url: '/chain/blocks/2' }),
    404,
    'not-found',
    /block 2 is not committed: the head is at height 1/,
  );
  for (const bad of ['0', '-1', 'abc', '1.5', '1e3', '99999999999999999', '00000000000000000']) {
    assertError(
      await app.inject({ method: 'GET', url: `/chain/blocks/${bad}` }),
      400,
      'bad-request',
      /height: expected a positive whole number/,
    );
  }
});

test('GET /metrics serves the node metrics with their content type', async () => {
  const { app } = await setup();
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(metrics.statusCode, 200);
  assert.equal(metrics.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.match(metrics.body, /^medledger_height 0$/m);
  assertError(await app.inject({ method: 'POST', url: '/metrics' }), 404, 'not-found');
});

test('startApiServer listens on a real socket and close() frees it', async () => {
  const node = new MemoryNode({ chainId, keyPair: generateEd25519KeyPair() });
  const server = await startApiServer({ node, host: '127.0.0.1', port: 0, logger: silent });
  assert.ok(server.address.port > 0);
  const url = `http://127.0.0.1:${server.address.port}`;
  const health = await fetch(`${url}/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok', height: 0 });
  await server.close();
  await assert.rejects(fetch(`${url}/health`), /fetch failed/);
  // A port already taken is refused with the system's error.
  const first = await startApiServer({ node, host: '127.0.0.1', port: 0, logger: silent });
  await assert.rejects(
    startApiServer({ node, host: '127.0.0.1', port: first.address.port, logger: silent }),
    /EADDRINUSE/,
  );
  await first.close();
});

test('POST /chain/transactions/batch judges each transaction on its own, in order', async () => {
  const { app, keyPair } = await setup();
  const enrol = makeEnrolPatient({ chainId, keyPair, nonce: 0 });
  const anchor = makeAnchorRecord({
    chainId,
    keyPair,
    nonce: 1,
    orgId: 'org',
    patientId: enrol.patientId,
  });
  const tampered = makeEnrolPatient({ chainId, keyPair, nonce: 2 }).encoded.slice();
  tampered[tampered.length - 1]! ^= 1;
  const batch = TransactionBatch.encode([enrol.encoded, anchor.encoded, enrol.encoded, tampered]);
  const response = await submitBatch(app, batch);
  assert.equal(response.statusCode, 200, response.body);
  const { results } = response.json<{
    results: ({ txId: string } | { error: { code: string } })[];
  }>();
  assert.deepEqual(
    results.map((result) => ('txId' in result ? result.txId : result.error.code)),
    [toHex(enrol.txId), toHex(anchor.txId), 'duplicate', 'invalid-transaction'],
  );
});

test('POST /chain/transactions/batch refuses a body that is not a bounded array of byte strings', async () => {
  const { app, keyPair } = await setup();
  const one = makeEnrolPatient({ chainId, keyPair, nonce: 0 }).encoded;
  // A single transaction is not a batch (its encoding is not an array of byte strings).
  assertError(await submitBatch(app, one), 400, 'bad-request', /CBOR array/);
  assertError(await submitBatch(app, new Uint8Array([0x81, 0x01])), 400, 'bad-request');
  const tooMany = TransactionBatch.encode(Array.from({ length: 1001 }, () => new Uint8Array(1)));
  assertError(await submitBatch(app, tooMany), 400, 'bad-request', /at most 1000/);
  const text = await app.inject({
    method: 'POST',
    url: '/chain/transactions/batch',
    headers: { 'content-type': 'text/plain' },
    payload: 'hello',
  });
  assertError(text, 415, 'unsupported-media-type');
  // Larger than one transaction is allowed (up to the batch bound).
  const big = TransactionBatch.encode(Array.from({ length: 600 }, () => one));
  assert.ok(big.length > 64 * 1024);
  assert.equal((await submitBatch(app, big)).statusCode, 200);
});

const TransactionBatch = array(bytes({ lengthMax: 65_536 }), { itemsMax: 2_000 });

function submitBatch(app: Awaited<ReturnType<typeof setup>>['app'], body: Uint8Array) {
  return app.inject({
    method: 'POST',
    url: '/chain/transactions/batch',
    headers: { 'content-type': 'application/cbor' },
    payload: Buffer.from(body),
  });
}
