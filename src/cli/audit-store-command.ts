/**
 * `medledger audit-store --data <dir> [--genesis <file>] [--json]`: re-verifies a node's whole
 * store from its genesis document (store's `auditChainStore`, decision 0070) and prints either a
 * short summary (exit 0) or the first inconsistency as one line naming the table, the row and
 * the field (exit 1). Anything that stops the audit from starting (no directory, no store file,
 * not a SQLite file, another chain's genesis, a store a running node holds) is one line on
 * stderr and exit 2. A progress bar (cli-progress, stderr) appears when the audit runs longer
 * than a second. The signing record is checked here, with consensus's decoder and the chain's
 * signature checks, because store may not import consensus.
 */
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

import cliProgress from 'cli-progress';
import { type Command, CommanderError } from 'commander';

import { MedLedgerError, equalBytes, shortHex } from '../base/index.ts';
import {
  type Block,
  type BlockContext,
  ChainError,
  assertValidBlock,
  assertValidProposal,
  assertValidVote,
  blockHash,
} from '../chain/index.ts';
import { ConsensusError, type SigningRecord, decodeSigningRecord } from '../consensus/index.ts';
import type { GenesisDocument } from '../contracts/index.ts';
import { loadGenesisFile, loadNodeConfig } from '../node/index.ts';
import {
  type SigningRecordCheck,
  type StoreAuditProgress,
  type StoreAuditResult,
  auditChainStore,
  chainStoreFileName,
} from '../store/index.ts';

/** Exit codes of `medledger audit-store`. */
export const auditStoreExitCode = {
  /** Every check passed. */
  clean: 0,
  /** The store disagrees with what genesis and its own blocks say; the first place is printed. */
  inconsistent: 1,
  /** There was nothing to audit: a wrong argument, a missing or foreign file, a locked store. */
  cannotAudit: 2,
} as const;

/** The progress bar appears only when an audit runs longer than this, in ms. */
const progressDelayMs = 1000;

/** Options of `medledger audit-store`, as commander parses them. */
export interface AuditStoreOptions {
  readonly data?: string;
  readonly genesis?: string;
  readonly json: boolean;
}

/** Where the command writes: result lines (stdout), error lines (stderr), the progress bar. */
export interface AuditStoreOutput {
  readonly print: (line: string) => void;
  readonly error: (line: string) => void;
  /** The progress bar's stream, or null for none. */
  readonly progress: NodeJS.WritableStream | null;
}

/** A regular file at `path`. */
function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The genesis document of the node whose data directory is `data`: the `genesisFile` of a node
 * configuration (`config.json` beside the data directory or in it) whose `dataDir` is `data`, as
 * `medledger demo` and the local networks lay them out; else a `genesis.json` in the directory,
 * its parent or its grandparent. Null when there is none (then `--genesis` is needed).
 */
export function findGenesisFile(data: string): { file: string; via: string } | null {
  const directory = resolve(data);
  for (const config of [join(dirname(directory), 'config.json'), join(directory, 'config.json')]) {
    if (!isFile(config)) continue;
    let dataDir: string;
    let genesisFile: string;
    try {
      ({ dataDir, genesisFile } = loadNodeConfig(config));
    } catch (error) {
      // A configuration of something else, or a broken one: not this node's.
      if (error instanceof MedLedgerError) continue;
      throw error;
    }
    if (resolve(dataDir) === directory)
      return { file: genesisFile, via: `genesisFile of ${config}` };
  }
  const parent = dirname(directory);
  for (const candidate of [directory, parent, dirname(parent)].map((dir) =>
    join(dir, 'genesis.json'),
  )) {
    if (isFile(candidate)) return { file: candidate, via: 'beside the data directory' };
  }
  return null;
}

/**
 * The signing record's check with consensus's schema (store has only its bytes): it decodes
 * strictly (`decodeSigningRecord`), is for a height at most the one after the last block, and
 * every message in it verifies against the audited chain: the signed vote or proposal (with its
 * block, which must hash to what the proposal names), the locked and valid blocks (chain rules
 * and transaction signatures against the predecessor on the chain), and each prevote of the valid
 * polka (for the valid block, in the valid round). Lock and polka as in Algorithm 1 lines 36-43.
 */
export const verifySigningRecord: SigningRecordCheck = (options) => {
  const { chainId, lastHeight } = options;
  let record: SigningRecord;
  try {
    record = decodeSigningRecord(options.record);
  } catch (error) {
    if (error instanceof ConsensusError) return error.message;
    throw error;
  }
  const { height, round } = record;
  const context = options.blockContextAt(height);
  if (context === null) {
    return `height: expected 1 to ${lastHeight + 1} (a validator signs at a height only after committing the one before it), found ${height}`;
  }
  const { validatorSet } = context;
  try {
    const { vote, proposal } = record;
    if (vote !== null) {
      if (vote.type !== record.step || vote.height !== height || vote.round !== round) {
        return `vote: expected a ${record.step} at height ${height} round ${round}, found a ${vote.type} at height ${vote.height} round ${vote.round}`;
      }
      assertValidVote({ chainId, vote, validatorSet });
    }
    if (proposal !== null) {
      if (proposal.height !== height || proposal.round !== round) {
        return `proposal: expected height ${height} round ${round}, found height ${proposal.height} round ${proposal.round}`;
      }
      assertValidProposal({ chainId, proposal, validatorSet });
      const problem = checkCarriedBlock({
        name: 'proposalBlock',
        block: record.proposalBlock!,
        context,
        named: proposal.blockHash,
      });
      if (problem !== null) return problem;
    }
    for (const [name, value] of [
      ['lockedRound', record.lockedRound],
      ['validRound', record.validRound],
    ] as const) {
      if (value !== null && value > round) {
        return `${name}: expected at most the record's round ${round}, found ${value}`;
      }
    }
    if ((record.lockedRound === null) !== (record.lockedBlock === null)) {
      return 'lockedRound and lockedBlock: expected both or neither';
    }
    if ((record.validRound === null) !== (record.validBlock === null)) {
      return 'validRound and validBlock: expected both or neither';
    }
    let validHash: Uint8Array | null = null;
    if (record.validBlock === null) {
      if (record.validPolka.length > 0) {
        return `validPolka: expected no votes without a validBlock, found ${record.validPolka.length}`;
      }
    } else {
      const problem = checkCarriedBlock({ name: 'validBlock', block: record.validBlock, context });
      if (problem !== null) return problem;
      validHash = blockHash(record.validBlock.header);
      for (const [index, prevote] of record.validPolka.entries()) {
        const forValid =
          prevote.type === 'prevote' &&
          prevote.height === height &&
          prevote.round === record.validRound &&
          prevote.blockHash !== null &&
          equalBytes(prevote.blockHash, validHash);
        if (!forValid) {
          return `validPolka[${index}]: expected a prevote for the validBlock ${shortHex(validHash)} at height ${height} round ${record.validRound}, found a ${prevote.type} for ${prevote.blockHash === null ? 'nil' : shortHex(prevote.blockHash)} at height ${prevote.height} round ${prevote.round}`;
        }
        assertValidVote({ chainId, vote: prevote, validatorSet });
      }
    }
    // A precommit for a block is signed in the step that locks it and makes it the valid value
    // (lines 36-42; consensus's uponPolka), so the record written then carries both, of its round.
    const precommit = vote?.type === 'precommit' && vote.blockHash !== null ? vote : null;
    if (
      precommit !== null &&
      (record.lockedRound !== precommit.round || record.validRound !== precommit.round)
    ) {
      return `lockedRound and validRound: expected ${precommit.round}, the round of the precommit for ${shortHex(precommit.blockHash!)}, found ${record.lockedRound} and ${record.validRound}`;
    }
    if (record.lockedBlock !== null) {
      const problem = checkCarriedBlock({
        name: 'lockedBlock',
        block: record.lockedBlock,
        context,
      });
      if (problem !== null) return problem;
      const lockedHash = blockHash(record.lockedBlock.header);
      if (precommit !== null && !equalBytes(precommit.blockHash!, lockedHash)) {
        return `lockedBlock: expected the block precommitted in round ${precommit.round}, ${shortHex(precommit.blockHash!)}, found ${shortHex(lockedHash)}`;
      }
      // One polka per round: locked and valid in the same round is one block (lines 36-43).
      if (record.lockedRound === record.validRound && !equalBytes(lockedHash, validHash!)) {
        return `lockedBlock: expected the validBlock ${shortHex(validHash!)} (both of round ${record.lockedRound}), found ${shortHex(lockedHash)}`;
      }
    }
  } catch (error) {
    if (error instanceof ChainError) return error.message;
    throw error;
  }
  return null;
};

/** A block carried by the signing record, checked against its place on the audited chain. */
function checkCarriedBlock(options: {
  name: string;
  block: Block;
  context: BlockContext;
  named?: Uint8Array;
}): string | null {
  const { name, block, context, named } = options;
  if (named !== undefined) {
    const hash = blockHash(block.header);
    if (!equalBytes(hash, named)) {
      return `${name}: expected the block the proposal names, ${shortHex(named)}, found one that hashes to ${shortHex(hash)}`;
    }
  }
  try {
    assertValidBlock(block, context);
  } catch (error) {
    if (error instanceof ChainError) return `${name}: ${error.message}`;
    throw error;
  }
  return null;
}

/** A progress bar on `stream` that appears once the audit has run `progressDelayMs`. */
function progressBar(stream: NodeJS.WritableStream | null): {
  update: (progress: StoreAuditProgress) => void;
  stop: () => void;
} {
  const started = performance.now();
  let bar: cliProgress.SingleBar | null = null;
  return {
    update: (progress) => {
      if (stream === null) return;
      const payload = { transactions: progress.transactions, step: progress.step };
      if (bar === null) {
        if (performance.now() - started < progressDelayMs) return;
        bar = new cliProgress.SingleBar(
          {
            stream,
            noTTYOutput: true,
            notTTYSchedule: 5000,
            format: 'audit-store [{bar}] {value}/{total} heights · {transactions} tx · {step}',
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(progress.lastHeight, progress.height, payload);
        return;
      }
      bar.setTotal(progress.lastHeight);
      bar.update(progress.height, payload);
    },
    stop: () => bar?.stop(),
  };
}

/** The success summary in one line. */
function summaryLine(result: StoreAuditResult, seconds: number): string {
  const s = result.summary;
  const heights = s.heights === 0 ? 'no block yet (height 0)' : `heights 1 to ${s.heights}`;
  return (
    `audit-store: ok: ${s.file}: chain ${JSON.stringify(s.chainId)} (genesis ${s.genesisHash.slice(0, 16)}…), ${heights}, ` +
    `${s.transactions} transactions, log size ${s.logSize} (${s.logNodes} nodes), ${s.stateKeys} state keys, ` +
    `${s.snapshotRows} snapshot rows, signing record ${s.signingRecord ?? 'not reached'}; ${seconds.toFixed(1)} s`
  );
}

/**
 * Runs the audit of `options.data` and prints the result; returns the exit code
 * (`auditStoreExitCode`).
 */
export async function runAuditStore(
  options: AuditStoreOptions,
  output: AuditStoreOutput,
): Promise<number> {
  const refuse = (message: string) => {
    output.error(`medledger: audit-store: ${message}`);
    return auditStoreExitCode.cannotAudit;
  };
  if (options.data === undefined || options.data.length === 0) {
    return refuse(
      `--data <dir> is required: the node's data directory, which holds ${chainStoreFileName}`,
    );
  }
  let isDirectory = false;
  try {
    isDirectory = statSync(options.data).isDirectory();
  } catch {
    // Missing: refused below, naming the path.
  }
  if (!isDirectory) {
    return refuse(
      `${options.data}: expected the node's data directory, found ${isFile(options.data) ? 'a file' : 'nothing there'}`,
    );
  }
  const genesisFile: { file: string; via: string } | null =
    options.genesis === undefined
      ? findGenesisFile(options.data)
      : { file: options.genesis, via: '--genesis' };
  if (genesisFile === null) {
    const directory = resolve(options.data);
    return refuse(
      `no genesis document found for ${directory}: no config.json naming it as its dataDir, no genesis.json in it or the two folders above; pass --genesis <file>`,
    );
  }
  let genesis: GenesisDocument;
  try {
    genesis = await loadGenesisFile(genesisFile.file);
  } catch (error) {
    if (error instanceof MedLedgerError) return refuse(`${error.message} (${genesisFile.via})`);
    throw error;
  }
  const bar = progressBar(output.progress);
  const started = performance.now();
  let result: StoreAuditResult;
  try {
    result = auditChainStore({
      directory: options.data,
      genesis,
      onProgress: bar.update,
      checkSigningRecord: verifySigningRecord,
    });
  } catch (error) {
    bar.stop();
    if (error instanceof MedLedgerError) return refuse(error.message);
    throw error;
  }
  bar.stop();
  const seconds = (performance.now() - started) / 1000;
  if (options.json) {
    output.print(JSON.stringify({ ...result, seconds: Number(seconds.toFixed(3)) }, null, 2));
  } else if (result.ok) {
    output.print(summaryLine(result, seconds));
  } else {
    output.print(`audit-store: FAILED: ${result.failure.message}`);
  }
  return result.ok ? auditStoreExitCode.clean : auditStoreExitCode.inconsistent;
}

/** Adds `medledger audit-store` to `program`. */
export function registerAuditStoreCommand(program: Command): void {
  program
    .command('audit-store')
    .description(
      "re-verify a node's whole store from genesis and print the first inconsistency (exit 1) or a " +
        'summary (exit 0); exit 2 when it cannot audit. Stop the node first, or audit a copy of its folder',
    )
    .option('--data <dir>', `the node's data directory, which holds ${chainStoreFileName}`)
    .option(
      '--genesis <file>',
      "the chain's genesis document (default: the genesisFile of the node's config.json beside the data directory, or a genesis.json in it or the two folders above)",
    )
    .option('--json', 'print the result as JSON', false)
    .action(async (options: AuditStoreOptions) => {
      const code = await runAuditStore(options, {
        print: (line) => console.log(line),
        error: (line) => console.error(line),
        progress: process.stderr,
      });
      if (code !== auditStoreExitCode.clean) {
        // The line is printed; main returns the code of a CommanderError without printing it.
        throw new CommanderError(code, `medledger.audit-store.exit-${code}`, 'audit-store');
      }
    });
}
