// Checks durability with real processes: a child commits blocks in a loop and is killed with
// SIGKILL at seeded random moments, 12 times; after each kill the store reopens (its open checks
// pass) and every block and signing record the child reported durable is there, unchanged.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { fromUtf8, toHex } from '../../src/base/index.ts';
import { blockHash } from '../../src/chain/index.ts';
import { openChainStore } from '../../src/store/index.ts';
import { storeGenesis, temporaryDirectory } from './fixtures.ts';

const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-child.ts');
const killCount = 12;
/** Longest wait after the child's first commit before the kill, in ms. */
const killDelayMaxMs = 400;

/** What a child reported before it was killed. */
interface Reported {
  readonly committed: Map<number, string>;
  signed: number;
}

/** Runs the child until `delayMs` after its first commit, kills it, returns what it reported. */
function runAndKill(directory: string, delayMs: number): Promise<Reported> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', childScript, directory, '60'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const reported: Reported = { committed: new Map(), signed: 0 };
    let buffered = '';
    let errors = '';
    let timer: NodeJS.Timeout | undefined;
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [kind, height, hash] = line.split(' ');
        if (kind === 'signed') reported.signed = Number(height);
        if (kind === 'committed') {
          reported.committed.set(Number(height), hash!);
          timer ??= setTimeout(() => {
            killed = true;
            child.kill('SIGKILL');
          }, delayMs);
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (errors += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (!killed || signal !== 'SIGKILL') {
        reject(new Error(`child exited by itself (code ${code}, signal ${signal}): ${errors}`));
        return;
      }
      resolve(reported);
    });
  });
}

test('blocks and signing records reported durable survive SIGKILL at random moments', async () => {
  const { directory, remove } = temporaryDirectory();
  // A seeded generator (xorshift32) picks the kill delays; the seed is in every failure message.
  const seed = 20_261_125;
  let x = seed;
  const nextDelay = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % (killDelayMaxMs + 1);
  };
  const everCommitted = new Map<number, string>();
  try {
    for (let kill = 1; kill <= killCount; kill++) {
      const delay = nextDelay();
      const reported = await runAndKill(directory, delay);
      const where = `kill ${kill} after ${delay} ms (seed ${seed})`;
      for (const [height, hash] of reported.committed) everCommitted.set(height, hash);
      // The store opens: its last block, state root and log root agree.
      const store = openChainStore({ directory, genesis: storeGenesis() });
      try {
        const head = store.head();
        const reportedMax = Math.max(...everCommitted.keys());
        // Every reported block is there; at most the one in flight is there unreported.
        assert.ok(head.height >= reportedMax, `${where}: head ${head.height} < ${reportedMax}`);
        assert.ok(
          head.height <= reportedMax + 1,
          `${where}: head ${head.height} > ${reportedMax} + 1`,
        );
        for (const [height, hash] of everCommitted) {
          assert.equal(toHex(store.loadBlockHash(height)!), hash, `${where}: hash of ${height}`);
          assert.equal(
            toHex(blockHash(store.loadBlock(height)!.header)),
            hash,
            `${where}: block ${height}`,
          );
        }
        const record = store.loadSigningRecord();
        assert.ok(record !== null, `${where}: a signing record`);
        const signed = Number(fromUtf8(record).split(' ')[1]);
        assert.ok(
          signed >= reported.signed,
          `${where}: record ${signed} < reported ${reported.signed}`,
        );
        assert.ok(signed >= head.height, `${where}: each block's record is saved before it`);
      } finally {
        store.close();
      }
    }
  } finally {
    remove();
  }
});
