/**
 * A small client of a node's HTTP API (fetch, with a timeout on every request), for the CLI, the
 * demo, the network tests and the benchmark.
 */
import { array, bytes } from '../codec/index.ts';
import { chainLimits } from '../chain/index.ts';
import { MedLedgerError } from '../base/index.ts';
import type { NodeStatus } from '../node/index.ts';

/** Longest wait of one request, in milliseconds (a `?wait=1` submit waits up to 10 s more). */
export const nodeClientTimeoutMs = 15_000;

/** A block as `GET /chain/blocks/:height` serves it (the fields the clients read). */
export interface BlockView {
  readonly height: number;
  readonly hash: string;
  readonly header: {
    readonly time: number;
    readonly prevHash: string;
    readonly stateRoot: string;
    readonly logRoot: string;
    readonly logSize: number;
    readonly proposer: string;
  };
  readonly txs: readonly { id: string; kind: string; signer: string; nonce: number }[];
  readonly commit: { readonly round: number; readonly signatures: readonly unknown[] };
  readonly receipts: readonly { txId: string; ok: boolean; code: string | null }[];
}

/** What a submit answered: HTTP status, error code (if any), and the body. */
export interface SubmitAnswer {
  readonly status: number;
  readonly code: string | null;
  readonly body: Record<string, unknown>;
  readonly retryAfterSeconds: number | null;
}

/** Refuses anything but `http://host:port` (no path, query or credentials). */
export function parseNodeUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new MedLedgerError(
      'bad-argument',
      `--url: expected http://host:port, found ${JSON.stringify(text)}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MedLedgerError(
      'bad-argument',
      `--url: expected an http:// or https:// URL, found ${JSON.stringify(text)}`,
    );
  }
  if (
    url.username !== '' ||
    url.password !== '' ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search !== ''
  ) {
    throw new MedLedgerError(
      'bad-argument',
      `--url: expected only scheme, host and port, found ${JSON.stringify(text)}`,
    );
  }
  return `${url.protocol}//${url.host}`;
}

async function request(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(nodeClientTimeoutMs) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new MedLedgerError('unreachable', `cannot reach ${url}: ${reason}`);
  }
}

/** GET `path` as JSON; throws naming the URL and the error the node answered. */
export async function getJson<T>(baseUrl: string, path: string): Promise<T> {
  const response = await request(`${baseUrl}${path}`);
  const text = await response.text();
  if (!response.ok) {
    let message = text.slice(0, 200);
    try {
      message = (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {
      // Not the API's JSON error: show the start of the body.
    }
    throw new MedLedgerError(
      'http-error',
      `${baseUrl}${path} answered ${response.status}: ${message}`,
      {
        status: response.status,
      },
    );
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new MedLedgerError('http-error', `${baseUrl}${path} did not answer JSON`);
  }
}

/** `GET /chain/status`. */
export function fetchStatus(baseUrl: string): Promise<NodeStatus> {
  return getJson<NodeStatus>(baseUrl, '/chain/status');
}

/** `GET /chain/blocks/:height`. */
export function fetchBlock(baseUrl: string, height: number): Promise<BlockView> {
  return getJson<BlockView>(baseUrl, `/chain/blocks/${height}`);
}

/** A `block` event of `GET /chain/events` (the fields the clients read). */
export interface BlockEventView {
  readonly height: number;
  readonly hash: string;
  readonly time: number;
  readonly receipts: readonly { txId: string; ok: boolean; code: string | null }[];
}

/**
 * Follows `GET /chain/events?after=<after>`: calls `onBlock` for each committed block, in order,
 * until the stream ends (the node stopped, or cut a client that fell behind) or `signal` aborts;
 * resolves with the last height seen. Throws when the node refuses the stream (a position too
 * far behind: read those blocks with `fetchBlock`) or cannot be reached.
 */
export async function followBlockEvents(options: {
  baseUrl: string;
  after: number;
  signal: AbortSignal;
  onBlock: (block: BlockEventView) => void;
}): Promise<number> {
  const { baseUrl, signal } = options;
  const url = `${baseUrl}/chain/events?after=${options.after}`;
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    if (signal.aborted) return options.after;
    throw new MedLedgerError('unreachable', `cannot reach ${url}: ${(error as Error).message}`);
  }
  if (response.status !== 200 || response.body === null) {
    throw new MedLedgerError(
      'http-error',
      `${url} answered ${response.status}: ${(await response.text()).slice(0, 300)}`,
      { status: response.status },
    );
  }
  let last = options.after;
  const decoder = new TextDecoder();
  let text = '';
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      // Events end with a blank line (HTML §9.2.6); comments (": …") keep the stream open.
      for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
        const lines = text.slice(0, end).split('\n');
        text = text.slice(end + 2);
        if (!lines.includes('event: block')) continue;
        const data = lines.find((line) => line.startsWith('data: '));
        if (data === undefined) continue;
        const block = JSON.parse(data.slice('data: '.length)) as BlockEventView;
        last = block.height;
        options.onBlock(block);
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
  return last;
}

/** `POST /chain/transactions` (`?wait=1` when `wait`): never throws on an HTTP error status. */
export async function submitEncoded(
  baseUrl: string,
  encoded: Uint8Array,
  options: { wait?: boolean } = {},
): Promise<SubmitAnswer> {
  const response = await request(
    `${baseUrl}/chain/transactions${options.wait === true ? '?wait=1' : ''}`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body: encoded,
    },
  );
  let body: Record<string, unknown> = {};
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    // An empty or non-JSON body: the status says enough.
  }
  const error = body.error as { code?: string } | undefined;
  const retryAfter = response.headers.get('retry-after');
  return {
    status: response.status,
    code: error?.code ?? null,
    body,
    retryAfterSeconds: retryAfter === null ? null : Number(retryAfter),
  };
}

/** Encodes a batch for `POST /chain/transactions/batch`: one CBOR array of byte strings. */
const BatchSchema = array(bytes({ lengthMax: chainLimits.txBytesMax }), { itemsMax: 1_000 });

/** What the node answered for each transaction of a batch: its id, or the error code. */
export type BatchItemAnswer = { readonly txId: string } | { readonly code: string };

/** POSTs up to 1,000 signed transactions in one request; one answer per transaction, in order. */
export async function submitBatch(
  baseUrl: string,
  encoded: readonly Uint8Array[],
): Promise<{ status: number; items: readonly BatchItemAnswer[] }> {
  const response = await request(`${baseUrl}/chain/transactions/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/cbor' },
    body: BatchSchema.encode(encoded),
  });
  const body = (await response.json().catch(() => ({}))) as {
    results?: ({ txId: string } | { error: { code: string } })[];
  };
  return {
    status: response.status,
    items: (body.results ?? []).map((result) =>
      'txId' in result ? { txId: result.txId } : { code: result.error.code },
    ),
  };
}
