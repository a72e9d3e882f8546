// Real-process network tests: four `medledger node start` processes on 127.0.0.1 under a
// closed-loop load of signed record anchors sent over HTTP; kill -9, SIGSTOP/SIGCONT (a node cut
// off), a lost quorum, hostile peer connections and a joining non-validator, each followed by a
// block-by-block comparison of hashes, state roots and log roots.
import assert from 'node:assert/strict';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { test } from 'node:test';

import { fetchStatus } from '../../src/cli/index.ts';
import { AnchorLoad, TestNetwork, seededRandom, sleep } from './harness.ts';

/** Checks that no block holds equivocation evidence and that every load receipt succeeded. */
function assertCleanBlocks(blocks: Awaited<ReturnType<TestNetwork['assertAgree']>>): void {
  for (const block of blocks) {
    for (const [index, tx] of block.txs.entries()) {
      assert.notEqual(
        tx.kind,
        'membership.evidence',
        `equivocation evidence at height ${block.height}`,
      );
      const receipt = block.receipts[index]!;
      assert.ok(
        receipt.ok,
        `height ${block.height} tx ${index} (${tx.kind}) failed: ${receipt.code}`,
      );
    }
  }
}

async function withNetwork(
  options: Parameters<typeof TestNetwork.create>[0],
  body: (network: TestNetwork) => Promise<void>,
): Promise<void> {
  const network = await TestNetwork.create(options);
  try {
    await network.startValidators();
    await body(network);
  } catch (error) {
    (error as Error).message +=
      `\n(network folder ${network.dir}; set MEDLEDGER_KEEP_NET=1 to keep it)`;
    throw error;
  } finally {
    await network.destroy();
  }
}

async function waitForCommits(load: AnchorLoad, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (load.committed < count) {
    assert.ok(
      Date.now() < deadline,
      `only ${load.committed} of ${count} committed in ${timeoutMs} ms`,
    );
    await sleep(100);
  }
}

test('four nodes commit 1,000 transactions and agree at every height', async () => {
  await withNetwork({ validators: 4, loadSigners: 8 }, async (network) => {
    const load = new AnchorLoad({ network });
    load.start(8);
    await waitForCommits(load, 1000, 90_000);
    await load.stopClients();
    await load.drain(30_000);
    await load.close();
    const heights = await network.heights();
    const blocks = await network.assertAgree([0, 1, 2, 3], Math.min(...heights));
    assertCleanBlocks(blocks);
    const anchors = blocks.flatMap((b) => b.txs).filter((tx) => tx.kind === 'record.anchor');
    assert.ok(anchors.length >= 1000, `${anchors.length} anchors committed`);
  });
});

test('kill -9 one validator under load: the others commit on, and it catches up and agrees', async () => {
  await withNetwork({ validators: 4, loadSigners: 4 }, async (network) => {
    const load = new AnchorLoad({ network });
    load.start(4);
    await waitForCommits(load, 100, 60_000);
    await network.processes[3]!.kill();
    const [atKill] = await network.heights([0]);
    const before = load.committed;
    await network.waitForHeight(atKill! + 5, [0, 1, 2], 30_000);
    await waitForCommits(load, before + 100, 60_000);
    await network.processes[3]!.start();
    const [head] = await network.heights([0]);
    await network.waitForHeight(head!, [3], 60_000);
    await load.stopClients();
    await load.drain(30_000);
    await load.close();
    const heights = await network.heights();
    assertCleanBlocks(await network.assertAgree([0, 1, 2, 3], Math.min(...heights)));
  });
});

test('kill -9 a validator 20 times at seeded random moments: nothing committed is lost or changed', async (t) => {
  const seed = Number(process.env.MEDLEDGER_NET_SEED ?? Date.now() % 1_000_000);
  t.diagnostic(`seed ${seed} (replay with MEDLEDGER_NET_SEED=${seed})`);
  const random = seededRandom(seed);
  await withNetwork({ validators: 4, loadSigners: 4 }, async (network) => {
    const load = new AnchorLoad({ network });
    load.start(4);
    await waitForCommits(load, 20, 60_000);
    for (let round = 0; round < 20; round++) {
      const victim = Math.floor(random() * 4);
      await sleep(100 + Math.floor(random() * 1500));
      const [before] = await network.heights([victim]);
      await network.processes[victim]!.kill();
      await network.processes[victim]!.start();
      const status = await fetchStatus(network.url(victim));
      assert.ok(
        status.height >= before!,
        `seed ${seed} round ${round}: node ${victim} restarted at height ${status.height}, had ${before}`,
      );
      if (before! > 0) {
        const reference = network.running().find((i) => i !== victim)!;
        await network.assertAgree([reference, victim], before!).catch((error: Error) => {
          throw new Error(`seed ${seed} round ${round}: ${error.message}`);
        });
      }
    }
    const [head] = await network.heights([0]);
    await network.waitForHeight(head!, [0, 1, 2, 3], 60_000);
    await load.stopClients();
    await load.drain(60_000);
    await load.close();
    const heights = await network.heights();
    assertCleanBlocks(await network.assertAgree([0, 1, 2, 3], Math.min(...heights)));
  });
});

test('a node cut off (SIGSTOP) catches up when healed; with two of four stopped, commits stop and resume', async () => {
  await withNetwork({ validators: 4, loadSigners: 4 }, async (network) => {
    const paused = new Set<number>();
    const load = new AnchorLoad({
      network,
      targets: () => [0, 1, 2, 3].filter((i) => !paused.has(i)),
    });
    load.start(4);
    await waitForCommits(load, 50, 60_000);
    paused.add(3);
    network.processes[3]!.pause();
    const [cut] = await network.heights([0]);
    await network.waitForHeight(cut! + 5, [0, 1, 2], 30_000);
    paused.delete(3);
    network.processes[3]!.resume();
    const [healed] = await network.heights([0]);
    await network.waitForHeight(healed!, [3], 60_000);

    // Two of four stopped: no quorum (more than 2/3 of the power is needed), so no commits.
    paused.add(2).add(3);
    network.processes[2]!.pause();
    network.processes[3]!.pause();
    await sleep(1_500);
    const [stalled] = await network.heights([0]);
    await sleep(4_000);
    const [still] = await network.heights([0]);
    assert.equal(still, stalled, 'no block is committed without a quorum');
    paused.delete(2);
    network.processes[2]!.resume();
    await network.waitForHeight(stalled! + 3, [0, 1, 2], 60_000);
    paused.delete(3);
    network.processes[3]!.resume();
    const [head] = await network.heights([0]);
    await network.waitForHeight(head!, [3], 60_000);
    await load.stopClients();
    await load.drain(30_000);
    await load.close();
    const heights = await network.heights();
    assertCleanBlocks(await network.assertAgree([0, 1, 2, 3], Math.min(...heights)));
  });
});

/** Opens a connection, sends `bytes` and resolves when the node closes it. */
function hostileTcp(port: number, bytes: Uint8Array): Promise<'closed'> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: '127.0.0.1', port }, () => socket.write(bytes));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve('closed'));
    setTimeout(
      () => reject(new Error('the node kept a hostile connection open for 30 s')),
      30_000,
    ).unref();
  });
}

test('peers sending garbage, oversized frames or an unknown TLS identity are dropped; the network goes on', async () => {
  await withNetwork({ validators: 4, loadSigners: 2 }, async (network) => {
    const load = new AnchorLoad({ network });
    load.start(2);
    await waitForCommits(load, 20, 60_000);
    const p2pPort = network.nodes[0]!.p2pPort;
    const garbage = new Uint8Array(4096).map((_, i) => (i * 97 + 13) & 0xff);
    const oversized = new Uint8Array([0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
    assert.equal(await hostileTcp(p2pPort, garbage), 'closed');
    assert.equal(await hostileTcp(p2pPort, oversized), 'closed');
    // A TLS client without a certificate bound to a member's node key.
    const tlsOutcome = await new Promise<string>((resolve) => {
      const socket = connectTls({
        host: '127.0.0.1',
        port: p2pPort,
        rejectUnauthorized: false,
        minVersion: 'TLSv1.3',
      });
      socket.on('secureConnect', () => socket.write(garbage));
      socket.on('error', () => resolve('closed'));
      socket.on('close', () => resolve('closed'));
    });
    assert.equal(tlsOutcome, 'closed');
    const [after] = await network.heights([0]);
    await network.waitForHeight(after! + 3, [0, 1, 2, 3], 30_000);
    const status = await fetchStatus(network.url(0));
    assert.equal(
      status.peers.length,
      3,
      `node 0 keeps its three real peers: ${JSON.stringify(status.peers)}`,
    );
    await load.stopClients();
    await load.drain(30_000);
    await load.close();
    const heights = await network.heights();
    assertCleanBlocks(await network.assertAgree([0, 1, 2, 3], Math.min(...heights)));
  });
});

test('a new non-validator node joins from the genesis file and syncs the whole chain', async () => {
  await withNetwork({ validators: 4, observers: 1, loadSigners: 4 }, async (network) => {
    const load = new AnchorLoad({ network });
    load.start(4);
    await waitForCommits(load, 200, 60_000);
    await load.stopClients();
    await load.drain(30_000);
    await load.close();
    await network.processes[4]!.start();
    const [head] = await network.heights([0]);
    await network.waitForHeight(head!, [4], 60_000);
    const status = await fetchStatus(network.url(4));
    assert.equal(status.isValidator, false);
    assertCleanBlocks(await network.assertAgree([0, 1, 2, 3, 4], head!));
  });
});
