// The audit's report pages in a real browser (run by crates/cli/tests/review_browser.rs):
//
//   node report.mjs <report.html> <compare.html>
//
// Both pages, opened from file:// as a user would, on a 390 × 844 phone screen: a viewport meta,
// no horizontal scrolling of the page (wide tables scroll in their own box), no dialog and no
// script from the answers. On report.html at desktop width the filters work: the matrix's
// "failures only" and "different outputs" views and its regular-expression search (an invalid
// one says so), and the answers table's "failures only". Exits non-zero with a message on the
// first failed check. Chromium comes from $ASSAY_CHROMIUM or /usr/bin/chromium.

import { check, withBrowser } from './lib.mjs';
import { pathToFileURL } from 'node:url';

const [report, compare] = process.argv.slice(2);
if (!report || !compare) {
  console.error('usage: node report.mjs <report.html> <compare.html>');
  process.exit(2);
}
await withBrowser(180_000, async (browser) => {
  for (const [name, path] of [['report.html', report], ['compare.html', compare]]) {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    let dialogs = 0;
    page.on('dialog', (d) => { dialogs++; d.dismiss(); });
    await page.goto(pathToFileURL(path).href);
    const viewport = await page.locator('meta[name="viewport"]').count();
    check(viewport === 1, `${name} has a viewport meta`);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 390, `${name} fits a 390 px screen (page width ${width})`);
    const smallest = await page.evaluate(() =>
      Math.min(...[...document.querySelectorAll('.chart svg text')].map((t) => t.getBoundingClientRect().height).filter((h) => h > 0)));
    check(!Number.isFinite(smallest) || smallest >= 10, `${name}'s charts keep legible text (smallest ${smallest} px)`);
    const pwned = await page.evaluate(() => window.__pwned);
    check(pwned === undefined && dialogs === 0, `${name} runs nothing from the answers`);
    await page.close();
  }

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(pathToFileURL(report).href);
  const visible = (selector) =>
    page.evaluate((s) => [...document.querySelectorAll(s)].filter((r) => !r.hidden).length, selector);
  const rows = '#matrix-table tbody tr';
  const all = await visible(rows);
  const failing = await page.locator(`${rows}[data-fail="true"]`).count();
  const differing = await page.locator(`${rows}[data-diff="true"]`).count();
  check(all > 0 && failing > 0, `the matrix has ${all} questions, ${failing} with a failure`);
  await page.check('#x-fail');
  check((await visible(rows)) === failing, 'the matrix shows failures only');
  await page.uncheck('#x-fail');
  await page.check('#x-diff');
  check((await visible(rows)) === differing, 'the matrix shows different outputs only');
  await page.uncheck('#x-diff');
  await page.fill('#x-q', 'should-refuse-0+1');
  await page.waitForTimeout(400);
  const matched = await visible(rows);
  check(matched > 0 && matched < all, `a regular expression picks ${matched} of ${all} questions`);
  await page.fill('#x-q', '(');
  await page.waitForTimeout(400);
  check((await page.textContent('#x-count')).includes('not a regular expression'), 'an invalid regular expression says so');
  await page.fill('#x-q', '');
  await page.waitForTimeout(400);
  check((await visible(rows)) === all, 'clearing the search shows every question');

  const answers = '#answers-table tbody tr';
  const answerCount = await visible(answers);
  const answerFails = await page.locator(`${answers}[data-v="fail"]`).count();
  await page.check('#f-fail');
  check((await visible(answers)) === answerFails && answerFails > 0, `the answers show failures only (${answerFails})`);
  check((await page.textContent('#f-count')).startsWith(`${answerFails} of ${answerCount}`), 'the count says how many are shown');
  const words = await page.locator(`${answers}[data-v="fail"] .vd.fail`).first().textContent();
  check(words.includes('not met'), 'a failure says so in words, not colour alone');
});
