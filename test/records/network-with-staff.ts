// Shared setup of the records network tests: four validator processes on 127.0.0.1, then, with
// the custodian's node key, one practitioner registered and one patient enrolled.
import { fromHex, toHex } from '../../src/base/index.ts';
import { submitContractTransaction } from '../../src/cli/index.ts';
import type { Ed25519KeyPair } from '../../src/crypto/index.ts';
import { generateEd25519KeyPair, loadEd25519KeyFile } from '../../src/keys/index.ts';
import { TestNetwork } from '../net/harness.ts';

/**
 * Starts the network and registers `practitionerId` (a physician) at `custodian` and enrols the
 * patient of `patientKey` there. The node-key transactions go before any FHIR traffic: they share
 * the node key's nonces with the node's own anchors and audit events.
 */
export async function startNetworkWithStaff(options: {
  custodian: number;
  practitionerId: string;
  patientKey: Ed25519KeyPair;
}): Promise<TestNetwork> {
  const network = await TestNetwork.create({ validators: 4, loadSigners: 0, logLevel: 'warn' });
  await network.startValidators();
  const nodeKey = await loadEd25519KeyFile(network.nodes[options.custodian]!.keyFile);
  await submitContractTransaction({
    url: network.url(options.custodian),
    chainId: network.chainId,
    keyPair: nodeKey,
    kind: 'identity.register-practitioner',
    body: {
      practitionerId: options.practitionerId,
      publicKey: generateEd25519KeyPair().publicKey,
      roles: ['physician'],
      active: true,
    },
  });
  await submitContractTransaction({
    url: network.url(options.custodian),
    chainId: network.chainId,
    keyPair: nodeKey,
    kind: 'identity.enrol-patient',
    body: {
      patientId: fromHex(toHex(options.patientKey.publicKey.slice(0, 16))),
      publicKey: options.patientKey.publicKey,
    },
  });
  return network;
}
