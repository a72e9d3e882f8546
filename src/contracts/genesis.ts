/**
 * Genesis: the genesis document (plain JSON data the node reads from a file) and the pure
 * function that builds the initial state from it — the founding members with their node keys
 * and roles, the validator set, and the network policy (decision 0027).
 */
import { fromHex, shortHex, utf8 } from '../base/index.ts';
import { encodeCbor } from '../codec/index.ts';
import { ValidatorSetSchema, makeValidatorSet } from '../chain/index.ts';
import { type Hash, hashTagged, isEd25519PublicKey } from '../crypto/index.ts';
import {
  MemoryStateNodeStore,
  type StateNodeStore,
  type StateRoot,
  emptyStateRoot,
  stateTreeRootHash,
  stateTreeUpdate,
} from '../merkle/index.ts';
import { BlockState, TxScope } from './block-state.ts';
import { checkCodes, checkIdentifier, compareText } from './checks.ts';
import { ContractError } from './errors.ts';
import { contractLimits, defaultNetworkPolicy } from './limits.ts';
import { checkNetworkPolicy } from './network-policy.ts';
import {
  ChainHeadSchema,
  MemberSchema,
  type NetworkPolicy,
  NetworkPolicySchema,
  PrincipalSchema,
  RosterSchema,
} from './schemas.ts';
import { StateNamespace, textPart } from './state-keys.ts';

/** A founding member: organisation id, node key (64 hex digits), role codes. */
export interface GenesisMember {
  readonly orgId: string;
  readonly nodeKey: string;
  readonly roles: readonly string[];
}

/** A founding validator: a member's node key (64 hex digits) and its voting power. */
export interface GenesisValidator {
  readonly nodeKey: string;
  readonly power: number;
}

/** The genesis document, as JSON: every key in hex, every time in Unix ms. */
export interface GenesisDocument {
  readonly chainId: string;
  readonly genesisTime: number;
  readonly members: readonly GenesisMember[];
  readonly validators: readonly GenesisValidator[];
  readonly policy: NetworkPolicy;
}

/** Tag of the genesis document's hash (the `prevHash` of block 1). */
export const genesisHashTag = 'medledger/genesis/v1';

function invalid(path: string, what: string): ContractError {
  return new ContractError('invalid-genesis', `genesis ${path}: ${what}`, { path });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function expectKeys(
  path: string,
  value: unknown,
  keys: readonly string[],
): Record<string, unknown> {
  if (!isRecord(value)) throw invalid(path, `expected an object, found ${typeof value}`);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key))
      throw invalid(`${path}.${key}`, `unexpected field (expected ${keys.join(', ')})`);
  }
  return value;
}

function expectString(path: string, value: unknown): string {
  if (typeof value !== 'string') throw invalid(path, `expected a string, found ${typeof value}`);
  return value;
}

function expectInteger(path: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(
      path,
      `expected an integer from ${min} to ${max}, found ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function expectArray(path: string, value: unknown, max: number): unknown[] {
  if (!Array.isArray(value)) throw invalid(path, `expected an array, found ${typeof value}`);
  if (value.length > max)
    throw invalid(path, `expected at most ${max} items, found ${value.length}`);
  return value as unknown[];
}

function expectStrings(path: string, value: unknown): string[] {
  return expectArray(path, value, contractLimits.codesPerListMax).map((item, i) =>
    expectString(`${path}[${i}]`, item),
  );
}

function expectKey(path: string, value: unknown): Uint8Array {
  const text = expectString(path, value);
  if (!/^[0-9a-f]{64}$/.test(text))
    throw invalid(path, `expected 64 lower-case hex digits, found ${JSON.stringify(text)}`);
  const key = fromHex(text);
  if (!isEd25519PublicKey(key))
    throw invalid(path, `${shortHex(key)} is not a valid Ed25519 public key`);
  return key;
}

/** Wraps a contract check so that its error names the genesis path. */
function withPath(path: string, check: () => void): void {
  try {
    check();
  } catch (error) {
    if (error instanceof ContractError) throw invalid(path, error.message);
    throw error;
  }
}

/**
 * Checks an untrusted value (parsed JSON) and returns it as a `GenesisDocument`, or throws
 * `invalid-genesis` naming the first field that is wrong. `policy` may be partial: missing
 * fields take `defaultNetworkPolicy`.
 */
export function parseGenesisDocument(value: unknown): GenesisDocument {
  const doc = expectKeys('', value, ['chainId', 'genesisTime', 'members', 'validators', 'policy']);
  const chainId = expectString('chainId', doc.chainId);
  if (utf8(chainId).length < 1 || utf8(chainId).length > 64) {
    throw invalid('chainId', 'expected 1 to 64 bytes');
  }
  const genesisTime = expectInteger('genesisTime', doc.genesisTime, 0, Number.MAX_SAFE_INTEGER);
  const members = expectArray('members', doc.members, contractLimits.membersMax).map((item, i) => {
    const path = `members[${i}]`;
    const member = expectKeys(path, item, ['orgId', 'nodeKey', 'roles']);
    const orgId = expectString(`${path}.orgId`, member.orgId);
    withPath(`${path}.orgId`, () => checkIdentifier('orgId', orgId));
    expectKey(`${path}.nodeKey`, member.nodeKey);
    const roles = expectStrings(`${path}.roles`, member.roles);
    withPath(`${path}.roles`, () => checkCodes('roles', roles));
    return { orgId, nodeKey: member.nodeKey as string, roles };
  });
  if (members.length === 0) throw invalid('members', 'expected at least one member');
  const orgIds = new Set<string>();
  const nodeKeys = new Set<string>();
  members.forEach((member, i) => {
    if (orgIds.has(member.orgId))
      throw invalid(`members[${i}].orgId`, `${member.orgId} appears twice`);
    if (nodeKeys.has(member.nodeKey))
      throw invalid(`members[${i}].nodeKey`, 'the key appears twice');
    orgIds.add(member.orgId);
    nodeKeys.add(member.nodeKey);
  });
  const validators = expectArray('validators', doc.validators, contractLimits.membersMax).map(
    (item, i) => {
      const path = `validators[${i}]`;
      const validator = expectKeys(path, item, ['nodeKey', 'power']);
      expectKey(`${path}.nodeKey`, validator.nodeKey);
      const nodeKey = validator.nodeKey as string;
      if (!nodeKeys.has(nodeKey)) throw invalid(`${path}.nodeKey`, "expected a member's node key");
      const power = expectInteger(`${path}.power`, validator.power, 1, 1_000_000);
      return { nodeKey, power };
    },
  );
  if (validators.length === 0) throw invalid('validators', 'expected at least one validator');
  const policyInput =
    doc.policy === undefined
      ? {}
      : expectKeys('policy', doc.policy, Object.keys(defaultNetworkPolicy));
  const policy = { ...defaultNetworkPolicy, ...policyInput } as NetworkPolicy;
  try {
    NetworkPolicySchema.encode(policy);
  } catch (error) {
    throw invalid('policy', (error as Error).message);
  }
  withPath('policy', () => checkNetworkPolicy(policy));
  return { chainId, genesisTime, members, validators, policy };
}

/** The hash of a genesis document (its canonical CBOR): block 1's `prevHash`. */
export function genesisDocumentHash(document: GenesisDocument): Hash {
  const checked = parseGenesisDocument(document);
  return hashTagged(
    genesisHashTag,
    encodeCbor({
      chainId: checked.chainId,
      genesisTime: checked.genesisTime,
      members: checked.members.map((m) => ({
        orgId: m.orgId,
        nodeKey: m.nodeKey,
        roles: [...m.roles],
      })),
      validators: checked.validators.map((v) => ({ nodeKey: v.nodeKey, power: v.power })),
      policy: NetworkPolicySchema.encode(checked.policy),
    }),
  );
}

/** The state at height 0, built from a genesis document (checked first). */
export function genesisState(
  document: GenesisDocument,
  store: StateNodeStore = new MemoryStateNodeStore(),
): { state: StateRoot; stateRoot: Hash } {
  const doc = parseGenesisDocument(document);
  const empty = emptyStateRoot(store);
  const block = new BlockState(empty);
  const scope = new TxScope(block, {
    chainId: doc.chainId,
    height: 0,
    time: doc.genesisTime,
    proposer: new Uint8Array(32),
    txId: new Uint8Array(32),
    txIndex: -1,
    signer: new Uint8Array(32),
  });
  for (const member of doc.members) {
    const nodeKey = fromHex(member.nodeKey);
    scope.write(
      MemberSchema,
      {
        orgId: member.orgId,
        nodeKey,
        roles: member.roles,
        status: 'active',
        admittedHeight: 0,
        evidenceCount: 0,
      },
      StateNamespace.member,
      textPart(member.orgId),
    );
    scope.write(
      PrincipalSchema,
      { kind: 'member', orgId: member.orgId, localId: null, patientId: null },
      StateNamespace.principal,
      nodeKey,
    );
  }
  scope.write(
    RosterSchema,
    { orgIds: doc.members.map((m) => m.orgId).sort(compareText) },
    StateNamespace.roster,
  );
  let validatorSet;
  try {
    validatorSet = makeValidatorSet(
      doc.validators.map((v) => ({ publicKey: fromHex(v.nodeKey), power: v.power })),
    );
  } catch (error) {
    throw invalid('validators', (error as Error).message);
  }
  scope.write(ValidatorSetSchema, validatorSet, StateNamespace.validators);
  scope.write(NetworkPolicySchema, doc.policy, StateNamespace.policy);
  scope.write(
    ChainHeadSchema,
    { chainId: doc.chainId, height: 0, time: doc.genesisTime },
    StateNamespace.chainHead,
  );
  block.absorb(scope.writes);
  const state = stateTreeUpdate(empty, block.entries());
  return { state, stateRoot: stateTreeRootHash(state) };
}
