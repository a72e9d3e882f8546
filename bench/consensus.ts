/**
 * Consensus figures for `npm run bench`: the state machine's throughput ceiling (4 validators in
 * one process, real Ed25519 signatures, zero network delay: blocks/s and votes verified/s) and
 * the simulator's speed (seeds/s with every fault kind).
 */
import { performance } from 'node:perf_hooks';

import { utf8 } from '../src/base/index.ts';
import {
  type Block,
  type ValidatorSet,
  makeValidatorSet,
  transactionRoot,
  validatorSetHash,
} from '../src/chain/index.ts';
import {
  type ConsensusAction,
  type ConsensusEvent,
  type ConsensusState,
  defaultConsensusTimeouts,
  startConsensus,
  stepConsensus,
} from '../src/consensus/index.ts';
import { ed25519KeyPairFromSeed, sha256 } from '../src/crypto/index.ts';
import { runSimulation } from '../src/sim/index.ts';
import { median, report } from './harness.ts';

/** Runs 4 validators with instant delivery until each decided `heights` blocks; returns figures. */
function runInstantNetwork(heights: number): { seconds: number; votesVerified: number } {
  const keyPairs = [0, 1, 2, 3].map((i) =>
    ed25519KeyPairFromSeed(sha256(utf8(`bench-validator:${i}`))),
  );
  const set: ValidatorSet = makeValidatorSet(
    keyPairs.map((pair) => ({ publicKey: pair.publicKey, power: 1 })),
  );
  const chainId = 'medledger-bench';
  const states: ConsensusState[] = [];
  const queues: ConsensusEvent[][] = [[], [], [], []];
  const prevHashes: Uint8Array[] = [sha256(utf8('bench genesis'))];
  let votesVerified = 0;
  const empty = transactionRoot([]);
  const perform = (node: number, actions: readonly ConsensusAction[]): void => {
    for (const action of actions) {
      switch (action.kind) {
        case 'broadcast':
        case 'send':
          for (let peer = 0; peer < 4; peer++) {
            if (peer === node) continue;
            if (action.message.kind === 'vote') votesVerified++;
            queues[peer]!.push({ kind: 'message', peer: `n${node}`, message: action.message });
          }
          break;
        case 'validate-block':
          queues[node]!.push({
            kind: 'block-validated',
            height: action.height,
            blockHash: action.blockHash,
            valid: true,
          });
          break;
        case 'get-value': {
          const block: Block = {
            header: {
              chainId,
              height: action.height,
              time: 1_700_000_000_000 + action.height,
              prevHash: prevHashes[action.height - 1] ?? new Uint8Array(32),
              txRoot: empty,
              stateRoot: new Uint8Array(32),
              logRoot: empty,
              logSize: 0,
              validatorsHash: validatorSetHash(set),
              proposer: keyPairs[node]!.publicKey,
            },
            txs: [],
            lastCommit: action.lastCommit,
          };
          queues[node]!.push({
            kind: 'value-ready',
            height: action.height,
            round: action.round,
            block,
          });
          break;
        }
        case 'commit-block':
          prevHashes[action.height] = action.commit.blockHash;
          queues[node]!.push({
            kind: 'block-applied',
            height: action.height,
            validatorSetChange: null,
          });
          break;
        case 'persist':
        case 'schedule-timeout':
        case 'send-decision':
        case 'report-evidence':
          break;
      }
    }
  };
  const start = performance.now();
  for (let node = 0; node < 4; node++) {
    const started = startConsensus({
      config: { chainId, keyPairs: [keyPairs[node]!], timeouts: defaultConsensusTimeouts },
      height: 1,
      validatorSets: new Map([
        [1, set],
        [2, set],
      ]),
      lastCommit: null,
      record: null,
    });
    states.push(started.state);
    perform(node, started.actions);
  }
  for (let idle = false; !idle;) {
    idle = true;
    for (let node = 0; node < 4; node++) {
      const event = queues[node]!.shift();
      if (event === undefined || states[node]!.height > heights) continue;
      idle = false;
      perform(node, stepConsensus(states[node]!, event).actions);
    }
  }
  return { seconds: (performance.now() - start) / 1000, votesVerified };
}

/** Prints the consensus figures (see the file comment). */
export function benchConsensus(): void {
  const heights = 200;
  runInstantNetwork(20);
  const runs = [0, 1, 2].map(() => runInstantNetwork(heights));
  report(
    'consensus, 4 validators, zero delay, real signatures',
    median(runs.map((r) => heights / r.seconds)),
    'blocks/s',
  );
  report(
    'consensus, 4 validators, zero delay: votes received and verified',
    median(runs.map((r) => r.votesVerified / r.seconds)),
    'votes/s',
  );
  const seeds = 20;
  const simStart = performance.now();
  for (let seed = 1; seed <= seeds; seed++)
    runSimulation({ seed, validatorCount: 4, byzantineCount: 1 });
  report(
    'simulator, 4 validators (1 Byzantine), all faults',
    seeds / ((performance.now() - simStart) / 1000),
    'seeds/s',
  );
  const simStart10 = performance.now();
  for (let seed = 1; seed <= 5; seed++)
    runSimulation({ seed, validatorCount: 10, byzantineCount: 3 });
  report(
    'simulator, 10 validators (3 Byzantine), all faults',
    5 / ((performance.now() - simStart10) / 1000),
    'seeds/s',
  );
}
