/**
 * `medledger demo token <user>` and `medledger demo users`: a bearer token for a seeded demo user
 * (signed with the token key of the user's organisation's node, as its sign-in would issue it,
 * decision 0056), and the table of seeded users (decision 0057).
 */
import { join, resolve } from 'node:path';

import { MedLedgerError } from '../base/index.ts';
import { breakGlassPurposes } from '../contracts/index.ts';
import {
  type DemoUserEntry,
  demoUserOf,
  findDemoUser,
  formatDemoUsers,
  loadDemoUsers,
} from './demo-users.ts';
import { issueDemoToken } from './records-client.ts';

/** A purpose of use code (v3-ActReason): upper-case letters. */
const purposePattern = /^[A-Z]{2,16}$/;
/** Longest break-glass reason `--reason` accepts, in characters. */
const reasonCharsMax = 500;

/**
 * Checks a token request's purpose of use and break-glass reason; `flag` prefixes the names in
 * messages (`--` on the command line, nothing for the web sign-in).
 */
export function checkPurposeAndReason(options: {
  purpose: string | undefined;
  reason: string | undefined;
  flag: string;
}): void {
  const { purpose, reason, flag } = options;
  if (purpose !== undefined && !purposePattern.test(purpose)) {
    throw new MedLedgerError(
      'bad-argument',
      `${flag}purpose: expected a v3-ActReason code such as TREAT, BTG or ETREAT, found ${JSON.stringify(purpose)}`,
    );
  }
  const breakGlass =
    purpose !== undefined && (breakGlassPurposes as readonly string[]).includes(purpose);
  if (breakGlass && (reason === undefined || reason.trim().length === 0)) {
    throw new MedLedgerError(
      'bad-argument',
      `${flag}purpose ${purpose} is break-glass and needs ${flag}reason <text> (why the emergency access)`,
    );
  }
  if (reason !== undefined && !breakGlass) {
    throw new MedLedgerError(
      'bad-argument',
      `${flag}reason is for break-glass; pass it with ${flag}purpose ${breakGlassPurposes.join(' or ')}`,
    );
  }
  if (reason !== undefined && reason.length > reasonCharsMax) {
    throw new MedLedgerError(
      'bad-argument',
      `${flag}reason: at most ${reasonCharsMax} characters, found ${reason.length}`,
    );
  }
}

/** Patients read their own records without a purpose of use. */
export function checkNoPatientPurpose(options: {
  user: DemoUserEntry;
  purpose: string | undefined;
  flag: string;
}): void {
  if (options.user.kind === 'patient' && options.purpose !== undefined) {
    throw new MedLedgerError(
      'bad-argument',
      `${options.flag}purpose: ${options.user.name} is a patient; patients read their own records without a purpose`,
    );
  }
}

/** Prints a bearer token for `name`; break-glass with `purpose` (BTG, ETREAT) and `reason`. */
export async function printDemoToken(options: {
  data: string;
  name: string;
  purpose: string | undefined;
  reason: string | undefined;
  print: (line: string) => void;
}): Promise<void> {
  const { purpose, reason } = options;
  checkPurposeAndReason({ purpose, reason, flag: '--' });
  const dir = resolve(options.data);
  const users = loadDemoUsers(dir);
  const user = findDemoUser(users, options.name);
  checkNoPatientPurpose({ user, purpose, flag: '--' });
  const token = await issueDemoToken({
    dataDir: join(dir, user.orgId, 'data'),
    baseUrl: user.url,
    user: demoUserOf(user),
    ...(purpose === undefined ? {} : { purposeOfUse: purpose }),
    ...(reason === undefined ? {} : { breakGlassReason: reason }),
  });
  options.print(token);
}

/** Prints the seeded users of the demo folder as a table. */
export function printDemoUsers(options: { data: string; print: (line: string) => void }): void {
  const users = loadDemoUsers(resolve(options.data));
  options.print(formatDemoUsers(users.users).join('\n'));
}
