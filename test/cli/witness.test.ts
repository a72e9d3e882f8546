// Runs `medledger witness` as a real process: against four validator processes, two runs pass as the chain grows (the second with a consistency proof), then a network restarted on wiped data (same keys, genesis) is reported as rewritten (exit 1, evidence, saved head kept); stand-in nodes over in-memory chains give a split view, a tampered bundle and a rollback; bad arguments exit 2.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createServer } from 'node:http';
import { after, test } from 'node:test';

import { fromHex, toHex } from '../../src/base/index.ts';
import {
  fetchStatus,
  findFreePorts,
  makeEnrolPatient,
  makeGenesisDocument,
  medledgerBin,
  submitEncoded,
  writeJsonFile,
} from '../../src/cli/index.ts';
import type { WitnessState } from '../../src/cli/witness-command.ts';
import { generateEd25519KeyPair } from '../../src/keys/index.ts';
import {
  ProofsError,
  buildConsentStateBundle,
  buildLogHeadBundle,
} from '../../src/proofs/index.ts';
import { parseBundle, trustGenesis, verifyBundle } from '../../src/verify/index.ts';
import { idOf, keyOf } from '../contracts/fixtures.ts';
import { TestNetwork } from '../net/harness.ts';
import { TestChain, testGenesis } from '../verify/chain-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'medledger-witness-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `medledger witness …` as a child process. */
function witness(
  ...args: string[]
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [medledgerBin, 'witness', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function readState(path: string): WitnessState {
  return JSON.parse(readFileSync(path, 'utf8')) as WitnessState;
}

/** Enrols a patient signed by load signer `index` at `nonce`, and waits for its commit. */
async function enrol(network: TestNetwork, index: number, nonce: number): Promise<void> {
  const tx = makeEnrolPatient({
    chainId: network.chainId,
    keyPair: network.loadSigners[index]!.keyPair,
    nonce,
  });
  const answer = await submitEncoded(network.url(0), tx.encoded, { wait: true });
  assert.equal(answer.status, 200, `enrolment committed: ${JSON.stringify(answer.body)}`);
}

/**
 * A stand-in node over HTTP that serves the two bundles the witness asks for from an in-memory
 * chain (real headers, real commits); `serve.chain` and `serve.tamper` may be swapped between runs.
 */
async function standInNode(chain: TestChain): Promise<{
  url: string;
  serve: { chain: TestChain; tamper: (bundle: Record<string, unknown>) => unknown };
  close: () => Promise<void>;
}> {
  const serve = { chain, tamper: (bundle: Record<string, unknown>): unknown => bundle };
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const answer = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    try {
      const since = url.searchParams.get('since');
      if (url.pathname === '/chain/bundles/log-head') {
        const bundle = buildLogHeadBundle(
          serve.chain,
          since === null ? {} : { oldSize: Number(since) },
        );
        answer(200, serve.tamper(bundle));
      } else if (url.pathname === '/chain/bundles/consent-state') {
        const bundle = buildConsentStateBundle(serve.chain, {
          consentId: fromHex(url.searchParams.get('consent')!),
          height: Number(url.searchParams.get('height')),
        });
        answer(200, bundle);
      } else {
        answer(404, { error: { message: `no route ${url.pathname}` } });
      }
    } catch (error) {
      if (!(error instanceof ProofsError)) throw error;
      answer(400, { error: { message: error.message } });
    }
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    serve,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A history of `blocks` blocks; block 1 enrols `patient` (another patient: another history). */
function history(patient: string, blocks: number): TestChain {
  const chain = new TestChain();
  chain.block([
    chain.tx('node:org-a', 'identity.enrol-patient', {
      patientId: idOf(patient),
      publicKey: keyOf(patient).publicKey,
    }),
  ]);
  for (let height = 2; height <= blocks; height++) chain.block([]);
  return chain;
}

test('stand-in nodes: a split view, a bundle that does not verify, a head that went down', async () => {
  const genesisFile = join(dir, 'stand-in-genesis.json');
  writeJsonFile(genesisFile, testGenesis());
  const stateFile = join(dir, 'stand-in-state.json');
  const nodeA = await standInNode(history('patient:p1', 3));
  const nodeB = await standInNode(history('patient:p2', 4));
  try {
    const args = (...nodes: string[]) => [
      ...nodes.flatMap((node) => ['--node', node]),
      '--state',
      stateFile,
      '--genesis',
      genesisFile,
    ];
    // Two nodes with two histories of one genesis, each block committed by 3 of 4 validators.
    const split = await witness(...args(nodeA.url, nodeB.url));
    assert.equal(split.status, 1, split.stderr);
    assert.match(
      split.stderr,
      new RegExp(
        `ALERT: SPLIT VIEW: ${nodeA.url.replaceAll('.', '\\.')} and ${nodeB.url.replaceAll('.', '\\.')} serve different blocks at height 3, each with a valid commit`,
      ),
    );
    assert.ok(existsSync(`${stateFile}.evidence-1.json`));
    assert.ok(!existsSync(stateFile), 'neither head of a split view is saved');

    // One node, seen for the first time, then again after two more blocks.
    assert.equal((await witness(...args(nodeA.url))).status, 0);
    const seen = readState(stateFile);
    nodeA.serve.chain.block([]);
    nodeA.serve.chain.block([]);
    const grown = await witness(...args(nodeA.url), '--json');
    assert.equal(grown.status, 0, grown.stderr);
    const report = JSON.parse(grown.stdout) as {
      nodes: { status: string; height: number; consistencyFrom: number }[];
    };
    assert.deepEqual(
      report.nodes.map((node) => [node.status, node.height, node.consistencyFrom]),
      [['extends', 5, seen.nodes[nodeA.url]!.logSize]],
    );
    const before = readFileSync(stateFile, 'utf8');

    // A commit signature altered in transit: the bundle does not verify, and says where.
    nodeA.serve.tamper = (bundle) => {
      const headers = bundle.headers as { header: string; commit: string }[];
      const commit = headers[0]!.commit;
      const last = commit.slice(-2) === '00' ? '01' : '00';
      return { ...bundle, headers: [{ ...headers[0]!, commit: commit.slice(0, -2) + last }] };
    };
    const tampered = await witness(...args(nodeA.url));
    assert.equal(tampered.status, 1);
    assert.match(tampered.stderr, /ALERT: .* served a bundle that does not verify/);
    assert.match(
      tampered.stderr,
      /does not verify: headers\[0\]\.commit: commit signature \d+ .* does not verify/,
    );
    assert.equal(readFileSync(stateFile, 'utf8'), before, 'the saved head stays');

    // The node rolls back to an earlier head of the same history: height and log went down.
    nodeA.serve.tamper = (bundle) => bundle;
    nodeA.serve.chain = history('patient:p1', 2);
    const shorter = await witness(...args(nodeA.url));
    assert.equal(shorter.status, 1);
    assert.match(shorter.stderr, /height went DOWN: it served height 5 before, now 2/);
    assert.equal(readFileSync(stateFile, 'utf8'), before, 'the saved head stays');
  } finally {
    await nodeA.close();
    await nodeB.close();
  }
});

test('bad arguments and an unreachable node: exit 2 with one clear line', async () => {
  const genesisFile = join(dir, 'genesis.json');
  writeJsonFile(
    genesisFile,
    makeGenesisDocument({
      chainId: 'witness-args',
      genesisTime: Date.now(),
      members: [
        {
          orgId: 'hospital',
          nodeKey: toHex(generateEd25519KeyPair().publicKey),
          roles: ['hospital'],
          power: 1,
        },
      ],
    }),
  );
  const state = join(dir, 'args-state.json');
  const [port] = await findFreePorts(1);
  const node = `http://127.0.0.1:${port}`;

  const noState = await witness('--node', node, '--genesis', genesisFile);
  assert.equal(noState.status, 2);
  assert.match(noState.stderr, /medledger witness: --state <file> is required/);

  const badUrl = await witness('--node', 'ftp://x/y', '--state', state, '--genesis', genesisFile);
  assert.equal(badUrl.status, 2);
  assert.match(badUrl.stderr, /--node: expected only http\(s\):\/\/host:port/);

  const noGenesis = await witness('--node', node, '--state', state, '--genesis', join(dir, 'nope'));
  assert.equal(noGenesis.status, 2);
  assert.match(noGenesis.stderr, /--genesis .*nope: no such file/);

  const unknown = await witness('--node', node, '--bogus');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown option '--bogus'/);

  const unreachable = await witness('--node', node, '--state', state, '--genesis', genesisFile);
  assert.equal(unreachable.status, 2);
  assert.match(
    unreachable.stderr,
    new RegExp(`${node.replaceAll('.', '\\.')} could not be checked: cannot reach`),
  );
  assert.ok(!existsSync(state), 'nothing seen, nothing saved');
});

test('the witness detects a node that serves a history that does not extend what it served before', async (t) => {
  const network = await TestNetwork.create({ validators: 4, loadSigners: 2, logLevel: 'warn' });
  try {
    await network.startValidators();
    const all = [0, 1, 2, 3];
    const urls = all.map((i) => network.url(i));
    const genesisFile = join(network.dir, 'genesis.json');
    const stateFile = join(network.dir, 'witness-state.json');
    const args = [
      ...urls.flatMap((url) => ['--node', url]),
      '--state',
      stateFile,
      '--genesis',
      genesisFile,
    ];
    await enrol(network, 0, 0);

    // First run: every node is seen for the first time; its verified head is saved.
    const first = await witness(...args);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout.match(/first seen, verified from the genesis file/g)?.length, 4);
    assert.equal(statSync(stateFile).mode & 0o777, 0o600);
    const seen = readState(stateFile);
    assert.equal(Object.keys(seen.nodes).length, 4);
    const seenHead = seen.nodes[urls[0]!]!;
    assert.ok(seenHead.logSize >= 1, 'the log holds the enrolment');

    // The chain grows; the second run demands and checks a consistency proof from the saved size.
    await enrol(network, 1, 0);
    await network.waitForHeight(seenHead.height + 2, all, 30_000);
    const second = await witness(...args);
    assert.equal(second.status, 0, second.stderr);
    assert.match(
      second.stdout,
      new RegExp(
        `OK ${urls[0]!.replaceAll('.', '\\.')}: height \\d+, log size \\d+: extends what it served before \\(consistency proof from size ${seenHead.logSize}; block at height ${seenHead.height} unchanged\\)`,
      ),
    );
    assert.match(second.stdout, /OK 4 nodes serve the same block at the lower of each two heights/);
    const kept = readState(stateFile);
    const keptHead = kept.nodes[urls[0]!]!;
    assert.ok(keptHead.height > seenHead.height && keptHead.logSize > seenHead.logSize);

    // A rewritten history: the chain stores are wiped (keys and genesis kept) and the network
    // starts over from genesis, with other blocks and other transactions, past the saved head.
    await network.stopAll();
    for (const node of network.nodes) rmSync(node.dataDir, { recursive: true, force: true });
    await network.startValidators();
    // As many transactions as before (other ones: new random pseudonyms), so that the node can
    // be asked for a consistency proof from the saved size.
    for (let nonce = 0; (await fetchStatus(urls[0]!)).logSize < keptHead.logSize; nonce++) {
      await enrol(network, 0, nonce);
    }
    await network.waitForHeight(keptHead.height + 1, all, 60_000);
    const fresh = await fetchStatus(urls[0]!);
    t.diagnostic(
      `saved head: height ${keptHead.height}, log size ${keptHead.logSize}; rewritten: height ${fresh.height}, log size ${fresh.logSize}`,
    );

    const third = await witness(...args);
    assert.equal(third.status, 1, third.stderr);
    for (const url of urls) {
      assert.match(
        third.stderr,
        new RegExp(
          `ALERT: ${url.replaceAll('.', '\\.')} serves a history that does not extend what it served before: the history was REWRITTEN`,
        ),
      );
    }
    assert.match(
      third.stderr,
      new RegExp(
        `log root at size ${keptHead.logSize}: expected ${keptHead.logRoot} \\(served before\\)`,
      ),
    );
    assert.match(
      third.stderr,
      new RegExp(
        `block at height ${keptHead.height}: expected ${keptHead.blockHash} \\(served before`,
      ),
    );
    assert.match(third.stderr, /evidence saved to .*witness-state\.json\.evidence-\d\.json/);
    assert.deepEqual(readState(stateFile), kept, 'the saved heads were not advanced');

    // The evidence: the head seen before, and the node's bundles as received, which verify
    // offline from the genesis file (they are signed, not hearsay).
    const evidenceFiles = readdirSync(dirname(stateFile)).filter((name) =>
      name.startsWith(`${basename(stateFile)}.evidence-`),
    );
    assert.equal(evidenceFiles.length, 4);
    const genesis = trustGenesis(JSON.parse(readFileSync(genesisFile, 'utf8')));
    const evidencePath = join(dirname(stateFile), evidenceFiles[0]!);
    assert.equal(statSync(evidencePath).mode & 0o777, 0o600);
    const evidence = JSON.parse(readFileSync(evidencePath, 'utf8')) as {
      kind: string;
      nodes: string[];
      seenBefore: { node: string; head: WitnessState['nodes'][string] };
      received: { path: string; body: unknown }[];
    };
    assert.equal(evidence.kind, 'history-rewritten');
    assert.deepEqual(evidence.seenBefore.head, kept.nodes[evidence.nodes[0]!]);
    assert.ok(evidence.received.length >= 2, 'the new head and the header at the saved height');
    for (const item of evidence.received) {
      const verified = verifyBundle(parseBundle(item.body), genesis);
      assert.ok(verified.head.height >= keptHead.height);
    }
  } catch (error) {
    (error as Error).message +=
      `\n(network folder ${network.dir}; set MEDLEDGER_KEEP_NET=1 to keep it)`;
    throw error;
  } finally {
    await network.destroy();
  }
});
