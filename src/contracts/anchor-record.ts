/**
 * `record.anchor`, `record.anchor-batch` and `record.erase` (DESIGN.md "records"): the custodian
 * organisation (its node or one of its practitioners) anchors each version of a FHIR resource by
 * its salted content hash; versions go 1, 2, 3… (FHIR R4 `meta.versionId`); history is never
 * changed; an erasure is one more version with status `erased` and a reason code, after which
 * nothing more is anchored. A batch anchors several versions in one transaction, all or none
 * (a FHIR transaction Bundle; decision 0058), each by exactly the rules of `record.anchor`.
 */
import { shortHex, toHex } from '../base/index.ts';
import { defineAction } from './action.ts';
import { requireOrganisationSigner, requirePatient } from './authorise.ts';
import type { TxScope } from './block-state.ts';
import { checkCode, checkCodes } from './checks.ts';
import { ContractError } from './errors.ts';
import {
  type AnchorRecordBody,
  AnchorRecordBatchBodySchema,
  AnchorRecordBodySchema,
  EraseRecordBodySchema,
  type RecordVersion,
  RecordVersionSchema,
} from './schemas.ts';
import { StateNamespace, u64Part } from './state-keys.ts';

/** FHIR R4 resource type names: an upper-case letter, then letters. */
const resourceTypePattern = /^[A-Z][A-Za-z]{0,63}$/;

function checkNextVersion(head: RecordVersion | null, recordId: Uint8Array, version: number): void {
  const expected = head === null ? 1 : head.version + 1;
  if (version !== expected) {
    throw new ContractError(
      'version-out-of-order',
      `record ${shortHex(recordId)}: expected version ${expected}, found ${version}`,
      { expected, found: version },
    );
  }
  if (head?.status === 'erased') {
    throw new ContractError(
      'record-erased',
      `record ${shortHex(recordId)} was erased at version ${head.version}; nothing more is anchored`,
    );
  }
}

function requireCustodian(scope: TxScope, custodian: string, recordId: Uint8Array): void {
  const { orgId } = requireOrganisationSigner(scope, 'anchor a record');
  if (orgId !== custodian) {
    throw new ContractError(
      'unauthorised',
      `record ${shortHex(recordId)}: only custodian ${custodian} anchors it, signer acts for ${orgId}`,
      { custodian, orgId },
    );
  }
}

/**
 * Writes a version under its own key and as the record's head (`headKey`, the key the head was
 * read from): the same bytes, encoded once.
 */
function writeVersion(scope: TxScope, headKey: Uint8Array, version: RecordVersion): void {
  scope.writeAt(RecordVersionSchema, version, [
    headKey,
    scope.key(StateNamespace.recordVersion, version.recordId, u64Part(version.version)),
  ]);
}

/**
 * The rules of one anchor, shared by `record.anchor` and each item of `record.anchor-batch`:
 * the custodian signs, the custodian, type and patient never change, the patient is enrolled,
 * and the version is the next one.
 */
function anchorOne(scope: TxScope, body: AnchorRecordBody): void {
  if (!resourceTypePattern.test(body.resourceType)) {
    throw new ContractError(
      'invalid-value',
      `resourceType: expected a FHIR resource type name, found ${JSON.stringify(body.resourceType)}`,
    );
  }
  checkCodes('securityLabels', body.securityLabels);
  const headKey = scope.key(StateNamespace.record, body.recordId);
  const head = scope.readAt(RecordVersionSchema, headKey);
  // The custodian is the first version's, and never changes: a record is moved by anchoring a
  // new record at the new custodian.
  const custodian = head?.custodian ?? body.custodian;
  requireCustodian(scope, custodian, body.recordId);
  if (head !== null) {
    const same =
      head.custodian === body.custodian &&
      head.resourceType === body.resourceType &&
      toHex(head.patientId) === toHex(body.patientId);
    if (!same) {
      throw new ContractError(
        'invalid-value',
        `record ${shortHex(body.recordId)}: custodian, resource type and patient must stay ${head.custodian}, ${head.resourceType}, ${shortHex(head.patientId)}`,
      );
    }
  } else {
    requirePatient(scope, body.patientId);
  }
  checkNextVersion(head, body.recordId, body.version);
  // Object literals with every field rather than spreads: a spread followed by new fields
  // gives each object a map of its own in V8, about 8 µs per object (bench `contracts:
  // execution`).
  writeVersion(scope, headKey, {
    recordId: body.recordId,
    version: body.version,
    resourceType: body.resourceType,
    patientId: body.patientId,
    custodian,
    contentHash: body.contentHash,
    securityLabels: body.securityLabels,
    dataMonth: body.dataMonth,
    status: 'active',
    erasureReason: null,
    anchoredHeight: scope.env.height,
    anchoredTime: scope.env.time,
    anchoredBy: scope.env.signer,
  });
  scope.emit('record.anchored', {
    recordId: toHex(body.recordId),
    version: body.version,
    patientId: toHex(body.patientId),
    custodian,
  });
}

/** Anchors the next version of a record. */
export const anchorRecord = defineAction({
  kind: 'record.anchor',
  schema: AnchorRecordBodySchema,
  execute(scope, body) {
    anchorOne(scope, body);
  },
});

/**
 * Anchors several versions at once, in order, all or none: the first item refused fails the
 * whole transaction (the executor then keeps none of its writes), and the error names the item
 * (`anchors[3]: record 1a2b…: expected version 2, found 3`). Later items see the earlier items'
 * writes, so one batch may anchor versions 1 and 2 of one record.
 */
export const anchorRecordBatch = defineAction({
  kind: 'record.anchor-batch',
  schema: AnchorRecordBatchBodySchema,
  execute(scope, body) {
    for (let index = 0; index < body.anchors.length; index++) {
      try {
        anchorOne(scope, body.anchors[index]!);
      } catch (error) {
        if (!(error instanceof ContractError)) throw error;
        throw new ContractError(error.code, `anchors[${index}]: ${error.message}`, {
          ...error.details,
          index,
        });
      }
    }
  },
});

/** Anchors an erasure marker as the next version (crypto-shredding happens in the vault). */
export const eraseRecord = defineAction({
  kind: 'record.erase',
  schema: EraseRecordBodySchema,
  execute(scope, body) {
    checkCode('reasonCode', body.reasonCode);
    const headKey = scope.key(StateNamespace.record, body.recordId);
    const head = scope.readAt(RecordVersionSchema, headKey);
    if (head === null) {
      throw new ContractError('not-found', `record ${shortHex(body.recordId)} was never anchored`);
    }
    requireCustodian(scope, head.custodian, body.recordId);
    checkNextVersion(head, body.recordId, body.version);
    writeVersion(scope, headKey, {
      recordId: head.recordId,
      version: body.version,
      resourceType: head.resourceType,
      patientId: head.patientId,
      custodian: head.custodian,
      contentHash: null,
      securityLabels: head.securityLabels,
      dataMonth: head.dataMonth,
      status: 'erased',
      erasureReason: body.reasonCode,
      anchoredHeight: scope.env.height,
      anchoredTime: scope.env.time,
      anchoredBy: scope.env.signer,
    });
    scope.emit('record.erased', {
      recordId: toHex(body.recordId),
      version: body.version,
      reason: body.reasonCode,
    });
  },
});
