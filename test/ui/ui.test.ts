import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, Request } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken, hashToken } from '../../src/api/auth/tokens.js';
import { createNode } from '../../src/node/create-node.js';
import { ARTIFACTS, WAIT_MS, eventually, startUiFixture, type UiFixture } from './ui-fixture.js';

/**
 * The web UI in real Chromium (Debian's, driven by playwright-core) against a real embedded node
 * in this process (see ui-fixture.ts). The tests share one page, in order, as an operator would
 * use it; each checks the page never reloaded (a marker set on window at the first load
 * survives), so what changed on screen came over the live stream or an in-page read. The
 * screenshot is kept in test/artifacts/ui.png.
 */

describe('the web UI in Chromium', () => {
  let ui: UiFixture;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    ui = await startUiFixture();
    ({ page, base } = ui);
  });
  afterAll(() => ui?.close());

  /** Opens the UI once; later tests go on in the same page (so `-t` can pick any single test). */
  async function openUi(): Promise<void> {
    if (page.url().startsWith(base)) return;
    await page.goto(base);
    await page.evaluate(() => ((window as unknown as { __loadedOnce?: string }).__loadedOnce = 'yes'));
  }

  async function notReloaded(): Promise<void> {
    expect(await page.evaluate(() => (window as unknown as { __loadedOnce?: string }).__loadedOnce)).toBe('yes');
    expect(ui.pageErrors).toEqual([]);
  }

  async function startFromDefinitions(name: string): Promise<string> {
    await page.getByRole('link', { name: 'Definitions', exact: true }).click();
    await page.getByRole('button', { name: `Start ${name}` }).click();
    const link = page.locator('.notice a');
    await link.waitFor();
    const href = await link.getAttribute('href');
    const id = decodeURIComponent(/^#\/runs\/(.+)$/.exec(href ?? '')?.[1] ?? '');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    return id;
  }

  /** The page's live streams are open (the header says "live"), so the next change reaches it. */
  const streamsOpen = () => page.locator('.live.live').waitFor();

  const row = (id: string, status?: string) => page.locator(`tr[data-run="${id}"]${status ? `[data-status="${status}"]` : ''}`);

  it('loads small, shows the statistics and says the node is embedded', async () => {
    const transferred: Array<{ url: string; bytes: number }> = [];
    const finished = (request: Request) =>
      void request.sizes().then(
        (sizes) => transferred.push({ url: request.url(), bytes: sizes.responseBodySize + sizes.responseHeadersSize }),
        () => {},
      );
    page.on('requestfinished', finished);
    await openUi();
    await page.getByTestId('embedded-badge').waitFor();
    expect(await page.getByTestId('embedded-badge').textContent()).toBe('embedded');
    await page.locator('.stat[data-status="COMPLETED"] .stat-value').waitFor();
    await page.locator('figure.chart svg').waitFor();
    await eventually(() => transferred.some((t) => t.url.endsWith('/ui/js/throughput.js')), 'the page modules to load');
    page.off('requestfinished', finished);

    const files = transferred.filter((t) => !t.url.includes('/graphql'));
    const total = files.reduce((sum, t) => sum + t.bytes, 0);
    console.log(`[ui] first page load: ${files.length} files, ${total} bytes transferred (gzip, headers included), GraphQL excluded`);
    expect(files.some((t) => t.url.endsWith('/ui/vendor/preact.mjs'))).toBe(true);
    // No multi-megabyte bundle: the whole UI with preact and htm is a few tens of kilobytes.
    expect(total).toBeLessThan(100_000);
    await notReloaded();
  });

  it('starts a run with the Start button and shows it reach completed live, in the table and on its page', async () => {
    await openUi();
    const first = await startFromDefinitions('ui_gated');
    // The definitions table follows the run over the live stream: pending → running.
    await page.locator('tr[data-definition="ui_gated"] .last-run .chip.st-running').waitFor();

    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await row(first, 'RUNNING').waitFor();
    await streamsOpen();
    await ui.release(first);
    await row(first, 'COMPLETED').waitFor();
    expect(await row(first).locator('td').nth(7).textContent()).toContain('"released":true');

    const second = await startFromDefinitions('ui_gated');
    await page.locator('.notice a').click();
    await page.locator('.page-head .chip.st-running').waitFor();
    await streamsOpen();
    await ui.release(second);
    await page.locator('.page-head .chip.st-completed').waitFor();
    expect(await page.getByLabel('result', { exact: true }).textContent()).toContain('"released": true');
    const attempt = page.locator('tr[data-attempt="1"]');
    await attempt.waitFor();
    expect(await attempt.textContent()).toContain('completed');
    expect(await attempt.textContent()).toContain(ui.node.config.nodeId);
    await notReloaded();
  });

  it('stops a running run from the runs table and shows it stopped, with its attempt', async () => {
    await openUi();
    const id = await startFromDefinitions('ui_long');
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await row(id, 'RUNNING').waitFor();
    await streamsOpen();
    await page.getByRole('button', { name: `Stop run ${id}` }).click();
    await row(id, 'STOPPED').waitFor();
    expect(ui.aborted.has(id)).toBe(true);
    // Finished runs offer retry and forget instead.
    await row(id).getByRole('button', { name: `Retry run ${id}` }).waitFor();

    await row(id).getByRole('link').first().click();
    await page.locator('.page-head .chip.st-stopped').waitFor();
    expect(await page.locator('.notice').first().textContent()).toMatch(/stopped/);
    expect(await page.locator('tr[data-attempt="1"]').textContent()).toContain('stopped');
    await notReloaded();
  });

  it('reopens the live stream after the connection drops and shows what changed meanwhile', async () => {
    await openUi();
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await streamsOpen();
    const id = await ui.node.store.create({ funcName: 'ui.gated', name: 'ui_gated' }).then((run) => run.id);
    await row(id, 'RUNNING').waitFor();

    ui.proxy.setDown(true);
    ui.proxy.drop();
    await page.locator('.live.reconnecting').waitFor();
    await ui.release(id);
    await ui.node.store.wait(id, WAIT_MS);
    ui.proxy.setDown(false);
    // The backoff reaches at most a few seconds here; the reopened stream triggers a re-read.
    await page.locator('.live.live').waitFor({ timeout: 45_000 });
    await row(id, 'COMPLETED').waitFor();
    await notReloaded();
  });

  it('shows a job as a graph (spawned runs, dependsOn) and cancels a running flow from its page', async () => {
    await openUi();
    const root = await ui.node.store.create({ funcName: 'ui.parent' });
    expect((await ui.node.store.wait(root.id, WAIT_MS)).status).toBe('completed');
    await page.evaluate((id) => (location.hash = `#/jobs/${id}`), root.id);
    await page.locator(`a.graph-node[data-run="${root.id}"]`).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('a.graph-node').length === 3, undefined, { timeout: WAIT_MS });
    await page.waitForFunction(() => document.querySelectorAll('tr[data-run][data-status="COMPLETED"]').length === 3, undefined, { timeout: WAIT_MS });
    // The parent spawned both; the second waited for the first.
    expect(await page.locator('.job-graph path.edge.parent').count()).toBe(2);
    expect(await page.locator('.job-graph path.edge.dependsOn').count()).toBe(1);
    expect(await page.locator('.page-head .chip').textContent()).toBe('completed');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'ui-job.png'), fullPage: true });

    const submitted = await ui.graphql<{ job: { submit: { id: string } } }>(
      'mutation { job { submit(steps: [{ step: "fetch", funcName: "ui.gated" }, { step: "load", funcName: "ui.quick", dependsOn: ["fetch"] }]) { id } } }',
    );
    await page.evaluate((id) => (location.hash = `#/jobs/${id}`), submitted.job.submit.id);
    // Live: "fetch" is claimed while the page is open; "load" stays blocked behind it.
    await page.locator('a.graph-node[aria-label="fetch, running"]').waitFor();
    await page.locator('a.graph-node[aria-label="load, blocked"]').waitFor();
    expect(await page.locator('.job-graph path.edge.dependsOn').count()).toBe(1);
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.waitForFunction(() => document.querySelector('.page-head .chip')?.textContent === 'cancelled', undefined, { timeout: WAIT_MS });
    await page.waitForFunction(() => document.querySelectorAll('tr[data-run][data-status="STOPPED"]').length === 2, undefined, { timeout: WAIT_MS });
    await page.getByRole('button', { name: 'Retry job' }).waitFor();
    await notReloaded();
  });

  it('filters the runs table by status and name, and pages through it with cursors', async () => {
    await openUi();
    for (let i = 0; i < 30; i++) await ui.node.store.create({ funcName: 'ui.quick', name: 'ui_paged', args: [i] });
    await page.evaluate(() => (location.hash = '#/runs'));
    await page.getByLabel('Name').fill('ui_paged');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForFunction(() => location.hash.includes('name=ui_paged'), undefined, { timeout: WAIT_MS });
    await page.getByLabel('Status').selectOption('COMPLETED');
    // Every ui_paged run completes; the first page holds 25 of the 30, all completed and of that name.
    await page.waitForFunction(
      () => document.querySelectorAll('tr[data-run][data-status="COMPLETED"]').length === 25 && document.querySelectorAll('tr[data-run]').length === 25,
      undefined,
      { timeout: WAIT_MS },
    );
    expect(await page.locator('table.runs tbody td:nth-child(2)').allTextContents()).toEqual(Array(25).fill('ui_paged'));
    const firstPage = await page.locator('tr[data-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')));

    await page.getByRole('button', { name: 'Older →' }).click();
    await page.waitForFunction(() => document.querySelectorAll('tr[data-run]').length === 5, undefined, { timeout: WAIT_MS });
    const secondPage = await page.locator('tr[data-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')));
    expect(secondPage.filter((id) => firstPage.includes(id))).toEqual([]);
    expect(await page.getByRole('button', { name: 'Older →' }).isDisabled()).toBe(true);

    await page.getByRole('button', { name: '← Newer' }).click();
    await page.waitForFunction(() => document.querySelectorAll('tr[data-run]').length === 25, undefined, { timeout: WAIT_MS });
    expect(await page.locator('tr[data-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')))).toEqual(firstPage);

    await page.getByLabel('Status').selectOption('FAILED');
    await page.getByText('No runs match.').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.waitForFunction(() => location.hash === '#/runs', undefined, { timeout: WAIT_MS });
    await notReloaded();
  });

  it('shows clusters, runners with load against capacity, shards with health, and nodes', async () => {
    await openUi();
    await page.getByRole('link', { name: 'Clusters', exact: true }).click();
    expect(await page.locator('tr[data-cluster="default"]').textContent()).toContain('default');

    await page.getByRole('link', { name: 'Runners', exact: true }).click();
    const runner = page.locator('tr[data-runner]').first();
    await runner.waitFor();
    expect(await runner.textContent()).toContain(ui.node.config.nodeId);
    expect(await runner.getByRole('meter').getAttribute('aria-valuemax')).toBe(String(ui.node.config.runner.capacity));

    await page.getByRole('link', { name: 'Shards', exact: true }).click();
    const shard = page.locator('tr[data-shard]').first();
    await shard.waitFor();
    expect(await shard.locator('.health').textContent()).toBe('up');

    await page.getByRole('link', { name: 'Nodes', exact: true }).click();
    const row = page.locator(`tr[data-node="${ui.node.config.nodeId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('embedded');
    await notReloaded();
  });

  it('shows API errors as a message and a code, not as JSON', async () => {
    await openUi();
    await page.evaluate(() => (location.hash = '#/runs/not-a-run-id'));
    const box = page.locator('.error[role="alert"]');
    await box.waitFor();
    expect(await box.locator('.error-code').textContent()).toBe('BAD_USER_INPUT');
    expect(await box.locator('.error-message').textContent()).toMatch(/id/);
    expect(await box.textContent()).not.toMatch(/[{}]|"extensions"/);
    await notReloaded();
  });

  it('signs in with a real token on a node with auth on: refuses a wrong one, shows data, and shows a viewer FORBIDDEN for Start', async () => {
    // A second embedded node, with API auth on and one viewer token; the shared page stays signed out of it.
    const token = generateToken();
    const secured = createNode({
      // The scheduler role writes the config's definitions to the catalog.
      node: { roles: ['api', 'scheduler', 'storage', 'runner'], listen: '127.0.0.1:0', api: { auth: 'on', tokens: [{ name: 'ui-viewer', role: 'viewer', sha256: hashToken(token) }] } },
      tasks: { signed_in: { kind: 'single_shot', func_name: 'ui.noop' } },
      handlers: { 'ui.noop': () => null },
      logger: pino({ level: 'silent' }),
    });
    await secured.start();
    const own = await ui.browser.newContext();
    const sent: string[] = [];
    const login = await own.newPage();
    login.setDefaultTimeout(WAIT_MS);
    login.on('request', (request) => {
      if (request.url().endsWith('/graphql')) sent.push(request.headers()['authorization'] ?? '');
    });
    try {
      await login.goto(`http://${secured.address}/#/definitions`);
      // No token: the server answers UNAUTHENTICATED and the UI asks for one.
      const field = login.getByLabel('API token');
      await field.waitFor();
      expect(await login.locator('tr[data-definition]').count()).toBe(0);

      // A wrong token is sent, refused by the server, and the form says so.
      await field.fill('tp_not-the-right-token');
      await login.getByRole('button', { name: 'Sign in' }).click();
      await login.getByText('The token you gave was refused.').waitFor();
      expect(sent).toContain('Bearer tp_not-the-right-token');
      expect(await login.locator('tr[data-definition]').count()).toBe(0);

      // The right one shows the node's data, and is kept for the next visit.
      await login.getByLabel('API token').fill(token);
      await login.getByRole('button', { name: 'Sign in' }).click();
      await login.locator('tr[data-definition="signed_in"]').waitFor();
      // The live stream authenticates with the same token.
      await login.locator('.live.live').waitFor();
      expect(sent).toContain(`Bearer ${token}`);
      expect(await login.evaluate(() => localStorage.getItem('taskplane.token'))).toBe(token);

      // The UI shows operator buttons to everyone; the server refuses a viewer's Start, and the UI says why.
      await login.getByRole('button', { name: 'Start signed_in' }).click();
      const box = login.locator('.error[role="alert"]');
      await box.waitFor();
      expect(await box.locator('.error-code').textContent()).toBe('FORBIDDEN');
      expect(await box.locator('.error-message').textContent()).toContain("token 'ui-viewer' has role viewer; this operation needs operator");
      expect((await secured.store.statistics()).total.total).toBe(0);

      await login.getByRole('button', { name: 'Sign out' }).click();
      await login.getByLabel('API token').waitFor();
      expect(await login.evaluate(() => localStorage.getItem('taskplane.token'))).toBeNull();
    } finally {
      await own.close();
      await secured.close();
    }
  });

  it('keeps a screenshot of the dashboard with live data', async () => {
    await openUi();
    await page.evaluate(() => (location.hash = '#/'));
    // A sample before the runs, so the chart has growth to draw.
    await page.locator('.stat[data-status="COMPLETED"] .stat-value').waitFor();
    const runs = [];
    for (let i = 0; i < 12; i++) runs.push(await ui.node.store.create({ funcName: 'ui.quick', args: [i] }));
    for (const run of runs) await ui.node.store.wait(run.id, WAIT_MS);
    const { statistics } = await ui.graphql<{ statistics: { completed: number } }>('{ statistics { completed } }');
    await page.locator('figure.chart rect.bar.completed').first().waitFor();
    await page.waitForFunction(
      (completed) => Number(document.querySelector('.stat[data-status="COMPLETED"] .stat-value')?.textContent) === completed,
      statistics.completed,
      { timeout: WAIT_MS },
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'ui.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(readFileSync(file).subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(statSync(file).size).toBeGreaterThan(20_000);
    await page.evaluate(() => (location.hash = '#/runs'));
    await page.locator('tr[data-run]').first().waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'ui-runs.png'), fullPage: true });
    await notReloaded();
  });
});
