// The vault test suite, written once and run against each backend (SQLite, PostgreSQL): round
// trips, version order, tampering of every stored column, AAD binding, erasure, KEK rotation,
// listing, refusals, and a fast-check round-trip property.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { equalBytes } from '../../src/base/index.ts';
import {
  VaultError,
  VaultErrorCode,
  canonicalResourceBytes,
  recordContentHash,
  vaultKekFromBytes,
  vaultLimits,
  type FhirResourceJson,
  type RecordVault,
  type VaultKek,
} from '../../src/vault/index.ts';
import { unwrapDataKey } from '../../src/vault/record-cipher.ts';
import { freshId, kekBytesA, kekBytesB, putInput, sampleResources } from './fixtures.ts';

/** What the shared cases need from a backend. A location is a file (SQLite) or a schema (PostgreSQL). */
export type VaultBackend = {
  readonly name: 'sqlite' | 'postgres';
  newLocation(): Promise<string>;
  open(location: string, kek: VaultKek): Promise<RecordVault>;
  /** Reads one column of one row, the vault closed. */
  readColumn(options: {
    location: string;
    table: string;
    column: string;
    recordId: string;
    version: number;
  }): Promise<unknown>;
  /** Writes one column of one row, the vault closed. */
  writeColumn(options: {
    location: string;
    table: string;
    column: string;
    recordId: string;
    version: number;
    value: unknown;
  }): Promise<void>;
  /** Rows of `table` whose record id is `recordId`. */
  countRows(options: { location: string; table: string; recordId: string }): Promise<number>;
};

const kekA = vaultKekFromBytes(kekBytesA);
const kekB = vaultKekFromBytes(kekBytesB);

function vaultError(code: VaultErrorCode, message?: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof VaultError, `expected a VaultError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  };
}

/** One byte (or character, or number) of a stored value changed. */
function changed(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    const copy = Buffer.from(value);
    assert.ok(copy.length > 0, 'a stored byte string to change');
    copy[Math.floor(copy.length / 2)]! ^= 0x01;
    return copy;
  }
  if (typeof value === 'string') return value.slice(0, -1) + (value.endsWith('x') ? 'y' : 'x');
  if (typeof value === 'number') return value + 1;
  if (typeof value === 'boolean') return !value;
  throw new Error(`cannot change a stored ${typeof value}`);
}

function plainJson(resource: FhirResourceJson): unknown {
  return JSON.parse(JSON.stringify(resource)) as unknown;
}

/** Defines every shared case for `backend`. */
export function defineRecordVaultCases(backend: VaultBackend): void {
  const name = backend.name;

  async function withVault<T>(
    work: (vault: RecordVault, location: string) => Promise<T>,
  ): Promise<T> {
    const location = await backend.newLocation();
    const vault = await backend.open(location, kekA);
    try {
      return await work(vault, location);
    } finally {
      await vault.close();
    }
  }

  test(`${name}: every sample resource round-trips, with its metadata and salted hash`, async () => {
    await withVault(async (vault) => {
      assert.equal(vault.backend, name);
      assert.equal(vault.kekId, kekA.id);
      for (const [index, resource] of sampleResources.entries()) {
        const input = putInput({
          resource,
          patientId: `patient-${index}`,
          securityLabels: ['R', 'HIV'],
          lastUpdatedMs: 1_000 + index,
        });
        const { contentHash, salt } = await vault.put(input);
        assert.equal(salt.length, 32);
        const canonical = canonicalResourceBytes(resource);
        assert.ok(equalBytes(contentHash, recordContentHash({ salt, canonical })));
        const got = await vault.get({ recordId: input.recordId });
        assert.deepEqual(got.resource, plainJson(resource));
        assert.ok(equalBytes(got.canonical, canonical));
        assert.ok(equalBytes(got.salt, salt));
        assert.ok(equalBytes(got.contentHash, contentHash));
        assert.deepEqual(got.meta, {
          recordId: input.recordId,
          version: 1,
          resourceType: resource.resourceType,
          patientId: `patient-${index}`,
          lastUpdatedMs: 1_000 + index,
          securityLabels: ['R', 'HIV'],
          deleted: false,
          erased: false,
        });
      }
    });
  });

  test(`${name}: versions go 1, 2, 3; get reads the latest or the one asked; a delete is a version`, async () => {
    await withVault(async (vault) => {
      const recordId = freshId('rec');
      const first = sampleResources[1]!;
      const second = { ...first, status: 'amended' };
      await vault.put(putInput({ recordId, version: 1, resource: first }));
      await vault.put(
        putInput({ recordId, version: 2, resource: second, lastUpdatedMs: 2_000_000_000_000 }),
      );
      await vault.put(putInput({ recordId, version: 3, resource: second, deleted: true }));
      assert.deepEqual((await vault.get({ recordId, version: 1 })).resource, plainJson(first));
      assert.deepEqual((await vault.get({ recordId, version: 2 })).resource, plainJson(second));
      const latest = await vault.get({ recordId });
      assert.equal(latest.meta.version, 3);
      assert.equal(latest.meta.deleted, true);
      const history = await vault.history(recordId);
      assert.deepEqual(
        history.map((meta) => [meta.version, meta.deleted, meta.lastUpdatedMs]),
        [
          [1, false, 1_709_280_000_000],
          [2, false, 2_000_000_000_000],
          [3, true, 1_709_280_000_000],
        ],
      );
    });
  });

  test(`${name}: a duplicate or a gap in versions is refused and nothing is written`, async () => {
    await withVault(async (vault) => {
      const recordId = freshId('rec');
      await assert.rejects(
        vault.put(putInput({ recordId, version: 2 })),
        vaultError(VaultErrorCode.versionConflict, /expected version 1, found 2 \(a gap\)/),
      );
      await vault.put(putInput({ recordId, version: 1 }));
      await assert.rejects(
        vault.put(putInput({ recordId, version: 1 })),
        vaultError(
          VaultErrorCode.versionConflict,
          /expected version 2, found 1 \(already stored\)/,
        ),
      );
      await assert.rejects(
        vault.put(putInput({ recordId, version: 3 })),
        vaultError(VaultErrorCode.versionConflict, /expected version 2, found 3 \(a gap\)/),
      );
      await vault.put(putInput({ recordId, version: 2 }));
      assert.deepEqual(
        (await vault.history(recordId)).map((meta) => meta.version),
        [1, 2],
      );
    });
  });

  test(`${name}: puts made at once each stand alone: a refused one leaves the others stored`, async () => {
    await withVault(async (vault) => {
      const ids = Array.from({ length: 40 }, () => freshId('rec'));
      const gap = freshId('rec');
      const results = await Promise.allSettled([
        ...ids.map((recordId) => vault.put(putInput({ recordId, version: 1 }))),
        vault.put(putInput({ recordId: gap, version: 2 })),
        ...ids.map((recordId) => vault.put(putInput({ recordId, version: 1 }))),
      ]);
      const outcomes = results.map((result) => result.status);
      assert.deepEqual(outcomes.slice(0, 40), Array<string>(40).fill('fulfilled'));
      assert.equal(outcomes[40], 'rejected', 'the gap is refused');
      // The same versions again, in the same turn: each is refused as already stored.
      assert.deepEqual(outcomes.slice(41), Array<string>(40).fill('rejected'));
      for (const recordId of ids) {
        assert.equal((await vault.get({ recordId })).meta.version, 1);
      }
      await assert.rejects(vault.history(gap), vaultError(VaultErrorCode.notFound));
    });
  });

  const provenanceOf = (target: string): FhirResourceJson => ({
    resourceType: 'Provenance',
    target: [{ reference: target }],
    recorded: '2024-03-01T08:30:00.000Z',
    agent: [{ who: { reference: 'Organization/org-a' } }],
  });

  test(`${name}: a version's Provenance is kept in its row and read back; a version without has none`, async () => {
    await withVault(async (vault) => {
      const withOne = putInput();
      const provenance = provenanceOf(`Observation/${withOne.recordId}/_history/1`);
      const put = await vault.put({ ...withOne, provenance });
      assert.deepEqual(
        await vault.getProvenance({ recordId: withOne.recordId, version: 1 }),
        provenance,
      );
      assert.deepEqual(
        await vault.getProvenance({
          recordId: withOne.recordId,
          version: 1,
          contentHash: put.contentHash,
        }),
        provenance,
      );
      // The record itself is as without a Provenance.
      const record = await vault.get({ recordId: withOne.recordId });
      assert.deepEqual(record.resource, plainJson(withOne.resource));
      const without = putInput();
      await vault.put(without);
      assert.equal(await vault.getProvenance({ recordId: without.recordId, version: 1 }), null);
      await assert.rejects(
        vault.getProvenance({ recordId: without.recordId, version: 2 }),
        vaultError(VaultErrorCode.notFound, /has no version 2/),
      );
      await assert.rejects(
        vault.getProvenance({ recordId: without.recordId } as never),
        vaultError(VaultErrorCode.invalidArgument, /^version:/),
      );
    });
  });

  test(`${name}: a Provenance that is not a JSON Provenance resource is refused, naming it`, async () => {
    await withVault(async (vault) => {
      const bad: unknown[] = [
        'Provenance',
        null,
        { resourceType: 'Observation' },
        { resourceType: 'Provenance', recorded: Number.NaN },
      ];
      for (const provenance of bad) {
        const input = putInput();
        await assert.rejects(
          vault.put({ ...input, provenance: provenance as FhirResourceJson }),
          vaultError(VaultErrorCode.invalidArgument, /^provenance: /),
        );
        await assert.rejects(
          vault.get({ recordId: input.recordId }),
          vaultError(VaultErrorCode.notFound),
        );
      }
    });
  });

  test(`${name}: a set-aside version keeps its own Provenance, found by its content hash`, async () => {
    await withVault(async (vault) => {
      const input = putInput();
      const first = await vault.put({ ...input, provenance: provenanceOf('first') });
      const second = await vault.put({
        ...input,
        replaceUnanchored: true,
        provenance: provenanceOf('second'),
      });
      const read = (contentHash: Uint8Array) =>
        vault.getProvenance({ recordId: input.recordId, version: 1, contentHash });
      assert.deepEqual(await read(first.contentHash), provenanceOf('first'));
      assert.deepEqual(await read(second.contentHash), provenanceOf('second'));
      assert.deepEqual(
        await vault.getProvenance({ recordId: input.recordId, version: 1 }),
        provenanceOf('second'),
      );
    });
  });

  test(`${name}: a changed byte of a Provenance, or of its version's metadata, is an integrity error`, async () => {
    const location = await backend.newLocation();
    let vault = await backend.open(location, kekA);
    const input = putInput();
    await vault.put({ ...input, provenance: provenanceOf('x') });
    await vault.close();
    const where = { location, table: 'vault_versions', recordId: input.recordId, version: 1 };
    const sealed = await backend.readColumn({ ...where, column: 'provenance' });
    await backend.writeColumn({ ...where, column: 'provenance', value: changed(sealed) });
    vault = await backend.open(location, kekA);
    try {
      await assert.rejects(
        vault.getProvenance({ recordId: input.recordId, version: 1 }),
        vaultError(VaultErrorCode.integrity, /its Provenance does not decrypt/),
      );
      // The record itself is untouched.
      assert.deepEqual(
        (await vault.get({ recordId: input.recordId })).resource,
        plainJson(input.resource),
      );
    } finally {
      await vault.close();
    }
    await backend.writeColumn({ ...where, column: 'provenance', value: sealed });
    vault = await backend.open(location, kekA);
    try {
      assert.deepEqual(
        await vault.getProvenance({ recordId: input.recordId, version: 1 }),
        provenanceOf('x'),
      );
    } finally {
      await vault.close();
    }
    // The Provenance is bound to its version's metadata (here its time).
    await backend.writeColumn({
      ...where,
      column: 'last_updated_ms',
      value: input.lastUpdatedMs + 1,
    });
    vault = await backend.open(location, kekA);
    try {
      await assert.rejects(
        vault.getProvenance({ recordId: input.recordId, version: 1 }),
        vaultError(VaultErrorCode.integrity, /its Provenance does not decrypt/),
      );
    } finally {
      await vault.close();
    }
  });

  test(`${name}: erasure destroys a version's Provenance with it; rotation keeps it readable`, async () => {
    const location = await backend.newLocation();
    let vault = await backend.open(location, kekA);
    const patientId = freshId('patient');
    const kept = putInput();
    const erased = putInput({ patientId });
    await vault.put({ ...kept, provenance: provenanceOf('kept') });
    await vault.put({ ...erased, provenance: provenanceOf('erased') });
    try {
      await vault.erasePatient(patientId);
      await assert.rejects(
        vault.getProvenance({ recordId: erased.recordId, version: 1 }),
        vaultError(VaultErrorCode.erased),
      );
      await vault.rotateKek(kekB);
    } finally {
      await vault.close();
    }
    assert.equal(
      await backend.readColumn({
        location,
        table: 'vault_versions',
        column: 'provenance',
        recordId: erased.recordId,
        version: 1,
      }),
      null,
    );
    vault = await backend.open(location, kekB);
    try {
      assert.deepEqual(
        await vault.getProvenance({ recordId: kept.recordId, version: 1 }),
        provenanceOf('kept'),
      );
    } finally {
      await vault.close();
    }
  });

  test(`${name}: an erasure asked in the same turn as puts reaches the versions put before it`, async () => {
    await withVault(async (vault) => {
      const patientId = freshId('patient');
      const before = Array.from({ length: 6 }, () => putInput({ patientId }));
      const puts = before.map((input) => vault.put(input));
      const erasure = vault.erasePatient(patientId);
      const later = putInput({ patientId: freshId('patient') });
      const laterPut = vault.put(later);
      await Promise.all(puts);
      const erased = await erasure;
      assert.deepEqual(
        erased.map((version) => version.recordId).sort(),
        before.map((input) => input.recordId).sort(),
      );
      for (const input of before) {
        await assert.rejects(
          vault.get({ recordId: input.recordId }),
          vaultError(VaultErrorCode.erased),
        );
      }
      await laterPut;
      assert.equal((await vault.get({ recordId: later.recordId })).meta.version, 1);
    });
  });

  test(`${name}: a rotation asked in the same turn as puts re-wraps the versions put before it`, async () => {
    const location = await backend.newLocation();
    const vault = await backend.open(location, kekA);
    const inputs = Array.from({ length: 6 }, () => putInput());
    try {
      const puts = inputs.map((input) => vault.put(input));
      const rotation = vault.rotateKek(kekB);
      const later = putInput();
      const laterPut = vault.put(later);
      await Promise.all([...puts, laterPut]);
      assert.deepEqual(await rotation, { rewrapped: inputs.length });
      inputs.push(later);
    } finally {
      await vault.close();
    }
    await assert.rejects(backend.open(location, kekA), vaultError(VaultErrorCode.wrongKek));
    const reopened = await backend.open(location, kekB);
    try {
      for (const input of inputs) {
        assert.deepEqual(
          (await reopened.get({ recordId: input.recordId })).resource,
          plainJson(input.resource),
        );
      }
    } finally {
      await reopened.close();
    }
  });

  test(`${name}: a version may not change the record's patient or resource type`, async () => {
    await withVault(async (vault) => {
      const recordId = freshId('rec');
      await vault.put(putInput({ recordId, version: 1, patientId: 'patient-a' }));
      await assert.rejects(
        vault.put(putInput({ recordId, version: 2, patientId: 'patient-b' })),
        vaultError(VaultErrorCode.recordMismatch, /must stay Observation and patient-a/),
      );
      await assert.rejects(
        vault.put(putInput({ recordId, version: 2, resource: sampleResources[2]! })),
        vaultError(VaultErrorCode.recordMismatch),
      );
      await vault.put(putInput({ recordId, version: 2, patientId: 'patient-a' }));
    });
  });

  test(`${name}: unknown records and versions are not-found`, async () => {
    await withVault(async (vault) => {
      const recordId = freshId('rec');
      await assert.rejects(
        vault.get({ recordId }),
        vaultError(VaultErrorCode.notFound, /is not in the vault/),
      );
      await assert.rejects(vault.history(recordId), vaultError(VaultErrorCode.notFound));
      await vault.put(putInput({ recordId }));
      await assert.rejects(
        vault.get({ recordId, version: 2 }),
        vaultError(VaultErrorCode.notFound, /has no version 2/),
      );
      assert.equal((await vault.get({ recordId, version: 1 })).meta.version, 1);
    });
  });

  test(`${name}: bad arguments are refused with the argument named`, async () => {
    await withVault(async (vault) => {
      const cases: Array<[unknown, VaultErrorCode, RegExp]> = [
        [
          putInput({ recordId: 'has space' }),
          VaultErrorCode.invalidArgument,
          /^recordId: expected a FHIR id/,
        ],
        [putInput({ patientId: '' }), VaultErrorCode.invalidArgument, /^patientId:/],
        [
          putInput({ version: 0 }),
          VaultErrorCode.invalidArgument,
          /^version: expected a version number/,
        ],
        [putInput({ version: 1.5 }), VaultErrorCode.invalidArgument, /^version:/],
        [
          putInput({ version: vaultLimits.versionsPerRecordMax + 1 }),
          VaultErrorCode.tooLarge,
          /versionsPerRecordMax/,
        ],
        [
          putInput({ resourceType: 'observation' }),
          VaultErrorCode.invalidArgument,
          /^resourceType:/,
        ],
        [
          putInput({ resourceType: 'Patient' }),
          VaultErrorCode.invalidArgument,
          /^resource.resourceType: expected Patient/,
        ],
        [putInput({ lastUpdatedMs: -1 }), VaultErrorCode.invalidArgument, /^lastUpdatedMs:/],
        [
          putInput({ securityLabels: ['has space'] }),
          VaultErrorCode.invalidArgument,
          /^securityLabels\[0\]:/,
        ],
        [
          putInput({ securityLabels: Array.from({ length: 33 }, () => 'N') }),
          VaultErrorCode.tooLarge,
          /securityLabelsMax/,
        ],
        [
          { ...putInput(), resource: { resourceType: 'Observation', value: Number.NaN } },
          VaultErrorCode.invalidArgument,
          /^resource.value: expected a finite number/,
        ],
        [
          { ...putInput(), resource: { resourceType: 'Observation', when: new Date(0) } },
          VaultErrorCode.invalidArgument,
          /^resource.when: expected a plain JSON object, found an object of class Date/,
        ],
        [
          { ...putInput(), resource: { resourceType: 'Observation', note: undefined } },
          VaultErrorCode.invalidArgument,
          /^resource.note: expected a JSON value, found undefined/,
        ],
        [
          { ...putInput(), resource: { resourceType: 'Observation', text: '\ud800' } },
          VaultErrorCode.invalidArgument,
          /Lone surrogate/,
        ],
        [
          {
            ...putInput(),
            resource: {
              resourceType: 'Observation',
              text: 'x'.repeat(vaultLimits.resourceBytesMax),
            },
          },
          VaultErrorCode.tooLarge,
          /resourceBytesMax/,
        ],
        [
          { ...putInput(), resource: ['Observation'] },
          VaultErrorCode.invalidArgument,
          /^resource: expected a FHIR resource/,
        ],
      ];
      for (const [input, code, message] of cases) {
        await assert.rejects(vault.put(input as never), vaultError(code, message));
      }
      await assert.rejects(
        vault.get({ recordId: '../etc' }),
        vaultError(VaultErrorCode.invalidArgument, /^recordId:/),
      );
      await assert.rejects(
        vault.list({ limit: vaultLimits.listPageSizeMax + 1 }),
        vaultError(VaultErrorCode.invalidArgument, /^limit:/),
      );
      await assert.rejects(
        vault.list({ resourceType: 'nope' }),
        vaultError(VaultErrorCode.invalidArgument, /^resourceType:/),
      );
      // The valid twin of all of the above.
      const input = putInput();
      await vault.put(input);
      assert.equal((await vault.get({ recordId: input.recordId })).meta.version, 1);
    });
  });

  test(`${name}: the same resource stored twice has two salts and two hashes`, async () => {
    await withVault(async (vault) => {
      const resource = sampleResources[0]!;
      const one = await vault.put(putInput({ resource }));
      const two = await vault.put(putInput({ resource }));
      assert.ok(!equalBytes(one.salt, two.salt));
      assert.ok(!equalBytes(one.contentHash, two.contentHash));
      const canonical = canonicalResourceBytes(resource);
      assert.ok(equalBytes(recordContentHash({ salt: one.salt, canonical }), one.contentHash));
      assert.ok(equalBytes(recordContentHash({ salt: two.salt, canonical }), two.contentHash));
    });
  });

  const tamperedColumns: Array<[string, string]> = [
    ['vault_versions', 'ciphertext'],
    ['vault_versions', 'nonce'],
    ['vault_versions', 'tag'],
    ['vault_versions', 'salt'],
    ['vault_versions', 'content_hash'],
    ['vault_versions', 'patient_id'],
    ['vault_versions', 'resource_type'],
    ['vault_versions', 'last_updated_ms'],
    ['vault_versions', 'security_labels'],
    ['vault_versions', 'deleted'],
    ['vault_data_keys', 'wrapped_key'],
    ['vault_data_keys', 'wrap_nonce'],
    ['vault_data_keys', 'kek_id'],
  ];
  for (const [table, column] of tamperedColumns) {
    test(`${name}: one changed byte in ${table}.${column} is an integrity error, other records still read`, async () => {
      const location = await backend.newLocation();
      let vault = await backend.open(location, kekA);
      const victim = putInput({ securityLabels: ['R'] });
      const bystander = putInput();
      await vault.put(victim);
      await vault.put(bystander);
      await vault.close();
      const before = await backend.readColumn({
        location,
        table,
        column,
        recordId: victim.recordId,
        version: 1,
      });
      const value = column === 'security_labels' ? '["V"]' : changed(before);
      await backend.writeColumn({
        location,
        table,
        column,
        recordId: victim.recordId,
        version: 1,
        value,
      });
      vault = await backend.open(location, kekA);
      try {
        await assert.rejects(
          vault.get({ recordId: victim.recordId }),
          vaultError(
            VaultErrorCode.integrity,
            new RegExp(`record ${victim.recordId} version 1: .*a stored byte was changed`),
          ),
        );
        assert.deepEqual(
          (await vault.get({ recordId: bystander.recordId })).resource,
          plainJson(bystander.resource),
        );
      } finally {
        await vault.close();
      }
      // Putting the original value back makes the record readable again: the check is exact.
      await backend.writeColumn({
        location,
        table,
        column,
        recordId: victim.recordId,
        version: 1,
        value: before,
      });
      vault = await backend.open(location, kekA);
      try {
        assert.deepEqual(
          (await vault.get({ recordId: victim.recordId })).resource,
          plainJson(victim.resource),
        );
      } finally {
        await vault.close();
      }
    });
  }

  test(`${name}: a ciphertext copied onto another row does not decrypt there (AAD binding)`, async () => {
    const location = await backend.newLocation();
    let vault = await backend.open(location, kekA);
    const source = putInput({ patientId: 'patient-a' });
    const target = putInput({ patientId: 'patient-b' });
    await vault.put(source);
    await vault.put(target);
    await vault.close();
    const copy = async (table: string, columns: string[]): Promise<void> => {
      for (const column of columns) {
        const value = await backend.readColumn({
          location,
          table,
          column,
          recordId: source.recordId,
          version: 1,
        });
        await backend.writeColumn({
          location,
          table,
          column,
          recordId: target.recordId,
          version: 1,
          value,
        });
      }
    };
    // First the record layer alone (ciphertext, nonce, tag, salt, hash), then the data key too:
    // each copy is bound to the source row's ids and fails on the target.
    await copy('vault_versions', ['ciphertext', 'nonce', 'tag', 'salt', 'content_hash']);
    vault = await backend.open(location, kekA);
    await assert.rejects(
      vault.get({ recordId: target.recordId }),
      vaultError(VaultErrorCode.integrity, /does not decrypt/),
    );
    await vault.close();
    await copy('vault_data_keys', ['wrap_nonce', 'wrapped_key']);
    vault = await backend.open(location, kekA);
    try {
      await assert.rejects(
        vault.get({ recordId: target.recordId }),
        vaultError(VaultErrorCode.integrity, /does not unwrap/),
      );
      assert.deepEqual(
        (await vault.get({ recordId: source.recordId })).resource,
        plainJson(source.resource),
      );
    } finally {
      await vault.close();
    }
  });

  test(`${name}: erasePatient destroys every data key of the patient; history and hashes stay`, async () => {
    const location = await backend.newLocation();
    const vault = await backend.open(location, kekA);
    const patientId = freshId('patient');
    const one = putInput({ patientId, resource: sampleResources[0]! });
    const two = putInput({ patientId, resource: sampleResources[2]! });
    const other = putInput({ patientId: freshId('patient') });
    const stored = [
      await vault.put(one),
      await vault.put(two),
      await vault.put({ ...two, version: 2 }),
    ];
    await vault.put(other);
    const erased = await vault.erasePatient(patientId);
    assert.deepEqual(
      [...erased].sort((a, b) => (a.recordId + a.version).localeCompare(b.recordId + b.version)),
      [
        { recordId: one.recordId, version: 1 },
        { recordId: two.recordId, version: 1 },
        { recordId: two.recordId, version: 2 },
      ],
    );
    for (const { recordId, version } of erased) {
      await assert.rejects(
        vault.get({ recordId, version }),
        vaultError(VaultErrorCode.erased, /can never be read again/),
      );
    }
    await assert.rejects(vault.get({ recordId: two.recordId }), vaultError(VaultErrorCode.erased));
    assert.deepEqual(
      (await vault.history(two.recordId)).map((meta) => [meta.version, meta.erased]),
      [
        [1, true],
        [2, true],
      ],
    );
    const listed = await vault.list({ patientId });
    assert.deepEqual(
      listed.records.map((meta) => meta.erased),
      [true, true],
    );
    assert.deepEqual(
      (await vault.get({ recordId: other.recordId })).resource,
      plainJson(other.resource),
    );
    await assert.rejects(
      vault.put({ ...two, version: 3 }),
      vaultError(VaultErrorCode.erased, /was erased/),
    );
    assert.deepEqual(await vault.erasePatient(patientId), []);
    await vault.close();
    // The rows, hashes and salts stay: the original resource still hashes to the stored hash.
    const checks: Array<[typeof one, number, (typeof stored)[number]]> = [
      [one, 1, stored[0]!],
      [two, 1, stored[1]!],
      [two, 2, stored[2]!],
    ];
    for (const [input, version, result] of checks) {
      const salt = (await backend.readColumn({
        location,
        table: 'vault_versions',
        column: 'salt',
        recordId: input.recordId,
        version,
      })) as Uint8Array;
      const hash = (await backend.readColumn({
        location,
        table: 'vault_versions',
        column: 'content_hash',
        recordId: input.recordId,
        version,
      })) as Uint8Array;
      assert.ok(equalBytes(salt, result.salt));
      assert.ok(equalBytes(hash, result.contentHash));
      assert.ok(
        equalBytes(
          recordContentHash({ salt, canonical: canonicalResourceBytes(input.resource) }),
          hash,
        ),
      );
    }
    assert.equal(
      await backend.countRows({ location, table: 'vault_data_keys', recordId: one.recordId }),
      0,
    );
    assert.equal(
      await backend.countRows({ location, table: 'vault_data_keys', recordId: two.recordId }),
      0,
    );
    assert.equal(
      await backend.countRows({ location, table: 'vault_data_keys', recordId: other.recordId }),
      1,
    );
    assert.equal(
      await backend.countRows({ location, table: 'vault_versions', recordId: two.recordId }),
      2,
    );
  });

  test(`${name}: rotateKek re-wraps every data key; reads work; the old KEK no longer unwraps`, async () => {
    const location = await backend.newLocation();
    let vault = await backend.open(location, kekA);
    // One more record than a rotation batch, so the rotation crosses a batch boundary.
    const inputs = Array.from({ length: vaultLimits.rotationBatchRows + 1 }, (_, index) =>
      putInput({ recordId: `rot-${String(index).padStart(4, '0')}` }),
    );
    const ciphertextsBefore: unknown[] = [];
    for (const input of inputs) await vault.put(input);
    await vault.put({ ...inputs[0]!, version: 2 });
    await vault.close();
    for (const input of inputs.slice(0, 3)) {
      ciphertextsBefore.push(
        await backend.readColumn({
          location,
          table: 'vault_versions',
          column: 'ciphertext',
          recordId: input.recordId,
          version: 1,
        }),
      );
    }
    vault = await backend.open(location, kekA);
    assert.deepEqual(await vault.rotateKek(kekB), { rewrapped: inputs.length + 1 });
    assert.equal(vault.kekId, kekB.id);
    assert.equal((await vault.get({ recordId: inputs[0]!.recordId, version: 1 })).meta.version, 1);
    assert.equal((await vault.get({ recordId: inputs.at(-1)!.recordId })).meta.version, 1);
    await vault.put(putInput({ recordId: inputs[1]!.recordId, version: 2 }));
    await vault.close();
    await assert.rejects(
      backend.open(location, kekA),
      vaultError(
        VaultErrorCode.wrongKek,
        new RegExp(`wrapped by KEK ${kekB.id}, but the KEK given is ${kekA.id}`),
      ),
    );
    for (const [index, input] of inputs.slice(0, 3).entries()) {
      // Records are not re-encrypted: their ciphertext is byte for byte the same.
      const ciphertext = await backend.readColumn({
        location,
        table: 'vault_versions',
        column: 'ciphertext',
        recordId: input.recordId,
        version: 1,
      });
      assert.deepEqual(ciphertext, ciphertextsBefore[index]);
      const wrapped = {
        kekId: (await backend.readColumn({
          location,
          table: 'vault_data_keys',
          column: 'kek_id',
          recordId: input.recordId,
          version: 1,
        })) as string,
        wrapNonce: (await backend.readColumn({
          location,
          table: 'vault_data_keys',
          column: 'wrap_nonce',
          recordId: input.recordId,
          version: 1,
        })) as Uint8Array,
        wrappedKey: (await backend.readColumn({
          location,
          table: 'vault_data_keys',
          column: 'wrapped_key',
          recordId: input.recordId,
          version: 1,
        })) as Uint8Array,
      };
      assert.equal(wrapped.kekId, kekB.id);
      assert.notEqual(
        unwrapDataKey({ kek: kekB, wrapped, recordId: input.recordId, version: 1 }),
        null,
      );
      assert.equal(
        unwrapDataKey({ kek: kekA, wrapped, recordId: input.recordId, version: 1 }),
        null,
      );
      assert.equal(
        unwrapDataKey({
          kek: kekA,
          wrapped: { ...wrapped, kekId: kekA.id },
          recordId: input.recordId,
          version: 1,
        }),
        null,
      );
    }
    vault = await backend.open(location, kekB);
    try {
      assert.equal((await vault.get({ recordId: inputs[1]!.recordId })).meta.version, 2);
    } finally {
      await vault.close();
    }
  });

  test(`${name}: a rotation that fails part-way leaves every data key wrapped by the old KEK`, async () => {
    const location = await backend.newLocation();
    let vault = await backend.open(location, kekA);
    const inputs = Array.from({ length: 5 }, (_, index) =>
      putInput({ recordId: `atomic-${index}` }),
    );
    for (const input of inputs) await vault.put(input);
    await vault.close();
    // The last key in rotation order does not unwrap, so the rotation fails after re-wrapping the
    // first four in its transaction.
    const last = inputs.at(-1)!;
    const wrappedKey = await backend.readColumn({
      location,
      table: 'vault_data_keys',
      column: 'wrapped_key',
      recordId: last.recordId,
      version: 1,
    });
    await backend.writeColumn({
      location,
      table: 'vault_data_keys',
      column: 'wrapped_key',
      recordId: last.recordId,
      version: 1,
      value: changed(wrappedKey),
    });
    vault = await backend.open(location, kekA);
    await assert.rejects(
      vault.rotateKek(kekB),
      vaultError(VaultErrorCode.integrity, new RegExp(`record ${last.recordId} version 1`)),
    );
    assert.equal(vault.kekId, kekA.id);
    assert.deepEqual(
      (await vault.get({ recordId: inputs[0]!.recordId })).resource,
      plainJson(inputs[0]!.resource),
    );
    await vault.close();
    for (const input of inputs) {
      assert.equal(
        await backend.readColumn({
          location,
          table: 'vault_data_keys',
          column: 'kek_id',
          recordId: input.recordId,
          version: 1,
        }),
        kekA.id,
      );
    }
    await assert.rejects(backend.open(location, kekB), vaultError(VaultErrorCode.wrongKek));
    await backend.writeColumn({
      location,
      table: 'vault_data_keys',
      column: 'wrapped_key',
      recordId: last.recordId,
      version: 1,
      value: wrappedKey,
    });
    vault = await backend.open(location, kekA);
    try {
      assert.deepEqual(await vault.rotateKek(kekB), { rewrapped: 5 });
      await assert.rejects(
        vault.rotateKek(kekB),
        vaultError(VaultErrorCode.invalidArgument, /is the KEK in force/),
      );
    } finally {
      await vault.close();
    }
  });

  test(`${name}: list pages through current versions, filtered by type and patient`, async () => {
    await withVault(async (vault) => {
      const patientId = freshId('patient');
      const ids: string[] = [];
      for (let index = 0; index < 5; index += 1) {
        const resource = index % 2 === 0 ? sampleResources[1]! : sampleResources[2]!;
        const input = putInput({ recordId: `list-${index}`, patientId, resource });
        ids.push(input.recordId);
        await vault.put(input);
      }
      await vault.put(
        putInput({ recordId: 'list-0', version: 2, patientId, securityLabels: ['V'] }),
      );
      await vault.put(putInput({ recordId: 'list-other', patientId: freshId('patient') }));
      const pages: string[][] = [];
      let after: string | undefined;
      for (let page = 0; page < 10; page += 1) {
        const result = await vault.list({
          patientId,
          limit: 2,
          ...(after === undefined ? {} : { after }),
        });
        pages.push(result.records.map((meta) => meta.recordId));
        if (result.next === null) break;
        after = result.next;
      }
      assert.deepEqual(pages, [['list-0', 'list-1'], ['list-2', 'list-3'], ['list-4']]);
      const observations = await vault.list({ patientId, resourceType: 'Observation' });
      assert.deepEqual(
        observations.records.map((meta) => [meta.recordId, meta.version, meta.securityLabels]),
        [
          ['list-0', 2, ['V']],
          ['list-2', 1, ['N']],
          ['list-4', 1, ['N']],
        ],
      );
      assert.equal(observations.next, null);
      assert.equal((await vault.list({ patientId: 'nobody' })).records.length, 0);
      const all = await vault.list();
      assert.ok(all.records.some((meta) => meta.recordId === 'list-other'));
      // Metadata carries no clinical content: only these fields.
      assert.deepEqual(Object.keys(all.records[0]!).sort(), [
        'deleted',
        'erased',
        'lastUpdatedMs',
        'patientId',
        'recordId',
        'resourceType',
        'securityLabels',
        'version',
      ]);
    });
  });

  test(`${name}: a closed vault refuses every call`, async () => {
    const location = await backend.newLocation();
    const vault = await backend.open(location, kekA);
    const input = putInput();
    await vault.put(input);
    await vault.close();
    await vault.close();
    await assert.rejects(
      vault.get({ recordId: input.recordId }),
      vaultError(VaultErrorCode.closed),
    );
    await assert.rejects(vault.put(putInput()), vaultError(VaultErrorCode.closed));
    const reopened = await backend.open(location, kekA);
    try {
      assert.equal((await reopened.get({ recordId: input.recordId })).meta.version, 1);
    } finally {
      await reopened.close();
    }
  });

  test(`${name}: replaceUnanchored sets the latest version aside; get by content hash finds either copy`, async () => {
    await withVault(async (vault) => {
      const recordId = freshId('rec');
      const first = sampleResources[1]!;
      const tentative = { ...first, status: 'amended' };
      const replacement = { ...first, status: 'cancelled' };
      const one = await vault.put(putInput({ recordId, version: 1, resource: first }));
      const set = await vault.put(putInput({ recordId, version: 2, resource: tentative }));
      // Without the flag the same number stays a conflict, as before.
      await assert.rejects(
        vault.put(putInput({ recordId, version: 2, resource: replacement })),
        vaultError(
          VaultErrorCode.versionConflict,
          /expected version 3, found 2 \(already stored\)/,
        ),
      );
      // Only the latest version can be replaced: version 1 is anchored below it.
      await assert.rejects(
        vault.put({
          ...putInput({ recordId, version: 1, resource: replacement }),
          replaceUnanchored: true,
        }),
        vaultError(VaultErrorCode.versionConflict, /expected version 3, found 1/),
      );
      await assert.rejects(
        vault.put({ ...putInput({ recordId, version: 2 }), replaceUnanchored: 'yes' as never }),
        vaultError(VaultErrorCode.invalidArgument, /replaceUnanchored: expected a boolean/),
      );
      const put = await vault.put({
        ...putInput({ recordId, version: 2, resource: replacement }),
        replaceUnanchored: true,
      });
      assert.equal((await vault.get({ recordId })).resource.status, 'cancelled');
      assert.equal((await vault.get({ recordId, version: 2 })).resource.status, 'cancelled');
      const aside = await vault.get({ recordId, version: 2, contentHash: set.contentHash });
      assert.equal(aside.resource.status, 'amended');
      assert.ok(equalBytes(aside.contentHash, set.contentHash));
      const current = await vault.get({ recordId, version: 2, contentHash: put.contentHash });
      assert.equal(current.resource.status, 'cancelled');
      const first1 = await vault.get({ recordId, version: 1, contentHash: one.contentHash });
      assert.deepEqual(first1.resource, plainJson(first));
      // A hash the vault holds no copy of is an integrity failure, not a silent other version.
      await assert.rejects(
        vault.get({ recordId, version: 1, contentHash: set.contentHash }),
        vaultError(VaultErrorCode.integrity, /no stored copy has the anchored content hash/),
      );
      await assert.rejects(
        vault.get({ recordId, version: 2, contentHash: new Uint8Array(31) }),
        vaultError(VaultErrorCode.invalidArgument, /contentHash: expected 32 bytes/),
      );
      // The replacement is a version like any other: the next one follows it (the flag with the
      // next number replaces nothing).
      await vault.put({
        ...putInput({ recordId, version: 3, resource: first }),
        replaceUnanchored: true,
      });
      assert.deepEqual(
        (await vault.history(recordId)).map((meta) => meta.version),
        [1, 2, 3],
      );
      // Replacing twice keeps both earlier copies.
      const again = await vault.put({
        ...putInput({ recordId, version: 3, resource: tentative }),
        replaceUnanchored: true,
      });
      assert.equal(
        (await vault.get({ recordId, version: 3, contentHash: again.contentHash })).resource.status,
        'amended',
      );
      assert.equal(
        (await vault.get({ recordId, version: 2, contentHash: set.contentHash })).resource.status,
        'amended',
      );
    });
  });

  test(`${name}: erasure and KEK rotation reach superseded versions too`, async () => {
    const location = await backend.newLocation();
    let vault = await backend.open(location, kekA);
    const patientId = freshId('patient');
    const recordId = freshId('rec');
    const keep = freshId('rec');
    let tentative: Awaited<ReturnType<RecordVault['put']>>;
    let kept: Awaited<ReturnType<RecordVault['put']>>;
    try {
      await vault.put(putInput({ recordId, patientId }));
      tentative = await vault.put(putInput({ recordId, patientId, version: 2 }));
      await vault.put({
        ...putInput({ recordId, patientId, version: 2 }),
        replaceUnanchored: true,
      });
      await vault.put(putInput({ recordId: keep, patientId: 'patient-keep' }));
      kept = await vault.put(putInput({ recordId: keep, patientId: 'patient-keep', version: 2 }));
      await vault.put({
        ...putInput({ recordId: keep, patientId: 'patient-keep', version: 2 }),
        replaceUnanchored: true,
      });
      // Four data keys in force plus the two kept with the superseded versions.
      assert.deepEqual(await vault.rotateKek(kekB), { rewrapped: 6 });
    } finally {
      await vault.close();
    }
    assert.equal(await backend.countRows({ location, table: 'vault_superseded', recordId }), 1);
    vault = await backend.open(location, kekB);
    try {
      const read = await vault.get({ recordId: keep, version: 2, contentHash: kept.contentHash });
      assert.ok(equalBytes(read.contentHash, kept.contentHash));
      await vault.erasePatient(patientId);
      await assert.rejects(
        vault.get({ recordId, version: 2, contentHash: tentative.contentHash }),
        vaultError(VaultErrorCode.erased),
      );
      await vault.get({ recordId: keep, version: 2, contentHash: kept.contentHash });
    } finally {
      await vault.close();
    }
    assert.equal(await backend.countRows({ location, table: 'vault_superseded', recordId }), 0);
    assert.equal(
      await backend.countRows({ location, table: 'vault_superseded', recordId: keep }),
      1,
    );
  });

  test(`${name}: property: any JSON resource put is got back identical (fast-check)`, async () => {
    await withVault(async (vault) => {
      const resource = fc
        .record({
          resourceType: fc.constantFrom('Observation', 'Patient', 'Condition', 'Encounter'),
          id: fc.stringMatching(/^[A-Za-z0-9.-]{1,64}$/),
          extra: fc.jsonValue({ maxDepth: 6 }),
          text: fc.string({ unit: 'grapheme', maxLength: 40 }),
        })
        .map((value) => value as FhirResourceJson);
      await fc.assert(
        fc.asyncProperty(
          resource,
          fc.array(fc.constantFrom('N', 'R', 'V', 'HIV', 'PSY'), { maxLength: 4 }),
          async (value, securityLabels) => {
            const input = putInput({
              resource: value,
              resourceType: value.resourceType,
              securityLabels,
            });
            const { contentHash, salt } = await vault.put(input);
            const got = await vault.get({ recordId: input.recordId });
            assert.deepEqual(got.resource, plainJson(value));
            assert.deepEqual(got.meta.securityLabels, securityLabels);
            assert.ok(equalBytes(got.contentHash, contentHash));
            assert.ok(
              equalBytes(
                recordContentHash({ salt, canonical: canonicalResourceBytes(value) }),
                contentHash,
              ),
            );
          },
        ),
        { numRuns: 40, seed: 0x5eed, verbose: 1 },
      );
    });
  });
}
