// Checks the environment the demo, the network tests and bench:net give node processes that share
// a machine (decision 0046): the co-located settings under the caller's environment, which wins.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';

import { MedLedgerError } from '../../src/base/index.ts';
import { colocatedNodeSettings, nodeProcessEnvironment } from '../../src/cli/index.ts';
import { setHeapGrowingPercent } from '../../src/node/index.ts';

test('a node process gets the V8 flags and malloc settings of co-located nodes', () => {
  const environment = nodeProcessEnvironment({ PATH: '/usr/bin' }, { MEDLEDGER_X: '1' });
  assert.deepEqual(environment, {
    PATH: '/usr/bin',
    MEDLEDGER_X: '1',
    NODE_OPTIONS: '--max-old-space-size=1024 --max-semi-space-size=8',
    MALLOC_ARENA_MAX: colocatedNodeSettings.mallocArenaMax,
    MALLOC_MMAP_THRESHOLD_: colocatedNodeSettings.mallocMmapThresholdBytes,
    MEDLEDGER_HEAP_GROWING_PERCENT: '40',
  });
});

test("the caller's NODE_OPTIONS come after the settings' flags, and its malloc settings win", () => {
  const environment = nodeProcessEnvironment(
    {
      NODE_OPTIONS: '--max-old-space-size=512',
      MALLOC_ARENA_MAX: '8',
      MEDLEDGER_HEAP_GROWING_PERCENT: '',
    },
    { MALLOC_MMAP_THRESHOLD_: '65536' },
  );
  // V8 takes the last of a repeated flag: the caller's 512 MiB.
  assert.equal(
    environment.NODE_OPTIONS,
    '--max-old-space-size=1024 --max-semi-space-size=8 --max-old-space-size=512',
  );
  assert.equal(environment.MALLOC_ARENA_MAX, '8');
  assert.equal(environment.MALLOC_MMAP_THRESHOLD_, '65536');
  // An empty value is the caller's too: V8's own factor.
  assert.equal(environment.MEDLEDGER_HEAP_GROWING_PERCENT, '');
});

test('the heap growing percent is a whole number from 1 to 400, or unset; anything else says why', () => {
  assert.equal(setHeapGrowingPercent(undefined), null);
  assert.equal(setHeapGrowingPercent(''), null);
  for (const bad of ['0', '401', '-5', '12.5', '20%', ' 20', 'lots', '1e2']) {
    assert.throws(
      () => setHeapGrowingPercent(bad),
      (error: unknown) =>
        error instanceof MedLedgerError &&
        error.code === 'invalid-environment' &&
        error.message ===
          `MEDLEDGER_HEAP_GROWING_PERCENT must be a whole number of percent from 1 to 400, found ${JSON.stringify(bad)}`,
      bad,
    );
  }
  // This process's V8 takes a valid value (it only changes when full collections come).
  assert.equal(setHeapGrowingPercent('400'), 400);
  assert.equal(setHeapGrowingPercent('1'), 1);
  setFlagsFromString('--heap-growing-percent=0'); // V8's own factor again
});
