// One thread of the verify pool (verify-pool.ts). Plain JavaScript on purpose: a worker thread
// starts its own module loader, and the `medledger` command registers tsx in the main thread
// only, so the worker must load without it.
//
// Protocol. In: { id, buffer } with `buffer` transferred, laid out little-endian as
//   u32 count, then count × (publicKey[32] ‖ signature[64] ‖ u32 messageLength ‖ message).
// Out: { id, results } with `results` a transferred ArrayBuffer of count bytes, 1 = valid.
// The pool sends only items whose key and signature have the exact lengths, so every verdict
// here is libsodium's crypto_sign_verify_detached, as in crypto/ed25519.ts.
import { parentPort } from 'node:worker_threads';

import sodium from 'sodium-native';

const publicKeyBytes = 32;
const signatureBytes = 64;
const itemHeaderBytes = publicKeyBytes + signatureBytes + 4;

if (parentPort === null) throw new Error('verify-worker.js runs only as a worker thread');
const port = parentPort;

port.on('message', (/** @type {{ id: number, buffer: ArrayBuffer }} */ request) => {
  const { id, buffer } = request;
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const count = view.getUint32(0, true);
  const results = new Uint8Array(count);
  let offset = 4;
  for (let i = 0; i < count; i++) {
    // A malformed batch is a bug in the pool: throwing ends this thread and the pool rejects
    // the batch with a clear error rather than answering wrongly.
    if (offset + itemHeaderBytes > bytes.length)
      throw new Error(`batch ${id}: item ${i} truncated`);
    const publicKey = bytes.subarray(offset, offset + publicKeyBytes);
    const signature = bytes.subarray(
      offset + publicKeyBytes,
      offset + publicKeyBytes + signatureBytes,
    );
    const messageLength = view.getUint32(offset + publicKeyBytes + signatureBytes, true);
    const messageStart = offset + itemHeaderBytes;
    if (messageStart + messageLength > bytes.length)
      throw new Error(`batch ${id}: message ${i} truncated`);
    const message = bytes.subarray(messageStart, messageStart + messageLength);
    results[i] = sodium.crypto_sign_verify_detached(signature, message, publicKey) ? 1 : 0;
    offset = messageStart + messageLength;
  }
  if (offset !== bytes.length)
    throw new Error(`batch ${id}: ${bytes.length - offset} trailing bytes`);
  port.postMessage({ id, results: results.buffer }, [results.buffer]);
});
