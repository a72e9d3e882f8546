// Drives the sign-in page in chromium against a real, seeded demo network: it lists this node's
// seeded users (and no other node's), signs a clinician and a patient in and out through the
// page, works from the keyboard, and passes the axe-core check at desktop and phone width
// (screenshots saved); an unknown name is refused by the node.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { Page } from 'playwright-core';

import {
  type WebHarness,
  appUrl,
  checkScreen,
  describeViolations,
  focusNext,
  harnessLimits,
  signIn,
  startWebHarness,
  usersAt,
  withPage,
} from './harness.ts';

let web: WebHarness;

before(
  async () => {
    web = await startWebHarness();
    process.stdout.write(
      `# sign-in harness: app built, demo seeded and chromium up in ${(web.startMs / 1000).toFixed(1)} s\n`,
    );
  },
  { timeout: harnessLimits.startWaitMs },
);

after(
  async () => {
    if (web !== undefined) process.stdout.write(`# sign-in harness: ${await web.stop()}\n`);
  },
  { timeout: harnessLimits.stopWaitMs },
);

async function openSignIn(page: Page, url: string = web.url): Promise<void> {
  await page.goto(appUrl(url, 'sign-in'));
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await page.locator('button[data-user]').first().waitFor();
}

async function listedUsers(page: Page): Promise<string[]> {
  const names: string[] = [];
  for (const button of await page.locator('button[data-user]').all()) {
    names.push((await button.getAttribute('data-user')) ?? '');
  }
  return names.sort();
}

test("the sign-in page lists this node's seeded users by kind, and no other node's", async () => {
  await withPage(web, async (page) => {
    await openSignIn(page);
    const here = usersAt(web);
    assert.ok(here.length > 0);
    assert.deepEqual(await listedUsers(page), here.map((user) => user.name).sort());
    await page.getByRole('heading', { level: 2, name: 'Clinicians', exact: true }).waitFor();
    await page.getByRole('heading', { level: 2, name: 'Patients', exact: true }).waitFor();
    const patient = here.find((user) => user.kind === 'patient')!;
    await page.getByRole('button', { name: new RegExp(patient.displayName) }).waitFor();
  });
  // Another node lists its own people: none of the first node's.
  const clinic = web.demo.nodes[1]!;
  await withPage(
    web,
    async (page) => {
      await openSignIn(page, clinic.url);
      const names = await listedUsers(page);
      assert.deepEqual(
        names,
        usersAt(web, clinic.url)
          .map((user) => user.name)
          .sort(),
      );
      const first = new Set(usersAt(web).map((user) => user.name));
      assert.ok(names.every((name) => !first.has(name)));
    },
    { url: clinic.url },
  );
});

test('a clinician signs in through the page, sees their name and places, and signs out', async () => {
  const doctor = usersAt(web).find(
    (user) => user.kind === 'practitioner' && user.roles.includes('doctor'),
  )!;
  await withPage(web, async (page) => {
    await openSignIn(page);
    await signIn(page, doctor.name);
    assert.match(page.url(), /#\/clinician$/);
    const header = page.locator('header');
    await header.getByText(doctor.displayName).waitFor();
    await header.getByText(doctor.orgId).waitFor();
    const nav = page.getByRole('navigation', { name: 'Main' });
    assert.deepEqual(await nav.getByRole('link').allTextContents(), ['Patients', 'Network']);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/#\/sign-in$/);
    await header.getByRole('link', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate('sessionStorage.length'), 0, 'the session is gone');
  });
});

test('a patient signs in through the page and lands on their records', async () => {
  const patient = usersAt(web).find((user) => user.kind === 'patient')!;
  await withPage(web, async (page) => {
    await openSignIn(page);
    await signIn(page, patient.name);
    assert.match(page.url(), /#\/patient$/);
    const nav = page.getByRole('navigation', { name: 'Main' });
    assert.deepEqual(await nav.getByRole('link').allTextContents(), ['My records', 'Network']);
    await page.locator('header').getByText(patient.displayName).waitFor();
  });
});

test('a name that is not a seeded user is refused by the node, with what to do', async () => {
  const response = await fetch(`${web.url}/auth/demo/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'hospital/nobody-at-all' }),
  });
  assert.equal(response.status, 400);
  const body = (await response.json()) as { error?: { message?: string } };
  assert.match(body.error?.message ?? '', /nobody-at-all/);
});

test('keyboard: the skip link first, then the header, then the users; Enter signs one in', async () => {
  await withPage(web, async (page) => {
    await openSignIn(page);
    const reached: string[] = [];
    for (let presses = 0; presses < 5; presses += 1) {
      const focused = await focusNext(page);
      reached.push(`${focused.tag}:${focused.text}`);
    }
    assert.deepEqual(
      reached.slice(0, 4),
      ['a:Skip to content', 'a:MedLedger', 'a:Network', 'a:Sign in'],
      reached.join(' · '),
    );
    const user = await page.evaluate<string>('document.activeElement.dataset.user');
    assert.ok(
      usersAt(web).some((entry) => entry.name === user),
      reached.join(' · '),
    );
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    assert.doesNotMatch(page.url(), /#\/sign-in$/);
    await page
      .locator('header')
      .getByText(usersAt(web).find((e) => e.name === user)!.displayName)
      .waitFor();
  });
});

test('the sign-in page at desktop and phone width: no serious accessibility violation, screenshots', async (t) => {
  await withPage(web, async (page) => {
    await openSignIn(page);
    const check = await checkScreen(page, 'sign-in');
    t.diagnostic(`sign-in: ${describeViolations(check)}`);
    t.diagnostic(`screenshots: ${check.screenshots.join(', ')}`);
  });
});

test('the page asks for no missing file (chromium asks for /favicon.ico)', async () => {
  const response = await fetch(`${web.url}/favicon.ico`);
  assert.notEqual(response.status, 404);
});
