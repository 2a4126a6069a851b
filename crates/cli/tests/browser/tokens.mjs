// The `assay tokens` report (a static file) in a real browser, at desktop and phone width:
//
//   node tokens.mjs <tokens.html> <tokenizer name>
//
// Checks: a viewport meta; a premium bar with its interval for the tokenizer, and the parity
// line; the example strips split into coloured tokens, with characters that take several
// tokens marked and titled; a hostile segment is text (no element from it, nothing run); at
// 390×844 the page is no wider than the screen (tables scroll in their own container).
// Chromium comes from $ASSAY_CHROMIUM or /usr/bin/chromium. Exits non-zero with a message on
// the first failed check.

import { check, withBrowser } from './lib.mjs';
import { pathToFileURL } from 'node:url';

const [file, name] = process.argv.slice(2);
if (!file || !name) {
  console.error('usage: node tokens.mjs <tokens.html> <tokenizer name>');
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

  const charts = await page.evaluate((name) => {
    const rows = [...document.querySelectorAll('.row')]
      .filter((r) => r.textContent.includes(name));
    const svg = rows[0]?.querySelector('svg');
    return {
      rows: rows.length,
      bar: Number(svg?.querySelector('rect.bar')?.getAttribute('width') || 0),
      interval: svg?.querySelectorAll('line.ci').length || 0,
      parity: svg?.querySelectorAll('line.parity').length || 0,
      label: svg?.getAttribute('aria-label') || '',
    };
  }, name);
  check(charts.rows >= 2 && charts.bar > 0, `${name}: premium and Han bars drawn (${JSON.stringify(charts)})`);
  check(charts.interval === 3 && charts.parity === 1, `${name}: the interval and parity are drawn`);
  check(/\d\.\d\d \[\d\.\d\d, \d\.\d\d\]/.test(charts.label), `the bar says its value and interval (${charts.label})`);

  const strips = await page.evaluate(() => {
    const spans = [...document.querySelectorAll('.strip span.a, .strip span.b')];
    const multi = [...document.querySelectorAll('.strip span.multi')];
    return {
      tokens: spans.length,
      multi: multi.length,
      titled: multi.every((m) => /^\d+ tokens$/.test(m.getAttribute('title') || '')),
      scripts: document.querySelectorAll('script').length,
      images: document.querySelectorAll('img').length,
      ran: window.__pwned !== undefined,
      shown: [...document.querySelectorAll('.strip')].some((s) => s.textContent.includes('<img')),
    };
  });
  check(strips.tokens > 20, `the strips show tokens (${strips.tokens})`);
  check(strips.multi > 0 && strips.titled, `characters split into several tokens are marked (${strips.multi})`);
  check(strips.scripts === 0 && strips.images === 0 && !strips.ran && dialogs.length === 0,
    'hostile text makes no element and runs nothing');
  check(strips.shown, 'hostile text is shown as text');

  for (const [width, height] of [[1280, 900], [390, 844]]) {
    await page.setViewportSize({ width, height });
    const widths = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
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
