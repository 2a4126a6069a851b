// The board (`assay arena`'s /board page) in a real browser, at desktop and phone width:
//
//   node board.mjs <url of /board>
//
// Checks: a viewport meta and a policy that allows the page's own script by its hash; a table
// per language scope with every model; sorting by a column (click its header) orders the rows
// by the column's values, and again reverses them; "open weights only" hides the other models;
// the quality-against-compliance chart and its reading, and the history charts, are drawn; no
// error in the console; at 390×844 the page is no wider than the screen (tables scroll in
// their own container). Chromium comes from $ASSAY_CHROMIUM or /usr/bin/chromium.

import { check, withBrowser } from './lib.mjs';

const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node board.mjs <url of /board>');
  process.exit(2);
}
await withBrowser(120_000, async (browser) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  const response = await page.goto(url);
  check(response.status() === 200, `the board page loads (${response.status()})`);
  const policy = response.headers()['content-security-policy'] || '';
  check(/script-src 'sha256-[A-Za-z0-9+/=]+'/.test(policy), `its script is allowed by hash only (${policy})`);

  const meta = await page.evaluate(() =>
    document.querySelector('meta[name="viewport"]')?.getAttribute('content') || '');
  check(meta.includes('width=device-width'), `a viewport meta (${meta})`);

  const tables = await page.evaluate(() =>
    ['board-all', 'board-zh', 'board-en'].map((id) => document.getElementById(id)?.tBodies[0].rows.length || 0));
  check(tables.every((n) => n === 4), `a table per scope with the four models (${tables})`);

  // Sort the all-languages table by knowledge accuracy, twice.
  const column = await page.evaluate(() => {
    const th = [...document.querySelectorAll('#board-all th')].find((h) => h.textContent.includes('knowledge accuracy'));
    return th ? Number(th.getAttribute('data-col')) : -1;
  });
  check(column >= 3, `a knowledge accuracy column (${column})`);
  const values = () => page.evaluate((col) =>
    [...document.querySelectorAll('#board-all tbody tr')].map((r) => Number(r.cells[col].getAttribute('data-value'))), column);
  const header = `#board-all th[data-col="${column}"]`;
  await page.click(header);
  const down = await values();
  check(down.every((v, i) => i === 0 || down[i - 1] >= v), `sorted high to low (${down})`);
  check(await page.getAttribute(header, 'aria-sort') === 'descending', 'the header says so');
  await page.click(header);
  const up = await values();
  check(up.every((v, i) => i === 0 || up[i - 1] <= v), `and low to high (${up})`);

  await page.check('#only-open');
  const shown = await page.evaluate(() =>
    [...document.querySelectorAll('#board-all tbody tr')].filter((r) => !r.hidden).map((r) => r.getAttribute('data-access')));
  check(shown.length === 3 && shown.every((a) => a === 'open weights'), `open weights only (${shown})`);
  await page.uncheck('#only-open');

  const charts = await page.evaluate(() => ({
    scatter: document.querySelectorAll('figure[id^="scatter-all"] circle').length,
    reading: document.querySelector('figure[id^="scatter-all"] figcaption')?.textContent || '',
    history: document.querySelectorAll('figure.history polyline').length,
  }));
  check(charts.scatter >= 4, `the scatter has a point per model (${charts.scatter})`);
  check(/models/.test(charts.reading), `with a reading (${charts.reading})`);
  check(charts.history >= 4, `history lines are drawn (${charts.history})`);
  check(errors.length === 0, `no console errors (${errors.join(' | ')})`);

  for (const [width, height] of [[1280, 900], [390, 844]]) {
    await page.setViewportSize({ width, height });
    const widths = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      tables: [...document.querySelectorAll('table')]
        .filter((t) => !t.parentElement.classList.contains('scroll')).length,
      font: parseFloat(getComputedStyle(document.body).fontSize),
    }));
    check(widths.scroll <= width, `${width} px: no horizontal page scroll (page ${widths.scroll} px wide)`);
    check(widths.tables === 0, `${width} px: every table scrolls in its own container`);
    check(widths.font >= 12, `${width} px: legible text (${widths.font} px)`);
  }
});
