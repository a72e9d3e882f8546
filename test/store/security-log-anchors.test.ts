// Checks the security audit log against heads anchored on chain (decision 0063) on real SQLite
// files: an untouched log passes; an edited row, a deleted row, a full rewrite with every hash
// recomputed, a cut end and a log replaced whole are each caught against the anchored heads,
// naming the row and both hashes; rows after the last anchor are reported as not yet anchored;
// rotation keeps the check working; the read-only reader refuses what it cannot read.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import Database from 'better-sqlite3';

import { toHex } from '../../src/base/index.ts';
import {
  type AnchoredSecurityLogHead,
  type SecurityAuditEntry,
  type SecurityAuditLogLimits,
  StoreError,
  openSecurityAuditLog,
  openSecurityAuditLogReader,
  securityAuditRowHash,
} from '../../src/store/index.ts';
import { securityLogFolder, smallSecurityLogLimits } from './security-log-fixtures.ts';

const { directory, freshFile } = securityLogFolder('medledger-security-anchors-');
const limits = smallSecurityLogLimits;

function entry(index: number): SecurityAuditEntry {
  return {
    time: 1_700_000_000_000 + index * 1000,
    type: index % 2 === 0 ? '110113' : 'rest',
    subtype: 'read',
    outcome: '4',
    body: JSON.stringify({ resourceType: 'AuditEvent', index }),
  };
}

/**
 * A closed log of `count` rows whose head was anchored after each row of `anchorAt` (as the node
 * does), and the anchored heads.
 */
function anchoredLog(
  count: number,
  anchorAt: readonly number[],
  options: Partial<SecurityAuditLogLimits> = {},
): { file: string; anchored: AnchoredSecurityLogHead[] } {
  const file = freshFile();
  const log = openSecurityAuditLog({ file, limits: { ...limits, ...options } });
  const anchored: AnchoredSecurityLogHead[] = [];
  for (let index = 1; index <= count; index++) {
    log.append(entry(index));
    if (anchorAt.includes(index)) {
      const head = log.head();
      anchored.push({ logSize: head.sequence, headHash: head.hash });
    }
  }
  log.close();
  return { file, anchored };
}

/** Opens the file as whoever controls the disk would: plain SQLite, triggers dropped. */
function asAdministrator(file: string, change: (db: Database.Database) => void): void {
  const db = new Database(file);
  try {
    db.exec('DROP TRIGGER IF EXISTS security_audit_no_update');
    db.exec('DROP TRIGGER IF EXISTS security_audit_rotation_only');
    change(db);
  } finally {
    db.close();
  }
}

/** Recomputes the hash of every row from `from` on and the head meta row: a complete rewrite. */
function recomputeHashes(db: Database.Database, from: number): void {
  const rows = db
    .prepare(
      'SELECT sequence, time, type, subtype, outcome, body, prev_hash FROM security_audit_events WHERE sequence >= ? ORDER BY sequence',
    )
    .all(from) as (SecurityAuditEntry & { sequence: number; prev_hash: Uint8Array })[];
  let previous: Uint8Array | null = null;
  let last: { sequence: number; hash: Uint8Array } = { sequence: 0, hash: new Uint8Array(32) };
  for (const row of rows) {
    previous ??= new Uint8Array(row.prev_hash);
    const hash = securityAuditRowHash(previous, row);
    db.prepare('UPDATE security_audit_events SET prev_hash = ?, hash = ? WHERE sequence = ?').run(
      previous,
      hash,
      row.sequence,
    );
    previous = hash;
    last = { sequence: row.sequence, hash };
  }
  db.prepare("UPDATE security_audit_meta SET value = ? WHERE name = 'head_sequence'").run(
    last.sequence,
  );
  db.prepare("UPDATE security_audit_meta SET value = ? WHERE name = 'head_hash'").run(last.hash);
}

function check(file: string, anchored: readonly AnchoredSecurityLogHead[]) {
  const reader = openSecurityAuditLogReader({ file });
  try {
    return { own: reader.verify(), anchored: reader.verifyAgainstAnchors(anchored) };
  } finally {
    reader.close();
  }
}

test('an untouched log passes against its anchored heads; later rows are not yet anchored', () => {
  const { file, anchored } = anchoredLog(15, [5, 12]);
  const result = check(file, anchored);
  assert.equal(result.own.ok, true);
  assert.deepEqual(result.anchored, {
    ok: true,
    rows: 15,
    headSequence: 15,
    checkedAgainst: anchored[1],
    anchoredHeadsChecked: 2,
    unanchoredRows: 3,
    newestAnchored: anchored[1],
  });
  // The open log answers the same, and with no anchored head every row is unanchored.
  const log = openSecurityAuditLog({ file, limits });
  const none = log.verifyAgainstAnchors([]);
  assert.ok(none.ok && none.checkedAgainst === null && none.unanchoredRows === 15);
  assert.equal(log.verifyAgainstAnchors(anchored).ok, true);
  log.close();
});

test('a head anchored with another hash, or with a bad size or hash length, is named', () => {
  const { file, anchored } = anchoredLog(6, [6]);
  const wrong = { logSize: 6, headHash: new Uint8Array(32).fill(7) };
  const result = check(file, [wrong]).anchored;
  assert.equal(result.ok, false);
  assert.ok(!result.ok && result.sequence === 6);
  assert.ok(!result.ok && result.anchoredHash === toHex(wrong.headHash));
  assert.ok(!result.ok && result.logHash === toHex(anchored[0]!.headHash));
  const reader = openSecurityAuditLogReader({ file });
  assert.throws(
    () => reader.verifyAgainstAnchors([{ logSize: 0, headHash: new Uint8Array(32) }]),
    (error: unknown) =>
      error instanceof StoreError &&
      error.code === 'invalid-argument' &&
      /anchored\[0\]\.logSize/.test(error.message),
  );
  assert.throws(
    () => reader.verifyAgainstAnchors([{ logSize: 1, headHash: new Uint8Array(31) }]),
    /anchored\[0\]\.headHash: expected 32 bytes, found 31/,
  );
  reader.close();
});

test("an edited row's content is caught, and named", () => {
  const { file, anchored } = anchoredLog(15, [5, 12]);
  asAdministrator(file, (db) =>
    db
      .prepare('UPDATE security_audit_events SET body = ? WHERE sequence = 8')
      .run(JSON.stringify({ resourceType: 'AuditEvent', index: 80 })),
  );
  const result = check(file, anchored).anchored;
  assert.ok(!result.ok && result.sequence === 8, JSON.stringify(result));
  assert.match(!result.ok ? result.problem : '', /row 8: expected hash .*the row was edited/);
});

test('a deleted row is caught', () => {
  const { file, anchored } = anchoredLog(15, [5, 12]);
  asAdministrator(file, (db) =>
    db.prepare('DELETE FROM security_audit_events WHERE sequence = 9').run(),
  );
  const result = check(file, anchored).anchored;
  assert.ok(!result.ok && result.sequence === 9, JSON.stringify(result));
  assert.match(!result.ok ? result.problem : '', /row 9 is missing/);
});

test('a full rewrite with every hash recomputed passes its own chain, not the anchored head', () => {
  const { file, anchored } = anchoredLog(15, [5, 12]);
  asAdministrator(file, (db) => {
    db.prepare('UPDATE security_audit_events SET body = ? WHERE sequence = 7').run(
      JSON.stringify({ resourceType: 'AuditEvent', index: 'rewritten' }),
    );
    recomputeHashes(db, 7);
  });
  const result = check(file, anchored);
  // The log's own chain cannot see it: that is the weakness the anchors close.
  assert.equal(result.own.ok, true);
  const against = result.anchored;
  assert.equal(against.ok, false);
  assert.ok(!against.ok && against.sequence === 12, JSON.stringify(against));
  assert.ok(!against.ok && against.anchoredHash === toHex(anchored[1]!.headHash));
  assert.ok(!against.ok && against.logHash !== null && against.logHash !== against.anchoredHash);
  // Head 5 still matches, so the change is placed between rows 6 and 12.
  assert.match(
    !against.ok ? against.problem : '',
    /row 12: the chain anchored hash [0-9a-f]{64}, the log holds [0-9a-f]{64} \(a row from row 6 to 12 was rewritten/,
  );
});

test('rows after the last anchored head are not covered: a rewrite there passes, counted', () => {
  const { file, anchored } = anchoredLog(15, [5, 12]);
  asAdministrator(file, (db) => {
    db.prepare('UPDATE security_audit_events SET body = ? WHERE sequence = 14').run('{}');
    recomputeHashes(db, 14);
  });
  const result = check(file, anchored).anchored;
  // What decision 0063 leaves open: only the next anchor covers rows 13 to 15.
  assert.ok(result.ok && result.unanchoredRows === 3, JSON.stringify(result));
});

test('a cut end and a log replaced whole show: the chain has heads the log cannot produce', () => {
  const cut = anchoredLog(15, [5, 12]);
  asAdministrator(cut.file, (db) => {
    db.prepare('DELETE FROM security_audit_events WHERE sequence >= 10').run();
    recomputeHashes(db, 9);
  });
  const cutResult = check(cut.file, cut.anchored);
  assert.equal(cutResult.own.ok, true, 'the cut was made consistent with its own chain');
  assert.ok(
    !cutResult.anchored.ok && cutResult.anchored.sequence === 12,
    JSON.stringify(cutResult.anchored),
  );
  assert.match(
    !cutResult.anchored.ok ? cutResult.anchored.problem : '',
    /row 12 is missing: the chain anchored this log's head at row 12 .* the log ends at row 9/,
  );
  assert.ok(!cutResult.anchored.ok && cutResult.anchored.logHash === null);

  // The log deleted and started again: a fresh log of 3 rows against heads up to 12.
  const { anchored } = anchoredLog(15, [5, 12]);
  const fresh = anchoredLog(3, []);
  const replaced = check(fresh.file, anchored).anchored;
  assert.ok(!replaced.ok && replaced.sequence === 12, JSON.stringify(replaced));
  assert.match(!replaced.ok ? replaced.problem : '', /the log ends at row 3/);
});

test('rotation: the newest retained anchored head is checked; rotated-out heads are skipped', () => {
  const rotating = { rowsMax: 10, rotationRows: 4 };
  const { file, anchored } = anchoredLog(25, [3, 18, 22], rotating);
  const reader = openSecurityAuditLogReader({ file });
  const bounds = reader.bounds();
  reader.close();
  assert.ok(bounds.anchorSequence > 3 && bounds.anchorSequence < 18, JSON.stringify(bounds));
  const result = check(file, anchored).anchored;
  assert.ok(result.ok, JSON.stringify(result));
  assert.ok(result.ok && result.checkedAgainst?.logSize === 22);
  assert.ok(result.ok && result.anchoredHeadsChecked === 2 && result.unanchoredRows === 3);

  // Only a rotated-out head: nothing retained to compare, every retained row unanchored.
  const old = check(file, [anchored[0]!]).anchored;
  assert.ok(old.ok && old.checkedAgainst === null, JSON.stringify(old));
  assert.ok(old.ok && old.unanchoredRows === 25 - bounds.anchorSequence);

  // A recomputed rewrite of the retained rows is still caught after rotation.
  asAdministrator(file, (db) => {
    const first = bounds.anchorSequence + 1;
    db.prepare('UPDATE security_audit_events SET body = ? WHERE sequence = ?').run('{}', first);
    recomputeHashes(db, first);
  });
  const rewritten = check(file, anchored).anchored;
  assert.ok(!rewritten.ok && rewritten.sequence === 18, JSON.stringify(rewritten));
});

test('the read-only reader: no file, a foreign file, a running log; it creates nothing', () => {
  const missing = join(directory, 'absent.sqlite');
  assert.throws(
    () => openSecurityAuditLogReader({ file: missing }),
    (error: unknown) =>
      error instanceof StoreError &&
      error.code === 'invalid-argument' &&
      /no such file/.test(error.message),
  );
  assert.equal(existsSync(missing), false);

  const text = join(directory, 'not-sqlite.sqlite');
  writeFileSync(text, 'hello, this is not SQLite at all, just text bytes\n'.repeat(20));
  assert.throws(
    () => openSecurityAuditLogReader({ file: text }).bounds(),
    (error: unknown) => error instanceof StoreError && error.code === 'corrupt',
  );

  const other = join(directory, 'other.sqlite');
  const db = new Database(other);
  db.exec('CREATE TABLE t (x)');
  db.close();
  assert.throws(
    () => openSecurityAuditLogReader({ file: other }),
    (error: unknown) => error instanceof StoreError && error.code === 'foreign',
  );

  // A running node holds its log exclusively: the reader is refused, not served a stale view.
  const file = freshFile();
  const log = openSecurityAuditLog({ file, limits });
  log.append(entry(1));
  assert.throws(
    () => openSecurityAuditLogReader({ file }).bounds(),
    (error: unknown) => error instanceof StoreError && error.code === 'locked',
  );
  const head = log.head();
  log.close();
  const reader = openSecurityAuditLogReader({ file });
  assert.equal(reader.bounds().headSequence, head.sequence);
  assert.deepEqual(reader.bounds().headHash, head.hash);
  reader.close();
  assert.throws(() => reader.bounds(), /the log is closed/);
});
