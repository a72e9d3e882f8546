// Checks `decide` against a table of IHE PCF consent patterns (basic, intermediate, advanced):
// each case grants its consents on a shared base network, then compares decision, reason,
// deciding consent and provision path with the expected ones; valid and refused cases in pairs.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { toHex } from '../../src/base/index.ts';
import {
  type AccessDecision,
  type AccessRequest,
  type DecisionReason,
  type Provision,
  dataMonthOf,
  decide,
} from '../../src/contracts/index.ts';
import { Network, genesisDocument, idOf, keyOf, provision } from './fixtures.ts';

const hour = 60 * 60 * 1000;

/** The base network: three organisations, practitioners, a client, two patients, records. */
function baseNetwork(consentDefault: 'opt-in' | 'opt-out'): Network {
  const net = new Network(genesisDocument({ policy: { consentDefault } }));
  net.practitioner('org-a', 'alice', ['doctor']);
  net.practitioner('org-b', 'bob', ['doctor']);
  net.practitioner('org-b', 'bea', ['nurse']);
  net.practitioner('org-b', 'erin', ['doctor', 'break-glass']);
  net.practitioner('org-c', 'carol', ['doctor', 'researcher']);
  net.practitioner('org-c', 'cid', ['doctor']);
  net.ok(
    net.tx('node:org-c', 'identity.register-practitioner', {
      practitionerId: 'cid',
      publicKey: keyOf('dr:org-c/cid').publicKey,
      roles: ['doctor'],
      active: false,
    }),
  );
  net.ok(
    net.tx('node:org-b', 'identity.register-client', {
      clientId: 'app',
      publicKey: keyOf('client:org-b/app').publicKey,
      scopes: ['user/Observation.rs'],
      active: true,
    }),
  );
  const p1 = net.patient('p1');
  const p2 = net.patient('p2');
  net.ok(
    net.tx('patient:p1', 'identity.add-delegate', {
      patientId: p1,
      delegateKey: keyOf('guardian:p1').publicKey,
    }),
  );
  net.anchor({ record: 'rN', patientId: p1, labels: ['N'] });
  net.anchor({ record: 'rImm', patientId: p1, resourceType: 'Immunization', labels: ['N'] });
  net.anchor({ record: 'rPsy', patientId: p1, resourceType: 'Condition', labels: ['R', 'PSY'] });
  net.anchor({ record: 'rHiv', patientId: p1, labels: ['N', 'HIV'] });
  net.anchor({ record: 'rR', patientId: p1, labels: ['R'] });
  net.anchor({
    record: 'rSud',
    patientId: p1,
    resourceType: 'MedicationStatement',
    labels: ['R', 'ETH', '42CFRPart2'],
  });
  net.anchor({ record: 'rGone', patientId: p1 });
  net.ok(
    net.tx('node:org-a', 'record.erase', {
      recordId: idOf('record:rGone'),
      version: 2,
      reasonCode: 'patient-request',
    }),
  );
  net.anchor({ record: 'rOther', patientId: p2 });
  // Records with a data month (decision 0029): June 2021, December 2022, March 2023.
  net.anchor({ record: 'r2021', patientId: p1, dataMonth: dataMonthOf(2021, 6) });
  net.anchor({ record: 'rDec2022', patientId: p1, dataMonth: dataMonthOf(2022, 12) });
  net.anchor({ record: 'r2023', patientId: p1, dataMonth: dataMonthOf(2023, 3) });
  return net;
}

type Who =
  { practitioner: string } | { client: string } | { patientKey: string } | { organization: string };

interface Case {
  readonly name: string;
  readonly pattern: 'basic' | 'intermediate' | 'advanced';
  readonly network?: 'opt-in' | 'opt-out';
  /** Consents of patient p1, granted in one block; `now` is the decision time. */
  readonly consents?: (now: number) => Provision[];
  /** Revoke the consents in a later block before deciding. */
  readonly revoke?: boolean;
  /** Open a break-glass grant for this practitioner (`org/id`) before deciding. */
  readonly breakGlass?: { practitioner: string; purpose: 'BTG' | 'ETREAT' };
  readonly who?: Who;
  readonly purpose?: string;
  readonly action?: AccessRequest['action'];
  /** A record name, or null for a query. */
  readonly record?: string | null;
  readonly query?: { resourceType: string | null; labels: string[] };
  readonly patient?: string;
  /** Decide this long after the last block. */
  readonly laterMs?: number;
  readonly expected: {
    decision: 'permit' | 'deny';
    reason: DecisionReason;
    /** Index into `consents` of the deciding consent, and the provision path. */
    consent?: number;
    path?: number[];
  };
}

const researchOnly = (): Provision[] => [
  provision('deny', {
    provisions: [
      provision('permit', { purposes: ['HRESCH'], actors: [{ kind: 'role', id: 'researcher' }] }),
    ],
  }),
];
const timeLimited = (now: number): Provision[] => [
  provision('permit', {
    period: { start: now - hour, end: now + hour },
    provisions: [provision('deny', { purposes: ['HPAYMT'] })],
  }),
];
const normalAndBreakGlassRestricted = (): Provision[] => [
  provision('deny', {
    provisions: [
      provision('permit', { securityLabels: ['N'], purposes: ['TREAT', 'HPAYMT', 'HOPERAT'] }),
      provision('permit', {
        securityLabels: ['R'],
        purposes: ['BTG'],
        actors: [{ kind: 'role', id: 'break-glass' }],
      }),
    ],
  }),
];
const denyOrgC = (): Provision[] => [
  provision('permit', {
    provisions: [provision('deny', { actors: [{ kind: 'organization', id: 'org-c' }] })],
  }),
];
const denyBob = (): Provision[] => [
  provision('permit', {
    provisions: [provision('deny', { actors: [{ kind: 'practitioner', id: 'org-b/bob' }] })],
  }),
];
const denyNurses = (): Provision[] => [
  provision('permit', {
    provisions: [provision('deny', { actors: [{ kind: 'role', id: 'nurse' }] })],
  }),
];
const denyRecord = (): Provision[] => [
  provision('permit', { provisions: [provision('deny', { records: [idOf('record:rN')] })] }),
];
const onlyOrgB = (): Provision[] => [
  provision('deny', {
    provisions: [provision('permit', { actors: [{ kind: 'organization', id: 'org-b' }] })],
  }),
];
const immunizationsOnly = (): Provision[] => [provision('permit', { classes: ['Immunization'] })];
/** Data from 2020 to 2022: [2020-01-01, 2023-01-01) UTC. */
const years2020To2022 = { start: Date.UTC(2020, 0, 1), end: Date.UTC(2023, 0, 1) };
const permitData2020To2022 = (): Provision[] => [
  provision('permit', { dataPeriod: years2020To2022 }),
];
const denyData2020To2022 = (): Provision[] => [
  provision('permit', { provisions: [provision('deny', { dataPeriod: years2020To2022 })] }),
];
/** A period ending mid-December 2022: a December 2022 record is only partly inside. */
const untilMidDecember2022 = { start: Date.UTC(2020, 0, 1), end: Date.UTC(2022, 11, 15) };

const cases: Case[] = [
  // Basic: opt-in and opt-out, with and without a consent.
  {
    name: 'opt-in network, no consent: deny',
    pattern: 'basic',
    expected: { decision: 'deny', reason: 'default-opt-in' },
  },
  {
    name: 'opt-out network, no consent, TREAT: permit',
    pattern: 'basic',
    network: 'opt-out',
    expected: { decision: 'permit', reason: 'default-opt-out' },
  },
  {
    name: 'opt-out network, no consent, research: deny',
    pattern: 'basic',
    network: 'opt-out',
    purpose: 'HRESCH',
    expected: { decision: 'deny', reason: 'default-purpose-not-covered' },
  },
  {
    name: 'opt-in consent (base permit): permit',
    pattern: 'basic',
    consents: () => [provision('permit')],
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [] },
  },
  {
    name: 'opt-out consent (base deny) on an opt-out network: deny',
    pattern: 'basic',
    network: 'opt-out',
    consents: () => [provision('deny')],
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [] },
  },
  {
    name: 'consent for treatment, TREAT request: permit',
    pattern: 'basic',
    consents: () => [provision('permit', { purposes: ['TREAT'] })],
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [] },
  },
  {
    name: 'consent for treatment, payment request: deny (consent does not apply)',
    pattern: 'basic',
    consents: () => [provision('permit', { purposes: ['TREAT'] })],
    purpose: 'HPAYMT',
    expected: { decision: 'deny', reason: 'default-opt-in' },
  },
  {
    name: 'revoked opt-in consent: deny',
    pattern: 'basic',
    consents: () => [provision('permit')],
    revoke: true,
    expected: { decision: 'deny', reason: 'default-opt-in' },
  },
  {
    name: 'revoked opt-out consent on an opt-out network: permit again',
    pattern: 'basic',
    network: 'opt-out',
    consents: () => [provision('deny')],
    revoke: true,
    expected: { decision: 'permit', reason: 'default-opt-out' },
  },
  {
    name: 'the patient reads their own record despite a deny: permit',
    pattern: 'basic',
    consents: () => [provision('deny')],
    who: { patientKey: 'patient:p1' },
    expected: { decision: 'permit', reason: 'patient-self' },
  },
  {
    name: "the patient's delegate reads: permit",
    pattern: 'basic',
    who: { patientKey: 'guardian:p1' },
    expected: { decision: 'permit', reason: 'patient-self' },
  },
  {
    name: "another patient's key claiming p1: deny",
    pattern: 'basic',
    who: { patientKey: 'patient:p2' },
    expected: { decision: 'deny', reason: 'unknown-requester' },
  },
  {
    name: 'consent for access only, disclose request: deny',
    pattern: 'basic',
    consents: () => [provision('permit', { actions: ['access'] })],
    action: 'disclose',
    expected: { decision: 'deny', reason: 'default-opt-in' },
  },
  {
    name: 'consent for access only, access request: permit',
    pattern: 'basic',
    consents: () => [provision('permit', { actions: ['access'] })],
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [] },
  },
  {
    name: 'consent that expired: deny',
    pattern: 'basic',
    consents: (now) => [
      provision('permit', { period: { start: now - 2 * hour, end: now - hour } }),
    ],
    expected: { decision: 'deny', reason: 'default-opt-in' },
  },
  {
    name: 'consent not yet started: deny',
    pattern: 'basic',
    consents: (now) => [provision('permit', { period: { start: now + hour, end: null } })],
    expected: { decision: 'deny', reason: 'default-opt-in' },
  },
  {
    name: 'consent within its period: permit',
    pattern: 'basic',
    consents: (now) => [provision('permit', { period: { start: now - hour, end: now + hour } })],
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [] },
  },
  {
    name: 'consent for immunizations, immunization record: permit',
    pattern: 'basic',
    consents: immunizationsOnly,
    record: 'rImm',
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [] },
  },
  {
    name: 'consent for immunizations, observation record: deny',
    pattern: 'basic',
    consents: immunizationsOnly,
    expected: { decision: 'deny', reason: 'default-opt-in' },
  },

  // Intermediate: deny one organisation, practitioner, role, record or sensitive category.
  {
    name: 'permit except org-c, org-c asks: deny',
    pattern: 'intermediate',
    consents: denyOrgC,
    who: { practitioner: 'org-c/carol' },
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [0] },
  },
  {
    name: 'permit except org-c, org-b asks: permit',
    pattern: 'intermediate',
    consents: denyOrgC,
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [] },
  },
  {
    name: 'permit except practitioner bob, bob asks: deny',
    pattern: 'intermediate',
    consents: denyBob,
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [0] },
  },
  {
    name: 'permit except practitioner bob, bea asks: permit',
    pattern: 'intermediate',
    consents: denyBob,
    who: { practitioner: 'org-b/bea' },
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [] },
  },
  {
    name: 'permit except nurses, a nurse asks: deny',
    pattern: 'intermediate',
    consents: denyNurses,
    who: { practitioner: 'org-b/bea' },
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [0] },
  },
  {
    name: 'permit except nurses, a doctor asks: permit',
    pattern: 'intermediate',
    consents: denyNurses,
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [] },
  },
  {
    name: 'permit except PSY, a PSY record: deny',
    pattern: 'intermediate',
    consents: () => [
      provision('permit', { provisions: [provision('deny', { securityLabels: ['PSY'] })] }),
    ],
    record: 'rPsy',
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [0] },
  },
  {
    name: 'general permit, an HIV record (not named): deny',
    pattern: 'intermediate',
    consents: () => [provision('permit')],
    record: 'rHiv',
    expected: { decision: 'deny', reason: 'sensitive-label-not-named', consent: 0, path: [] },
  },
  {
    name: 'permit naming HIV, an HIV record: permit',
    pattern: 'intermediate',
    consents: () => [
      provision('permit', { provisions: [provision('permit', { securityLabels: ['HIV'] })] }),
    ],
    record: 'rHiv',
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [0] },
  },
  {
    name: 'deny except org-b, org-b asks: permit',
    pattern: 'intermediate',
    consents: onlyOrgB,
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [0] },
  },
  {
    name: 'deny except org-b, org-c asks: deny',
    pattern: 'intermediate',
    consents: onlyOrgB,
    who: { practitioner: 'org-c/carol' },
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [] },
  },
  {
    name: 'permit except one record, that record: deny',
    pattern: 'intermediate',
    consents: denyRecord,
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [0] },
  },
  {
    name: 'permit except one record, another record: permit',
    pattern: 'intermediate',
    consents: denyRecord,
    record: 'rImm',
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [] },
  },
  {
    name: 'permit except one record, a query (decided per record later): permit',
    pattern: 'intermediate',
    consents: denyRecord,
    record: null,
    query: { resourceType: 'Observation', labels: ['N'] },
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [] },
  },
  {
    name: 'opt-out network, deny for org-c only, org-b asks: permit by default',
    pattern: 'intermediate',
    network: 'opt-out',
    consents: () => [provision('deny', { actors: [{ kind: 'organization', id: 'org-c' }] })],
    expected: { decision: 'permit', reason: 'default-opt-out' },
  },
  {
    name: 'opt-out network, deny for org-c only, org-c asks: deny',
    pattern: 'intermediate',
    network: 'opt-out',
    consents: () => [provision('deny', { actors: [{ kind: 'organization', id: 'org-c' }] })],
    who: { practitioner: 'org-c/carol' },
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [] },
  },
  {
    name: 'custodian reads its own sensitive record without consent: permit',
    pattern: 'intermediate',
    who: { practitioner: 'org-a/alice' },
    record: 'rPsy',
    expected: { decision: 'permit', reason: 'custodian-own-record' },
  },
  {
    name: 'custodian under a general deny: deny',
    pattern: 'intermediate',
    consents: () => [provision('deny')],
    who: { practitioner: 'org-a/alice' },
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [] },
  },
  {
    name: 'a permit and a separate deny of org-c: deny overrides',
    pattern: 'intermediate',
    consents: () => [
      provision('permit'),
      provision('deny', { actors: [{ kind: 'organization', id: 'org-c' }] }),
    ],
    who: { practitioner: 'org-c/carol' },
    expected: { decision: 'deny', reason: 'consent-deny', consent: 1, path: [] },
  },
  {
    name: 'query for ETH-labelled data under a general permit: deny',
    pattern: 'intermediate',
    consents: () => [provision('permit')],
    record: null,
    query: { resourceType: 'Observation', labels: ['N', 'ETH'] },
    expected: { decision: 'deny', reason: 'sensitive-label-not-named', consent: 0, path: [] },
  },
  {
    name: 'opt-out network, HIV record, no consent: deny',
    pattern: 'intermediate',
    network: 'opt-out',
    record: 'rHiv',
    expected: { decision: 'deny', reason: 'sensitive-needs-consent' },
  },

  // Advanced: research only, time-limited, break-glass (restricted), client apps, 42 CFR Part 2.
  {
    name: 'research only, a researcher for HRESCH: permit',
    pattern: 'advanced',
    consents: researchOnly,
    who: { practitioner: 'org-c/carol' },
    purpose: 'HRESCH',
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [0] },
  },
  {
    name: 'research only, a researcher for TREAT: deny',
    pattern: 'advanced',
    consents: researchOnly,
    who: { practitioner: 'org-c/carol' },
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [] },
  },
  {
    name: 'research only, a non-researcher for HRESCH: deny',
    pattern: 'advanced',
    consents: researchOnly,
    purpose: 'HRESCH',
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [] },
  },
  {
    name: 'time-limited consent, within its period: permit',
    pattern: 'advanced',
    consents: timeLimited,
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [] },
  },
  {
    name: 'time-limited consent, two hours later: deny',
    pattern: 'advanced',
    consents: timeLimited,
    laterMs: 2 * hour,
    expected: { decision: 'deny', reason: 'default-opt-in' },
  },
  {
    name: 'time-limited consent, payment purpose excepted: deny',
    pattern: 'advanced',
    consents: timeLimited,
    purpose: 'HPAYMT',
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [0] },
  },
  // Advanced: data periods (FHIR Consent.provision.dataPeriod, decision 0029).
  {
    name: 'permit for data from 2020–2022, a record of 2021: permit',
    pattern: 'advanced',
    consents: permitData2020To2022,
    record: 'r2021',
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [] },
  },
  {
    name: 'permit for data from 2020–2022, a record of 2023: deny (consent does not apply)',
    pattern: 'advanced',
    consents: permitData2020To2022,
    record: 'r2023',
    expected: { decision: 'deny', reason: 'default-opt-in' },
  },
  {
    name: 'permit for data from 2020–2022, a record without data month: deny',
    pattern: 'advanced',
    consents: permitData2020To2022,
    record: 'rN',
    expected: { decision: 'deny', reason: 'default-opt-in' },
  },
  {
    name: 'permit for data from 2020–2022, a query: deny (decided per record)',
    pattern: 'advanced',
    consents: permitData2020To2022,
    record: null,
    query: { resourceType: 'Observation', labels: ['N'] },
    expected: { decision: 'deny', reason: 'default-opt-in' },
  },
  {
    name: 'permit for data until mid-December 2022, a December 2022 record: deny (month not inside)',
    pattern: 'advanced',
    consents: () => [provision('permit', { dataPeriod: untilMidDecember2022 })],
    record: 'rDec2022',
    expected: { decision: 'deny', reason: 'default-opt-in' },
  },
  {
    name: 'permit, except data from 2020–2022, a record of 2021: deny',
    pattern: 'advanced',
    consents: denyData2020To2022,
    record: 'r2021',
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [0] },
  },
  {
    name: 'permit, except data from 2020–2022, a record of 2023: permit',
    pattern: 'advanced',
    consents: denyData2020To2022,
    record: 'r2023',
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [] },
  },
  {
    name: 'permit, except data from 2020–2022, a record without data month: deny',
    pattern: 'advanced',
    consents: denyData2020To2022,
    record: 'rN',
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [0] },
  },
  {
    name: 'permit, except data from 2020–2022, a query: permit (each record decided later)',
    pattern: 'advanced',
    consents: denyData2020To2022,
    record: null,
    query: { resourceType: 'Observation', labels: ['N'] },
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [] },
  },
  {
    name: 'opt-out network, deny of data until mid-December 2022, a December 2022 record: deny',
    pattern: 'advanced',
    network: 'opt-out',
    consents: () => [provision('deny', { dataPeriod: untilMidDecember2022 })],
    record: 'rDec2022',
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [] },
  },
  {
    name: 'opt-out network, deny of data from 2020–2022, a record of 2023: permit',
    pattern: 'advanced',
    network: 'opt-out',
    consents: () => [provision('deny', { dataPeriod: years2020To2022 })],
    record: 'r2023',
    expected: { decision: 'permit', reason: 'default-opt-out' },
  },
  {
    name: 'break-glass with an open grant under a general deny: permit',
    pattern: 'advanced',
    consents: () => [provision('deny')],
    breakGlass: { practitioner: 'org-b/erin', purpose: 'BTG' },
    who: { practitioner: 'org-b/erin' },
    purpose: 'BTG',
    expected: { decision: 'permit', reason: 'break-glass' },
  },
  {
    name: 'break-glass purpose without a grant: deny',
    pattern: 'advanced',
    who: { practitioner: 'org-b/erin' },
    purpose: 'BTG',
    expected: { decision: 'deny', reason: 'break-glass-not-open' },
  },
  {
    name: 'break-glass purpose by someone outside the group: deny',
    pattern: 'advanced',
    purpose: 'ETREAT',
    expected: { decision: 'deny', reason: 'break-glass-not-open' },
  },
  {
    name: 'break-glass after the grant expired: deny',
    pattern: 'advanced',
    breakGlass: { practitioner: 'org-b/erin', purpose: 'BTG' },
    who: { practitioner: 'org-b/erin' },
    purpose: 'BTG',
    laterMs: hour,
    expected: { decision: 'deny', reason: 'break-glass-not-open' },
  },
  {
    name: 'break-glass refused explicitly by the patient: deny',
    pattern: 'advanced',
    consents: () => [
      provision('permit', { provisions: [provision('deny', { purposes: ['BTG'] })] }),
    ],
    breakGlass: { practitioner: 'org-b/erin', purpose: 'BTG' },
    who: { practitioner: 'org-b/erin' },
    purpose: 'BTG',
    expected: { decision: 'deny', reason: 'break-glass-refused', consent: 0, path: [0] },
  },
  {
    name: 'normal data for treatment under "normal and break-glass restricted": permit',
    pattern: 'advanced',
    consents: normalAndBreakGlassRestricted,
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [0] },
  },
  {
    name: 'restricted data for treatment under the same consent: deny',
    pattern: 'advanced',
    consents: normalAndBreakGlassRestricted,
    record: 'rR',
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [] },
  },
  {
    name: 'restricted data by break-glass under the same consent: permit',
    pattern: 'advanced',
    consents: normalAndBreakGlassRestricted,
    breakGlass: { practitioner: 'org-b/erin', purpose: 'BTG' },
    who: { practitioner: 'org-b/erin' },
    purpose: 'BTG',
    record: 'rR',
    expected: { decision: 'permit', reason: 'break-glass' },
  },
  {
    name: 'client application named by the consent: permit',
    pattern: 'advanced',
    consents: () => [
      provision('deny', {
        provisions: [provision('permit', { actors: [{ kind: 'client', id: 'org-b/app' }] })],
      }),
    ],
    who: { client: 'org-b/app' },
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [0] },
  },
  {
    name: 'same consent, a practitioner of the same organisation: deny',
    pattern: 'advanced',
    consents: () => [
      provision('deny', {
        provisions: [provision('permit', { actors: [{ kind: 'client', id: 'org-b/app' }] })],
      }),
    ],
    expected: { decision: 'deny', reason: 'consent-deny', consent: 0, path: [] },
  },
  {
    name: '42 CFR Part 2 record with a permit naming all its labels: permit',
    pattern: 'advanced',
    consents: () => [provision('permit', { securityLabels: ['42CFRPart2', 'ETH', 'R'] })],
    record: 'rSud',
    expected: { decision: 'permit', reason: 'consent-permit', consent: 0, path: [] },
  },
  {
    name: '42 CFR Part 2 record with a permit naming ETH only: deny',
    pattern: 'advanced',
    consents: () => [provision('permit', { securityLabels: ['ETH'] })],
    record: 'rSud',
    expected: { decision: 'deny', reason: 'sensitive-label-not-named', consent: 0, path: [] },
  },
  {
    name: 'an erased record: deny',
    pattern: 'advanced',
    consents: () => [provision('permit')],
    record: 'rGone',
    expected: { decision: 'deny', reason: 'record-erased' },
  },
  {
    name: 'a record of another patient: deny',
    pattern: 'advanced',
    consents: () => [provision('permit')],
    record: 'rOther',
    expected: { decision: 'deny', reason: 'record-of-another-patient' },
  },
  {
    name: 'a record never anchored: deny',
    pattern: 'advanced',
    record: 'rMissing',
    expected: { decision: 'deny', reason: 'unknown-record' },
  },
  {
    name: 'a patient never enrolled: deny',
    pattern: 'advanced',
    patient: 'p9',
    record: null,
    query: { resourceType: null, labels: [] },
    expected: { decision: 'deny', reason: 'unknown-patient' },
  },
  {
    name: 'a deactivated practitioner: deny',
    pattern: 'advanced',
    consents: () => [provision('permit')],
    who: { practitioner: 'org-c/cid' },
    expected: { decision: 'deny', reason: 'unknown-requester' },
  },
];

const bases = { 'opt-in': baseNetwork('opt-in'), 'opt-out': baseNetwork('opt-out') };

function requesterOf(who: Who): AccessRequest['requester'] {
  if ('practitioner' in who) {
    const [orgId, practitionerId] = who.practitioner.split('/') as [string, string];
    return { kind: 'practitioner', orgId, practitionerId };
  }
  if ('client' in who) {
    const [orgId, clientId] = who.client.split('/') as [string, string];
    return { kind: 'client', orgId, clientId };
  }
  if ('organization' in who) return { kind: 'organization', orgId: who.organization };
  return { kind: 'patient', publicKey: keyOf(who.patientKey).publicKey };
}

function run(c: Case): { decision: AccessDecision; consentIds: string[] } {
  const net = bases[c.network ?? 'opt-in'].fork();
  if (c.breakGlass !== undefined) {
    const [orgId, practitionerId] = c.breakGlass.practitioner.split('/') as [string, string];
    net.ok(
      net.tx(`dr:${orgId}/${practitionerId}`, 'access.break-glass', {
        patientId: idOf('patient:p1'),
        practitionerId,
        purpose: c.breakGlass.purpose,
        reasonCode: 'unconscious-patient',
      }),
    );
  }
  const now = net.time + 1000;
  const provisions = c.consents?.(now) ?? [];
  const consentIds = provisions.map((_, i) => idOf(`consent:${c.name}:${i}`));
  if (provisions.length > 0) {
    const block = net.block(
      provisions.map((p, i) =>
        net.tx('patient:p1', 'consent.grant', {
          consentId: consentIds[i]!,
          patientId: idOf('patient:p1'),
          policyRule: p.type === 'permit' ? 'OPTIN' : 'OPTOUT',
          provision: p,
        }),
      ),
    );
    assert.ok(
      block.receipts.every((r) => r.ok),
      `grants succeed: ${JSON.stringify(block.receipts)}`,
    );
  } else {
    net.block([]);
  }
  if (c.revoke === true) {
    const block = net.block(
      consentIds.map((consentId) => net.tx('patient:p1', 'consent.revoke', { consentId })),
    );
    assert.ok(
      block.receipts.every((r) => r.ok),
      'revocations succeed',
    );
  }
  const record = c.record === undefined ? 'rN' : c.record;
  const request: AccessRequest = {
    patientId: idOf(`patient:${c.patient ?? 'p1'}`),
    requester: requesterOf(c.who ?? { practitioner: 'org-b/bob' }),
    action: c.action ?? 'access',
    purpose: c.purpose ?? 'TREAT',
    recordId: record === null ? null : idOf(`record:${record}`),
    resourceType: c.query?.resourceType ?? null,
    securityLabels: c.query?.labels ?? [],
  };
  return {
    decision: decide(net.state, request, net.time + (c.laterMs ?? 0)),
    consentIds: consentIds.map(toHex),
  };
}

test('the table has at least 40 cases, of every PCF pattern, with both outcomes', () => {
  assert.ok(cases.length >= 40, `found ${cases.length} cases`);
  for (const pattern of ['basic', 'intermediate', 'advanced'] as const) {
    const own = cases.filter((c) => c.pattern === pattern);
    assert.ok(
      own.some((c) => c.expected.decision === 'permit'),
      `${pattern} has a permit case`,
    );
    assert.ok(
      own.some((c) => c.expected.decision === 'deny'),
      `${pattern} has a deny case`,
    );
  }
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are distinct');
});

for (const c of cases) {
  test(`PCF ${c.pattern}: ${c.name}`, () => {
    const { decision, consentIds } = run(c);
    assert.equal(decision.decision, c.expected.decision, `decision (reason ${decision.reason})`);
    assert.equal(decision.reason, c.expected.reason);
    const expectedConsent =
      c.expected.consent === undefined ? null : consentIds[c.expected.consent];
    assert.equal(
      decision.consentId === null ? null : toHex(decision.consentId),
      expectedConsent ?? null,
    );
    assert.deepEqual(decision.provisionPath, c.expected.path ?? null);
  });
}
