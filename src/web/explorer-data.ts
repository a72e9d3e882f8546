/**
 * What the network explorer reads and works out, with no DOM and no I/O: the shapes of
 * `GET /chain/status`, `GET /chain/blocks/<h>` and `GET /chain/proofs/head` (src/api), a block
 * reduced to what the explorer shows (kinds, ids, signers, sizes, counts — never a transaction's
 * body), each validator's health as this node sees it, and the series of the charts.
 */

/** The explorer's tunable numbers. */
export const explorerLimits = {
  /** Recent blocks kept and charted (one a second in the demo: about a minute). */
  windowBlocks: 60,
  /** Recent blocks listed in the blocks table, newest first. */
  listedBlocks: 12,
  /** Pause between the end of one refresh and the start of the next, in milliseconds. */
  refreshIntervalMs: 3_000,
  /** Block requests in flight at once while a refresh catches up. */
  blockFetchConcurrencyMax: 4,
  /**
   * A validator that signed one of this many newest commits, or proposed one of these blocks, is
   * healthy (with four validators the proposer comes round every four heights).
   */
  healthyBlocksRecent: 10,
} as const;

/** One validator as `GET /chain/status` lists it. */
export interface ValidatorJson {
  readonly publicKey: string;
  readonly power: number;
}

/** One connected peer as `GET /chain/status` lists it (`id` is the peer's node key). */
export interface PeerJson {
  readonly id: string;
  readonly direction: 'inbound' | 'outbound';
  readonly remote: string;
}

/** `GET /chain/status` (src/node `NodeStatus`). */
export interface StatusJson {
  readonly chainId: string;
  readonly nodeKey: string;
  readonly isValidator: boolean;
  readonly height: number;
  readonly round: number;
  readonly lastBlockHash: string;
  readonly lastBlockTime: number;
  readonly stateRoot: string;
  readonly logSize: number;
  readonly logRoot: string;
  readonly validators: readonly ValidatorJson[];
  readonly peers: readonly PeerJson[];
  readonly mempoolSize: number;
}

/** `GET /chain/proofs/head`: the newest header and the commit that certifies it. */
export interface SignedHeadJson {
  readonly height: number;
  readonly time: number;
  readonly blockHash: string;
  readonly logSize: number;
  readonly logRoot: string;
  readonly stateRoot: string;
}

/** A transaction as the explorer shows it: kind, id, signer, size and outcome — no body. */
export interface TransactionSummary {
  readonly id: string;
  readonly kind: string;
  readonly signer: string;
  readonly nonce: number;
  /** Bytes of the transaction's canonical body (its content is never shown). */
  readonly bodyBytes: number;
  readonly ok: boolean;
  /** The receipt's error code when refused by the contracts. */
  readonly code: string | null;
}

/** A committed block as the explorer shows it. */
export interface BlockSummary {
  readonly height: number;
  readonly hash: string;
  readonly time: number;
  readonly prevHash: string;
  readonly txRoot: string;
  readonly stateRoot: string;
  readonly logRoot: string;
  readonly logSize: number;
  readonly validatorsHash: string;
  readonly proposer: string;
  readonly transactions: readonly TransactionSummary[];
  /** Indexes (into the validator set) of the validators whose signatures commit this block. */
  readonly signerIndexes: readonly number[];
}

/** A reply of the node that does not have the expected shape. */
export class UnexpectedAnswer extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnexpectedAnswer';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field<T>(
  record: Record<string, unknown>,
  name: string,
  is: (value: unknown) => value is T,
  what: string,
  where: string,
): T {
  const value = record[name];
  if (!is(value)) {
    const found = value === undefined ? 'nothing' : JSON.stringify(value).slice(0, 40);
    throw new UnexpectedAnswer(`${where}: ${name}: expected ${what}, found ${found}`);
  }
  return value;
}

const isText = (value: unknown): value is string => typeof value === 'string';
const isHex = (value: unknown): value is string =>
  typeof value === 'string' && /^[0-9a-f]*$/.test(value);
const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isBoolean = (value: unknown): value is boolean => typeof value === 'boolean';
const isList = (value: unknown): value is unknown[] => Array.isArray(value);
const isObject = (value: unknown): value is Record<string, unknown> => isRecord(value);

/** Checks and narrows `GET /chain/status`; throws `UnexpectedAnswer` naming the wrong field. */
export function readStatus(json: unknown): StatusJson {
  const where = 'chain status';
  if (!isRecord(json)) throw new UnexpectedAnswer(`${where}: expected a JSON object`);
  const validators = field(json, 'validators', isList, 'a list', where).map((item, index) => {
    const at = `${where}: validators[${index}]`;
    if (!isRecord(item)) throw new UnexpectedAnswer(`${at}: expected an object`);
    return {
      publicKey: field(item, 'publicKey', isHex, 'hex', at),
      power: field(item, 'power', isCount, 'a whole number', at),
    };
  });
  const peers = field(json, 'peers', isList, 'a list', where).map((item, index) => {
    const at = `${where}: peers[${index}]`;
    if (!isRecord(item)) throw new UnexpectedAnswer(`${at}: expected an object`);
    const direction = item.direction === 'inbound' ? 'inbound' : 'outbound';
    return {
      id: field(item, 'id', isHex, 'hex', at),
      direction,
      remote: field(item, 'remote', isText, 'text', at),
    } as const;
  });
  return {
    chainId: field(json, 'chainId', isText, 'text', where),
    nodeKey: field(json, 'nodeKey', isHex, 'hex', where),
    isValidator: field(json, 'isValidator', isBoolean, 'true or false', where),
    height: field(json, 'height', isCount, 'a whole number', where),
    round: field(json, 'round', isCount, 'a whole number', where),
    lastBlockHash: field(json, 'lastBlockHash', isHex, 'hex', where),
    lastBlockTime: field(json, 'lastBlockTime', isCount, 'Unix milliseconds', where),
    stateRoot: field(json, 'stateRoot', isHex, 'hex', where),
    logSize: field(json, 'logSize', isCount, 'a whole number', where),
    logRoot: field(json, 'logRoot', isHex, 'hex', where),
    validators,
    peers,
    mempoolSize: field(json, 'mempoolSize', isCount, 'a whole number', where),
  };
}

/** Checks and narrows `GET /chain/proofs/head` (the hex header and commit are not kept). */
export function readSignedHead(json: unknown): SignedHeadJson {
  const where = 'signed head';
  if (!isRecord(json)) throw new UnexpectedAnswer(`${where}: expected a JSON object`);
  return {
    height: field(json, 'height', isCount, 'a whole number', where),
    time: field(json, 'time', isCount, 'Unix milliseconds', where),
    blockHash: field(json, 'blockHash', isHex, 'hex', where),
    logSize: field(json, 'logSize', isCount, 'a whole number', where),
    logRoot: field(json, 'logRoot', isHex, 'hex', where),
    stateRoot: field(json, 'stateRoot', isHex, 'hex', where),
  };
}

/**
 * Reduces `GET /chain/blocks/<h>` to what the explorer shows. Transaction bodies are measured
 * and dropped here, so no body is ever held by the page's state, let alone shown.
 */
export function readBlock(json: unknown): BlockSummary {
  if (!isRecord(json)) throw new UnexpectedAnswer('block: expected a JSON object');
  const height = field(json, 'height', isCount, 'a whole number', 'block');
  const where = `block ${height}`;
  const header = field(json, 'header', isObject, 'an object', where);
  const at = `${where}: header`;
  const receipts = field(json, 'receipts', isList, 'a list', where);
  const transactions = field(json, 'txs', isList, 'a list', where).map((item, index) => {
    const txAt = `${where}: txs[${index}]`;
    if (!isRecord(item)) throw new UnexpectedAnswer(`${txAt}: expected an object`);
    const receipt: unknown = receipts[index];
    const ok = isRecord(receipt) ? receipt.ok === true : false;
    const code = isRecord(receipt) && typeof receipt.code === 'string' ? receipt.code : null;
    return {
      id: field(item, 'id', isHex, 'hex', txAt),
      kind: field(item, 'kind', isText, 'text', txAt),
      signer: field(item, 'signer', isHex, 'hex', txAt),
      nonce: field(item, 'nonce', isCount, 'a whole number', txAt),
      bodyBytes: field(item, 'body', isHex, 'hex', txAt).length / 2,
      ok,
      code: ok ? null : code,
    };
  });
  const commit = field(json, 'commit', isObject, 'an object', where);
  const signerIndexes = field(commit, 'signatures', isList, 'a list', `${where}: commit`).map(
    (item, index) => {
      const sigAt = `${where}: commit.signatures[${index}]`;
      if (!isRecord(item)) throw new UnexpectedAnswer(`${sigAt}: expected an object`);
      return field(item, 'validatorIndex', isCount, 'a whole number', sigAt);
    },
  );
  return {
    height,
    hash: field(json, 'hash', isHex, 'hex', where),
    time: field(header, 'time', isCount, 'Unix milliseconds', at),
    prevHash: field(header, 'prevHash', isHex, 'hex', at),
    txRoot: field(header, 'txRoot', isHex, 'hex', at),
    stateRoot: field(header, 'stateRoot', isHex, 'hex', at),
    logRoot: field(header, 'logRoot', isHex, 'hex', at),
    logSize: field(header, 'logSize', isCount, 'a whole number', at),
    validatorsHash: field(header, 'validatorsHash', isHex, 'hex', at),
    proposer: field(header, 'proposer', isHex, 'hex', at),
    transactions,
    signerIndexes,
  };
}

/** A long hex string shortened for reading: its first 8 and last 4 digits (`38465982…f34a`). */
export function shortHex(hex: string): string {
  return hex.length <= 14 ? hex : `${hex.slice(0, 8)}…${hex.slice(-4)}`;
}

/** How this node reaches a validator: it is this node, a live link (either way), or none. */
export type ValidatorLink = 'this node' | 'inbound' | 'outbound' | 'not connected';

/** How a validator looks from the commits of the recent blocks. */
export type ValidatorState = 'healthy' | 'lagging' | 'silent' | 'unknown';

/** One validator's health as this node sees it. */
export interface ValidatorHealth {
  /** 1-based position in the validator set, for people ("validator 2"). */
  readonly number: number;
  readonly publicKey: string;
  readonly power: number;
  readonly link: ValidatorLink;
  /** The newest block of the window whose commit carries its signature. */
  readonly lastSigned: number | null;
  /** Commits of the window that carry its signature, of `commitsSeen`. */
  readonly signedCount: number;
  readonly commitsSeen: number;
  /** The newest block of the window it proposed. */
  readonly lastProposed: number | null;
  readonly proposedCount: number;
  readonly state: ValidatorState;
}

/**
 * Each validator's health from what this node knows: its peer links (status) and the commits
 * and proposers of the recent blocks (`blocks`, oldest first). A commit carries only the
 * signatures this node had when it decided (more than two thirds), so a live validator can be
 * missing from several in a row; its turns as proposer show it too. It is healthy when it signed
 * or proposed one of the `healthyBlocksRecent` newest blocks, lagging when it did so only
 * earlier in the window, silent when not at all.
 */
export function validatorHealth(input: {
  status: StatusJson;
  blocks: readonly BlockSummary[];
}): ValidatorHealth[] {
  const { status, blocks } = input;
  const links = new Map(status.peers.map((peer) => [peer.id, peer.direction] as const));
  const newest = blocks.at(-1)?.height ?? null;
  return status.validators.map((validator, index) => {
    let lastSigned: number | null = null;
    let signedCount = 0;
    let lastProposed: number | null = null;
    let proposedCount = 0;
    for (const block of blocks) {
      if (block.signerIndexes.includes(index)) {
        signedCount += 1;
        lastSigned = block.height;
      }
      if (block.proposer === validator.publicKey) {
        proposedCount += 1;
        lastProposed = block.height;
      }
    }
    const lastActive = Math.max(lastSigned ?? 0, lastProposed ?? 0);
    let state: ValidatorState;
    if (newest === null) state = 'unknown';
    else if (lastActive === 0) state = 'silent';
    else if (newest - lastActive < explorerLimits.healthyBlocksRecent) state = 'healthy';
    else state = 'lagging';
    const link: ValidatorLink =
      validator.publicKey === status.nodeKey
        ? 'this node'
        : (links.get(validator.publicKey) ?? 'not connected');
    return {
      number: index + 1,
      publicKey: validator.publicKey,
      power: validator.power,
      link,
      lastSigned,
      signedCount,
      commitsSeen: blocks.length,
      lastProposed,
      proposedCount,
      state,
    };
  });
}

/** One block as a point of the charts. */
export interface BlockPoint {
  readonly height: number;
  readonly time: number;
  readonly transactions: number;
  /** Milliseconds since the previous block's time (its commit interval); null for the first. */
  readonly intervalMs: number | null;
  /** Transactions per second over that interval; null when there is no interval. */
  readonly perSecond: number | null;
}

/** The chart points of consecutive blocks (oldest first); a gap in heights has no interval. */
export function blockPoints(blocks: readonly BlockSummary[]): BlockPoint[] {
  return blocks.map((block, index) => {
    const previous = index > 0 ? blocks[index - 1] : undefined;
    const intervalMs =
      previous !== undefined && previous.height === block.height - 1
        ? Math.max(0, block.time - previous.time)
        : null;
    const transactions = block.transactions.length;
    const perSecond =
      intervalMs === null || intervalMs === 0 ? null : (transactions * 1000) / intervalMs;
    return { height: block.height, time: block.time, transactions, intervalMs, perSecond };
  });
}

/** The numbers the charts' captions and text alternatives state. */
export interface WindowSummary {
  readonly blocks: number;
  readonly firstHeight: number | null;
  readonly lastHeight: number | null;
  readonly transactions: number;
  /** From the first block's time to the last's, in milliseconds. */
  readonly spanMs: number;
  /** Transactions per second over the span (those of the first block excluded: it opens it). */
  readonly perSecond: number | null;
  readonly busiestBlock: { readonly height: number; readonly transactions: number } | null;
  readonly intervalMedianMs: number | null;
  readonly intervalMaxMs: number | null;
  readonly intervalMinMs: number | null;
}

/** Summarises the chart points of the window. */
export function summarisePoints(points: readonly BlockPoint[]): WindowSummary {
  const first = points[0];
  const last = points.at(-1);
  const transactions = points.reduce((sum, point) => sum + point.transactions, 0);
  const spanMs = first !== undefined && last !== undefined ? last.time - first.time : 0;
  const counted = transactions - (first?.transactions ?? 0);
  let busiestBlock: WindowSummary['busiestBlock'] = null;
  for (const point of points) {
    if (busiestBlock === null || point.transactions > busiestBlock.transactions) {
      busiestBlock = { height: point.height, transactions: point.transactions };
    }
  }
  const intervals = points
    .map((point) => point.intervalMs)
    .filter((value): value is number => value !== null)
    .sort((a, b) => a - b);
  const middle = Math.floor(intervals.length / 2);
  const median =
    intervals.length === 0
      ? null
      : intervals.length % 2 === 1
        ? intervals[middle]!
        : (intervals[middle - 1]! + intervals[middle]!) / 2;
  return {
    blocks: points.length,
    firstHeight: first?.height ?? null,
    lastHeight: last?.height ?? null,
    transactions,
    spanMs,
    perSecond: spanMs > 0 ? (counted * 1000) / spanMs : null,
    busiestBlock,
    intervalMedianMs: median,
    intervalMaxMs: intervals.at(-1) ?? null,
    intervalMinMs: intervals[0] ?? null,
  };
}

/** Counts of transactions by kind, most frequent first (then by name). */
export function countKinds(
  transactions: readonly TransactionSummary[],
): Array<{ kind: string; count: number }> {
  const counts = new Map<string, number>();
  for (const tx of transactions) counts.set(tx.kind, (counts.get(tx.kind) ?? 0) + 1);
  return [...counts]
    .map(([kind, count]) => ({ kind, count }))
    .sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind));
}

/**
 * The heights a refresh should fetch: the window ending at `head`, minus those already held,
 * newest first (so the top of the page fills first).
 */
export function heightsToFetch(options: {
  head: number;
  held: ReadonlySet<number>;
  windowBlocks: number;
}): number[] {
  const { head, held, windowBlocks } = options;
  const wanted: number[] = [];
  for (let height = head; height >= 1 && height > head - windowBlocks; height -= 1) {
    if (!held.has(height)) wanted.push(height);
  }
  return wanted;
}

/** The block height a hash route names (`#/explorer/block/42`), or null. */
export function blockOfHash(hash: string): number | null {
  const match = /^#\/explorer\/block\/([0-9]{1,16})$/.exec(hash);
  if (match === null) return null;
  const height = Number(match[1]);
  return Number.isSafeInteger(height) && height >= 1 ? height : null;
}

/** Checks a height typed by a person: a whole number from 1 up to the head. */
export function checkHeight(text: string, head: number): { height: number } | { problem: string } {
  const trimmed = text.trim();
  if (!/^[0-9]{1,16}$/.test(trimmed)) {
    return { problem: 'Enter a block height: a whole number such as 12.' };
  }
  const height = Number(trimmed);
  if (height < 1 || !Number.isSafeInteger(height)) {
    return { problem: 'Block heights start at 1.' };
  }
  if (height > head) {
    return { problem: `Block ${height} is not committed yet: the newest block is ${head}.` };
  }
  return { height };
}
