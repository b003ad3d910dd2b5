// The web console's page logic in headless Chromium, against the real console files and traceback route and a
// small in-memory fake of the blocks and customers resources (the shapes of ADMIN-API.md and the issue-17
// shared picture). The element-level test, with the real resources and SIPp calls, is console.test.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, sendError, sendJson } from '../../src/admin/api-error.js';
import { BearerAuth } from '../../src/admin/bearer-auth.js';
import { loadConsoleRoutes } from '../../src/admin/console/console-routes.js';
import { createRouter } from '../../src/admin/router.js';
import { tracebackRoutes } from '../../src/admin/traceback-resource.js';
import type { SqliteTracebackStore } from '../../src/traceback/sqlite-store.js';
import { launchChromium, screenshot, signInToConsole } from '../support/chromium.js';
import { signedCall, storeFileWith, T0 } from '../unit/traceback/identity-lookup-fixtures.js';

const TOKEN = 'c0ffee-console-test-token';
const OPERATOR = 'noc-alice';
const HOSTILE = '<img src=x id=injected>';
const REASON = 'robocall campaign, traceback TB-2291';

interface FakeBlock {
  id: string;
  match: Record<string, string>;
  action: string;
  reason: string;
  ticket: string;
  expires: string | null;
  actor: string;
  created: string;
  removed: null | { time: string; actor: string; reason: string };
}

/** The blocks and customers resources as the control plane answers them, in memory. */
class FakeControl {
  readonly blocks: FakeBlock[] = [];
  customerPolls = 0;
  blockListings = 0;

  handle(req: IncomingMessage, res: ServerResponse, body: string): boolean {
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    if (!path.startsWith('/v1/blocks') && path !== '/v1/customers') return false;
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      sendError(res, new ApiError(401, 'unauthorized', 'unauthorized'));
      return true;
    }
    if (path === '/v1/customers') {
      this.customerPolls++;
      sendJson(res, 200, { customers: [this.customer()] });
    } else if (path === '/v1/blocks' && req.method === 'GET') {
      this.blockListings++;
      sendJson(res, 200, { blocks: this.blocks.filter((b) => b.removed === null) });
    } else if (path === '/v1/blocks' && req.method === 'POST') {
      const r = JSON.parse(body) as Omit<FakeBlock, 'id' | 'actor' | 'created' | 'removed'>;
      const [kind, value] = Object.entries(r.match)[0]!;
      if (kind === 'calling' && !/^\+\d{1,15}\*?$/.test(value)) {
        sendError(
          res,
          new ApiError(400, 'invalid_parameter', `${value} is not an E.164 number`, 'match.calling'),
        );
      } else if (!r.reason) {
        sendError(res, new ApiError(400, 'missing_parameter', 'a block needs a reason', 'reason'));
      } else {
        const b: FakeBlock = {
          ...r,
          expires: r.expires ?? null,
          id: `blk-${this.blocks.length + 1}`,
          actor: OPERATOR,
          created: new Date().toISOString(),
          removed: null,
        };
        this.blocks.push(b);
        sendJson(res, 201, b);
      }
    } else if (req.method === 'DELETE') {
      const b = this.blocks.find((x) => `/v1/blocks/${x.id}` === path && x.removed === null);
      if (b === undefined) sendError(res, new ApiError(404, 'not_found', `no block ${path}`));
      else {
        const reason = body === '' ? '' : (JSON.parse(body) as { reason: string }).reason;
        b.removed = { time: new Date().toISOString(), actor: OPERATOR, reason };
        sendJson(res, 200, b);
      }
    } else return false;
    return true;
  }

  /** Live figures that move with every poll, so the page showing two of them proves it polls. */
  customer() {
    const n = this.customerPolls;
    return {
      name: 'acme',
      origid: '0b3ad0e4-7e3c-4a4e-9a55-0c1b3f1e2d4c',
      limits: { cps: 10, burst: 20, max_concurrent: 100 },
      configured_limits: { cps: 10, burst: 20, max_concurrent: 100 },
      overrides: null,
      live: { cps: n % 10, concurrent: 40 + n },
      refusals: { block: 3, limit: 7 },
    };
  }
}

describe('the web console page (fake blocks and customers, real traceback route)', () => {
  const calls = [signedCall('k1', T0, '12025550100', '12025550199', 'a1@acme')];
  const fake = new FakeControl();
  let store: SqliteTracebackStore;
  let cleanup: () => Promise<void>;
  let server: Server;
  let url: string;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ({ store, cleanup } = await storeFileWith(calls));
    const router = createRouter({
      routes: [...tracebackRoutes(store), ...(await loadConsoleRoutes())],
      auth: new BearerAuth([{ name: OPERATOR, token: TOKEN }]),
      maxBodyBytes: 64 * 1024,
      onInternalError: (err) => pageErrors.push(String(err)),
    });
    server = createServer((req, res) => {
      if (!req.url?.startsWith('/v1/blocks') && !req.url?.startsWith('/v1/customers'))
        return router(req, res);
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        if (!fake.handle(req, res, body)) sendError(res, new ApiError(404, 'not_found', 'no such resource'));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(5_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      // The API's 4xx answers the tests provoke are logged by the browser itself; anything else is the page's.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await store?.close();
    await cleanup?.();
  });

  it('is served open, with a CSP of its own origin only; its scripts and style come from the same listener', async () => {
    const r = await fetch(`${url}/console`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('content-security-policy')).toMatch(/^default-src 'self';/);
    const html = await r.text();
    for (const ref of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
      expect(ref[1]).toMatch(/^\/console\//);
      expect((await fetch(url + ref[1])).status, ref[1]).toBe(200);
    }
    // Anything else still needs the token.
    expect((await fetch(`${url}/console/nothing.js`)).status).toBe(401);
  });

  it('a wrong token returns to the sign-in form and says so', async () => {
    await page.goto(`${url}/console`);
    await page.getByLabel('Token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.locator('#login-error').textContent(), { timeout: 5_000 })
      .toContain('not accepted');
    expect(await page.locator('#login-view').isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });

  it('signed in: each customer live, calls/s against its limit and concurrent against its maximum', async () => {
    await signInToConsole(page, url, TOKEN);
    const row = page.locator('tr[data-customer="acme"]');
    await row.waitFor();
    await expect.poll(() => row.locator('td').nth(3).textContent()).toBe('block 3, limit 7');
    const first = await row.textContent();
    expect(first).toMatch(/\d\.\d \/ 10/);
    expect(first).toMatch(/\d+ \/ 100/);
    // Every second a new poll: the figures move (the fake's concurrency grows by one per poll).
    await expect.poll(() => row.textContent(), { timeout: 5_000 }).not.toBe(first);
    expect(fake.customerPolls).toBeGreaterThanOrEqual(2);
  });

  it('an invalid block: the API message beside the field it names, nothing added', async () => {
    const form = page.locator('#block-form');
    await form.getByLabel('Value').fill('not-a-number');
    await form.getByLabel('Reason').fill('robocalls');
    await form.getByRole('button', { name: 'Add block' }).click();
    await expect
      .poll(() => form.locator('.field-error[data-field="match"]').textContent())
      .toBe('not-a-number is not an E.164 number');
    expect(fake.blocks).toHaveLength(0);
  });

  it('adds a block through the form; its fields shown as text, never markup', async () => {
    const form = page.locator('#block-form');
    await form.getByLabel('Match').selectOption('calling');
    await form.getByLabel('Value').fill('+12025550100');
    await form.getByLabel('Action').selectOption('reject');
    await form.getByLabel('Reason').fill(REASON);
    await form.getByLabel('Ticket').fill(HOSTILE);
    await form.getByLabel('Expires').fill('2099-01-31T12:00');
    await form.getByRole('button', { name: 'Add block' }).click();
    const row = page.locator('tr[data-block="blk-1"]');
    await row.waitFor();
    expect(fake.blocks[0]).toMatchObject({
      match: { calling: '+12025550100' },
      action: 'reject',
      reason: REASON,
      ticket: HOSTILE,
      expires: new Date('2099-01-31T12:00').toISOString(),
    });
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 4)).toEqual(['calling +12025550100', 'reject', REASON, HOSTILE]);
    expect(cells[5]).toBe(OPERATOR);
    expect(await page.locator('#injected').count()).toBe(0);
    expect(await form.locator('.field-error[data-field="match"]').textContent()).toBe('');
  });

  it('traceback: a pasted Identity header shows its PASSporT and the call on record', async () => {
    const pane = page.locator('#traceback');
    await pane.getByLabel(/Identity header/).fill(`Identity: ${calls[0]!.identity}`);
    await pane.getByRole('button', { name: 'Trace' }).click();
    await pane.locator('#traceback-result h3').nth(1).waitFor();
    expect(await pane.locator('#traceback-result h3').nth(1).textContent()).toBe(
      '1 call on record: matched by the PASSporT itself (its digest)',
    );
    const passport = await pane.locator('#traceback-result table').first().textContent();
    expect(passport).toContain('0b3ad0e4-7e3c-4a4e-9a55-0c1b3f1e2d4c');
    const record = await pane.locator('#traceback-result table').nth(1).locator('tbody td').allTextContents();
    expect(record.slice(1, 7)).toEqual([
      'acme',
      'acme-east (originating)',
      '192.0.2.10:5060 udp',
      '+12025550100',
      '+12025550199',
      'A',
    ]);
    await screenshot(page, 'console-page');
  });

  it("traceback: text with no PASSporT in it shows the API's message", async () => {
    const pane = page.locator('#traceback');
    await pane.getByLabel(/Identity header/).fill('Identity: bm90IGpzb24.e30.c2ln;ppt=shaken');
    await pane.getByRole('button', { name: 'Trace' }).click();
    await expect.poll(() => pane.locator(':scope > .error').textContent()).toMatch(/\S/);
    expect(await pane.locator('#traceback-result').textContent()).toBe('');
  });

  it('Undo asks for a reason, removes the block at once and shows the removal', async () => {
    const row = page.locator('tr[data-block="blk-1"]');
    await row.getByRole('button', { name: 'Undo' }).click();
    // The list's own refresh (every 5 s) leaves an open Undo alone.
    const listings = fake.blockListings;
    await expect.poll(() => fake.blockListings, { timeout: 7_000 }).toBeGreaterThan(listings);
    await new Promise((r) => setTimeout(r, 100));
    await row.getByPlaceholder('reason (optional)').fill('false positive: hospital switchboard');
    await row.getByRole('button', { name: 'Remove' }).click();
    await row.waitFor({ state: 'detached' });
    expect(fake.blocks[0]!.removed).toMatchObject({ reason: 'false positive: hospital switchboard' });
    const removal = page.locator('#removed li[data-block="blk-1"]');
    expect(await removal.textContent()).toMatch(
      new RegExp(`^calling \\+12025550100 \\(reject\\) removed by ${OPERATOR} at .+: false positive`),
    );
  });

  it('signing out forgets the token; the page threw nothing', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    expect(await page.locator('#login-view').isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
