// Drives the network explorer in chromium against a real, seeded demo network: validators and
// their health, heights, a block's transactions (never bodies), the two live charts and their
// tables, keyboard use, and the axe-core check and screenshots at desktop and phone width.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { Page } from 'playwright-core';

import {
  type WebHarness,
  appUrl,
  checkScreen,
  describeFocus,
  describeViolations,
  focusNext,
  harnessLimits,
  makeTraffic,
  startWebHarness,
  waitUntil,
  withPage,
} from './harness.ts';

let web: WebHarness;

before(
  async () => {
    web = await startWebHarness();
    process.stdout.write(
      `# explorer harness: app built, demo seeded and chromium up in ${(web.startMs / 1000).toFixed(1)} s\n`,
    );
  },
  { timeout: harnessLimits.startWaitMs },
);

after(
  async () => {
    if (web !== undefined) process.stdout.write(`# explorer harness: ${await web.stop()}\n`);
  },
  { timeout: harnessLimits.stopWaitMs },
);

interface BlockAnswer {
  height: number;
  txs: Array<{ id: string; kind: string; signer: string; body: string }>;
}

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(`${web.url}${path}`);
  assert.equal(response.ok, true, `GET ${path}: ${response.status}`);
  return (await response.json()) as T;
}

/** The first block after block 1 with at least `count` transactions, from the node's API. */
async function blockWithTransactions(count: number): Promise<BlockAnswer> {
  const { height } = await getJson<{ height: number }>('/chain/status');
  for (let h = 2; h <= height; h += 1) {
    const block = await getJson<BlockAnswer>(`/chain/blocks/${h}`);
    if (block.txs.length >= count) return block;
  }
  throw new Error(`no block up to ${height} holds ${count} transactions`);
}

async function openExplorer(page: Page, route = 'explorer'): Promise<void> {
  await page.goto(appUrl(web.url, route));
  await page.getByRole('heading', { level: 1, name: 'Network explorer' }).waitFor();
  await page.locator('[data-validator]').first().waitFor();
}

function validatorRows(page: Page) {
  return page.getByRole('region', { name: 'Table of validators', exact: true }).locator('tbody tr');
}

test('the explorer shows this node, its height and the four validators with their health, without sign-in', async () => {
  await withPage(web, async (page) => {
    const status = await getJson<{
      chainId: string;
      height: number;
      nodeKey: string;
      validators: Array<{ publicKey: string }>;
    }>('/chain/status');
    await openExplorer(page);
    assert.equal(await page.title(), 'Network explorer · MedLedger');
    await page.getByText(status.chainId, { exact: true }).waitFor();
    const shown = Number(await page.getByTestId('node-height').textContent());
    assert.ok(shown >= status.height, `shown height ${shown}, the node was at ${status.height}`);

    const rows = validatorRows(page);
    assert.equal(await rows.count(), 4);
    const texts = await rows.allTextContents();
    for (const [index, validator] of status.validators.entries()) {
      const row = texts[index]!;
      assert.match(row, new RegExp(`^Validator ${index + 1} ${validator.publicKey.slice(0, 8)}…`));
      assert.match(
        row,
        validator.publicKey === status.nodeKey ? /This node/ : /Connected, (inbound|outbound)/,
      );
    }
    // A commit needs three of the four signatures: at least three are signing right now.
    const healthy = texts.filter((row) => row.includes('Healthy')).length;
    assert.ok(healthy >= 3, `healthy validators: ${healthy}\n${texts.join('\n')}`);
    assert.match(
      (await page.getByRole('heading', { name: 'Validators' }).locator('xpath=..').textContent())!,
      /The newest commit \(block \d+\) carries the signatures of [34] of 4 voting power/,
    );
  });
});

test('the explorer draws throughput and commit interval as charts with text alternatives, and keeps them live without piling requests up', async () => {
  await withPage(web, async (page) => {
    // Every request of the page to the API, with when it started and ended.
    const requests: Array<{ path: string; start: number; end: number | null }> = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/chain/')) {
        requests.push({ path: url.pathname, start: Date.now(), end: null });
      }
    });
    page.on('requestfinished', (request) => {
      const path = new URL(request.url()).pathname;
      const open = requests.find((entry) => entry.path === path && entry.end === null);
      if (open !== undefined) open.end = Date.now();
    });
    await openExplorer(page);

    const throughput = page.getByRole('img', { name: /^Transactions per block/ });
    const interval = page.getByRole('img', { name: /^Seconds between blocks/ });
    await throughput.waitFor();
    await interval.waitFor();
    assert.match((await interval.locator('path.chart-line').getAttribute('d')) ?? '', /^M[\d.]+ /);
    // New transactions reach the chart at the next refreshes: one bar per block that has any,
    // as the table of the charts' numbers says (read from one rendering of the page).
    await makeTraffic(web);
    let drawn = { bars: 0, busy: 0 };
    await waitUntil(
      async () => {
        drawn = await page.evaluate<{ bars: number; busy: number }>(`({
          bars: document.querySelectorAll('svg rect.chart-bar').length,
          busy: [...document.querySelectorAll('.explorer-data tbody tr')]
            .filter((row) => Number(row.children[2].textContent) > 0).length,
        })`);
        return drawn.bars > 0;
      },
      { what: 'a bar of the new transactions is drawn' },
    );
    assert.equal(drawn.bars, drawn.busy, 'one bar per block with transactions');
    const description = await throughput.locator('desc').textContent();
    assert.match(description ?? '', /\d+ transactions? in blocks \d+ to \d+, over [\d.]+ s/);
    assert.match(
      (await interval.locator('desc').textContent()) ?? '',
      /a block was committed every [\d.]+ s \(median\)/,
    );

    // The numbers as a table, behind a disclosure a keyboard can open.
    const disclosure = page.getByText("The charts' numbers as a table");
    await disclosure.focus();
    await page.keyboard.press('Enter');
    const table = page
      .getByRole('region', { name: "Table of the charts' numbers" })
      .locator('tbody tr');
    await table.first().waitFor();
    assert.ok((await table.count()) >= 10, `rows: ${await table.count()}`);

    // Live: the height goes up without a reload, one refresh at a time.
    const first = Number(await page.getByTestId('node-height').textContent());
    await waitUntil(
      async () => Number(await page.getByTestId('node-height').textContent()) > first,
      { what: `the height shown passes ${first}` },
    );
    const statusCalls = requests.filter((entry) => entry.path === '/chain/status');
    assert.ok(statusCalls.length >= 2, `status read ${statusCalls.length} times`);
    for (const [index, call] of statusCalls.entries()) {
      const next = statusCalls[index + 1];
      if (next === undefined || call.end === null) continue;
      assert.ok(next.start >= call.end, 'a refresh started before the previous one ended');
    }
    // Committed blocks are read once each, not again on every refresh.
    const blockPaths = requests
      .filter((entry) => entry.path.startsWith('/chain/blocks/'))
      .map((e) => e.path);
    assert.equal(new Set(blockPaths).size, blockPaths.length, 'a block was read twice');

    // Paused: no request at all.
    await page.getByRole('button', { name: 'Pause updates' }).click();
    assert.equal(
      await page.getByRole('button', { name: 'Pause updates' }).getAttribute('aria-pressed'),
      'true',
    );
    await page.getByText('Updates paused.').waitFor();
    await page.waitForTimeout(500);
    const whilePaused = requests.length;
    await page.waitForTimeout(4_000);
    assert.equal(requests.length, whilePaused, 'requests were made while paused');
  });
});

test("a block's transactions show kind, id, signer and size, never a body; a height not committed is refused without a request", async () => {
  const block = await blockWithTransactions(2);
  await withPage(web, async (page) => {
    await openExplorer(page);
    const field = page.getByLabel('Block height');
    await field.fill(String(block.height));
    await field.press('Enter');
    await page.waitForURL(new RegExp(`#/explorer/block/${block.height}$`));
    const heading = page.getByRole('heading', { level: 2, name: `Block ${block.height}` });
    await heading.waitFor();
    // The reader chose it: focus is on the block's heading, for the keyboard and screen readers.
    assert.equal((await describeFocus(page)).id, 'explorer-block');

    const rows = page
      .getByRole('region', { name: `Table of the transactions of block ${block.height}` })
      .locator('tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), block.txs.length);
    const texts = await rows.allTextContents();
    for (const [index, tx] of block.txs.entries()) {
      const row = texts[index]!;
      assert.ok(row.includes(tx.kind), `row ${index + 1}: ${row} lacks ${tx.kind}`);
      assert.ok(row.includes(tx.id.slice(0, 8)), `row ${index + 1} lacks the id`);
      assert.ok(row.includes(tx.signer.slice(0, 8)), `row ${index + 1} lacks the signer`);
      assert.ok(row.includes(`${tx.body.length / 2} bytes`), `row ${index + 1} lacks the size`);
    }
    const kinds = await page.getByTestId('block-kinds').textContent();
    assert.match(kinds ?? '', new RegExp(`^${block.txs.length} transactions: `));
    const html = await page.content();
    for (const tx of block.txs) {
      assert.ok(!html.includes(tx.body.slice(0, 32)), 'a transaction body is on the page');
    }

    // The previous block, by its link.
    await page.getByRole('link', { name: 'Previous block' }).click();
    await page.getByRole('heading', { level: 2, name: `Block ${block.height - 1}` }).waitFor();

    // Refused in the form, with no request (a 404 would be a console error) and the reason.
    const requested: string[] = [];
    page.on('request', (request) => requested.push(new URL(request.url()).pathname));
    const { height } = await getJson<{ height: number }>('/chain/status');
    await field.fill(String(height + 1000));
    await field.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'is not committed yet' }).waitFor();
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    await field.fill('twelve');
    await field.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'Enter a block height' }).waitFor();
    // The live refresh may read blocks of its window meanwhile; neither refused height is asked.
    const refused = [`/chain/blocks/${height + 1000}`, '/chain/blocks/twelve'];
    assert.deepEqual(
      requested.filter((path) => refused.includes(path)),
      [],
      'a refused height was requested',
    );
  });
});

test("keyboard: the skip link comes first, then the header, then the explorer's controls in reading order", async () => {
  await withPage(web, async (page) => {
    await openExplorer(page);
    const reached: string[] = [];
    for (let presses = 0; presses < 14; presses += 1) {
      const focused = await focusNext(page);
      reached.push(`${focused.tag}:${focused.id ?? focused.text}`);
    }
    const trail = reached.join(' · ');
    assert.equal(reached[0], 'a:Skip to content', trail);
    const order = (pattern: RegExp) => reached.findIndex((entry) => pattern.test(entry));
    assert.ok(order(/^a:Network$/) > 0, trail);
    assert.ok(order(/^button:Pause updates/) > order(/^a:Network$/), trail);
    assert.ok(order(/^div:Table of validators/) > order(/^button:Pause updates/), trail);
    assert.ok(order(/^summary:/) > order(/^div:Table of validators/), trail);
    assert.ok(order(/^input:explorer-height/) > order(/^summary:/), trail);
    assert.ok(order(/^button:Show block/) > order(/^input:explorer-height/), trail);
    assert.ok(order(/^a:\d+$/) > order(/^button:Show block/), trail);
    // The focused block link opens the block with Enter.
    while (!/^a:\d+$/.test(reached.at(-1) ?? '')) {
      const focused = await focusNext(page);
      reached.push(`${focused.tag}:${focused.id ?? focused.text}`);
      assert.ok(reached.length < 40, trail);
    }
    const height = reached.at(-1)!.slice(2);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 2, name: `Block ${height}` }).waitFor();
    assert.equal((await describeFocus(page)).id, 'explorer-block');
  });
});

test('when the node stops answering, the explorer says why, keeps what it showed, and recovers', async () => {
  await withPage(
    web,
    async (page) => {
      await openExplorer(page);
      await page.route('**/chain/status', (route) =>
        route.fulfill({
          status: 503,
          contentType: 'application/json',
          body: JSON.stringify({
            error: { code: 'unavailable', message: 'the node is restarting' },
          }),
        }),
      );
      const alert = page.getByRole('alert').filter({ hasText: 'Could not read the chain' });
      await alert.waitFor();
      assert.match(
        (await alert.textContent()) ?? '',
        /the node is restarting\. Trying again every 3 s\./,
      );
      assert.equal(await validatorRows(page).count(), 4, 'the last view is still shown');
      await page.unroute('**/chain/status');
      await alert.waitFor({ state: 'detached' });
    },
    { allowConsoleErrors: /status of 503/ },
  );
});

test('the skip link moves focus to the main content and stays on the explorer', async () => {
  await withPage(web, async (page) => {
    await openExplorer(page);
    assert.equal((await focusNext(page)).text, 'Skip to content');
    await page.keyboard.press('Enter');
    // Focus moves to the content; the hash, which holds the route, is left alone.
    await waitUntil(async () => (await describeFocus(page)).id === 'main', {
      what: 'focus is on #main',
    });
    assert.match(page.url(), /#\/explorer$/);
    assert.equal(
      await page.getByRole('heading', { level: 1, name: 'Network explorer' }).count(),
      1,
      `the explorer is still shown (the page is at ${page.url()})`,
    );
  });
});

test('the explorer at desktop and phone width: no serious accessibility violation, screenshots', async (t) => {
  const block = await blockWithTransactions(2);
  await withPage(web, async (page) => {
    await openExplorer(page);
    await page.getByRole('img', { name: /^Transactions per block/ }).waitFor();
    const overview = await checkScreen(page, 'explorer');
    t.diagnostic(`explorer: ${describeViolations(overview)}`);
    await page.goto(appUrl(web.url, `explorer/block/${block.height}`));
    await page
      .getByRole('region', { name: `Table of the transactions of block ${block.height}` })
      .locator('tbody tr')
      .first()
      .waitFor();
    const detail = await checkScreen(page, 'explorer-block');
    t.diagnostic(`explorer-block: ${describeViolations(detail)}`);
    t.diagnostic(`screenshots: ${[...overview.screenshots, ...detail.screenshots].join(', ')}`);
  });
});
