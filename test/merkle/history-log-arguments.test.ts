// Checks that every history-log entry point accepts valid arguments and refuses each invalid one
// with a HistoryLogError that names the argument, what was expected and what was found.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  HistoryLog,
  HistoryLogError,
  LogErrorCode,
  logEmptyRoot,
  logLeafBytesMax,
  logLeafHash,
  logNodeHash,
  logSizeMax,
  verifyLogConsistency,
  verifyLogInclusion,
} from '../../src/merkle/index.ts';
import type { LogConsistencyClaim, LogInclusionClaim } from '../../src/merkle/index.ts';

const leafOf = (i: number) => new TextEncoder().encode(`entry ${i}`);

function logOf(size: number): HistoryLog {
  const log = new HistoryLog();
  for (let i = 0; i < size; i++) log.append(leafOf(i));
  return log;
}

/** Matches a HistoryLogError of `code` whose message matches `pattern`. */
function logError(code: string, pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof HistoryLogError, `a HistoryLogError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  };
}

const invalid = LogErrorCode.argumentInvalid;
/** Values that are not a count: negative, fractional, not finite, not a number. */
const notCounts: unknown[] = [
  -1,
  0.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '3',
  3n,
  null,
  undefined,
];

test('append accepts byte strings up to logLeafBytesMax and refuses longer ones or non-bytes', () => {
  const log = new HistoryLog();
  assert.equal(log.append(new Uint8Array(0)), 0);
  assert.equal(log.append(new Uint8Array(logLeafBytesMax)), 1);
  assert.deepEqual(log.leafHash(1), logLeafHash(new Uint8Array(logLeafBytesMax)));
  assert.throws(
    () => log.append(new Uint8Array(logLeafBytesMax + 1)),
    logError(invalid, /^leafData: expected at most 1048576 bytes, got 1048577$/),
  );
  for (const bad of ['text', [1, 2], null, undefined, new ArrayBuffer(4)] as unknown[]) {
    assert.throws(
      () => log.append(bad as Uint8Array),
      logError(invalid, /^leafData: expected a Uint8Array, got /),
    );
  }
  assert.equal(log.size, 2);
});

test('appendLeafHash accepts a 32-byte hash and refuses other lengths and types', () => {
  const log = new HistoryLog();
  const hash = logLeafHash(leafOf(0));
  assert.equal(log.appendLeafHash(hash), 0);
  hash.fill(0);
  assert.deepEqual(log.root(), logLeafHash(leafOf(0)), 'the log keeps its own copy');
  for (const length of [0, 31, 33, 64]) {
    assert.throws(
      () => log.appendLeafHash(new Uint8Array(length)),
      logError(invalid, new RegExp(`^leafHash: expected a 32-byte hash, got ${length} bytes$`)),
    );
  }
  assert.throws(
    () => log.appendLeafHash('00'.repeat(32) as unknown as Uint8Array),
    logError(invalid, /^leafHash: expected a 32-byte Uint8Array, got string$/),
  );
  assert.equal(log.size, 1);
});

test('root accepts sizes 0..size and refuses larger sizes and non-counts', () => {
  const log = logOf(5);
  assert.deepEqual(log.root(0), logEmptyRoot());
  for (let size = 1; size <= 5; size++) assert.equal(log.root(size).length, 32);
  assert.throws(() => log.root(6), logError(invalid, /^size: expected at most log size 5, got 6$/));
  for (const bad of notCounts.filter((value) => value !== undefined)) {
    assert.throws(
      () => log.root(bad as number),
      logError(invalid, /^size: expected a non-negative integer, got /),
    );
  }
});

test('leafHash accepts indices below the size and refuses the others', () => {
  const log = logOf(3);
  assert.deepEqual(log.leafHash(2), logLeafHash(leafOf(2)));
  assert.throws(
    () => log.leafHash(3),
    logError(invalid, /^index: expected below log size 3, got 3$/),
  );
  assert.throws(
    () => new HistoryLog().leafHash(0),
    logError(invalid, /^index: expected below log size 0, got 0$/),
  );
  for (const bad of notCounts) {
    assert.throws(
      () => log.leafHash(bad as number),
      logError(invalid, /^index: expected a non-negative integer, got /),
    );
  }
});

test('inclusionProof accepts index < size ≤ log size and refuses each bad argument by name', () => {
  const log = logOf(6);
  assert.equal(log.inclusionProof({ index: 5 }).size, 6);
  assert.equal(log.inclusionProof({ index: 0, size: 1 }).path.length, 0);
  assert.throws(
    () => log.inclusionProof({ index: 6 }),
    logError(invalid, /^index: expected below size 6, got 6$/),
  );
  assert.throws(
    () => log.inclusionProof({ index: 4, size: 4 }),
    logError(invalid, /^index: expected below size 4, got 4$/),
  );
  assert.throws(
    () => log.inclusionProof({ index: 0, size: 7 }),
    logError(invalid, /^size: expected at most log size 6, got 7$/),
  );
  assert.throws(
    () => log.inclusionProof({ index: 0, size: 0 }),
    logError(invalid, /^index: expected below size 0, got 0$/),
  );
  for (const bad of notCounts) {
    assert.throws(
      () => log.inclusionProof({ index: bad as number }),
      logError(invalid, /^index: expected a non-negative integer, got /),
    );
    if (bad !== undefined) {
      assert.throws(
        () => log.inclusionProof({ index: 0, size: bad as number }),
        logError(invalid, /^size: expected a non-negative integer, got /),
      );
    }
  }
});

test('consistencyProof accepts oldSize ≤ newSize ≤ log size and refuses each bad argument by name', () => {
  const log = logOf(6);
  assert.equal(log.consistencyProof({ oldSize: 3 }).newSize, 6);
  assert.deepEqual(log.consistencyProof({ oldSize: 0, newSize: 4 }).path, []);
  assert.deepEqual(log.consistencyProof({ oldSize: 4, newSize: 4 }).path, []);
  assert.deepEqual(new HistoryLog().consistencyProof({ oldSize: 0 }).path, []);
  assert.throws(
    () => log.consistencyProof({ oldSize: 7 }),
    logError(invalid, /^oldSize: expected at most newSize 6, got 7$/),
  );
  assert.throws(
    () => log.consistencyProof({ oldSize: 5, newSize: 4 }),
    logError(invalid, /^oldSize: expected at most newSize 4, got 5$/),
  );
  assert.throws(
    () => log.consistencyProof({ oldSize: 1, newSize: 7 }),
    logError(invalid, /^newSize: expected at most log size 6, got 7$/),
  );
  for (const bad of notCounts) {
    assert.throws(
      () => log.consistencyProof({ oldSize: bad as number }),
      logError(invalid, /^oldSize: expected a non-negative integer, got /),
    );
    if (bad !== undefined) {
      assert.throws(
        () => log.consistencyProof({ oldSize: 0, newSize: bad as number }),
        logError(invalid, /^newSize: expected a non-negative integer, got /),
      );
    }
  }
});

test('logLeafHash accepts byte strings up to logLeafBytesMax and refuses the others', () => {
  assert.equal(logLeafHash(new Uint8Array(0)).length, 32);
  assert.notDeepEqual(logLeafHash(new Uint8Array(200)), logLeafHash(new Uint8Array(201)));
  assert.throws(
    () => logLeafHash(new Uint8Array(logLeafBytesMax + 1)),
    logError(invalid, /^leafData: expected at most 1048576 bytes, got 1048577$/),
  );
  assert.throws(
    () => logLeafHash([0] as unknown as Uint8Array),
    logError(invalid, /^leafData: expected a Uint8Array, got array\(1\)$/),
  );
});

test('logNodeHash accepts two 32-byte hashes and refuses other lengths, naming the side', () => {
  const hash = logLeafHash(leafOf(0));
  assert.equal(logNodeHash(hash, hash).length, 32);
  assert.throws(
    () => logNodeHash(hash.subarray(1), hash),
    logError(invalid, /^left: expected a 32-byte hash, got 31 bytes$/),
  );
  assert.throws(
    () => logNodeHash(hash, new Uint8Array(33)),
    logError(invalid, /^right: expected a 32-byte hash, got 33 bytes$/),
  );
});

const eight = logOf(8);
/** A valid inclusion claim: leaf 5 of the 8-leaf log. */
const inclusion = {
  index: 5,
  size: 8,
  proof: eight.inclusionProof({ index: 5 }).path,
  root: eight.root(),
  leafData: leafOf(5),
} satisfies LogInclusionClaim;

test('verifyLogInclusion accepts a valid claim by leaf data or by leaf hash', () => {
  const byData = verifyLogInclusion(inclusion);
  const byHash = verifyLogInclusion({
    ...inclusion,
    leafData: undefined,
    leafHash: logLeafHash(leafOf(5)),
  });
  assert.deepEqual(byData, byHash);
  assert.deepEqual(byData, {
    index: 5,
    size: 8,
    leafHash: logLeafHash(leafOf(5)),
    root: eight.root(),
  });
});

test('verifyLogInclusion refuses each malformed argument by name', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ index: 8 }, /^index: expected below size 8, got 8$/],
    [{ size: 5, index: 5 }, /^index: expected below size 5, got 5$/],
    [{ size: 0, index: 0 }, /^index: expected below size 0, got 0$/],
    [
      { size: logSizeMax + 1 },
      /^size: expected at most logSizeMax 9007199254740991, got 9007199254740992$/,
    ],
    [{ index: -1 }, /^index: expected a non-negative integer, got number -1$/],
    [{ size: 8.5 }, /^size: expected a non-negative integer, got number 8.5$/],
    [{ root: eight.root().subarray(0, 31) }, /^root: expected a 32-byte hash, got 31 bytes$/],
    [{ proof: 'hashes' }, /^proof: expected an array of 32-byte hashes, got string$/],
    [
      { proof: [inclusion.proof[0], new Uint8Array(0), inclusion.proof[2]] },
      /^proof\[1\]: expected a 32-byte hash, got 0 bytes$/,
    ],
    [{ leafData: undefined }, /^leafHash, leafData: expected exactly one of them, got neither$/],
    [
      { leafHash: logLeafHash(leafOf(5)) },
      /^leafHash, leafData: expected exactly one of them, got both$/,
    ],
    [
      { leafData: undefined, leafHash: new Uint8Array(16) },
      /^leafHash: expected a 32-byte hash, got 16 bytes$/,
    ],
    [
      { leafData: new Uint8Array(logLeafBytesMax + 1) },
      /^leafData: expected at most 1048576 bytes, got 1048577$/,
    ],
  ];
  for (const [change, pattern] of cases) {
    const claim = { ...inclusion, ...change } as unknown as LogInclusionClaim;
    assert.throws(() => verifyLogInclusion(claim), logError(invalid, pattern), pattern.source);
  }
});

test('verifyLogInclusion names the length and the roots when the proof does not fit', () => {
  assert.throws(
    () => verifyLogInclusion({ ...inclusion, proof: inclusion.proof.slice(1) }),
    logError(
      LogErrorCode.proofLengthMismatch,
      /^inclusion proof has 2 hashes, expected 3 \(index 5, size 8\)$/,
    ),
  );
  assert.throws(
    () => verifyLogInclusion({ ...inclusion, leafData: leafOf(4) }),
    logError(
      LogErrorCode.rootMismatch,
      /^inclusion proof: computed root [0-9a-f]{16}… differs from expected [0-9a-f]{16}… \(index 5, size 8\)$/,
    ),
  );
});

/** A valid consistency claim: the 3-leaf log against the 8-leaf log. */
const consistency = {
  oldSize: 3,
  newSize: 8,
  oldRoot: eight.root(3),
  newRoot: eight.root(),
  proof: eight.consistencyProof({ oldSize: 3 }).path,
} satisfies LogConsistencyClaim;

test('verifyLogConsistency accepts a valid claim and returns what it proved', () => {
  assert.deepEqual(verifyLogConsistency(consistency), {
    oldSize: 3,
    newSize: 8,
    oldRoot: eight.root(3),
    newRoot: eight.root(),
  });
});

test('verifyLogConsistency refuses each malformed argument by name', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ oldSize: 9 }, /^oldSize: expected at most newSize 8, got 9$/],
    [{ newSize: -8 }, /^newSize: expected a non-negative integer, got number -8$/],
    [{ oldSize: Number.NaN }, /^oldSize: expected a non-negative integer, got number NaN$/],
    [
      { newSize: logSizeMax + 1 },
      /^newSize: expected at most logSizeMax 9007199254740991, got 9007199254740992$/,
    ],
    [{ oldRoot: new Uint8Array(0) }, /^oldRoot: expected a 32-byte hash, got 0 bytes$/],
    [{ newRoot: 'root' }, /^newRoot: expected a 32-byte Uint8Array, got string$/],
    [{ proof: undefined }, /^proof: expected an array of 32-byte hashes, got undefined$/],
    [
      { proof: [...consistency.proof.slice(0, 3), new Uint8Array(31)] },
      /^proof\[3\]: expected a 32-byte hash, got 31 bytes$/,
    ],
  ];
  for (const [change, pattern] of cases) {
    const claim = { ...consistency, ...change } as unknown as LogConsistencyClaim;
    assert.throws(() => verifyLogConsistency(claim), logError(invalid, pattern), pattern.source);
  }
});

test('verifyLogConsistency names the length and the root that differs', () => {
  assert.throws(
    () => verifyLogConsistency({ ...consistency, proof: [...consistency.proof, eight.root()] }),
    logError(
      LogErrorCode.proofLengthMismatch,
      /^consistency proof has 5 hashes, expected 4 \(oldSize 3, newSize 8\)$/,
    ),
  );
  assert.throws(
    () => verifyLogConsistency({ ...consistency, oldRoot: eight.root(2) }),
    logError(
      LogErrorCode.rootMismatch,
      /^consistency proof: computed oldRoot [0-9a-f]{16}… differs from expected/,
    ),
  );
  assert.throws(
    () => verifyLogConsistency({ ...consistency, newRoot: eight.root(7) }),
    logError(
      LogErrorCode.rootMismatch,
      /^consistency proof: computed newRoot [0-9a-f]{16}… differs from expected/,
    ),
  );
});

test('verifyLogConsistency takes an empty proof for an empty old tree or equal sizes, and no other', () => {
  const empty = logEmptyRoot();
  verifyLogConsistency({ oldSize: 0, newSize: 0, oldRoot: empty, newRoot: empty, proof: [] });
  verifyLogConsistency({
    oldSize: 0,
    newSize: 8,
    oldRoot: empty,
    newRoot: eight.root(),
    proof: [],
  });
  verifyLogConsistency({
    oldSize: 5,
    newSize: 5,
    oldRoot: eight.root(5),
    newRoot: eight.root(5),
    proof: [],
  });
  assert.throws(
    () =>
      verifyLogConsistency({
        oldSize: 0,
        newSize: 8,
        oldRoot: eight.root(1),
        newRoot: eight.root(),
        proof: [],
      }),
    logError(
      LogErrorCode.rootMismatch,
      /^consistency proof: oldRoot [0-9a-f]{16}… differs from the empty-tree root SHA-256\(\) e3b0c44298fc1c14…/,
    ),
  );
  assert.throws(
    () =>
      verifyLogConsistency({
        oldSize: 0,
        newSize: 0,
        oldRoot: empty,
        newRoot: eight.root(),
        proof: [],
      }),
    logError(
      LogErrorCode.rootMismatch,
      /^consistency proof: newRoot [0-9a-f]{16}… differs from the empty-tree root/,
    ),
  );
  assert.throws(
    () =>
      verifyLogConsistency({
        oldSize: 5,
        newSize: 5,
        oldRoot: eight.root(5),
        newRoot: eight.root(4),
        proof: [],
      }),
    logError(
      LogErrorCode.rootMismatch,
      /^consistency proof: newRoot [0-9a-f]{16}… differs from oldRoot of the same size/,
    ),
  );
  assert.throws(
    () =>
      verifyLogConsistency({
        oldSize: 5,
        newSize: 5,
        oldRoot: eight.root(5),
        newRoot: eight.root(5),
        proof: [empty],
      }),
    logError(
      LogErrorCode.proofLengthMismatch,
      /^consistency proof has 1 hashes, expected 0 \(oldSize 5, newSize 5\)$/,
    ),
  );
  assert.throws(
    () =>
      verifyLogConsistency({
        oldSize: 3,
        newSize: 8,
        oldRoot: eight.root(3),
        newRoot: eight.root(),
        proof: [],
      }),
    logError(
      LogErrorCode.proofLengthMismatch,
      /^consistency proof has 0 hashes, expected 4 \(oldSize 3, newSize 8\)$/,
    ),
  );
});
