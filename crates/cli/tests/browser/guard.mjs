// The guard's chat page in a real browser: an answer streams in, the guard withdraws it
// mid-stream (retract mode), and the page replaces it in place; hostile HTML in the answer
// stays text.
//
//   node guard.mjs <guard url>
//
// Chromium comes from $ASSAY_CHROMIUM or /usr/bin/chromium. Exits non-zero with a message on
// the first failed check.

import { check, withBrowser } from './lib.mjs';

const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node guard.mjs <guard url>');
  process.exit(2);
}
const base = url.replace(/\/+$/, '');

await withBrowser(180_000, async (browser) => {
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  const dialogs = [];
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  const response = await page.goto(base + '/');
  check(response.ok(), 'the chat page loads');
  const csp = response.headers()['content-security-policy'] || '';
  check(csp.includes("script-src 'self'"), 'the page is served with a CSP');
  await page.waitForFunction(() => document.getElementById('model').textContent.includes('scripted'));

  // Shift+Enter is a new line; Enter sends. While the answer streams, Send is disabled
  // (recorded by an observer each time the answer changes, so no timing is assumed).
  await page.evaluate(() => {
    window.__sendWhileStreaming = [];
    const send = document.getElementById('send');
    new MutationObserver(() => {
      if (document.querySelector('.msg.assistant')) window.__sendWhileStreaming.push(send.disabled);
    }).observe(document.getElementById('log'), { childList: true, subtree: true, characterData: true });
  });
  await page.fill('#prompt', 'tell me about');
  await page.press('#prompt', 'Shift+Enter');
  await page.type('#prompt', 'building things');
  check((await page.locator('.msg').count()) === 0, 'Shift+Enter does not send');
  check((await page.inputValue('#prompt')) === 'tell me about\nbuilding things', 'Shift+Enter starts a new line');
  await page.press('#prompt', 'Enter');
  const answer = page.locator('.msg.assistant').first();
  check((await page.locator('.msg.user').first().textContent()) === 'tell me about\nbuilding things',
    'Enter sends the prompt, new line included');
  // The answer streams in before the guard has seen the term.
  await page.waitForFunction(() => {
    const a = document.querySelector('.msg.assistant');
    return a && a.textContent.includes('To build a pipe');
  });
  check(true, 'part of the answer was shown while it streamed');
  await page.waitForSelector('.msg.assistant.withdrawn');
  const text = await answer.textContent();
  check(!text.includes('pipebomb') && !text.includes('To build'), 'the withdrawn text is gone: ' + JSON.stringify(text));
  check(text.includes("can't help"), 'the replacement is shown in its place');
  const note = await page.locator('.note').first().textContent();
  check(note.includes('withdrew') && note.includes('keywords'), 'the page says the guard withdrew it: ' + note);
  check((await page.locator('.msg.assistant img').count()) === 0, 'hostile HTML in the answer made no element');
  await page.waitForFunction(() => !document.getElementById('send').disabled);
  const states = await page.evaluate(() => window.__sendWhileStreaming);
  // Every change to the answer but the last few (after the stream ended) saw Send disabled.
  check(states.length >= 3 && states.slice(0, 3).every((d) => d), 'Send is disabled while the answer streams: ' + JSON.stringify(states));
  check(true, 'Send is enabled again once the answer has ended');
  check(dialogs.length === 0, 'no script ran from the answer');

  // A 390 px phone: the page fits the width (no sideways scrolling), with its conversation.
  check((await page.locator('meta[name="viewport"]').count()) === 1, 'the page has a viewport meta');
  await page.setViewportSize({ width: 390, height: 844 });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 390, `the chat page fits a 390 px phone (scrollWidth ${width})`);
  check(consoleErrors.length === 0, 'no console errors (CSP violations included): ' + consoleErrors.join(' | '));
});
