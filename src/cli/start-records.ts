/**
 * Starts what serves records on a node: this organisation's vault (SQLite in the node's data
 * folder, its key-encryption key in a 0600 file beside it, made at first start), the token
 * signing key (0600, made at first start), the records service, and the options of the FHIR and
 * SMART routes. The organisation is the member whose node key this node holds (genesis).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type { Logger } from 'pino';

import type { FhirRoutesOptions, SmartRoutesOptions } from '../api/index.ts';
import {
  type AccessTokenSigner,
  MemoryReplayCache,
  authLimits,
  cachedTokenVerifier,
  type TokenSigningKey,
  ed25519PublicJwk,
  loadOrCreateTokenSigningKey,
  verifyAccessToken,
} from '../auth/index.ts';
import { MedLedgerError } from '../base/index.ts';
import { findMemberOfNodeKey, readClient } from '../contracts/index.ts';
import { securityAuditMetrics } from './security-audit-metrics.ts';
import type { Ed25519KeyPair } from '../crypto/index.ts';
import { KeyFileError, KeyFileErrorCode, readSecretFile } from '../keys/index.ts';
import type { NodeVaultConfig, RunningNode } from '../node/index.ts';
import {
  RecordsService,
  SecurityLogAnchorer,
  recordsLimits,
  securityAuditLimits,
} from '../records/index.ts';
import { openSecurityAuditLog } from '../store/index.ts';
import {
  type RecordVault,
  type VaultKek,
  VaultError,
  generateVaultKek,
  loadVaultKekFile,
  openPostgresRecordVault,
  openSqliteRecordVault,
  saveVaultKekFile,
} from '../vault/index.ts';

/** How long stopping waits for queued audit events to commit. */
const recordsCloseFlushMs = 3_000;

/**
 * The environment variable that sets how often the node anchors its security log's head on
 * chain, in ms (decision 0063; tests use a short interval). Unset:
 * `recordsLimits.securityLogAnchorIntervalMs`.
 */
export const securityLogAnchorIntervalVariable = 'MEDLEDGER_SECURITY_LOG_ANCHOR_INTERVAL_MS';

/** The anchoring interval from the environment's value, or the default; a bad value is refused. */
export function securityLogAnchorIntervalMsOf(value: string | undefined): number {
  if (value === undefined || value === '') return recordsLimits.securityLogAnchorIntervalMs;
  const ms = /^[0-9]{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (
    !(ms >= recordsLimits.securityLogAnchorIntervalMsMin) ||
    ms > recordsLimits.securityLogAnchorIntervalMsMax
  ) {
    throw new MedLedgerError(
      'invalid-config',
      `${securityLogAnchorIntervalVariable}: expected a whole number of ms from ${recordsLimits.securityLogAnchorIntervalMsMin} to ${recordsLimits.securityLogAnchorIntervalMsMax}, found ${JSON.stringify(value.slice(0, 32))}`,
    );
  }
  return ms;
}

/** Files of the records service in a node's data folder. */
export const recordsFiles = {
  vault: 'vault.sqlite',
  kek: 'vault-kek.json',
  /** The next KEK while `medledger vault rotate-kek` runs (decision 0065). */
  kekNext: 'vault-kek.next.json',
  tokenKey: 'token-signing-key.json',
  /** The node-local security audit log of refusals before authorisation (decision 0059). */
  securityLog: 'security-audit.sqlite',
} as const;

/** The organisation whose member record holds this node's key, or null. */
export function organisationOfNode(node: RunningNode): string | null {
  return findMemberOfNodeKey(node.stateReader(), node.nodeKey)?.orgId ?? null;
}

async function loadOrCreateKek(
  path: string,
): Promise<Awaited<ReturnType<typeof loadVaultKekFile>>> {
  try {
    return await loadVaultKekFile(path);
  } catch (error) {
    if (!(error instanceof KeyFileError) || error.code !== KeyFileErrorCode.notFound) throw error;
  }
  const kek = generateVaultKek();
  await saveVaultKekFile({ path, kek });
  return kek;
}

/** The token key of a node's data folder (the demo's `token` command signs with it too). */
export function loadNodeTokenKey(dataDir: string): Promise<TokenSigningKey> {
  return loadOrCreateTokenSigningKey({ path: join(dataDir, recordsFiles.tokenKey) });
}

/** What `startRecords` returns: the routes' options and how to stop. */
export interface RecordsWiring {
  readonly orgId: string;
  readonly service: RecordsService;
  readonly fhir: FhirRoutesOptions;
  readonly smart: SmartRoutesOptions;
  /** The records service's Prometheus text (security audit), for `extraMetrics`. */
  readonly metricsText: () => Promise<string>;
  close(): Promise<void>;
}

/** Longest password file, in bytes. */
const passwordFileBytesMax = 1024;

/**
 * The password in `file`: its first line. Read as keys/' secret files are (the mode checked on
 * the open file: no group or other permission bits, `too-open` otherwise), since it opens the
 * rows of every patient's encrypted records.
 */
function readPasswordFile(file: string): Promise<string> {
  return readSecretFile({
    path: file,
    label: 'vault.passwordFile',
    writtenBy: 'the operator (one line: the vault database password)',
    bytesMax: passwordFileBytesMax,
    decode: (bytes) => {
      if (bytes.length > passwordFileBytesMax) {
        throw new MedLedgerError(
          'invalid-config',
          `vault.passwordFile ${file}: more than ${passwordFileBytesMax} bytes, expected one line`,
        );
      }
      return new TextDecoder().decode(bytes).split(/\r?\n/)[0] ?? '';
    },
  });
}

/** The vault the node configuration names: SQLite in `dataDir` by default, or PostgreSQL. */
export async function openNodeVault(options: {
  dataDir: string;
  kek: VaultKek;
  config: NodeVaultConfig | undefined;
}): Promise<RecordVault> {
  const { config, kek } = options;
  if (config === undefined || config.backend === 'sqlite') {
    return openSqliteRecordVault({ file: join(options.dataDir, recordsFiles.vault), kek });
  }
  return openPostgresRecordVault({
    connection: {
      host: config.host,
      port: config.port,
      user: config.user,
      database: config.database,
      ...(config.passwordFile === undefined
        ? {}
        : { password: await readPasswordFile(config.passwordFile) }),
    },
    kek,
    ...(config.schema === undefined ? {} : { schema: config.schema }),
    exclusive: true,
  });
}

/**
 * The error to stop a node with when its vault does not open: a `wrong-kek` beside the next KEK
 * of a rotation says that the rotation was interrupted and how to finish it (decision 0065).
 */
export function explainVaultOpenFailure(error: unknown, dataDir: string): unknown {
  if (
    error instanceof VaultError &&
    error.code === 'wrong-kek' &&
    existsSync(join(dataDir, recordsFiles.kekNext))
  ) {
    return new MedLedgerError(
      'kek-rotation',
      `${error.message}. A KEK rotation was interrupted after the vault changed: run ` +
        '`medledger vault rotate-kek --config <this node config>` again to finish it',
    );
  }
  return error;
}

/** Opens the vault and keys of `dataDir` and builds the records service over `node`. */
export async function startRecords(options: {
  node: RunningNode;
  keyPair: Ed25519KeyPair;
  dataDir: string;
  /** Where the vault is kept (the node configuration's `vault`); absent: SQLite in `dataDir`. */
  vault?: NodeVaultConfig;
  /** The node's HTTP base URL as clients reach it, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  logger: Logger;
  /** How often the security log's head is anchored (default: from the environment, or 60 s). */
  securityLogAnchorIntervalMs?: number;
}): Promise<RecordsWiring> {
  const { node, dataDir, baseUrl, logger } = options;
  const anchorIntervalMs =
    options.securityLogAnchorIntervalMs ??
    securityLogAnchorIntervalMsOf(process.env[securityLogAnchorIntervalVariable]);
  const orgId = organisationOfNode(node);
  if (orgId === null) {
    throw new MedLedgerError(
      'not-a-member',
      'this node key belongs to no member of the network, so it holds no records; add the organisation to the genesis file or by a membership vote',
    );
  }
  const kek = await loadOrCreateKek(join(dataDir, recordsFiles.kek));
  let vault: RecordVault;
  try {
    vault = await openNodeVault({ dataDir, kek, config: options.vault });
  } catch (error) {
    throw explainVaultOpenFailure(error, dataDir);
  }
  const securityLog = openSecurityAuditLog({
    file: join(dataDir, recordsFiles.securityLog),
    limits: {
      rowsMax: securityAuditLimits.rowsMax,
      rotationRows: securityAuditLimits.rotationRows,
      rowBodyBytesMax: securityAuditLimits.rowBodyBytesMax,
      pageRowsMax: securityAuditLimits.pageRowsMax,
    },
  });
  const signingKey = await loadNodeTokenKey(dataDir);
  const fhirBase = `${baseUrl}/fhir`;
  const signer: AccessTokenSigner = { signingKey, issuer: baseUrl, audience: fhirBase };
  const service = new RecordsService({
    node,
    vault,
    orgId,
    nodeKeyPair: options.keyPair,
    logger,
    now: () => Date.now(),
    tokenUrl: `${baseUrl}/auth/token`,
    securityLog,
  });
  // The security log's head goes on chain periodically (decision 0063), from this process's own
  // node key like the service's anchors and audit batches.
  const anchorer = new SecurityLogAnchorer({
    node,
    orgId,
    log: securityLog,
    intervalMs: anchorIntervalMs,
    logger,
  });
  anchorer.start();
  return {
    orgId,
    service,
    metricsText: securityAuditMetrics(() => service.securityAudit.counts()),
    fhir: {
      service,
      realm: `medledger ${orgId}`,
      publicBaseUrl: fhirBase,
      tokens: {
        verify: cachedTokenVerifier({
          verify: (token) =>
            verifyAccessToken(token, {
              keys: [signingKey],
              issuer: baseUrl,
              audience: fhirBase,
              now: Date.now(),
            }),
          entriesMax: authLimits.verifiedTokenCacheEntriesMax,
          nowMs: () => Date.now(),
        }),
      },
    },
    smart: {
      baseUrl,
      signer,
      verificationKeys: [signingKey],
      replayCache: new MemoryReplayCache({ entriesMax: 10_000 }),
      now: () => Date.now(),
      clients: {
        // Backend clients are registered on chain by their organisation (identity contract)
        // with an Ed25519 key; they sign their assertions with EdDSA.
        findClient: async (clientId) => {
          const client = readClient(node.stateReader(), orgId, clientId);
          if (client === null || !client.active) return null;
          return {
            clientId,
            orgId,
            jwks: [await ed25519PublicJwk(client.publicKey)],
            allowedScopes: client.scopes,
          };
        },
      },
    },
    close: async () => {
      // Queued audit events commit only while a quorum runs: when the whole network stops at
      // once, wait a bounded time for them, then log what is lost rather than hang.
      let timer: NodeJS.Timeout | undefined;
      const flushed = await Promise.race([
        service.flush().then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), recordsCloseFlushMs);
        }),
      ]);
      clearTimeout(timer);
      if (!flushed) {
        logger.error(
          { queued: service.audit.counts.queued },
          'stopping with audit events not committed: no quorum to commit them',
        );
      }
      // The summaries flushed above are rows too: the last head goes on chain if it can.
      await anchorer.stop({ finalAnchorWaitMs: recordsLimits.securityLogAnchorShutdownWaitMs });
      await vault.close();
      securityLog.close();
    },
  };
}
