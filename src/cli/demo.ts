/**
 * The foundation demo (`medledger demo`, `npm start`): four organisations run the pure core in
 * one process. They sign record-anchor transactions, build blocks whose headers carry the
 * transaction root, the state root and the history-log head, commit each block with the
 * precommits of all four validators, validate every block as a follower would, and finally
 * prove a transaction's inclusion, the log's consistency and a state key's presence and
 * absence. The multi-process network replaces this with real nodes (issue 5).
 *
 * The data is synthetic: pseudonymous ids and random content hashes, no patient data.
 */
import { randomBytes } from 'node:crypto';

import { shortHex, utf8 } from '../base/index.ts';
import {
  type Block,
  type Transaction,
  assertValidBlock,
  blockHash,
  makeCommit,
  makeValidatorSet,
  signTransaction,
  transactionId,
  transactionRoot,
  validatorSetHash,
} from '../chain/index.ts';
import { encodeCbor } from '../codec/index.ts';
import { hashTagged, sha256 } from '../crypto/index.ts';
import { generateEd25519KeyPair } from '../keys/index.ts';
import {
  HistoryLog,
  emptyStateRoot,
  stateTreeProve,
  stateTreeRootHash,
  stateTreeUpdate,
  verifyLogConsistency,
  verifyLogInclusion,
  verifyStateProof,
} from '../merkle/index.ts';

/** The demo's organisations, one validator each. */
const organisations = ['St Mary hospital', 'Riverside clinic', 'Central laboratory', 'Unity payer'];

export function runFoundationDemo(options: {
  blockCount: number;
  txPerBlock: number;
  print: (line: string) => void;
}): void {
  const { blockCount, txPerBlock, print } = options;
  const chainId = `medledger-demo-${randomBytes(4).toString('hex')}`;
  const genesisTime = Date.now();
  const members = organisations.map((name) => ({ name, keyPair: generateEd25519KeyPair() }));
  const validatorSet = makeValidatorSet(
    members.map((member) => ({ publicKey: member.keyPair.publicKey, power: 1 })),
  );
  // Validator-set order is by public key; map each index back to its organisation.
  const ordered = validatorSet.validators.map((validator) =>
    members.find((member) =>
      member.keyPair.publicKey.every((b, i) => b === validator.publicKey[i]),
    )!,
  );
  const genesisHash = hashTagged(
    'medledger/genesis/v1',
    encodeCbor({ chainId, time: genesisTime }),
  );

  print(`MedLedger foundation demo — chain ${chainId}`);
  print('Validators (one per organisation, equal power):');
  for (const [index, member] of ordered.entries()) {
    print(`  ${index}  ${member.name.padEnd(20)} ${shortHex(member.keyPair.publicKey)}`);
  }

  const log = new HistoryLog();
  let state = emptyStateRoot();
  const blocks: Block[] = [];
  let prevHash = genesisHash;
  let prevTime = genesisTime;
  const nonces = new Map<string, number>();
  let sampleKey: Uint8Array | undefined;
  let sampleTx: { id: Uint8Array; index: number } | undefined;

  for (let height = 1; height <= blockCount; height++) {
    const txs: Transaction[] = [];
    const writes: { key: Uint8Array; value: Uint8Array }[] = [];
    for (let i = 0; i < txPerBlock; i++) {
      const custodian = ordered[(height + i) % ordered.length]!;
      const nonce = nonces.get(custodian.name) ?? 0;
      nonces.set(custodian.name, nonce + 1);
      // A record anchor: pseudonymous ids and a content hash, never clinical content.
      const recordId = randomBytes(16).toString('hex');
      const body = {
        recordId,
        version: 1,
        resourceType: 'Observation',
        patient: randomBytes(16).toString('hex'),
        contentHash: randomBytes(32),
      };
      txs.push(
        signTransaction({
          unsigned: {
            chainId,
            kind: 'record.anchor',
            body,
            signer: custodian.keyPair.publicKey,
            nonce,
          },
          keyPair: custodian.keyPair,
        }),
      );
      const key = sha256(utf8(`record/${recordId}`));
      writes.push({ key, value: encodeCbor(body) });
      sampleKey ??= key;
    }
    const ids = txs.map(transactionId);
    for (const id of ids) {
      const index = log.append(id);
      sampleTx ??= { id, index };
    }
    state = stateTreeUpdate(state, writes);
    const proposer = ordered[height % ordered.length]!;
    const previous = blocks[blocks.length - 1];
    const header = {
      chainId,
      height,
      time: Math.max(Date.now(), prevTime + 1),
      prevHash,
      txRoot: transactionRoot(ids),
      stateRoot: stateTreeRootHash(state),
      logRoot: log.root(),
      logSize: log.size,
      validatorsHash: validatorSetHash(validatorSet),
      proposer: proposer.keyPair.publicKey,
    };
    const lastCommit =
      previous === undefined
        ? null
        : makeCommit({
            chainId,
            height: height - 1,
            round: 0,
            blockHash: prevHash,
            signers: ordered.map((member, validatorIndex) => ({
              validatorIndex,
              keyPair: member.keyPair,
            })),
          });
    const block: Block = { header, txs, lastCommit };
    // Every member checks the block as a follower would before accepting it.
    assertValidBlock(block, {
      chainId,
      height,
      prevHash,
      prevTime,
      prevLogSize: previous?.header.logSize ?? 0,
      validatorSet,
      prevValidatorSet: validatorSet,
    });
    blocks.push(block);
    prevHash = blockHash(header);
    prevTime = header.time;
    print(
      `block ${String(height).padStart(3)}  ${shortHex(prevHash)}  txs ${txs.length}  ` +
        `proposer ${proposer.name.padEnd(20)} log ${log.size} ${shortHex(header.logRoot)}  state ${shortHex(header.stateRoot)}`,
    );
  }

  if (sampleTx !== undefined) {
    const proof = log.inclusionProof({ index: sampleTx.index });
    verifyLogInclusion({
      leafData: sampleTx.id,
      index: sampleTx.index,
      size: log.size,
      proof: proof.path,
      root: log.root(),
    });
    print(
      `verified: transaction ${shortHex(sampleTx.id)} is leaf ${sampleTx.index} of the log of ${log.size} (${proof.path.length} hashes)`,
    );
  }
  const firstSize = blocks[0]?.header.logSize ?? 0;
  if (firstSize > 0 && log.size > firstSize) {
    const consistency = log.consistencyProof({ oldSize: firstSize });
    verifyLogConsistency({
      oldSize: firstSize,
      newSize: log.size,
      oldRoot: blocks[0]!.header.logRoot,
      newRoot: log.root(),
      proof: consistency.path,
    });
    print(
      `verified: the log of ${log.size} extends the log of ${firstSize} signed in block 1 (${consistency.path.length} hashes)`,
    );
  }
  if (sampleKey !== undefined) {
    const rootHash = stateTreeRootHash(state);
    const present = stateTreeProve(state, sampleKey);
    verifyStateProof({ rootHash, key: sampleKey, value: present.value, proof: present.proof });
    const absentKey = sha256(utf8('record/never-anchored'));
    const absent = stateTreeProve(state, absentKey);
    verifyStateProof({ rootHash, key: absentKey, value: null, proof: absent.proof });
    print(
      `verified: state key ${shortHex(sampleKey)} is present and ${shortHex(absentKey)} is absent under ${shortHex(rootHash)}`,
    );
  }
  print('The networked demo (four node processes on 127.0.0.1) arrives with the node issue.');
}
