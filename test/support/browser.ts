/**
 * Headless Chromium for the browser tests: Debian's `chromium` package, driven by
 * playwright-core (`npx playwright install` cannot download here). A missing
 * Chromium fails the tests with the fix; it never skips them.
 */

import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

const INSTALL_HINT =
  'The browser tests need Chromium and none was found on PATH (`command -v chromium` printed nothing). ' +
  'Install it with `apt-get install chromium` (Debian); `npx playwright install` cannot download here.';

/** The path `command -v chromium` prints, or an error that says how to install it. */
export function chromiumPath(): string {
  let path = '';
  try {
    path = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // `command -v` exits with status 1 when the name is not found.
  }
  if (!path) throw new Error(INSTALL_HINT);
  return path;
}

/** Launches headless Chromium. One browser per test file; one context per test. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  try {
    return await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
      ],
    });
  } catch (error) {
    throw new Error(`Chromium at ${executablePath} did not start (${error instanceof Error ? error.message : String(error)}). ${INSTALL_HINT}`, { cause: error });
  }
}
