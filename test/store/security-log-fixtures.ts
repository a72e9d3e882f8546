// Shared by the security audit log tests: a temporary folder (removed after the file's tests),
// fresh log file names in it, and small limits so that rotation happens within a test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

import type { SecurityAuditLogLimits } from '../../src/store/index.ts';

/** A temporary folder for one test file's logs, removed after its tests. */
export function securityLogFolder(prefix: string): {
  directory: string;
  freshFile: () => string;
} {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(directory, { recursive: true, force: true }));
  let files = 0;
  return {
    directory,
    freshFile: () => {
      files += 1;
      return join(directory, `security-${files}.sqlite`);
    },
  };
}

/** Limits small enough for rotation to happen within a test. */
export const smallSecurityLogLimits: SecurityAuditLogLimits = {
  rowsMax: 1000,
  rotationRows: 10,
  rowBodyBytesMax: 512,
  pageRowsMax: 50,
};
