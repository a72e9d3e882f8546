/**
 * `medledger demo token <user>` and `medledger demo users`: a bearer token for a seeded demo user
 * (signed with the token key of the user's organisation's node, as its sign-in would issue it,
 * decision 0056), and the table of seeded users (decision 0057).
 */
import { join, resolve } from 'node:path';

import { MedLedgerError } from '../base/index.ts';
import { breakGlassPurposes } from '../contracts/index.ts';
import { demoUserOf, findDemoUser, formatDemoUsers, loadDemoUsers } from './demo-users.ts';
import { issueDemoToken } from './records-client.ts';

/** A purpose of use code (v3-ActReason): upper-case letters. */
const purposePattern = /^[A-Z]{2,16}$/;
/** Longest break-glass reason `--reason` accepts, in characters. */
const reasonCharsMax = 500;

/** Prints a bearer token for `name`; break-glass with `purpose` (BTG, ETREAT) and `reason`. */
export async function printDemoToken(options: {
  data: string;
  name: string;
  purpose: string | undefined;
  reason: string | undefined;
  print: (line: string) => void;
}): Promise<void> {
  const { purpose, reason } = options;
  if (purpose !== undefined && !purposePattern.test(purpose)) {
    throw new MedLedgerError(
      'bad-argument',
      `--purpose: expected a v3-ActReason code such as TREAT, BTG or ETREAT, found ${JSON.stringify(purpose)}`,
    );
  }
  const breakGlass =
    purpose !== undefined && (breakGlassPurposes as readonly string[]).includes(purpose);
  if (breakGlass && (reason === undefined || reason.trim().length === 0)) {
    throw new MedLedgerError(
      'bad-argument',
      `--purpose ${purpose} is break-glass and needs --reason <text> (why the emergency access)`,
    );
  }
  if (reason !== undefined && !breakGlass) {
    throw new MedLedgerError(
      'bad-argument',
      `--reason is for break-glass; pass it with --purpose ${breakGlassPurposes.join(' or ')}`,
    );
  }
  if (reason !== undefined && reason.length > reasonCharsMax) {
    throw new MedLedgerError(
      'bad-argument',
      `--reason: at most ${reasonCharsMax} characters, found ${reason.length}`,
    );
  }
  const dir = resolve(options.data);
  const users = loadDemoUsers(dir);
  const user = findDemoUser(users, options.name);
  if (user.kind === 'patient' && purpose !== undefined) {
    throw new MedLedgerError(
      'bad-argument',
      `--purpose: ${user.name} is a patient; patients read their own records without a purpose`,
    );
  }
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
