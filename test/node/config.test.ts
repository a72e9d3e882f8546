// Checks the node configuration file: a valid file (relative paths resolved against its folder)
// and, for each field, a wrong value refused with a message naming the field; real files on disk.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { localVerifyThreads } from '../../src/cli/index.ts';
import {
  NodeConfigError,
  loadNodeConfig,
  nodeLimits,
  parseNodeConfig,
  verifyThreadCount,
} from '../../src/node/index.ts';

const key = 'a'.repeat(64);
const valid = {
  genesisFile: 'genesis.json',
  keyFile: 'keys/node.key',
  dataDir: '/srv/medledger/data',
  p2p: { host: '127.0.0.1', port: 26656 },
  http: { host: '127.0.0.1', port: 0 },
  peers: [{ publicKey: key, host: 'node2.example', port: 26657 }],
  logLevel: 'warn',
};

test('parseNodeConfig resolves relative paths against the base folder and fills defaults', () => {
  const config = parseNodeConfig(valid, { baseDirectory: '/etc/medledger' });
  assert.equal(config.genesisFile, '/etc/medledger/genesis.json');
  assert.equal(config.keyFile, '/etc/medledger/keys/node.key');
  assert.equal(config.dataDir, '/srv/medledger/data');
  assert.deepEqual(config.p2p, { host: '127.0.0.1', port: 26656 });
  assert.deepEqual(config.peers, [{ publicKey: key, host: 'node2.example', port: 26657 }]);
  assert.equal(config.logLevel, 'warn');
  const minimal = parseNodeConfig(
    { ...valid, peers: undefined, logLevel: undefined },
    { baseDirectory: '/' },
  );
  assert.deepEqual(minimal.peers, []);
  assert.equal(minimal.logLevel, 'info');
});

test('parseNodeConfig names the wrong field, what it expected and what it found', () => {
  const cases: [unknown, RegExp][] = [
    [[], /config : expected an object, found an array/],
    [{ ...valid, extra: 1 }, /config extra: unexpected field/],
    [{ ...valid, genesisFile: undefined }, /config genesisFile: missing/],
    [{ ...valid, keyFile: 7 }, /config keyFile: expected a non-empty string, found number 7/],
    [{ ...valid, dataDir: '' }, /config dataDir: expected a non-empty string/],
    [
      { ...valid, p2p: { host: '127.0.0.1' } },
      /config p2p.port: expected a port from 0 to 65535, found undefined/,
    ],
    [
      { ...valid, http: { host: '127.0.0.1', port: 70000 } },
      /config http.port: expected a port from 0 to 65535, found number 70000/,
    ],
    [
      { ...valid, http: { host: 'a b', port: 1 } },
      /config http.host: expected a host name or IP address/,
    ],
    [
      { ...valid, p2p: { host: '127.0.0.1', port: 1, tls: true } },
      /config p2p.tls: unexpected field/,
    ],
    [{ ...valid, peers: {} }, /config peers: expected an array, found an object/],
    [
      { ...valid, peers: [{ publicKey: 'AB', host: 'h', port: 1 }] },
      /config peers\[0\].publicKey: expected 64 lower-case hex digits, found "AB"/,
    ],
    [
      { ...valid, peers: [{ publicKey: key, host: 'h', port: 0 }] },
      /config peers\[0\].port: expected a port from 1 to 65535, found 0/,
    ],
    [
      { ...valid, peers: [valid.peers[0], valid.peers[0]] },
      /config peers\[1\].publicKey: the key appears twice/,
    ],
    [
      { ...valid, logLevel: 'verbose' },
      /config logLevel: expected one of fatal, error, warn, info, debug, trace, silent, found "verbose"/,
    ],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => parseNodeConfig(input, { baseDirectory: '/' }),
      (error: unknown) => {
        assert.ok(error instanceof NodeConfigError);
        assert.equal(error.code, 'config-invalid');
        assert.match(error.message, message);
        return true;
      },
    );
  }
});

test('verifyThreads: a whole number from 1 to 64 is kept; absent, the node takes one per core', () => {
  for (const threads of [1, 2, 64]) {
    const config = parseNodeConfig({ ...valid, verifyThreads: threads }, { baseDirectory: '/' });
    assert.equal(config.verifyThreads, threads);
    assert.equal(verifyThreadCount(config), threads);
  }
  const unset = parseNodeConfig(valid, { baseDirectory: '/' });
  assert.equal('verifyThreads' in unset, false);
  assert.equal(
    verifyThreadCount(unset),
    Math.min(availableParallelism(), nodeLimits.verifyThreadsDefaultMax),
  );
  // Co-located nodes share the machine's cores out, at least one thread each.
  assert.equal(
    localVerifyThreads(1),
    Math.min(availableParallelism(), nodeLimits.verifyThreadsDefaultMax),
  );
  assert.equal(localVerifyThreads(availableParallelism() * 4), 1);
});

test('verifyThreads: anything but a whole number from 1 to 64 is refused, naming the field', () => {
  for (const threads of [0, -1, 65, 1.5, Number.NaN, '2', null, true, [2]]) {
    assert.throws(
      () => parseNodeConfig({ ...valid, verifyThreads: threads }, { baseDirectory: '/' }),
      (error: unknown) => {
        assert.ok(error instanceof NodeConfigError);
        assert.equal(error.code, 'config-invalid');
        assert.match(
          error.message,
          /^config verifyThreads: expected a whole number from 1 to 64, found /,
        );
        return true;
      },
      `verifyThreads ${JSON.stringify(threads)}`,
    );
  }
  assert.throws(
    () => localVerifyThreads(0),
    /localVerifyThreads: expected a whole number of nodes of at least 1, found 0/,
  );
});

test('loadNodeConfig reads a real file and names the file in every refusal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'medledger-'));
  try {
    const file = join(dir, 'node.json');
    writeFileSync(file, JSON.stringify(valid));
    const config = loadNodeConfig(file);
    assert.equal(config.genesisFile, join(dir, 'genesis.json'));
    assert.equal(config.keyFile, join(dir, 'keys', 'node.key'));

    assert.throws(
      () => loadNodeConfig(join(dir, 'missing.json')),
      /config file .*missing\.json does not exist/,
    );
    mkdirSync(join(dir, 'folder.json'));
    assert.throws(() => loadNodeConfig(join(dir, 'folder.json')), /expected a regular file/);
    writeFileSync(join(dir, 'broken.json'), '{"genesisFile":');
    assert.throws(() => loadNodeConfig(join(dir, 'broken.json')), /broken\.json is not valid JSON/);
    writeFileSync(join(dir, 'huge.json'), ' '.repeat(300 * 1024));
    assert.throws(
      () => loadNodeConfig(join(dir, 'huge.json')),
      /huge\.json is 307200 bytes, at most 262144 allowed/,
    );
    writeFileSync(join(dir, 'wrong.json'), JSON.stringify({ ...valid, logLevel: 3 }));
    assert.throws(
      () => loadNodeConfig(join(dir, 'wrong.json')),
      /wrong\.json: config logLevel: expected one of/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('vault: absent or sqlite means the embedded vault; postgres keeps its connection, paths resolved', () => {
  assert.equal('vault' in parseNodeConfig(valid, { baseDirectory: '/' }), false);
  assert.deepEqual(
    parseNodeConfig({ ...valid, vault: { backend: 'sqlite' } }, { baseDirectory: '/' }).vault,
    { backend: 'sqlite' },
  );
  const postgres = parseNodeConfig(
    {
      ...valid,
      vault: {
        backend: 'postgres',
        host: 'db.hospital.example',
        port: 5432,
        user: 'medledger',
        database: 'records',
        schema: 'vault_a',
        passwordFile: 'secrets/vault-password',
      },
    },
    { baseDirectory: '/etc/medledger' },
  );
  assert.deepEqual(postgres.vault, {
    backend: 'postgres',
    host: 'db.hospital.example',
    port: 5432,
    user: 'medledger',
    database: 'records',
    schema: 'vault_a',
    passwordFile: '/etc/medledger/secrets/vault-password',
  });
  const socket = parseNodeConfig(
    {
      ...valid,
      vault: { backend: 'postgres', host: '/run/postgresql', port: 5432, user: 'm', database: 'd' },
    },
    { baseDirectory: '/' },
  );
  assert.deepEqual(socket.vault, {
    backend: 'postgres',
    host: '/run/postgresql',
    port: 5432,
    user: 'm',
    database: 'd',
  });
});

test('vault: a wrong backend, a missing or wrong connection field, or a password in the file is refused', () => {
  const base = { backend: 'postgres', host: 'db', port: 5432, user: 'm', database: 'd' };
  const cases: [unknown, RegExp][] = [
    ['postgres', /^config vault\.backend: expected "sqlite" or "postgres", found undefined/],
    [
      { backend: 'mysql' },
      /^config vault\.backend: expected "sqlite" or "postgres", found "mysql"/,
    ],
    [{ backend: 'sqlite', host: 'db' }, /^config vault\.host: /],
    [{ ...base, host: undefined }, /^config vault\.host: missing/],
    [{ ...base, port: 0 }, /^config vault\.port: expected a port from 1 to 65535, found 0/],
    [{ ...base, port: '5432' }, /^config vault\.port: expected a port/],
    [{ ...base, user: 'drop table;' }, /^config vault\.user: expected a PostgreSQL name/],
    [{ ...base, database: '' }, /^config vault\.database: expected a non-empty string/],
    [{ ...base, schema: 'A B' }, /^config vault\.schema: expected a PostgreSQL name/],
    [{ ...base, host: 'db host' }, /^config vault\.host: expected a host name/],
    [{ ...base, password: 'secret' }, /^config vault\.password: /],
  ];
  for (const [vault, message] of cases) {
    assert.throws(
      () => parseNodeConfig({ ...valid, vault }, { baseDirectory: '/' }),
      (error: unknown) => {
        assert.ok(error instanceof NodeConfigError);
        assert.equal(error.code, 'config-invalid');
        assert.match(error.message, message);
        return true;
      },
      JSON.stringify(vault),
    );
  }
});
