// Checks the node-local security audit log (decision 0059) on real SQLite files in a temporary
// folder: appends and pages (newest first, filters, totals, `more`), the hash chain catching an
// edited, a deleted and a truncated row, oldest-first rotation within its bound, mode 0600, and
// each valid use beside its refused twin (bad limits, page sizes, bodies, foreign files).
import assert from 'node:assert/strict';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';

import Database from 'better-sqlite3';

import {
  type SecurityAuditEntry,
  type SecurityAuditLogLimits,
  StoreError,
  openSecurityAuditLog,
} from '../../src/store/index.ts';
import { securityLogFolder, smallSecurityLogLimits } from './security-log-fixtures.ts';

const { freshFile } = securityLogFolder('medledger-security-audit-');
const limits = smallSecurityLogLimits;

function entry(index: number, overrides: Partial<SecurityAuditEntry> = {}): SecurityAuditEntry {
  return {
    time: 1_700_000_000_000 + index * 1000,
    type: index % 2 === 0 ? '110113' : 'rest',
    subtype: 'read',
    outcome: index % 3 === 0 ? '8' : '4',
    body: JSON.stringify({ resourceType: 'AuditEvent', index }),
    ...overrides,
  };
}

function filled(count: number, options: Partial<SecurityAuditLogLimits> = {}) {
  const file = freshFile();
  const log = openSecurityAuditLog({ file, limits: { ...limits, ...options } });
  for (let index = 1; index <= count; index++) log.append(entry(index));
  return { file, log };
}

test('appends rows and pages them newest first, with filters, totals and whether more exist', () => {
  const { log } = filled(12);
  const first = log.page({ count: 5 });
  assert.deepEqual(
    first.rows.map((row) => row.sequence),
    [12, 11, 10, 9, 8],
  );
  assert.equal(first.total, 12);
  assert.equal(first.more, true);
  const last = log.page({ count: 5, beforeSequence: 3 });
  assert.deepEqual(
    last.rows.map((row) => row.sequence),
    [2, 1],
  );
  assert.equal(last.more, false);
  assert.equal((JSON.parse(last.rows[1]!.body) as { index: number }).index, 1);

  const alerts = log.page({ count: 50, filter: { types: ['110113'] } });
  assert.equal(alerts.total, 6);
  assert.ok(alerts.rows.every((row) => row.type === '110113'));
  const serious = log.page({ count: 50, filter: { outcomes: ['8'], types: ['rest'] } });
  assert.deepEqual(
    serious.rows.map((row) => row.sequence),
    [9, 3],
  );
  const window = log.page({
    count: 50,
    filter: { timeFrom: entry(4).time, timeTo: entry(6).time },
  });
  assert.deepEqual(
    window.rows.map((row) => row.sequence),
    [6, 5, 4],
  );
  // No alternative given: nothing matches (not everything).
  assert.equal(log.page({ count: 50, filter: { types: [] } }).total, 0);
  assert.deepEqual(log.stats(), { rows: 12, rotatedRows: 0, headSequence: 12 });
  log.close();
});

test('refuses bad limits, page sizes, times and bodies over the bound, naming the argument', () => {
  assert.throws(
    () => openSecurityAuditLog({ file: freshFile(), limits: { ...limits, rowsMax: 0 } }),
    /limits\.rowsMax: expected a positive integer, found 0/,
  );
  assert.throws(
    () => openSecurityAuditLog({ file: freshFile(), limits: { ...limits, rotationRows: 2000 } }),
    /limits\.rotationRows: expected at most rowsMax/,
  );
  const { log } = filled(1);
  assert.throws(() => log.page({ count: 0 }), /count: expected 1 to 50, found 0/);
  assert.throws(() => log.page({ count: 51 }), /count: expected 1 to 50, found 51/);
  assert.throws(
    () => log.append(entry(2, { body: 'x'.repeat(513) })),
    /body: expected at most 512 bytes, found 513/,
  );
  assert.throws(() => log.append(entry(2, { time: -1 })), /time: expected Unix ms/);
  // A body exactly at the bound is kept.
  assert.equal(log.append(entry(2, { body: 'x'.repeat(512) })).sequence, 2);
  assert.equal(log.verify().ok, true);
  log.close();
  assert.throws(() => log.append(entry(3)), StoreError);
});

test('the hash chain verifies an intact log, also after reopening, and rows are append-only', () => {
  const { file, log } = filled(20);
  assert.deepEqual(log.verify(), { ok: true, rows: 20, headSequence: 20 });
  log.close();
  const reopened = openSecurityAuditLog({ file, limits });
  assert.equal(reopened.append(entry(21)).sequence, 21);
  assert.deepEqual(reopened.verify(), { ok: true, rows: 21, headSequence: 21 });
  reopened.close();
  // Through SQL, an UPDATE or a DELETE outside rotation is refused by the file's own triggers.
  const db = new Database(file);
  try {
    assert.throws(
      () => db.prepare("UPDATE security_audit_events SET outcome = '0' WHERE sequence = 5").run(),
      /append-only/,
    );
    assert.throws(
      () => db.prepare('DELETE FROM security_audit_events WHERE sequence = 5').run(),
      /rotation only/,
    );
  } finally {
    db.close();
  }
});

/** Changes the file with the triggers dropped (as someone with write access could), then verifies. */
function tampered(change: (db: Database.Database) => void) {
  const { file, log } = filled(10);
  log.close();
  const db = new Database(file);
  try {
    db.exec('DROP TRIGGER security_audit_no_update; DROP TRIGGER security_audit_rotation_only;');
    change(db);
  } finally {
    db.close();
  }
  const reopened = openSecurityAuditLog({ file, limits });
  try {
    return reopened.verify();
  } finally {
    reopened.close();
  }
}

test('an edited row is detected: its hash no longer covers its columns', () => {
  const check = tampered((db) =>
    db.prepare("UPDATE security_audit_events SET outcome = '0' WHERE sequence = 4").run(),
  );
  assert.equal(check.ok, false);
  assert.ok(!check.ok && check.sequence === 4, JSON.stringify(check));
  assert.match(!check.ok ? check.problem : '', /row 4: expected hash .* \(the row was edited\)/);

  const body = tampered((db) =>
    db
      .prepare('UPDATE security_audit_events SET body = ? WHERE sequence = 7')
      .run(JSON.stringify({ resourceType: 'AuditEvent', index: 70 })),
  );
  assert.ok(!body.ok && body.sequence === 7, JSON.stringify(body));
});

test('a deleted row, a reordered chain and deleted newest rows are detected', () => {
  const middle = tampered((db) =>
    db.prepare('DELETE FROM security_audit_events WHERE sequence = 5').run(),
  );
  assert.ok(!middle.ok && middle.sequence === 5, JSON.stringify(middle));
  assert.match(!middle.ok ? middle.problem : '', /row 5 is missing/);

  const renumbered = tampered((db) => {
    // Deleting row 5 and renumbering 6… down to close the gap still breaks the chain.
    db.prepare('DELETE FROM security_audit_events WHERE sequence = 5').run();
    for (let sequence = 6; sequence <= 10; sequence++) {
      db.prepare('UPDATE security_audit_events SET sequence = ? WHERE sequence = ?').run(
        sequence - 1,
        sequence,
      );
    }
  });
  assert.ok(!renumbered.ok && renumbered.sequence === 5, JSON.stringify(renumbered));

  const newest = tampered((db) =>
    db.prepare('DELETE FROM security_audit_events WHERE sequence >= 9').run(),
  );
  assert.equal(newest.ok, false);
  assert.match(!newest.ok ? newest.problem : '', /newest row to be 10, found 8/);

  // The untouched twin verifies.
  assert.equal(tampered(() => undefined).ok, true);
});

test('a full log rotates oldest first, stays within its bound, counts what it removed, and still verifies', () => {
  const { log } = filled(25, { rowsMax: 10, rotationRows: 4 });
  const stats = log.stats();
  assert.ok(stats.rows <= 10, `rows ${stats.rows}`);
  assert.equal(stats.rows + stats.rotatedRows, 25);
  assert.equal(stats.headSequence, 25);
  const all = log.page({ count: 50 });
  assert.equal(all.rows[0]!.sequence, 25, 'the newest row is kept');
  assert.equal(all.rows.at(-1)!.sequence, stats.rotatedRows + 1, 'the oldest went first');
  assert.equal(all.total, stats.rows);
  assert.deepEqual(log.verify(), { ok: true, rows: stats.rows, headSequence: 25 });
  log.close();

  // Below the bound, nothing rotates.
  const { log: small } = filled(10, { rowsMax: 10, rotationRows: 4 });
  assert.deepEqual(small.stats(), { rows: 10, rotatedRows: 0, headSequence: 10 });
  small.close();
});

test('the file is created with mode 0600, and an existing file is narrowed to 0600', () => {
  const { file, log } = filled(1);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  log.close();
  const open = freshFile();
  writeFileSync(open, '');
  chmodSync(open, 0o644);
  const narrowed = openSecurityAuditLog({ file: open, limits });
  assert.equal(statSync(open).mode & 0o777, 0o600);
  narrowed.close();
});

test('another application’s SQLite file and a second opener are refused', () => {
  const foreign = freshFile();
  const db = new Database(foreign);
  db.exec('CREATE TABLE notes (text TEXT)');
  db.close();
  assert.throws(
    () => openSecurityAuditLog({ file: foreign, limits }),
    (error: unknown) => error instanceof StoreError && error.code === 'foreign',
  );
  const { file, log } = filled(1);
  // The node holds its log with an exclusive lock: a second process or connection cannot write.
  assert.throws(
    () => {
      const second = openSecurityAuditLog({ file, limits });
      second.append(entry(2));
    },
    (error: unknown) => error instanceof StoreError && error.code === 'locked',
  );
  log.close();
});
