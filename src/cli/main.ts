/**
 * The `medledger` command line (commander). Every wrong argument or missing file ends with a
 * one-line message on stderr that says what was wrong, and a non-zero exit code; stack traces
 * are shown only with `MEDLEDGER_DEBUG=1`.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';

import { MedLedgerError } from '../base/index.ts';
import { runFoundationDemo } from './demo.ts';
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

export function buildProgram(): Command {
  const program = new Command()
    .name('medledger')
    .description('MedLedger: a permissioned BFT ledger for shared health records')
    .showHelpAfterError('(run medledger --help for usage)')
    .exitOverride();

  program
    .command('demo')
    .description(
      'run the demo: four organisations (hospital, clinic, laboratory, payer) sign transactions, ' +
        'commit blocks and prove them (in one process until the node lands)',
    )
    .option('--blocks <count>', 'how many blocks to commit', positiveInteger('--blocks', 1000), 5)
    .option('--txs <count>', 'transactions per block', positiveInteger('--txs', 10_000), 8)
    .action((options: { blocks: number; txs: number }) => {
      runFoundationDemo({
        blockCount: options.blocks,
        txPerBlock: options.txs,
        print: (line) => console.log(line),
      });
    });

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
