// Checks the history log against the published RFC 6962 vectors (CT C++, transparency-dev/merkle):
// roots, every listed proof and node layout, and the reference tests' corrupted-proof probes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { fromHex, toHex } from '../../src/base/index.ts';
import {
  HistoryLog,
  HistoryLogError,
  LogErrorCode,
  logEmptyRoot,
  logLeafHash,
  verifyLogConsistency,
  verifyLogInclusion,
} from '../../src/merkle/index.ts';

interface PathVector {
  index: number;
  size: number;
  path: string[];
}
interface ConsistencyVector {
  oldSize: number;
  newSize: number;
  path: string[];
}
interface LogVectors {
  leaves: string[];
  emptyRoot: string;
  roots: string[];
  inclusionProofs: PathVector[];
  consistencyProofs: ConsistencyVector[];
}
/** A stored node [level, index], or a group of them that forms one imperfect subtree. */
type NodeRef = [number, number] | [number, number][];
interface NodeVectors {
  inclusion: { index: number; size: number; nodes: NodeRef[] }[];
  inclusionInvalid: { index: number; size: number }[];
  consistency: { oldSize: number; newSize: number; nodes: NodeRef[] }[];
  consistencyInvalid: { oldSize: number; newSize: number }[];
}

function readVectors<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as T;
}

const vectors = readVectors<LogVectors>('rfc6962-log.json');
const nodeVectors = readVectors<NodeVectors>('rfc6962-log-nodes.json');
const leaves = vectors.leaves.map(fromHex);
const roots = vectors.roots.map(fromHex);

function buildLog(count: number): HistoryLog {
  const log = new HistoryLog();
  for (const leaf of leaves.slice(0, count)) log.append(leaf);
  return log;
}

function rejects(run: () => unknown): boolean {
  try {
    run();
    return false;
  } catch (error) {
    assert.ok(error instanceof HistoryLogError, `a HistoryLogError, got ${String(error)}`);
    return true;
  }
}

test('roots of sizes 0..8 match the published roots, appended leaf by leaf', () => {
  const log = new HistoryLog();
  assert.equal(toHex(log.root()), vectors.emptyRoot);
  assert.equal(toHex(logEmptyRoot()), vectors.emptyRoot);
  for (let size = 1; size <= leaves.length; size++) {
    log.append(leaves[size - 1]!);
    assert.equal(toHex(log.root()), vectors.roots[size - 1], `root of size ${size}`);
    for (let earlier = 1; earlier <= size; earlier++) {
      assert.equal(toHex(log.root(earlier)), vectors.roots[earlier - 1], `root(${earlier})`);
    }
    assert.equal(toHex(log.root(0)), vectors.emptyRoot);
  }
});

test('a root differs from the published one when a leaf differs', () => {
  for (let changed = 0; changed < leaves.length; changed++) {
    const log = new HistoryLog();
    leaves.forEach((leaf, i) => log.append(i === changed ? Uint8Array.of(...leaf, 0) : leaf));
    for (let size = 1; size <= leaves.length; size++) {
      assert.equal(toHex(log.root(size)) === vectors.roots[size - 1], size <= changed);
    }
  }
});

test('every published inclusion proof is produced and verifies', () => {
  const log = buildLog(leaves.length);
  for (const vector of vectors.inclusionProofs) {
    const proof = log.inclusionProof({ index: vector.index, size: vector.size });
    assert.deepEqual(proof.path.map(toHex), vector.path, `path ${vector.index}/${vector.size}`);
    const verified = verifyLogInclusion({
      index: vector.index,
      size: vector.size,
      proof: vector.path.map(fromHex),
      root: roots[vector.size - 1]!,
      leafData: leaves[vector.index]!,
    });
    assert.equal(toHex(verified.leafHash), toHex(logLeafHash(leaves[vector.index]!)));
    assert.equal(toHex(verified.root), vectors.roots[vector.size - 1]);
  }
});

test('every published consistency proof is produced and verifies', () => {
  const log = buildLog(leaves.length);
  for (const vector of vectors.consistencyProofs) {
    const { oldSize, newSize } = vector;
    const proof = log.consistencyProof({ oldSize, newSize });
    assert.deepEqual(proof.path.map(toHex), vector.path, `proof ${oldSize} -> ${newSize}`);
    const verified = verifyLogConsistency({
      oldSize,
      newSize,
      oldRoot: roots[oldSize - 1]!,
      newRoot: roots[newSize - 1]!,
      proof: vector.path.map(fromHex),
    });
    assert.deepEqual([verified.oldSize, verified.newSize], [oldSize, newSize]);
  }
});

const someHash = fromHex('abacaba000000000000000000000000000000000000000000060061e00123456');
const emptyHash = fromHex(vectors.emptyRoot);

/** The corrupted claims of CT's VerifierCheck and transparency-dev's corruptInclusionProof. */
function corruptInclusion(vector: PathVector) {
  const { index, size } = vector;
  const path = vector.path.map(fromHex);
  const root = roots[size - 1]!;
  const leafHash = logLeafHash(leaves[index]!);
  const probes: {
    name: string;
    index: number;
    size: number;
    path: Uint8Array[];
    leaf: Uint8Array;
    root: Uint8Array;
  }[] = [
    { name: 'index - 1', index: index - 1, size, path, leaf: leafHash, root },
    { name: 'index + 1', index: index + 1, size, path, leaf: leafHash, root },
    { name: 'index ^ 2', index: index ^ 2, size, path, leaf: leafHash, root },
    { name: 'size * 2', index, size: size * 2, path, leaf: leafHash, root },
    { name: 'size / 2', index, size: Math.floor(size / 2), path, leaf: leafHash, root },
    {
      name: 'wrong leaf',
      index,
      size,
      path,
      leaf: logLeafHash(new TextEncoder().encode('WrongLeaf')),
      root,
    },
    { name: 'empty root', index, size, path, leaf: leafHash, root: emptyHash },
    { name: 'random root', index, size, path, leaf: leafHash, root: someHash },
    {
      name: 'trailing garbage',
      index,
      size,
      path: [...path, new Uint8Array(0)],
      leaf: leafHash,
      root,
    },
    { name: 'trailing root', index, size, path: [...path, root], leaf: leafHash, root },
    {
      name: 'preceding garbage',
      index,
      size,
      path: [new Uint8Array(0), ...path],
      leaf: leafHash,
      root,
    },
    { name: 'preceding root', index, size, path: [root, ...path], leaf: leafHash, root },
  ];
  path.forEach((_, i) => {
    const flipped = path.map((hash, j) =>
      j === i ? hash.map((b, k) => (k === 0 ? b ^ 8 : b)) : hash,
    );
    probes.push({ name: `proof[${i}] bit 3`, index, size, path: flipped, leaf: leafHash, root });
    const replaced = path.map((hash, j) => (j === i ? emptyHash : hash));
    probes.push({
      name: `proof[${i}] replaced`,
      index,
      size,
      path: replaced,
      leaf: leafHash,
      root,
    });
  });
  if (path.length > 0) {
    probes.push({
      name: 'removed component',
      index,
      size,
      path: path.slice(0, -1),
      leaf: leafHash,
      root,
    });
  }
  if (path.length > 1) {
    const inserted = [path[0]!, someHash, ...path.slice(1)];
    probes.push({ name: 'inserted component', index, size, path: inserted, leaf: leafHash, root });
  }
  return probes;
}

test('corrupting a published inclusion proof, leaf, root, index or size fails verification', () => {
  for (const vector of vectors.inclusionProofs) {
    for (const probe of corruptInclusion(vector)) {
      const claim = {
        index: probe.index,
        size: probe.size,
        proof: probe.path,
        root: probe.root,
        leafHash: probe.leaf,
      };
      assert.ok(
        rejects(() => verifyLogInclusion(claim)),
        `${probe.name} at ${vector.index}/${vector.size}`,
      );
    }
  }
});

/** The corrupted claims of CT's VerifierConsistencyCheck and corruptConsistencyProof. */
function corruptConsistency(vector: ConsistencyVector) {
  const { oldSize, newSize } = vector;
  const proof = vector.path.map(fromHex);
  const oldRoot = roots[oldSize - 1]!;
  const newRoot = roots[newSize - 1]!;
  const wrongRoot = new TextEncoder().encode('WrongRoot');
  type Probe = {
    name: string;
    oldSize: number;
    newSize: number;
    oldRoot: Uint8Array;
    newRoot: Uint8Array;
    proof: Uint8Array[];
  };
  const probes: Probe[] = [
    { name: 'oldSize - 1', oldSize: oldSize - 1, newSize, oldRoot, newRoot, proof },
    { name: 'oldSize + 1', oldSize: oldSize + 1, newSize, oldRoot, newRoot, proof },
    { name: 'oldSize ^ 2', oldSize: oldSize ^ 2, newSize, oldRoot, newRoot, proof },
    { name: 'newSize * 2', oldSize, newSize: newSize * 2, oldRoot, newRoot, proof },
    { name: 'newSize / 2', oldSize, newSize: Math.floor(newSize / 2), oldRoot, newRoot, proof },
    { name: 'wrong oldRoot', oldSize, newSize, oldRoot: wrongRoot, newRoot, proof },
    { name: 'wrong newRoot', oldSize, newSize, oldRoot, newRoot: wrongRoot, proof },
    { name: 'flipped oldRoot', oldSize, newSize, oldRoot: someHash, newRoot, proof },
    { name: 'flipped newRoot', oldSize, newSize, oldRoot, newRoot: someHash, proof },
    { name: 'swapped roots', oldSize, newSize, oldRoot: newRoot, newRoot: oldRoot, proof },
    { name: 'empty proof', oldSize, newSize, oldRoot, newRoot, proof: [] },
    {
      name: 'trailing garbage',
      oldSize,
      newSize,
      oldRoot,
      newRoot,
      proof: [...proof, new Uint8Array(0)],
    },
    { name: 'trailing oldRoot', oldSize, newSize, oldRoot, newRoot, proof: [...proof, oldRoot] },
    { name: 'trailing newRoot', oldSize, newSize, oldRoot, newRoot, proof: [...proof, newRoot] },
    {
      name: 'preceding garbage',
      oldSize,
      newSize,
      oldRoot,
      newRoot,
      proof: [new Uint8Array(0), ...proof],
    },
    { name: 'preceding oldRoot', oldSize, newSize, oldRoot, newRoot, proof: [oldRoot, ...proof] },
    { name: 'preceding newRoot', oldSize, newSize, oldRoot, newRoot, proof: [newRoot, ...proof] },
    {
      name: 'preceding proof[0]',
      oldSize,
      newSize,
      oldRoot,
      newRoot,
      proof: [proof[0]!, ...proof],
    },
    { name: 'truncated proof', oldSize, newSize, oldRoot, newRoot, proof: proof.slice(0, -1) },
  ];
  proof.forEach((_, i) => {
    const flipped = proof.map((hash, j) =>
      j === i ? hash.map((b, k) => (k === 0 ? b ^ 16 : b)) : hash,
    );
    probes.push({ name: `proof[${i}] bit 4`, oldSize, newSize, oldRoot, newRoot, proof: flipped });
  });
  return probes;
}

test('corrupting a published consistency proof, a root or a size fails verification', () => {
  // As in the reference tests, only non-trivial proofs (0 < oldSize < newSize) are corrupted.
  const nonTrivial = vectors.consistencyProofs.filter((vector) => vector.path.length > 0);
  assert.equal(nonTrivial.length, 4);
  for (const vector of nonTrivial) {
    for (const probe of corruptConsistency(vector)) {
      assert.ok(
        rejects(() => verifyLogConsistency(probe)),
        `${probe.name} at ${vector.oldSize} -> ${vector.newSize}`,
      );
    }
  }
});

test("the reference verifiers' fixed valid and invalid consistency claims", () => {
  const emptyRoot = logEmptyRoot();
  const accepted = [
    { oldSize: 0, newSize: 0, oldRoot: emptyRoot, newRoot: emptyRoot },
    { oldSize: 0, newSize: 1, oldRoot: emptyRoot, newRoot: someHash },
    { oldSize: 1, newSize: 1, oldRoot: someHash, newRoot: someHash },
  ];
  for (const claim of accepted) verifyLogConsistency({ ...claim, proof: [] });
  const refused = [
    // Different roots of equal sizes.
    { oldSize: 0, newSize: 0, oldRoot: emptyRoot, newRoot: someHash, proof: [] },
    { oldSize: 1, newSize: 1, oldRoot: emptyRoot, newRoot: someHash, proof: [] },
    // Time travel to the past.
    { oldSize: 1, newSize: 0, oldRoot: someHash, newRoot: emptyRoot, proof: [] },
    { oldSize: 2, newSize: 1, oldRoot: someHash, newRoot: someHash, proof: [] },
    // An empty proof between different sizes.
    { oldSize: 1, newSize: 2, oldRoot: someHash, newRoot: emptyRoot, proof: [] },
    // Equal roots but a proof that is not empty.
    { oldSize: 0, newSize: 0, oldRoot: emptyRoot, newRoot: emptyRoot, proof: [emptyRoot] },
    { oldSize: 0, newSize: 1, oldRoot: emptyRoot, newRoot: emptyRoot, proof: [emptyRoot] },
    { oldSize: 1, newSize: 1, oldRoot: emptyRoot, newRoot: emptyRoot, proof: [emptyRoot] },
  ];
  for (const claim of refused)
    assert.ok(
      rejects(() => verifyLogConsistency(claim)),
      JSON.stringify([claim.oldSize, claim.newSize]),
    );
});

/** MTH(D[begin:end]) straight from RFC 9162 §2.1.1, hashed with node:crypto. */
function referenceRangeHash(data: readonly Uint8Array[], begin: number, end: number): Uint8Array {
  const sha = (...parts: Uint8Array[]) => {
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    return new Uint8Array(hash.digest());
  };
  if (end - begin === 1) return sha(Uint8Array.of(0), data[begin]!);
  let k = 1;
  while (k * 2 < end - begin) k *= 2;
  const left = referenceRangeHash(data, begin, begin + k);
  return sha(Uint8Array.of(1), left, referenceRangeHash(data, begin + k, end));
}

/** The proof hash a node reference stands for: the MTH of its leaves, cut at `size`. */
function nodeRefHash(data: readonly Uint8Array[], ref: NodeRef, size: number): string {
  const ranges = (
    typeof ref[0] === 'number' ? [ref as [number, number]] : (ref as [number, number][])
  ).map(
    ([level, index]) => [index * 2 ** level, Math.min((index + 1) * 2 ** level, size)] as const,
  );
  const begin = Math.min(...ranges.map(([b]) => b));
  const end = Math.max(...ranges.map(([, e]) => e));
  return toHex(referenceRangeHash(data, begin, end));
}

test('proofs in trees of up to 95 leaves consist of the published nodes', () => {
  const data = Array.from({ length: 95 }, (_, i) => new TextEncoder().encode(`leaf ${i}`));
  const log = new HistoryLog();
  for (const leaf of data) log.append(leaf);
  for (const { index, size, nodes } of nodeVectors.inclusion) {
    const expected = nodes.map((ref) => nodeRefHash(data, ref, size));
    assert.deepEqual(
      log.inclusionProof({ index, size }).path.map(toHex),
      expected,
      `${index}/${size}`,
    );
  }
  for (const { oldSize, newSize, nodes } of nodeVectors.consistency) {
    const expected = nodes.map((ref) => nodeRefHash(data, ref, newSize));
    const found = log.consistencyProof({ oldSize, newSize }).path.map(toHex);
    assert.deepEqual(found, expected, `${oldSize} -> ${newSize}`);
  }
});

test('the published invalid proof requests are refused, naming the argument', () => {
  const log = buildLog(7);
  for (const { index, size } of nodeVectors.inclusionInvalid) {
    assert.throws(
      () => log.inclusionProof({ index, size }),
      (error) =>
        error instanceof HistoryLogError &&
        error.code === LogErrorCode.argumentInvalid &&
        /^(index|size): /.test(error.message),
    );
  }
  for (const { oldSize, newSize } of nodeVectors.consistencyInvalid) {
    assert.throws(
      () => log.consistencyProof({ oldSize, newSize }),
      (error) =>
        error instanceof HistoryLogError &&
        error.code === LogErrorCode.argumentInvalid &&
        /^(oldSize|newSize): /.test(error.message),
    );
  }
});
