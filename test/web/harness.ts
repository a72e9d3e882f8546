/**
 * The browser tests' harness (issue 8): a real demo network and Debian's chromium driven by
 * playwright-core. One demo and one browser per test file:
 *
 * ```ts
 * let web: WebHarness;
 * before(async () => (web = await startWebHarness()), { timeout: harnessLimits.startWaitMs });
 * after(() => web?.stop());
 * test('…', () => withPage(web, async (page) => { … }));
 * ```
 *
 * - `startWebHarness()` builds the app if `dist/web` is older than its sources
 *   (`ensureWebBuilt`), starts `medledger demo` in a temporary folder (`startDemo`: four node
 *   processes, seeded users), and launches chromium (`launchBrowser`). `stop()` closes the
 *   browser, stops the demo with Ctrl-C (SIGINT) and kills whatever process of it is left, then
 *   deletes the folder; it resolves with a line saying what it took.
 * - `withPage(web, body, { url, allowConsoleErrors })` runs `body` in a fresh browser context (its own
 *   sessionStorage: nobody is signed in) at desktop size, then fails the test if the page logged
 *   a console error, threw, or requested anything from an origin other than its node's
 *   (`url`, default the first node: st-mary-hospital), or a request failed. `openPage` /
 *   `assertPageClean` are the same in two steps. No console error is tolerated, except those a
 *   test allows on purpose (`allowConsoleErrors`).
 * - `appUrl(url, route)` is a node's app at a hash route; `signIn(page, userName)` signs a
 *   seeded user in through the sign-in page of the page's node (the user must belong to it:
 *   `usersAt(web, url)` lists a node's users, `web.demo.users` all, each with its `url`);
 *   `makeTraffic(web)` makes the first node commit a few audit transactions.
 * - `checkScreen(page, name)`: at desktop (1280×800) and phone (375×740) width, the axe-core
 *   check (`checkAccessibility`: fails on violations of impact serious or critical, listing
 *   them), no sideways scrolling of the page (`assertFitsWidth`), and a full-page screenshot
 *   (`screenshot`) in `test-results/screenshots/<name>-<desktop|phone>.png`.
 * - `focusNext(page)` presses Tab and describes what has focus (`describeFocus`);
 *   `waitUntil(condition)` polls from Node (the page's policy forbids playwright's string
 *   `waitForFunction`).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type Browser, type Page, chromium } from 'playwright-core';

import type { DemoUserEntry, DemoUsersDocument } from '../../src/cli/index.ts';

/** The repository's root folder. */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the screenshots go (gitignored). */
export const screenshotFolder = join(root, 'test-results', 'screenshots');

/** Debian's chromium (`.ci/run` installs it: `apt-get install chromium`). */
export const chromiumPath = '/usr/bin/chromium';

/** The flags chromium runs with here (CONVENTIONS.md, browser tests). */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
] as const;

/** The harness's bounds, in milliseconds. */
export const harnessLimits = {
  /** Longest wait for the demo to start its nodes and finish seeding. */
  demoSeedWaitMs: 120_000,
  /** Longest wait for the demo to stop after Ctrl-C before it and its nodes are killed. */
  demoStopWaitMs: 40_000,
  /** Longest wait for a killed process to be gone. */
  killWaitMs: 5_000,
  /** Longest wait for another test file's build of the web app. */
  buildLockWaitMs: 60_000,
  /** What a `before` hook that calls `startWebHarness` should allow. */
  startWaitMs: 180_000,
  /** What an `after` hook that calls `stop` should allow. */
  stopWaitMs: 60_000,
} as const;

/** The two widths every screen is checked and photographed at. */
export const viewports = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 375, height: 740 },
} as const;

export type ViewportName = keyof typeof viewports;

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

// ---- the built app ------------------------------------------------------------------------

/** The sources `dist/web` is built from: src/web, the folders it imports, the build scripts. */
const webSources = [
  'src/web',
  'src/base',
  'src/codec',
  'src/crypto',
  'src/merkle',
  'src/chain',
  'src/contracts',
  'src/verify',
  'scripts/build-web.ts',
  'scripts/browser-bundle.ts',
].map((path) => join(root, path));

const builtFiles = ['app.js', 'app.css', 'index.html'].map((file) =>
  join(root, 'dist', 'web', file),
);

function newestModification(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of readdirSync(path)) {
    newest = Math.max(newest, newestModification(join(path, name)));
  }
  return newest;
}

function isWebBuildCurrent(): boolean {
  if (!builtFiles.every((file) => existsSync(file))) return false;
  const built = Math.min(...builtFiles.map((file) => statSync(file).mtimeMs));
  return Math.max(...webSources.map(newestModification)) <= built;
}

/**
 * Builds the web app (`npm run build:web`) unless `dist/web` is newer than every source. Test
 * files run in parallel, so one build at a time: a lock folder (mkdir is atomic) holds the
 * others, which then find the build current.
 */
export async function ensureWebBuilt(): Promise<void> {
  const lock = join(root, 'dist', '.web-build-lock');
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = Date.now() + harnessLimits.buildLockWaitMs;
  for (;;) {
    if (isWebBuildCurrent()) return;
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another test file is building; a lock older than the wait is left over from a crash.
      if (Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      await sleep(250);
    }
  }
  try {
    if (isWebBuildCurrent()) return;
    const build = spawnSync('npm', ['run', 'build:web'], { cwd: root, encoding: 'utf8' });
    assert.equal(
      build.status,
      0,
      `npm run build:web failed:\n${build.stdout}\n${build.stderr}`.trimEnd(),
    );
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

// ---- the demo network --------------------------------------------------------------------

/** One node of the demo. */
export interface DemoNode {
  readonly orgId: string;
  /** `http://127.0.0.1:<port>`: the node's API and, at `/app/`, its web app. */
  readonly url: string;
  readonly pid: number;
}

/** A running `medledger demo`. */
export interface DemoNetwork {
  /** The demo folder (inside a temporary folder that `stop` deletes). */
  readonly dir: string;
  readonly nodes: readonly DemoNode[];
  /** The seeded users (`users.json`). */
  readonly users: readonly DemoUserEntry[];
  /** Everything the demo printed so far. */
  output(): string;
  /** Stops the demo and every node process, deletes the folder; says what it took. */
  stop(): Promise<string>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Every process a demo of this test process started, for the last-resort cleanup at exit. */
const started = new Set<number>();
let exitHookAdded = false;

function killAtExit(pid: number): void {
  started.add(pid);
  if (exitHookAdded) return;
  exitHookAdded = true;
  // If the test process ends without `stop` (an uncaught error, a timeout), nothing is left
  // running: each node has its own process group (it was spawned detached).
  process.once('exit', () => {
    for (const id of started) {
      for (const target of [-id, id]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  });
}

/**
 * Starts `node --import tsx src/cli/main.ts demo --data <temporary folder>` and waits until it
 * has printed its nodes and finished seeding (`users.json` written).
 */
export async function startDemo(): Promise<DemoNetwork> {
  const parent = mkdtempSync(join(tmpdir(), 'medledger-web-'));
  const dir = join(parent, 'demo');
  const startedAt = Date.now();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--data', dir],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  killAtExit(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const output = () => `${stdout}${stderr === '' ? '' : `\n(stderr)\n${stderr}`}`;

  const nodesOf = (): DemoNode[] =>
    [...stdout.matchAll(/^ +(\S+) +(http:\/\/127\.0\.0\.1:\d+) +\(pid (\d+),/gm)].map((match) => ({
      orgId: match[1]!,
      url: match[2]!,
      pid: Number(match[3]),
    }));

  const stop = async (): Promise<string> => {
    const stopStarted = Date.now();
    const nodes = nodesOf();
    let how: string;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<number>((done) => {
        timer = setTimeout(() => done(-1), harnessLimits.demoStopWaitMs);
      });
      const code = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (code === -1) {
        child.kill('SIGKILL');
        await exited;
        how = `the demo did not stop within ${harnessLimits.demoStopWaitMs} ms and was killed`;
      } else {
        how = `the demo stopped with exit code ${code}`;
      }
    } else {
      how = `the demo had already exited (code ${child.exitCode ?? child.signalCode})`;
    }
    const killed: string[] = [];
    for (const node of nodes) {
      if (!isAlive(node.pid)) continue;
      // Its own process group (spawned detached): the group goes, with anything it started.
      try {
        process.kill(-node.pid, 'SIGKILL');
      } catch {
        process.kill(node.pid, 'SIGKILL');
      }
      killed.push(node.orgId);
      assert.ok(
        await waitGone(node.pid, harnessLimits.killWaitMs),
        `node ${node.orgId} (pid ${node.pid}) is still running after SIGKILL`,
      );
    }
    for (const node of nodes) started.delete(node.pid);
    started.delete(child.pid!);
    rmSync(parent, { recursive: true, force: true });
    const left = killed.length === 0 ? 'no node left to kill' : `killed ${killed.join(', ')}`;
    return `${how} in ${((Date.now() - stopStarted) / 1000).toFixed(1)} s; ${left}`;
  };

  try {
    const deadline = startedAt + harnessLimits.demoSeedWaitMs;
    const usersFile = join(dir, 'users.json');
    while (!/^seeded: /m.test(stdout) || !existsSync(usersFile)) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the demo exited before it was seeded:\n${output()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `the demo was not seeded within ${harnessLimits.demoSeedWaitMs} ms:\n${output()}`,
        );
      }
      await sleep(200);
    }
    const nodes = nodesOf();
    assert.equal(nodes.length, 4, `expected the four nodes' lines:\n${output()}`);
    for (const node of nodes) killAtExit(node.pid);
    const document = JSON.parse(readFileSync(usersFile, 'utf8')) as DemoUsersDocument;
    assert.ok(document.users.length > 0, 'users.json lists no user');
    return { dir, nodes, users: document.users, output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

// ---- the browser -------------------------------------------------------------------------

/** Launches Debian's chromium, headless. */
export async function launchBrowser(): Promise<Browser> {
  assert.ok(
    existsSync(chromiumPath),
    `${chromiumPath} is missing: the browser tests need Debian's chromium (.ci/run installs it: apt-get install chromium)`,
  );
  return chromium.launch({ executablePath: chromiumPath, args: [...chromiumArgs], headless: true });
}

/** A demo network and a browser: what each browser test file starts in `before`. */
export interface WebHarness {
  readonly demo: DemoNetwork;
  readonly browser: Browser;
  /** The first node's URL (st-mary-hospital): where pages open unless told otherwise. */
  readonly url: string;
  /** How long the start took, in milliseconds (build, demo seeding, browser). */
  readonly startMs: number;
  /** Closes the browser and stops the demo; says what it took. */
  stop(): Promise<string>;
}

/** Builds the app if needed, starts a demo, launches chromium. */
export async function startWebHarness(): Promise<WebHarness> {
  const startedAt = Date.now();
  await ensureWebBuilt();
  const demo = await startDemo();
  let browser: Browser;
  try {
    browser = await launchBrowser();
  } catch (error) {
    await demo.stop();
    throw error;
  }
  return {
    demo,
    browser,
    url: demo.nodes[0]!.url,
    startMs: Date.now() - startedAt,
    stop: async () => {
      await browser.close();
      return demo.stop();
    },
  };
}

/** The users who sign in at the node at `url`. */
export function usersAt(web: WebHarness, url: string = web.url): readonly DemoUserEntry[] {
  return web.demo.users.filter((user) => user.url === url);
}

/** A node's app at a hash route: `appUrl(url, 'explorer')` is `<url>/app/#/explorer`. */
export function appUrl(url: string, route: string): string {
  return `${url}/app/#/${route.replace(/^#?\/?/, '')}`;
}

/** What went wrong on each watched page: console errors, page errors, foreign requests. */
const problemsOf = new WeakMap<Page, string[]>();

/** The node origin each watched page belongs to. */
const originOf = new WeakMap<Page, string>();

/**
 * Opens a fresh context (nobody signed in) at desktop size and watches its page: any console
 * error, uncaught page error, failed request or request to an origin other than `origin` is
 * recorded for `assertPageClean`. A test of an error state may allow the console errors it
 * causes on purpose (`allowConsoleErrors`, matched against the message).
 */
export async function openPage(
  browser: Browser,
  origin: string,
  options: { allowConsoleErrors?: RegExp } = {},
): Promise<Page> {
  const allowed = new URL(origin).origin;
  const context = await browser.newContext({ viewport: viewports.desktop });
  const page = await context.newPage();
  const problems: string[] = [];
  problemsOf.set(page, problems);
  originOf.set(page, allowed);
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    if (options.allowConsoleErrors?.test(message.text()) === true) return;
    const where = message.location();
    problems.push(`console error: ${message.text()} (${where.url}:${where.lineNumber})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.stack ?? error.message}`));
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol === 'data:') return;
    if (url.origin !== allowed) {
      problems.push(`request to another origin: ${request.method()} ${request.url()}`);
    }
  });
  page.on('requestfailed', (request) => {
    const failure = request.failure()?.errorText ?? 'unknown';
    // A request cut short by leaving the page is not the page's fault.
    if (failure === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${request.method()} ${request.url()}: ${failure}`);
  });
  return page;
}

/** Fails, listing them, if the page logged a console error, threw, or went to another origin. */
export function assertPageClean(page: Page): void {
  const problems = problemsOf.get(page) ?? [];
  assert.deepEqual(problems, [], `the page had problems:\n  ${problems.join('\n  ')}`);
}

/**
 * Runs `body` with a fresh watched page of the node at `url` (default the first node), then
 * checks the page stayed clean and closes its context. A failure of `body` carries the page's
 * problems too, which often say why.
 */
export async function withPage(
  web: WebHarness,
  body: (page: Page) => Promise<void>,
  options: { url?: string; allowConsoleErrors?: RegExp } = {},
): Promise<void> {
  const page = await openPage(web.browser, options.url ?? web.url, options);
  try {
    try {
      await body(page);
    } catch (error) {
      const problems = problemsOf.get(page) ?? [];
      if (problems.length > 0 && error instanceof Error) {
        error.message += `\nthe page's problems:\n  ${problems.join('\n  ')}`;
      }
      throw error;
    }
    assertPageClean(page);
  } finally {
    await page.context().close();
  }
}

/**
 * Signs `userName` in through the sign-in page of the page's node, as a person would: the
 * user's button, then the header's "Sign out" once the app has the session.
 */
export async function signIn(page: Page, userName: string): Promise<void> {
  const current = page.url();
  const origin = current.startsWith('http') ? new URL(current).origin : originOf.get(page);
  assert.ok(origin !== undefined, 'signIn: open the page with openPage or withPage first');
  await page.goto(appUrl(origin, 'sign-in'));
  await page.locator('button[data-user]').first().waitFor({ state: 'visible' });
  const button = page.locator(`button[data-user="${userName}"]`);
  if ((await button.count()) === 0) {
    const here: string[] = [];
    for (const other of await page.locator('button[data-user]').all()) {
      here.push((await other.getAttribute('data-user')) ?? '');
    }
    assert.fail(`${userName} does not sign in at ${origin}; its users: ${here.join(', ')}`);
  }
  await button.click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor({ state: 'visible' });
  assert.doesNotMatch(page.url(), /#\/sign-in$/, `${userName} is still on the sign-in page`);
}

/**
 * Polls `condition` (run here, in Node) until it holds. The page's content security policy
 * forbids string evaluation, so playwright's `waitForFunction` with a string cannot be used.
 */
export async function waitUntil(
  condition: () => Promise<boolean>,
  options: { timeoutMs?: number; what: string },
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, `timed out waiting until ${options.what}`);
    await sleep(100);
  }
}

/**
 * Makes the chain busy for a moment, as a clinician at work would: a practitioner of the first
 * node (a doctor when there is one) signs in through the node's API and reads a few records, so
 * the node commits the access events (audit transactions) of those reads in the next blocks.
 * Resolves with the number of reads.
 */
export async function makeTraffic(web: WebHarness, reads = 3): Promise<number> {
  const staff = usersAt(web).filter((user) => user.kind === 'practitioner');
  const user = staff.find((entry) => entry.roles.includes('doctor')) ?? staff[0];
  assert.ok(user !== undefined, `no practitioner signs in at ${web.url}`);
  const answer = await fetch(`${web.url}/auth/demo/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: user.name }),
  });
  const text = await answer.text();
  assert.equal(answer.status, 200, `demo sign-in of ${user.name}: ${text}`);
  const { token } = JSON.parse(text) as { token: string };
  for (let read = 0; read < reads; read += 1) {
    const response = await fetch(`${web.url}/fhir/Encounter?_count=2`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
    });
    const body = await response.text();
    assert.equal(response.status, 200, `FHIR search as ${user.name}: ${body.slice(0, 300)}`);
  }
  return reads;
}

/** Waits for two animation frames: the layout after a resize or an update is painted. */
async function settleFrames(page: Page): Promise<void> {
  await page.evaluate(
    'new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(null))))',
  );
}

/** Sets the viewport to a named size. */
export async function setViewport(page: Page, name: ViewportName): Promise<void> {
  await page.setViewportSize(viewports[name]);
  await settleFrames(page);
}

/**
 * Saves full-page screenshots of the page at desktop and phone width
 * (`test-results/screenshots/<name>-desktop.png`, `…-phone.png`); the viewport is restored.
 * Resolves with the files' paths.
 */
export async function screenshot(page: Page, name: string): Promise<string[]> {
  assert.match(name, /^[a-z0-9-]+$/, `screenshot name: expected lower-case words, found ${name}`);
  mkdirSync(screenshotFolder, { recursive: true });
  const before = page.viewportSize();
  const paths: string[] = [];
  for (const viewport of Object.keys(viewports) as ViewportName[]) {
    await setViewport(page, viewport);
    const path = join(screenshotFolder, `${name}-${viewport}.png`);
    await page.screenshot({ path, fullPage: true });
    paths.push(path);
  }
  if (before !== null) await page.setViewportSize(before);
  return paths;
}

/** One axe-core rule the page breaks, and where. */
export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: readonly string[];
}

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

/**
 * Runs axe-core on the page as it is now (injected with `evaluate`, which the page's content
 * security policy does not govern; a script tag would be refused) and fails on violations of
 * impact serious or critical, listing them. Resolves with every violation, the minor and
 * moderate ones too, for the test's diagnostics.
 */
export async function checkAccessibility(page: Page): Promise<AxeViolation[]> {
  if ((await page.evaluate('typeof window.axe')) !== 'object') {
    await page.evaluate(axeSource);
  }
  const violations = await page.evaluate<AxeViolation[]>(`
    axe.run(document, { resultTypes: ['violations'] }).then((results) =>
      results.violations.map((v) => ({
        id: v.id,
        impact: v.impact ?? null,
        help: v.help,
        targets: v.nodes.slice(0, 5).map((node) => node.target.join(' ')),
      })),
    )
  `);
  const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    blocking.map((v) => v.id),
    [],
    `axe-core found ${blocking.length} serious or critical violation(s) at ${page.url()}:\n  ${blocking
      .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.targets.join(', ')}`)
      .join('\n  ')}`,
  );
  return violations;
}

/** Fails if the page scrolls sideways at its current width (usable at 375 px). */
export async function assertFitsWidth(page: Page): Promise<void> {
  const overflow = await page.evaluate<{
    width: number;
    scrollWidth: number;
    wide: string[];
  }>(`(() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')]
      .filter((element) => element.getBoundingClientRect().right > width + 1)
      .filter((element) => !element.closest('.table-wrap') || element.matches('.table-wrap'))
      .slice(0, 5)
      .map((element) => element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') +
        (element.className && typeof element.className === 'string' ? '.' + element.className.split(' ').join('.') : ''));
    return { width, scrollWidth: document.documentElement.scrollWidth, wide };
  })()`);
  assert.ok(
    overflow.scrollWidth <= overflow.width,
    `the page is ${overflow.scrollWidth} px wide in a ${overflow.width} px window; too wide: ${overflow.wide.join(', ')}`,
  );
}

/** What `checkScreen` found: every axe violation at each width, and the screenshots. */
export interface ScreenCheck {
  readonly violations: Readonly<Record<ViewportName, readonly AxeViolation[]>>;
  readonly screenshots: readonly string[];
}

/**
 * The checks every screen gets, at desktop and then phone width: axe-core (no serious or
 * critical violation), no sideways scrolling at phone width, and the two screenshots.
 */
export async function checkScreen(page: Page, name: string): Promise<ScreenCheck> {
  const violations = {} as Record<ViewportName, readonly AxeViolation[]>;
  for (const viewport of Object.keys(viewports) as ViewportName[]) {
    await setViewport(page, viewport);
    violations[viewport] = await checkAccessibility(page);
    await assertFitsWidth(page);
  }
  const screenshots = await screenshot(page, name);
  await setViewport(page, 'desktop');
  return { violations, screenshots };
}

/** A line for `t.diagnostic`: the violations below serious, by width. */
export function describeViolations(check: ScreenCheck): string {
  return (Object.keys(check.violations) as ViewportName[])
    .map((viewport) => {
      const list = check.violations[viewport];
      const text =
        list.length === 0
          ? 'none'
          : list.map((v) => `${v.impact ?? '?'} ${v.id} (${v.targets.join(', ')})`).join(', ');
      return `axe at ${viewport}: ${text}`;
    })
    .join('; ');
}

/** What has keyboard focus: tag, accessible-ish text, href and id. */
export interface FocusedElement {
  readonly tag: string;
  readonly text: string;
  readonly href: string | null;
  readonly id: string | null;
}

/** Describes the element that has focus (`body` when nothing has). */
export async function describeFocus(page: Page): Promise<FocusedElement> {
  return await page.evaluate<FocusedElement>(`(() => {
    const element = document.activeElement ?? document.body;
    const label = element.getAttribute('aria-label') ?? element.textContent ?? '';
    return {
      tag: element.tagName.toLowerCase(),
      text: label.replace(/\\s+/g, ' ').trim().slice(0, 80),
      href: element.getAttribute('href'),
      id: element.id === '' ? null : element.id,
    };
  })()`);
}

/** Presses Tab and describes what has focus then. */
export async function focusNext(page: Page): Promise<FocusedElement> {
  await page.keyboard.press('Tab');
  return describeFocus(page);
}
