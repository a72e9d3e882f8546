// Checks the vault's random pool: fresh bytes of the asked length, never handed out twice, across
// refills, and a clear refusal of bad lengths.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { randomPoolBytes } from '../../src/vault/index.ts';

test('randomPoolBytes: each call gets its own bytes of the asked length, across pool refills', () => {
  const seen = new Set<string>();
  // 2,000 × 32 bytes is more than 15 refills of the 4 KiB pool.
  for (let index = 0; index < 2000; index += 1) {
    const bytes = randomPoolBytes(32);
    assert.equal(bytes.length, 32);
    const hex = Buffer.from(bytes).toString('hex');
    assert.ok(!seen.has(hex), `32 bytes handed out twice: ${hex}`);
    seen.add(hex);
  }
  // Odd lengths straddle the end of the pool; each is still whole and its own.
  const lengths = Array.from({ length: 600 }, (_, index) => 1 + ((index * 37) % 256));
  for (const length of lengths) assert.equal(randomPoolBytes(length).length, length);
});

test('randomPoolBytes: the bytes look uniform (every byte value turns up in 64 KiB)', () => {
  const counts = new Array<number>(256).fill(0);
  for (let index = 0; index < 256; index += 1) {
    for (const byte of randomPoolBytes(256)) counts[byte]! += 1;
  }
  // 65,536 bytes: each value is expected 256 times; below 150 or above 370 has a chance far
  // below 1e-9 per value for a uniform source.
  for (const [value, count] of counts.entries()) {
    assert.ok(count > 150 && count < 370, `byte ${value} turned up ${count} times in 65,536`);
  }
});

test('randomPoolBytes: a length that is not 1 to 256 is refused, naming it', () => {
  for (const length of [0, -1, 257, 1.5, Number.NaN]) {
    assert.throws(() => randomPoolBytes(length), /length: expected 1 to 256 bytes/);
  }
});
