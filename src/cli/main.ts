/**
 * The `medledger` command line (commander). Every wrong argument or missing file ends with a
 * one-line message on stderr that says what was wrong, and a non-zero exit code; stack traces
 * are shown only with `MEDLEDGER_DEBUG=1`.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';

import { MedLedgerError } from '../base/index.ts';
import { registerAuditCommand } from './audit-command.ts';
import { registerAuditStoreCommand } from './audit-store-command.ts';
import { runFoundationDemo } from './demo.ts';
import { demoLimits, runDemoNetwork } from './demo-network.ts';
import { printDemoToken, printDemoUsers } from './demo-token.ts';
import { registerNetworkCommands } from './network-commands.ts';
import { registerSimCommand } from './sim-command.ts';
import { registerVaultCommand } from './vault-command.ts';
import { registerVerifyCommand } from './verify-command.ts';
import { registerWitnessCommand } from './witness-command.ts';

/** Parses a positive integer argument, naming the option when it is not one. */
function positiveInteger(name: string, max: number): (value: string) => number {
  return (value) => {
    if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
    const parsed = Number(value);
    if (parsed < 1 || parsed > max) {
      throw new InvalidArgumentError(`${name} must be between 1 and ${max}, got ${value}`);
    }
    return parsed;
  };
}

/**
 * The demo's output: `print` for lines that stay, `live` for a status line that rewrites itself
 * on a terminal (and is printed now and then otherwise). A printed line first clears the live
 * one, which the next refresh draws again below it.
 */
function demoOutput(): { print: (line: string) => void; live: (line: string) => void } {
  if (process.stdout.isTTY) {
    let liveShown = false;
    return {
      print: (line) => {
        if (liveShown) process.stdout.write('\r\x1b[2K');
        liveShown = false;
        console.log(line);
      },
      live: (line) => {
        liveShown = true;
        process.stdout.write(`\r\x1b[2K${line.slice(0, (process.stdout.columns || 120) - 1)}`);
      },
    };
  }
  let last = 0;
  return {
    print: (line) => console.log(line),
    live: (line) => {
      if (Date.now() - last < demoLimits.liveLinePlainIntervalMs) return;
      last = Date.now();
      console.log(line);
    },
  };
}

type DemoOptions = {
  data: string;
  fresh: boolean;
  nodes?: number;
  duration?: number;
  inProcess: boolean;
  blocks: number;
  txs: number;
};

export function buildProgram(): Command {
  const program = new Command()
    .name('medledger')
    .description('MedLedger: a permissioned BFT ledger for shared health records')
    .showHelpAfterError('(run medledger --help for usage)')
    .exitOverride();

  const demo = program
    .command('demo')
    .description(
      'run the demo network: four organisations (hospital, clinic, laboratory, payer) each run a ' +
        'validator node as an OS process on 127.0.0.1; Ctrl-C stops them, a second run resumes',
    )
    .option('--data <dir>', 'the demo folder', 'medledger-demo')
    .option('--fresh', 'delete the demo folder first and start a new chain', false)
    .option(
      '--nodes <count>',
      'validator nodes of a new demo (default 4)',
      positiveInteger('--nodes', demoLimits.nodesMax),
    )
    .option(
      '--duration <seconds>',
      'stop by itself after this many seconds',
      positiveInteger('--duration', 86_400),
    )
    .option(
      '--in-process',
      'run the foundation demo instead: four validators in one process, no network',
      false,
    )
    .option(
      '--blocks <count>',
      'with --in-process: how many blocks to commit',
      positiveInteger('--blocks', 1000),
      5,
    )
    .option(
      '--txs <count>',
      'with --in-process: transactions per block',
      positiveInteger('--txs', 10_000),
      8,
    )
    .action(async (options: DemoOptions) => {
      if (options.inProcess) {
        runFoundationDemo({
          blockCount: options.blocks,
          txPerBlock: options.txs,
          print: (line) => console.log(line),
        });
        return;
      }
      const output = demoOutput();
      await runDemoNetwork({
        data: options.data,
        nodeCount: options.nodes,
        fresh: options.fresh,
        durationSeconds: options.duration,
        print: output.print,
        live: output.live,
      });
    });
  // The demo's `--data` belongs to `demo` (commander gives it to the parent command wherever it
  // stands), so the subcommands read it from there.
  demo
    .command('token')
    .description(
      'print a bearer token (15 minutes) for a seeded demo user, e.g. medledger demo token hospital/dr-…',
    )
    .argument('<user>', 'a login name from medledger demo users')
    .option('--purpose <code>', 'purpose of use (v3-ActReason): BTG or ETREAT for break-glass')
    .option('--reason <text>', 'why the break-glass access (with --purpose BTG or ETREAT)')
    .action(
      async (user: string, options: { purpose?: string; reason?: string }, command: Command) => {
        await printDemoToken({
          data: command.parent!.opts<DemoOptions>().data,
          name: user,
          purpose: options.purpose,
          reason: options.reason,
          print: (line) => console.log(line),
        });
      },
    );
  demo
    .command('users')
    .description('list the seeded demo users: login name, kind, organisation, roles, id, node URL')
    .action((_options: unknown, command: Command) => {
      printDemoUsers({
        data: command.parent!.opts<DemoOptions>().data,
        print: (line) => console.log(line),
      });
    });

  registerNetworkCommands(program, (line) => console.log(line));
  registerSimCommand(program);
  registerAuditCommand(program);
  registerAuditStoreCommand(program);
  registerVerifyCommand(program);
  registerVaultCommand(program);
  registerWitnessCommand(program);
  return program;
}

async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof MedLedgerError) {
      console.error(`medledger: ${error.message}`);
      return 1;
    }
    if (process.env.MEDLEDGER_DEBUG === '1') console.error(error);
    else console.error(`medledger: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
