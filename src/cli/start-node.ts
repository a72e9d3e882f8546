/**
 * `medledger node start`: starts the node and its HTTP API, prints where they listen, and on
 * SIGINT or SIGTERM stops the API first (no new requests), then the node (consensus, links,
 * store), and resolves; a second signal exits at once. A fatal node error stops both and fails.
 */
import type { Logger } from 'pino';

import { startApiServer } from '../api/index.ts';
import { MedLedgerError, toHex } from '../base/index.ts';
import { type NodeConfig, startNode } from '../node/index.ts';

/** Exit code of a second Ctrl-C (128 + SIGINT). */
const forcedExitCode = 130;

/** Runs a node until a signal or a fatal error; prints its URL when it is up. */
export async function startNodeProcess(options: {
  config: NodeConfig;
  logger: Logger;
  print: (line: string) => void;
}): Promise<void> {
  const { config, logger, print } = options;
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
  try {
    api = await startApiServer({ node, host: config.http.host, port: config.http.port, logger });
  } catch (error) {
    await node.stop();
    throw error;
  }
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
