// The `assay screen` report (a static file) in a real browser, at desktop and phone width:
//
//   node screen.mjs <report.html> <marked text>
//
// Checks: a viewport meta; at 390×844 the page is no wider than the screen (tables scroll in
// their own container); the removed documents' hostile markup is text (no element from it,
// nothing run); the matched span is marked with <mark> holding exactly <marked text>.
// Chromium comes from $ASSAY_CHROMIUM or /usr/bin/chromium. Exits non-zero with a message on
// the first failed check.

import { check, withBrowser } from './lib.mjs';
import { pathToFileURL } from 'node:url';

const [file, marked] = process.argv.slice(2);
if (!file || !marked) {
  console.error('usage: node screen.mjs <report.html> <marked text>');
  process.exit(2);
}
await withBrowser(120_000, async (browser) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const dialogs = [];
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  await page.goto(pathToFileURL(file).href);

  const meta = await page.evaluate(() =>
    document.querySelector('meta[name="viewport"]')?.getAttribute('content') || '');
  check(meta.includes('width=device-width'), `a viewport meta (${meta})`);

  const inert = await page.evaluate(() => ({
    scripts: document.querySelectorAll('script').length,
    images: document.querySelectorAll('img').length,
    ran: window.__pwned !== undefined,
    marks: [...document.querySelectorAll('mark')].map((m) => m.textContent),
    shownMarkup: [...document.querySelectorAll('blockquote')]
      .some((b) => b.textContent.includes('<img src=x onerror=')),
  }));
  check(inert.scripts === 0 && inert.images === 0 && !inert.ran && dialogs.length === 0,
    'hostile markup in documents makes no element and runs nothing');
  check(inert.shownMarkup, 'hostile markup is shown as text');
  check(inert.marks.includes(marked), `the matched span is marked (${JSON.stringify(inert.marks)})`);

  for (const [width, height] of [[1280, 900], [390, 844]]) {
    await page.setViewportSize({ width, height });
    const widths = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      inner: window.innerWidth,
      tables: [...document.querySelectorAll('table')]
        .filter((t) => !t.parentElement.classList.contains('scroll')).length,
      font: parseFloat(getComputedStyle(document.body).fontSize),
    }));
    check(widths.scroll <= width,
      `${width} px: no horizontal page scroll (page ${widths.scroll} px wide)`);
    check(widths.tables === 0, `${width} px: every table scrolls in its own container`);
    check(widths.font >= 12, `${width} px: legible text (${widths.font} px)`);
  }
});
