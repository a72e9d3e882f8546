// The public surface of p2p/: authenticated, encrypted node-to-node links over TCP (see README.md).
export { PeerError, PeerErrorCode } from './errors.ts';
export { p2pLimits, type P2pLimits } from './limits.ts';
export type {
  PeerId,
  PeerAddress,
  PeerInfo,
  PeerLogger,
  PeerNetworkOptions,
  PeerNetwork,
} from './types.ts';
export { startPeerNetwork } from './start-peer-network.ts';
export { p2pProtocolVersion } from './hello.ts';
