// Break-glass end to end, in chromium on one real demo network: a clinic emergency doctor opens an
// unconsented patient through the dialog (reason required, time left shown), the patient sees it
// stand out in the access log, the clinic's privacy officer approves it off the queue (axe and
// screenshots on each screen).
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
  describeFocus,
  harnessLimits,
  openPage,
  startWebHarness,
} from './harness.ts';

/** A St Mary patient whose seeded consent names the laboratory only (README, "Signing in"). */
const patientLogin = 'patient/doyle-crist';
/** Riverside clinic's emergency doctor: role `break-glass`. */
const emergencyLogin = 'clinic/er-freida-schaefer';
/** Riverside clinic's privacy officer: reviews the clinic's staff's break-glass (the contract). */
const officerLogin = 'clinic/po-zella-dare';
/** St Mary's privacy officer: the patient's hospital, not the organisation that broke the glass. */
const otherOfficerLogin = 'hospital/po-kira-kilback';
/** The reason chosen in the dialog: its code, which the ledger keeps, and its words. */
const reason = { code: 'unconscious', label: 'Patient unconscious or unable to consent' };

let web: WebHarness;
let clinician: DenialWatchedPage | undefined;
const pages: Page[] = [];

before(
  async () => {
    web = await startWebHarness();
    process.stdout.write(
      `# break-glass-flow harness: app built, demo seeded and chromium up in ${(web.startMs / 1000).toFixed(1)} s\n`,
    );
  },
  { timeout: harnessLimits.startWaitMs },
);

after(
  async () => {
    for (const page of pages) await page.context().close();
    await clinician?.close();
    if (web !== undefined) {
      process.stdout.write(`# break-glass-flow harness: ${await web.stop()}\n`);
    }
    process.stdout.write(
      `# break-glass-flow screenshots:\n#   ${screenshotsTaken.join('\n#   ')}\n`,
    );
  },
  { timeout: harnessLimits.stopWaitMs },
);

const { step } = flowSteps();

function people() {
  const patient = userNamed(web, patientLogin);
  const doctor = userNamed(web, emergencyLogin);
  const officer = userNamed(web, officerLogin);
  const otherOfficer = userNamed(web, otherOfficerLogin);
  assert.ok(doctor.roles.includes('break-glass'), `${doctor.name} is not in the break-glass group`);
  assert.notEqual(patient.orgId, doctor.orgId, 'the doctor works for another organisation');
  assert.ok(officer.roles.includes('privacy-officer'));
  assert.equal(officer.orgId, doctor.orgId, 'the reviewer is of the doctor’s organisation');
  assert.ok(otherOfficer.roles.includes('privacy-officer'));
  assert.equal(otherOfficer.orgId, patient.orgId);
  return { patient, doctor, officer, otherOfficer };
}

/** A fresh watched page (harness `openPage`) with `user` signed in at their node. */
async function signedIn(user: ReturnType<typeof people>['patient']): Promise<Page> {
  const page = await openPage(web.browser, user.url);
  pages.push(page);
  await signedInPage(page, user);
  return page;
}

/** The portal's section `name` ("Records", "Consents", "Access log"), opened from its nav. */
async function openSection(page: Page, link: string, heading: string) {
  await page.getByTestId('patient-nav').getByRole('link', { name: link, exact: true }).click();
  const region = page.getByRole('region', { name: heading, exact: true });
  await region.waitFor();
  return region;
}

/** The privacy officer's page, from the header's link; the queue once loaded. */
async function openReviewQueue(page: Page) {
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Privacy review' })
    .click();
  await page.getByRole('heading', { level: 1, name: 'Privacy review' }).waitFor();
  const queue = page.getByRole('region', { name: 'Break-glass uses awaiting review' });
  await queue.getByText(/awaits? (your )?review\.$/).waitFor();
  return queue;
}

let breakGlassId = '';

step(
  'an emergency doctor of the clinic opening the patient is refused, and the refusal offers break-glass',
  async (t) => {
    const { patient, doctor } = people();
    clinician = await openDenialWatchedPage(web, doctor.url);
    const page = clinician.page;
    await signedInPage(page, doctor);
    assert.match(page.url(), /#\/clinician$/);
    await page
      .getByRole('region', { name: 'Your patients' })
      .getByTestId('patient-list')
      .getByRole('button')
      .first()
      .waitFor();
    await checkScreenStep(t, page, 'break-glass-flow-clinician-list');

    const path = new RegExp(`^/fhir/Patient/${patient.id}/\\$everything$`);
    const { denials } = await clinician.expectingDenial(path, async () => {
      const form = page.getByRole('form', { name: 'Open a patient by id' });
      await form.getByLabel('Patient id').fill(patient.id);
      await form.getByRole('button', { name: 'Open' }).click();
      await page.getByTestId('denial-message').waitFor();
    });
    assert.equal(denials, 1, 'one refused request');
    const denial = page.getByTestId('denial-message');
    assert.equal(await denial.getAttribute('data-reason'), 'default-opt-in');
    const text = (await denial.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /The patient has not consented to your organisation seeing their records\./);
    assert.match(text, /In an emergency, you can break the glass: you state a reason/);
    await denial.getByRole('button', { name: 'Break the glass…' }).waitFor();
    assert.equal(await page.getByTestId('record-item').count(), 0, 'a record is shown');
    await checkScreenStep(t, page, 'break-glass-flow-denial');
    clinician.assertClean();
  },
);

step(
  'the break-glass dialog demands a reason and says how long access lasts; with one, emergency access opens with the time left and the record shows',
  async (t) => {
    const { patient } = people();
    const page = clinician!.page;
    const signIns: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/auth/demo/sign-in') {
        signIns.push(request.postData() ?? '');
      }
    });
    await page.getByTestId('break-glass-button').click();
    const dialog = page.getByRole('dialog', { name: 'Break the glass' });
    await dialog.waitFor();
    assert.equal(await dialog.getAttribute('data-testid'), 'break-glass-dialog');
    const about = (await dialog.locator('#break-glass-about').innerText()).replace(/\s+/g, ' ');
    assert.match(
      about,
      /recorded on the ledger, the patient is told, and a privacy officer reviews/,
    );
    // The two clocks are told apart: the sign-in's 15 minutes and the ledger grant's hour.
    assert.match(about, /emergency sign-in lasts 15 minutes; the grant .* up to an hour/);
    // The dialog takes the focus, on the chosen purpose.
    assert.equal(
      await dialog.getByRole('radio', { name: 'Break the glass (BTG)' }).isChecked(),
      true,
    );
    assert.equal((await describeFocus(page)).tag, 'input');
    await checkScreenStep(t, page, 'break-glass-flow-dialog');

    // No reason: refused in the dialog, nothing sent.
    const reasonField = dialog.getByLabel('Reason (required)');
    const confirm = dialog.getByRole('button', { name: 'Open emergency access' });
    await confirm.click();
    await dialog.getByText('Choose the reason for emergency access.').waitFor();
    assert.equal(await reasonField.getAttribute('aria-invalid'), 'true');
    assert.equal((await describeFocus(page)).id, 'break-glass-reason', 'focus is on the reason');
    // "Other" needs the clinician's words.
    await reasonField.selectOption({ label: 'Other (describe it)' });
    const words = dialog.getByLabel('Describe the emergency');
    await words.fill('   ');
    await confirm.click();
    await dialog.getByText('Describe the emergency in a few words.').waitFor();
    assert.equal(await words.getAttribute('aria-invalid'), 'true');
    assert.deepEqual(signIns, [], 'a break-glass sign-in was sent without a reason');
    assert.equal(await dialog.isVisible(), true);

    await reasonField.selectOption({ label: reason.label });
    await confirm.click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(signIns.length, 1);
    assert.deepEqual(JSON.parse(signIns[0]!), {
      name: emergencyLogin,
      purpose: 'BTG',
      reason: reason.code,
    });

    const banner = page.getByTestId('break-glass-banner');
    await banner.waitFor();
    const bannerText = (await banner.innerText()).replace(/\s+/g, ' ');
    assert.match(bannerText, /Break-glass Emergency access is open/);
    assert.match(bannerText, new RegExp(`purpose BTG · reason “${reason.code}”`));
    const timer = banner.getByRole('timer');
    const first = await timer.innerText();
    assert.match(first, /^1[45]:\d\d$/, `time left: ${first}`);
    assert.match(
      (await timer.getAttribute('aria-label')) ?? '',
      /^1[45] minutes( \d+ seconds?)? left$/,
    );
    await eventually(async () => assert.notEqual(await timer.innerText(), first), {
      what: 'the time left counts down',
      timeoutMs: 3_000,
    });

    const record = page.getByTestId('record-view');
    await record.getByRole('heading', { level: 2, name: patient.displayName }).waitFor();
    await page.getByTestId('record-item').first().waitFor();
    assert.equal(await record.getAttribute('data-patient-id'), patient.id);
    assert.match(
      await record.innerText(),
      /Emergency access is for reading: you write in the records of your own organisation’s patients\./,
    );
    t.diagnostic(
      `${await page.getByTestId('record-item').count()} records shown; time left ${await timer.innerText()}`,
    );
    await checkScreenStep(t, page, 'break-glass-flow-record');

    // Ended by hand: back to treatment, the emergency patient closed.
    await banner.getByRole('button', { name: 'End break-glass now' }).click();
    await page.getByTestId('break-glass-ended').waitFor();
    assert.equal(await banner.count(), 0);
    assert.match(
      await page.getByTestId('break-glass-ended').innerText(),
      /You ended break-glass access\.[\s\S]*A privacy officer of riverside-clinic reviews every emergency access\./,
    );
    clinician!.assertClean();
  },
);

step(
  'the patient sees the emergency access in the access log, set apart in words, verified in the browser',
  async (t) => {
    const { patient, doctor } = people();
    const page = await signedIn(patient);
    const records = page.getByRole('region', { name: 'Your records', exact: true });
    await records.getByTestId('record-entry').first().waitFor();
    await waitMarks(records, 'the records');
    await checkScreenStep(t, page, 'break-glass-flow-patient-records');

    const log = await openSection(page, 'Access log', 'Who opened your records');
    const emergency = log.locator('[data-testid="access-entry"][data-kind="break-glass"]');
    await eventually(
      async () => {
        await emergency.first().waitFor({ timeout: 1_000 });
        const states = await attributesOf(log.getByTestId('verified-mark'), 'data-state');
        assert.ok(!states.includes('checking') && !states.includes('unchecked'), states.join());
      },
      {
        what: 'the access log shows the emergency access, proven',
        between: async () => {
          const again = log.getByRole('button', { name: 'Check again' });
          if (await again.isEnabled()) await again.click();
        },
      },
    );
    const count = await emergency.count();
    const texts = await emergency.allInnerTexts();
    for (const text of texts) {
      // In words, not only in colour: the badge's text, who, why, and what it means.
      assert.match(text, /Emergency access \(break-glass\)/);
      assert.ok(text.includes(`${doctor.displayName} (Riverside Clinic)`), text);
      assert.match(text, /Why\s+for an emergency \(break-glass\)/);
    }
    const allowed = emergency.filter({ hasText: 'Allowed' });
    assert.ok((await allowed.count()) > 0, texts.join('\n---\n'));
    assert.match(
      (await allowed.first().innerText()).replace(/\s+/g, ' '),
      /Emergency access skips your consents\. It is time-limited, needs a reason and is reviewed by the privacy officer of Riverside Clinic\./,
    );
    // Other entries do not carry those words.
    const ordinary = log.locator('[data-testid="access-entry"]:not([data-kind="break-glass"])');
    for (const text of await ordinary.allInnerTexts()) {
      assert.ok(!text.includes('Emergency access (break-glass)'), text);
    }
    assert.match(await log.getByTestId('access-summary').innerText(), /\d+ emergency access/);
    await waitMarks(log.getByTestId('access-log'), 'the access log');

    // "Refusals and emergency access only" keeps them and drops plain reads.
    await log
      .getByLabel('Show', { exact: true })
      .selectOption({ label: 'Refusals and emergency access only' });
    await eventually(
      async () => {
        const kinds = await attributesOf(log.getByTestId('access-entry'), 'data-kind');
        assert.ok(
          kinds.every((kind) => kind === 'break-glass' || kind === 'denied'),
          kinds.join(),
        );
        assert.ok(kinds.filter((kind) => kind === 'break-glass').length === count, kinds.join());
      },
      { what: 'only refusals and emergency access are shown', timeoutMs: 3_000 },
    );
    t.diagnostic(
      `${count} emergency access entries; ${await log.getByTestId('access-summary').innerText()}`,
    );
    await checkScreenStep(t, page, 'break-glass-flow-access-log');
    assertPageClean(page);
  },
);

step(
  'the patient’s hospital’s privacy officer sees the use but may not decide it: the clinic’s officers review their own staff',
  async (t) => {
    const { patient, doctor, otherOfficer } = people();
    const page = await signedIn(otherOfficer);
    const queue = await openReviewQueue(page);
    const entry = queue
      .getByTestId('review-entry')
      .filter({ hasText: `${doctor.orgId}/${doctor.id}` })
      .filter({ hasText: patient.id });
    await entry.waitFor();
    breakGlassId = (await entry.getAttribute('data-break-glass-id')) ?? '';
    assert.match(breakGlassId, /^[0-9a-f]{64}$/);
    const others = queue.getByRole('region', { name: /^Other organisations’ uses/ });
    assert.equal(
      await others.getByTestId('review-entry').filter({ hasText: patient.id }).count(),
      1,
    );
    assert.match(
      await entry.innerText(),
      new RegExp(`Reviewed by a privacy officer of ${doctor.orgId}\\.`),
    );
    assert.equal(await entry.getByTestId('review-approve').count(), 0, 'a decision button');
    assert.equal(await entry.getByTestId('review-note').count(), 0, 'a note field');
    await checkScreenStep(t, page, 'break-glass-flow-privacy-queue-other-organisation');
    assertPageClean(page);
  },
);

step(
  'the clinic’s privacy officer finds the use in the queue and the patient’s audit log, approves it with a note, and it leaves the queue',
  async (t) => {
    const { patient, doctor, officer } = people();
    const page = await signedIn(officer);
    const queue = await openReviewQueue(page);
    const entry = queue.locator(
      `[data-testid="review-entry"][data-break-glass-id="${breakGlassId}"]`,
    );
    await entry.waitFor();
    const text = (await entry.innerText()).replace(/\s+/g, ' ');
    assert.match(text, new RegExp(`^Break-glass ${doctor.orgId}/${doctor.id}`));
    assert.ok(text.includes(`Patient ${patient.id}`), text);
    assert.match(text, /Purpose BTG/);
    assert.match(text, new RegExp(`Reason ${reason.code}`));
    await queue.getByTestId('signing-key-loaded').waitFor();
    await checkScreenStep(t, page, 'break-glass-flow-privacy-queue');

    // The patient's access log, from the entry: the break-glass reads stand out in words.
    await entry.getByRole('button', { name: 'Access log of this patient' }).click();
    const results = page.getByTestId('audit-results');
    await results.getByTestId('audit-row').first().waitFor();
    const search = page.getByRole('search', { name: 'Search the access log' });
    assert.equal(await search.getByLabel('Patient id').inputValue(), patient.id);
    const caption = await results.locator('caption').innerText();
    assert.match(
      caption,
      new RegExp(
        `^Access log of patient ${patient.id.slice(0, 8)}…: \\d+ of \\d+ events?, newest first$`,
      ),
    );
    const emergencyRows = results.locator('[data-testid="audit-row"][data-kind="break-glass"]');
    assert.ok((await emergencyRows.count()) > 0, 'no break-glass row');
    for (const row of await emergencyRows.allInnerTexts()) {
      assert.match(row, /Break-glass/);
      assert.ok(row.includes(`${doctor.orgId}/${doctor.id}`), row);
    }
    await checkScreenStep(t, page, 'break-glass-flow-audit-search');

    // A decision needs a note; with one, it is signed here and closes the review on chain.
    await entry.getByTestId('review-approve').click();
    const error = entry.getByTestId('review-error');
    await error.waitFor();
    assert.match(
      await error.innerText(),
      /Choose a note: it is kept on the ledger with your decision\./,
    );
    assert.equal(await entry.getByLabel('Note').getAttribute('aria-invalid'), 'true');
    await entry
      .getByLabel('Note')
      .selectOption({ label: 'Emergency confirmed in the clinical record' });
    const posted = page.waitForRequest(
      (request) =>
        request.method() === 'POST' &&
        new URL(request.url()).pathname === '/fhir/$break-glass-review',
    );
    await entry.getByRole('button', { name: 'Approve: justified' }).click();
    await posted;
    const closed = queue.getByTestId('review-closed');
    await closed
      .getByText(/is reviewed: justified \(emergency-confirmed\)\.$/)
      .waitFor({ timeout: 30_000 });
    assert.ok((await closed.innerText()).startsWith(`${doctor.orgId}/${doctor.id}’s break-glass`));
    await entry.waitFor({ state: 'detached' });
    await queue.getByText(/awaits? (your )?review\.$/).waitFor();
    assert.equal(
      await queue.locator(`[data-break-glass-id="${breakGlassId}"]`).count(),
      0,
      'the reviewed use is still in the queue',
    );
    t.diagnostic(`closed: ${await closed.innerText()}`);
    assertPageClean(page);

    // Loaded again from the node, the queue no longer holds it.
    await page.reload();
    const again = page.getByRole('region', { name: 'Break-glass uses awaiting review' });
    await again.getByText(/awaits? (your )?review\.$/).waitFor();
    assert.equal(await again.locator(`[data-break-glass-id="${breakGlassId}"]`).count(), 0);
    assertPageClean(page);
  },
);
