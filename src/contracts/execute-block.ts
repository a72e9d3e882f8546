/**
 * Block execution (DESIGN.md "Contracts"; decision 0020): a pure function of (state, block
 * context, transactions). Due membership changes apply first; then each transaction is routed
 * by kind to its contract and runs atomically: a transaction that fails leaves no writes except
 * its signer's nonce, so it cannot be replayed, and its outcome (code and all) is written with
 * the block's others under `tx.results`, so it is provable. The writes of the whole block reach the state tree in one batch, and the
 * new root is what the block header commits to.
 *
 * Transaction signatures are checked before execution (chain `assertValidTransaction`, in the
 * node's worker threads); execution checks that the signer may do the action.
 */
import { shortHex } from '../base/index.ts';
import { CodecError } from '../codec/index.ts';
import { type Transaction, transactionId } from '../chain/index.ts';
import type { Hash } from '../crypto/index.ts';
import {
  type StateEntry,
  type StateRoot,
  stateTreeRootHash,
  stateTreeUpdate,
} from '../merkle/index.ts';
import type { ContractAction } from './action.ts';
import { anchorRecord, anchorRecordBatch, eraseRecord } from './anchor-record.ts';
import { anchorSecurityLogHead } from './anchor-security-log-head.ts';
import { applyDueChanges } from './apply-changes.ts';
import { BlockState, type ContractEvent, type TxEnvironment, TxScope } from './block-state.ts';
import { addDelegate, enrolPatient, removeDelegate, rotatePatientKey } from './enrol-patient.ts';
import { ContractError, type ContractErrorCode } from './errors.ts';
import { grantConsent, revokeConsent } from './grant-consent.ts';
import { closeReview, openBreakGlass } from './open-break-glass.ts';
import { proposeChange, voteProposal } from './propose-change.ts';
import { recordAccess } from './record-access.ts';
import { recordEvidence } from './record-evidence.ts';
import { registerClient, registerPractitioner } from './register-practitioner.ts';
import { ChainHeadSchema, NonceEntrySchema, TxResultsSchema } from './schemas.ts';
import { StateNamespace, u64Part } from './state-keys.ts';

/** Every contract action, by transaction kind. */
export const contractActions: ReadonlyMap<string, ContractAction<unknown>> = new Map(
  (
    [
      proposeChange,
      voteProposal,
      recordEvidence,
      registerPractitioner,
      registerClient,
      enrolPatient,
      rotatePatientKey,
      addDelegate,
      removeDelegate,
      anchorRecord,
      anchorRecordBatch,
      eraseRecord,
      grantConsent,
      revokeConsent,
      recordAccess,
      openBreakGlass,
      closeReview,
      anchorSecurityLogHead,
    ] as unknown as ReadonlyArray<ContractAction<unknown>>
  ).map((action) => [action.kind, action]),
);

/** The block an execution belongs to (from its header). */
export interface ExecutionContext {
  readonly chainId: string;
  readonly height: number;
  /** Block time, Unix ms. */
  readonly time: number;
  /** The proposer's validator key. */
  readonly proposer: Uint8Array;
}

/** The outcome of one transaction. */
export interface Receipt {
  readonly txId: Hash;
  readonly ok: boolean;
  /** The error code of a failed transaction, null when it succeeded. */
  readonly code: ContractErrorCode | null;
  /** What failed, for logs and the API (never patient data: ids, codes and numbers only). */
  readonly message: string | null;
  readonly events: readonly ContractEvent[];
  /** Cost units used (`contractCost`), at most `contractLimits.txCostMax`. */
  readonly cost: number;
}

/** What `executeBlock` returns. */
export interface BlockExecution {
  /** The new version of the state. */
  readonly state: StateRoot;
  /** Its root hash: the block header's `stateRoot`. */
  readonly stateRoot: Hash;
  /** One receipt per transaction, in block order. */
  readonly receipts: readonly Receipt[];
  /** Events of the block's start (membership changes that took effect). */
  readonly beginEvents: readonly ContractEvent[];
}

/** The transactions' effect before it reaches the tree: the block's writes and receipts. */
export interface BlockWrites {
  /** One entry per key written (null deletes), for `stateTreeUpdate`. */
  readonly writes: readonly StateEntry[];
  readonly receipts: readonly Receipt[];
  readonly beginEvents: readonly ContractEvent[];
}

/**
 * Executes a block's transactions against `state` (whose last block must be `height − 1`, with
 * an earlier time) and returns the block's writes without touching the tree; `commitBlockWrites`
 * then computes the new root. `txIds`, if given, are the transactions' ids (the node has them
 * from block validation); otherwise they are computed.
 */
export function executeTransactions(options: {
  state: StateRoot;
  context: ExecutionContext;
  txs: readonly Transaction[];
  txIds?: readonly Hash[];
}): BlockWrites {
  const { state, context, txs } = options;
  const block = new BlockState(state);
  const systemEnv = envOf(context, new Uint8Array(32), -1, new Uint8Array(32));
  const head = new TxScope(block, systemEnv).read(ChainHeadSchema, StateNamespace.chainHead);
  if (head === null) {
    throw new ContractError(
      'wrong-block',
      'the state has no chain head: build it with genesisState',
    );
  }
  if (head.chainId !== context.chainId) {
    throw new ContractError(
      'wrong-block',
      `block is for chain ${JSON.stringify(context.chainId)}, the state for ${JSON.stringify(head.chainId)}`,
    );
  }
  if (context.height !== head.height + 1) {
    throw new ContractError(
      'wrong-block',
      `block height ${context.height} does not follow the state's height ${head.height}`,
    );
  }
  if (context.time <= head.time) {
    throw new ContractError(
      'wrong-block',
      `block time ${context.time} is not after the state's time ${head.time}`,
    );
  }
  if (options.txIds !== undefined && options.txIds.length !== txs.length) {
    throw new ContractError(
      'wrong-block',
      `txIds: expected ${txs.length} ids, one per transaction, found ${options.txIds.length}`,
    );
  }
  const beginEvents = applyDueChanges(block, systemEnv);
  const receipts: Receipt[] = [];
  for (let index = 0; index < txs.length; index++) {
    const tx = txs[index]!;
    const txId = options.txIds?.[index] ?? transactionId(tx);
    receipts.push(executeTransaction(block, envOf(context, txId, index, tx.signer), tx));
  }
  const chainHead = new TxScope(block, systemEnv);
  chainHead.write(
    TxResultsSchema,
    { results: receipts.map((receipt) => ({ ok: receipt.ok, code: receipt.code })) },
    StateNamespace.txResults,
    u64Part(context.height),
  );
  chainHead.write(
    ChainHeadSchema,
    { chainId: context.chainId, height: context.height, time: context.time },
    StateNamespace.chainHead,
  );
  block.absorb(chainHead.writes);
  return { writes: block.entries(), receipts, beginEvents };
}

/** Applies a block's writes to `state` in one batch: the new version and its root hash. */
export function commitBlockWrites(
  state: StateRoot,
  writes: readonly StateEntry[],
): { state: StateRoot; stateRoot: Hash } {
  const next = stateTreeUpdate(state, writes);
  return { state: next, stateRoot: stateTreeRootHash(next) };
}

/** `executeTransactions` then `commitBlockWrites`: a block's whole execution. */
export function executeBlock(options: {
  state: StateRoot;
  context: ExecutionContext;
  txs: readonly Transaction[];
  txIds?: readonly Hash[];
}): BlockExecution {
  const { writes, receipts, beginEvents } = executeTransactions(options);
  const { state, stateRoot } = commitBlockWrites(options.state, writes);
  return { state, stateRoot, receipts, beginEvents };
}

function envOf(
  context: ExecutionContext,
  txId: Uint8Array,
  txIndex: number,
  signer: Uint8Array,
): TxEnvironment {
  return {
    chainId: context.chainId,
    height: context.height,
    time: context.time,
    proposer: context.proposer,
    txId,
    txIndex,
    signer,
  };
}

/** Runs one transaction; its writes reach `block` only if it succeeds (nonce and result always). */
function executeTransaction(block: BlockState, env: TxEnvironment, tx: Transaction): Receipt {
  const scope = new TxScope(block, env);
  const nonceKey = block.keys.key(StateNamespace.nonce, tx.signer);
  const nonce = scope.readAt(NonceEntrySchema, nonceKey)?.next ?? 0;
  let failure: ContractError | null = null;
  if (tx.chainId !== env.chainId) {
    failure = new ContractError(
      'wrong-block',
      `transaction is for chain ${JSON.stringify(tx.chainId)}`,
    );
  } else if (tx.nonce !== nonce) {
    // A replay or a gap: refused without consuming the nonce (the expected transaction may
    // still come).
    failure = new ContractError(
      'bad-nonce',
      `signer ${shortHex(tx.signer)}: expected nonce ${nonce}, found ${tx.nonce}`,
      { expected: nonce, found: tx.nonce },
    );
  } else {
    failure = runAction(scope, tx);
  }
  if (failure?.code !== 'bad-nonce') {
    block.setDeferred(nonceKey, NonceEntrySchema, {
      next: nonce + 1,
    });
  }
  if (failure === null) block.absorb(scope.writes);
  return {
    txId: env.txId,
    ok: failure === null,
    code: failure?.code ?? null,
    message: failure?.message ?? null,
    events: failure === null ? scope.events : [],
    cost: scope.cost,
  };
}

/** Decodes the body and runs the action; returns the contract error, or null on success. */
function runAction(scope: TxScope, tx: Transaction): ContractError | null {
  const action = contractActions.get(tx.kind);
  if (action === undefined) {
    return new ContractError('unknown-kind', `no contract handles kind ${JSON.stringify(tx.kind)}`);
  }
  let body: unknown;
  try {
    body = action.schema.fromCborValue(tx.body);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    return new ContractError('malformed-body', `${tx.kind} body: ${error.message}`);
  }
  try {
    action.execute(scope, body);
    return null;
  } catch (error) {
    if (error instanceof ContractError) return error;
    // A codec error here is a value a contract built and could not encode: the body's fault
    // (a list that grew past its bound), so the transaction fails rather than the node.
    if (error instanceof CodecError) {
      return new ContractError('invalid-value', `${tx.kind}: ${error.message}`);
    }
    throw error;
  }
}
