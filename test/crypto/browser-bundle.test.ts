// Builds the browser verifier with scripts/build-verifier.ts, then runs it in a web-only node:vm.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

import { transformSync } from 'esbuild';

import {
  assertValidBlock,
  assertValidCommit,
  blockHash,
  encodeTransaction,
  makeCommit,
  signTransaction,
  transactionId,
  validatorSetHash,
} from '../../src/chain/index.ts';
import { buildLogHeadBundle, buildRecordVersionBundle } from '../../src/proofs/index.ts';
import {
  parseBundleText,
  summariseVerifiedBundle,
  trustGenesis,
  verifyBundle,
} from '../../src/verify/index.ts';
import { buildChain, chainId, contextOf, keyPairOf } from '../chain/fixtures.ts';
import { buildScenario } from '../verify/scenario.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const buildScript = join(root, 'scripts/build-verifier.ts');
const workDir = mkdtempSync(join(tmpdir(), 'medledger-browser-bundle-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

/** Runs the build script as `npm run build:verifier` would, on a temporary output. */
function runBuild(entry: string, name: string) {
  const out = join(workDir, `${name}.js`);
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', buildScript, '--entry', entry, '--out', out],
    { cwd: root, encoding: 'utf8' },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, out };
}

/** Builds `entry` (which must succeed) and checks the text holds nothing that needs Node. */
function buildForBrowser(entry: string, name: string): string {
  const { status, stdout, stderr, out } = runBuild(entry, name);
  assert.equal(status, 0, `build-verifier failed:\n${stderr}`);
  assert.match(stdout, /: \d+ bytes minified, \d+ gzipped, from /);
  const code = readFileSync(out, 'utf8');
  assert.doesNotMatch(code, /(?<![\w$.])require\s*\(/, 'no require( call');
  assert.doesNotMatch(code, /["'`]node:/, 'no node: module named');
  assert.doesNotMatch(code, /(?<![\w$.])import\s*[\s{*"'(]/, 'no import left: one module');
  assert.ok(existsSync(out.replace(/\.js$/, '.meta.json')), 'the metafile is written');
  const meta = JSON.parse(readFileSync(out.replace(/\.js$/, '.meta.json'), 'utf8')) as {
    inputs: Record<string, unknown>;
  };
  const inputs = Object.keys(meta.inputs);
  assert.ok(inputs.includes('src/crypto/sodium-browser.ts'), 'the stand-in replaced sodium');
  assert.ok(!inputs.some((path) => path.includes('sodium-native')), 'sodium-native is not in');
  return code;
}

/**
 * The web globals the verifier may use, defined inside the context from the host's (so that
 * the arrays and errors they return belong to the context's realm, as in a browser): TextEncoder,
 * TextDecoder, crypto.getRandomValues. There is no process, Buffer, require or global.
 */
const webGlobalsSource = `
'use strict';
{
  const host = globalThis.__host;
  delete globalThis.__host;
  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input = '') { return new Uint8Array(host.encode(String(input))); }
    encodeInto(input, destination) {
      const { read, written } = host.encodeInto(String(input), destination);
      return { read, written };
    }
  }
  class TextDecoder {
    #label; #fatal; #ignoreBOM;
    constructor(label = 'utf-8', options = {}) {
      this.#label = String(label);
      this.#fatal = Boolean(options.fatal);
      this.#ignoreBOM = Boolean(options.ignoreBOM);
    }
    get encoding() { return 'utf-8'; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }
    decode(input = new Uint8Array(0)) {
      try {
        return host.decode(this.#label, this.#fatal, this.#ignoreBOM, input);
      } catch (error) {
        throw new TypeError(String(error.message));
      }
    }
  }
  globalThis.TextEncoder = TextEncoder;
  globalThis.TextDecoder = TextDecoder;
  globalThis.crypto = Object.freeze({ getRandomValues: (array) => host.getRandomValues(array) });
  const fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
  // Rebuilds a value sent as JSON (bytes as {"$bytes": hex}) out of this realm's objects.
  globalThis.__revive = (json) =>
    JSON.parse(json, (key, value) =>
      value !== null && typeof value === 'object' && typeof value.$bytes === 'string'
        ? fromHex(value.$bytes)
        : value,
    );
}
`;

/** JSON with byte arrays as {"$bytes": hex}; works on values of either realm. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (Object.prototype.toString.call(item) === '[object Uint8Array]') {
      const bytes = item as ArrayLike<number>;
      return { $bytes: Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('') };
    }
    if (typeof item === 'bigint') return { $bigint: item.toString() };
    return item;
  });
}

type Loaded = {
  /** The bundle's exports, as functions of the context's realm. */
  exports: Record<string, (...args: unknown[]) => unknown>;
  /** A host value rebuilt in the context's realm. */
  send: (value: unknown) => unknown;
  evaluate: (source: string) => unknown;
};

/** Loads an ES-module bundle into a fresh context holding only web globals. */
function loadInWebContext(code: string): Loaded {
  const encoder = new TextEncoder();
  const host = {
    encode: (text: string) => encoder.encode(text),
    encodeInto: (text: string, destination: Uint8Array) => encoder.encodeInto(text, destination),
    decode: (label: string, fatal: boolean, ignoreBOM: boolean, input: Uint8Array) =>
      new TextDecoder(label, { fatal, ignoreBOM }).decode(input),
    getRandomValues: (array: Uint8Array) => webcrypto.getRandomValues(array),
  };
  const context = vm.createContext({ __host: host, console });
  vm.runInContext(webGlobalsSource, context);
  // The bundle is one ES module with no imports; an IIFE of it exposes its exports to the
  // script context without --experimental-vm-modules.
  const script = transformSync(code, { format: 'iife', globalName: '__bundle' }).code;
  vm.runInContext(script, context, { filename: 'verifier.js' });
  const evaluate = (source: string): unknown => vm.runInContext(source, context);
  const revive = evaluate('__revive') as (json: string) => unknown;
  return {
    exports: evaluate('__bundle') as Loaded['exports'],
    send: (value) => revive(toJson(value)),
    evaluate,
  };
}

/** What a call throws, as comparable data (either realm); fails if it does not throw. */
function thrown(run: () => unknown): { name: string; code: unknown; message: string } {
  try {
    run();
  } catch (error) {
    const { name, message } = error as Error;
    return { name, code: (error as { code?: unknown }).code, message };
  }
  assert.fail('expected a throw');
}

test('the context has web globals only: no process, Buffer, require or global', () => {
  const { evaluate } = loadInWebContext('export const nothing = 0;');
  assert.equal(
    evaluate(
      '[typeof process, typeof Buffer, typeof require, typeof global, typeof setImmediate].join()',
    ),
    'undefined,undefined,undefined,undefined,undefined',
  );
  assert.equal(evaluate('new TextEncoder().encode("é") instanceof Uint8Array'), true);
  assert.equal(evaluate('typeof crypto.getRandomValues'), 'function');
});

test('the build refuses an entry that imports a Node built-in or touches a Node global', () => {
  const importsFs = join(workDir, 'imports-fs.ts');
  writeFileSync(
    importsFs,
    "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n",
  );
  const fs = runBuild(importsFs, 'imports-fs');
  assert.equal(fs.status, 1);
  assert.match(fs.stderr, /cannot run in a browser/);
  assert.match(fs.stderr, /imports-fs\.ts imports node:fs, a Node built-in/);
  assert.equal(existsSync(fs.out), false);
  // X25519 wraps raw keys in Buffers for node:crypto: a bundle that keeps it is refused.
  const usesX25519 = join(workDir, 'uses-x25519.ts');
  writeFileSync(
    usesX25519,
    `export { x25519KeyPairFromSeed } from ${JSON.stringify(join(root, 'src/crypto/index.ts'))};\n`,
  );
  const x25519 = runBuild(usesX25519, 'uses-x25519');
  assert.equal(x25519.status, 1);
  assert.match(x25519.stderr, /refers to the Node global Buffer/);
  assert.equal(existsSync(x25519.out), false);
});

test('src/verify/index.ts bundled for the browser verifies bundles exactly as Node does', () => {
  const code = buildForBrowser(join(root, 'src/verify/index.ts'), 'verifier');
  const browser = loadInWebContext(code);
  const scenario = buildScenario();
  const { chain } = scenario;
  const genesisText = JSON.stringify(chain.genesis);
  const texts = [
    JSON.stringify(buildLogHeadBundle(chain, { oldSize: 3 })),
    JSON.stringify(
      buildRecordVersionBundle(chain, { recordId: scenario.lateRecordId, version: 1 }),
    ),
  ];
  const inBrowser = (text: string) =>
    browser.exports.verifyBundle!(
      browser.exports.parseBundleText!(text),
      browser.exports.trustGenesis!(browser.send(JSON.parse(genesisText))),
    );
  const inNode = (text: string) =>
    verifyBundle(parseBundleText(text), trustGenesis(JSON.parse(genesisText)));
  for (const text of texts) {
    const expected = inNode(text);
    const found = inBrowser(text);
    assert.equal(toJson(found), toJson(expected));
    assert.equal(
      toJson(browser.exports.summariseVerifiedBundle!(found)),
      toJson(summariseVerifiedBundle(expected)),
    );
    // Invalid-input twin: one changed hex digit in a commit fails in both, with one error.
    const tampered = text.replace(
      /("commit":"[0-9a-f]{40})([0-9a-f])/,
      (_all, head: string, digit: string) => head + (digit === '0' ? '1' : '0'),
    );
    assert.notEqual(tampered, text);
    const expectedError = thrown(() => inNode(tampered));
    assert.equal(expectedError.name, 'VerifyError', expectedError.message);
    assert.deepEqual(
      thrown(() => inBrowser(tampered)),
      expectedError,
    );
  }
});

test('src/chain/index.ts bundled for the browser hashes, signs and verifies as Node does', () => {
  const browser = loadInWebContext(buildForBrowser(join(root, 'src/chain/index.ts'), 'chain'));
  const web = browser.exports;
  const { blocks, set, keyPairs } = buildChain({ count: 3, txPerBlock: 2 });
  const hashes = blocks.map((block) => blockHash(block.header));
  for (const [index, block] of blocks.entries()) {
    assert.equal(toJson(web.blockHash!(browser.send(block.header))), toJson(hashes[index]));
    for (const tx of block.txs) {
      assert.equal(toJson(web.transactionId!(browser.send(tx))), toJson(transactionId(tx)));
    }
    // The whole block check: commit signatures, transaction signatures, roots.
    const context = contextOf(blocks, index, set);
    assertValidBlock(block, context);
    assert.equal(web.assertValidBlock!(browser.send(block), browser.send(context)), undefined);
  }
  assert.equal(toJson(web.validatorSetHash!(browser.send(set))), toJson(validatorSetHash(set)));

  // A commit certifying block 1, checked in both; then each signature with one bit flipped.
  const commit = blocks[1]!.lastCommit!;
  const commitCheck = { chainId, commit, height: 1, blockHash: hashes[0]!, validatorSet: set };
  assertValidCommit(commitCheck);
  assert.equal(web.assertValidCommit!(browser.send(commitCheck)), undefined);
  for (const position of commit.signatures.keys()) {
    const signatures = commit.signatures.map((entry, i) => {
      if (i !== position) return entry;
      const signature = new Uint8Array(entry.signature);
      signature[position * 7]! ^= 0x10;
      return { ...entry, signature };
    });
    const forged = { ...commitCheck, commit: { ...commit, signatures } };
    const expected = thrown(() => assertValidCommit(forged));
    assert.equal(expected.name, 'ChainError');
    assert.deepEqual(
      thrown(() => web.assertValidCommit!(browser.send(forged))),
      expected,
    );
  }

  // Signing in the browser (key pairs built by hand from a seed) gives Node's bytes.
  const signer = keyPairOf('practitioner');
  const unsigned = { chainId, kind: 'record.anchor', body: { recordId: 'r-9', version: 2 } };
  const handMade = { seed: signer.seed, publicKey: signer.publicKey };
  const tx = signTransaction({
    unsigned: { ...unsigned, signer: signer.publicKey, nonce: 9 },
    keyPair: signer,
  });
  const webTx = web.signTransaction!(
    browser.send({
      unsigned: { ...unsigned, signer: signer.publicKey, nonce: 9 },
      keyPair: handMade,
    }),
  );
  assert.equal(toJson(web.encodeTransaction!(webTx)), toJson(encodeTransaction(tx)));
  const nodeCommit = makeCommit({
    chainId,
    height: 3,
    round: 1,
    blockHash: hashes[2]!,
    signers: [0, 2, 3].map((validatorIndex) => ({
      validatorIndex,
      keyPair: keyPairs[validatorIndex]!,
    })),
  });
  const webCommit = web.makeCommit!(
    browser.send({
      chainId,
      height: 3,
      round: 1,
      blockHash: hashes[2],
      signers: [0, 2, 3].map((validatorIndex) => ({
        validatorIndex,
        keyPair: {
          seed: keyPairs[validatorIndex]!.seed,
          publicKey: keyPairs[validatorIndex]!.publicKey,
        },
      })),
    }),
  );
  assert.equal(toJson(webCommit), toJson(nodeCommit));
  // Invalid-input twin: a key pair whose public key is not its seed's is refused by both.
  const mismatched = { seed: signer.seed, publicKey: keyPairs[0]!.publicKey };
  const wrongTx = { unsigned: { ...unsigned, signer: keyPairs[0]!.publicKey, nonce: 1 } };
  assert.deepEqual(
    thrown(() => web.signTransaction!(browser.send({ ...wrongTx, keyPair: mismatched }))),
    thrown(() => signTransaction({ ...wrongTx, keyPair: mismatched })),
  );
});
