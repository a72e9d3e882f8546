/**
 * Verification figures (issue 7): verifying a record-version bundle in a chain of 1,000,000
 * anchors (target < 5 ms) and its size (target < 8 KiB plus the headers of validator-set
 * changes). The chain is real (contracts execute every block; headers, commits and the history
 * log are real; the validator set changes twice), built in memory by the verifier's test
 * fixture. Only the anchors whose bundles are verified carry real signatures: the others carry a
 * zero signature, since execution never checks signatures (chain/ does, on admission) and the
 * verifier only sees the proven transaction. `MEDLEDGER_BENCH_VERIFY_ANCHORS` changes the count.
 */
import { performance } from 'node:perf_hooks';

import { utf8 } from '../src/base/index.ts';
import { type Transaction } from '../src/chain/index.ts';
import { contractBody } from '../src/contracts/index.ts';
import { sha256 } from '../src/crypto/index.ts';
import { buildRecordVersionBundle } from '../src/proofs/index.ts';
import { parseBundle, parseBundleText, trustGenesis, verifyBundle } from '../src/verify/index.ts';
import { chainId, idOf, keyOf } from '../test/contracts/fixtures.ts';
import { TestChain } from '../test/verify/chain-fixture.ts';
import { median, report } from './harness.ts';

const anchorCount = Number(process.env.MEDLEDGER_BENCH_VERIFY_ANCHORS ?? 1_000_000);
const blockTxCount = 5000;
const patientCount = 1000;
/** Blocks between two anchors with a real signature (the ones whose bundles are verified). */
const sampleEveryBlocks = 10;
const verifyRuns = 200;

export function benchVerification(): void {
  const started = performance.now();
  const chain = new TestChain();
  const bulkSigner = keyOf('node:org-d').publicKey;
  let bulkNonce = 0;
  // Placeholder-signed transactions of org-d (no other transaction of the fixture is org-d's): see the header comment.
  const bulk = (body: Parameters<typeof contractBody<'record.anchor'>>[1]): Transaction => ({
    chainId,
    kind: 'record.anchor',
    body: contractBody('record.anchor', body),
    signer: bulkSigner,
    nonce: bulkNonce++,
    signature: new Uint8Array(64),
  });
  const patients = Array.from({ length: patientCount }, (_, i) => idOf(`bench-patient:${i}`));
  chain.block(
    patients.map((patientId, i) =>
      chain.tx('node:org-a', 'identity.enrol-patient', {
        patientId,
        publicKey: keyOf(`bench-patient:${i}`).publicKey,
      }),
    ),
  );
  chain.setValidators(['node:org-a', 'node:org-b', 'node:org-c']);
  chain.setValidators(['node:org-b', 'node:org-c', 'node:org-d']);
  const samples: Array<{ recordId: Uint8Array }> = [];
  let anchored = 0;
  let blockIndex = 0;
  while (anchored < anchorCount) {
    const txs: Transaction[] = [];
    const count = Math.min(blockTxCount, anchorCount - anchored);
    const sampled = blockIndex % sampleEveryBlocks === 0;
    for (let i = 0; i < count; i++) {
      const n = anchored + i;
      const body = {
        recordId: idOf(`bench-record:${n}`),
        version: 1,
        resourceType: 'Observation',
        patientId: patients[n % patientCount]!,
        custodian: sampled && i === count >> 1 ? 'org-a' : 'org-d',
        contentHash: sha256(utf8(`bench-content:${n}`)),
        securityLabels: ['N'],
      };
      if (sampled && i === count >> 1) {
        txs.push(chain.tx('node:org-a', 'record.anchor', body));
        samples.push({ recordId: body.recordId });
      } else {
        txs.push(bulk(body));
      }
    }
    chain.block(txs);
    anchored += count;
    blockIndex++;
  }
  chain.block([]);
  chain.block([]);
  report('verify: chain built (anchors)', anchored, 'anchors');
  report('verify: history log size', chain.log().size, 'transactions');
  report('verify: time to build the chain', (performance.now() - started) / 1000, 's');

  const genesis = trustGenesis(JSON.parse(JSON.stringify(chain.genesis)));
  const texts = samples.map((sample) =>
    JSON.stringify(buildRecordVersionBundle(chain, { recordId: sample.recordId, version: 1 })),
  );
  // Per bundle: its whole size, and its size without the validator-set transitions it carries
  // (the target counts those apart: one header, commit and set proof per change).
  const sizes = texts.map((text) => Buffer.byteLength(text));
  const withoutTransitions = texts.map((text) => {
    const bundle = parseBundle(JSON.parse(text));
    const transitions = bundle.validatorChanges.reduce(
      (sum, change) => sum + Buffer.byteLength(JSON.stringify(change)) + 1,
      0,
    );
    return Buffer.byteLength(text) - transitions;
  });
  const last = parseBundle(JSON.parse(texts[texts.length - 1]!));
  report('verify: record-version bundle size (median, whole)', median(sizes), 'bytes');
  report(
    `verify: the same minus its ${last.validatorChanges.length} transitions (< 8 KiB)`,
    median(withoutTransitions),
    'bytes',
  );
  report('verify: bundles measured', texts.length, 'bundles');

  const times: number[] = [];
  for (let run = 0; run < verifyRuns; run++) {
    const text = texts[run % texts.length]!;
    const start = performance.now();
    verifyBundle(parseBundleText(text), genesis);
    times.push(performance.now() - start);
  }
  report('verify: record-version bundle, parse + verify (target < 5 ms)', median(times), 'ms');
  report(
    'verify: the same, 95th percentile',
    [...times].sort((a, b) => a - b)[Math.floor(verifyRuns * 0.95)]!,
    'ms',
  );
}
