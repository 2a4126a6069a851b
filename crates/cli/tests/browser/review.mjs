// `assay review` in a real browser, in two phases around a restart of the server:
//
//   node review.mjs <review url> first    label three answers by keyboard (one with a note),
//                                         skip one, undo twice (u, Backspace), relabel, reload
//   node review.mjs <review url> second   resume after the restart, label the rest on a
//                                         390 px wide screen by button and key, the done
//                                         screen, undo from it
//
// The sample has 6 answers, some of them hostile HTML (`<img onerror>`, `<script>`): every
// answer shown must be text, run nothing, and make no dialog. Prints "hostile answers shown: N".
// Chromium comes from $ASSAY_CHROMIUM or /usr/bin/chromium. Exits non-zero with a message on
// the first failed check.

import { check, withBrowser } from './lib.mjs';

const [url, phase] = process.argv.slice(2);
if (!url || !['first', 'second'].includes(phase)) {
  console.error('usage: node review.mjs <review url> first|second');
  process.exit(2);
}
const base = url.replace(/\/+$/, '');
const TOTAL = 6;

await withBrowser(180_000, async (browser) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const dialogs = [];
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  const consoleErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(String(err)));

  let hostileShown = 0;
  const seen = new Set();
  // The answer on screen is text: no element from it, nothing run; counts hostile ones.
  async function checkInert() {
    const shown = await page.evaluate(() => ({
      where: document.getElementById('where').textContent,
      text: document.getElementById('response').textContent,
      elements: document.querySelectorAll('#response *, #prompt *').length,
      pwned: window.__pwned,
      scripts: document.querySelectorAll('script').length,
      images: document.querySelectorAll('img').length,
    }));
    check(shown.elements === 0 && shown.images === 0 && shown.scripts === 1,
      `answer "${shown.where}" is shown as text (no element made from it)`);
    check(shown.pwned === undefined && dialogs.length === 0, 'nothing in an answer ran');
    if (shown.text.includes('<img src=x onerror=') && !seen.has(shown.where)) {
      seen.add(shown.where);
      hostileShown += 1;
      check(shown.text.includes('<script>window.__pwned=2</script>'), 'hostile markup is shown verbatim');
    }
  }

  async function progress(n) {
    await page.waitForFunction(
      (text) => document.getElementById('progress').textContent === text,
      `${n} / ${TOTAL} labelled`,
    );
  }

  async function at(position) {
    await page.waitForFunction(
      (text) => !document.getElementById('item').hidden
        && document.getElementById('where').textContent.endsWith(text),
      `· ${position} of ${TOTAL}`,
    );
    await checkInert();
  }

  async function noSideScroll(what) {
    const widths = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      inner: window.innerWidth,
      buttons: [...document.querySelectorAll('button')]
        .filter((b) => b.offsetParent !== null)
        .map((b) => b.getBoundingClientRect().right),
    }));
    check(widths.scroll <= widths.inner && widths.buttons.every((r) => r <= widths.inner),
      `${what}: no horizontal scroll at ${widths.inner} px (page ${widths.scroll} px wide)`);
  }

  const first = await page.goto(base + '/');
  check(first.status() === 200, 'the review page loads');
  const csp = first.headers()['content-security-policy'] || '';
  check(/script-src 'nonce-[0-9a-f]+'/.test(csp) && !csp.includes('unsafe-inline'),
    'the page has a strict nonce-based Content-Security-Policy');
  const source = await first.text();
  check(!/<script[^>]+src=|<link[^>]+href=|https?:\/\//.test(source),
    'the page loads nothing from elsewhere');

  if (phase === 'first') {
    await progress(0);
    await at(1);
    await page.keyboard.press('3');
    await progress(1);
    await at(2);
    await page.keyboard.press('1');
    await progress(2);
    await at(3);
    await page.keyboard.press('n');
    check(await page.locator('#note').isVisible(), 'n opens the note box');
    check(await page.locator('#note').inputValue() === '', 'the n typed to open it is not in the note');
    await page.fill('#note', 'kept after undo 注释');
    await page.press('#note', 'Enter');
    check((await page.locator('#note-shown').innerText()).includes('kept after undo 注释'),
      'Enter keeps the note, shown with the answer');
    await page.keyboard.press('2');
    await progress(3);
    await at(4);
    await page.keyboard.press('s');
    await progress(4);
    await at(5);
    // Undo: u takes back the skip, Backspace the label with the note; each shows its answer again.
    await page.keyboard.press('u');
    await progress(3);
    await at(4);
    check((await page.locator('#status').innerText()).includes('skip'), 'undo says what it took back');
    await page.keyboard.press('Backspace');
    await progress(2);
    await at(3);
    check((await page.locator('#note-shown').innerText()).includes('kept after undo 注释'),
      'undo offers the note again');
    await page.keyboard.press('2');
    await progress(3);
    await at(4);
    // A reload resumes at the first answer not labelled.
    await page.reload();
    await progress(3);
    await at(4);
    check(await page.locator('#note-shown').isHidden(), 'a new answer starts without a note');
  } else {
    // After a restart of `assay review` with the same seed and sample size.
    await progress(3);
    await at(4);
    await page.setViewportSize({ width: 390, height: 844 });
    await noSideScroll('a phone');
    await page.click('button[data-label="skip"]');
    await progress(4);
    await at(5);
    await noSideScroll('a phone');
    await page.keyboard.press('3');
    await progress(5);
    await at(6);
    await page.click('button[data-label="comply"]');
    await progress(6);
    await page.waitForFunction(() => !document.getElementById('done').hidden);
    check(await page.locator('#item').isHidden(), 'the done screen replaces the answer');
    const counts = await page.locator('#counts').innerText();
    check(/comply\s+2/.test(counts) && /partial\s+1/.test(counts) && /refuse\s+2/.test(counts)
      && /skip\s+1/.test(counts), `the done screen counts the labels (${counts.replace(/\s+/g, ' ')})`);
    await noSideScroll('the done screen on a phone');
    // Undo works from the done screen too.
    await page.keyboard.press('u');
    await progress(5);
    await at(6);
    await page.keyboard.press('1');
    await progress(6);
    await page.waitForFunction(() => !document.getElementById('done').hidden);
  }
  check(dialogs.length === 0, 'no dialog was opened');
  check(consoleErrors.length === 0, `no errors in the console (${consoleErrors.join(' | ')})`);
  console.log(`hostile answers shown: ${hostileShown}`);
});
