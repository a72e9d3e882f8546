// A patient's consent end to end, in chromium on one real demo network: refused before, a clinic
// doctor reads the record once the patient signs a grant in the portal, the patient sees that read
// verified in the access log, revokes, and the doctor is refused again (axe; screenshots).
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import type { Page } from 'playwright-core';

import {
  type DenialWatchedPage,
  attributesOf,
  checkScreenStep,
  eventually,
  flowSteps,
  openDenialWatchedPage,
  screenshotsTaken,
  signedInPage,
  userNamed,
  waitMarks,
} from './flow-helpers.ts';
import {
  type WebHarness,
  assertPageClean,
  harnessLimits,
  openPage,
  startWebHarness,
} from './harness.ts';

/** A St Mary patient whose seeded consent names the laboratory only (README, "Signing in"). */
const patientLogin = 'patient/doyle-crist';
/** A Riverside clinic doctor, not in the break-glass group. */
const clinicianLogin = 'clinic/dr-lorna-mitchell';

let web: WebHarness;
let patientPage: Page | undefined;
let clinician: DenialWatchedPage | undefined;

before(
  async () => {
    web = await startWebHarness();
    process.stdout.write(
      `# patient-flow harness: app built, demo seeded and chromium up in ${(web.startMs / 1000).toFixed(1)} s\n`,
    );
  },
  { timeout: harnessLimits.startWaitMs },
);

after(
  async () => {
    await patientPage?.context().close();
    await clinician?.close();
    if (web !== undefined) process.stdout.write(`# patient-flow harness: ${await web.stop()}\n`);
    process.stdout.write(`# patient-flow screenshots:\n#   ${screenshotsTaken.join('\n#   ')}\n`);
  },
  { timeout: harnessLimits.stopWaitMs },
);

const { step } = flowSteps();

function people() {
  const patient = userNamed(web, patientLogin);
  const doctor = userNamed(web, clinicianLogin);
  assert.notEqual(patient.orgId, doctor.orgId, 'the doctor works for another organisation');
  assert.notEqual(patient.url, doctor.url, 'the doctor signs in at another node');
  assert.ok(!doctor.roles.includes('break-glass'), `${doctor.name} is in the break-glass group`);
  return { patient, doctor };
}

/** The portal's section `name` ("Records", "Consents", "Access log"), opened from its nav. */
async function openSection(page: Page, link: string, heading: string) {
  await page.getByTestId('patient-nav').getByRole('link', { name: link, exact: true }).click();
  const region = page.getByRole('region', { name: heading, exact: true });
  await region.waitFor();
  return region;
}

/** The $everything request of the patient's record, as the clinician view makes it. */
function everythingPath(patientId: string): RegExp {
  return new RegExp(`^/fhir/Patient/${patientId}/\\$everything$`);
}

/** The denial the clinician sees: why (by the ledger's reason) and what to do. */
async function assertDenial(page: Page, orgId: string): Promise<string> {
  const denial = page.getByTestId('denial-message');
  await denial.waitFor();
  assert.equal(await denial.getAttribute('role'), 'alert');
  const text = (await denial.innerText()).replace(/\s+/g, ' ');
  assert.match(text, /You may not see .+’s records/);
  assert.equal(await denial.getAttribute('data-reason'), 'default-opt-in', text);
  assert.match(text, /The patient has not consented to your organisation seeing their records\./);
  assert.match(text, /This refusal is recorded in the patient’s access log\./);
  assert.match(text, /What you can do/);
  assert.ok(
    text.includes(`Ask the patient to grant ${orgId} access in their patient portal`),
    `the denial says what to do: ${text}`,
  );
  // Not in the break-glass group: the way out is a colleague who is, never a button.
  assert.match(text, /ask a clinician of your organisation’s emergency \(break-glass\) group/);
  assert.equal(await page.getByTestId('break-glass-button').count(), 0, 'a break-glass button');
  return text;
}

/** The ids of the patients the clinic's "Shared with your organisation" lists, once loaded. */
async function sharedPatientIds(page: Page): Promise<string[]> {
  const shared = page.getByRole('region', { name: 'Shared with your organisation' });
  await shared
    .getByRole('status')
    .filter({ hasText: /No patient of another organisation has shared with you\.|\d+ patients?\./ })
    .waitFor();
  return attributesOf(shared.getByTestId('patient-list').getByRole('button'), 'data-patient-id');
}

let consentId = '';

step(
  'the patient signs in at their hospital’s node: records and consents, each verified in the browser, none for the clinic',
  async (t) => {
    const { patient, doctor } = people();
    patientPage = await openPage(web.browser, patient.url);
    const page = patientPage;
    await signedInPage(page, patient);
    assert.match(page.url(), /#\/patient$/);

    const records = page.getByRole('region', { name: 'Your records', exact: true });
    await records.getByTestId('record-entry').first().waitFor();
    const recordMarks = await waitMarks(records, 'the records');
    t.diagnostic(`${recordMarks} records, each verified`);
    await checkScreenStep(t, page, 'patient-flow-records');

    const consents = await openSection(page, 'Consents', 'Who may see your records');
    await consents.getByTestId('consent-form').waitFor();
    const inForce = consents.getByTestId('consent-list').getByTestId('consent-entry');
    await inForce.first().waitFor();
    const sentences = await inForce.allInnerTexts();
    t.diagnostic(`consents in force: ${sentences.map((s) => s.replace(/\s+/g, ' ')).join(' | ')}`);
    for (const sentence of sentences) {
      assert.ok(
        !sentence.includes('Riverside Clinic'),
        `already shared with the clinic: ${sentence}`,
      );
      assert.ok(
        !sentence.includes(doctor.displayName),
        `already shared with the doctor: ${sentence}`,
      );
    }
    await waitMarks(consents.getByTestId('consent-list'), 'the consents in force');
    assertPageClean(page);
  },
);

step(
  'before any consent, the clinic doctor opening the patient at the clinic’s node is refused, with why and what to do',
  async (t) => {
    const { patient, doctor } = people();
    clinician = await openDenialWatchedPage(web, doctor.url);
    const page = clinician.page;
    await signedInPage(page, doctor);
    assert.match(page.url(), /#\/clinician$/);
    const sharedBefore = await sharedPatientIds(page);
    assert.ok(!sharedBefore.includes(patient.id), 'the patient is listed as shared already');
    t.diagnostic(`${sharedBefore.length} patients of other organisations shared with the doctor`);
    await page
      .getByRole('region', { name: 'Your patients' })
      .getByTestId('patient-list')
      .getByRole('button')
      .first()
      .waitFor();
    await checkScreenStep(t, page, 'patient-flow-clinician-list');

    const { denials } = await clinician.expectingDenial(everythingPath(patient.id), async () => {
      const form = page.getByRole('form', { name: 'Open a patient by id' });
      await form.getByLabel('Patient id').fill(patient.id);
      await form.getByRole('button', { name: 'Open' }).click();
      await assertDenial(page, doctor.orgId);
    });
    assert.equal(denials, 1, 'one refused request');
    assert.equal(await page.getByTestId('record-view').getAttribute('data-patient-id'), patient.id);
    assert.equal(await page.getByTestId('record-item').count(), 0, 'a record is shown');
    await checkScreenStep(t, page, 'patient-flow-denial');
    clinician.assertClean();
  },
);

step(
  'the patient grants that doctor access in the portal; the browser signs it and the ledger records it',
  async (t) => {
    const { doctor } = people();
    const page = patientPage!;
    const consents = page.getByRole('region', { name: 'Who may see your records', exact: true });
    const before = new Set(
      await attributesOf(
        consents.getByTestId('consent-list').getByTestId('consent-entry'),
        'data-consent-id',
      ),
    );
    const form = consents.getByTestId('consent-form');
    await form.getByRole('radio', { name: 'One clinician' }).check();
    await form
      .getByLabel('Clinician', { exact: true })
      .selectOption(`${doctor.orgId}/${doctor.id}`);
    // The defaults: all kinds of records, for treatment.
    assert.equal(await form.getByRole('radio', { name: 'All kinds of records' }).isChecked(), true);
    assert.equal(
      await form.getByRole('checkbox', { name: 'For your treatment and care' }).isChecked(),
      true,
    );
    const preview = await form.getByTestId('consent-preview').innerText();
    assert.ok(preview.includes(doctor.displayName), `the preview names the doctor: ${preview}`);

    const posted = page.waitForRequest(
      (request) =>
        request.method() === 'POST' && new URL(request.url()).pathname === '/fhir/Consent',
    );
    await form.getByTestId('consent-grant').click();
    const request = await posted;
    // Signed here: the consent transaction travels with the FHIR write; no key does.
    assert.match(request.headers()['x-medledger-transaction'] ?? '', /^[A-Za-z0-9_-]{40,}={0,2}$/);
    assert.ok(!(request.postData() ?? '').includes('patientKey'), 'a key in the request');

    const done = consents.getByRole('status').filter({ hasText: 'Done' });
    await done.waitFor({ timeout: 30_000 });
    assert.match(await done.innerText(), /Consent given and recorded on the ledger/);
    const added = consents
      .getByTestId('consent-list')
      .getByTestId('consent-entry')
      .filter({ hasText: doctor.displayName });
    await added.waitFor();
    consentId = (await added.getAttribute('data-consent-id')) ?? '';
    assert.ok(consentId !== '' && !before.has(consentId), 'a new consent is in force');
    assert.equal(await added.getAttribute('data-status'), 'active');
    assert.match(await added.innerText(), /In force/);
    await waitMarks(added, 'the new consent');
    t.diagnostic(`consent ${consentId}: ${(await added.innerText()).split('\n')[1]}`);
    await checkScreenStep(t, page, 'patient-flow-consents');
    assertPageClean(page);
  },
);

step(
  'the doctor tries again and reads the patient’s record through the clinic’s node; the patient is listed as shared',
  async (t) => {
    const { patient } = people();
    const watched = clinician!;
    const page = watched.page;
    const items = page.getByTestId('record-item');
    // The clinic's node decides on its own copy of the chain: a block after the grant at most.
    await watched.expectingDenial(everythingPath(patient.id), () =>
      eventually(
        async () => {
          await page
            .getByTestId('denial-message')
            .getByRole('button', { name: 'Try again' })
            .click();
          await page.locator('[data-testid="record-view"]:not([aria-busy])').waitFor();
          await items.first().waitFor({ timeout: 1_000 });
        },
        { what: 'the record is shown after the consent' },
      ),
    );
    const record = page.getByTestId('record-view');
    await record.getByRole('heading', { level: 2, name: patient.displayName }).waitFor();
    assert.match(await record.innerText(), new RegExp(`Registered at\\s+${patient.orgId}`));
    const count = await items.count();
    assert.ok(count > 0);
    t.diagnostic(`${count} records shown to the doctor`);

    // Loaded again from scratch, the clinic lists the patient among those who shared with it.
    await page.reload();
    const shared = page.getByRole('region', { name: 'Shared with your organisation' });
    const listed = shared.locator(`button[data-patient-id="${patient.id}"]`);
    await listed.waitFor();
    assert.match(await listed.innerText(), new RegExp(patient.displayName));
    await listed.click();
    assert.equal(await listed.getAttribute('aria-current'), 'true');
    await items.first().waitFor();
    await checkScreenStep(t, page, 'patient-flow-record');
    watched.assertClean();
  },
);

step(
  'the patient sees the doctor’s read, and the earlier refusal, in the access log, each verified in the browser',
  async (t) => {
    const { doctor } = people();
    const page = patientPage!;
    const log = await openSection(page, 'Access log', 'Who opened your records');
    const who = `${doctor.displayName} (Riverside Clinic)`;
    const entries = log.getByTestId('access-entry');
    const read = entries.filter({ hasText: `${who} opened` });
    // The refusal before the grant (the grant's own consent-deny refusals of sensitive records
    // are there too: the patient's other consent keeps those from everyone).
    const refused = entries
      .filter({ hasText: `${who} tried to open` })
      .filter({ hasText: 'Refused: you have not given consent' });
    await eventually(
      async () => {
        await read.first().waitFor({ timeout: 1_000 });
        await refused.first().waitFor({ timeout: 1_000 });
        // An entry recorded after the proof is "not checked" until the proof covers it.
        const states = await attributesOf(log.getByTestId('verified-mark'), 'data-state');
        assert.ok(!states.includes('checking') && !states.includes('unchecked'), states.join());
      },
      {
        what: 'the access log shows the doctor’s read and refusal, proven',
        between: async () => {
          const again = log.getByRole('button', { name: 'Check again' });
          if (await again.isEnabled()) await again.click();
        },
      },
    );
    assert.equal(await read.first().getAttribute('data-kind'), 'access');
    assert.equal(await refused.first().getAttribute('data-kind'), 'denied');
    const readText = await read.first().innerText();
    assert.match(readText, /From\s+Riverside Clinic/);
    assert.match(readText, /Why\s+for your treatment and care/);
    assert.match(readText, /Allowed: one of your consents allows it/);
    const refusedText = await refused.first().innerText();
    assert.match(refusedText, /^.*\nRefused\n/, 'the refusal says so in words, not only colour');
    await waitMarks(log.getByTestId('access-log'), 'the access log');
    assert.equal(
      await read.first().getByTestId('verified-mark').getAttribute('data-state'),
      'verified',
    );
    assert.match(
      (await log.getByTestId('access-proof').innerText()).replace(/\s+/g, ' '),
      /The ledger proves this list complete for every block up to block \d+/,
    );
    assert.match(await log.getByTestId('access-summary').innerText(), /\d+ refused/);
    t.diagnostic(`access log: ${await log.getByTestId('access-summary').innerText()}`);
    await checkScreenStep(t, page, 'patient-flow-access-log');
    assertPageClean(page);
  },
);

step(
  'the patient revokes the consent; the doctor is refused again, with why and what to do, and the patient is no longer listed',
  async (t) => {
    const { patient, doctor } = people();
    const page = patientPage!;
    const consents = await openSection(page, 'Consents', 'Who may see your records');
    const entry = consents.locator(`[data-testid="consent-entry"][data-consent-id="${consentId}"]`);
    await entry.getByTestId('consent-revoke').click();
    const confirm = entry.getByRole('group', { name: 'Confirm revocation' });
    await confirm.waitFor();
    await confirm.getByTestId('consent-revoke-confirm').click();
    const done = consents.getByRole('status').filter({ hasText: 'Consent revoked on the ledger' });
    await done.waitFor({ timeout: 30_000 });
    await eventually(
      async () => assert.equal(await entry.getAttribute('data-status'), 'inactive'),
      { what: 'the consent is shown revoked' },
    );
    assert.equal(
      await consents
        .getByTestId('consent-list')
        .locator(`[data-consent-id="${consentId}"]`)
        .count(),
      0,
      'the revoked consent is still listed in force',
    );
    assertPageClean(page);

    const watched = clinician!;
    const doctorPage = watched.page;
    const { denials } = await watched.expectingDenial(everythingPath(patient.id), () =>
      eventually(
        async () => {
          await doctorPage.locator('[data-testid="record-view"]:not([aria-busy])').waitFor();
          await doctorPage.getByTestId('denial-message').waitFor({ timeout: 1_000 });
        },
        {
          what: 'the doctor is refused after the revocation',
          between: () => doctorPage.reload().then(() => undefined),
        },
      ),
    );
    assert.ok(denials >= 1);
    const text = await assertDenial(doctorPage, doctor.orgId);
    t.diagnostic(`denial: ${text}`);
    assert.equal(await doctorPage.getByTestId('record-item').count(), 0, 'a record is shown');
    assert.ok(
      !(await sharedPatientIds(doctorPage)).includes(patient.id),
      'the patient is still listed as shared',
    );
    await checkScreenStep(t, doctorPage, 'patient-flow-denial-after-revoke');
    watched.assertClean();
    t.diagnostic(`expected denials: ${watched.expected.join('; ')}`);
  },
);
