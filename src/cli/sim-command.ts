/**
 * `medledger sim`: runs the deterministic consensus simulator over a range of seeds and prints a
 * summary ending in `sim: N seeds, V validators (B byzantine), X safety violations, Y liveness
 * failures`. On any failure it prints the seed, the invariant and the trace that led to it, and
 * exits non-zero. Everything on stdout is a function of the arguments (the same seed replays
 * byte for byte); the wall time goes to stderr.
 */
import { performance } from 'node:perf_hooks';

import { type Command, InvalidArgumentError } from 'commander';

import { MedLedgerError } from '../base/index.ts';
import { type SimulationResult, runSimulation } from '../sim/index.ts';

/** Trace lines printed for a failing seed. */
const failureTraceLinesMax = 60;

function wholeNumber(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
    const parsed = Number(value);
    if (parsed < min || parsed > max)
      throw new InvalidArgumentError(`${name} must be between ${min} and ${max}, got ${value}`);
    return parsed;
  };
}

type SimCommandOptions = { seeds: number; validators: number; byzantine?: number; seed: number };

/** Runs the simulations and prints the report; returns the number of failing seeds. */
export function runSimCommand(options: SimCommandOptions, print: (line: string) => void): number {
  const validators = options.validators;
  const faultyMax = Math.floor((validators - 1) / 3);
  const byzantine = options.byzantine ?? faultyMax;
  if (byzantine > faultyMax) {
    throw new MedLedgerError(
      'bad-argument',
      `--byzantine ${byzantine} exceeds f = ${faultyMax} for ${validators} validators (n = 3f + 1)`,
    );
  }
  let safety = 0;
  let liveness = 0;
  let failingSeeds = 0;
  let heights = 0;
  let evidence = 0;
  let crashes = 0;
  const failures: SimulationResult[] = [];
  for (let seed = options.seed; seed < options.seed + options.seeds; seed++) {
    const result = runSimulation({ seed, validatorCount: validators, byzantineCount: byzantine });
    safety += result.violations.length;
    liveness += result.livenessFailures.length;
    heights += result.heightReached;
    evidence += result.stats.evidence ?? 0;
    crashes += result.stats.crashes ?? 0;
    if (result.violations.length > 0 || result.livenessFailures.length > 0) {
      failingSeeds++;
      failures.push(result);
    }
  }
  for (const result of failures) {
    print(`FAILED seed ${result.seed}:`);
    for (const violation of result.violations)
      print(
        `  safety violation (${violation.invariant}) at ${violation.timeMs}ms: ${violation.detail}`,
      );
    for (const failure of result.livenessFailures) print(`  liveness failure: ${failure}`);
    print(`  trace (last ${failureTraceLinesMax} steps):`);
    for (const line of result.trace.slice(-failureTraceLinesMax)) print(`    ${line}`);
    print(
      `  replay: medledger sim --seeds 1 --seed ${result.seed} --validators ${validators} --byzantine ${byzantine}`,
    );
  }
  print(
    `seeds ${options.seed}..${options.seed + options.seeds - 1}: ${heights} heights committed by the slowest honest node of each run in all, ${evidence} equivocation evidence reports, ${crashes} crashes`,
  );
  print(
    `sim: ${options.seeds} seeds, ${validators} validators (${byzantine} byzantine), ${safety} safety violations, ${liveness} liveness failures`,
  );
  return failingSeeds;
}

/** Adds `medledger sim` to `program`. */
export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description(
      'run the deterministic consensus simulator (faults, Byzantine validators, invariant checkers) over many seeds',
    )
    .option('--seeds <count>', 'how many seeds to run', wholeNumber('--seeds', 1, 1_000_000), 100)
    .option('--validators <count>', 'validators at genesis', wholeNumber('--validators', 1, 100), 4)
    .option(
      '--byzantine <count>',
      'Byzantine validators (default f = ⌊(n − 1) / 3⌋)',
      wholeNumber('--byzantine', 0, 33),
    )
    .option('--seed <first>', 'first seed', wholeNumber('--seed', 0, 2 ** 32 - 1), 1)
    .action((options: SimCommandOptions) => {
      const start = performance.now();
      const failing = runSimCommand(options, (line) => console.log(line));
      console.error(`sim: wall time ${((performance.now() - start) / 1000).toFixed(1)}s`);
      if (failing > 0)
        throw new MedLedgerError('sim-failed', `${failing} of ${options.seeds} seeds failed`);
    });
}
