// A small consortium for the contract tests: named keys, a genesis document, and a `Network`
// that signs transactions, executes blocks and keeps every committed state version.
import { toHex, utf8 } from '../../src/base/index.ts';
import { type Transaction, signTransaction } from '../../src/chain/index.ts';
import { type Ed25519KeyPair, ed25519KeyPairFromSeed, sha256 } from '../../src/crypto/index.ts';
import {
  type BlockExecution,
  type ContractBodies,
  type ContractKind,
  type GenesisDocument,
  MemoryStateHistory,
  type NetworkPolicy,
  type Provision,
  type Receipt,
  contractBody,
  defaultNetworkPolicy,
  executeBlock,
  genesisState,
} from '../../src/contracts/index.ts';
import type { StateRoot } from '../../src/merkle/index.ts';

export const chainId = 'medledger-test';
export const genesisTime = 1_700_000_000_000;
/** Block interval of the fixture network, ms. */
export const blockIntervalMs = 1000;

const keyCache = new Map<string, Ed25519KeyPair>();

/** A deterministic key pair for a name (`node:org-a`, `dr:org-a/alice`, `patient:p1`). */
export function keyOf(name: string): Ed25519KeyPair {
  let pair = keyCache.get(name);
  if (pair === undefined) {
    pair = ed25519KeyPairFromSeed(sha256(utf8(`medledger-test-key/${name}`)));
    keyCache.set(name, pair);
  }
  return pair;
}

/** A deterministic 128-bit pseudonym for a name. */
export function idOf(name: string): Uint8Array {
  return sha256(utf8(`medledger-test-id/${name}`)).slice(0, 16);
}

export const orgs = ['org-a', 'org-b', 'org-c'] as const;

export function genesisDocument(
  options: { members?: readonly string[]; policy?: Partial<NetworkPolicy> } = {},
): GenesisDocument {
  const members = options.members ?? orgs;
  return {
    chainId,
    genesisTime,
    members: members.map((orgId) => ({
      orgId,
      nodeKey: toHex(keyOf(`node:${orgId}`).publicKey),
      roles: ['provider'],
    })),
    validators: members.map((orgId) => ({
      nodeKey: toHex(keyOf(`node:${orgId}`).publicKey),
      power: 1,
    })),
    policy: { ...defaultNetworkPolicy, ...options.policy },
  };
}

/** A provision with no limits, of the given type, with overrides. */
export function provision(type: 'permit' | 'deny', overrides: Partial<Provision> = {}): Provision {
  return {
    type,
    period: null,
    dataPeriod: null,
    actors: [],
    actions: [],
    purposes: [],
    classes: [],
    securityLabels: [],
    records: [],
    provisions: [],
    ...overrides,
  };
}

/** A network under test: sign with `tx`, commit with `block`. */
export class Network {
  state: StateRoot;
  height = 0;
  time = genesisTime;
  readonly history = new MemoryStateHistory();
  #nonces = new Map<string, number>();

  constructor(document: GenesisDocument = genesisDocument(), from: Network | null = null) {
    if (from === null) {
      this.state = genesisState(document).state;
      this.history.commit(0, this.state);
      return;
    }
    this.state = from.state;
    this.height = from.height;
    this.time = from.time;
    for (let h = 0; h <= from.height; h++) this.history.commit(h, from.history.stateAt(h)!);
    this.#nonces = new Map(from.#nonces);
  }

  /** An independent copy at the same height (state versions are shared, never changed). */
  fork(): Network {
    return new Network(undefined, this);
  }

  /** A signed transaction by `signer` (a key name) with the signer's next nonce unless given. */
  tx<K extends ContractKind>(
    signer: string,
    kind: K,
    body: ContractBodies[K],
    options: { nonce?: number } = {},
  ): Transaction {
    const keyPair = keyOf(signer);
    const next = this.#nonces.get(signer) ?? 0;
    const nonce = options.nonce ?? next;
    if (options.nonce === undefined) this.#nonces.set(signer, next + 1);
    return signTransaction({
      unsigned: { chainId, kind, body: contractBody(kind, body), signer: keyPair.publicKey, nonce },
      keyPair,
    });
  }

  /** Forgets a nonce that a failed-before-nonce transaction did not consume. */
  rewindNonce(signer: string): void {
    this.#nonces.set(signer, (this.#nonces.get(signer) ?? 1) - 1);
  }

  /** Executes and commits a block of `txs`. */
  block(txs: readonly Transaction[], options: { timeStepMs?: number } = {}): BlockExecution {
    this.height += 1;
    this.time += options.timeStepMs ?? blockIntervalMs;
    const result = executeBlock({
      state: this.state,
      context: {
        chainId,
        height: this.height,
        time: this.time,
        proposer: keyOf('node:org-a').publicKey,
      },
      txs,
    });
    this.state = result.state;
    this.history.commit(this.height, this.state);
    return result;
  }

  /** Executes one transaction in its own block and returns its receipt. */
  run(tx: Transaction): Receipt {
    return this.block([tx]).receipts[0]!;
  }

  /** Runs a transaction that must succeed; throws with its message otherwise. */
  ok(tx: Transaction): Receipt {
    const receipt = this.run(tx);
    if (!receipt.ok) throw new Error(`${tx.kind} failed: ${receipt.code} ${receipt.message}`);
    return receipt;
  }

  /** Registers a practitioner of `orgId` (key name `dr:orgId/id`). */
  practitioner(orgId: string, practitionerId: string, roles: string[] = []): void {
    this.ok(
      this.tx(`node:${orgId}`, 'identity.register-practitioner', {
        practitionerId,
        publicKey: keyOf(`dr:${orgId}/${practitionerId}`).publicKey,
        roles,
        active: true,
      }),
    );
  }

  /** Enrols patient `name` (key name `patient:name`) at `orgId`. */
  patient(name: string, orgId = 'org-a'): Uint8Array {
    const patientId = idOf(`patient:${name}`);
    this.ok(
      this.tx(`node:${orgId}`, 'identity.enrol-patient', {
        patientId,
        publicKey: keyOf(`patient:${name}`).publicKey,
      }),
    );
    return patientId;
  }

  /** Anchors version `version` of record `name` for the patient at custodian `orgId`. */
  anchor(options: {
    record: string;
    patientId: Uint8Array;
    orgId?: string;
    version?: number;
    resourceType?: string;
    labels?: string[];
    /** The record's data month (`dataMonthOf`); none by default. */
    dataMonth?: number | null;
  }): Uint8Array {
    const recordId = idOf(`record:${options.record}`);
    const orgId = options.orgId ?? 'org-a';
    this.ok(
      this.tx(`node:${orgId}`, 'record.anchor', {
        recordId,
        version: options.version ?? 1,
        resourceType: options.resourceType ?? 'Observation',
        patientId: options.patientId,
        custodian: orgId,
        contentHash: sha256(utf8(`content:${options.record}:${options.version ?? 1}`)),
        securityLabels: options.labels ?? ['N'],
        dataMonth: options.dataMonth ?? null,
      }),
    );
    return recordId;
  }

  /** Grants consent `name` signed by `signer` (default: the patient's key). */
  grant(options: {
    consent: string;
    patient: string;
    provision: Provision;
    signer?: string;
  }): Uint8Array {
    const consentId = idOf(`consent:${options.consent}`);
    this.ok(
      this.tx(options.signer ?? `patient:${options.patient}`, 'consent.grant', {
        consentId,
        patientId: idOf(`patient:${options.patient}`),
        policyRule: options.provision.type === 'permit' ? 'OPTIN' : 'OPTOUT',
        provision: options.provision,
      }),
    );
    return consentId;
  }
}
