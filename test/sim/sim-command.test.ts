// Checks `medledger sim`'s report: deterministic output ending in the summary line for a small seed range, and a refused Byzantine count above f.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MedLedgerError } from '../../src/base/index.ts';
import { runSimCommand } from '../../src/cli/sim-command.ts';

function run(options: Parameters<typeof runSimCommand>[0]): { lines: string[]; failing: number } {
  const lines: string[] = [];
  const failing = runSimCommand(options, (line) => lines.push(line));
  return { lines, failing };
}

test('the report ends with the summary line and replays byte for byte', () => {
  const options = { seeds: 3, validators: 4, byzantine: 1, seed: 11 };
  const first = run(options);
  assert.equal(first.failing, 0);
  assert.equal(
    first.lines[first.lines.length - 1],
    'sim: 3 seeds, 4 validators (1 byzantine), 0 safety violations, 0 liveness failures',
  );
  assert.deepEqual(run(options).lines, first.lines);
});

test('twin: more Byzantine validators than f is refused with a clear error', () => {
  assert.throws(
    () => run({ seeds: 1, validators: 4, byzantine: 2, seed: 1 }),
    (error: unknown) => error instanceof MedLedgerError && /exceeds f = 1/.test(error.message),
  );
});
