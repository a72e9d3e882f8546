/**
 * `medledger node start`: starts the node and its HTTP API, prints where they listen, and on
 * SIGINT or SIGTERM stops the API first (no new requests), then the node (consensus, links,
 * store), and resolves; a second signal exits at once. A fatal node error stops both and fails.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Logger } from 'pino';

import { startApiServer } from '../api/index.ts';
import { MedLedgerError, toHex } from '../base/index.ts';
import { loadEd25519KeyFile } from '../keys/index.ts';
import {
  type NodeConfig,
  collectGarbageNow,
  heapGrowingPercentVariable,
  setHeapGrowingPercent,
  startNode,
} from '../node/index.ts';
import { demoSignIn } from './demo-sign-in.ts';
import { findFreePorts } from './network-files.ts';
import { type RecordsWiring, startRecords } from './start-records.ts';

/** Where `npm install` builds the web app (scripts/build-web.ts). */
export const webAppDirectory = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/web');

/** Exit code of a second Ctrl-C (128 + SIGINT). */
const forcedExitCode = 130;

/** Runs a node until a signal or a fatal error; prints its URL when it is up. */
export async function startNodeProcess(options: {
  config: NodeConfig;
  logger: Logger;
  print: (line: string) => void;
  /** A demo folder whose seeded users the web app signs in (`medledger demo` only). */
  demoSignInFolder?: string;
}): Promise<void> {
  const { config, logger, print } = options;
  // Before the node loads anything, so that every collection uses it (decision 0067).
  const heapGrowingPercent = setHeapGrowingPercent(process.env[heapGrowingPercentVariable]);
  if (heapGrowingPercent !== null)
    logger.info({ heapGrowingPercent }, 'V8 heap growing factor set');
  let fatal: unknown = null;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const node = await startNode(config, {
    logger,
    onFatal: (error) => {
      fatal = error;
      wake();
    },
  });
  let api;
  let records: RecordsWiring | null = null;
  try {
    // Tokens name the node's URL, so the port is fixed before the server starts.
    const port = config.http.port === 0 ? (await findFreePorts(1))[0]! : config.http.port;
    const baseUrl = `http://${config.http.host}:${port}`;
    records = await startRecords({
      node,
      keyPair: await loadEd25519KeyFile(config.keyFile),
      dataDir: config.dataDir,
      ...(config.vault === undefined ? {} : { vault: config.vault }),
      baseUrl,
      logger,
    });
    api = await startApiServer({
      node,
      host: config.http.host,
      port,
      logger,
      fhir: records.fhir,
      smart: records.smart,
      extraMetrics: records.metricsText,
      web: {
        directory: webAppDirectory,
        ...(options.demoSignInFolder === undefined
          ? {}
          : {
              demo: demoSignIn({
                folder: options.demoSignInFolder,
                baseUrl,
                dataDir: config.dataDir,
              }),
            }),
      },
    });
  } catch (error) {
    await records?.close();
    await node.stop();
    throw error;
  }
  // Start-up's garbage (the FHIR definitions' parse above all) goes now, not after the first
  // load has grown the heap on top of it (decision 0046).
  collectGarbageNow();
  const status = node.status();
  print(
    `medledger node ${toHex(node.nodeKey)} of chain ${node.chainId} at height ${status.height}: ` +
      `http://${api.address.host}:${api.address.port} (p2p ${status.p2pAddress.host}:${status.p2pAddress.port})`,
  );
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(forcedExitCode);
    }
    logger.info({ signal }, 'stopping');
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await stopped;
  } finally {
    await api.close();
    await records.close();
    await node.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (fatal !== null) {
    throw new MedLedgerError(
      'node-fatal',
      `the node stopped on a fatal error: ${fatal instanceof Error ? fatal.message : JSON.stringify(fatal)}`,
    );
  }
  print('medledger node stopped');
}
