// Checks the record content hash and its canonical bytes: RFC 8785 vectors (§3.2.2 example, the
// §3.2.3 sorting example, Appendix B numbers), the hash framing against node:crypto, a pinned
// value, and refusals of what is not a JSON resource.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import { fromUtf8, toHex, utf8 } from '../../src/base/index.ts';
import {
  VaultError,
  VaultErrorCode,
  canonicalResourceBytes,
  recordContentHash,
  recordContentHashTag,
} from '../../src/vault/index.ts';

function canonicalText(value: Record<string, unknown>): string {
  return fromUtf8(canonicalResourceBytes({ resourceType: 'Basic', ...value }));
}

test('RFC 8785 §3.2.2: the example object serialises to the published bytes', () => {
  const input = JSON.parse(
    '{"resourceType":"Basic","numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
      '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals": [null, true, false]}',
  ) as Record<string, unknown>;
  assert.equal(
    fromUtf8(canonicalResourceBytes(input)),
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
      '"resourceType":"Basic","string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
  );
});

test('RFC 8785 §3.2.3: members are sorted by UTF-16 code units, not by code points', () => {
  const input = JSON.parse(
    '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh",' +
      '"1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control",' +
      '"\\u00f6":"Latin Small Letter O With Diaeresis"}',
  ) as Record<string, unknown>;
  // The RFC's order, with this test's resourceType member in its place ('r' is U+0072, before U+0080).
  const expected: Array<[string, string]> = [
    ['\r', 'Carriage Return'],
    ['1', 'One'],
    ['resourceType', 'Basic'],
    ['\u0080', 'Control'],
    ['\u00f6', 'Latin Small Letter O With Diaeresis'],
    ['\u20ac', 'Euro Sign'],
    ['\ud83d\ude00', 'Emoji: Grinning Face'],
    ['\ufb33', 'Hebrew Letter Dalet With Dagesh'],
  ];
  const text = expected.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`);
  assert.equal(canonicalText(input), `{${text.join(',')}}`);
});

test('RFC 8785 Appendix B: IEEE 754 doubles serialise as ECMAScript shortest numbers', () => {
  const vectors: Array<[string, string]> = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  for (const [bits, expected] of vectors) {
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, BigInt(`0x${bits}`));
    assert.equal(
      canonicalText({ n: view.getFloat64(0) }),
      `{"n":${expected},"resourceType":"Basic"}`,
      bits,
    );
  }
  // The RFC's two invalid vectors: NaN and Infinity have no JSON form.
  for (const bits of ['7fffffffffffffff', '7ff0000000000000']) {
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, BigInt(`0x${bits}`));
    assert.throws(
      () => canonicalText({ n: view.getFloat64(0) }),
      (error: unknown) =>
        error instanceof VaultError && error.code === VaultErrorCode.invalidArgument,
    );
  }
});

test('the content hash is SHA-256 over the tagged, length-prefixed salt and canonical bytes', () => {
  const salt = Uint8Array.from({ length: 32 }, (_, index) => index);
  const canonical = canonicalResourceBytes({
    resourceType: 'Observation',
    status: 'final',
    valueQuantity: { value: 6.3 },
  });
  const tag = utf8(recordContentHashTag);
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  const expected = createHash('sha256')
    .update(Buffer.from([0x4d, tag.length]))
    .update(tag)
    .update(u32(salt.length))
    .update(salt)
    .update(u32(canonical.length))
    .update(canonical)
    .digest();
  const hash = recordContentHash({ salt, canonical });
  assert.equal(toHex(hash), expected.toString('hex'));
  // Pinned: every node must compute this value for these inputs, forever.
  assert.equal(toHex(hash), PINNED_HASH);
  // Another salt, another hash.
  const otherSalt = salt.slice();
  otherSalt[0] = 0xff;
  assert.notEqual(toHex(recordContentHash({ salt: otherSalt, canonical })), toHex(hash));
});

const PINNED_HASH = '0a2b05e4387cdf20567ebfe47df6b253ca86de0fd61834d04e24fcad4b17cd3d';

test('recordContentHash refuses a salt that is not 32 bytes', () => {
  const canonical = canonicalResourceBytes({ resourceType: 'Basic' });
  for (const salt of [new Uint8Array(31), new Uint8Array(33), 'salt' as unknown as Uint8Array]) {
    assert.throws(
      () => recordContentHash({ salt, canonical }),
      (error: unknown) => {
        assert.ok(error instanceof VaultError);
        assert.equal(error.code, VaultErrorCode.invalidArgument);
        assert.match(error.message, /^salt: expected 32 bytes, found/);
        return true;
      },
    );
  }
  assert.equal(recordContentHash({ salt: new Uint8Array(32), canonical }).length, 32);
});

test('canonicalResourceBytes refuses what is not a JSON resource, naming where', () => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /^resource: expected a FHIR resource \(a JSON object\), found null/],
    ['{}', /^resource: expected a FHIR resource/],
    [{ id: 'x' }, /^resource.resourceType: expected a string, found undefined/],
    [
      { resourceType: 'Basic', a: [1, { b: Infinity }] },
      /^resource.a\[1\].b: expected a finite number/,
    ],
    [{ resourceType: 'Basic', a: 10n }, /^resource.a: expected a JSON value, found bigint/],
    [
      { resourceType: 'Basic', a: new Map() },
      /^resource.a: expected a plain JSON object, found an object of class Map/,
    ],
    [
      { resourceType: 'Basic', a: { toJSON: () => 1 } },
      /^resource.a.toJSON: expected a JSON value, found function/,
    ],
  ];
  for (const [value, message] of cases) {
    assert.throws(
      () => canonicalResourceBytes(value),
      (error: unknown) => {
        assert.ok(error instanceof VaultError, String(error));
        assert.equal(error.code, VaultErrorCode.invalidArgument);
        assert.match(error.message, message);
        return true;
      },
    );
  }
  let deep: Record<string, unknown> = { resourceType: 'Basic' };
  for (let depth = 0; depth < 100; depth += 1) deep = { resourceType: 'Basic', next: deep };
  assert.throws(
    () => canonicalResourceBytes(deep),
    (error: unknown) => error instanceof VaultError && error.code === VaultErrorCode.tooLarge,
  );
  assert.equal(
    fromUtf8(canonicalResourceBytes({ resourceType: 'Basic', a: Object.create(null) as object })),
    '{"a":{},"resourceType":"Basic"}',
  );
});
