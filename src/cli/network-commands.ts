/**
 * `medledger init`, `genesis`, `node start` and `status`: an organisation's key, a network's
 * genesis document, running a node (with its HTTP API) until SIGINT or SIGTERM, and a node's
 * status. Wrong arguments and missing files end in one line naming them (see main.ts).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

import { type Command, InvalidArgumentError } from 'commander';

import { MedLedgerError, shortHex, toHex } from '../base/index.ts';
import { generateEd25519KeyPair, saveKeyFile } from '../keys/index.ts';
import { createNodeLogger, loadNodeConfig } from '../node/index.ts';
import { startNodeProcess } from './start-node.ts';
import { makeGenesisDocument, writeJsonFile } from './network-files.ts';
import { fetchStatus, parseNodeUrl } from './node-client.ts';

/** The organisation id pattern of the contracts (lower-case identifier, at most 64 bytes). */
const orgIdPattern = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** The role code pattern of the contracts. */
const rolePattern = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;
/** Largest members file `genesis --members` reads, in bytes. */
const membersFileBytesMax = 1024 * 1024;

function badArgument(message: string): MedLedgerError {
  return new MedLedgerError('bad-argument', message);
}

function checkOrgId(option: string, orgId: string): string {
  if (!orgIdPattern.test(orgId)) {
    throw badArgument(
      `${option}: expected a lower-case organisation id (a-z, 0-9, '.', '_', '-'; at most 64), found ${JSON.stringify(orgId)}`,
    );
  }
  return orgId;
}

type GenesisMemberInput = { orgId: string; nodeKey: string; roles: string[]; power: number };

/** Parses `<orgId>:<nodeKeyHex>:<roles>[:<power>]` (roles comma-separated; power 0 = not a validator). */
function parseMemberArgument(
  value: string,
  previous: GenesisMemberInput[] = [],
): GenesisMemberInput[] {
  const parts = value.split(':');
  if (parts.length < 3 || parts.length > 4) {
    throw new InvalidArgumentError(
      `--member: expected <orgId>:<nodeKeyHex>:<roles>[:<power>], found ${JSON.stringify(value)}`,
    );
  }
  const [orgId, nodeKey, roles, power] = parts as [string, string, string, string | undefined];
  if (!orgIdPattern.test(orgId)) {
    throw new InvalidArgumentError(
      `--member ${value}: organisation id ${JSON.stringify(orgId)} is not a lower-case identifier`,
    );
  }
  if (!/^[0-9a-f]{64}$/.test(nodeKey)) {
    throw new InvalidArgumentError(
      `--member ${value}: expected the node key as 64 lower-case hex digits, found ${JSON.stringify(nodeKey)}`,
    );
  }
  const roleList = roles === '' ? [] : roles.split(',');
  for (const role of roleList) {
    if (!rolePattern.test(role))
      throw new InvalidArgumentError(
        `--member ${value}: role ${JSON.stringify(role)} is not a code`,
      );
  }
  if (power !== undefined && !/^[0-9]{1,7}$/.test(power)) {
    throw new InvalidArgumentError(
      `--member ${value}: expected the power as a whole number, found ${JSON.stringify(power)}`,
    );
  }
  return [
    ...previous,
    { orgId, nodeKey, roles: roleList, power: power === undefined ? 1 : Number(power) },
  ];
}

function readMembersFile(file: string): GenesisMemberInput[] {
  if (!existsSync(file)) throw badArgument(`--members: file ${file} does not exist`);
  if (!statSync(file).isFile()) throw badArgument(`--members: ${file} is not a regular file`);
  if (statSync(file).size > membersFileBytesMax)
    throw badArgument(`--members: ${file} is larger than ${membersFileBytesMax} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw badArgument(`--members: ${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(json))
    throw badArgument(`--members: ${file}: expected an array of members, found ${typeof json}`);
  return json.map((item: unknown, index) => {
    const member = item as Partial<Record<'orgId' | 'nodeKey' | 'roles' | 'power', unknown>>;
    if (typeof item !== 'object' || item === null)
      throw badArgument(`--members: ${file}: [${index}] is not an object`);
    const power = member.power ?? 1;
    if (typeof power !== 'number' || !Number.isInteger(power) || power < 0) {
      throw badArgument(
        `--members: ${file}: [${index}].power: expected a whole number, found ${JSON.stringify(power)}`,
      );
    }
    // The genesis parser checks orgId, nodeKey and roles and names the member's index.
    return {
      orgId: member.orgId as string,
      nodeKey: member.nodeKey as string,
      roles: member.roles as string[],
      power,
    };
  });
}

/** Adds `init`, `genesis`, `node start` and `status` to `program`. */
export function registerNetworkCommands(program: Command, print: (line: string) => void): void {
  program
    .command('init')
    .description(
      "create an organisation's node key (Ed25519, file mode 0600) and print its public key",
    )
    .requiredOption('--org <orgId>', 'the organisation id (lower-case identifier)')
    .requiredOption('--dir <dir>', 'the folder of the node key (created if missing)')
    .option('--force', 'replace an existing key file (the old key is lost)', false)
    .action(async (options: { org: string; dir: string; force: boolean }) => {
      const orgId = checkOrgId('--org', options.org);
      const keyFile = resolve(options.dir, 'node.key');
      if (existsSync(options.dir) && !statSync(options.dir).isDirectory()) {
        throw badArgument(`--dir: ${options.dir} exists and is not a folder`);
      }
      if (existsSync(keyFile) && !options.force) {
        throw badArgument(
          `key file ${keyFile} already exists; refusing to overwrite it (pass --force to replace the key)`,
        );
      }
      const keyPair = generateEd25519KeyPair();
      await saveKeyFile({
        path: keyFile,
        key: { kind: 'ed25519', seed: keyPair.seed },
        overwrite: options.force,
      });
      print(`organisation ${orgId}`);
      print(`key file     ${keyFile} (mode 0600)`);
      print(`node key     ${toHex(keyPair.publicKey)}`);
      print(`genesis      --member ${orgId}:${toHex(keyPair.publicKey)}:<roles>`);
    });

  program
    .command('genesis')
    .description(
      "write a network's genesis document; every member is a validator of power 1 unless told otherwise",
    )
    .requiredOption('--chain-id <id>', 'the chain id (1 to 64 bytes)')
    .option(
      '--member <orgId:nodeKeyHex:roles[:power]>',
      'a founding member (repeat); roles comma-separated; power 0 = not a validator',
      parseMemberArgument,
    )
    .option(
      '--members <file>',
      'a JSON array of { orgId, nodeKey, roles, power? } instead of --member',
    )
    .requiredOption('--out <file>', 'where to write the genesis document (JSON)')
    .option('--force', 'replace an existing file', false)
    .action(
      (options: {
        chainId: string;
        member?: GenesisMemberInput[];
        members?: string;
        out: string;
        force: boolean;
      }) => {
        if (options.member !== undefined && options.members !== undefined) {
          throw badArgument('give either --member (repeated) or --members <file>, not both');
        }
        const members =
          options.members !== undefined ? readMembersFile(options.members) : (options.member ?? []);
        if (members.length === 0)
          throw badArgument('expected at least one --member or a --members file');
        if (existsSync(options.out) && !options.force) {
          throw badArgument(
            `--out: ${options.out} already exists; refusing to overwrite it (pass --force)`,
          );
        }
        const genesis = makeGenesisDocument({
          chainId: options.chainId,
          genesisTime: Date.now(),
          members,
        });
        writeJsonFile(options.out, genesis);
        print(
          `genesis of chain ${genesis.chainId}: ${genesis.members.length} members, ${genesis.validators.length} validators, written to ${options.out}`,
        );
      },
    );

  const node = program.command('node').description('run a node');
  node
    .command('start')
    .description(
      'start a node from its configuration file; stop it with Ctrl-C (SIGINT) or SIGTERM',
    )
    .requiredOption('--config <file>', 'the node configuration (JSON)')
    .option(
      '--demo-sign-in <folder>',
      "sign in the demo folder's seeded users in the web app, without a password (demo only)",
    )
    .action(async (options: { config: string; demoSignIn?: string }) => {
      const config = loadNodeConfig(options.config);
      const logger = createNodeLogger({ level: config.logLevel, name: 'medledger-node' });
      await startNodeProcess({
        config,
        logger,
        print,
        ...(options.demoSignIn === undefined ? {} : { demoSignInFolder: options.demoSignIn }),
      });
    });

  program
    .command('status')
    .description("print a node's chain status (GET /chain/status)")
    .requiredOption('--url <url>', "the node's HTTP address, e.g. http://127.0.0.1:8080")
    .option('--json', 'print the JSON as the node serves it', false)
    .action(async (options: { url: string; json: boolean }) => {
      const url = parseNodeUrl(options.url);
      const status = await fetchStatus(url);
      if (options.json) {
        print(JSON.stringify(status, null, 2));
        return;
      }
      print(`chain       ${status.chainId}`);
      print(
        `node        ${status.nodeKey} (${status.isValidator ? 'validator' : 'not a validator'})`,
      );
      print(`height      ${status.height} (round ${status.round})`);
      print(
        `last block  ${status.lastBlockHash} at ${new Date(status.lastBlockTime).toISOString()}`,
      );
      print(`state root  ${status.stateRoot}`);
      print(`log         ${status.logSize} entries, root ${status.logRoot}`);
      print(`mempool     ${status.mempoolSize} transactions`);
      print(`p2p         ${status.p2pAddress.host}:${status.p2pAddress.port}`);
      print(`validators  ${status.validators.length}`);
      for (const validator of status.validators)
        print(`  ${shortHex(Buffer.from(validator.publicKey, 'hex'))} power ${validator.power}`);
      print(`peers       ${status.peers.length}`);
      for (const peer of status.peers)
        print(`  ${peer.id.slice(0, 16)}… ${peer.direction} ${peer.remote}`);
    });
}
