// Checks committed-state reads and the node's own transactions on four in-process validators with real SQLite stores and TLS links on 127.0.0.1: readers pinned per height, ten own transactions in flight with consecutive nonces, refusals and failed receipts that leave no nonce gap, a commit wait that times out, equivocation evidence sent by a member peer going in as an own transaction.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { pino } from 'pino';

import { equalBytes, fromHex, toHex } from '../../src/base/index.ts';
import { signVote } from '../../src/chain/index.ts';
import { type LocalNode, createLocalNetwork } from '../../src/cli/index.ts';
import { encodeConsensusMessage } from '../../src/consensus/index.ts';
import {
  type EnrolPatientBody,
  readChainHead,
  readMember,
  readNextNonce,
  readPatient,
} from '../../src/contracts/index.ts';
import type { Ed25519KeyPair } from '../../src/crypto/index.ts';
import { generateEd25519KeyPair } from '../../src/keys/index.ts';
import {
  NodeChannel,
  NodeError,
  type RunningNode,
  createNodeLogger,
  loadNodeConfig,
  startNode,
} from '../../src/node/index.ts';
import { startPeerNetwork } from '../../src/p2p/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'medledger-own-'));
const chainId = 'medledger-own-test';
const nodes: RunningNode[] = [];
let validators: LocalNode[] = [];
let keyPairs: Ed25519KeyPair[] = [];

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function enrolBody(patientId = new Uint8Array(randomBytes(16))): EnrolPatientBody {
  return { patientId, publicKey: generateEd25519KeyPair().publicKey };
}

function isNodeError(code: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof NodeError, String(error));
    assert.equal(error.code, code, error.message);
    return true;
  };
}

before(async () => {
  const network = await createLocalNetwork({
    dir,
    chainId,
    organisations: ['hospital', 'clinic', 'laboratory', 'payer', 'intruder'].map((orgId) => ({
      orgId,
      roles: ['hospital'],
    })),
    validatorCount: 4,
    genesisTime: Date.now() - 1000,
    logLevel: 'silent',
  });
  validators = network.nodes.slice(0, 4);
  keyPairs = network.keyPairs;
  for (const node of validators) {
    nodes.push(
      await startNode(loadNodeConfig(node.configFile), {
        logger: createNodeLogger({ level: 'silent', name: node.orgId }),
        onFatal: (error) => {
          throw error;
        },
      }),
    );
  }
  await until('all links', () => nodes.every((node) => node.status().peers.length === 3));
});

after(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
  rmSync(dir, { recursive: true, force: true });
});

test('stateReader answers for the height it was taken at; a later one sees the commit', async () => {
  const node = nodes[0]!;
  const earlier = node.stateReader();
  assert.equal(readChainHead(earlier)?.height ?? 0, earlier.height);
  const body = enrolBody();
  assert.equal(readPatient(earlier, body.patientId), null);

  const location = await node.submitOwnAndWait('identity.enrol-patient', body, 60_000);
  assert.equal(location.receipt.ok, true, location.receipt.message ?? '');

  const later = node.stateReader();
  assert.ok(later.height >= location.height);
  assert.equal(readChainHead(later)?.height, later.height);
  assert.deepEqual(later.stateRoot, node.loadBlock(later.height)?.block.header.stateRoot);
  const patient = readPatient(later, body.patientId);
  assert.ok(patient !== null, 'the enrolled patient is in the committed state');
  assert.equal(patient.enrolledBy, 'hospital');
  assert.equal(patient.enrolledHeight, location.height);
  // The reader taken before the commit still answers for its own height.
  assert.equal(readPatient(earlier, body.patientId), null);
  assert.equal(readChainHead(earlier)?.height ?? 0, earlier.height);

  // Another validator's reader shows it once that node has committed the block.
  await until('the clinic commits the block', () => nodes[1]!.status().height >= location.height);
  assert.deepEqual(readPatient(nodes[1]!.stateReader(), body.patientId), patient);
});

test('ten own transactions in flight at once take consecutive nonces and all commit', async () => {
  const node = nodes[1]!;
  const first = readNextNonce(node.stateReader(), node.nodeKey);
  const results = await Promise.all(
    Array.from({ length: 10 }, () => node.submitOwn('identity.enrol-patient', enrolBody())),
  );
  assert.deepEqual(
    results.map((result) => (result.accepted ? result.nonce : result.message)),
    Array.from({ length: 10 }, (_, index) => first + index),
  );
  const locations = await Promise.all(
    results.map((result) =>
      result.accepted ? node.waitForTransaction(result.txId, 60_000) : Promise.resolve(null),
    ),
  );
  for (const location of locations) {
    assert.ok(location !== null, 'committed');
    assert.equal(location.receipt.ok, true, location.receipt.message ?? '');
  }
  const height = Math.max(...locations.map((location) => location!.height));
  await until('the node reads its own height', () => node.stateReader().height >= height);
  assert.equal(readNextNonce(node.stateReader(), node.nodeKey), first + 10);
});

test('refused own transactions leave no nonce gap: the next ones commit', async () => {
  const node = nodes[2]!;
  const first = readNextNonce(node.stateReader(), node.nodeKey);

  // A body its kind's schema refuses: refused before signing, no nonce taken.
  const bad = { patientId: new Uint8Array(3), publicKey: generateEd25519KeyPair().publicKey };
  const refused = await node.submitOwn('identity.enrol-patient', bad);
  assert.equal(refused.accepted, false);
  assert.equal(refused.accepted ? null : refused.code, 'invalid');
  assert.equal(refused.nonce, null);
  await assert.rejects(node.submitOwnAndWait('identity.enrol-patient', bad, 60_000), (error) => {
    isNodeError('refused')(error);
    assert.equal((error as NodeError).details.code, 'invalid');
    return true;
  });
  await assert.rejects(
    node.submitOwnAndWait('identity.enrol-patient', enrolBody(), 0),
    isNodeError('invalid-argument'),
  );

  // A body the contract refuses (a patient enrolled twice) commits with a failed receipt: its
  // nonce is used, and the transactions after it commit.
  const body = enrolBody();
  const enrolled = await node.submitOwnAndWait('identity.enrol-patient', body, 60_000);
  assert.equal(enrolled.receipt.ok, true, enrolled.receipt.message ?? '');
  const again = await node.submitOwnAndWait('identity.enrol-patient', body, 60_000);
  assert.equal(again.receipt.ok, false);
  assert.equal(again.receipt.code, 'already-exists');
  const next = await Promise.all(
    [enrolBody(), enrolBody(), enrolBody()].map((item) =>
      node.submitOwnAndWait('identity.enrol-patient', item, 60_000),
    ),
  );
  for (const location of next) assert.equal(location.receipt.ok, true);
  const height = Math.max(...next.map((location) => location.height));
  await until('the node reads its own height', () => node.stateReader().height >= height);
  assert.equal(readNextNonce(node.stateReader(), node.nodeKey), first + 5);
});

test('an own transaction not committed in time rejects with timeout, and commits later', async () => {
  const node = nodes[3]!;
  // Cut off from the other validators, the node cannot commit anything.
  node.pauseLinks();
  let txIdHex: string;
  try {
    const error = await node.submitOwnAndWait('identity.enrol-patient', enrolBody(), 300).then(
      () => null,
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof NodeError, String(error));
    assert.equal(error.code, 'timeout');
    txIdHex = String(error.details.txId);
  } finally {
    node.resumeLinks();
  }
  // It waits in the mempool, and commits once the node is back (it proposes it in its turn).
  const location = await node.waitForTransaction(fromHex(txIdHex), 60_000);
  assert.ok(location !== null, 'committed after the links came back');
  assert.equal(location.receipt.ok, true);
  assert.equal(toHex(location.txId), txIdHex);
});

test('equivocation evidence from a member peer goes in as an own transaction after those in flight', async () => {
  const node = nodes[0]!;
  const target = validators[0]!;
  // The payer's validator key signs two different prevotes of one height and round (the test
  // holds every key); a member's node (the intruder) relays them to the hospital's node.
  const payer = keyPairs[3]!;
  const payerIndex = node
    .status()
    .validators.findIndex((validator) => validator.publicKey === toHex(payer.publicKey));
  assert.ok(payerIndex >= 0);
  const evidenceCount = (): number =>
    readMember(node.stateReader(), 'payer')?.evidenceCount ?? Number.NaN;
  const before = evidenceCount();
  const hostile = await startPeerNetwork({
    chainId,
    keyPair: keyPairs[4]!,
    listen: { host: '127.0.0.1', port: 0 },
    peers: [{ publicKey: fromHex(target.nodeKey), host: '127.0.0.1', port: target.p2pPort }],
    isAllowedPeer: () => true,
    logger: pino({ level: 'silent' }),
    onFrame: () => undefined,
  });
  try {
    await until('the intruder links up', () =>
      hostile.peers().some((peer) => peer.id === target.nodeKey),
    );
    // The votes count only at the node's current height: try again if a commit came between.
    // Each try first puts own transactions in flight, so that the evidence, reported while they
    // wait, must take the nonce after theirs (the committed next nonce is taken).
    const batches: { txIds: Uint8Array[]; lastNonce: number }[] = [];
    for (let attempt = 0; attempt < 10 && evidenceCount() === before; attempt++) {
      const inFlight = await Promise.all(
        [enrolBody(), enrolBody(), enrolBody()].map((body) =>
          node.submitOwn('identity.enrol-patient', body),
        ),
      );
      const nonces = inFlight.map((result) => result.nonce ?? -1);
      assert.deepEqual(nonces, [nonces[0]!, nonces[0]! + 1, nonces[0]! + 2]);
      batches.push({
        txIds: inFlight.flatMap((result) => (result.accepted ? [result.txId] : [])),
        lastNonce: nonces[2]!,
      });
      const height = node.status().height + 1;
      for (const blockHash of [null, new Uint8Array(32).fill(attempt + 1)]) {
        const vote = signVote({
          chainId,
          vote: { type: 'prevote', height, round: 0, blockHash, validatorIndex: payerIndex },
          keyPair: payer,
        });
        hostile.send(
          target.nodeKey,
          NodeChannel.consensus,
          encodeConsensusMessage({ kind: 'vote', vote }),
        );
      }
      await until(
        'the evidence or three more blocks',
        () => evidenceCount() > before || node.status().height >= height + 3,
      );
    }
    assert.ok(evidenceCount() > before, 'the evidence is recorded against the payer');
    for (const txId of batches.flatMap((batch) => batch.txIds)) {
      const location = await node.waitForTransaction(txId, 60_000);
      assert.equal(location?.receipt.ok, true);
    }
    // The evidence transaction is the hospital node's own, with the nonce after a batch's.
    const evidence: { nonce: number; ok: boolean }[] = [];
    for (let height = 1; height <= node.status().height; height++) {
      const block = node.loadBlock(height);
      for (const [index, tx] of (block?.block.txs ?? []).entries()) {
        if (tx.kind === 'membership.evidence' && equalBytes(tx.signer, node.nodeKey)) {
          evidence.push({ nonce: tx.nonce, ok: block!.receipts[index]!.ok });
        }
      }
    }
    assert.ok(evidence.length >= 1);
    assert.equal(evidence[0]!.ok, true);
    assert.ok(
      batches.some((batch) => batch.lastNonce + 1 === evidence[0]!.nonce),
      `evidence nonce ${evidence[0]!.nonce} follows a batch (${batches.map((b) => b.lastNonce).join(', ')})`,
    );
  } finally {
    await hostile.stop();
  }
});
