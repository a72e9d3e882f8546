// Checks state proofs: every inclusion and non-inclusion proof verifies (fast-check key sets that
// make both end kinds occur), every flipped bit or malformed field is refused, old roots still prove.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import fc from 'fast-check';

import { compareBytes, toHex } from '../../src/base/index.ts';
import {
  StateTreeError,
  StateTreeErrorCode,
  assertStateProofShape,
  emptyStateRoot,
  isStateProofValid,
  stateTreeGet,
  stateTreeProve,
  stateTreeRootHash,
  stateTreeUpdate,
  stateValueBytesMax,
  verifyStateProof,
} from '../../src/merkle/index.ts';
import type { StateEntry, StateProof, StateProofClaim, StateRoot } from '../../src/merkle/index.ts';
import { bytes32, deriveKey, keySetArbitrary } from './state-keys.ts';

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[Math.floor(bit / 8)]! ^= 0x80 >> (bit % 8);
  return copy;
}

function valueOf(key: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(key).digest()).subarray(0, 1 + (key[0]! % 40));
}

function treeOf(keys: readonly Uint8Array[]): StateRoot {
  return stateTreeUpdate(
    emptyStateRoot(),
    keys.map((key) => ({ key, value: valueOf(key) })),
  );
}

function claimFor(root: StateRoot, key: Uint8Array): StateProofClaim {
  const { value, proof } = stateTreeProve(root, key);
  return { rootHash: stateTreeRootHash(root), key, value, proof };
}

type EndKind = 'inclusion' | 'empty' | 'other leaf';

function endKind(claim: StateProofClaim): EndKind {
  if (claim.value !== null) return 'inclusion';
  return claim.proof.otherLeaf === null ? 'empty' : 'other leaf';
}

function refusedWith(code: string, pattern: RegExp) {
  return (error: unknown) =>
    error instanceof StateTreeError && error.code === code && pattern.test(error.message);
}

const malformed = (pattern: RegExp) => refusedWith(StateTreeErrorCode.proofMalformed, pattern);

function keyFromHex(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.padEnd(64, '0'), 'hex'));
}

// ---------------------------------------------------------------------------------------------

test('inclusion proofs verify for every key; non-inclusion proofs for absent keys, both end kinds', () => {
  const kinds = new Map<EndKind, number>();
  fc.assert(
    fc.property(
      keySetArbitrary(40),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), bytes32), { maxLength: 12 }),
      (keys, probes) => {
        const root = treeOf(keys);
        for (const key of keys) {
          const claim = claimFor(root, key);
          assert.deepEqual(claim.value, valueOf(key));
          verifyStateProof(claim);
          kinds.set('inclusion', (kinds.get('inclusion') ?? 0) + 1);
          // Twin: the same proof does not show the key absent.
          assert.equal(isStateProofValid({ ...claim, value: null }), false);
        }
        // Absent keys near present ones (sharing a random prefix) and fully random ones.
        for (const [pick, shared, tail] of probes) {
          const near = keys.length > 0 ? deriveKey(keys[pick % keys.length]!, shared, tail) : tail;
          for (const probe of [near, tail]) {
            if (keys.some((key) => compareBytes(key, probe) === 0)) continue;
            const claim = claimFor(root, probe);
            assert.equal(claim.value, null);
            verifyStateProof(claim);
            const kind = endKind(claim);
            kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
            // Twin: the same proof does not show the key present with any value.
            assert.equal(isStateProofValid({ ...claim, value: new Uint8Array(0) }), false);
          }
        }
      },
    ),
  );
  assert.ok((kinds.get('empty') ?? 0) > 0, `ends at an empty subtree: ${kinds.get('empty')}`);
  assert.ok((kinds.get('other leaf') ?? 0) > 0, `ends at another leaf: ${kinds.get('other leaf')}`);
});

test('a proof of each kind, on a hand-built tree', () => {
  // Keys 00…, 40… and 80…: the root splits at bit 0; the left side splits again at bit 1.
  const a = keyFromHex('00');
  const b = keyFromHex('40');
  const c = keyFromHex('80');
  const root = treeOf([a, b, c]);
  const included = claimFor(root, b);
  assert.equal(included.proof.depth, 2);
  assert.deepEqual(included.proof.bitmap, new Uint8Array([0xc0]));
  assert.equal(included.proof.siblings.length, 2);
  // 0xc0…: right of the root, where c is alone: ends at c's leaf at depth 1.
  const otherLeaf = claimFor(root, keyFromHex('c0'));
  assert.equal(otherLeaf.proof.depth, 1);
  assert.deepEqual(otherLeaf.proof.otherLeaf?.key, c);
  // Keys 00… and 20… share bits 0 and 1; 0x40… (bits 0, 1 = 0, 1) leaves their path at depth 1
  // and ends at the empty right child, at depth 2.
  const twoKeys = treeOf([a, keyFromHex('20')]);
  const empty = claimFor(twoKeys, b);
  assert.equal(empty.proof.depth, 2);
  assert.equal(empty.proof.otherLeaf, null);
  assert.deepEqual(empty.proof.bitmap, new Uint8Array([0x40]));
  assert.equal(empty.proof.siblings.length, 1);
  for (const claim of [included, otherLeaf, empty]) verifyStateProof(claim);
  // Twin: each proof fails against another tree's root.
  for (const claim of [included, otherLeaf, empty]) {
    assert.equal(isStateProofValid({ ...claim, rootHash: stateTreeRootHash(treeOf([a])) }), false);
  }
});

test('the empty tree proves every key absent with the empty proof', () => {
  const root = emptyStateRoot();
  const claim = claimFor(root, keyFromHex('1234'));
  assert.deepEqual(claim.proof, {
    depth: 0,
    bitmap: new Uint8Array(0),
    siblings: [],
    otherLeaf: null,
  });
  verifyStateProof(claim);
  // Twin: the empty proof does not prove absence under a non-empty root.
  const rootHash = stateTreeRootHash(treeOf([keyFromHex('99')]));
  assert.throws(
    () => verifyStateProof({ ...claim, rootHash }),
    refusedWith(StateTreeErrorCode.rootMismatch, /computed root 0{16}… differs from expected/),
  );
});

test('two keys split at depth 255: the proof is 256 deep with one sibling', () => {
  const a = keyFromHex('e7'.repeat(31) + '00');
  const b = keyFromHex('e7'.repeat(31) + '01');
  const root = treeOf([a, b]);
  const claim = claimFor(root, a);
  assert.equal(claim.proof.depth, 256);
  assert.equal(claim.proof.bitmap.length, 32);
  assert.equal(claim.proof.bitmap[31], 0x01);
  assert.equal(claim.proof.siblings.length, 1);
  verifyStateProof(claim);
  // A key sharing 254 bits ends at the empty subtree at depth 255.
  const near = flipBit(a, 254);
  const absent = claimFor(root, near);
  assert.equal(absent.proof.depth, 255);
  verifyStateProof(absent);
  // Twin: a proof claiming depth 257 is refused.
  assert.throws(
    () => verifyStateProof({ ...claim, proof: { ...claim.proof, depth: 257 } }),
    malformed(/depth must be an integer in \[0, 256\], found number 257/),
  );
});

test('flipping any bit of a sibling, the bitmap, the depth, the other leaf, the key, the value or the root fails', () => {
  // Keys with long shared prefixes, so that proofs carry many siblings and empty ones between.
  const base = keyFromHex('3c'.repeat(32));
  const keys = [0, 3, 9, 40, 41, 100, 180, 181, 250].map((shared, i) =>
    deriveKey(
      base,
      shared,
      createHash('sha256')
        .update(new Uint8Array([i]))
        .digest(),
    ),
  );
  const root = treeOf(keys);
  const claims = [
    claimFor(root, keys[4]!),
    claimFor(root, keys[7]!),
    claimFor(root, deriveKey(keys[7]!, 200, keys[0]!)),
    claimFor(root, deriveKey(keys[5]!, 60, keys[0]!)),
    claimFor(root, flipBit(keys[8]!, 255)),
  ];
  const kinds = new Set(claims.map(endKind));
  assert.deepEqual(kinds, new Set<EndKind>(['inclusion', 'empty', 'other leaf']));
  for (const claim of claims) {
    verifyStateProof(claim);
    const { proof } = claim;
    const refuse = (changed: StateProofClaim, what: string) =>
      assert.equal(isStateProofValid(changed), false, `${endKind(claim)}: ${what}`);
    proof.siblings.forEach((sibling, i) => {
      for (let bit = 0; bit < 256; bit++) {
        const siblings = proof.siblings.map((s, j) => (j === i ? flipBit(sibling, bit) : s));
        refuse({ ...claim, proof: { ...proof, siblings } }, `sibling ${i} bit ${bit}`);
      }
    });
    for (let bit = 0; bit < proof.bitmap.length * 8; bit++) {
      refuse(
        { ...claim, proof: { ...proof, bitmap: flipBit(proof.bitmap, bit) } },
        `bitmap ${bit}`,
      );
    }
    for (const depth of [proof.depth - 1, proof.depth + 1]) {
      const bitmap = new Uint8Array(Math.ceil(Math.max(depth, 0) / 8));
      bitmap.set(proof.bitmap.subarray(0, bitmap.length));
      refuse({ ...claim, proof: { ...proof, depth, bitmap } }, `depth ${depth}`);
    }
    for (let bit = 0; bit < 256; bit++) {
      refuse({ ...claim, rootHash: flipBit(claim.rootHash, bit) }, `root bit ${bit}`);
      if (proof.otherLeaf !== null) {
        const { key, valueHash } = proof.otherLeaf;
        const leafKey = { key: flipBit(key, bit), valueHash };
        refuse({ ...claim, proof: { ...proof, otherLeaf: leafKey } }, `other key bit ${bit}`);
        const leafValue = { key, valueHash: flipBit(valueHash, bit) };
        refuse({ ...claim, proof: { ...proof, otherLeaf: leafValue } }, `other value bit ${bit}`);
      }
      // A non-inclusion proof covers every key with the same first `depth` bits (the subtree it
      // ends at holds no such key), so only those bits of the queried key matter there.
      if (claim.value !== null || bit < proof.depth) {
        refuse({ ...claim, key: flipBit(claim.key, bit) }, `key bit ${bit}`);
      }
    }
    if (claim.value !== null) {
      for (let bit = 0; bit < claim.value.length * 8; bit++) {
        refuse({ ...claim, value: flipBit(claim.value, bit) }, `value bit ${bit}`);
      }
      refuse({ ...claim, value: new Uint8Array([...claim.value, 0]) }, 'value longer');
      refuse({ ...claim, value: null }, 'value dropped');
    } else {
      refuse({ ...claim, value: new Uint8Array(0) }, 'value claimed');
    }
  }
});

test('a non-inclusion proof holds for every key under the subtree where it ends', () => {
  const keys = [keyFromHex('00'), keyFromHex('20'), keyFromHex('80')];
  const root = treeOf(keys);
  const claim = claimFor(root, keyFromHex('4f'));
  assert.equal(claim.proof.depth, 2);
  // 0x40… to 0x7f… all end at the same empty subtree at depth 2.
  for (const hex of ['40', '55', '7fff']) verifyStateProof({ ...claim, key: keyFromHex(hex) });
  // Twin: a key outside that subtree is refused.
  assert.equal(isStateProofValid({ ...claim, key: keyFromHex('20') }), false);
  assert.equal(isStateProofValid({ ...claim, key: keyFromHex('c0') }), false);
});

test('malformed proofs are refused, naming what is wrong', () => {
  const keys = [
    keyFromHex('00'),
    keyFromHex('01'),
    keyFromHex('40'),
    keyFromHex('80'),
    keyFromHex('ff'),
  ];
  const root = treeOf(keys);
  // Key 40… ends at depth 2, so its one-byte bitmap has padding bits.
  const claim = claimFor(root, keys[2]!);
  const { proof } = claim;
  verifyStateProof(claim);
  assert.ok(proof.siblings.length >= 2, 'the fixture has siblings to drop');
  const withProof = (changes: Partial<StateProof>): StateProofClaim => ({
    ...claim,
    proof: { ...proof, ...changes },
  });
  const bitsSet = proof.siblings.length;
  assert.throws(
    () => verifyStateProof(withProof({ siblings: proof.siblings.slice(1) })),
    malformed(new RegExp(`proof bitmap has ${bitsSet} bits set but ${bitsSet - 1} siblings`)),
  );
  assert.throws(
    () => verifyStateProof(withProof({ siblings: [...proof.siblings, proof.siblings[0]!] })),
    malformed(new RegExp(`proof bitmap has ${bitsSet} bits set but ${bitsSet + 1} siblings`)),
  );
  for (const depth of [-1, 257, 1.5, Number.NaN, '8']) {
    assert.throws(
      () => verifyStateProof(withProof({ depth: depth as number })),
      malformed(/proof depth must be an integer in \[0, 256\]/),
    );
  }
  assert.throws(
    () => verifyStateProof(withProof({ bitmap: new Uint8Array(proof.bitmap.length + 1) })),
    malformed(/proof bitmap must be \d+ bytes for depth \d+, found Uint8Array/),
  );
  const lastBitmapBit = proof.bitmap.length * 8 - 1;
  assert.ok(lastBitmapBit >= proof.depth, 'the fixture has padding bits in its bitmap');
  assert.throws(
    () => verifyStateProof(withProof({ bitmap: flipBit(proof.bitmap, lastBitmapBit) })),
    malformed(new RegExp(`bit ${lastBitmapBit} set, at or beyond the proof depth ${proof.depth}`)),
  );
  const short = proof.siblings.map((s, i) => (i === 0 ? s.subarray(0, 31) : s));
  assert.throws(
    () => verifyStateProof(withProof({ siblings: short })),
    malformed(/proof sibling 0 must be a 32-byte hash, found Uint8Array\(31\)/),
  );
  const zero = proof.siblings.map((s, i) => (i === 1 ? new Uint8Array(32) : s));
  assert.throws(
    () => verifyStateProof(withProof({ siblings: zero })),
    malformed(/proof sibling 1 is the empty hash/),
  );
  assert.throws(
    () => verifyStateProof(withProof({ siblings: 'x' as unknown as Uint8Array[] })),
    malformed(/proof siblings must be an array/),
  );
  assert.throws(
    () => verifyStateProof({ ...claim, proof: null as unknown as StateProof }),
    malformed(/expected a proof object, found null/),
  );
  // An inclusion proof must not carry another leaf.
  const someLeaf = { key: keys[0]!, valueHash: new Uint8Array(32).fill(1) };
  assert.throws(
    () => verifyStateProof(withProof({ otherLeaf: someLeaf })),
    malformed(/an inclusion proof \(value given\) must end at the key's own leaf/),
  );
  assert.throws(
    () =>
      verifyStateProof(withProof({ otherLeaf: { key: keys[0]!, valueHash: new Uint8Array(31) } })),
    malformed(/proof otherLeaf\.valueHash must be 32 bytes, found Uint8Array\(31\)/),
  );
  // Twin: the unchanged proof still verifies, and the tree's proofs all have the canonical shape.
  verifyStateProof(claim);
  for (const key of keys)
    assert.equal(assertStateProofShape(claimFor(root, key).proof).depth >= 0, true);
});

test('a non-inclusion proof whose other leaf is the queried key, or off its path, is refused', () => {
  const keys = [keyFromHex('00'), keyFromHex('80'), keyFromHex('c0')];
  const root = treeOf(keys);
  const absent = keyFromHex('10');
  const claim = claimFor(root, absent);
  assert.deepEqual(claim.proof.otherLeaf?.key, keys[0]);
  verifyStateProof(claim);
  // The leaf of key 00… presented as if it were another key, for the query 00… itself.
  const selfLeaf = { ...claim, key: keys[0]! };
  assert.throws(
    () => verifyStateProof(selfLeaf),
    malformed(/a non-inclusion proof ends at a leaf of the queried key 00{15}… itself/),
  );
  // A leaf that does not share the queried key's first `depth` bits is not on its path.
  const offPath = {
    ...claim,
    proof: { ...claim.proof, otherLeaf: { ...claim.proof.otherLeaf!, key: keyFromHex('80') } },
  };
  assert.throws(
    () => verifyStateProof(offPath),
    malformed(/must share the first 1 bits of the queried key 10{15}…, found 0/),
  );
  // Twin: the untouched proof verifies.
  assert.equal(isStateProofValid(claim), true);
});

test('verify refuses a root, key or value of the wrong shape, naming the argument', () => {
  const root = treeOf([keyFromHex('aa')]);
  const claim = claimFor(root, keyFromHex('aa'));
  const invalid = (pattern: RegExp) => refusedWith(StateTreeErrorCode.argumentInvalid, pattern);
  assert.throws(
    () => verifyStateProof({ ...claim, rootHash: claim.rootHash.subarray(1) }),
    invalid(/rootHash: expected 32 bytes, found 31/),
  );
  assert.throws(
    () => verifyStateProof({ ...claim, key: new Uint8Array(33) }),
    invalid(/key: expected 32 bytes, found 33/),
  );
  assert.throws(
    () => verifyStateProof({ ...claim, value: new Uint8Array(stateValueBytesMax + 1) }),
    invalid(/value: expected at most \d+ bytes/),
  );
  // isStateProofValid answers false for domain errors and lets programming errors through.
  assert.equal(isStateProofValid({ ...claim, key: new Uint8Array(33) }), false);
  assert.throws(() => isStateProofValid(null as unknown as StateProofClaim), TypeError);
  // Twin: the well-formed claim verifies.
  verifyStateProof(claim);
});

test('a proof for an old root still verifies after later updates, and a fresh one is identical', () => {
  fc.assert(
    fc.property(
      keySetArbitrary(24),
      fc.array(fc.tuple(fc.nat(), fc.boolean()), { minLength: 1, maxLength: 16 }),
      bytes32,
      (keys, changes, absent) => {
        fc.pre(keys.length > 0 && !keys.some((key) => compareBytes(key, absent) === 0));
        const v1 = treeOf(keys);
        const saved = [...keys, absent].map((key) => claimFor(v1, key));
        const batch = new Map<string, StateEntry>();
        for (const [pick, remove] of changes) {
          const key = keys[pick % keys.length]!;
          batch.set(toHex(key), { key, value: remove ? null : new Uint8Array([pick & 255, 1]) });
        }
        const v2 = stateTreeUpdate(v1, [...batch.values()]);
        const changedRoot = compareBytes(stateTreeRootHash(v1), stateTreeRootHash(v2)) !== 0;
        for (const claim of saved) {
          verifyStateProof(claim);
          assert.deepEqual(claimFor(v1, claim.key), claim);
          // Twin: against the new root, the old proof fails whenever the root changed.
          const againstNew = { ...claim, rootHash: stateTreeRootHash(v2) };
          assert.equal(isStateProofValid(againstNew), !changedRoot);
        }
        for (const entry of batch.values()) {
          const claim = claimFor(v2, entry.key);
          assert.deepEqual(claim.value, entry.value);
          assert.deepEqual(stateTreeGet(v2, entry.key), entry.value);
          verifyStateProof(claim);
        }
      },
    ),
    { numRuns: 60 },
  );
});

test('a proof is plain data: a structured clone verifies the same', () => {
  const keys = [keyFromHex('01'), keyFromHex('02'), keyFromHex('f0')];
  const root = treeOf(keys);
  for (const key of [...keys, keyFromHex('03'), keyFromHex('70')]) {
    const claim = claimFor(root, key);
    const clone = structuredClone(claim);
    assert.deepEqual(clone, claim);
    verifyStateProof(clone);
    // Twin: the clone with one sibling byte changed is refused like the original would be.
    if (clone.proof.siblings.length > 0) {
      clone.proof.siblings[0]![0]! ^= 1;
      assert.equal(isStateProofValid(clone), false);
    }
  }
});
