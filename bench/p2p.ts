/**
 * Peer-to-peer figures for `npm run bench`: frames/s and MB/s from one PeerNetwork to another
 * over loopback (mutual TLS 1.3, AES-256-GCM), 1 KiB payloads, both ends in this one process, so
 * the figure includes the receiver's decoding on the same event loop.
 */
import { utf8 } from '../src/base/index.ts';
import { ed25519KeyPairFromSeed, sha256 } from '../src/crypto/index.ts';
import { type PeerLogger, type PeerNetwork, startPeerNetwork } from '../src/p2p/index.ts';
import { measureRateAsync, report } from './harness.ts';

const silentLogger: PeerLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

/** Frames per timed run. */
const framesPerRun = 50_000;
/** Frames in flight at most (sent and not yet received): below the queue bound, so none drop. */
const windowFrames = 2_000;
const payloadBytes = 1024;

/** Measures one network sending 1 KiB frames to another over 127.0.0.1; prints two figures. */
export async function benchP2p(): Promise<void> {
  const keyA = ed25519KeyPairFromSeed(sha256(utf8('bench-p2p:a')));
  const keyB = ed25519KeyPairFromSeed(sha256(utf8('bench-p2p:b')));
  let received = 0;
  let wake: (() => void) | undefined;
  const common = {
    chainId: 'medledger-bench',
    isAllowedPeer: () => true,
    logger: silentLogger,
    listen: { host: '127.0.0.1', port: 0 },
  };
  const b: PeerNetwork = await startPeerNetwork({
    ...common,
    keyPair: keyB,
    peers: [],
    onFrame: () => {
      received++;
      if (wake !== undefined) {
        const resume = wake;
        wake = undefined;
        resume();
      }
    },
  });
  let up: () => void = () => undefined;
  const linked = new Promise<void>((resolve) => (up = resolve));
  const a: PeerNetwork = await startPeerNetwork({
    ...common,
    keyPair: keyA,
    peers: [{ publicKey: keyB.publicKey, ...b.address }],
    onFrame: () => undefined,
    onPeerUp: () => up(),
  });
  await linked;
  const payload = new Uint8Array(payloadBytes).fill(0x5a);
  try {
    const rate = await measureRateAsync({
      operations: framesPerRun,
      run: async () => {
        const start = received;
        let sent = 0;
        while (received - start < framesPerRun) {
          while (sent < framesPerRun && sent - (received - start) < windowFrames) {
            if (!a.send(b.id, 2, payload)) throw new Error('bench: a frame was dropped');
            sent++;
          }
          if (received - start < framesPerRun)
            await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    });
    report('p2p 1 KiB frames, one link over loopback TLS 1.3', rate, 'frames/s');
    report('p2p 1 KiB frames, payload throughput', (rate * payloadBytes) / 1e6, 'MB/s');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}
