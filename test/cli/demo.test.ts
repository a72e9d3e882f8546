// Runs the real `medledger` command as a child process: the demo commits and verifies blocks,
// and wrong arguments end with a one-line error naming the argument and a non-zero exit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/medledger.js', import.meta.url));

function medledger(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
}

test('medledger demo --in-process commits blocks and verifies the proofs it prints', () => {
  const run = medledger('demo', '--in-process', '--blocks', '3', '--txs', '2');
  assert.equal(run.status, 0, run.stderr);
  const blockLines = run.stdout.split('\n').filter((line) => /^block +\d+ /.test(line));
  assert.equal(blockLines.length, 3);
  assert.match(run.stdout, /log 6 /);
  assert.match(run.stdout, /verified: transaction [0-9a-f]+… is leaf 0 of the log of 6/);
  assert.match(run.stdout, /verified: the log of 6 extends the log of 2/);
  assert.match(run.stdout, /verified: state key .* is present and .* is absent/);
});

test('medledger refuses wrong arguments with a message naming them', () => {
  const zero = medledger('demo', '--blocks', '0');
  assert.notEqual(zero.status, 0);
  assert.match(zero.stderr, /--blocks must be between 1 and 1000, got 0/);
  const word = medledger('demo', '--txs', 'many');
  assert.notEqual(word.status, 0);
  assert.match(word.stderr, /--txs must be a whole number/);
  const unknown = medledger('frobnicate');
  assert.notEqual(unknown.status, 0);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
});
