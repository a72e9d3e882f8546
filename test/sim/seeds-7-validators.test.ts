// Checks agreement, validity, commit quorums, no honest double-sign, persist-before-send and liveness over 100 seeded runs of 7 validators (2 Byzantine) with every fault kind (loss, delay, duplication, reordering, partitions, crashes between actions, Byzantine behaviours, validator-set changes).
import { test } from 'node:test';

import { sweepSeeds } from './seed-runner.ts';

test('100 seeds, 7 validators, 2 Byzantine: no safety violation, no liveness failure', () => {
  sweepSeeds({ first: 1, count: 100, validatorCount: 7, byzantineCount: 2 });
});
