// The public surface of src/node, curated by hand: starting a node from its configuration, the
// running node's types, the configuration file and the node's logger (see README.md).
export {
  type StartNodeOptions,
  startNode,
  loadGenesisFile,
  verifyThreadCount,
} from './start-node.ts';
export { NodeError, NodeErrorCode } from './errors.ts';
export {
  collectGarbageNow,
  heapGrowingPercentVariable,
  setHeapGrowingPercent,
} from './collect-garbage.ts';
export { nodeLimits, nodeConsensusTimeouts, NodeChannel } from './limits.ts';
export type {
  NodeConfig,
  NodePeerConfig,
  NodeVaultConfig,
  NodeStatus,
  ValidatorStatus,
  PeerStatus,
  CommittedBlock,
  SubmitResult,
  TransactionLocation,
  NodeEvent,
  RunningNode,
  OwnSubmitResult,
  CommittedChainView,
  CommittedStateReader,
  PeerRequest,
  PeerRequestHandler,
  PeerRequestOptions,
} from './types.ts';
export { PeerAnswerCode } from './peer-requests.ts';
export {
  NodeConfigError,
  NodeConfigErrorCode,
  nodeConfigLimits,
  nodeLogLevels,
  parseNodeConfig,
  loadNodeConfig,
} from './config.ts';
export { createNodeLogger, nodeLogRedactPaths, redactedValue } from './logger.ts';
