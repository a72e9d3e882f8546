/**
 * The node's configuration file (`medledger node start --config <file>`): JSON checked field by
 * field, every error naming the field, what was expected and what was found. Relative paths are
 * resolved against the configuration file's folder, so a network folder can be moved as a whole.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

import { MedLedgerError } from '../base/index.ts';
import { verifyPoolLimits } from '../workers/index.ts';
import type { NodeConfig, NodePeerConfig, NodeVaultConfig } from './types.ts';

/** Codes of `NodeConfigError`. */
export const NodeConfigErrorCode = {
  /** The file is missing or is not a regular file. */
  notFound: 'config-not-found',
  /** The file is too large or is not JSON. */
  malformed: 'config-malformed',
  /** A field is missing, unexpected or has a wrong value. */
  invalid: 'config-invalid',
} as const;

export type NodeConfigErrorCode = (typeof NodeConfigErrorCode)[keyof typeof NodeConfigErrorCode];

/** A configuration file that cannot be used; the message names the file or field. */
export class NodeConfigError extends MedLedgerError<NodeConfigErrorCode> {}

/** Bounds of a configuration file. */
export const nodeConfigLimits = {
  /** Largest configuration file, in bytes. */
  fileBytesMax: 256 * 1024,
  /** Most peers to dial. */
  peersMax: 150,
  /** Longest host name or address, in characters (RFC 1035 §2.3.4). */
  hostLengthMax: 253,
} as const;

/** The pino levels a configuration may name. */
export const nodeLogLevels = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
] as const;

const topFields = [
  'genesisFile',
  'keyFile',
  'dataDir',
  'p2p',
  'http',
  'peers',
  'logLevel',
  'verifyThreads',
  'vault',
];

function invalid(path: string, what: string): NodeConfigError {
  return new NodeConfigError(NodeConfigErrorCode.invalid, `config ${path}: ${what}`, { path });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 80));
  if (typeof value === 'object') return 'an object';
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    return typeof value;
  }
  if (typeof value === 'bigint') return `bigint ${value.toString()}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

function expectObject(
  path: string,
  value: unknown,
  fields: readonly string[],
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(path, `expected an object, found ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!fields.includes(key)) {
      throw invalid(
        path === '' ? key : `${path}.${key}`,
        `unexpected field (expected ${fields.join(', ')})`,
      );
    }
  }
  return value as Record<string, unknown>;
}

function expectString(path: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(path, `expected a non-empty string, found ${describe(value)}`);
  }
  return value;
}

function expectPath(path: string, value: unknown, baseDirectory: string): string {
  const text = expectString(path, value);
  if (text.includes('\0')) throw invalid(path, 'expected a file path, found a NUL character');
  return isAbsolute(text) ? text : resolve(baseDirectory, text);
}

function expectHost(path: string, value: unknown): string {
  const host = expectString(path, value);
  if (host.length > nodeConfigLimits.hostLengthMax || !/^[A-Za-z0-9.:_-]+$/.test(host)) {
    throw invalid(path, `expected a host name or IP address, found ${describe(host)}`);
  }
  return host;
}

function expectPort(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65_535) {
    throw invalid(path, `expected a port from 0 to 65535, found ${describe(value)}`);
  }
  return value;
}

function expectEndpoint(path: string, value: unknown): { host: string; port: number } {
  const endpoint = expectObject(path, value, ['host', 'port']);
  return {
    host: expectHost(`${path}.host`, endpoint.host),
    port: expectPort(`${path}.port`, endpoint.port),
  };
}

function expectVerifyThreads(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const max = verifyPoolLimits.threadsMax;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(
      'verifyThreads',
      `expected a whole number from 1 to ${max}, found ${describe(value)}`,
    );
  }
  return value;
}

/** PostgreSQL identifiers (user, database, schema): letters, digits, `_`, `$`, `-`, at most 63. */
const sqlNamePattern = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

function expectSqlName(path: string, value: unknown): string {
  const name = expectString(path, value);
  if (!sqlNamePattern.test(name)) {
    throw invalid(
      path,
      `expected a PostgreSQL name (a letter or _, then letters, digits, _, $ or -; at most 63), found ${describe(name)}`,
    );
  }
  return name;
}

function expectVault(value: unknown, baseDirectory: string): NodeVaultConfig | undefined {
  if (value === undefined) return undefined;
  const backend: unknown =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>).backend
      : undefined;
  if (backend === 'sqlite') {
    expectObject('vault', value, ['backend']);
    return { backend: 'sqlite' };
  }
  if (backend !== 'postgres') {
    throw invalid(
      'vault.backend',
      `expected "sqlite" or "postgres", found ${describe(backend)}${typeof value !== 'object' || value === null ? ` (vault is ${describe(value)})` : ''}`,
    );
  }
  const vault = expectObject('vault', value, [
    'backend',
    'host',
    'port',
    'user',
    'database',
    'schema',
    'passwordFile',
  ]);
  for (const field of ['host', 'port', 'user', 'database']) {
    if (vault[field] === undefined) {
      throw invalid(
        `vault.${field}`,
        'missing (a PostgreSQL vault needs host, port, user, database)',
      );
    }
  }
  const host =
    typeof vault.host === 'string' && vault.host.startsWith('/')
      ? expectPath('vault.host', vault.host, baseDirectory)
      : expectHost('vault.host', vault.host);
  const port = expectPort('vault.port', vault.port);
  if (port === 0) throw invalid('vault.port', 'expected a port from 1 to 65535, found 0');
  return {
    backend: 'postgres',
    host,
    port,
    user: expectSqlName('vault.user', vault.user),
    database: expectSqlName('vault.database', vault.database),
    ...(vault.schema === undefined ? {} : { schema: expectSqlName('vault.schema', vault.schema) }),
    ...(vault.passwordFile === undefined
      ? {}
      : { passwordFile: expectPath('vault.passwordFile', vault.passwordFile, baseDirectory) }),
  };
}

function expectPeers(value: unknown): NodePeerConfig[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid('peers', `expected an array, found ${describe(value)}`);
  if (value.length > nodeConfigLimits.peersMax) {
    throw invalid(
      'peers',
      `expected at most ${nodeConfigLimits.peersMax} peers, found ${value.length}`,
    );
  }
  const seen = new Set<string>();
  return value.map((item: unknown, index) => {
    const path = `peers[${index}]`;
    const peer = expectObject(path, item, ['publicKey', 'host', 'port']);
    const publicKey = expectString(`${path}.publicKey`, peer.publicKey);
    if (!/^[0-9a-f]{64}$/.test(publicKey)) {
      throw invalid(
        `${path}.publicKey`,
        `expected 64 lower-case hex digits, found ${describe(publicKey)}`,
      );
    }
    if (seen.has(publicKey)) throw invalid(`${path}.publicKey`, 'the key appears twice');
    seen.add(publicKey);
    const port = expectPort(`${path}.port`, peer.port);
    if (port === 0) throw invalid(`${path}.port`, 'expected a port from 1 to 65535, found 0');
    return { publicKey, host: expectHost(`${path}.host`, peer.host), port };
  });
}

/**
 * Checks an untrusted value (parsed JSON) and returns it as a `NodeConfig`, or throws
 * `NodeConfigError` (`config-invalid`) naming the first wrong field. Relative paths are resolved
 * against `baseDirectory`; `peers` defaults to none, `logLevel` to `info`, and `verifyThreads`
 * (the signature verifier threads) is left out when absent (the node picks one per core).
 */
export function parseNodeConfig(json: unknown, options: { baseDirectory: string }): NodeConfig {
  const config = expectObject('', json, topFields);
  for (const field of ['genesisFile', 'keyFile', 'dataDir', 'p2p', 'http']) {
    if (config[field] === undefined) throw invalid(field, 'missing (expected it to be present)');
  }
  const logLevel = config.logLevel === undefined ? 'info' : config.logLevel;
  if (typeof logLevel !== 'string' || !(nodeLogLevels as readonly string[]).includes(logLevel)) {
    throw invalid(
      'logLevel',
      `expected one of ${nodeLogLevels.join(', ')}, found ${describe(logLevel)}`,
    );
  }
  const { baseDirectory } = options;
  const verifyThreads = expectVerifyThreads(config.verifyThreads);
  const vault = expectVault(config.vault, baseDirectory);
  return {
    genesisFile: expectPath('genesisFile', config.genesisFile, baseDirectory),
    keyFile: expectPath('keyFile', config.keyFile, baseDirectory),
    dataDir: expectPath('dataDir', config.dataDir, baseDirectory),
    p2p: expectEndpoint('p2p', config.p2p),
    http: expectEndpoint('http', config.http),
    peers: expectPeers(config.peers),
    logLevel,
    ...(verifyThreads === undefined ? {} : { verifyThreads }),
    ...(vault === undefined ? {} : { vault }),
  };
}

/**
 * Reads and checks the configuration file `file` (see `parseNodeConfig`), resolving relative
 * paths against its folder. Throws `NodeConfigError` naming the file and what is wrong.
 */
export function loadNodeConfig(file: string): NodeConfig {
  const path = resolve(file);
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) {
      throw new NodeConfigError(
        NodeConfigErrorCode.notFound,
        `config file ${file}: expected a regular file, found a directory or device`,
      );
    }
    size = stat.size;
  } catch (error) {
    if (error instanceof NodeConfigError) throw error;
    throw new NodeConfigError(
      NodeConfigErrorCode.notFound,
      `config file ${file} does not exist or cannot be read`,
      { path: file },
    );
  }
  if (size > nodeConfigLimits.fileBytesMax) {
    throw new NodeConfigError(
      NodeConfigErrorCode.malformed,
      `config file ${file} is ${size} bytes, at most ${nodeConfigLimits.fileBytesMax} allowed`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new NodeConfigError(
      NodeConfigErrorCode.malformed,
      `config file ${file} is not valid JSON: ${(error as Error).message}`,
    );
  }
  try {
    return parseNodeConfig(json, { baseDirectory: dirname(path) });
  } catch (error) {
    if (error instanceof NodeConfigError) {
      throw new NodeConfigError(error.code, `${file}: ${error.message}`, error.details);
    }
    throw error;
  }
}
