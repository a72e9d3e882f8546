/**
 * The chain API under `/chain`: status, committed blocks, submitting a signed transaction
 * (`application/cbor`, the canonical encoding of chain's `encodeTransaction`) and finding a
 * committed one; committed blocks as server-sent events (`chain-events.ts`).
 */
import type { FastifyInstance } from 'fastify';

import { fromHex, toHex } from '../base/index.ts';
import { CodecError, array, bytes } from '../codec/index.ts';
import { chainLimits } from '../chain/index.ts';
import { readNextNonce } from '../contracts/index.ts';
import type { RunningNode } from '../node/index.ts';
import { committedBlockJson, transactionLocationJson } from './block-json.ts';
import { chainEventRoutes } from './chain-events.ts';
import { ApiError, ApiErrorCode } from './errors.ts';
import { apiLimits } from './limits.ts';

/** The media type of a submitted transaction (RFC 8949 §9.5). */
export const transactionMediaType = 'application/cbor';

/** A batch: one CBOR array of encoded transactions (byte strings), each judged on its own. */
const TransactionBatchSchema = array(bytes({ lengthMax: chainLimits.txBytesMax }), {
  itemsMax: apiLimits.batchTransactionsMax,
});

function parseHeight(text: string): number {
  if (!/^[0-9]{1,16}$/.test(text)) {
    throw new ApiError(
      ApiErrorCode.badRequest,
      `height: expected a positive whole number, found ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  const height = Number(text);
  if (height < 1 || !Number.isSafeInteger(height)) {
    throw new ApiError(
      ApiErrorCode.badRequest,
      `height: expected a positive whole number up to ${Number.MAX_SAFE_INTEGER}, found ${text}`,
    );
  }
  return height;
}

function parseTxId(text: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new ApiError(
      ApiErrorCode.badRequest,
      `txId: expected 64 hex digits, found ${JSON.stringify(text.slice(0, 80))}`,
    );
  }
  return fromHex(text.toLowerCase());
}

function parseWait(value: unknown): boolean {
  if (value === undefined) return false;
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw new ApiError(
    ApiErrorCode.badRequest,
    `wait: expected 1, 0, true or false, found ${JSON.stringify(value).slice(0, 40)}`,
  );
}

/** The API error code of each refusal of the node. */
const submitErrorCode = {
  busy: ApiErrorCode.busy,
  invalid: ApiErrorCode.invalidTransaction,
  duplicate: ApiErrorCode.duplicate,
  'bad-nonce': ApiErrorCode.badNonce,
} as const;

/** Registers the `/chain` routes (mount with `prefix: '/chain'`). */
export function chainRoutes(app: FastifyInstance, options: { node: RunningNode }): Promise<void> {
  const { node } = options;

  app.addContentTypeParser(
    transactionMediaType,
    { parseAs: 'buffer', bodyLimit: apiLimits.transactionBodyBytesMax },
    (_request, body, done) => done(null, body),
  );

  app.get('/status', () => node.status());

  chainEventRoutes(app, node);

  app.get<{ Params: { height: string } }>('/blocks/:height', (request) => {
    const height = parseHeight(request.params.height);
    const committed = node.loadBlock(height);
    if (committed === null) {
      const head = node.status().height;
      throw new ApiError(
        ApiErrorCode.notFound,
        `block ${height} is not committed: the head is at height ${head}`,
      );
    }
    return committedBlockJson(committed);
  });

  app.post<{ Querystring: Record<string, unknown> }>(
    '/transactions',
    { bodyLimit: apiLimits.transactionBodyBytesMax },
    async (request, reply) => {
      const wait = parseWait(request.query.wait);
      const contentType = request.headers['content-type'] ?? '';
      if (!(request.body instanceof Buffer) || !contentType.startsWith(transactionMediaType)) {
        throw new ApiError(
          ApiErrorCode.unsupportedMediaType,
          `expected a body of type ${transactionMediaType} (a signed transaction), found ${JSON.stringify(contentType.slice(0, 60)) || 'none'}`,
        );
      }
      if (request.body.length === 0) {
        throw new ApiError(
          ApiErrorCode.invalidTransaction,
          'expected a signed transaction in the body, found an empty body',
        );
      }
      const result = await node.submitTransaction(new Uint8Array(request.body));
      if (!result.accepted) {
        switch (result.code) {
          case 'busy':
            throw new ApiError(ApiErrorCode.busy, `the node is busy: ${result.message}`, {
              retryAfterSeconds: apiLimits.busyRetryAfterSeconds,
            });
          case 'invalid':
            throw new ApiError(ApiErrorCode.invalidTransaction, result.message);
          case 'duplicate':
            throw new ApiError(ApiErrorCode.duplicate, result.message);
          case 'bad-nonce':
            throw new ApiError(ApiErrorCode.badNonce, result.message);
        }
      }
      const txId = result.txId;
      if (!wait) return reply.code(202).send({ txId: Buffer.from(txId).toString('hex') });
      const location = await node.waitForTransaction(txId, apiLimits.commitWaitMsMax);
      if (location === null) {
        return reply.code(202).send({ txId: Buffer.from(txId).toString('hex'), committed: false });
      }
      return reply.code(200).send(transactionLocationJson(location));
    },
  );

  app.post(
    '/transactions/batch',
    { bodyLimit: apiLimits.batchBodyBytesMax },
    async (request, reply) => {
      const contentType = request.headers['content-type'] ?? '';
      if (!(request.body instanceof Buffer) || !contentType.startsWith(transactionMediaType)) {
        throw new ApiError(
          ApiErrorCode.unsupportedMediaType,
          `expected a body of type ${transactionMediaType} (a CBOR array of signed transactions), found ${JSON.stringify(contentType.slice(0, 60)) || 'none'}`,
        );
      }
      let encoded: readonly Uint8Array[];
      try {
        encoded = TransactionBatchSchema.decode(new Uint8Array(request.body));
      } catch (error) {
        if (!(error instanceof CodecError)) throw error;
        throw new ApiError(
          ApiErrorCode.badRequest,
          `expected a CBOR array of at most ${apiLimits.batchTransactionsMax} encoded transactions: ${error.message}`,
        );
      }
      // Each transaction is admitted or refused on its own (not all-or-nothing): the results
      // come back in the order of the batch.
      const results = await Promise.all(encoded.map((tx) => node.submitTransaction(tx)));
      return reply.code(200).send({
        results: results.map((result) =>
          result.accepted
            ? { txId: toHex(result.txId) }
            : { error: { code: submitErrorCode[result.code], message: result.message } },
        ),
      });
    },
  );

  app.get<{ Params: { txId: string } }>('/transactions/:txId', (request) => {
    const txId = parseTxId(request.params.txId);
    const location = node.findTransaction(txId);
    if (location === null) {
      throw new ApiError(
        ApiErrorCode.notFound,
        `transaction ${request.params.txId.toLowerCase()} is not committed on this node`,
      );
    }
    return transactionLocationJson(location);
  });
  // A signer's next nonce on the committed chain, so a client (a patient's app signing its
  // consent) can build its next transaction. Public keys are pseudonymous; nothing else is shown.
  app.get<{ Params: { publicKey: string } }>('/accounts/:publicKey', (request) => {
    const text = request.params.publicKey.toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(text)) {
      throw new ApiError(
        ApiErrorCode.badRequest,
        `publicKey: expected 64 hex digits (an Ed25519 public key), found ${JSON.stringify(text.slice(0, 80))}`,
      );
    }
    const state = node.stateReader();
    return {
      publicKey: text,
      height: state.height,
      nextNonce: readNextNonce(state, fromHex(text)),
    };
  });
  return Promise.resolve();
}
