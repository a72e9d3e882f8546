// Checks the verify pool on real threads: ed25519Verify's verdicts, bounds, crashes, close().
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { concatBytes, fromHex } from '../../src/base/index.ts';
import { ed25519KeyPairFromSeed, ed25519Sign, ed25519Verify } from '../../src/crypto/index.ts';
import {
  VerifyPoolError,
  VerifyPoolErrorCode,
  createVerifyPool,
  verifyPoolLimits,
} from '../../src/workers/index.ts';
import type { VerifyItem } from '../../src/workers/index.ts';

const groupOrder = (1n << 252n) + 27742317777372353535851937790883648493n;

function seedOf(index: number): Uint8Array {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, index + 1);
  return seed;
}

const keyPairs = Array.from({ length: 8 }, (_, index) => ed25519KeyPairFromSeed(seedOf(index)));

function messageOf(index: number): Uint8Array {
  const message = new Uint8Array(index % 100);
  message.fill(index & 0xff);
  return message;
}

function validItem(index: number): VerifyItem {
  const keyPair = keyPairs[index % keyPairs.length]!;
  const message = messageOf(index);
  return { publicKey: keyPair.publicKey, message, signature: ed25519Sign({ message, keyPair }) };
}

/** S + L: the same signature made non-canonical, which libsodium rejects. */
function withScalarPlusOrder(signature: Uint8Array): Uint8Array {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i]!);
  s += groupOrder;
  const out = new Uint8Array(signature);
  for (let i = 32; i < 64; i++) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

/** A deterministic mix of valid items and every kind of invalid one, ill-formed ones included. */
function mixedItems(count: number): VerifyItem[] {
  const items: VerifyItem[] = [];
  for (let index = 0; index < count; index++) {
    const item = validItem(index);
    const flipped = new Uint8Array(item.signature);
    flipped[index % 64]! ^= 1 << (index % 8);
    switch (index % 10) {
      case 0:
        items.push({ ...item, signature: flipped });
        break;
      case 1:
        items.push({ ...item, message: concatBytes(item.message, Uint8Array.of(1)) });
        break;
      case 2:
        items.push({ ...item, publicKey: keyPairs[(index + 1) % keyPairs.length]!.publicKey });
        break;
      case 3:
        items.push({ ...item, signature: withScalarPlusOrder(item.signature) });
        break;
      case 4:
        items.push({ ...item, publicKey: new Uint8Array(32) }); // small order
        break;
      case 5:
        items.push({ ...item, publicKey: item.publicKey.subarray(0, 31) });
        break;
      case 6:
        items.push({ ...item, signature: concatBytes(item.signature, Uint8Array.of(0)) });
        break;
      default:
        items.push(item);
    }
  }
  return items;
}

function isPoolError(code: VerifyPoolErrorCode, message: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof VerifyPoolError, `expected a VerifyPoolError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  };
}

/** A stand-in worker, as an ES module in a data: URL. */
function workerFromSource(source: string): URL {
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

test('verdicts equal ed25519Verify on a mix of valid, invalid and ill-formed items', async () => {
  const pool = createVerifyPool({ threads: 2 });
  try {
    const items = mixedItems(1500);
    const expected = items.map((item) => ed25519Verify(item));
    assert.ok(expected.includes(true) && expected.includes(false));
    assert.deepEqual(await pool.verifyBatch(items), expected);
    // Small batches, many at once, come back to the right callers in the right order.
    const small = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((start) => pool.verifyBatch(items.slice(start * 7, start * 7 + 7))),
    );
    assert.deepEqual(small.flat(), expected.slice(0, 42));
  } finally {
    await pool.close();
  }
});

test('the pool agrees with ed25519Verify on the RFC 8032 TEST 2 signature and its corruptions', async () => {
  const pool = createVerifyPool({ threads: 1 });
  try {
    const item = {
      publicKey: fromHex('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c'),
      message: fromHex('72'),
      signature: fromHex(
        '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da' +
          '085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
      ),
    };
    const corrupted = Array.from({ length: 512 }, (_, bit) => {
      const signature = new Uint8Array(item.signature);
      signature[bit >> 3]! ^= 1 << (bit & 7);
      return { ...item, signature };
    });
    const verdicts = await pool.verifyBatch([item, ...corrupted]);
    assert.equal(verdicts[0], true);
    assert.equal(verdicts.slice(1).filter(Boolean).length, 0);
  } finally {
    await pool.close();
  }
});

test('ill-formed items are false, never an error, and leave the rest of the batch intact', async () => {
  const pool = createVerifyPool({ threads: 2 });
  try {
    const good = validItem(3);
    const notBytes = 'not bytes' as unknown as Uint8Array;
    const items: VerifyItem[] = [
      good,
      { ...good, publicKey: new Uint8Array(0) },
      { ...good, publicKey: new Uint8Array(33) },
      { ...good, signature: good.signature.subarray(0, 63) },
      { ...good, signature: new Uint8Array(65) },
      { ...good, message: notBytes },
      { ...good, signature: notBytes },
      null as unknown as VerifyItem,
      good,
    ];
    assert.deepEqual(await pool.verifyBatch(items), [
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
    // A batch of nothing but ill-formed items is answered without a thread.
    assert.deepEqual(await pool.verifyBatch(items.slice(1, 8)), new Array(7).fill(false));
    assert.deepEqual(await pool.verifyBatch([]), []);
  } finally {
    await pool.close();
  }
});

test('an over-full queue is refused as busy, and accepted again once batches complete', async () => {
  const pool = createVerifyPool({ threads: 1, pendingBatchesMax: 2 });
  try {
    const items = mixedItems(200);
    const expected = items.map((item) => ed25519Verify(item));
    const first = pool.verifyBatch(items);
    const second = pool.verifyBatch(items);
    assert.equal(pool.stats().pendingBatches, 2);
    await assert.rejects(
      pool.verifyBatch(items),
      isPoolError(
        VerifyPoolErrorCode.busy,
        /^verify pool busy: 2 batches pending, the limit is 2; retry/,
      ),
    );
    assert.deepEqual(await first, expected);
    assert.deepEqual(await second, expected);
    assert.equal(pool.stats().pendingBatches, 0);
    assert.deepEqual(await pool.verifyBatch(items), expected);
  } finally {
    await pool.close();
  }
});

test('a batch over batchItemsMax items is refused; one of exactly batchItemsMax is answered', async () => {
  const pool = createVerifyPool({ threads: 2 });
  try {
    const item = validItem(0);
    const largest = new Array<VerifyItem>(verifyPoolLimits.batchItemsMax).fill({
      ...item,
      message: new Uint8Array(0),
      signature: new Uint8Array(1),
    });
    largest[0] = item;
    const verdicts = await pool.verifyBatch(largest);
    assert.equal(verdicts.length, verifyPoolLimits.batchItemsMax);
    assert.equal(verdicts[0], true);
    await assert.rejects(
      pool.verifyBatch([...largest, item]),
      isPoolError(
        VerifyPoolErrorCode.batchTooLarge,
        /at most batchItemsMax 16384 items, got 16385 items; split the batch$/,
      ),
    );
    const huge = { ...item, message: new Uint8Array(verifyPoolLimits.batchMessageBytesMax) };
    assert.deepEqual(await pool.verifyBatch([huge]), [false]);
    await assert.rejects(
      pool.verifyBatch([huge, validItem(1)]),
      isPoolError(
        VerifyPoolErrorCode.batchTooLarge,
        /at most batchMessageBytesMax 16777216 message bytes in one batch, got 16777217; split the batch$/,
      ),
    );
  } finally {
    await pool.close();
  }
});

test('createVerifyPool refuses thread counts and bounds out of range', () => {
  for (const threads of [0, -1, 1.5, verifyPoolLimits.threadsMax + 1, Number.NaN]) {
    assert.throws(
      () => createVerifyPool({ threads }),
      isPoolError(
        VerifyPoolErrorCode.invalidOptions,
        /^threads: expected an integer from 1 to 64, got /,
      ),
    );
  }
  assert.throws(
    () => createVerifyPool({ threads: 1, pendingBatchesMax: 0 }),
    isPoolError(VerifyPoolErrorCode.invalidOptions, /^pendingBatchesMax: expected an integer/),
  );
});

test('close() rejects pending batches, ends every thread, and refuses later batches', async () => {
  const pool = createVerifyPool({ threads: 2 });
  assert.equal(pool.stats().threads, 2);
  const items = mixedItems(3000);
  const pending = pool.verifyBatch(items);
  const closing = pool.close();
  await assert.rejects(pending, isPoolError(VerifyPoolErrorCode.closed, /^verify pool closed$/));
  await closing;
  assert.equal(pool.close(), closing, 'close() is idempotent');
  assert.deepEqual(pool.stats(), { threads: 0, pendingBatches: 0, queuedChunks: 0, restarts: 0 });
  await assert.rejects(
    pool.verifyBatch(items.slice(0, 1)),
    isPoolError(VerifyPoolErrorCode.closed, /^verify pool is closed$/),
  );
});

test('an answer already on its way when close() runs is dropped, not an uncaught error', async () => {
  // The worker answers while this thread is busy, so its message waits in the port; close()
  // then forgets the chunk, and the message arrives for a chunk the pool no longer holds. A
  // node stopping with a verification in flight did exactly this, and exited with code 1.
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  try {
    const pool = createVerifyPool({ threads: 1 });
    // A first batch starts the thread, so the next answer comes quickly.
    assert.deepEqual(await pool.verifyBatch([validItem(0)]), [true]);
    const pending = pool.verifyBatch([validItem(1)]);
    const busyUntil = Date.now() + 300;
    while (Date.now() < busyUntil) {
      // Busy: the worker's answer is posted and waits for this thread's event loop.
    }
    const closing = pool.close();
    await assert.rejects(pending, isPoolError(VerifyPoolErrorCode.closed, /^verify pool closed$/));
    await closing;
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(uncaught, []);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});

test('a worker that throws rejects its batch with the cause; the pool restarts it, then gives up', async () => {
  const throwing = workerFromSource(
    "import { parentPort } from 'node:worker_threads';\n" +
      "parentPort.on('message', () => { throw new Error('simulated verifier bug'); });",
  );
  const pool = createVerifyPool({ threads: 1, workerScript: throwing });
  try {
    const items = [validItem(1)];
    for (let restart = 1; restart <= verifyPoolLimits.restartsMax; restart++) {
      await assert.rejects(
        pool.verifyBatch(items),
        isPoolError(
          VerifyPoolErrorCode.workerCrashed,
          /stopped with exit code 1: simulated verifier bug; the 1 chunk\(s\) it held were lost/,
        ),
      );
      assert.equal(pool.stats().restarts, restart);
      assert.equal(pool.stats().threads, 1);
    }
    await assert.rejects(
      pool.verifyBatch(items),
      isPoolError(VerifyPoolErrorCode.workerCrashed, /simulated verifier bug/),
    );
    await assert.rejects(
      pool.verifyBatch(items),
      isPoolError(
        VerifyPoolErrorCode.poolFailed,
        /^verify pool failed: every thread has stopped and restartsMax 8 restarts are used up/,
      ),
    );
    assert.equal(pool.stats().threads, 0);
  } finally {
    await pool.close();
  }
});

test('a worker that exits mid-batch rejects only its batch; other batches and later ones go on', async () => {
  // The stand-in answers "valid" to everything, except that a chunk of exactly 7 items makes its
  // thread exit: a poison batch that kills whichever thread takes it.
  const exiting = workerFromSource(
    "import { parentPort } from 'node:worker_threads';\n" +
      "parentPort.on('message', ({ id, buffer }) => {\n" +
      '  const count = new DataView(buffer).getUint32(0, true);\n' +
      '  if (count === 7) process.exit(3);\n' +
      '  const results = new Uint8Array(count).fill(1);\n' +
      '  parentPort.postMessage({ id, results: results.buffer }, [results.buffer]);\n' +
      '});',
  );
  const pool = createVerifyPool({ threads: 2, workerScript: exiting });
  try {
    const items = Array.from({ length: 7 }, (_, index) => validItem(index));
    const [poison, healthy] = await Promise.allSettled([
      pool.verifyBatch(items),
      pool.verifyBatch(items.slice(0, 5)),
    ]);
    assert.equal(poison?.status, 'rejected');
    isPoolError(
      VerifyPoolErrorCode.workerCrashed,
      /^verify worker thread \d+ stopped with exit code 3; the 1 chunk\(s\) it held were lost/,
    )(poison.status === 'rejected' ? poison.reason : undefined);
    assert.deepEqual(healthy, { status: 'fulfilled', value: [true, true, true, true, true] });
    assert.equal(pool.stats().restarts, 1);
    assert.equal(pool.stats().threads, 2);
    assert.deepEqual(await pool.verifyBatch(items.slice(0, 3)), [true, true, true]);
    assert.equal(pool.stats().pendingBatches, 0, 'no caller is left waiting');
  } finally {
    await pool.close();
  }
});

test('a worker that cannot start rejects the batches it was given instead of hanging', async () => {
  const broken = workerFromSource("throw new Error('cannot load libsodium');");
  const pool = createVerifyPool({ threads: 1, workerScript: broken });
  try {
    await assert.rejects(
      pool.verifyBatch([validItem(0)]),
      isPoolError(VerifyPoolErrorCode.workerCrashed, /cannot load libsodium/),
    );
  } finally {
    await pool.close();
  }
});
