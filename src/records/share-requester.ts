/**
 * The custodian's reading of who asks in a share request (decisions 0056 and 0060): the peer
 * link authenticated the requesting node, so the organisation is the one of that node key, never
 * a claim of the request. A practitioner or client is taken as that organisation's; a patient is
 * taken only for their own record and only from their home organisation, the member that
 * enrolled them (`Patient.enrolledBy` on chain) and so vouches for their sign-in.
 */
import { toHex } from '../base/index.ts';
import type { Patient, Requester } from '../contracts/index.ts';

import type { ShareRequest } from './share-protocol.ts';

/** Why a custodian refuses a patient's share request before deciding on consents. */
export const patientShareRefusals = {
  /** The request does not name an enrolled patient. */
  unknownRequester: 'unknown-requester',
  /** The record is of another patient than the one who asks. */
  recordOfAnotherPatient: 'record-of-another-patient',
  /** The requesting node is not of the organisation that enrolled the patient. */
  notHomeOrganisation: 'not-patient-home-organisation',
} as const;

/**
 * Who asks, as the consent contract's `Requester`, or why the request is refused. `patient` is
 * the enrolment of the pseudonym the request names (null when none, or for staff requests).
 */
export function shareRequesterOf(options: {
  share: Pick<ShareRequest, 'requesterKind' | 'requesterId'>;
  /** The organisation of the node key the peer link authenticated. */
  peerOrg: string;
  /** The patient pseudonym of the record asked for (its anchored head). */
  recordPatientId: Uint8Array;
  patient: Pick<Patient, 'patientId' | 'publicKey' | 'enrolledBy'> | null;
}): { requester: Requester } | { refusal: string } {
  const { share, peerOrg } = options;
  switch (share.requesterKind) {
    case 'practitioner':
      return {
        requester: { kind: 'practitioner', orgId: peerOrg, practitionerId: share.requesterId },
      };
    case 'client':
      return { requester: { kind: 'client', orgId: peerOrg, clientId: share.requesterId } };
    case 'patient': {
      const { patient } = options;
      if (patient === null || toHex(patient.patientId) !== share.requesterId) {
        return { refusal: patientShareRefusals.unknownRequester };
      }
      if (share.requesterId !== toHex(options.recordPatientId)) {
        return { refusal: patientShareRefusals.recordOfAnotherPatient };
      }
      if (patient.enrolledBy !== peerOrg) {
        return { refusal: patientShareRefusals.notHomeOrganisation };
      }
      return { requester: { kind: 'patient', publicKey: patient.publicKey } };
    }
  }
}
