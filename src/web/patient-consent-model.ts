/**
 * The patient's consents in the browser: a grant chosen in plain words becomes the consent
 * contract's provision, the FHIR R4 Consent the node is sent, and the `consent.grant` transaction
 * signed here with the patient's key (the node refuses a transaction that does not hold exactly
 * the posted Consent); a revocation is a signed `consent.revoke`. Existing Consents are read back
 * into plain words.
 *
 * The Consent is built from the provision with the same mapping as src/fhir's Consent view
 * (`consent-resource.ts`, decision 0053), which the web app may not import: every element written
 * here maps back to exactly this provision there, so both sides encode the same body.
 */
import type { Actor, GrantConsentBody, Provision } from '../contracts/index.ts';
import { contractBody } from '../contracts/index.ts';
import { encodeTransaction, signTransaction } from '../chain/index.ts';
import { ed25519KeyPairFromSeed } from '../crypto/index.ts';
import { fromHex, toHex } from '../base/index.ts';
import {
  type Directory,
  labelName,
  labelTopic,
  organisationName,
  practitionerName,
  purposeName,
  recordTypeName,
  roleName,
} from './patient-names.ts';

/** Code systems of the Consent view (src/fhir `ConsentSystem`). */
const System = {
  scope: 'http://terminology.hl7.org/CodeSystem/consentscope',
  loinc: 'http://loinc.org',
  action: 'http://terminology.hl7.org/CodeSystem/consentaction',
  actReason: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  confidentiality: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  resourceTypes: 'http://hl7.org/fhir/resource-types',
  practitionerRole: 'urn:medledger:practitioner-role',
  organization: 'urn:medledger:organization',
  practitioner: 'urn:medledger:practitioner',
  client: 'urn:medledger:client',
} as const;

const confidentialityCodes = ['U', 'L', 'M', 'N', 'R', 'V'];
const fhirIdPattern = /^[A-Za-z0-9.-]{1,64}$/;
const localIdSeparator = '--';

/** The FHIR JSON this module reads and writes (a small, loose view of R4 Consent). */
export interface FhirCoding {
  system?: string;
  code?: string;
  display?: string;
}
export interface FhirReference {
  reference?: string;
  type?: string;
  identifier?: { system?: string; value?: string };
  display?: string;
}
export interface FhirPeriod {
  start?: string;
  end?: string;
}
export interface FhirProvision {
  type?: string;
  period?: FhirPeriod;
  actor?: Array<{ role?: { coding?: FhirCoding[] }; reference?: FhirReference }>;
  action?: Array<{ coding?: FhirCoding[] }>;
  securityLabel?: FhirCoding[];
  purpose?: FhirCoding[];
  class?: FhirCoding[];
  dataPeriod?: FhirPeriod;
  data?: Array<{ meaning?: string; reference?: FhirReference }>;
  provision?: FhirProvision[];
}
export interface FhirConsent {
  resourceType: 'Consent';
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string };
  status?: string;
  scope?: { coding?: FhirCoding[] };
  category?: Array<{ coding?: FhirCoding[] }>;
  patient?: FhirReference;
  dateTime?: string;
  performer?: FhirReference[];
  policyRule?: { coding?: FhirCoding[] };
  provision?: FhirProvision;
}

/** Who a grant is for: an organisation, a clinician (`orgId/localId`) or everyone with a role. */
export interface GrantRecipient {
  readonly kind: 'organization' | 'practitioner' | 'role';
  readonly id: string;
}

/** A grant as the patient chose it in the form. */
export interface GrantChoice {
  readonly recipient: GrantRecipient;
  /** Resource types; empty: every kind of record. */
  readonly classes: readonly string[];
  /** Purposes of use (v3-ActReason); at least one. */
  readonly purposes: readonly string[];
  /** The last day (`YYYY-MM-DD`, the patient's own calendar) the grant is in force; null: no end. */
  readonly until: string | null;
  /** Sensitive labels (and R/V) the grant includes; the others stay out. */
  readonly labels: readonly string[];
}

/** Midnight at the start of a local calendar day, in Unix ms. */
function localDayStart(year: number, month: number, day: number): number {
  return new Date(year, month - 1, day).getTime();
}

/**
 * The consent contract's provision for a choice: a permit for the recipient to access the chosen
 * kinds of record for the chosen purposes, in force from the start of today (local time) until the
 * end of `until`. Sensitive labels go in a nested permit: the contract lets a permit reach a
 * sensitive record only if the provision that matched names each of its sensitive labels, and a
 * label on the base provision would narrow it to sensitive records alone (decision 0023).
 */
export function provisionOfChoice(choice: GrantChoice, now: number): Provision {
  let period: Provision['period'] = null;
  if (choice.until !== null) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(choice.until);
    if (match === null) throw new RangeError('until: expected a date (YYYY-MM-DD)');
    const today = new Date(now);
    const start = localDayStart(today.getFullYear(), today.getMonth() + 1, today.getDate());
    const end = localDayStart(Number(match[1]), Number(match[2]), Number(match[3]) + 1);
    if (end <= now) throw new RangeError('until: expected today or a later day');
    period = { start, end };
  }
  const sensitive: Provision[] =
    choice.labels.length === 0
      ? []
      : [
          {
            type: 'permit',
            period: null,
            dataPeriod: null,
            actors: [],
            actions: [],
            purposes: [],
            classes: [],
            securityLabels: [...choice.labels],
            records: [],
            provisions: [],
          },
        ];
  return {
    type: 'permit',
    period,
    dataPeriod: null,
    actors: [{ kind: choice.recipient.kind, id: choice.recipient.id }],
    actions: ['access'],
    purposes: [...choice.purposes],
    classes: [...choice.classes],
    securityLabels: [],
    records: [],
    provisions: sensitive,
  };
}

function fhirInstant(ms: number): string {
  return new Date(ms).toISOString();
}

/** src/fhir `actorReference`: a literal reference where the id is a FHIR id, else logical. */
function actorReference(actor: Actor): FhirReference {
  if (actor.kind === 'role') {
    return {
      type: 'PractitionerRole',
      identifier: { system: System.practitionerRole, value: actor.id },
    };
  }
  const types = {
    organization: { type: 'Organization', system: System.organization },
    practitioner: { type: 'Practitioner', system: System.practitioner },
    client: { type: 'Device', system: System.client },
  } as const;
  const { type, system } = types[actor.kind];
  let fhirId: string | null;
  if (actor.kind === 'organization') {
    fhirId = fhirIdPattern.test(actor.id) ? actor.id : null;
  } else {
    const [orgId = '', localId = ''] = actor.id.split('/');
    const joined = `${orgId}${localIdSeparator}${localId}`;
    const splittable =
      fhirIdPattern.test(joined) &&
      !orgId.includes(localIdSeparator) &&
      !orgId.endsWith('-') &&
      !localId.includes(localIdSeparator);
    fhirId = splittable ? joined : null;
  }
  return fhirId === null
    ? { type, identifier: { system, value: actor.id } }
    : { reference: `${type}/${fhirId}` };
}

function provisionToFhir(provision: Provision): FhirProvision {
  const out: FhirProvision = { type: provision.type };
  if (provision.period !== null) {
    out.period =
      provision.period.end === null
        ? { start: fhirInstant(provision.period.start) }
        : {
            start: fhirInstant(provision.period.start),
            // FHIR's end is inclusive, the chain's is not: the last millisecond in force.
            end: fhirInstant(provision.period.end - 1),
          };
  }
  if (provision.actors.length > 0) {
    out.actor = provision.actors.map((actor) => ({
      role:
        actor.kind === 'role'
          ? { coding: [{ system: System.practitionerRole, code: actor.id }] }
          : {
              coding: [
                {
                  system: System.participationType,
                  code: 'IRCP',
                  display: 'information recipient',
                },
              ],
            },
      reference: actorReference(actor),
    }));
  }
  if (provision.actions.length > 0) {
    out.action = provision.actions.map((code) => ({ coding: [{ system: System.action, code }] }));
  }
  if (provision.securityLabels.length > 0) {
    out.securityLabel = provision.securityLabels.map((code) => ({
      system: confidentialityCodes.includes(code) ? System.confidentiality : System.actCode,
      code,
    }));
  }
  if (provision.purposes.length > 0) {
    out.purpose = provision.purposes.map((code) => ({ system: System.actReason, code }));
  }
  if (provision.classes.length > 0) {
    out.class = provision.classes.map((code) => ({ system: System.resourceTypes, code }));
  }
  if (provision.provisions.length > 0) out.provision = provision.provisions.map(provisionToFhir);
  return out;
}

/** A new consent id: 128 random bits in hex (the browser's CSPRNG). */
export function newConsentId(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(16)));
}

/** The consent as the contract holds it, and as the FHIR Consent the node is sent. */
export function grantOf(options: { consentId: string; patientId: string; provision: Provision }): {
  body: GrantConsentBody;
  consent: FhirConsent;
} {
  const { consentId, patientId, provision } = options;
  const patient = { reference: `Patient/${patientId}` };
  const policyRule = 'OPTIN';
  return {
    body: {
      consentId: fromHex(consentId),
      patientId: fromHex(patientId),
      policyRule,
      provision,
    },
    consent: {
      resourceType: 'Consent',
      id: consentId,
      status: 'active',
      scope: {
        coding: [{ system: System.scope, code: 'patient-privacy', display: 'Privacy Consent' }],
      },
      category: [
        { coding: [{ system: System.loinc, code: '59284-0', display: 'Patient Consent' }] },
      ],
      patient,
      performer: [patient],
      policyRule: { coding: [{ system: System.actCode, code: policyRule }] },
      provision: provisionToFhir(provision),
    },
  };
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The patient's public key (hex) of their key seed (hex). */
export function publicKeyOfSeed(seedHex: string): string {
  return toHex(ed25519KeyPairFromSeed(fromHex(seedHex)).publicKey);
}

/**
 * A `consent.grant` or `consent.revoke` signed with the patient's key, encoded (chain's
 * `encodeTransaction`) as base64url for the `X-MedLedger-Transaction` header.
 */
export function signedConsentTransaction(
  options: { chainId: string; seedHex: string; nonce: number } & (
    | { kind: 'consent.grant'; body: GrantConsentBody }
    | { kind: 'consent.revoke'; consentId: string }
  ),
): string {
  const keyPair = ed25519KeyPairFromSeed(fromHex(options.seedHex));
  const body =
    options.kind === 'consent.grant'
      ? contractBody('consent.grant', options.body)
      : contractBody('consent.revoke', { consentId: fromHex(options.consentId) });
  const tx = signTransaction({
    unsigned: {
      chainId: options.chainId,
      kind: options.kind,
      body,
      signer: keyPair.publicKey,
      nonce: options.nonce,
    },
    keyPair,
  });
  return base64url(encodeTransaction(tx));
}

// ---------------------------------------------------------------------------------------------
// Plain words

/** A consent in plain words: one sentence, then the conditions and exceptions, one per line. */
export interface ConsentWords {
  readonly sentence: string;
  readonly lines: readonly string[];
}

function listWords(items: readonly string[], conjunction: 'and' | 'or'): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]!}`;
}

function codesOf(codings: readonly FhirCoding[] | undefined): string[] {
  return (codings ?? []).map((coding) => coding.code ?? '?');
}

function actorWords(
  actor: NonNullable<FhirProvision['actor']>[number],
  directory: Directory | undefined,
): string {
  const reference = actor.reference ?? {};
  const literal = reference.reference ?? '';
  const logical = reference.identifier?.value ?? '';
  if (reference.identifier?.system === System.practitionerRole) return `all ${roleName(logical)}`;
  if (literal.startsWith('Organization/')) return organisationName(literal.slice(13));
  if (reference.identifier?.system === System.organization) return organisationName(logical);
  if (literal.startsWith('Practitioner/')) {
    const [orgId = '', localId = ''] = literal.slice(13).split(localIdSeparator);
    return practitionerName(directory, `${orgId}/${localId}`);
  }
  if (reference.identifier?.system === System.practitioner) {
    return practitionerName(directory, logical);
  }
  if (literal.startsWith('Device/')) return `the app ${literal.slice(7)}`;
  return literal || logical || 'someone';
}

const actionVerbs: Readonly<Record<string, string>> = {
  access: 'see',
  use: 'use',
  disclose: 'share',
  correct: 'correct',
  collect: 'collect',
};

function dateWords(value: string | undefined): string {
  if (value === undefined) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

function periodWords(period: FhirPeriod | undefined, what: string): string | null {
  if (period === undefined) return null;
  if (period.end === undefined) return `${what} from ${dateWords(period.start)}, with no end date`;
  return `${what} from ${dateWords(period.start)} until the end of ${dateWords(period.end)}`;
}

/** Whether a provision limits nothing but security labels (the grant form's nested permit). */
function onlyLabels(provision: FhirProvision): boolean {
  const keys = Object.keys(provision).filter((key) => key !== 'type' && key !== 'id');
  return keys.length === 1 && keys[0] === 'securityLabel';
}

function provisionWords(
  provision: FhirProvision,
  directory: Directory | undefined,
  depth: number,
): { sentence: string; lines: string[] } {
  const allow = provision.type !== 'deny';
  const actors = (provision.actor ?? []).map((actor) => actorWords(actor, directory));
  const actions = codesOf((provision.action ?? []).flatMap((action) => action.coding ?? [])).map(
    (code) => actionVerbs[code] ?? code,
  );
  const verb = actions.length > 0 ? listWords(actions, 'or') : 'see or use';
  const classes = codesOf(provision.class).map((code) => recordTypeName(code, true).toLowerCase());
  const labels = codesOf(provision.securityLabel);
  const topics = labels.map(labelTopic).filter((topic): topic is string => topic !== null);
  const marks = labels.filter((code) => labelTopic(code) === null).map(labelName);
  let what = classes.length > 0 ? `your ${listWords(classes, 'and')}` : 'your records';
  if (topics.length > 0) what += ` about ${listWords(topics, 'or')}`;
  if (marks.length > 0)
    what += `${topics.length > 0 ? ' or' : ''} marked ${listWords(marks, 'or')}`;
  if (classes.length === 0 && labels.length === 0) what = 'all your records';
  const records = (provision.data ?? []).length;
  if (records > 0) what = records === 1 ? 'one named record' : `${records} named records`;
  const purposes = codesOf(provision.purpose).map(purposeName);
  const why = purposes.length > 0 ? ` for ${listWords(purposes, 'or')}` : ', for any purpose';
  let sentence: string;
  if (allow) {
    const who = actors.length > 0 ? listWords(actors, 'or') : depth === 0 ? 'everyone' : 'they';
    sentence = `${capitalise(who)} may ${verb} ${what}${why}.`;
  } else if (actors.length === 0 && depth === 0) {
    sentence = `No one but you may ${verb} ${what}${why}.`;
  } else {
    const who = actors.length > 0 ? listWords(actors, 'or') : 'they';
    sentence = `${capitalise(who)} may not ${verb} ${what}${why}.`;
  }
  const lines: string[] = [];
  const period = periodWords(provision.period, 'In force');
  if (period !== null) lines.push(`${period}.`);
  const dataPeriod = periodWords(provision.dataPeriod, 'Only records dated');
  if (dataPeriod !== null) lines.push(`${dataPeriod}.`);
  const children = provision.provision ?? [];
  const included = children.filter((child) => child.type === 'permit' && onlyLabels(child));
  if (allow && depth === 0) {
    const named = codesOf(included.flatMap((child) => child.securityLabel ?? [])).map(
      (code) => labelTopic(code) ?? `records marked ${labelName(code)}`,
    );
    lines.push(
      named.length > 0
        ? `Sensitive records included: ${listWords(named, 'and')}. Other sensitive records are left out.`
        : 'Sensitive records (mental health, substance use, HIV and the like) are left out.',
    );
  }
  for (const child of children) {
    if (included.includes(child) && depth === 0) continue;
    const inner = provisionWords(child, directory, depth + 1);
    lines.push(`Except: ${inner.sentence}`, ...inner.lines.map((line) => `  ${line}`));
  }
  return { sentence, lines };
}

function capitalise(text: string): string {
  return text.length === 0 ? text : text[0]!.toUpperCase() + text.slice(1);
}

/** A Consent in plain words (any provision tree the chain can hold, not only the form's). */
export function consentWords(consent: FhirConsent, directory: Directory | undefined): ConsentWords {
  if (consent.provision === undefined) return { sentence: 'An empty consent.', lines: [] };
  return provisionWords(consent.provision, directory, 0);
}
