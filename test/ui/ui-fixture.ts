import { join } from 'node:path';
import { pino } from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Handler } from '../../src/core/handler.js';
import { createNode } from '../../src/node/create-node.js';
import type { TaskplaneNode } from '../../src/node/taskplane-node.js';
import { provisionChromium } from '../services/provision.js';
import { projectRoot } from '../services/project-root.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/**
 * What the browser test runs against: a real embedded node in this process (api, scheduler,
 * storage and runner roles; its HTTP server serves the UI and GraphQL), reached through a TCP
 * proxy so a test can cut the UI's connections, and Debian's Chromium driven by playwright-core.
 *
 * `ui.gated` holds each run until the test opens its gate (or the run is stopped), so a test sees
 * "running" and then "completed" in that order without guessing at timings.
 */

export const ARTIFACTS = join(projectRoot, 'test', 'artifacts');
/** Bound on every wait for something to show up on the page. */
export const WAIT_MS = 20_000;

export interface UiFixture {
  readonly node: TaskplaneNode;
  readonly proxy: TcpProxy;
  readonly browser: Browser;
  readonly page: Page;
  /** The UI's URL, through the proxy. */
  readonly base: string;
  /** Errors thrown in the page (uncaught), in order. */
  readonly pageErrors: string[];
  /** Run ids whose handler saw its signal fire. */
  readonly aborted: ReadonlySet<string>;
  /** Lets a `ui.gated` run finish (waits until its handler holds it). */
  release(runId: string): Promise<void>;
  /** A GraphQL call from the test, straight to the node (not through the browser). */
  graphql<T>(query: string): Promise<T>;
  close(): Promise<void>;
}

export async function eventually(check: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function startUiFixture(): Promise<UiFixture> {
  const gates = new Map<string, () => void>();
  const aborted = new Set<string>();
  const handlers: Record<string, Handler> = {
    'ui.gated': (_args, ctx) =>
      new Promise((resolve, reject) => {
        gates.set(ctx.runId, () => resolve({ released: true, attempt: ctx.attempt }));
        ctx.signal.addEventListener('abort', () => (aborted.add(ctx.runId), reject(new Error('aborted by stop'))), { once: true });
      }),
    'ui.quick': (args) => ({ echo: args }),
    'ui.parent': (_args, ctx) => {
      const first = ctx.spawn('ui.quick', ['child one']);
      ctx.spawn('ui.quick', ['child two'], { dependsOn: [first] });
      return { spawned: 2 };
    },
  };

  const executablePath = await provisionChromium();
  const node = createNode({
    node: {
      roles: ['api', 'scheduler', 'storage', 'runner'],
      listen: '127.0.0.1:0',
      runner: { poll_ms: 100, drain_grace_ms: 200 },
      scheduler: { lease_ms: 600 },
      storage: { lease_ms: 600, sweep_every_ms: 200 },
    },
    tasks: {
      ui_gated: { kind: 'single_shot', func_name: 'ui.gated' },
      ui_long: { kind: 'single_shot', func_name: 'ui.gated' },
    },
    handlers,
    logger: pino({ level: 'silent' }),
  });
  let proxy: TcpProxy | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    for (const open of gates.values()) open();
    await browser?.close();
    await proxy?.close();
    await node.close();
  };
  try {
    await node.start();
    const [host, port] = node.address!.split(/:(?=\d+$)/);
    proxy = await startTcpProxy({ host: host!, port: Number(port) });
    browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
    const page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
    page.setDefaultTimeout(WAIT_MS);
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    return {
      node,
      proxy,
      browser,
      page,
      base: `http://127.0.0.1:${proxy.port}/`,
      pageErrors,
      aborted,
      async release(runId) {
        await eventually(() => gates.has(runId), `run ${runId} to reach its handler`);
        gates.get(runId)!();
      },
      async graphql<T>(query: string): Promise<T> {
        const response = await fetch(`http://${node.address}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
          body: JSON.stringify({ query }),
        });
        const answer = (await response.json()) as { data?: T; errors?: unknown[] };
        if (!answer.data || answer.errors) throw new Error(`GraphQL answered ${JSON.stringify(answer)}`);
        return answer.data;
      },
      close,
    };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}
