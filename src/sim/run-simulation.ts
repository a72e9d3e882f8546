/**
 * One deterministic simulation run: validators in one process, a virtual clock, one seeded PRNG
 * that drives every fault (loss, delay, duplication, reordering, partitions, crashes between any
 * two actions, Byzantine behaviour), and the invariant checkers after every step. The seed alone
 * replays the run byte for byte.
 */
import { assert, shortHex, toHex, utf8 } from '../base/index.ts';
import { type ValidatorSet, blockHash, makeValidatorSet } from '../chain/index.ts';
import {
  type ConsensusAction,
  type ConsensusEvent,
  type ConsensusMessage,
  type ConsensusState,
  type ConsensusTimeout,
  type SigningRecord,
  ConsensusError,
  decodeConsensusMessage,
  decodeSigningRecord,
  encodeConsensusMessage,
  encodeSigningRecord,
  startConsensus,
  stepConsensus,
} from '../consensus/index.ts';
import { type Ed25519KeyPair, ed25519KeyPairFromSeed, sha256 } from '../crypto/index.ts';
import { SimChain, type ValidatorSetChange, simChainId } from './application.ts';
import {
  type ByzantineBehaviour,
  Coalition,
  byzantineBehaviours,
  byzantineSends,
} from './byzantine.ts';
import { type FaultProfile, drawFaultProfile, simLimits, simTimeouts } from './config.ts';
import { EventQueue } from './event-queue.ts';
import { InvariantChecker, type Violation } from './invariants.ts';
import { Prng } from './prng.ts';

/** What to simulate. */
export type SimulationOptions = {
  readonly seed: number;
  /** Validators at genesis (4, 7 or 10 in the test suite). */
  readonly validatorCount: number;
  /** Byzantine validators among them, at most f = ⌊(n − 1) / 3⌋. */
  readonly byzantineCount: number;
  /** Hand in validator-set changes (key rotation, an added and a removed validator). Default on. */
  readonly validatorSetChanges?: boolean;
  /** Test-only consensus variant run by the honest validators (see `ConsensusConfig`). */
  readonly testOnlyVariant?: 'no-locking';
};

/** What a run found. */
export type SimulationResult = {
  readonly seed: number;
  readonly validatorCount: number;
  readonly byzantineCount: number;
  readonly profile: FaultProfile;
  readonly violations: readonly Violation[];
  readonly livenessFailures: readonly string[];
  /** The lowest height every honest node reached. */
  readonly heightReached: number;
  readonly virtualTimeMs: number;
  readonly steps: number;
  readonly stats: Readonly<Record<string, number>>;
  /** The most recent trace lines (all of them are deterministic). */
  readonly trace: readonly string[];
};

type AgendaItem =
  | {
      readonly kind: 'deliver';
      readonly from: number;
      readonly to: number;
      readonly bytes: Uint8Array;
    }
  | {
      readonly kind: 'timer';
      readonly node: number;
      readonly incarnation: number;
      readonly timeout: ConsensusTimeout;
    }
  | { readonly kind: 'crash'; readonly node: number }
  | { readonly kind: 'restart'; readonly node: number }
  | { readonly kind: 'partition'; readonly groups: readonly number[] | null }
  | { readonly kind: 'gst' };

type SimNode = {
  readonly index: number;
  readonly name: string;
  readonly byzantine: boolean;
  readonly keyPairs: readonly Ed25519KeyPair[];
  /** The node's disk: its decided chain and its signing record (as bytes), kept across crashes. */
  readonly chain: SimChain;
  recordBytes: Uint8Array | null;
  record: SigningRecord | null;
  state: ConsensusState | null;
  incarnation: number;
  local: ConsensusEvent[];
};

const keyCache = new Map<string, Ed25519KeyPair>();
function simKey(name: string): Ed25519KeyPair {
  let pair = keyCache.get(name);
  if (pair === undefined) {
    pair = ed25519KeyPairFromSeed(sha256(utf8(`medledger-sim-key:${name}`)));
    keyCache.set(name, pair);
  }
  return pair;
}

function describe(message: ConsensusMessage): string {
  switch (message.kind) {
    case 'vote': {
      const v = message.vote;
      return `${v.type} h${v.height} r${v.round} ${v.blockHash === null ? 'nil' : shortHex(v.blockHash)} by v${v.validatorIndex}`;
    }
    case 'proposal': {
      const p = message.proposal;
      return `proposal h${p.height} r${p.round} ${shortHex(p.blockHash)} vr${p.validRound ?? -1} by v${p.proposerIndex}`;
    }
    case 'status':
      return `status h${message.height} r${message.round}`;
    case 'decision':
      return `decision h${message.commit.height} ${shortHex(message.commit.blockHash)}`;
  }
}

class Simulation {
  readonly prng: Prng;
  readonly profile: FaultProfile;
  readonly agenda = new EventQueue<AgendaItem>(simLimits.queuedEventsMax);
  readonly checker = new InvariantChecker();
  readonly coalition = new Coalition();
  readonly nodes: SimNode[] = [];
  readonly trace: string[] = [];
  readonly stats: Record<string, number> = {};
  readonly genesis: ValidatorSet;
  now = 0;
  steps = 0;
  partition: readonly number[] | null = null;
  gstHeight: number | null = null;

  constructor(readonly options: SimulationOptions) {
    const { validatorCount, byzantineCount } = options;
    assert(validatorCount >= 1, 'a simulation has validators');
    assert(3 * byzantineCount < validatorCount, 'at most f of n = 3f + 1 validators are Byzantine');
    this.prng = new Prng(options.seed);
    this.profile = drawFaultProfile(this.prng);
    const byzantine = new Set<number>();
    while (byzantine.size < byzantineCount) byzantine.add(this.prng.below(validatorCount));
    const honestValidators = [...Array(validatorCount).keys()].filter((i) => !byzantine.has(i));
    const rotated = honestValidators.length > 0 ? this.prng.pick(honestValidators) : -1;
    const initialKeys = [...Array(validatorCount).keys()].map((i) => simKey(`v${i}`));
    this.genesis = makeValidatorSet(
      initialKeys.map((key) => ({ publicKey: key.publicKey, power: 1 })),
    );
    const changes: ValidatorSetChange[] = [];
    const spareKey = simKey(`v${validatorCount}`);
    if (options.validatorSetChanges !== false && rotated >= 0) {
      const rotatedKeys = initialKeys.map((key, i) =>
        i === rotated ? simKey(`v${i}-rotated`) : key,
      );
      const rotatedSet = makeValidatorSet(
        rotatedKeys.map((key) => ({ publicKey: key.publicKey, power: 1 })),
      );
      const withSpare = makeValidatorSet(
        [...rotatedKeys, spareKey].map((key) => ({ publicKey: key.publicKey, power: 1 })),
      );
      changes.push({ height: 2, set: rotatedSet, what: `rotate the key of n${rotated}` });
      changes.push({ height: 3, set: withSpare, what: `add n${validatorCount}` });
      changes.push({ height: 6, set: rotatedSet, what: `remove n${validatorCount}` });
    }
    for (let index = 0; index <= validatorCount; index++) {
      const keyPairs =
        index === validatorCount
          ? [spareKey]
          : index === rotated && changes.length > 0
            ? [initialKeys[index]!, simKey(`v${index}-rotated`)]
            : [initialKeys[index]!];
      this.nodes.push({
        index,
        name: `n${index}`,
        byzantine: byzantine.has(index),
        keyPairs,
        chain: new SimChain(this.genesis, changes),
        recordBytes: null,
        record: null,
        state: null,
        incarnation: 0,
        local: [],
      });
    }
    this.log(
      `seed ${options.seed}: ${validatorCount} validators, byzantine [${[...byzantine]
        .sort((a, b) => a - b)
        .map((i) => `n${i}`)
        .join(' ')}], spare n${validatorCount}, gst ${this.profile.gstMs}ms`,
    );
    for (const change of changes) this.log(`plan: at height ${change.height} ${change.what}`);
  }

  count(what: string): void {
    this.stats[what] = (this.stats[what] ?? 0) + 1;
  }

  log(line: string): void {
    this.trace.push(`${String(this.now).padStart(6)}ms ${line}`);
    if (this.trace.length > simLimits.traceLinesMax) this.trace.shift();
  }

  get honestNodes(): SimNode[] {
    return this.nodes.filter((node) => !node.byzantine);
  }

  isHonestKey(key: Uint8Array): boolean {
    const hex = toHex(key);
    return this.honestNodes.some((node) =>
      node.keyPairs.some((pair) => toHex(pair.publicKey) === hex),
    );
  }

  // ---- network --------------------------------------------------------------------------

  send(from: number, to: number, bytes: Uint8Array): void {
    const beforeGst = this.now < this.profile.gstMs;
    if (beforeGst && this.partition !== null && this.partition[from] !== this.partition[to]) {
      this.count('dropped by partition');
      return;
    }
    if (beforeGst && this.prng.chance(this.profile.lossProbability)) {
      this.count('lost');
      return;
    }
    const copies = this.prng.chance(this.profile.duplicateProbability) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      let delay = this.prng.between(simLimits.delayMinMs, simLimits.deltaMs);
      if (beforeGst && this.prng.chance(this.profile.longDelayProbability)) {
        delay = this.prng.between(simLimits.deltaMs, simLimits.longDelayMaxMs);
      }
      // Partial synchrony: a message sent before stabilisation arrives by GST + Δ at the latest.
      const latest = Math.max(this.now, this.profile.gstMs) + simLimits.deltaMs;
      this.agenda.push(Math.min(this.now + delay, latest), { kind: 'deliver', from, to, bytes });
    }
    if (copies === 2) this.count('duplicated');
  }

  broadcastBytes(from: number, bytes: Uint8Array, to?: readonly number[]): void {
    const pool = this.coalition.replayPool;
    pool.push(bytes);
    if (pool.length > simLimits.replayPoolMax) pool.shift();
    for (const peer of to ?? this.nodes.map((n) => n.index))
      if (peer !== from) this.send(from, peer, bytes);
  }

  // ---- nodes ----------------------------------------------------------------------------

  start(node: SimNode): void {
    const height = node.chain.height + 1;
    node.record = node.recordBytes === null ? null : decodeSigningRecord(node.recordBytes);
    const { state, actions } = startConsensus({
      config: {
        chainId: simChainId,
        keyPairs: node.keyPairs,
        timeouts: simTimeouts,
        ...(this.options.testOnlyVariant !== undefined && !node.byzantine
          ? { testOnlyVariant: this.options.testOnlyVariant }
          : {}),
      },
      height,
      validatorSets: new Map([
        [height, node.chain.setAt(height)],
        [height + 1, node.chain.setAt(height + 1)],
      ]),
      lastCommit: node.chain.commits[node.chain.commits.length - 1] ?? null,
      record: node.record,
    });
    node.state = state;
    this.perform(node, actions);
    this.drain(node);
  }

  crash(node: SimNode): void {
    node.state = null;
    node.local = [];
    node.incarnation++;
    this.count('crashes');
    const restartAt = Math.min(
      this.now + this.prng.between(simLimits.restartDelayMinMs, simLimits.restartDelayMaxMs),
      this.profile.gstMs,
    );
    this.log(`${node.name} CRASH (restart at ${restartAt}ms)`);
    this.agenda.push(restartAt, { kind: 'restart', node: node.index });
  }

  handle(node: SimNode, event: ConsensusEvent): void {
    if (node.state === null) return;
    node.local.push(event);
    this.drain(node);
  }

  drain(node: SimNode): void {
    for (let handled = 0; node.state !== null && node.local.length > 0; handled++) {
      assert(
        handled < simLimits.localEventsPerStepMax,
        'a node settles within the local event bound',
      );
      const event = node.local.shift()!;
      const { actions } = stepConsensus(node.state, event);
      this.perform(node, actions);
    }
  }

  perform(node: SimNode, actions: readonly ConsensusAction[]): void {
    for (const action of actions) {
      if (node.state === null) return;
      // A crash may strike between any two actions (after a persist and before its send, too).
      if (
        !node.byzantine &&
        this.now < this.profile.gstMs &&
        this.prng.chance(this.profile.crashPerActionProbability)
      ) {
        this.log(`${node.name} crashes before ${action.kind}`);
        this.crash(node);
        return;
      }
      this.performOne(node, node.state, action);
    }
  }

  signerOf(message: ConsensusMessage): Uint8Array | null {
    if (message.kind === 'vote')
      return (
        this.genesisLike(message.vote.height).validators[message.vote.validatorIndex]?.publicKey ??
        null
      );
    if (message.kind === 'proposal')
      return (
        this.genesisLike(message.proposal.height).validators[message.proposal.proposerIndex]
          ?.publicKey ?? null
      );
    return null;
  }

  genesisLike(height: number): ValidatorSet {
    return this.nodes[0]!.chain.setAt(height);
  }

  outgoing(
    node: SimNode,
    state: ConsensusState,
    message: ConsensusMessage,
    to?: readonly number[],
  ): void {
    if (!node.byzantine) {
      this.checker.onHonestSend({
        node: node.name,
        timeMs: this.now,
        message,
        record: node.record,
        signer: this.signerOf(message),
      });
      if (message.kind === 'vote' || message.kind === 'proposal')
        this.log(`${node.name} sends ${describe(message)}`);
      this.broadcastBytes(node.index, encodeConsensusMessage(message), to);
      return;
    }
    const signed = message.kind === 'vote' || message.kind === 'proposal';
    if (!signed || state.ownIndex < 0 || !this.prng.chance(this.profile.byzantineProbability)) {
      this.broadcastBytes(node.index, encodeConsensusMessage(message), to);
      return;
    }
    const behaviour: ByzantineBehaviour = this.prng.pick(byzantineBehaviours);
    const keyPair = node.keyPairs.find(
      (pair) =>
        toHex(pair.publicKey) ===
        toHex(state.votes.validatorSet.validators[state.ownIndex]!.publicKey),
    )!;
    const peers = (to ?? this.nodes.map((n) => n.index)).filter((peer) => peer !== node.index);
    const sends = byzantineSends({
      behaviour,
      message,
      peers,
      prng: this.prng,
      coalition: this.coalition,
      chainId: simChainId,
      keyPair,
      ownIndex: state.ownIndex,
      height: state.height,
      round: state.round,
      proposalBlock: () =>
        node.chain.buildBlock({
          nowMs: this.now + this.prng.below(1000),
          proposer: keyPair.publicKey,
          lastCommit: state.lastCommit,
        }),
    });
    this.count(`byzantine ${behaviour}`);
    for (const send of sends) {
      if (send.what !== 'honest')
        this.log(`${node.name} BYZANTINE ${send.what} (${describe(message)})`);
      this.broadcastBytes(node.index, send.bytes, send.to);
    }
  }

  performOne(node: SimNode, state: ConsensusState, action: ConsensusAction): void {
    switch (action.kind) {
      case 'persist':
        node.recordBytes = encodeSigningRecord(action.record);
        node.record = action.record;
        return;
      case 'broadcast':
        this.outgoing(node, state, action.message);
        return;
      case 'send': {
        const peer = this.nodes.find((n) => n.name === action.peer);
        assert(peer !== undefined, 'a send names a known peer');
        this.outgoing(node, state, action.message, [peer.index]);
        return;
      }
      case 'send-decision': {
        const peer = this.nodes.find((n) => n.name === action.peer);
        const block = node.chain.blocks[action.height - 1];
        const commit = node.chain.commits[action.height - 1];
        assert(peer !== undefined, 'a send names a known peer');
        if (block === undefined || commit === undefined) return;
        this.count('decisions sent');
        this.outgoing(node, state, { kind: 'decision', block, commit }, [peer.index]);
        return;
      }
      case 'schedule-timeout':
        this.agenda.push(this.now + action.delayMs, {
          kind: 'timer',
          node: node.index,
          incarnation: node.incarnation,
          timeout: action.timeout,
        });
        return;
      case 'validate-block': {
        const stale = action.height !== node.chain.height + 1;
        const why = stale ? 'stale height' : node.chain.whyInvalid(action.block);
        node.local.push({
          kind: 'block-validated',
          height: action.height,
          blockHash: action.blockHash,
          valid: why === null,
        });
        return;
      }
      case 'get-value': {
        assert(action.height === node.chain.height + 1, 'get-value is for the next height');
        const proposer = state.votes.validatorSet.validators[state.ownIndex]!.publicKey;
        let block = node.chain.buildBlock({
          nowMs: this.now,
          proposer,
          lastCommit: action.lastCommit,
        });
        if (node.byzantine && this.prng.chance(this.profile.byzantineProbability / 2)) {
          block = { ...block, header: { ...block.header, stateRoot: this.prng.bytes(32) } };
          const key = `${action.height}:${action.round}`;
          this.coalition.invalidBlocks.set(key, blockHash(block.header));
          this.count('byzantine invalid proposal');
          this.log(
            `${node.name} BYZANTINE builds invalid block at h${action.height} r${action.round}`,
          );
        }
        node.local.push({ kind: 'value-ready', height: action.height, round: action.round, block });
        return;
      }
      case 'commit-block': {
        assert(action.height === node.chain.height + 1, 'blocks are committed in height order');
        if (!node.byzantine) {
          this.checker.onCommit({
            node: node.name,
            timeMs: this.now,
            height: action.height,
            block: action.block,
            commit: action.commit,
            whyInvalid: node.chain.whyInvalid(action.block),
            validatorSet: node.chain.setAt(action.height),
          });
          this.log(
            `${node.name} COMMITS h${action.height} ${shortHex(action.commit.blockHash)} (round ${action.commit.round})`,
          );
        }
        node.chain.append(action.block, action.commit);
        node.local.push({
          kind: 'block-applied',
          height: action.height,
          validatorSetChange: node.chain.changeAt(action.height),
        });
        return;
      }
      case 'report-evidence':
        this.count('evidence');
        if (!node.byzantine) {
          const evidence = action.evidence;
          const height = evidence.voteA?.height ?? evidence.proposalA!.height;
          this.checker.onEvidence({
            node: node.name,
            timeMs: this.now,
            evidence,
            validatorSet: node.chain.setAt(height),
            isHonestKey: (key) => this.isHonestKey(key),
          });
        }
        return;
    }
  }

  // ---- the run --------------------------------------------------------------------------

  schedulePartitions(): void {
    const gst = this.profile.gstMs;
    for (let i = 0; i < this.profile.partitionCount; i++) {
      const start = this.prng.below(gst);
      const end = Math.min(gst, start + this.prng.between(500, 5000));
      const groups = this.nodes.map(() => this.prng.below(2));
      this.agenda.push(start, { kind: 'partition', groups });
      this.agenda.push(end, { kind: 'partition', groups: null });
    }
    this.agenda.push(gst, { kind: 'gst' });
  }

  minHonestHeight(): number {
    return Math.min(...this.honestNodes.map((node) => node.chain.height));
  }

  run(): SimulationResult {
    this.schedulePartitions();
    for (const node of this.nodes) this.start(node);
    const endMs = this.profile.gstMs + simLimits.livenessWindowMs;
    const livenessFailures: string[] = [];
    for (;;) {
      if (this.checker.violations.length > 0) break;
      if (
        this.gstHeight !== null &&
        this.minHonestHeight() >= this.gstHeight + simLimits.livenessHeightsMin
      )
        break;
      const next = this.agenda.pop();
      if (next === undefined || next.time > endMs) {
        this.now = endMs;
        break;
      }
      this.steps++;
      assert(this.steps <= simLimits.stepsMax, 'a run ends within the step bound');
      this.now = next.time;
      this.stepOnce(next.item);
    }
    if (this.checker.violations.length === 0 && this.gstHeight !== null) {
      const target = this.gstHeight + simLimits.livenessHeightsMin;
      for (const node of this.honestNodes) {
        if (node.chain.height < target) {
          livenessFailures.push(
            `${node.name} reached height ${node.chain.height}, needed ${target} by ${endMs}ms (${simLimits.livenessWindowMs}ms after stabilisation at ${this.profile.gstMs}ms)`,
          );
        }
      }
    }
    for (const violation of this.checker.violations)
      this.log(`VIOLATION ${violation.invariant}: ${violation.detail}`);
    for (const failure of livenessFailures) this.log(`LIVENESS FAILURE: ${failure}`);
    return {
      seed: this.options.seed,
      validatorCount: this.options.validatorCount,
      byzantineCount: this.options.byzantineCount,
      profile: this.profile,
      violations: this.checker.violations,
      livenessFailures,
      heightReached: this.minHonestHeight(),
      virtualTimeMs: this.now,
      steps: this.steps,
      stats: this.stats,
      trace: this.trace,
    };
  }

  stepOnce(item: AgendaItem): void {
    switch (item.kind) {
      case 'deliver': {
        const node = this.nodes[item.to]!;
        if (node.state === null) {
          this.count('lost to a crashed node');
          return;
        }
        let message: ConsensusMessage;
        try {
          message = decodeConsensusMessage(item.bytes);
        } catch (error) {
          if (!(error instanceof ConsensusError)) throw error;
          this.count('malformed refused');
          return;
        }
        this.count('delivered');
        if (message.kind === 'decision') this.count('decisions delivered');
        this.handle(node, { kind: 'message', peer: this.nodes[item.from]!.name, message });
        return;
      }
      case 'timer': {
        const node = this.nodes[item.node]!;
        if (node.incarnation !== item.incarnation) return;
        if (item.timeout.kind !== 'rebroadcast')
          this.log(
            `${node.name} timeout ${item.timeout.kind} h${item.timeout.height} r${item.timeout.round}`,
          );
        this.handle(node, { kind: 'timeout', timeout: item.timeout });
        return;
      }
      case 'crash':
        return;
      case 'restart': {
        const node = this.nodes[item.node]!;
        if (node.state !== null) return;
        this.count('restarts');
        this.log(
          `${node.name} RESTART at height ${node.chain.height + 1} from its record${node.record === null ? ' (none)' : ` (h${node.record.height} r${node.record.round} ${node.record.step})`}`,
        );
        this.start(node);
        return;
      }
      case 'partition':
        this.partition = item.groups;
        this.log(
          item.groups === null
            ? 'partition heals'
            : `partition: ${item.groups.map((g, i) => `n${i}:${g}`).join(' ')}`,
        );
        return;
      case 'gst':
        this.gstHeight = this.checker.highestCommitted;
        this.partition = null;
        this.log(`GST: stabilisation, highest committed height ${this.gstHeight}`);
        return;
    }
  }
}

/** Runs one simulation (see the file comment); never throws for a protocol failure, reports it. */
export function runSimulation(options: SimulationOptions): SimulationResult {
  return new Simulation(options).run();
}
