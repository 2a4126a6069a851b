// What the browser test scripts share: headless Chromium ($ASSAY_CHROMIUM or /usr/bin/chromium),
// a watchdog, and checks that print "ok - …" or stop the script with "FAIL: …".

import { chromium } from 'playwright-core';

export function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log('ok - ' + message);
}

/** Runs `body(browser)`; exits 0, or 1 with a message on the first failed check or after `limitMs`. */
export async function withBrowser(limitMs, body) {
  const watchdog = setTimeout(() => {
    console.error(`FAIL: the browser test took longer than ${limitMs / 1000} s`);
    process.exit(1);
  }, limitMs);
  const browser = await chromium.launch({
    executablePath: process.env.ASSAY_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  let failed = false;
  try {
    await body(browser);
  } catch (e) {
    failed = true;
    console.error('FAIL: ' + e.message);
  } finally {
    clearTimeout(watchdog);
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
}
