// Checks the proof and bundle routes with fastify's inject over a real in-memory chain (the
// verifier's scenario: validator set changed twice): every bundle served verifies offline from
// the genesis document, raw proofs check with merkle's verifiers, and bad parameters get a 400
// naming the parameter, unknown records a 404.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { pino } from 'pino';

import { buildApiServer } from '../../src/api/index.ts';
import { fromHex, toHex } from '../../src/base/index.ts';
import { StateNamespace, stateKey } from '../../src/contracts/index.ts';
import { generateEd25519KeyPair } from '../../src/keys/index.ts';
import { verifyLogConsistency } from '../../src/merkle/index.ts';
import { parseBundle, trustGenesis, verifyBundle } from '../../src/verify/index.ts';
import { buildScenario } from '../verify/scenario.ts';
import { MemoryNode } from './memory-node.ts';

const scenario = buildScenario();
const { chain } = scenario;
const genesis = trustGenesis(JSON.parse(JSON.stringify(chain.genesis)));

async function setup() {
  const node = new MemoryNode({
    chainId: chain.genesis.chainId,
    keyPair: generateEd25519KeyPair(),
    chain,
  });
  return buildApiServer({ node, logger: pino({ level: 'silent' }) });
}

test('every bundle route serves a bundle that verifies offline', async () => {
  const app = await setup();
  const urls = {
    'record-version': `/chain/bundles/record-version?record=${toHex(scenario.lateRecordId)}&version=1`,
    erasure: `/chain/bundles/erasure?record=${toHex(scenario.recordId)}`,
    'consent-state': `/chain/bundles/consent-state?consent=${toHex(scenario.consentId)}&height=${scenario.grantedHeight}`,
    'access-log': `/chain/bundles/access-log?patient=${toHex(scenario.patientId)}&from=2020-01-01&to=2030-12-31`,
    'log-head': '/chain/bundles/log-head?since=2',
  };
  for (const [kind, url] of Object.entries(urls)) {
    const response = await app.inject({ method: 'GET', url });
    assert.equal(response.statusCode, 200, `${kind}: ${response.body}`);
    const verified = verifyBundle(parseBundle(response.json()), genesis);
    assert.equal(verified.kind, kind);
    // The consent is proven at a height before the two validator-set changes.
    assert.equal(verified.transitionHeights.length, kind === 'consent-state' ? 0 : 2, kind);
  }
  await app.close();
});

test('the signed head, a consistency proof and a state proof are served and check', async () => {
  const app = await setup();
  const genesisAnswer = await app.inject({ method: 'GET', url: '/chain/genesis' });
  assert.equal(genesisAnswer.statusCode, 200);
  assert.equal(trustGenesis(genesisAnswer.json()).chainId, chain.genesis.chainId);
  const head = (await app.inject({ method: 'GET', url: '/chain/proofs/head' })).json<{
    height: number;
    logSize: number;
    logRoot: string;
  }>();
  assert.equal(head.height, chain.head().height);
  const consistency = (
    await app.inject({ method: 'GET', url: '/chain/proofs/consistency?from=3' })
  ).json<{
    oldSize: number;
    newSize: number;
    oldRoot: string;
    newRoot: string;
    path: string[];
  }>();
  assert.equal(consistency.newRoot, head.logRoot);
  verifyLogConsistency({
    oldSize: consistency.oldSize,
    newSize: consistency.newSize,
    oldRoot: fromHex(consistency.oldRoot),
    newRoot: fromHex(consistency.newRoot),
    proof: consistency.path.map(fromHex),
  });
  const key = toHex(stateKey(StateNamespace.consent, scenario.consentId));
  const state = await app.inject({
    method: 'GET',
    url: `/chain/proofs/state?key=${key}&height=${scenario.grantedHeight - 1}`,
  });
  assert.equal(state.statusCode, 200, state.body);
  assert.equal(state.json<{ proof: { value: unknown } }>().proof.value, null);
  await app.close();
});

test('bad parameters are refused naming the parameter; unknown things are 404', async () => {
  const app = await setup();
  const cases: Array<[string, number, RegExp]> = [
    ['/chain/bundles/record-version?record=zz&version=1', 400, /^record: expected 32 hex digits/],
    [`/chain/bundles/record-version?record=${'ab'.repeat(16)}`, 400, /^version: expected/],
    [`/chain/bundles/record-version?record=${'ab'.repeat(16)}&version=1`, 404, /has no version 1/],
    [`/chain/bundles/erasure?record=${toHex(scenario.keptRecordId)}`, 404, /is not erased/],
    [
      `/chain/bundles/consent-state?consent=${toHex(scenario.consentId)}&height=999`,
      400,
      /height: expected 1 to/,
    ],
    [
      `/chain/bundles/access-log?patient=${toHex(scenario.patientId)}&from=yesterday&to=1`,
      400,
      /^from: expected Unix milliseconds/,
    ],
    [`/chain/bundles/access-log?patient=${toHex(scenario.patientId)}&from=5&to=1`, 400, /period/],
    ['/chain/bundles/log-head?since=-1', 400, /^since: expected a whole number/],
    [
      `/chain/bundles/access-log?patient=${toHex(scenario.patientId)}&from=2026-02-31&to=2026-03-02`,
      400,
      /^from: expected Unix milliseconds, a date/,
    ],
    ['/chain/proofs/consistency?from=1&to=99999', 400, /from ≤ to/],
    ['/chain/proofs/consistency', 400, /^from: expected a log size/],
    [`/chain/proofs/transactions/${'00'.repeat(32)}`, 404, /is not committed/],
    ['/chain/proofs/state?key=12', 400, /^key: expected 64 hex digits/],
  ];
  for (const [url, status, message] of cases) {
    const response = await app.inject({ method: 'GET', url });
    assert.equal(response.statusCode, status, `${url}: ${response.body}`);
    assert.match(response.json<{ error: { message: string } }>().error.message, message, url);
  }
  await app.close();
});
