/**
 * FHIR R4 Provenance (hl7.org/fhir/R4/provenance.html) for every write (CONVENTIONS.md "Domain
 * resources"): the versioned target, when it was recorded, the author (a practitioner on behalf
 * of the organisation) and the custodian's node as assembler, the v3-DataOperation activity, and a
 * signature: a JWS with detached payload (RFC 7515 §7.1 and Appendix F) over the RFC 8785
 * canonical JSON of the target, `sigFormat` application/jose, signature type author's signature
 * (1.2.840.10065.1.12.1.1, ASTM E1762-95).
 *
 * No key handling here: `provenanceSigningInput` gives the bytes to sign, the caller signs them
 * with its key, and `provenanceForWrite` puts the signature in. Pure: no I/O, clock or randomness.
 */
import type { Provenance, Resource } from '@medplum/fhirtypes';
import canonicalize from 'canonicalize';

import { fromUtf8, utf8 } from '../base/index.ts';
import { FhirViewError, actorReference, fhirInstant } from './consent-resource.ts';

/** Code systems of the Provenance view. */
export const ProvenanceSystem = {
  dataOperation: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
  participantType: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
  signatureType: 'urn:iso-astm:E1762-95:2013',
} as const;

/** ASTM E1762-95 signature type "Author's Signature". */
export const authorSignatureType = '1.2.840.10065.1.12.1.1';

/** Bounds of the Provenance view's inputs. */
export const provenanceLimits = {
  /** Deepest nesting of the signed resource's JSON. */
  resourceDepthMax: 64,
  /** Largest signature accepted, in bytes (Ed25519 is 64; RSA-4096 512). */
  signatureBytesMax: 512,
} as const;

/** The write a Provenance records (FHIR R4 v3-DataOperation CREATE / UPDATE / DELETE). */
export type ProvenanceActivity = 'create' | 'update' | 'delete';

/** The JWS protected header: `alg` (RFC 7518 / RFC 8037 `EdDSA` for Ed25519) and a key id. */
export interface ProvenanceJwsHeader {
  readonly alg: string;
  readonly kid?: string;
}

/** The JWS signing input of a target and the protected header that is part of it. */
export interface ProvenanceSigningInput {
  /** BASE64URL(UTF-8(canonical JSON of the header)). */
  readonly protectedHeader: string;
  /** ASCII(protectedHeader ‖ '.' ‖ BASE64URL(canonical JSON of the target)): sign these bytes. */
  readonly signingInput: Uint8Array;
}

function invalid(path: string, what: string): FhirViewError {
  return new FhirViewError('invalid', path, what);
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function base64Url(bytes: Uint8Array): string {
  return base64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Refuses what RFC 8785 would not serialise as the caller meant (`undefined` members dropped,
 * `toJSON` called, non-finite numbers), so the signature covers exactly the resource given. An
 * explicit stack, not recursion: a hostile document cannot exhaust the call stack.
 */
function checkJsonTree(value: unknown, root: string): void {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [
    { value, path: root, depth: 0 },
  ];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const { path, depth } = item;
    const current = item.value;
    if (current === null || typeof current === 'string' || typeof current === 'boolean') continue;
    if (typeof current === 'number') {
      if (!Number.isFinite(current)) throw invalid(path, 'expected a finite number');
      continue;
    }
    if (typeof current !== 'object')
      throw invalid(path, `expected a JSON value, found ${typeof current}`);
    if (depth >= provenanceLimits.resourceDepthMax) {
      throw invalid(path, `nested deeper than ${provenanceLimits.resourceDepthMax}`);
    }
    if (Array.isArray(current)) {
      current.forEach((member, index) =>
        stack.push({ value: member, path: `${path}[${index}]`, depth: depth + 1 }),
      );
      continue;
    }
    const prototype: unknown = Object.getPrototypeOf(current);
    if (prototype !== Object.prototype && prototype !== null) {
      throw invalid(path, 'expected a plain JSON object');
    }
    for (const [key, member] of Object.entries(current)) {
      stack.push({ value: member, path: `${path}.${key}`, depth: depth + 1 });
    }
  }
}

/** RFC 8785 canonical JSON of `value` as UTF-8. */
function canonicalBytes(value: unknown, path: string): Uint8Array {
  checkJsonTree(value, path);
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (error) {
    throw invalid(
      path,
      `cannot be canonicalised: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (text === undefined) throw invalid(path, 'has no JSON representation');
  return utf8(text);
}

/** The versioned reference `Type/id/_history/versionId` of a stored resource version. */
export function versionedReference(target: Resource): string {
  const versionId = target.meta?.versionId;
  if (typeof target.id !== 'string' || !/^[A-Za-z0-9.-]{1,64}$/.test(target.id)) {
    throw invalid('target.id', `expected a FHIR id, found ${JSON.stringify(target.id ?? null)}`);
  }
  if (typeof versionId !== 'string' || !/^[1-9][0-9]{0,15}$/.test(versionId)) {
    throw invalid(
      'target.meta.versionId',
      `expected a version number, found ${JSON.stringify(versionId ?? null)}`,
    );
  }
  return `${target.resourceType}/${target.id}/_history/${versionId}`;
}

/**
 * The bytes to sign for a target version: the JWS signing input (RFC 7515 §5.1) of the
 * canonical JSON (RFC 8785) of `target` under `header` (canonical JSON too, so every signer
 * produces the same bytes). `target` is the version as stored, with `id` and `meta.versionId`;
 * for a delete, the tombstone `{ resourceType, id, meta: { versionId } }` of the delete's version.
 */
export function provenanceSigningInput(options: {
  readonly target: Resource;
  readonly header: ProvenanceJwsHeader;
}): ProvenanceSigningInput {
  const { target, header } = options;
  versionedReference(target);
  const protectedHeader = protectedHeaderOf(header);
  const payload = base64Url(canonicalBytes(target, 'target'));
  return { protectedHeader, signingInput: utf8(`${protectedHeader}.${payload}`) };
}

/**
 * The last protected header encoded and its encoding: a node signs every Provenance under one
 * header (its algorithm and key id), and each write encodes it twice.
 */
let lastProtectedHeader: { alg: string; kid: unknown; encoded: string } | null = null;

/** BASE64URL of the canonical JWS protected header (RFC 7515 §7.1), checked. */
function protectedHeaderOf(header: ProvenanceJwsHeader): string {
  if (
    lastProtectedHeader !== null &&
    lastProtectedHeader.alg === header.alg &&
    lastProtectedHeader.kid === header.kid
  ) {
    return lastProtectedHeader.encoded;
  }
  if (typeof header.alg !== 'string' || !/^[A-Za-z0-9+-]{1,32}$/.test(header.alg)) {
    throw invalid('header.alg', `expected a JWS algorithm, found ${JSON.stringify(header.alg)}`);
  }
  if (header.alg === 'none') throw invalid('header.alg', 'an unsigned JWS is not a signature');
  const encoded = base64Url(
    canonicalBytes(
      header.kid === undefined ? { alg: header.alg } : { alg: header.alg, kid: header.kid },
      'header',
    ),
  );
  lastProtectedHeader = { alg: header.alg, kid: header.kid, encoded };
  return encoded;
}

/** A write to record with its signature. */
export interface ProvenanceWrite {
  /** The version written (or, for a delete, its tombstone; see `provenanceSigningInput`). */
  readonly target: Resource;
  readonly activity: ProvenanceActivity;
  /** When the write was recorded, Unix ms. */
  readonly recordedMs: number;
  /** The author: a practitioner of the organisation `orgId`. */
  readonly author: { readonly orgId: string; readonly practitionerId: string };
  /** The custodian organisation, whose node assembled and holds the version. */
  readonly custodian: string;
  readonly header: ProvenanceJwsHeader;
  /** The signature over `provenanceSigningInput({ target, header }).signingInput`. */
  readonly signature: Uint8Array;
}

/**
 * The Provenance of a write: `target` the versioned reference, `recorded`, `activity`
 * (v3-DataOperation), agents author (the practitioner on behalf of the organisation) and assembler
 * (the custodian's node), and `signature.data` = base64 of the compact JWS with detached payload
 * `protectedHeader..BASE64URL(signature)` (RFC 7515 Appendix F). The id is `id-vversion` of the
 * target, one Provenance per version.
 */
export function provenanceForWrite(write: ProvenanceWrite): Provenance {
  const target = versionedReference(write.target);
  // Only the header: the payload is detached, and the caller signed it already.
  const protectedHeader = protectedHeaderOf(write.header);
  const { signature } = write;
  if (
    !(signature instanceof Uint8Array) ||
    signature.length === 0 ||
    signature.length > provenanceLimits.signatureBytesMax
  ) {
    throw invalid('signature', `expected 1 to ${provenanceLimits.signatureBytesMax} bytes`);
  }
  if (!Number.isSafeInteger(write.recordedMs) || write.recordedMs < 0) {
    throw invalid('recordedMs', `expected Unix ms, found ${write.recordedMs}`);
  }
  const author = actorReference({
    kind: 'practitioner',
    id: `${write.author.orgId}/${write.author.practitionerId}`,
  });
  const organisation = actorReference({
    kind: 'organization',
    id: write.author.orgId,
  });
  const recorded = fhirInstant(write.recordedMs);
  const jws = `${protectedHeader}..${base64Url(signature)}`;
  const operation = write.activity.toUpperCase();
  const versionId = write.target.meta!.versionId!;
  return {
    resourceType: 'Provenance',
    id: `${write.target.id!.slice(0, 40)}-v${versionId}`,
    target: [{ reference: target }],
    recorded,
    activity: {
      coding: [
        { system: ProvenanceSystem.dataOperation, code: operation, display: write.activity },
      ],
    },
    agent: [
      {
        type: {
          coding: [{ system: ProvenanceSystem.participantType, code: 'author', display: 'Author' }],
        },
        who: author,
        onBehalfOf: organisation,
      },
      {
        type: {
          coding: [
            { system: ProvenanceSystem.participantType, code: 'assembler', display: 'Assembler' },
          ],
        },
        who: {
          type: 'Device',
          identifier: { system: 'urn:medledger:node', value: write.custodian },
          display: `MedLedger node of ${write.custodian}`,
        },
        onBehalfOf: actorReference({ kind: 'organization', id: write.custodian }),
      },
    ],
    signature: [
      {
        type: [
          {
            system: ProvenanceSystem.signatureType,
            code: authorSignatureType,
            display: "Author's Signature",
          },
        ],
        when: recorded,
        who: author,
        onBehalfOf: organisation,
        targetFormat: 'application/fhir+json',
        sigFormat: 'application/jose',
        data: base64(utf8(jws)),
      },
    ],
  };
}

/**
 * What a verifier needs from a Provenance's signature and the target it names: the header, the
 * signing input recomputed from `target` (so a changed target no longer verifies) and the
 * signature bytes. Verifying them with the author's key is the caller's (crypto's `ed25519Verify`
 * for `EdDSA`).
 */
export function provenanceSignatureOf(
  provenance: Provenance,
  target: Resource,
): { header: ProvenanceJwsHeader; signingInput: Uint8Array; signature: Uint8Array } {
  const data = provenance.signature?.[0]?.data;
  if (typeof data !== 'string') throw invalid('Provenance.signature[0].data', 'missing');
  if (provenance.target?.[0]?.reference !== versionedReference(target)) {
    throw invalid('Provenance.target[0].reference', 'does not name this target version');
  }
  let jws: string;
  try {
    jws = fromUtf8(Uint8Array.from(atob(data), (char) => char.charCodeAt(0)));
  } catch {
    throw invalid('Provenance.signature[0].data', 'expected base64 of a JWS');
  }
  const parts = jws.split('.');
  if (parts.length !== 3 || parts[1] !== '' || parts[0] === '' || parts[2] === '') {
    throw invalid(
      'Provenance.signature[0].data',
      'expected a JWS with detached payload (header..signature)',
    );
  }
  const [protectedHeader, , encodedSignature] = parts as [string, string, string];
  const decode = (text: string) =>
    Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (char) => char.charCodeAt(0));
  let header: ProvenanceJwsHeader;
  try {
    header = JSON.parse(fromUtf8(decode(protectedHeader))) as ProvenanceJwsHeader;
  } catch {
    throw invalid('Provenance.signature[0].data', 'the JWS header is not base64url JSON');
  }
  const expected = provenanceSigningInput({ target, header });
  if (expected.protectedHeader !== protectedHeader) {
    throw invalid('Provenance.signature[0].data', 'the JWS header is not in canonical form');
  }
  return { header, signingInput: expected.signingInput, signature: decode(encodedSignature) };
}
