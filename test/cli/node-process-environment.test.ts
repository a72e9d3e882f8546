// Checks the environment the demo, the network tests and bench:net give node processes that share
// a machine (decision 0046): the co-located settings under the caller's environment, which wins.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { colocatedNodeSettings, nodeProcessEnvironment } from '../../src/cli/index.ts';

test('a node process gets the V8 flags and malloc settings of co-located nodes', () => {
  const environment = nodeProcessEnvironment({ PATH: '/usr/bin' }, { MEDLEDGER_X: '1' });
  assert.deepEqual(environment, {
    PATH: '/usr/bin',
    MEDLEDGER_X: '1',
    NODE_OPTIONS: '--max-old-space-size=1024 --max-semi-space-size=4',
    MALLOC_ARENA_MAX: colocatedNodeSettings.mallocArenaMax,
    MALLOC_MMAP_THRESHOLD_: colocatedNodeSettings.mallocMmapThresholdBytes,
  });
});

test("the caller's NODE_OPTIONS come after the settings' flags, and its malloc settings win", () => {
  const environment = nodeProcessEnvironment(
    { NODE_OPTIONS: '--max-old-space-size=512', MALLOC_ARENA_MAX: '8' },
    { MALLOC_MMAP_THRESHOLD_: '65536' },
  );
  // V8 takes the last of a repeated flag: the caller's 512 MiB.
  assert.equal(
    environment.NODE_OPTIONS,
    '--max-old-space-size=1024 --max-semi-space-size=4 --max-old-space-size=512',
  );
  assert.equal(environment.MALLOC_ARENA_MAX, '8');
  assert.equal(environment.MALLOC_MMAP_THRESHOLD_, '65536');
});
