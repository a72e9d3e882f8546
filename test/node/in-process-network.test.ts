// Checks the node end to end in one process: four validators with real SQLite stores, real TLS
// links on 127.0.0.1 and real worker threads commit signed transactions and agree at every
// height; a stopped node restarts from its store and catches up (the multi-process tests with
// kill -9 are in test/net).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { toHex } from '../../src/base/index.ts';
import { createLocalNetwork } from '../../src/cli/network-files.ts';
import { makeAnchorRecord, makeEnrolPatient } from '../../src/cli/transactions.ts';
import {
  type RunningNode,
  createNodeLogger,
  loadNodeConfig,
  startNode,
} from '../../src/node/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'medledger-node-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const organisations = [
  { orgId: 'hospital', roles: ['hospital'] },
  { orgId: 'clinic', roles: ['clinic'] },
  { orgId: 'laboratory', roles: ['laboratory'] },
  { orgId: 'payer', roles: ['payer'] },
];

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function start(configFile: string, name: string): Promise<RunningNode> {
  return startNode(loadNodeConfig(configFile), {
    logger: createNodeLogger({ level: process.env.MEDLEDGER_TEST_LOG ?? 'silent', name }),
    onFatal: (error) => {
      throw error;
    },
  });
}

test('four in-process validators commit transactions and agree; a restarted one catches up', async () => {
  const network = await createLocalNetwork({
    dir,
    chainId: 'medledger-node-test',
    organisations,
    validatorCount: 4,
    genesisTime: Date.now() - 1000,
    logLevel: 'silent',
  });
  const nodes = await Promise.all(network.nodes.map((node) => start(node.configFile, node.orgId)));
  try {
    await until('all links', () => nodes.every((node) => node.status().peers.length === 3));
    // Each organisation enrols a patient and anchors records for them, through a different node.
    const submitted: Uint8Array[] = [];
    for (const [index, keyPair] of network.keyPairs.entries()) {
      const orgId = organisations[index]!.orgId;
      const node = nodes[index]!;
      const enrol = makeEnrolPatient({ chainId: 'medledger-node-test', keyPair, nonce: 0 });
      const first = await node.submitTransaction(enrol.encoded);
      assert.equal(first.accepted, true, JSON.stringify(first));
      submitted.push(enrol.txId);
      for (let nonce = 1; nonce <= 25; nonce++) {
        const anchor = makeAnchorRecord({
          chainId: 'medledger-node-test',
          keyPair,
          nonce,
          orgId,
          patientId: enrol.patientId,
        });
        const result = await node.submitTransaction(anchor.encoded);
        assert.equal(result.accepted, true, JSON.stringify(result));
        submitted.push(anchor.txId);
      }
      // The same transaction again is a duplicate; garbage is invalid.
      const again = await node.submitTransaction(enrol.encoded);
      assert.equal(again.accepted ? 'accepted' : again.code, 'duplicate');
      const garbage = await node.submitTransaction(new Uint8Array([1, 2, 3]));
      assert.equal(garbage.accepted ? 'accepted' : garbage.code, 'invalid');
    }
    const located = await Promise.all(
      submitted.map((txId) => nodes[0]!.waitForTransaction(txId, 60_000)),
    );
    for (const location of located) {
      assert.ok(location !== null, 'every transaction is committed');
      assert.equal(location.receipt.ok, true, location.receipt.message ?? '');
    }
    const height = Math.max(...located.map((location) => location!.height));
    await until('every node at the height', () => nodes.every((n) => n.status().height >= height));
    agree(nodes, height);

    // Stop one node, let the others go on, restart it from its store: it catches up.
    await nodes[3]!.stop();
    const target = nodes[0]!.status().height + 3;
    await until('three nodes go on', () => nodes[0]!.status().height >= target);
    nodes[3] = await start(network.nodes[3]!.configFile, 'payer');
    await until('the restarted node catches up', () => nodes[3]!.status().height >= target);
    agree(nodes, target);
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
  }
});

function agree(nodes: readonly RunningNode[], height: number): void {
  for (let h = 1; h <= height; h++) {
    const blocks = nodes.map((node) => node.loadBlock(h));
    const hashes = new Set(blocks.map((block) => (block === null ? 'missing' : toHex(block.hash))));
    assert.equal(hashes.size, 1, `height ${h}: ${[...hashes].join(', ')}`);
    assert.ok(!hashes.has('missing'), `height ${h} is missing somewhere`);
  }
}
