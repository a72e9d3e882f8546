// Checks key files on real files in a temp dir: round trip, mode 0600, no overwrite, refusals.
import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { fromHex, toHex, utf8 } from '../../src/base/index.ts';
import {
  ed25519KeyPairFromSeed,
  ed25519Sign,
  ed25519Verify,
  x25519KeyPairFromSeed,
} from '../../src/crypto/index.ts';
import {
  KeyFileError,
  KeyFileErrorCode,
  generateEd25519KeyPair,
  generateX25519KeyPair,
  keyFileBytesMax,
  loadEd25519KeyFile,
  loadKeyFile,
  loadX25519KeyFile,
  saveKeyFile,
} from '../../src/keys/index.ts';

const root = mkdtempSync(join(tmpdir(), 'medledger-keys-'));
after(() => rmSync(root, { recursive: true, force: true }));

let fileCount = 0;
function freshPath(name = 'org1.key'): string {
  fileCount += 1;
  return join(root, `case-${fileCount}`, name);
}

const seed = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
const ed25519PublicHex = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const x25519Private = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
const x25519PublicHex = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';

function keyFileError(code: KeyFileErrorCode, message: string | RegExp) {
  return (error: unknown): boolean => {
    if (!(error instanceof KeyFileError)) return false;
    assert.equal(error.code, code);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  };
}

/** Writes `text` at a fresh path with mode 0600, as an operator or attacker might. */
function writeRaw(text: string | Uint8Array, mode = 0o600): string {
  const path = freshPath();
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

function validDocument(): Record<string, unknown> {
  return {
    kind: 'medledger-key',
    version: 1,
    algorithm: 'ed25519',
    seed: toHex(seed),
    publicKey: ed25519PublicHex,
  };
}

test('an Ed25519 key file round-trips and signs like the original key pair', async () => {
  const path = freshPath();
  await saveKeyFile({ path, key: { kind: 'ed25519', seed } });
  const loaded = await loadKeyFile(path);
  assert.equal(loaded.kind, 'ed25519');
  assert.equal(toHex(loaded.keyPair.publicKey), ed25519PublicHex);
  const keyPair = await loadEd25519KeyFile(path);
  assert.equal(toHex(keyPair.seed), toHex(seed));
  const message = utf8('round trip');
  const signature = ed25519Sign({ message, keyPair });
  assert.equal(
    toHex(signature),
    toHex(ed25519Sign({ message, keyPair: ed25519KeyPairFromSeed(seed) })),
  );
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), validDocument());
});

test('an X25519 key file round-trips', async () => {
  const path = freshPath('org1-hpke.key');
  await saveKeyFile({ path, key: { kind: 'x25519', privateKey: x25519Private } });
  const keyPair = await loadX25519KeyFile(path);
  assert.equal(toHex(keyPair.privateKey), toHex(x25519Private));
  assert.equal(toHex(keyPair.publicKey), x25519PublicHex);
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), {
    kind: 'medledger-key',
    version: 1,
    algorithm: 'x25519',
    privateKey: toHex(x25519Private),
    publicKey: x25519PublicHex,
  });
});

test('saveKeyFile writes mode 0600 and creates missing directories 0700, whatever the umask', async () => {
  const previous = process.umask(0);
  try {
    const path = join(root, 'deep', 'er', 'node.key');
    await saveKeyFile({ path, key: { kind: 'ed25519', seed } });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(root, 'deep')).mode & 0o777, 0o700);
    assert.equal(statSync(join(root, 'deep', 'er')).mode & 0o777, 0o700);
    // Only the key is left: the temporary file was moved or removed.
    assert.deepEqual(readdirSync(join(root, 'deep', 'er')), ['node.key']);
  } finally {
    process.umask(previous);
  }
});

test('saveKeyFile refuses to overwrite an existing file and leaves it untouched', async () => {
  const path = freshPath();
  await saveKeyFile({ path, key: { kind: 'ed25519', seed } });
  const before = readFileSync(path, 'utf8');
  const other = generateEd25519KeyPair();
  await assert.rejects(
    saveKeyFile({ path, key: { kind: 'ed25519', seed: other.seed } }),
    keyFileError(
      KeyFileErrorCode.alreadyExists,
      new RegExp(`^key file ${path} already exists; refusing to overwrite a key`),
    ),
  );
  assert.equal(readFileSync(path, 'utf8'), before);
  assert.deepEqual(readdirSync(join(path, '..')), ['org1.key']);
});

test('saveKeyFile replaces an existing file when told to overwrite', async () => {
  const path = freshPath();
  await saveKeyFile({ path, key: { kind: 'ed25519', seed } });
  const other = generateEd25519KeyPair();
  await saveKeyFile({ path, key: { kind: 'ed25519', seed: other.seed }, overwrite: true });
  assert.equal(toHex((await loadEd25519KeyFile(path)).publicKey), toHex(other.publicKey));
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(join(path, '..')), ['org1.key']);
});

test('saveKeyFile refuses a seed of the wrong length before touching the disk', async () => {
  const path = freshPath();
  await assert.rejects(
    saveKeyFile({ path, key: { kind: 'ed25519', seed: new Uint8Array(31) } }),
    /seed: expected an Ed25519 seed of 32 bytes, got 31 bytes/,
  );
  assert.throws(() => statSync(join(path, '..')), /ENOENT/);
});

test('loadKeyFile accepts modes 0600 and 0400', async () => {
  for (const mode of [0o600, 0o400]) {
    const path = writeRaw(JSON.stringify(validDocument()), mode);
    assert.equal(toHex((await loadEd25519KeyFile(path)).publicKey), ed25519PublicHex);
  }
});

test('loadKeyFile refuses files that the group or other users may access, saying how to fix it', async () => {
  const cases: Array<[number, string]> = [
    [0o644, 'readable by its group and other users'],
    [0o640, 'readable by its group'],
    [0o604, 'readable by other users'],
    [0o620, 'writable by its group'],
    [0o666, 'readable by its group and other users, writable by its group and other users'],
    [0o610, 'executable by its group'],
  ];
  for (const [mode, who] of cases) {
    const path = writeRaw(JSON.stringify(validDocument()), mode);
    const shown = mode.toString(8).padStart(4, '0');
    await assert.rejects(
      loadKeyFile(path),
      keyFileError(
        KeyFileErrorCode.tooOpen,
        `key file ${path} has mode ${shown}: it is ${who}, and a key file must be open to its ` +
          `owner only; run chmod 600 ${path}`,
      ),
    );
  }
});

test('loadKeyFile refuses a missing file and a directory', async () => {
  const missing = freshPath('missing.key');
  await assert.rejects(
    loadKeyFile(missing),
    keyFileError(KeyFileErrorCode.notFound, `key file ${missing} does not exist`),
  );
  const directory = join(root, 'a-directory.key');
  mkdirSync(directory, { mode: 0o700 });
  await assert.rejects(
    loadKeyFile(directory),
    keyFileError(KeyFileErrorCode.notAFile, /is not a regular file/),
  );
});

test('loadKeyFile refuses malformed documents, saying what is wrong', async () => {
  const withField = (field: string, value: unknown): string =>
    JSON.stringify({ ...validDocument(), [field]: value });
  const withoutField = (field: string): string => {
    const document = validDocument();
    delete document[field];
    return JSON.stringify(document);
  };
  const otherPublic = toHex(generateEd25519KeyPair().publicKey);
  const cases: Array<[string, string | Uint8Array, RegExp]> = [
    ['empty file', '', /is malformed: it is not JSON/],
    ['not JSON', 'seed=9d61b19d', /is malformed: it is not JSON \(/],
    ['not UTF-8', Uint8Array.of(0x7b, 0xff, 0x7d), /is malformed: it is not UTF-8 text$/],
    ['an array', '[1, 2]', /is malformed: expected a JSON object, found an array$/],
    ['a string', '"9d61"', /is malformed: expected a JSON object, found "9d61"$/],
    ['no kind', withoutField('kind'), /is malformed: the field "kind" is missing$/],
    ['no version', withoutField('version'), /is malformed: the field "version" is missing$/],
    [
      'unknown algorithm',
      withField('algorithm', 'rsa'),
      /"algorithm" must be "ed25519" or "x25519", found "rsa"$/,
    ],
    [
      'no seed',
      withoutField('seed'),
      /"seed" must be 64 lower-case hex digits \(32 bytes\), found undefined$/,
    ],
    [
      'short seed',
      withField('seed', 'abcd'),
      /"seed" must be 64 lower-case hex digits \(32 bytes\), found "abcd"$/,
    ],
    [
      'upper-case hex',
      withField('seed', toHex(seed).toUpperCase()),
      /"seed" must be 64 lower-case hex/,
    ],
    ['seed as a number', withField('seed', 12), /found 12$/],
    ['no public key', withoutField('publicKey'), /"publicKey" must be 64 lower-case hex digits/],
    [
      'extra field',
      withField('comment', 'hi'),
      /unexpected field "comment" \(an ed25519 key file has kind, version, algorithm, seed, publicKey\)$/,
    ],
    ['x25519 field name', withField('privateKey', toHex(seed)), /unexpected field "privateKey"/],
    [
      'mismatched public key',
      withField('publicKey', otherPublic),
      /"publicKey" does not match the seed: the seed derives d75a980182b10ab7…, the file says /,
    ],
    [
      'too large',
      `${JSON.stringify(validDocument())}${' '.repeat(keyFileBytesMax)}`,
      /expected at most keyFileBytesMax 4096 bytes, found 4097$/,
    ],
  ];
  for (const [what, text, message] of cases) {
    const path = writeRaw(text);
    await assert.rejects(
      loadKeyFile(path),
      keyFileError(KeyFileErrorCode.malformed, message),
      what,
    );
    await assert.rejects(
      loadKeyFile(path),
      new RegExp(`^KeyFileError: key file ${path} is malformed: `),
      what,
    );
  }
  // The valid twin of all of them: the document they were made from loads.
  assert.equal((await loadKeyFile(writeRaw(JSON.stringify(validDocument())))).kind, 'ed25519');
  // Whitespace and field order are free: only the content is checked.
  const reordered = JSON.stringify(
    {
      publicKey: ed25519PublicHex,
      seed: toHex(seed),
      algorithm: 'ed25519',
      version: 1,
      kind: 'medledger-key',
    },
    null,
    4,
  );
  assert.equal((await loadKeyFile(writeRaw(reordered))).kind, 'ed25519');
});

test('loadKeyFile refuses other documents and versions with their own codes', async () => {
  const genesis = writeRaw(JSON.stringify({ ...validDocument(), kind: 'medledger-genesis' }));
  await assert.rejects(
    loadKeyFile(genesis),
    keyFileError(
      KeyFileErrorCode.wrongKind,
      `key file ${genesis} is not a MedLedger key file: expected "kind": "medledger-key", found "medledger-genesis"`,
    ),
  );
  const future = writeRaw(JSON.stringify({ ...validDocument(), version: 2 }));
  await assert.rejects(
    loadKeyFile(future),
    keyFileError(
      KeyFileErrorCode.unsupportedVersion,
      `key file ${future} has format version 2; this build reads version 1 only`,
    ),
  );
});

test('loading a key of the other algorithm is refused as wrong-kind', async () => {
  const signing = freshPath('signing.key');
  const hpke = freshPath('hpke.key');
  await saveKeyFile({ path: signing, key: { kind: 'ed25519', seed } });
  await saveKeyFile({ path: hpke, key: { kind: 'x25519', privateKey: x25519Private } });
  await assert.rejects(
    loadX25519KeyFile(signing),
    keyFileError(
      KeyFileErrorCode.wrongKind,
      `key file ${signing} holds an ed25519 key; expected an x25519 key`,
    ),
  );
  await assert.rejects(
    loadEd25519KeyFile(hpke),
    keyFileError(
      KeyFileErrorCode.wrongKind,
      `key file ${hpke} holds an x25519 key; expected an ed25519 key`,
    ),
  );
  // The twins: each loads as its own algorithm.
  assert.equal(toHex((await loadEd25519KeyFile(signing)).publicKey), ed25519PublicHex);
  assert.equal(toHex((await loadX25519KeyFile(hpke)).publicKey), x25519PublicHex);
});

test('generated key pairs are fresh, consistent and usable', () => {
  const first = generateEd25519KeyPair();
  const second = generateEd25519KeyPair();
  assert.notEqual(toHex(first.seed), toHex(second.seed));
  assert.equal(toHex(ed25519KeyPairFromSeed(first.seed).publicKey), toHex(first.publicKey));
  const message = utf8('fresh');
  const signature = ed25519Sign({ message, keyPair: first });
  assert.equal(ed25519Verify({ publicKey: first.publicKey, message, signature }), true);
  assert.equal(ed25519Verify({ publicKey: second.publicKey, message, signature }), false);
  const hpke = generateX25519KeyPair();
  assert.notEqual(toHex(hpke.privateKey), toHex(generateX25519KeyPair().privateKey));
  assert.equal(toHex(x25519KeyPairFromSeed(hpke.privateKey).publicKey), toHex(hpke.publicKey));
});
