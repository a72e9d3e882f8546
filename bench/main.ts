/**
 * `npm run bench`: the foundation's figures, one line each (name, value, unit), each the median
 * of several runs in this one process. Targets (issue 2) are quoted in the names' comments, never
 * asserted: the machines are shared and noisy.
 */
import { createPublicKey, createHash, verify as nodeVerify } from 'node:crypto';

import { utf8 } from '../src/base/index.ts';
import {
  assertValidBlock,
  decodeTransaction,
  encodeTransaction,
  signTransaction,
} from '../src/chain/index.ts';
import { ed25519KeyPairFromSeed, ed25519Sign, ed25519Verify, sha256 } from '../src/crypto/index.ts';
import {
  HistoryLog,
  emptyStateRoot,
  stateTreeProve,
  stateTreeRootHash,
  stateTreeUpdate,
  verifyLogInclusion,
  verifyStateProof,
} from '../src/merkle/index.ts';
import { createVerifyPool } from '../src/workers/index.ts';
import { buildChain, contextOf } from '../test/chain/fixtures.ts';
import { benchConsensus } from './consensus.ts';
import { benchContracts } from './contracts.ts';
import { benchStore } from './store.ts';
import { benchVerification } from './verify.ts';
import { benchP2p } from './p2p.ts';
import { measureRate, measureRateAsync, median, report } from './harness.ts';

/** A deterministic pseudo-random byte source (xorshift32), so every run measures the same data. */
function bytesSource(seed: number): (length: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

const random = bytesSource(20261125);

function benchCrypto(): void {
  const keyPair = ed25519KeyPairFromSeed(sha256(utf8('bench')));
  const messages = Array.from({ length: 2000 }, () => random(32));
  const signatures = messages.map((message) => ed25519Sign({ message, keyPair }));
  report(
    'ed25519 sign',
    measureRate({
      operations: messages.length,
      run: () => {
        for (const message of messages) ed25519Sign({ message, keyPair });
      },
    }),
    'signs/s',
  );
  report(
    'ed25519 verify, one core (ed25519Verify, libsodium)',
    measureRate({
      operations: messages.length,
      run: () => {
        for (let i = 0; i < messages.length; i++) {
          ed25519Verify({
            publicKey: keyPair.publicKey,
            message: messages[i]!,
            signature: signatures[i]!,
          });
        }
      },
    }),
    'verifies/s',
  );
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), keyPair.publicKey]);
  const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  report(
    'ed25519 verify, one core (node:crypto, for comparison)',
    measureRate({
      operations: messages.length,
      run: () => {
        for (let i = 0; i < messages.length; i++)
          nodeVerify(null, messages[i]!, publicKey, signatures[i]!);
      },
    }),
    'verifies/s',
  );
  const input = random(64);
  report(
    'sha256 64-byte hashes (libsodium)',
    measureRate({
      operations: 200_000,
      run: () => {
        for (let i = 0; i < 200_000; i++) sha256(input);
      },
    }),
    'hashes/s',
  );
  report(
    'sha256 64-byte hashes (node:crypto createHash, comparison)',
    measureRate({
      operations: 100_000,
      run: () => {
        for (let i = 0; i < 100_000; i++) createHash('sha256').update(input).digest();
      },
    }),
    'hashes/s',
  );
}

async function benchVerifyPool(): Promise<void> {
  const keyPair = ed25519KeyPairFromSeed(sha256(utf8('bench-pool')));
  const items = Array.from({ length: 4096 }, () => {
    const message = random(32);
    return { publicKey: keyPair.publicKey, message, signature: ed25519Sign({ message, keyPair }) };
  });
  const batches = 8;
  const pool = createVerifyPool({ threads: 2 });
  try {
    const rate = await measureRateAsync({
      operations: items.length * batches,
      run: async () => {
        const results = await Promise.all(
          Array.from({ length: batches }, () => pool.verifyBatch(items)),
        );
        if (!results.every((batch) => batch.every(Boolean)))
          throw new Error('pool rejected a valid signature');
      },
    });
    report('ed25519 verify, worker pool of 2 threads', rate, 'verifies/s');
  } finally {
    await pool.close();
  }
}

function benchHistoryLog(): void {
  const leafCount = 2 ** 20;
  const leaves = Array.from({ length: 4096 }, () => random(32));
  let log = new HistoryLog();
  const appendRates: number[] = [];
  for (let run = 0; run < 3; run++) {
    log = new HistoryLog();
    const start = performance.now();
    for (let i = 0; i < leafCount; i++) log.append(leaves[i & 4095]!);
    appendRates.push(leafCount / ((performance.now() - start) / 1000));
  }
  report('history log appends (to 2^20 leaves)', median(appendRates), 'appends/s');
  const root = log.root();
  const indices = Array.from({ length: 5000 }, (_, i) => (i * 7919 * 131) % leafCount);
  report(
    'history log inclusion proofs generated at 2^20 leaves',
    measureRate({
      operations: indices.length,
      run: () => {
        for (const index of indices) log.inclusionProof({ index });
      },
    }),
    'proofs/s',
  );
  const proofs = indices.map((index) => log.inclusionProof({ index }));
  report(
    'history log inclusion proofs verified at 2^20 leaves',
    measureRate({
      operations: proofs.length,
      run: () => {
        for (const proof of proofs) {
          verifyLogInclusion({
            leafData: leaves[proof.index & 4095]!,
            index: proof.index,
            size: leafCount,
            proof: proof.path,
            root,
          });
        }
      },
    }),
    'verifies/s',
  );
  report(
    'history log inclusion proof size at 2^20 leaves',
    median(proofs.map((p) => p.path.length)),
    'hashes',
  );
  report(
    'history log consistency proofs generated at 2^20 leaves',
    measureRate({
      operations: 2000,
      run: () => {
        for (let i = 1; i <= 2000; i++)
          log.consistencyProof({ oldSize: (i * 523) % leafCount || 1 });
      },
    }),
    'proofs/s',
  );
}

function benchStateTree(): void {
  const keyCount = 1_000_000;
  const batchSize = 10_000;
  let root = emptyStateRoot();
  const value = random(32);
  const keys: Uint8Array[] = [];
  const buildStart = performance.now();
  for (let done = 0; done < keyCount; done += batchSize) {
    const entries = [];
    for (let i = 0; i < batchSize; i++) {
      const key = random(32);
      keys.push(key);
      entries.push({ key, value });
    }
    root = stateTreeUpdate(root, entries);
  }
  report(
    'state tree build, 1M keys in batches of 10,000',
    keyCount / ((performance.now() - buildStart) / 1000),
    'keys/s',
  );
  const heapAfterBuild = process.memoryUsage();
  report('state tree memory at 1M keys (rss)', heapAfterBuild.rss / 2 ** 20, 'MiB');
  // Updates at 1M keys: half new keys, half changed values of existing keys.
  const rates: number[] = [];
  for (let run = 0; run < 5; run++) {
    const entries = [];
    for (let i = 0; i < batchSize / 2; i++) entries.push({ key: random(32), value });
    for (let i = 0; i < batchSize / 2; i++)
      entries.push({ key: keys[(run * batchSize + i * 97) % keys.length]!, value: random(32) });
    const start = performance.now();
    root = stateTreeUpdate(root, entries);
    rates.push(batchSize / ((performance.now() - start) / 1000));
  }
  report('state tree batched updates at 1M keys (batches of 10,000)', median(rates), 'keys/s');
  const sample = Array.from({ length: 5000 }, (_, i) => keys[(i * 104729) % keys.length]!);
  report(
    'state tree proofs generated at 1M keys',
    measureRate({
      operations: sample.length,
      run: () => {
        for (const key of sample) stateTreeProve(root, key);
      },
    }),
    'proofs/s',
  );
  const rootHash = stateTreeRootHash(root);
  const proven = sample.map((key) => ({ key, ...stateTreeProve(root, key) }));
  report(
    'state tree proofs verified at 1M keys',
    measureRate({
      operations: proven.length,
      run: () => {
        for (const { key, value: v, proof } of proven)
          verifyStateProof({ rootHash, key, value: v, proof });
      },
    }),
    'verifies/s',
  );
  const siblings = proven.map((p) => p.proof.siblings.length);
  const bytes = proven.map((p) => 1 + p.proof.bitmap.length + 32 * p.proof.siblings.length);
  report('state tree inclusion proof siblings at 1M keys (median)', median(siblings), 'hashes');
  report('state tree inclusion proof siblings at 1M keys (max)', Math.max(...siblings), 'hashes');
  report('state tree inclusion proof size at 1M keys (median)', median(bytes), 'bytes');
  const absent = Array.from({ length: 2000 }, () => stateTreeProve(root, random(32)).proof);
  report(
    'state tree non-inclusion proof siblings at 1M keys (median)',
    median(absent.map((p) => p.siblings.length)),
    'hashes',
  );
}

function benchChain(): void {
  const { blocks, set } = buildChain({ count: 2, txPerBlock: 500 });
  const block = blocks[1]!;
  report(
    'block validation, 500 signed transactions and a commit',
    measureRate({
      operations: block.txs.length,
      run: () => assertValidBlock(block, contextOf(blocks, 1, set)),
    }),
    'txs/s',
  );
  const tx = block.txs[0]!;
  const encoded = encodeTransaction(tx);
  report(
    'transaction encode (canonical CBOR)',
    measureRate({
      operations: 20_000,
      run: () => {
        for (let i = 0; i < 20_000; i++) encodeTransaction(tx);
      },
    }),
    'encodes/s',
  );
  report(
    'transaction decode (strict)',
    measureRate({
      operations: 20_000,
      run: () => {
        for (let i = 0; i < 20_000; i++) decodeTransaction(encoded);
      },
    }),
    'decodes/s',
  );
  const keyPair = ed25519KeyPairFromSeed(sha256(utf8('bench-tx')));
  report(
    'transaction sign (hash + Ed25519)',
    measureRate({
      operations: 5000,
      run: () => {
        for (let nonce = 0; nonce < 5000; nonce++) {
          signTransaction({
            unsigned: {
              chainId: 'bench',
              kind: 'record.anchor',
              body: { n: nonce },
              signer: keyPair.publicKey,
              nonce,
            },
            keyPair,
          });
        }
      },
    }),
    'txs/s',
  );
}

console.log(
  `MedLedger bench — node ${process.version}, ${process.platform}/${process.arch}, medians of runs in one process`,
);
benchCrypto();
await benchVerifyPool();
benchChain();
benchHistoryLog();
benchStateTree();
benchConsensus();
benchContracts();
benchStore();
benchVerification();
await benchP2p();
