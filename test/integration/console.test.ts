// The web console against a real element (issue 17 "Web console"): headless Chromium signs in with the
// element's admin token, adds a reject block on the calling number through the form, a SIPp call from the
// originating trunk is refused (403), the Undo button removes the block, and the next call goes through (200).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot, signInToConsole } from '../support/chromium.js';
import { type Element, signingElementYaml, startElement } from '../support/element.js';
import { freePort } from '../support/ports.js';
import {
  runSipp,
  type SippResult,
  type SippServer,
  scenarioPath,
  sippAvailable,
  startSippServer,
} from '../support/sipp.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP) console.warn('\n!!! SKIPPING test/integration/console.test.ts: no sipp binary on PATH\n');

/** The From user of sip-scenarios/basic/uac.xml and reject/uac.xml: one of the signing customer's numbers. */
const CALLER = '+12025550100';

const verdict = (r: SippResult) =>
  `exit ${r.exitCode}: ${r.successful} ok, ${r.failed} failed\n${r.errorLog ?? ''}${r.stderr.slice(-2000)}`;

describe.skipIf(!HAVE_SIPP)(
  'the web console on a real element: block, refused call, undo, call through',
  () => {
    let uas: SippServer;
    let element: Element;
    let browser: Browser;
    let page: Page;
    let blockId: string;
    const pageErrors: string[] = [];

    beforeAll(async () => {
      uas = await startSippServer({
        scenario: scenarioPath('basic/uas.xml'),
        transport: 'u1',
        calls: 1,
        timeoutS: 60,
      });
      await uas.ready;
      const admin = `admin: { listen: "127.0.0.1:${await freePort('tcp')}" }`;
      element = await startElement(signingElementYaml(uas.port, admin), { port: await freePort('both') });
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.setDefaultTimeout(5_000);
      page.on('pageerror', (e) => pageErrors.push(e.message));
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await uas?.stop();
      await element?.stop();
    });

    it('signs in with the token of the admin token file', async () => {
      const line = (await readFile(join(element.dataDir, 'admin-token'), 'utf8')).trim();
      await signInToConsole(page, element.app.adminUrl!, line.slice(line.indexOf(':') + 1));
      await page.locator('tr[data-customer="signing-customer"]').waitFor({ timeout: 5_000 });
    });

    it('a reject block on the calling number, added through the form: the next call is refused with 403', async () => {
      const form = page.locator('#block-form');
      await form.getByLabel('Match').selectOption('calling');
      await form.getByLabel('Value').fill(CALLER);
      await form.getByLabel('Action').selectOption('reject');
      await form.getByLabel('Reason').fill('console test: robocall campaign');
      await form.getByLabel('Ticket').fill('NOC-17');
      const added = page.waitForResponse(
        (r) => r.url().endsWith('/v1/blocks') && r.request().method() === 'POST',
      );
      await form.getByRole('button', { name: 'Add block' }).click();
      const answer = await added;
      expect(answer.status(), await answer.text()).toBe(201);
      blockId = ((await answer.json()) as { id: string }).id;
      await page.locator(`tr[data-block="${blockId}"]`).waitFor({ timeout: 5_000 });

      const refused = await runSipp({
        scenario: scenarioPath('reject/uac.xml'),
        remote: `127.0.0.1:${element.port}`,
        transport: 'u1',
        calls: 1,
        timeoutS: 20,
        keys: { status: '403' },
      });
      expect([refused.successful, refused.failed], verdict(refused)).toEqual([1, 0]);
      // The customer's refusals by cause, live in the customers pane.
      await expect
        .poll(() => page.locator('tr[data-customer="signing-customer"] td').nth(3).textContent(), {
          timeout: 5_000,
        })
        .toContain('block 1');
      await screenshot(page, 'console');
    });

    it('Undo with a reason removes the block at once; the next call goes through (200)', async () => {
      const row = page.locator(`tr[data-block="${blockId}"]`);
      await row.getByRole('button', { name: 'Undo' }).click();
      await row.getByPlaceholder('reason (optional)').fill('false positive');
      await row.getByRole('button', { name: 'Remove' }).click();
      await row.waitFor({ state: 'detached', timeout: 5_000 });
      expect(await page.locator(`#removed li[data-block="${blockId}"]`).textContent()).toMatch(
        /^calling \+12025550100 \(reject\) removed by \S+ at .+: false positive$/,
      );

      const through = await runSipp({
        scenario: scenarioPath('basic/uac.xml'),
        remote: `127.0.0.1:${element.port}`,
        transport: 'u1',
        calls: 1,
        timeoutS: 20,
      });
      expect([through.successful, through.failed], verdict(through)).toEqual([1, 0]);
      await screenshot(page, 'console-after-undo');
      expect(pageErrors).toEqual([]);
    });
  },
);
