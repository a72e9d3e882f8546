/**
 * Seeds a new demo network with a synthetic population (src/synthetic, a fixed seed): each
 * organisation's node registers its practitioners (`identity.register-practitioner`, a fresh
 * Ed25519 key each, saved as `practitioners/<org>/<id>.key`, mode 0600) and enrols its patients (`identity.enrol-patient`, a fresh patient key saved
 * as `patients/<pseudonym>.key`, mode 0600); then each custodian's clinician creates the Patient
 * and every record through the node's FHIR API, and each patient grants the suggested consents
 * with a `consent.grant` signed by the patient's key. Writes `users.json` (decision 0057).
 *
 * The node key signs both the seeding's registrations and enrolments and, through the records
 * service, the node's own anchors and audit batches; both take the account's next nonce. So every
 * node-key transaction of the seeding is committed before the first FHIR write starts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Consent, Resource } from '@medplum/fhirtypes';

import { MedLedgerError, toHex } from '../base/index.ts';
import { encodeTransaction, signTransaction } from '../chain/index.ts';
import { type ContractBodies, type ContractKind, contractBody } from '../contracts/index.ts';
import type { Ed25519KeyPair } from '../crypto/index.ts';
import { generateEd25519KeyPair, loadEd25519KeyFile, saveKeyFile } from '../keys/index.ts';
import {
  type OrganisationKind,
  type Population,
  type SyntheticPatient,
  type SyntheticPractitioner,
  generatePopulation,
} from '../synthetic/index.ts';
import {
  type DemoSeedCounts,
  type DemoUserEntry,
  demoUsersFile,
  loginSlug,
  makeDemoUsersDocument,
  organisationPrefixes,
  uniqueLoginNames,
} from './demo-users.ts';
import { getJson, submitBatch } from './node-client.ts';
import { type FhirAnswer, fhirRequest, grantConsent, issueDemoToken } from './records-client.ts';

/** Where the demo keeps a practitioner's key (mode 0600): `practitioners/<org>/<id>.key`. */
export function demoPractitionerKeyFile(
  dir: string,
  orgId: string,
  practitionerId: string,
): string {
  return join(dir, 'practitioners', orgId, `${practitionerId}.key`);
}

/** The seeding's tunable numbers. */
export const demoSeedLimits = {
  /** Patients of a new demo. */
  patientCount: 24,
  /** The population's seed: every new demo gets the same synthetic people. */
  seed: 6_005,
  /** FHIR requests (or consent chains) in flight at once. */
  requestsInFlightMax: 8,
  /** Longest wait for a node-key transaction's commit, in milliseconds. */
  commitWaitMs: 60_000,
  /** Pause between two looks for a transaction's commit, in milliseconds. */
  commitPollMs: 100,
  /** Tries of one FHIR request answered 429 or 503 before the seeding gives up. */
  busyTriesMax: 10,
  /** Pause before trying a busy request again when it names no Retry-After, in milliseconds. */
  busyPauseMs: 500,
} as const;

/** One organisation's node, as the seeding reaches it. */
export interface DemoSeedNode {
  readonly orgId: string;
  readonly kind: OrganisationKind;
  readonly url: string;
  readonly keyFile: string;
  readonly dataDir: string;
}

/** The seeding was stopped (Ctrl-C) before it finished. */
export class DemoSeedStopped extends MedLedgerError {
  constructor() {
    super('seed-stopped', 'the seeding was stopped before it finished');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function titleOf(orgId: string): string {
  return orgId
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(' ');
}

/** The population of a new demo: the same people for every new demo with these organisations. */
export function demoPopulation(nodes: readonly DemoSeedNode[]): Population {
  return generatePopulation({
    seed: demoSeedLimits.seed,
    patientCount: demoSeedLimits.patientCount,
    organisations: nodes.map((node) => ({
      id: node.orgId,
      name: titleOf(node.orgId),
      kind: node.kind,
    })),
  });
}

/** Waits for every promise; then rethrows the first failure, if any (nothing left in flight). */
async function settleAll(promises: readonly Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/**
 * Runs `work` over `items` with at most `limit` at once. After a failure or on `signal` no new
 * item starts; it resolves or rejects once the started ones have finished.
 */
async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      if (signal.aborted) throw new DemoSeedStopped();
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await settleAll(Array.from({ length: Math.min(limit, items.length) }, worker));
}

type NodeTransaction = {
  [K in ContractKind]: { kind: K; body: ContractBodies[K] };
}[ContractKind];

/**
 * Signs `transactions` with `keyPair` at consecutive nonces from the account's committed next
 * nonce, submits them in one batch and waits until every one is committed and accepted.
 */
async function commitNodeTransactions(options: {
  url: string;
  chainId: string;
  keyPair: Ed25519KeyPair;
  transactions: readonly NodeTransaction[];
  signal: AbortSignal;
}): Promise<void> {
  const { url, keyPair, transactions } = options;
  if (transactions.length === 0) return;
  const account = await getJson<{ nextNonce: number }>(
    url,
    `/chain/accounts/${toHex(keyPair.publicKey)}`,
  );
  const encoded = transactions.map((tx, index) =>
    encodeTransaction(
      signTransaction({
        unsigned: {
          chainId: options.chainId,
          kind: tx.kind,
          body: contractBody(tx.kind, tx.body as never),
          signer: keyPair.publicKey,
          nonce: account.nextNonce + index,
        },
        keyPair,
      }),
    ),
  );
  const answer = await submitBatch(url, encoded);
  if (answer.status !== 200 || answer.items.length !== encoded.length) {
    throw new MedLedgerError(
      'seed-failed',
      `${url}/chain/transactions/batch answered ${answer.status} with ${answer.items.length} of ${encoded.length} results`,
    );
  }
  const txIds = answer.items.map((item, index) => {
    if ('code' in item) {
      throw new MedLedgerError(
        'seed-failed',
        `${transactions[index]!.kind} (nonce ${account.nextNonce + index}) was refused by ${url}: ${item.code}`,
      );
    }
    return item.txId;
  });
  const deadline = Date.now() + demoSeedLimits.commitWaitMs;
  for (const [index, txId] of txIds.entries()) {
    for (;;) {
      if (options.signal.aborted) throw new DemoSeedStopped();
      const location = await getJson<{
        receipt: { ok: boolean; code: string | null; message?: string };
      }>(url, `/chain/transactions/${txId}`).catch((error: unknown) => {
        if (error instanceof MedLedgerError && error.details?.status === 404) return null;
        throw error;
      });
      if (location !== null) {
        if (!location.receipt.ok) {
          throw new MedLedgerError(
            'seed-failed',
            `${transactions[index]!.kind} was refused by the contract: ${location.receipt.code} ${location.receipt.message ?? ''}`.trim(),
          );
        }
        break;
      }
      if (Date.now() > deadline) {
        throw new MedLedgerError(
          'seed-failed',
          `${transactions[index]!.kind} ${txId} was not committed within ${demoSeedLimits.commitWaitMs} ms`,
        );
      }
      await sleep(demoSeedLimits.commitPollMs);
    }
  }
}

/** Says what a failed FHIR answer held: status and the OperationOutcome's issues. */
function describeFailure(request: string, answer: FhirAnswer<unknown>): string {
  const outcome = answer.body as {
    resourceType?: string;
    issue?: { severity?: string; code?: string; diagnostics?: string }[];
  } | null;
  const issues =
    outcome?.resourceType === 'OperationOutcome'
      ? (outcome.issue ?? [])
          .map(
            (issue) => `${issue.severity ?? '?'} ${issue.code ?? '?'}: ${issue.diagnostics ?? ''}`,
          )
          .join('; ')
      : JSON.stringify(answer.body).slice(0, 300);
  return `${request} answered ${answer.status}: ${issues}`;
}

/** Sends a FHIR request again while the node answers 429 or 503 (busy), up to a bound. */
async function untilNotBusy<T>(
  send: () => Promise<FhirAnswer<T>>,
  signal: AbortSignal,
): Promise<FhirAnswer<T>> {
  for (let tries = 1; ; tries++) {
    const answer = await send();
    if ((answer.status !== 429 && answer.status !== 503) || tries >= demoSeedLimits.busyTriesMax) {
      return answer;
    }
    if (signal.aborted) throw new DemoSeedStopped();
    const retryAfter = Number(answer.headers.get('retry-after'));
    await sleep(
      Number.isFinite(retryAfter) && retryAfter > 0
        ? retryAfter * 1000
        : demoSeedLimits.busyPauseMs,
    );
  }
}

/** The wave a record is created in: the resources it references are created in earlier ones. */
function waveOf(resource: Resource): number {
  if (resource.resourceType === 'Encounter') return 0;
  return resource.resourceType === 'DiagnosticReport' ? 2 : 1;
}

const referencePattern = /"([A-Z][A-Za-z]+)\/([0-9a-f]{32})"/g;

/**
 * The resource as posted: without its generated id (the server assigns one), and with
 * references to records created earlier rewritten to the ids the server gave them.
 */
function resourceToPost(resource: Resource, newIds: ReadonlyMap<string, string>): Resource {
  const rest: Partial<Resource> = { ...resource };
  delete rest.id;
  const text = JSON.stringify(rest).replace(referencePattern, (match, type: string, id: string) => {
    const mapped = newIds.get(id);
    return mapped === undefined ? match : `"${type}/${mapped}"`;
  });
  return JSON.parse(text) as Resource;
}

function practitionerDisplayName(practitioner: SyntheticPractitioner): string {
  const name = practitioner.resource.name?.[0];
  return [...(name?.prefix ?? []), ...(name?.given ?? []), name?.family ?? ''].join(' ').trim();
}

function patientDisplayName(patient: SyntheticPatient): string {
  const name = patient.resource.name?.[0];
  return [...(name?.given ?? []), name?.family ?? ''].join(' ').trim();
}

/** The login names and entries of `users.json` for a population. */
export function demoUserEntries(options: {
  population: Population;
  nodes: readonly DemoSeedNode[];
}): DemoUserEntry[] {
  const { population, nodes } = options;
  const urlOf = new Map(nodes.map((node) => [node.orgId, node.url]));
  const prefixes = organisationPrefixes(nodes);
  const wanted: Omit<DemoUserEntry, 'name'>[] = [];
  const names: string[] = [];
  for (const practitioner of population.practitioners) {
    const name = practitioner.resource.name?.[0];
    const rolePrefix = practitioner.practitionerId.replace(/-\d+$/, '');
    names.push(
      `${prefixes.get(practitioner.orgId) ?? practitioner.orgId}/${loginSlug(
        [rolePrefix, ...(name?.given ?? []), name?.family ?? ''].join(' '),
        practitioner.practitionerId,
      )}`,
    );
    wanted.push({
      kind: 'practitioner',
      orgId: practitioner.orgId,
      id: practitioner.practitionerId,
      roles: practitioner.roles,
      displayName: practitionerDisplayName(practitioner),
      url: urlOf.get(practitioner.orgId) ?? '',
    });
  }
  for (const patient of population.patients) {
    names.push(`patient/${loginSlug(patientDisplayName(patient), patient.pseudonym.slice(0, 8))}`);
    wanted.push({
      kind: 'patient',
      orgId: patient.custodian,
      id: patient.pseudonym,
      roles: [],
      displayName: patientDisplayName(patient),
      url: urlOf.get(patient.custodian) ?? '',
    });
  }
  const unique = uniqueLoginNames(names);
  return wanted.map((entry, index) => ({ name: unique[index]!, ...entry }));
}

/** Seeds the demo in `dir`; reports progress through `progress`; writes `users.json` last. */
export async function seedDemo(options: {
  dir: string;
  chainId: string;
  nodes: readonly DemoSeedNode[];
  progress: (line: string) => void;
  signal: AbortSignal;
}): Promise<DemoSeedCounts> {
  const { dir, chainId, nodes, signal } = options;
  const population = demoPopulation(nodes);
  const nodeOf = new Map(nodes.map((node) => [node.orgId, node]));
  const node = (orgId: string): DemoSeedNode => {
    const found = nodeOf.get(orgId);
    if (found === undefined) {
      throw new MedLedgerError('seed-failed', `the population names ${orgId}, not in the demo`);
    }
    return found;
  };
  const counts = { patients: 0, records: 0, consents: 0 };
  const total = population.patients.length;
  const report = () =>
    options.progress(
      `seeding: ${counts.patients}/${total} patients, ${counts.records} records, ${counts.consents} consents`,
    );
  report();

  // 1. Node-key transactions, every one committed before the first FHIR write.
  const patientKeys = new Map<string, Ed25519KeyPair>();
  for (const patient of population.patients) {
    const keyPair = generateEd25519KeyPair();
    await saveKeyFile({
      path: join(dir, 'patients', `${patient.pseudonym}.key`),
      key: { kind: 'ed25519', seed: keyPair.seed },
    });
    patientKeys.set(patient.pseudonym, keyPair);
  }
  // Practitioners sign some transactions themselves (a privacy officer closes a break-glass
  // review with their own key): the demo keeps their keys as it keeps the patients'.
  const practitionerKeys = new Map<string, Ed25519KeyPair>();
  for (const practitioner of population.practitioners) {
    const keyPair = generateEd25519KeyPair();
    await saveKeyFile({
      path: demoPractitionerKeyFile(dir, practitioner.orgId, practitioner.practitionerId),
      key: { kind: 'ed25519', seed: keyPair.seed },
    });
    practitionerKeys.set(`${practitioner.orgId}/${practitioner.practitionerId}`, keyPair);
  }
  await settleAll(
    nodes.map(async (seedNode) => {
      const keyPair = await loadEd25519KeyFile(seedNode.keyFile);
      const transactions: NodeTransaction[] = [
        ...population.practitioners
          .filter((practitioner) => practitioner.orgId === seedNode.orgId)
          .map((practitioner): NodeTransaction => ({
            kind: 'identity.register-practitioner',
            body: {
              practitionerId: practitioner.practitionerId,
              publicKey: practitionerKeys.get(
                `${practitioner.orgId}/${practitioner.practitionerId}`,
              )!.publicKey,
              roles: [...practitioner.roles],
              active: true,
            },
          })),
        ...population.patients
          .filter((patient) => patient.custodian === seedNode.orgId)
          .map((patient): NodeTransaction => ({
            kind: 'identity.enrol-patient',
            body: {
              patientId: Buffer.from(patient.pseudonym, 'hex'),
              publicKey: patientKeys.get(patient.pseudonym)!.publicKey,
            },
          })),
      ];
      await commitNodeTransactions({ url: seedNode.url, chainId, keyPair, transactions, signal });
    }),
  );

  // 2. FHIR writes, by a clinician of each record's custodian.
  const clinicianTokens = new Map<string, Promise<string>>();
  const clinicianToken = (orgId: string): Promise<string> => {
    let token = clinicianTokens.get(orgId);
    if (token === undefined) {
      const staff = population.practitioners.filter((p) => p.orgId === orgId);
      const writer =
        staff.find((p) =>
          ['doctor', 'nurse', 'lab-technician'].some((role) => p.roles.includes(role)),
        ) ?? staff[0];
      if (writer === undefined) {
        throw new MedLedgerError('seed-failed', `${orgId} has no practitioner to write records`);
      }
      token = issueDemoToken({
        dataDir: node(orgId).dataDir,
        baseUrl: node(orgId).url,
        user: { kind: 'practitioner', orgId, practitionerId: writer.practitionerId },
      });
      clinicianTokens.set(orgId, token);
    }
    return token;
  };
  const create = async (orgId: string, resource: Resource): Promise<string> => {
    const url = node(orgId).url;
    const token = await clinicianToken(orgId);
    const answer = await untilNotBusy(
      () =>
        fhirRequest({ url, token, method: 'POST', path: resource.resourceType, body: resource }),
      signal,
    );
    if (answer.status !== 201 || typeof answer.body?.id !== 'string') {
      throw new MedLedgerError(
        'seed-failed',
        describeFailure(`POST ${url}/fhir/${resource.resourceType}`, answer),
      );
    }
    return answer.body.id;
  };

  await forEachBounded(
    population.patients,
    demoSeedLimits.requestsInFlightMax,
    signal,
    async (p) => {
      await create(p.custodian, p.resource);
      counts.patients++;
      report();
    },
  );
  const newIds = new Map<string, string>();
  for (const wave of [0, 1, 2]) {
    const records = population.patients.flatMap((patient) =>
      patient.records.filter((record) => waveOf(record.resource) === wave),
    );
    await forEachBounded(records, demoSeedLimits.requestsInFlightMax, signal, async (record) => {
      const id = await create(record.custodian, resourceToPost(record.resource, newIds));
      if (record.resource.id !== undefined) newIds.set(record.resource.id, id);
      counts.records++;
      report();
    });
  }

  // 3. Consents, each signed by its patient; one patient's grants one after another (nonces).
  await forEachBounded(
    population.patients,
    demoSeedLimits.requestsInFlightMax,
    signal,
    async (patient) => {
      const custodian = node(patient.custodian);
      const token = await issueDemoToken({
        dataDir: custodian.dataDir,
        baseUrl: custodian.url,
        user: { kind: 'patient', orgId: patient.custodian, patientId: patient.pseudonym },
      });
      for (const consent of patient.suggestedConsents) {
        if (signal.aborted) throw new DemoSeedStopped();
        const answer = await untilNotBusy(
          () =>
            grantConsent({
              url: custodian.url,
              chainId,
              token,
              patientKeyPair: patientKeys.get(patient.pseudonym)!,
              consent: consent as Consent & { id: string },
            }),
          signal,
        );
        if (answer.status !== 201) {
          throw new MedLedgerError(
            'seed-failed',
            describeFailure(`POST ${custodian.url}/fhir/Consent`, answer),
          );
        }
        counts.consents++;
        report();
      }
    },
  );

  const users = demoUserEntries({ population, nodes });
  writeFileSync(
    join(dir, demoUsersFile),
    `${JSON.stringify(
      makeDemoUsersDocument({ chainId, seed: demoSeedLimits.seed, counts, users }),
      null,
      2,
    )}\n`,
    { mode: 0o600 },
  );
  return counts;
}
