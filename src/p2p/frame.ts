/**
 * Frames on a link (decision 0034): a 4-byte big-endian body length, then the body: 1 channel
 * byte and the payload. The decoder reads the length first and refuses a body over its limit
 * before buffering any of it, so a peer cannot make a node hold more than one frame.
 */

/** Bytes of the length prefix. */
export const frameLengthBytes = 4;

/** Bytes in front of a payload: the length prefix and the channel byte. */
export const frameHeaderBytes = frameLengthBytes + 1;

/** The channel of the link's own messages (the hello); the application uses 1–255. */
export const controlChannel = 0;

/** Highest channel number. */
export const channelMax = 255;

/** Encodes one frame into a new buffer. */
export function encodeFrame(channel: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(frameHeaderBytes + payload.length);
  frame.writeUInt32BE(1 + payload.length, 0);
  frame[frameLengthBytes] = channel;
  frame.set(payload, frameHeaderBytes);
  return frame;
}

/** One decoded frame. The payload is a view of bytes no one else holds or reuses. */
export interface Frame {
  readonly channel: number;
  readonly payload: Uint8Array;
}

/**
 * Splits a byte stream into frames. Holds at most one frame's bytes (plus the tail of the chunk
 * that completed the last one). The body limit may change between frames (the hello is smaller
 * than data frames): each length prefix is checked against the limit at the moment it is read.
 */
export class FrameDecoder {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  /** Body length of the frame being read, or -1 while its length prefix is incomplete. */
  private bodyBytes = -1;

  constructor(public bodyBytesMax: number) {}

  /** Bytes held, waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Appends `chunk` and hands every frame it completes to `onFrame`, in order, until `onFrame`
   * returns false (the link closed). Returns the declared body length that was refused (outside
   * 1…`bodyBytesMax`), after which the stream cannot be read further, or undefined.
   */
  push(chunk: Buffer, onFrame: (frame: Frame) => boolean): number | undefined {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.bodyBytes < 0) {
        if (this.buffered < frameLengthBytes) return undefined;
        const declared = this.take(frameLengthBytes).readUInt32BE(0);
        if (declared < 1 || declared > this.bodyBytesMax) {
          this.chunks.length = 0;
          this.buffered = 0;
          return declared;
        }
        this.bodyBytes = declared;
      }
      if (this.buffered < this.bodyBytes) return undefined;
      const body = this.take(this.bodyBytes);
      this.bodyBytes = -1;
      if (!onFrame({ channel: body[0]!, payload: body.subarray(1) })) return undefined;
    }
  }

  /** Removes the first `count` buffered bytes (count ≤ buffered), copying only across chunks. */
  private take(count: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= count) {
      this.buffered -= count;
      if (first.length === count) this.chunks.shift();
      else this.chunks[0] = first.subarray(count);
      return first.subarray(0, count);
    }
    const out = Buffer.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.chunks[0]!;
      const used = Math.min(chunk.length, count - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    this.buffered -= count;
    return out;
  }
}
