/**
 * Building transaction bodies: a body is the canonical CBOR value of its kind's schema, so a
 * client encodes it with the same schema the contract decodes it with.
 */
import { type CborValue, decodeCbor } from '../codec/index.ts';
import { ContractError } from './errors.ts';
import { contractActions } from './execute-block.ts';
import type {
  AnchorRecordBody,
  CloseReviewBody,
  DelegateBody,
  EnrolPatientBody,
  EraseRecordBody,
  EvidenceBody,
  GrantConsentBody,
  OpenBreakGlassBody,
  ProposeBody,
  RecordAccessBody,
  RegisterClientBody,
  RegisterPractitionerBody,
  RevokeConsentBody,
  RotatePatientKeyBody,
  SecurityLogHeadBody,
  VoteBody,
} from './schemas.ts';

/**
 * The body of `record.anchor` as callers build it: `dataMonth` may be left out (null, no data
 * month), so that anchors written before it existed still type-check and encode.
 */
export type AnchorRecordInput = Omit<AnchorRecordBody, 'dataMonth'> & {
  readonly dataMonth?: number | null;
};

/** The body of `record.anchor-batch` as callers build it: anchors as `record.anchor` takes them. */
export interface AnchorRecordBatchInput {
  readonly anchors: readonly AnchorRecordInput[];
}

/** The body type of every transaction kind. */
export interface ContractBodies {
  'membership.propose': ProposeBody;
  'membership.vote': VoteBody;
  'membership.evidence': EvidenceBody;
  'identity.register-practitioner': RegisterPractitionerBody;
  'identity.register-client': RegisterClientBody;
  'identity.enrol-patient': EnrolPatientBody;
  'identity.rotate-patient-key': RotatePatientKeyBody;
  'identity.add-delegate': DelegateBody;
  'identity.remove-delegate': DelegateBody;
  'record.anchor': AnchorRecordInput;
  'record.anchor-batch': AnchorRecordBatchInput;
  'record.erase': EraseRecordBody;
  'consent.grant': GrantConsentBody;
  'consent.revoke': RevokeConsentBody;
  'access.record': RecordAccessBody;
  'access.break-glass': OpenBreakGlassBody;
  'access.close-review': CloseReviewBody;
  'access.security-log-head': SecurityLogHeadBody;
}

export type ContractKind = keyof ContractBodies;

/** The transaction body (`Transaction.body`) of `kind` for `body`, checked by its schema. */
export function contractBody<K extends ContractKind>(kind: K, body: ContractBodies[K]): CborValue {
  const action = contractActions.get(kind);
  if (action === undefined) {
    throw new ContractError('unknown-kind', `no contract handles kind ${JSON.stringify(kind)}`);
  }
  const complete =
    kind === 'record.anchor'
      ? withDataMonth(body as AnchorRecordInput)
      : kind === 'record.anchor-batch'
        ? { anchors: (body as AnchorRecordBatchInput).anchors.map(withDataMonth) }
        : body;
  return decodeCbor(action.schema.encode(complete));
}

/**
 * Decodes a transaction's body as its kind's schema does at execution: for readers of committed
 * transactions (verifiers, explorers). Throws `ContractError` `unknown-kind` or the schema's
 * `CodecError` naming the field.
 */
export function decodeContractBody<K extends ContractKind>(
  kind: K,
  body: CborValue,
): ContractBodies[K] {
  const action = contractActions.get(kind);
  if (action === undefined) {
    throw new ContractError('unknown-kind', `no contract handles kind ${JSON.stringify(kind)}`);
  }
  return action.schema.fromCborValue(body) as ContractBodies[K];
}

function withDataMonth(body: AnchorRecordInput): AnchorRecordBody {
  return {
    recordId: body.recordId,
    version: body.version,
    resourceType: body.resourceType,
    patientId: body.patientId,
    custodian: body.custodian,
    contentHash: body.contentHash,
    securityLabels: body.securityLabels,
    dataMonth: body.dataMonth ?? null,
  };
}
