/**
 * The web app's sign-in for a demo network's seeded users (decision 0075): a node started with
 * `--demo-sign-in <demo folder>` lists the users of `users.json` and issues a token to the one
 * chosen — signed with this node's token key, for users of this node's organisation only (the
 * others are sent to their own node). A patient also gets their key's seed, which the demo keeps
 * in `patients/<pseudonym>.key`, so that the portal signs their consents in the browser, and a
 * practitioner theirs (a privacy officer signs the close of a break-glass review). There is
 * no password: this exists for the demo on 127.0.0.1 and nowhere else.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { DemoSignInResult, DemoSignInService, DemoSignInUser } from '../api/index.ts';
import { toHex } from '../base/index.ts';
import { loadEd25519KeyFile } from '../keys/index.ts';
import { demoPractitionerKeyFile } from './demo-seed.ts';
import { checkNoPatientPurpose, checkPurposeAndReason } from './demo-token.ts';
import { demoUserOf, findDemoUser, loadDemoUsers } from './demo-users.ts';
import { issueDemoToken } from './records-client.ts';

/** The sign-in of the demo folder `folder` on the node at `baseUrl` with data in `dataDir`. */
export function demoSignIn(options: {
  folder: string;
  baseUrl: string;
  dataDir: string;
}): DemoSignInService {
  const folder = resolve(options.folder);
  // users.json is written when the seeding ends, after the nodes start: read it on each call.
  const users = (): readonly DemoSignInUser[] =>
    loadDemoUsers(folder).users.map((user) => ({
      name: user.name,
      kind: user.kind,
      orgId: user.orgId,
      id: user.id,
      roles: user.roles,
      displayName: user.displayName,
      url: user.url,
    }));
  return {
    users,
    async signIn(request): Promise<DemoSignInResult> {
      checkPurposeAndReason({ purpose: request.purpose, reason: request.reason, flag: '' });
      const entry = findDemoUser(loadDemoUsers(folder), request.name);
      checkNoPatientPurpose({ user: entry, purpose: request.purpose, flag: '' });
      if (entry.url !== options.baseUrl) return { elsewhere: entry.url };
      const token = await issueDemoToken({
        dataDir: options.dataDir,
        baseUrl: options.baseUrl,
        user: demoUserOf(entry),
        ...(request.purpose === undefined ? {} : { purposeOfUse: request.purpose }),
        ...(request.reason === undefined ? {} : { breakGlassReason: request.reason }),
      });
      const patientKey =
        entry.kind === 'patient'
          ? toHex((await loadEd25519KeyFile(join(folder, 'patients', `${entry.id}.key`))).seed)
          : null;
      // A demo seeded before practitioners' keys were kept has none: the page asks for a file.
      const practitionerFile = demoPractitionerKeyFile(folder, entry.orgId, entry.id);
      const practitionerKey =
        entry.kind === 'practitioner' && existsSync(practitionerFile)
          ? toHex((await loadEd25519KeyFile(practitionerFile)).seed)
          : null;
      const user = users().find((candidate) => candidate.name === entry.name)!;
      return { token, user, patientKey, practitionerKey };
    },
  };
}
