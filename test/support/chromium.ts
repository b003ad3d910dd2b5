// Headless Chromium for the web console's tests (Debian's `chromium`, driven by playwright-core). Never skipped:
// without the browser the tests fail, saying where it comes from.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ROOT } from './binary.js';

export const CHROMIUM = '/usr/bin/chromium';

/** Where the browser tests leave their screenshots (git-ignored). */
export const TEST_OUTPUT = join(ROOT, 'test-results');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the web console's browser tests need Debian's chromium (.ci/run installs it: apt-get install chromium)`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: 20_000 });
}

/** A screenshot of the whole page into test-results/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(TEST_OUTPUT, { recursive: true });
  const path = join(TEST_OUTPUT, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Opens `<adminUrl>/console` and signs in with `token`; resolves once the console's panes show. */
export async function signInToConsole(page: Page, adminUrl: string, token: string): Promise<void> {
  await page.goto(`${adminUrl}/console`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#console-view').waitFor({ state: 'visible' });
}
