/**
 * The codec's tunable bounds (TIGER_STYLE: every input has a limit). Both the encoder and the
 * decoder enforce them, so the encoder never produces bytes that the decoder refuses.
 */

/**
 * Most levels of nested arrays and maps in one item (a bare integer is level 0, `[]` is level 1,
 * `[[]]` level 2). Bounds the decoder's stack of open containers; chain objects need fewer than 10.
 * Range: 1 ≤ value ≤ 64.
 */
export const codecDepthMax = 32;

/**
 * Most bytes in one encoded item: 16 MiB. Bounds the decoder's input and the encoder's output;
 * a caller such as the p2p layer may pass a smaller `bytesMax` to `decodeCbor`. Range: 1 byte to
 * 2^30 bytes.
 */
export const codecBytesMax = 16 * 1024 * 1024;
