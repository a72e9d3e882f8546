/**
 * `npm run bench:fhir` (issue 6): the FHIR API of four validator processes on this machine.
 * Setup signs every node-key transaction first (a practitioner per organisation, the patients
 * each custodian enrols), then has the first organisation's patients consent to the second.
 * Creates: closed-loop clients, each a practitioner writing Observations to its own node (one in
 * five with a sensitivity label); a create answers once its anchor is committed. Reads: one
 * node's clinician reads records held there (consent decision and audit event included); then a
 * second organisation's clinician reads the first's records (the custodian decides and seals
 * with HPKE). Prints per level requests/s, p50/p99 latency, CPU and peak RSS per node, what the
 * chain did (blocks/s, tx/block, commit latency from the node's /metrics) and, after a read level,
 * how long the node's audit batches kept committing; a progress display on stderr. Issue 6's targets: ≥ 1,000 creates/s
 * across the network; ≥ 2,000 local reads/s on one node with p50 < 20 ms.
 *
 * Creates are measured at 16, 64, 128 and 256 in flight across the four nodes (4 to 64 clinicians
 * writing at once per organisation); `BENCH_FHIR_CREATE_LEVELS=128` measures only that level.
 * `BENCH_FHIR_READS=0` skips reads.
 * `BENCH_FHIR_CPU_PROF=<folder>` runs the nodes with a V8 CPU profiler (`fhir-cpu-profile.ts`)
 * and stops them gracefully, so each writes its profile there.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import type { Consent, Observation } from '@medplum/fhirtypes';
import cliProgress from 'cli-progress';

import { toHex } from '../src/base/index.ts';
import { encodeTransaction, signTransaction, transactionId } from '../src/chain/index.ts';
import {
  type DemoUser,
  fetchBlock,
  fetchStatus,
  getJson,
  grantConsent,
  issueDemoToken,
  newConsentId,
  submitBatch,
} from '../src/cli/index.ts';
import { type ContractBodies, type ContractKind, contractBody } from '../src/contracts/index.ts';
import type { Ed25519KeyPair } from '../src/crypto/index.ts';
import { generateEd25519KeyPair, loadEd25519KeyFile } from '../src/keys/index.ts';
import { TestNetwork, sleep } from '../test/net/harness.ts';
import {
  FhirHttpClient,
  type HttpAnswer,
  type NodeCounters,
  formatChain,
  formatLevel,
  formatNodes,
  runClosedLoop,
  scrapeCounters,
} from './fhir-load.ts';

/**
 * The nodes run the built JavaScript, as `npm start` and `bench:net` do (decision 0046; `npm run
 * bench:fhir` builds it first): a stale build refuses to start rather than measure the sources
 * through tsx. `MEDLEDGER_RUN=source` measures the sources.
 */
process.env.MEDLEDGER_RUN = process.env.MEDLEDGER_RUN || 'build';
/** Patients enrolled per organisation (each by its own node). */
const patientsPerOrganisation = Number(process.env.BENCH_FHIR_PATIENTS_PER_ORG ?? 50);
/** Creates in flight across the four nodes, per level (`BENCH_FHIR_CREATE_LEVELS=128` picks). */
const createLevels = (process.env.BENCH_FHIR_CREATE_LEVELS ?? '16,64,128,256')
  .split(',')
  .map((level) => {
    const inFlight = Number(level);
    if (!Number.isSafeInteger(inFlight) || inFlight < 1 || inFlight > 1024) {
      throw new Error(`BENCH_FHIR_CREATE_LEVELS: expected in-flight counts 1–1024, got ${level}`);
    }
    return inFlight;
  });
/** `BENCH_FHIR_READS=0` stops after the creates (profiling them alone). */
const readsToo = process.env.BENCH_FHIR_READS !== '0';
/** Reads in flight on one node, per level (records held there). */
const localReadLevels = [16, 32, 64] as const;
/** Reads in flight on one node, per level (records held by another organisation). */
const sharedReadLevels = [8, 16] as const;
/** Seconds of load before measuring, and seconds measured, per level. */
const warmupSeconds = Number(process.env.BENCH_FHIR_WARMUP_S ?? 3);
const measureSeconds = Number(process.env.BENCH_FHIR_MEASURE_S ?? 15);
/** Longest wait for the setup's transactions to commit, in ms. */
const setupCommitWaitMs = 60_000;
/** Consents granted at once during setup. */
const consentsInFlight = 8;
/** Longest wait after a read level for the node's audit batches to reach the chain, in ms. */
const auditDrainWaitMs = Number(process.env.BENCH_FHIR_DRAIN_S ?? 180) * 1000;
/** The node's own transactions are drained once its nonce has not moved for this long, in ms. */
const ownQuietMs = 2_500;

const actCode = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const confidentiality = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const actReason = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const custodian = 0; // the organisation whose records are read
const requester = 1; // the organisation whose clinician reads them under consent

/** Synthetic vital signs and labs (LOINC, UCUM): code, display, unit, plausible range. */
const observationKinds = [
  { code: '8867-4', display: 'Heart rate', unit: '/min', low: 50, high: 120 },
  { code: '8480-6', display: 'Systolic blood pressure', unit: 'mm[Hg]', low: 95, high: 170 },
  { code: '2339-0', display: 'Glucose [Mass/volume] in Blood', unit: 'mg/dL', low: 70, high: 200 },
  { code: '29463-7', display: 'Body weight', unit: 'kg', low: 40, high: 130 },
  { code: '8310-5', display: 'Body temperature', unit: 'Cel', low: 36, high: 40 },
] as const;

interface Patient {
  readonly id: string;
  readonly keyPair: Ed25519KeyPair;
}

interface CreatedRecord {
  readonly id: string;
  readonly sensitive: boolean;
}

function observationFor(patientId: string, sensitive: boolean): Observation {
  const kind = observationKinds[randomInt(observationKinds.length)]!;
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/observation-category',
            code: 'vital-signs',
          },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: kind.code, display: kind.display }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date().toISOString(),
    valueQuantity: {
      value: kind.low + randomInt((kind.high - kind.low) * 10) / 10,
      unit: kind.unit,
      system: 'http://unitsofmeasure.org',
      code: kind.unit,
    },
    ...(sensitive
      ? {
          meta: {
            security: [
              { system: confidentiality, code: 'R' },
              { system: actCode, code: 'ETH' },
            ],
          },
        }
      : {}),
  };
}

const network = await TestNetwork.create({ validators: 4, loadSigners: 0, logLevel: 'warn' });
const client = new FhirHttpClient();
const bar = new cliProgress.SingleBar(
  {
    stream: process.stderr,
    noTTYOutput: true,
    notTTYSchedule: 5000,
    format: '{level} [{bar}] {value}/{total} s · answered {done} · {rate}/s',
  },
  cliProgress.Presets.shades_classic,
);
const profileDir =
  process.env.BENCH_FHIR_CPU_PROF === undefined ? null : resolve(process.env.BENCH_FHIR_CPU_PROF);

const orgOf = (index: number): string => network.nodes[index]!.orgId;
const practitionerOf = (index: number): DemoUser => ({
  kind: 'practitioner',
  orgId: orgOf(index),
  practitionerId: `bench-dr-${index}`,
});
const tokenFor = (index: number, user: DemoUser): Promise<string> =>
  issueDemoToken({ dataDir: network.nodes[index]!.dataDir, baseUrl: network.url(index), user });

/**
 * Every node-key transaction of the run, signed with consecutive nonces and sent in one batch
 * per node, before any FHIR request: the records service's anchors and audit batches take the
 * node key's next nonces too.
 */
async function registerAndEnrol(nodeKeys: readonly Ed25519KeyPair[]): Promise<Patient[][]> {
  const patients = network.nodes.map(() =>
    Array.from({ length: patientsPerOrganisation }, () => {
      const keyPair = generateEd25519KeyPair();
      return { id: toHex(keyPair.publicKey.slice(0, 16)), keyPair };
    }),
  );
  const txIds = new Set<string>();
  const finalNonces: number[] = [];
  await Promise.all(
    network.nodes.map(async (_, index) => {
      const keyPair = nodeKeys[index]!;
      const url = network.url(index);
      const account = await getJson<{ nextNonce: number }>(
        url,
        `/chain/accounts/${toHex(keyPair.publicKey)}`,
      );
      let nonce = account.nextNonce;
      const sign = <K extends ContractKind>(kind: K, body: ContractBodies[K]): Uint8Array => {
        const tx = signTransaction({
          unsigned: {
            chainId: network.chainId,
            kind,
            body: contractBody(kind, body),
            signer: keyPair.publicKey,
            nonce: nonce++,
          },
          keyPair,
        });
        txIds.add(toHex(transactionId(tx)));
        return encodeTransaction(tx);
      };
      const encoded = [
        sign('identity.register-practitioner', {
          practitionerId: `bench-dr-${index}`,
          publicKey: generateEd25519KeyPair().publicKey,
          roles: ['physician'],
          active: true,
        }),
        ...patients[index]!.map((patient) =>
          sign('identity.enrol-patient', {
            patientId: Buffer.from(patient.id, 'hex'),
            publicKey: patient.keyPair.publicKey,
          }),
        ),
      ];
      finalNonces[index] = nonce;
      // A node just started may answer `busy`: the batch goes again (what it already holds
      // answers `duplicate`) until every transaction is in.
      const deadline = Date.now() + setupCommitWaitMs;
      for (;;) {
        const answer = await submitBatch(url, encoded);
        const codes = answer.items.flatMap((item) =>
          'code' in item && item.code !== 'duplicate' ? [item.code] : [],
        );
        if (answer.items.length === encoded.length && codes.length === 0) break;
        if (codes.some((code) => code !== 'busy') || Date.now() > deadline) {
          throw new Error(`node ${index} refused setup transactions: ${codes.join(', ')}`);
        }
        await sleep(250);
      }
    }),
  );
  // Committed once each node key's next nonce passes the last one signed.
  const deadline = Date.now() + setupCommitWaitMs;
  for (const [index, keyPair] of nodeKeys.entries()) {
    for (;;) {
      const account = await getJson<{ nextNonce: number }>(
        network.url(index),
        `/chain/accounts/${toHex(keyPair.publicKey)}`,
      );
      if (account.nextNonce >= finalNonces[index]!) break;
      if (Date.now() > deadline) throw new Error(`setup of node ${index} did not commit`);
      await sleep(100);
    }
  }
  // Every one of them accepted by its contract.
  const head = (await fetchStatus(network.url(0))).height;
  let accepted = 0;
  for (let height = 1; height <= head; height++) {
    for (const receipt of (await fetchBlock(network.url(0), height)).receipts) {
      if (!txIds.has(receipt.txId)) continue;
      if (!receipt.ok) throw new Error(`setup transaction refused: ${JSON.stringify(receipt)}`);
      accepted++;
    }
  }
  if (accepted !== txIds.size) {
    throw new Error(`setup: ${accepted} of ${txIds.size} transactions found committed`);
  }
  return patients;
}

/** Each of the custodian's patients permits the requester's organisation for treatment. */
async function consentToRequester(patients: readonly Patient[]): Promise<void> {
  let next = 0;
  const grantOne = async (patient: Patient): Promise<void> => {
    const consent: Consent & { id: string } = {
      resourceType: 'Consent',
      id: newConsentId(),
      status: 'active',
      scope: {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/consentscope',
            code: 'patient-privacy',
          },
        ],
      },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: `Patient/${patient.id}` },
      performer: [{ reference: `Patient/${patient.id}` }],
      policyRule: { coding: [{ system: actCode, code: 'OPTIN' }] },
      provision: {
        type: 'permit',
        actor: [
          {
            role: {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
                  code: 'IRCP',
                },
              ],
            },
            reference: { reference: `Organization/${orgOf(requester)}` },
          },
        ],
        purpose: [{ system: actReason, code: 'TREAT' }],
      },
    };
    const answer = await grantConsent({
      url: network.url(custodian),
      chainId: network.chainId,
      token: await tokenFor(custodian, {
        kind: 'patient',
        orgId: orgOf(custodian),
        patientId: patient.id,
      }),
      patientKeyPair: patient.keyPair,
      consent,
    });
    if (answer.status !== 201) {
      throw new Error(`consent of ${patient.id} not granted: ${JSON.stringify(answer.body)}`);
    }
  };
  await Promise.all(
    Array.from({ length: consentsInFlight }, async () => {
      while (next < patients.length) await grantOne(patients[next++]!);
    }),
  );
}

try {
  const extraEnv: Record<string, string> =
    profileDir === null
      ? {}
      : {
          NODE_OPTIONS: `--import=data:text/javascript;base64,${readFileSync(
            new URL('./fhir-cpu-profile.ts', import.meta.url),
          ).toString('base64')}`,
          BENCH_FHIR_CPU_PROF: profileDir,
        };
  if (profileDir !== null) mkdirSync(profileDir, { recursive: true });
  await Promise.all(network.processes.map((p) => p.start({ extraEnv })));
  const pids = network.processes.map((p) => p.pid!);
  console.log(
    `bench:fhir — 4 validator processes on 127.0.0.1 (MEDLEDGER_RUN ${process.env.MEDLEDGER_RUN}), chain ${network.chainId}; ` +
      `${patientsPerOrganisation} patients per organisation; warm-up ${warmupSeconds} s, measured ${measureSeconds} s per level`,
  );

  const setupStart = Date.now();
  const nodeKeys = await Promise.all(network.nodes.map((node) => loadEd25519KeyFile(node.keyFile)));
  const patients = await registerAndEnrol(nodeKeys);
  await consentToRequester(patients[custodian]!);
  console.log(
    `setup: 4 practitioners, ${4 * patientsPerOrganisation} patients enrolled, ` +
      `${patientsPerOrganisation} consents to ${orgOf(requester)} in ${((Date.now() - setupStart) / 1000).toFixed(1)} s`,
  );

  // ---- creates ------------------------------------------------------------------------------
  const created: CreatedRecord[][] = network.nodes.map(() => []);
  let createCounter = 0;
  for (const inFlight of createLevels) {
    const tokens = await Promise.all(
      network.nodes.map((_, index) => tokenFor(index, practitionerOf(index))),
    );
    let before: NodeCounters | null = null;
    let after: NodeCounters | null = null;
    const create = async (worker: number): Promise<HttpAnswer> => {
      // Worker w writes to node w mod 4 as that organisation's practitioner.
      const node = worker % network.nodes.length;
      const own = patients[node]!;
      const sensitive = createCounter++ % 5 === 4;
      const patient = own[randomInt(own.length)]!;
      const answer = await client.send({
        baseUrl: network.url(node),
        token: tokens[node]!,
        method: 'POST',
        path: 'Observation',
        body: JSON.stringify(observationFor(patient.id, sensitive)),
      });
      if (answer.status === 201) {
        created[node]!.push({ id: (JSON.parse(answer.text) as { id: string }).id, sensitive });
      }
      return answer;
    };
    const result = await runClosedLoop({
      label: `create ×${inFlight}`,
      workers: inFlight,
      warmupSeconds,
      measureSeconds,
      expectedStatus: 201,
      operation: create,
      pids,
      bar,
      atWindowStart: async () => {
        before = await scrapeCounters(network.url(0));
      },
      atWindowEnd: async () => {
        after = await scrapeCounters(network.url(0));
      },
    });
    console.log(formatLevel(`create, ${inFlight} in flight over 4 nodes`, 'creates', result));
    console.log(formatNodes(result, pids));
    if (before !== null && after !== null) {
      console.log(formatChain({ node: orgOf(0), before, after, seconds: result.seconds }));
    }
    if (result.firstFailure !== null) console.log(`    first failure: ${result.firstFailure}`);
  }
  console.log(
    `records created: ${created.map((records, i) => `${orgOf(i)} ${records.length}`).join(', ')}`,
  );

  // ---- reads --------------------------------------------------------------------------------
  const localIds = created[custodian]!.map((record) => record.id);
  // A general consent does not open sensitive records (they need a consent naming the label).
  const sharedIds = created[custodian]!.filter((record) => !record.sensitive).map((r) => r.id);
  if (readsToo && localIds.length === 0) {
    throw new Error('no records were created: nothing to read');
  }
  const readLevel = async (options: {
    name: string;
    node: number;
    ids: readonly string[];
    inFlight: number;
  }): Promise<void> => {
    const token = await tokenFor(options.node, practitionerOf(options.node));
    let before: NodeCounters | null = null;
    let after: NodeCounters | null = null;
    const result = await runClosedLoop({
      label: `${options.name} ×${options.inFlight}`,
      workers: options.inFlight,
      warmupSeconds,
      measureSeconds,
      expectedStatus: 200,
      operation: () =>
        client.send({
          baseUrl: network.url(options.node),
          token,
          method: 'GET',
          path: `Observation/${options.ids[randomInt(options.ids.length)]!}`,
        }),
      pids,
      bar,
      atWindowStart: async () => {
        before = await scrapeCounters(network.url(options.node));
      },
      atWindowEnd: async () => {
        after = await scrapeCounters(network.url(options.node));
      },
    });
    console.log(
      formatLevel(
        `${options.name}, ${options.inFlight} in flight on ${orgOf(options.node)}`,
        'reads',
        result,
      ),
    );
    console.log(formatNodes(result, pids));
    if (before !== null && after !== null) {
      const node = orgOf(options.node);
      console.log(formatChain({ node, before, after, seconds: result.seconds }));
    }
    if (result.firstFailure !== null) console.log(`    first failure: ${result.firstFailure}`);
    // Audit batches go one per commit: what the level left queued reaches the chain later.
    const drained = await waitOwnTransactionsDrained(options.node);
    console.log(
      `    audit backlog: ${orgOf(options.node)} committed ${drained.transactions} more own transactions ` +
        `(access.record batches of up to 64 events) in the ${drained.seconds.toFixed(1)} s after the level ended`,
    );
  };
  /** Waits until the node's own nonce stops moving; what it committed meanwhile, and how long. */
  const waitOwnTransactionsDrained = async (
    node: number,
  ): Promise<{ transactions: number; seconds: number }> => {
    const path = `/chain/accounts/${toHex(nodeKeys[node]!.publicKey)}`;
    const nonceNow = async () =>
      (await getJson<{ nextNonce: number }>(network.url(node), path)).nextNonce;
    const start = Date.now();
    const first = await nonceNow();
    let last = first;
    let lastChange = start;
    while (Date.now() - lastChange < ownQuietMs && Date.now() - start < auditDrainWaitMs) {
      await sleep(250);
      const nonce = await nonceNow();
      if (nonce !== last) {
        last = nonce;
        lastChange = Date.now();
      }
    }
    return { transactions: last - first, seconds: (lastChange - start) / 1000 };
  };
  for (const inFlight of readsToo ? localReadLevels : []) {
    await readLevel({ name: 'local read', node: custodian, ids: localIds, inFlight });
  }
  for (const inFlight of readsToo ? sharedReadLevels : []) {
    await readLevel({ name: 'shared read', node: requester, ids: sharedIds, inFlight });
  }
  const heights = await network.heights();
  console.log(`heights at the end: ${heights.join(' ')}`);
} finally {
  bar.stop();
  client.close();
  // A graceful stop lets `--cpu-prof` write its profiles.
  if (profileDir !== null) {
    await network.stopAll();
    console.error(`CPU profiles written to ${profileDir}`);
  }
  await network.destroy();
}
