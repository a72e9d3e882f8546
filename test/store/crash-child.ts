// The child process of crash.test.ts (not a test itself): opens the store in the directory given
// as its argument and commits blocks in a loop, saving a signing record before each block and
// reporting on stdout, after each call returns, what is now durable. The parent kills it with
// SIGKILL at random moments.
import { openChainStore } from '../../src/store/index.ts';
import { toHex } from '../../src/base/index.ts';
import { nextBlock, storeGenesis } from './fixtures.ts';

const directory = process.argv[2];
const txCount = Number(process.argv[3] ?? '60');
if (directory === undefined) throw new Error('usage: crash-child.ts <directory> [txCount]');

const store = openChainStore({ directory, genesis: storeGenesis() });
// Writes to a pipe are synchronous on Linux, so a line is out before the next step starts.
process.stdout.write(`ready ${store.head().height}\n`);
for (;;) {
  const entry = nextBlock(store, { txCount });
  const height = entry.block.header.height;
  store.saveSigningRecord(new TextEncoder().encode(`signed ${height}`));
  process.stdout.write(`signed ${height}\n`);
  store.commitBlock(entry);
  process.stdout.write(`committed ${height} ${toHex(entry.blockHash)}\n`);
}
