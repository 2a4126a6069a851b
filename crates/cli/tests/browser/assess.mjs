// The `assay assess` report (a static file) in a real browser, on screen and printed:
//
//   node assess.mjs <assessment.html> <zh|en|both>
//
// Checks: a viewport meta; at 1280 and 390 px wide the page is no wider than the screen, every
// table scrolls in its own container, text stays legible; the hostile service name is text;
// the report is in the languages asked for; printed, the cover ends its page and the PDF has
// more than one page. Chromium comes from $ASSAY_CHROMIUM or /usr/bin/chromium.

import { check, withBrowser } from './lib.mjs';
import { pathToFileURL } from 'node:url';

const [file, lang] = process.argv.slice(2);
if (!file || !lang) {
  console.error('usage: node assess.mjs <assessment.html> <zh|en|both>');
  process.exit(2);
}
await withBrowser(120_000, async (browser) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(pathToFileURL(file).href);

  const meta = await page.evaluate(() =>
    document.querySelector('meta[name="viewport"]')?.getAttribute('content') || '');
  check(meta.includes('width=device-width'), `a viewport meta (${meta})`);
  const text = await page.evaluate(() => document.body.innerText);
  const inert = await page.evaluate(() => ({
    scripts: document.querySelectorAll('script').length,
    images: document.querySelectorAll('img').length,
    ran: window.__pwned !== undefined,
  }));
  check(inert.scripts === 0 && inert.images === 0 && !inert.ran && text.includes('<img src=x'),
    'the hostile service name is shown as text and runs nothing');
  const zh = text.includes('生成式人工智能服务安全评估报告') && text.includes('不符合');
  const en = text.includes('Generative AI service safety assessment') && text.includes('does not conform');
  check(zh === (lang !== 'en') && en === (lang !== 'zh'), `the report is in ${lang} (zh ${zh}, en ${en})`);

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

  await page.emulateMedia({ media: 'print' });
  const breakAfter = await page.evaluate(() => {
    const style = getComputedStyle(document.querySelector('.cover'));
    return style.breakAfter || style.pageBreakAfter;
  });
  check(breakAfter === 'page', `printed, the cover ends its page (${breakAfter})`);
  const pdf = await page.pdf({ format: 'A4' });
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  check(pages >= 2, `printed to PDF: ${pages} pages`);
});
