// Checks, against four real node processes on 127.0.0.1, that a record version stored in the
// custodian's vault but never anchored does not take the record hostage (decision 0062): the
// custodian is killed (kill -9) while an update waits for an anchor that cannot commit (the other
// three are stopped), and after the restart reads, search, history, update and delete all follow
// the chain; and two updates racing from one head give one 200 and one 409, the winner read back
// even though the loser's put came after it in the vault, its Provenance too; and a Provenance
// an older node kept as a vault record of its own is still read.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { Bundle, Observation, Provenance } from '@medplum/fhirtypes';
import Database from 'better-sqlite3';

import { toHex } from '../../src/base/index.ts';
import { type DemoUser, fhirRequest, issueDemoToken } from '../../src/cli/index.ts';
import { ed25519Verify } from '../../src/crypto/index.ts';
import { provenanceSignatureOf } from '../../src/fhir/index.ts';
import { generateEd25519KeyPair, loadEd25519KeyFile } from '../../src/keys/index.ts';
import {
  type FhirResourceJson,
  loadVaultKekFile,
  openSqliteRecordVault,
} from '../../src/vault/index.ts';
import { type TestNetwork, sleep } from '../net/harness.ts';
import { startNetworkWithStaff } from './network-with-staff.ts';

const custodian = 0;
const others = [1, 2, 3];

let network: TestNetwork;
const patientKey = generateEd25519KeyPair();
const patientId = toHex(patientKey.publicKey.slice(0, 16));

async function token(): Promise<string> {
  const user: DemoUser = {
    kind: 'practitioner',
    orgId: network.nodes[custodian]!.orgId,
    practitionerId: 'dr-una',
  };
  return issueDemoToken({
    dataDir: network.nodes[custodian]!.dataDir,
    baseUrl: network.url(custodian),
    user,
  });
}

function observation(value: string, id?: string): Observation {
  return {
    resourceType: 'Observation',
    ...(id === undefined ? {} : { id }),
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '2339-0', display: 'synthetic test' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: '2026-11-02T09:30:00Z',
    valueString: value,
  };
}

async function request<T = Observation>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
) {
  return fhirRequest<T>({
    url: network.url(custodian),
    token: await token(),
    method,
    path,
    ...(body === undefined ? {} : { body }),
  });
}

/** The versions the custodian's vault holds for `recordId` (read while the node is down). */
function vaultVersions(recordId: string): number[] {
  const db = new Database(join(network.nodes[custodian]!.dataDir, 'vault.sqlite'), {
    readonly: true,
  });
  try {
    const rows = db
      .prepare('SELECT version FROM vault_versions WHERE record_id = ? ORDER BY version')
      .all(recordId) as { version: number }[];
    return rows.map((row) => row.version);
  } finally {
    db.close();
  }
}

before(async () => {
  network = await startNetworkWithStaff({ custodian, practitionerId: 'dr-una', patientKey });
});

after(async () => {
  await network?.destroy();
});

test('a version stored but never anchored (custodian killed before the commit) does not block the record', async () => {
  const created = await request('POST', 'Observation', observation('first'));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id!;

  // Without a quorum the update's anchor waits in the custodian's mempool only; kill -9 then
  // loses it, while the vault already holds the version.
  await Promise.all(others.map((index) => network.processes[index]!.stop()));
  const bearer = await token();
  const abort = new AbortController();
  const pending = fetch(`${network.url(custodian)}/fhir/Observation/${id}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify(observation('never anchored', id)),
    signal: abort.signal,
  }).then(
    (response) => response.status,
    () => 'no answer' as const,
  );
  await sleep(1_500);
  await network.processes[custodian]!.kill();
  abort.abort();
  assert.equal(await pending, 'no answer');
  assert.deepEqual(vaultVersions(id), [1, 2], 'the update reached the vault before the kill');

  await Promise.all(network.processes.map((process) => process.start()));
  const [height] = await network.heights([custodian]);
  await network.waitForHeight(height! + 2, [0, 1, 2, 3], 60_000);

  // Reads and search follow the chain's head (version 1), not the vault's latest.
  const read = await request('GET', `Observation/${id}`);
  assert.equal(read.status, 200);
  assert.equal(read.body.meta?.versionId, '1');
  assert.equal(read.body.valueString, 'first');
  const found = await request<Bundle>('GET', `Observation?subject=Patient/${patientId}`);
  assert.equal(found.status, 200);
  assert.deepEqual(
    found.body.entry?.map((entry) => [entry.resource?.id, entry.resource?.meta?.versionId]),
    [[id, '1']],
  );

  // The next update takes version 2: the unanchored one is set aside, not in the way.
  const updated = await request('PUT', `Observation/${id}`, observation('second', id));
  assert.equal(updated.status, 200, JSON.stringify(updated.body));
  assert.equal(updated.body.meta?.versionId, '2');
  const reread = await request('GET', `Observation/${id}`);
  assert.equal(reread.body.valueString, 'second');
  const vread = await request('GET', `Observation/${id}/_history/2`);
  assert.equal(vread.status, 200);
  assert.equal(vread.body.valueString, 'second');
  const history = await request<Bundle>('GET', `Observation/${id}/_history`);
  assert.equal(history.status, 200);
  assert.deepEqual(
    history.body.entry?.map((entry) => [
      entry.resource?.meta?.versionId,
      (entry.resource as Observation | undefined)?.valueString,
    ]),
    [
      ['2', 'second'],
      ['1', 'first'],
    ],
  );

  // A delete is a real delete again (it read the vault's latest version before).
  const deleted = await request('DELETE', `Observation/${id}`);
  assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
  const gone = await request('GET', `Observation/${id}`);
  assert.equal(gone.status, 410);
});

test('two updates racing from one head: one 200, one 409, and the winner is what every read returns', async () => {
  const created = await request('POST', 'Observation', observation('base'));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id!;
  const answers = await Promise.all(
    ['left', 'right'].map((value) => request('PUT', `Observation/${id}`, observation(value, id))),
  );
  const statuses = answers.map((answer) => answer.status).sort();
  assert.deepEqual(statuses, [200, 409], JSON.stringify(answers.map((answer) => answer.body)));
  const winner = answers.find((answer) => answer.status === 200)!.body.valueString;
  const loser = answers.find((answer) => answer.status === 409)!;
  assert.match(JSON.stringify(loser.body), /changed by another write first/);
  const read = await request('GET', `Observation/${id}`);
  assert.equal(read.status, 200);
  assert.equal(read.body.meta?.versionId, '2');
  assert.equal(read.body.valueString, winner);
  const vread = await request('GET', `Observation/${id}/_history/2`);
  assert.equal(vread.body.valueString, winner);
  // The version's Provenance is the winner's too: it sits in the winner's vault row, found by
  // the anchored hash (decision 0080), and its signature covers the winner's content.
  const provenance = await request<Provenance>('GET', `Provenance/${id}-v2`);
  assert.equal(provenance.status, 200, JSON.stringify(provenance.body));
  const nodeKey = await loadEd25519KeyFile(network.nodes[custodian]!.keyFile);
  const signed = provenanceSignatureOf(provenance.body, vread.body);
  assert.ok(
    ed25519Verify({
      publicKey: nodeKey.publicKey,
      message: signed.signingInput,
      signature: signed.signature,
    }),
    'the Provenance of version 2 is signed over the winner',
  );
  const next = await request('PUT', `Observation/${id}`, observation('after the race', id));
  assert.equal(next.status, 200, JSON.stringify(next.body));
  assert.equal(next.body.meta?.versionId, '3');
});

test('a Provenance stored before decision 0080 (a vault record of its own) is still read', async () => {
  const created = await request('POST', 'Observation', observation('older node'));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id!;
  const fresh = await request<Provenance>('GET', `Provenance/${id}-v1`);
  assert.equal(fresh.status, 200, JSON.stringify(fresh.body));

  // Rewrite the custodian's vault as an older node left it: the Provenance as the record
  // `<id>-v1`, and none in the version's row.
  await network.processes[custodian]!.stop();
  const dataDir = network.nodes[custodian]!.dataDir;
  const file = join(dataDir, 'vault.sqlite');
  const kek = await loadVaultKekFile(join(dataDir, 'vault-kek.json'));
  const vault = await openSqliteRecordVault({ file, kek });
  try {
    await vault.put({
      recordId: `${id}-v1`,
      version: 1,
      resourceType: 'Provenance',
      patientId,
      resource: fresh.body as unknown as FhirResourceJson,
      lastUpdatedMs: Date.parse(fresh.body.recorded),
      securityLabels: [],
    });
  } finally {
    await vault.close();
  }
  const db = new Database(file);
  try {
    db.prepare('UPDATE vault_versions SET provenance = NULL WHERE record_id = ?').run(id);
  } finally {
    db.close();
  }
  await network.processes[custodian]!.start();

  const older = await request<Provenance>('GET', `Provenance/${id}-v1`);
  assert.equal(older.status, 200, JSON.stringify(older.body));
  assert.deepEqual(older.body, fresh.body);
});
