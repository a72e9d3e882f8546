/**
 * What the browser flow tests (patient-flow, break-glass-flow) share on top of harness.ts:
 *
 * - `flowSteps()`: a flow's steps as top-level tests that run in order on one demo; once a step
 *   fails, the later ones are skipped with the failed step's name (they depend on its state).
 * - `checkScreenStep(t, page, name)`: the harness's `checkScreen` (axe-core at desktop and phone
 *   width, no sideways scrolling, screenshots) as a subtest, so a screen that fails the check is
 *   reported while the flow goes on; the screenshots' paths are collected in `screenshotsTaken`.
 * - `openDenialWatchedPage(web, url)`: a page watched by the harness (`openPage`) that may be
 *   refused on purpose. The harness allows console errors by their text only
 *   (`allowConsoleErrors`), and chromium's line for a 403 answer ("Failed to load resource: …
 *   status of 403 (Forbidden)") does not name the request; so the page allows that line, and
 *   every 403 answer it gets must come inside `expectingDenial(path, action)` from a request to
 *   that path, or `assertClean` fails.
 * - `signedInPage(page, user)`, `userNamed(web, name)`, `waitMarks(scope, what)`,
 *   `eventually(check, options)`, `attributesOf(locator, name)`.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';

import type { Locator, Page } from 'playwright-core';

import type { DemoUserEntry } from '../../src/cli/index.ts';
import {
  type WebHarness,
  assertPageClean,
  checkScreen,
  describeViolations,
  openPage,
  setViewport,
  signIn,
} from './harness.ts';

/** The flows' bounds, in milliseconds. */
export const flowLimits = {
  /** Longest wait of a locator (playwright's default timeout on every flow page). */
  locatorWaitMs: 20_000,
  /** Longest wait for the ledger to show a change (a commit, an audit batch, a proof). */
  ledgerWaitMs: 30_000,
  /** Pause between two looks while polling. */
  pollIntervalMs: 250,
  /** What one step of a flow may take. */
  stepMs: 120_000,
} as const;

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** The seeded user `name` (`users.json`); fails naming the users when it is not there. */
export function userNamed(web: WebHarness, name: string): DemoUserEntry {
  const user = web.demo.users.find((entry) => entry.name === name);
  assert.ok(
    user !== undefined,
    `the demo has no user ${name}; it has ${web.demo.users.map((entry) => entry.name).join(', ')}`,
  );
  return user;
}

/** Signs `user` in through the sign-in page of the page's node (the harness's `signIn`). */
export async function signedInPage(page: Page, user: DemoUserEntry): Promise<void> {
  page.setDefaultTimeout(flowLimits.locatorWaitMs);
  await signIn(page, user.name);
}

/**
 * Retries `check` until it resolves, running `between` (a reload, a "Check again") before each
 * retry; fails with the last error after `timeoutMs`. For what the ledger shows a block or two
 * later: waits for a state rather than for a time.
 */
export async function eventually<T>(
  check: () => Promise<T>,
  options: { what: string; timeoutMs?: number; between?: () => Promise<void> },
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? flowLimits.ledgerWaitMs);
  let attempts = 0;
  for (;;) {
    attempts += 1;
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) {
        const why = error instanceof Error ? error.message : String(error);
        throw new Error(`${options.what}: still not so after ${attempts} looks: ${why}`);
      }
    }
    await sleep(flowLimits.pollIntervalMs);
    if (options.between !== undefined) await options.between();
  }
}

/** The parts of a page's element the flows read (Node's TypeScript project has no DOM types). */
interface PageElement {
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
}

/** The attribute `name` of every element `locator` matches now ('' where it is missing). */
export function attributesOf(locator: Locator, name: string): Promise<string[]> {
  return locator.evaluateAll(
    (elements: PageElement[], attribute: string) =>
      elements.map((element) => element.getAttribute(attribute) ?? ''),
    name,
  );
}

/**
 * Waits until every verified mark (`data-testid="verified-mark"`) in `scope` has been computed,
 * and fails unless each is `verified`: listing the others' states and what they say.
 */
export async function waitMarks(scope: Locator, what: string): Promise<number> {
  const marks = scope.getByTestId('verified-mark');
  const deadline = Date.now() + flowLimits.ledgerWaitMs;
  for (;;) {
    const states = await attributesOf(marks, 'data-state');
    if (states.length > 0 && !states.includes('checking')) {
      const others = await marks.evaluateAll((elements: PageElement[]) =>
        elements
          .filter((element) => element.getAttribute('data-state') !== 'verified')
          .map(
            (element) =>
              `${element.getAttribute('data-state') ?? 'none'}: ${element.querySelector('[title]')?.getAttribute('title') ?? ''}`,
          ),
      );
      assert.deepEqual(others, [], `${what}: marks not verified`);
      return states.length;
    }
    assert.ok(
      Date.now() < deadline,
      `${what}: the marks were still ${states.length === 0 ? 'absent' : states.join(', ')} after ${flowLimits.ledgerWaitMs} ms`,
    );
    await sleep(flowLimits.pollIntervalMs);
  }
}

/** Every screenshot the flows saved, in order. */
export const screenshotsTaken: string[] = [];

/**
 * The harness's `checkScreen` on the page as it is, as a subtest named after the screen: a
 * failing check fails the step but lets the flow go on. The page is back at desktop size after.
 */
export async function checkScreenStep(t: TestContext, page: Page, name: string): Promise<void> {
  await t.test(
    `screen ${name}: axe-core at desktop and phone width, fits, screenshots`,
    async (s) => {
      try {
        const check = await checkScreen(page, name);
        screenshotsTaken.push(...check.screenshots);
        s.diagnostic(describeViolations(check));
      } finally {
        await setViewport(page, 'desktop');
      }
    },
  );
}

/**
 * A flow's steps: `step(name, body)` is a top-level test; after a failed step the next ones are
 * skipped, since each builds on what the previous did.
 */
export function flowSteps(): {
  step: (name: string, body: (t: TestContext) => Promise<void>) => void;
} {
  let failed: string | null = null;
  return {
    step: (name, body) => {
      test(name, { timeout: flowLimits.stepMs }, async (t) => {
        if (failed !== null) {
          t.skip(`an earlier step failed: ${failed}`);
          return;
        }
        const startedAt = Date.now();
        try {
          await body(t);
        } catch (error) {
          failed = name;
          throw error;
        }
        t.diagnostic(`step took ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
      });
    },
  };
}

/** Chromium's console line for an answer 403 (it names no request: its location does). */
const forbiddenLine =
  /^Failed to load resource: the server responded with a status of 403 \(Forbidden\)$/;

/** A watched page that may be refused on purpose (see the file's comment). */
export interface DenialWatchedPage {
  readonly page: Page;
  /**
   * Runs `action` while answers 403 to requests whose path matches `path` are expected.
   * Resolves with `action`'s result and how many such answers there were.
   */
  expectingDenial<T>(
    path: RegExp,
    action: () => Promise<T>,
  ): Promise<{ result: T; denials: number }>;
  /** Fails, listing them, on the harness's problems and on any 403 answer not expected. */
  assertClean(): void;
  /** The expected 403 answers so far. */
  readonly expected: readonly string[];
  close(): Promise<void>;
}

/**
 * Opens a fresh watched page (the harness's `openPage`) that lets chromium's console line of a
 * 403 answer through, and checks instead that every 403 answer the page got was expected: made
 * inside `expectingDenial` to the path it names. Any other 403 fails `assertClean`.
 */
export async function openDenialWatchedPage(
  web: WebHarness,
  origin: string,
): Promise<DenialWatchedPage> {
  const page = await openPage(web.browser, origin, { allowConsoleErrors: forbiddenLine });
  page.setDefaultTimeout(flowLimits.locatorWaitMs);
  const unexpected: string[] = [];
  const expected: string[] = [];
  // While a denial is expected: the path it names and the 403 answers to it.
  let window: { path: RegExp; answers: string[] } | null = null;
  page.on('response', (response) => {
    if (response.status() !== 403) return;
    const what = `${response.request().method()} ${response.url()}`;
    if (window !== null && window.path.test(new URL(response.url()).pathname)) {
      window.answers.push(what);
      expected.push(what);
    } else {
      unexpected.push(`an unexpected answer 403: ${what}`);
    }
  });
  return {
    page,
    expected,
    async expectingDenial(path, action) {
      assert.equal(window, null, 'expectingDenial: one expected denial at a time');
      const current = { path, answers: [] as string[] };
      window = current;
      try {
        const result = await action();
        return { result, denials: current.answers.length };
      } finally {
        window = null;
      }
    },
    assertClean() {
      assertPageClean(page);
      assert.deepEqual(unexpected, [], `the page had problems:\n  ${unexpected.join('\n  ')}`);
    },
    async close() {
      await page.context().close();
    },
  };
}
