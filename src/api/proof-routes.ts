/**
 * Proofs and verification bundles under `/chain` (issue 7; docs/api-proofs.md): the signed log
 * head, log consistency, a transaction's inclusion in its block and in the log, a state key's
 * value (or absence) at a height, and one verification bundle per kind of claim. Everything here
 * is chain data, pseudonymous like `/chain/blocks`; a bundle checks offline with
 * `medledger verify <bundle> --genesis <file>`.
 */
import type { FastifyInstance } from 'fastify';

import { fromHex, toHex } from '../base/index.ts';
import { BlockHeaderSchema, CommitSchema, blockHash } from '../chain/index.ts';
import type { CommittedChainView, RunningNode } from '../node/index.ts';
import {
  ProofsError,
  buildAccessLogBundle,
  buildConsentStateBundle,
  buildErasureBundle,
  buildLogHeadBundle,
  buildRecordVersionBundle,
  signedHeaderJson,
  stateProofJson,
  transactionInclusionJson,
} from '../proofs/index.ts';
import { ApiError, ApiErrorCode } from './errors.ts';

type Query = Record<string, unknown>;

function bad(name: string, what: string, found: unknown): ApiError {
  const shown = typeof found === 'string' ? JSON.stringify(found.slice(0, 80)) : 'nothing';
  return new ApiError(ApiErrorCode.badRequest, `${name}: expected ${what}, found ${shown}`);
}

function hexParameter(query: Query, name: string, bytes: readonly number[]): Uint8Array {
  const value = query[name];
  const lengths = bytes.map((b) => b * 2).join(' or ');
  if (typeof value !== 'string' || !/^[0-9a-fA-F]+$/.test(value)) {
    throw bad(name, `${lengths} hex digits`, value);
  }
  if (!bytes.includes(value.length / 2)) throw bad(name, `${lengths} hex digits`, value);
  return fromHex(value.toLowerCase());
}

function integerParameter(
  query: Query,
  name: string,
  options: { min: number },
): number | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[0-9]{1,16}$/.test(value)) {
    throw bad(name, `a whole number from ${options.min}`, value);
  }
  const number = Number(value);
  if (number < options.min || !Number.isSafeInteger(number)) {
    throw bad(name, `a whole number from ${options.min}`, value);
  }
  return number;
}

/** A time: Unix milliseconds, or an ISO 8601 date (`2026-12-01`) or date-time with zone. */
function timeParameter(query: Query, name: string, endOfDay: boolean): number {
  const value = query[name];
  if (typeof value === 'string' && /^[0-9]{1,16}$/.test(value)) return Number(value);
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const start = Date.parse(`${value}T00:00:00.000Z`);
    // Date.parse rolls 2026-02-31 over into March: a real date reads back the same.
    if (!Number.isNaN(start) && new Date(start).toISOString().slice(0, 10) === value) {
      return endOfDay ? start + 86_400_000 - 1 : start;
    }
  }
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    const time = Date.parse(value);
    if (!Number.isNaN(time)) return time;
  }
  throw bad(name, 'Unix milliseconds, a date (2026-12-01) or a date-time with a zone', value);
}

/** Runs a builder on the committed chain; its refusals become API errors. */
function answer<T>(node: RunningNode, build: (chain: CommittedChainView) => T): T {
  try {
    return build(node.chainView());
  } catch (error) {
    if (!(error instanceof ProofsError)) throw error;
    const code = {
      'invalid-argument': ApiErrorCode.badRequest,
      'not-found': ApiErrorCode.notFound,
      'too-large': ApiErrorCode.tooLarge,
    }[error.code];
    throw new ApiError(code, error.message);
  }
}

/** Registers the proof and bundle routes (mount with `prefix: '/chain'`). */
export function proofRoutes(app: FastifyInstance, options: { node: RunningNode }): Promise<void> {
  const { node } = options;

  // The genesis document the chain started from (public: members' keys, validators, policy). A
  // verifier should hold its own copy; one fetched here is only as trusted as this node, so the
  // web app shows its hash for comparison.
  app.get('/genesis', () => node.chainView().genesis);

  // The signed head of the log: the newest committed header (it carries logRoot and logSize)
  // and the commit that certifies it.
  app.get('/proofs/head', () =>
    answer(node, (chain) => {
      const height = chain.head().height;
      if (height < 1) throw new ProofsError('not-found', 'the chain has no block yet');
      const signed = signedHeaderJson(chain, height);
      const header = BlockHeaderSchema.decode(fromHex(signed.header));
      CommitSchema.decode(fromHex(signed.commit));
      return {
        height,
        time: header.time,
        blockHash: toHex(blockHash(header)),
        logSize: header.logSize,
        logRoot: toHex(header.logRoot),
        stateRoot: toHex(header.stateRoot),
        ...signed,
      };
    }),
  );

  // RFC 9162 §2.1.4: the tree of `from` leaves is a prefix of the tree of `to` (default: now).
  app.get<{ Querystring: Query }>('/proofs/consistency', (request) =>
    answer(node, (chain) => {
      const log = chain.log();
      const from = integerParameter(request.query, 'from', { min: 0 });
      if (from === undefined) throw bad('from', 'a log size', undefined);
      const to = integerParameter(request.query, 'to', { min: 0 }) ?? log.size;
      if (to > log.size || from > to) {
        throw new ProofsError(
          'invalid-argument',
          `expected 0 ≤ from ≤ to ≤ ${log.size} (the log's size), found from ${from}, to ${to}`,
        );
      }
      return {
        oldSize: from,
        newSize: to,
        oldRoot: toHex(log.root(from)),
        newRoot: toHex(log.root(to)),
        path: log.consistencyProof({ oldSize: from, newSize: to }).path.map(toHex),
      };
    }),
  );

  // A committed transaction in its block and in the log as of the newest header, with both
  // signed headers.
  app.get<{ Params: { txId: string } }>('/proofs/transactions/:txId', (request) => {
    const txId = hexParameter({ txId: request.params.txId }, 'txId', [32]);
    const location = node.findTransaction(txId);
    if (location === null) {
      throw new ApiError(ApiErrorCode.notFound, `transaction ${toHex(txId)} is not committed`);
    }
    return answer(node, (chain) => {
      const newest = chain.head().height;
      return {
        inclusion: transactionInclusionJson(chain, location, newest),
        headers: [...new Set([location.height, newest])].map((h) => signedHeaderJson(chain, h)),
      };
    });
  });

  // A state key at a height (default: newest): its value, or its absence, with the proof and
  // the signed header whose stateRoot it is for.
  app.get<{ Querystring: Query }>('/proofs/state', (request) =>
    answer(node, (chain) => {
      const key = hexParameter(request.query, 'key', [32]);
      const newest = chain.head().height;
      const height = integerParameter(request.query, 'height', { min: 1 }) ?? newest;
      if (height > newest || newest < 1) {
        throw new ProofsError(
          'invalid-argument',
          `height: expected 1 to ${newest}, found ${height}`,
        );
      }
      return { proof: stateProofJson(chain, height, key), header: signedHeaderJson(chain, height) };
    }),
  );

  app.get<{ Querystring: Query }>('/bundles/record-version', (request) => {
    const recordId = hexParameter(request.query, 'record', [16]);
    const version = integerParameter(request.query, 'version', { min: 1 });
    if (version === undefined) throw bad('version', 'a version number from 1', undefined);
    return answer(node, (chain) => buildRecordVersionBundle(chain, { recordId, version }));
  });

  app.get<{ Querystring: Query }>('/bundles/erasure', (request) => {
    const recordId = hexParameter(request.query, 'record', [16]);
    return answer(node, (chain) => buildErasureBundle(chain, { recordId }));
  });

  app.get<{ Querystring: Query }>('/bundles/consent-state', (request) => {
    const consentId = hexParameter(request.query, 'consent', [16]);
    const height = integerParameter(request.query, 'height', { min: 1 });
    return answer(node, (chain) =>
      buildConsentStateBundle(chain, { consentId, ...(height === undefined ? {} : { height }) }),
    );
  });

  app.get<{ Querystring: Query }>('/bundles/access-log', (request) => {
    const patientId = hexParameter(request.query, 'patient', [16]);
    const from = timeParameter(request.query, 'from', false);
    const to = timeParameter(request.query, 'to', true);
    return answer(node, (chain) => buildAccessLogBundle(chain, { patientId, from, to }));
  });

  app.get<{ Querystring: Query }>('/bundles/log-head', (request) => {
    const since = integerParameter(request.query, 'since', { min: 0 });
    return answer(node, (chain) =>
      buildLogHeadBundle(chain, since === undefined ? {} : { oldSize: since }),
    );
  });

  return Promise.resolve();
}
