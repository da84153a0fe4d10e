// A real browser for the tests of `sluice ui` and its benchmark: Debian's chromium (dev/debian-packages.sh
// installs it when missing), driven by puppeteer-core, which downloads no browser of its own. Each browser gets
// a profile directory named sluice-browser-*, so CI can tell whether one was left running.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { access, constants } from 'node:fs/promises';
import puppeteer, { type Browser } from 'puppeteer-core';

const candidates = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The chromium executable: $SLUICE_CHROMIUM, else Debian's. */
export async function chromiumPath(): Promise<string> {
  for (const file of [process.env.SLUICE_CHROMIUM, ...candidates]) {
    if (
      file &&
      (await access(file, constants.X_OK).then(
        () => true,
        () => false,
      ))
    )
      return file;
  }
  throw new Error(
    `no chromium at ${candidates.join(' or ')}: run bash dev/debian-packages.sh (or set SLUICE_CHROMIUM)`,
  );
}

export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/** Starts a headless chromium with a fresh profile; close() stops it and removes the profile. */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(tmpdir(), 'sluice-browser-'));
  const browser = await puppeteer.launch({
    executablePath: await chromiumPath(),
    headless: true,
    userDataDir: profile,
    // Root in CI and containers has no user namespace sandbox; the pages are our own.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  return {
    browser,
    async close() {
      await browser.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
