// Checks the verification bundles end to end on a real in-memory chain whose validator set changed
// twice: every kind is built and verified from the genesis document alone, and changing any byte
// of a proof, header, signature, event or the genesis makes verification fail naming the part; a
// version anchored by a record.anchor-batch verifies the same way, against its item in the batch.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { toHex, utf8 } from '../../src/base/index.ts';
import { encodeTransaction, signTransaction } from '../../src/chain/index.ts';
import { contractBody } from '../../src/contracts/index.ts';
import { sha256 } from '../../src/crypto/index.ts';
import {
  buildAccessLogBundle,
  buildConsentStateBundle,
  buildErasureBundle,
  buildLogHeadBundle,
  buildRecordVersionBundle,
} from '../../src/proofs/index.ts';
import {
  type VerifiedBundle,
  VerifyError,
  parseBundle,
  parseBundleText,
  summariseVerifiedBundle,
  trustGenesis,
  verifyBundle,
  verifyHeadExtends,
} from '../../src/verify/index.ts';
import { chainId, idOf, keyOf } from '../contracts/fixtures.ts';
import { TestChain } from './chain-fixture.ts';
import { buildScenario } from './scenario.ts';

const scenario = buildScenario();
const { chain } = scenario;
const genesisJson = JSON.parse(JSON.stringify(chain.genesis)) as unknown;

function verify(bundle: unknown, genesis: unknown = genesisJson): VerifiedBundle {
  return verifyBundle(parseBundle(JSON.parse(JSON.stringify(bundle))), trustGenesis(genesis));
}

function failure(run: () => unknown): VerifyError {
  try {
    run();
  } catch (error) {
    if (error instanceof VerifyError) return error;
    throw error;
  }
  assert.fail('expected the bundle to fail verification');
}

const bundles = {
  'record-version': buildRecordVersionBundle(chain, {
    recordId: scenario.lateRecordId,
    version: 1,
  }),
  erasure: buildErasureBundle(chain, { recordId: scenario.recordId }),
  'consent-state': buildConsentStateBundle(chain, {
    consentId: scenario.consentId,
    height: scenario.grantedHeight,
  }),
  'access-log': buildAccessLogBundle(chain, {
    patientId: scenario.patientId,
    from: scenario.auditTimes[0]! - 1,
    to: scenario.auditTimes[1]!,
  }),
  'log-head': buildLogHeadBundle(chain, { oldSize: 3 }),
} as const;

test('the scenario changed the validator set twice, and bundles carry both transitions', () => {
  for (const [kind, bundle] of Object.entries(bundles)) {
    const verified = verify(bundle);
    assert.equal(verified.kind, kind);
    if (verified.head.height > 14) {
      assert.equal(
        verified.transitionHeights.length,
        2,
        `${kind}: ${verified.transitionHeights.join(',')}`,
      );
    }
  }
  const head = verify(bundles['log-head']);
  assert.equal(head.transitionHeights.length, 2);
  assert.equal(head.head.height, chain.head().height);
});

test('a record-version bundle proves the anchor in its block, in the log and in the state', () => {
  const verified = verify(bundles['record-version']);
  assert.equal(verified.claim.kind, 'record-version');
  if (verified.claim.kind !== 'record-version') return;
  assert.equal(verified.claim.record.recordId, toHex(scenario.lateRecordId));
  assert.equal(verified.claim.record.version, 1);
  assert.equal(verified.claim.record.custodian, 'org-a');
  // Proven at the anchor's own block: the log as that header signs it ends with the block.
  const block = chain.loadBlock(verified.claim.anchor.height)!;
  assert.equal(verified.claim.anchor.logSize, block.header.logSize);
  assert.ok(verified.claim.anchor.logIndex >= block.header.logSize - block.txs.length);
  const summary = summariseVerifiedBundle(verified).join('\n');
  assert.match(summary, /record [0-9a-f]{12}… version 1 \(Observation, custodian org-a/);
  assert.match(summary, /through 2 validator-set change\(s\)/);
});

test('an erasure bundle proves the erased version and that every earlier hash is still there', () => {
  const verified = verify(bundles.erasure);
  assert.equal(verified.claim.kind, 'erasure');
  if (verified.claim.kind !== 'erasure') return;
  assert.equal(verified.claim.erasedVersion, 4);
  assert.deepEqual(
    verified.claim.versions.map((v) => [v.version, v.status, v.contentHash !== null]),
    [
      [1, 'active', true],
      [2, 'active', true],
      [3, 'active', true],
      [4, 'erased', false],
    ],
  );
});

test('a consent-state bundle says active at the grant, inactive after the revocation, absent before', () => {
  const granted = verify(bundles['consent-state']);
  assert.equal(granted.claim.kind === 'consent-state' && granted.claim.consent?.status, 'active');
  const revoked = verify(
    buildConsentStateBundle(chain, {
      consentId: scenario.consentId,
      height: scenario.revokedHeight,
    }),
  );
  assert.equal(revoked.claim.kind === 'consent-state' && revoked.claim.consent?.status, 'inactive');
  const before = verify(
    buildConsentStateBundle(chain, {
      consentId: scenario.consentId,
      height: scenario.grantedHeight - 1,
    }),
  );
  assert.equal(before.claim.kind === 'consent-state' && before.claim.consent, null);
  assert.match(summariseVerifiedBundle(before).join('\n'), /did not exist at height/);
});

test('an access-log bundle lists every event of the period, and a missing one is refused', () => {
  const verified = verify(bundles['access-log']);
  assert.equal(verified.claim.kind, 'access-log');
  if (verified.claim.kind !== 'access-log') return;
  const inPeriod = verified.claim.events.filter((e) => e.inPeriod);
  assert.deepEqual(
    inPeriod.map((e) => [e.sequence, e.decision]),
    [
      [0, 'permit'],
      [1, 'permit'],
      [2, 'deny'],
    ],
  );
  // The chain went on more than the audit lag (24 h) after the period: it is closed, complete.
  assert.equal(verified.claim.coversPeriod, true);
  // Asked (by editing the question) for a period starting before the first proven height: the
  // proven heights do not cover it.
  const earlier = structuredClone(bundles['access-log']) as { claim: { from: number } };
  earlier.claim.from = chain.genesis.genesisTime - 1;
  const widened = verify(earlier);
  assert.equal(widened.claim.kind === 'access-log' && widened.claim.coversPeriod, false);
  // A period from before the first block is covered from the start (no count before it).
  const fromGenesis = verify(
    buildAccessLogBundle(chain, {
      patientId: scenario.patientId,
      from: 0,
      to: scenario.auditTimes[2]!,
    }),
  );
  assert.equal(fromGenesis.claim.kind === 'access-log' && fromGenesis.claim.coversPeriod, true);
  // A period that ends less than the audit lag before the newest block is not yet closed.
  const newest = chain.loadBlock(chain.head().height)!.header.time;
  const recent = verify(
    buildAccessLogBundle(chain, { patientId: scenario.patientId, from: 0, to: newest - 1000 }),
  );
  assert.equal(recent.claim.kind === 'access-log' && recent.claim.coversPeriod, false);
  const bundle = structuredClone(bundles['access-log']) as unknown as {
    claim: { events: unknown[] };
  };
  bundle.claim.events.splice(1, 1);
  const error = failure(() => verify(bundle));
  assert.equal(error.part, 'claim.events');
  assert.match(error.message, /the patient has \d+ events recorded after height/);
});

test('a log-head bundle carries a consistency proof that the witness checks', () => {
  const verified = verify(bundles['log-head']);
  verifyHeadExtends({ verified, oldSize: 3, oldRoot: chain.log().root(3) });
  const forged = failure(() =>
    verifyHeadExtends({ verified, oldSize: 3, oldRoot: chain.log().root(2) }),
  );
  assert.equal(forged.part, 'claim.consistency.oldRoot');
});

test('a commit lacking 2/3 of a transition set is refused, naming the transition', () => {
  // Rebuild the same history, but the second transition's block is signed by 2 of 4 only.
  const change = bundles['record-version'].validatorChanges[1]!;
  const weak = buildScenarioWithWeakCommit(change.height);
  const weakBundle = buildRecordVersionBundle(weak, {
    recordId: scenario.lateRecordId,
    version: 1,
  });
  const error = failure(() => verify(weakBundle));
  assert.equal(error.part, 'validatorChanges[1].signedHeader.commit');
  assert.match(error.message, /power|2\/3|quorum/i);
});

function buildScenarioWithWeakCommit(height: number) {
  const weak = buildScenario({ weakCommitAt: height });
  return weak.chain;
}

test('a transition left out of the bundle is refused', () => {
  const bundle = structuredClone(bundles['record-version']) as unknown as {
    validatorChanges: unknown[];
  };
  bundle.validatorChanges.splice(0, 1);
  const error = failure(() => verify(bundle));
  assert.match(error.part, /^validatorChanges|^headers/);
  assert.match(error.message, /transition|validator set/);
});

test('a bundle for another genesis, or an edited genesis, is refused naming the genesis', () => {
  const edited = structuredClone(genesisJson) as { genesisTime: number; chainId: string };
  edited.genesisTime += 1;
  assert.equal(failure(() => verify(bundles['log-head'], edited)).part, 'genesis');
  const other = structuredClone(genesisJson) as { chainId: string };
  other.chainId = 'another-chain';
  assert.equal(failure(() => verify(bundles['log-head'], other)).part, 'genesis');
  assert.equal(failure(() => verify(bundles['log-head'], { chainId: 1 })).part, 'genesis');
});

test('bundle text that is not a bundle is refused with the field named', () => {
  assert.equal(failure(() => parseBundleText('{')).part, 'bundle');
  assert.equal(failure(() => parseBundleText('[]')).part, 'bundle');
  const bundle = structuredClone(bundles['log-head']) as Record<string, unknown>;
  assert.equal(failure(() => parseBundle({ ...bundle, version: 2 })).part, 'version');
  assert.equal(failure(() => parseBundle({ ...bundle, extra: 1 })).part, 'bundle.extra');
  assert.equal(failure(() => parseBundle({ ...bundle, kind: 'x' })).part, 'kind');
  assert.equal(
    failure(() => parseBundle({ ...bundle, headers: [{ header: 'XY', commit: '' }] })).part,
    'headers[0].header',
  );
});

/** Every string and number leaf of a JSON value, by its path as the verifier names parts. */
function leaves(
  value: unknown,
  path: string,
  out: Array<{ path: string; value: string | number }>,
): void {
  if (typeof value === 'string' || typeof value === 'number') {
    out.push({ path, value });
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => leaves(item, `${path}[${index}]`, out));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value))
      leaves(item, path === '' ? key : `${path}.${key}`, out);
  }
}

function setAt(root: unknown, path: string, value: unknown): void {
  const steps = path.match(/[^.[\]]+/g)!;
  let node = root as Record<string, unknown>;
  for (const step of steps.slice(0, -1)) node = node[step] as Record<string, unknown>;
  node[steps[steps.length - 1]!] = value;
}

/** The verifier names the part that holds the change (or, for a disagreement, the other one). */
function namesThePart(error: VerifyError, changed: string): boolean {
  return [error.part, error.otherPart].some((part) => part !== null && changed.startsWith(part));
}

function assertEveryChangeFails(bundle: unknown, genesis: unknown = genesisJson): void {
  const all: Array<{ path: string; value: string | number }> = [];
  leaves(bundle, '', all);
  // Left out: the fixed format fields, and the access log's period (`claim.from`, `claim.to`):
  // the period is the question asked, not evidence, so another period gives another answer
  // (which events are in it, whether the proven heights cover it: tested above).
  const question = ['format', 'kind', 'chainId', 'version', 'claim.from', 'claim.to'];
  const mutable = all.filter((leaf) => !question.includes(leaf.path) && leaf.value !== '');
  let problem = '';
  const result = fc.check(
    fc.property(
      fc.integer({ min: 0, max: mutable.length - 1 }),
      fc.nat(),
      fc.integer({ min: 1, max: 15 }),
      (which, position, delta) => {
        const leaf = mutable[which]!;
        const copy = structuredClone<unknown>(bundle);
        let changed: string | number;
        if (typeof leaf.value === 'number') {
          changed = leaf.value + (delta % 2 === 0 ? 1 : -1);
        } else {
          const at = position % leaf.value.length;
          const digit = (parseInt(leaf.value[at]!, 16) + delta) % 16;
          changed = leaf.value.slice(0, at) + digit.toString(16) + leaf.value.slice(at + 1);
        }
        setAt(copy, leaf.path, changed);
        let error: VerifyError;
        try {
          verify(copy, genesis);
          problem = `changed ${leaf.path} to ${String(changed)}: the bundle still verified`;
          return false;
        } catch (caught) {
          if (!(caught instanceof VerifyError)) throw caught;
          error = caught;
        }
        if (!namesThePart(error, leaf.path)) {
          problem = `changed ${leaf.path}, the verifier named ${error.part}: ${error.message}`;
          return false;
        }
        return true;
      },
    ),
    { numRuns: 300, seed: 7 },
  );
  assert.equal(result.failed, false, `seed 7: ${problem}`);
}

for (const [kind, bundle] of Object.entries(bundles)) {
  test(`${kind}: changing any hex digit or number anywhere makes it fail, naming the part`, () => {
    assertEveryChangeFails(bundle);
  });
}

// A second chain whose record versions were anchored in record.anchor-batch transactions (FHIR
// transaction Bundles; decision 0058): one batch of three new records, then one holding the next
// versions of two of them beside a single anchor, then the erasure of one of them.
const batchChain = new TestChain();
const batchPatient = idOf('patient:batch');
const [recordA, recordB, recordC] = ['a', 'b', 'c'].map((name) => idOf(`record:batch-${name}`));
const batchItem = (recordId: Uint8Array, version: number) => ({
  recordId,
  version,
  resourceType: 'Condition',
  patientId: batchPatient,
  custodian: 'org-a',
  contentHash: sha256(utf8(`batch:${toHex(recordId)}:${version}`)),
  securityLabels: ['N'],
});
batchChain.block([
  batchChain.tx('node:org-a', 'identity.enrol-patient', {
    patientId: batchPatient,
    publicKey: keyOf('patient:batch').publicKey,
  }),
]);
batchChain.block([
  batchChain.tx('node:org-a', 'record.anchor-batch', {
    anchors: [batchItem(recordA!, 1), batchItem(recordB!, 1), batchItem(recordC!, 1)],
  }),
]);
batchChain.block([
  batchChain.tx('node:org-a', 'record.anchor', batchItem(recordC!, 2)),
  batchChain.tx('node:org-a', 'record.anchor-batch', {
    anchors: [batchItem(recordA!, 2), batchItem(recordB!, 2)],
  }),
]);
batchChain.block([
  batchChain.tx('node:org-a', 'record.erase', {
    recordId: recordB!,
    version: 3,
    reasonCode: 'patient-request',
  }),
]);
batchChain.block([]);
const batchGenesis = JSON.parse(JSON.stringify(batchChain.genesis)) as unknown;
const batchBundle = buildRecordVersionBundle(batchChain, { recordId: recordA!, version: 2 });

test('a version anchored by a record.anchor-batch verifies against its item in the batch', () => {
  const verified = verify(batchBundle, batchGenesis);
  assert.equal(verified.claim.kind, 'record-version');
  if (verified.claim.kind !== 'record-version') return;
  assert.equal(verified.claim.anchor.kind, 'record.anchor-batch');
  assert.equal(verified.claim.batchIndex, 0);
  assert.equal(verified.claim.record.version, 2);
  assert.equal(verified.claim.record.contentHash, toHex(batchItem(recordA!, 2).contentHash));
  assert.match(
    summariseVerifiedBundle(verified).join('\n'),
    /anchored as anchors\[0\] of the record\.anchor-batch transaction/,
  );
  // Every item of the first batch, and the single anchor beside the second batch, verify too.
  for (const [recordId, version, kind, batchIndex] of [
    [recordA!, 1, 'record.anchor-batch', 0],
    [recordB!, 1, 'record.anchor-batch', 1],
    [recordC!, 1, 'record.anchor-batch', 2],
    [recordB!, 2, 'record.anchor-batch', 1],
    [recordC!, 2, 'record.anchor', null],
  ] as const) {
    const each = verify(buildRecordVersionBundle(batchChain, { recordId, version }), batchGenesis);
    assert.ok(each.claim.kind === 'record-version');
    assert.equal(each.claim.anchor.kind, kind);
    assert.equal(each.claim.batchIndex, batchIndex);
  }
});

test('an erasure bundle lists the batch-anchored versions it erased', () => {
  const verified = verify(buildErasureBundle(batchChain, { recordId: recordB! }), batchGenesis);
  assert.ok(verified.claim.kind === 'erasure');
  assert.deepEqual(
    verified.claim.versions.map((v) => [v.version, v.status, v.contentHash]),
    [
      [1, 'active', toHex(batchItem(recordB!, 1).contentHash)],
      [2, 'active', toHex(batchItem(recordB!, 2).contentHash)],
      [3, 'erased', null],
    ],
  );
});

test('a batch-anchored bundle whose claim or batch was changed fails naming the part', () => {
  // Asked about a version the batch does not hold (record C version 2 is a single anchor).
  const other = structuredClone(batchBundle) as { claim: { recordId: string } };
  other.claim.recordId = toHex(recordC!);
  const notInBatch = failure(() => verify(other, batchGenesis));
  assert.equal(notInBatch.part, 'claim.anchor.transaction');
  assert.equal(notInBatch.otherPart, 'claim.recordId');
  assert.match(notInBatch.message, /anchors 2 versions, none of them record/);
  // Record B version 2 is in the same batch, but the state proof is of record A's entry.
  const sibling = structuredClone(batchBundle) as { claim: { recordId: string } };
  sibling.claim.recordId = toHex(recordB!);
  assert.match(failure(() => verify(sibling, batchGenesis)).part, /^claim\.state/);
  // A batch validly signed by the custodian's node, with another hash for record A: it is not
  // the transaction of the block (txRoot), whatever its signature.
  assert.ok(batchBundle.kind === 'record-version');
  const { anchor } = batchBundle.claim;
  const original = batchChain.loadBlock(anchor.height)!.txs[anchor.txIndex]!;
  const forged = signTransaction({
    unsigned: {
      chainId,
      kind: 'record.anchor-batch',
      body: contractBody('record.anchor-batch', {
        anchors: [
          { ...batchItem(recordA!, 2), contentHash: sha256(utf8('forged')) },
          batchItem(recordB!, 2),
        ],
      }),
      signer: original.signer,
      nonce: original.nonce,
    },
    keyPair: keyOf('node:org-a'),
  });
  const replaced = structuredClone(batchBundle) as { claim: { anchor: { transaction: string } } };
  replaced.claim.anchor.transaction = toHex(encodeTransaction(forged));
  const error = failure(() => verify(replaced, batchGenesis));
  assert.equal(error.part, 'claim.anchor.blockPath');
  // The untouched twin verifies (above); a changed digit anywhere fails naming its part.
  assertEveryChangeFails(batchBundle, batchGenesis);
});
