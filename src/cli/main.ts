/**
 * The `medledger` command line (commander). Every wrong argument or missing file ends with a
 * one-line message on stderr that says what was wrong, and a non-zero exit code; stack traces
 * are shown only with `MEDLEDGER_DEBUG=1`.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';

import { MedLedgerError } from '../base/index.ts';
import { runFoundationDemo } from './demo.ts';
import { demoLimits, runDemoNetwork } from './demo-network.ts';
import { registerNetworkCommands } from './network-commands.ts';
import { registerSimCommand } from './sim-command.ts';

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

/** A status line that rewrites itself on a terminal and is printed now and then otherwise. */
function liveLine(): (line: string) => void {
  if (process.stdout.isTTY) {
    return (line) =>
      process.stdout.write(`\r\x1b[2K${line.slice(0, (process.stdout.columns || 120) - 1)}`);
  }
  let last = 0;
  return (line) => {
    if (Date.now() - last < demoLimits.liveLinePlainIntervalMs) return;
    last = Date.now();
    console.log(line);
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

  program
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
      await runDemoNetwork({
        data: options.data,
        nodeCount: options.nodes,
        fresh: options.fresh,
        durationSeconds: options.duration,
        print: (line) => console.log(line),
        live: liveLine(),
      });
    });

  registerNetworkCommands(program, (line) => console.log(line));
  registerSimCommand(program);
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
