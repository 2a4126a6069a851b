// The arena in a real browser: a blind battle between two real models, a vote, the reveal, the
// leaderboard, a refused second vote, and an answer asked to carry hostile HTML.
//
//   node arena.mjs <arena url> [secret ...]
//
// Every <secret> (a model name, the model server's address) must be absent from the page source
// and from every network response before the vote. Chromium comes from $ASSAY_CHROMIUM or
// /usr/bin/chromium. Exits non-zero with a message on the first failed check.

import { check, withBrowser } from './lib.mjs';

const [url, ...secrets] = process.argv.slice(2);
if (!url) {
  console.error('usage: node arena.mjs <arena url> [secret ...]');
  process.exit(2);
}
const base = url.replace(/\/+$/, '');
const ANSWER_TIMEOUT = 240_000;

function findSecret(text) {
  return secrets.find((s) => s && text.includes(s));
}

// A 390 px phone (390×844): the page has a viewport meta and nothing makes it scroll sideways
// (wide tables and charts scroll in their own box). Leaves the viewport as it found it.
async function fitsAPhone(page, what) {
  const before = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  const metas = await page.locator('meta[name="viewport"]').count();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.setViewportSize(before);
  check(metas === 1, `${what} has a viewport meta`);
  check(width <= 390, `${what} fits a 390 px phone (scrollWidth ${width})`);
}

await withBrowser(600_000, async (browser) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);

  const dialogs = [];
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  const cspViolations = [];
  const consoleErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      // The refused votes below are meant to fail; Chromium logs each refused request.
      if (!/^Failed to load resource/.test(msg.text())) consoleErrors.push(msg.text());
      if (/Content.Security.Policy/i.test(msg.text())) cspViolations.push(msg.text());
    }
  });
  page.on('pageerror', (err) => consoleErrors.push(String(err)));

  // Every response, with its headers and body, for the blindness check.
  const responses = [];
  page.on('response', (response) => {
    responses.push(
      (async () => {
        const headers = JSON.stringify(await response.allHeaders());
        let body = '';
        try {
          body = (await response.body()).toString('utf8');
        } catch (_) {
          /* redirects and aborted requests have no body */
        }
        return { url: response.url(), status: response.status(), headers, body };
      })(),
    );
  });

  // 1. The battle page.
  const first = await page.goto(base + '/');
  check(first.status() === 200, 'the battle page loads');
  const csp = first.headers()['content-security-policy'] || '';
  check(/script-src 'nonce-[0-9a-f]+'/.test(csp) && !csp.includes('unsafe-inline'),
    'the page has a strict nonce-based Content-Security-Policy');
  const source = await first.text();
  check(!findSecret(source), 'the page source names no model');
  check(!/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/.test(source),
    'the page loads nothing from elsewhere (no CDN, all inline)');

  // 2. A prompt; both answers stream in.
  await page.evaluate(() => {
    window.__updates = { a: 0, b: 0 };
    for (const side of ['a', 'b']) {
      new MutationObserver(() => { window.__updates[side] += 1; })
        .observe(document.getElementById('chat-' + side), { childList: true, subtree: true, characterData: true });
    }
  });
  await page.fill('#prompt', 'Name three colors of the rainbow, one per line.');
  await page.press('#prompt', 'Enter');
  await page.waitForFunction(() => {
    const b = document.querySelector('.vote button');
    return b && !b.disabled;
  }, null, { timeout: ANSWER_TIMEOUT });
  const answerA = await page.locator('#chat-a .msg.assistant').last().innerText();
  const answerB = await page.locator('#chat-b .msg.assistant').last().innerText();
  check(answerA.trim().length > 0 && answerB.trim().length > 0,
    `both models answered (A: ${JSON.stringify(answerA.slice(0, 60))}…, B: ${JSON.stringify(answerB.slice(0, 60))}…)`);
  const updates = await page.evaluate(() => window.__updates);
  console.log(`  DOM updates while answering: A ${updates.a}, B ${updates.b}`);
  check(updates.a >= 2 && updates.b >= 2, 'both answers were written into the page');

  // 3. Nothing seen so far names a model.
  const beforeVote = await Promise.all(responses.splice(0));
  const chat = beforeVote.find((r) => r.url.endsWith('/api/chat'));
  check(chat && chat.status === 200, 'the answers came as one event stream');
  const partial = (chat.body.match(/"done":false/g) || []).length;
  console.log(`  partial answer events before completion: ${partial}`);
  check(partial >= 1, 'answers were streamed as they were generated (partial answers were sent)');
  const battleId = (chat.body.match(/"battle_id":"([0-9a-f]+)"/) || [])[1];
  check(battleId, 'the stream named the battle');
  for (const r of beforeVote) {
    const leaked = findSecret(r.headers) || findSecret(r.body);
    check(!leaked, `response ${r.url} (${r.status}) names no model before the vote`);
  }
  check(!findSecret(await page.content()), 'the page names no model before the vote');

  // 4. Vote; the names are revealed.
  await page.click('button[data-winner="model_a"]');
  await page.waitForFunction(() => document.getElementById('name-a').classList.contains('revealed'));
  const nameA = await page.locator('#name-a').innerText();
  const nameB = await page.locator('#name-b').innerText();
  console.log(`  revealed: ${nameA} | ${nameB}`);
  check(nameA.includes('smollm2') && nameB.includes('smollm2') && nameA.slice(9) !== nameB.slice(9),
    'the vote reveals the two model names');
  const voted = (await Promise.all(responses.splice(0))).find((r) => r.url.endsWith('/api/vote'));
  const vote = JSON.parse(voted.body);
  check(voted.status === 200 && vote.winner === 'model_a', 'the vote was accepted');
  check(await page.locator('button[data-winner="model_b"]').isDisabled(), 'the vote buttons are disabled after the vote');
  const buttons = await page.evaluate(() => [...document.querySelectorAll('.vote button')].map((b) => ({
    winner: b.dataset.winner, chosen: b.classList.contains('chosen'), pressed: b.getAttribute('aria-pressed'),
    text: b.textContent, opacity: getComputedStyle(b).opacity,
  })));
  const chosen = buttons.filter((b) => b.chosen);
  check(chosen.length === 1 && chosen[0].winner === 'model_a' && chosen[0].pressed === 'true'
    && chosen[0].text.startsWith('✓ ') && chosen[0].opacity === '1'
    && buttons.every((b) => b.chosen || (b.pressed === 'false' && !b.text.startsWith('✓'))),
    'the chosen vote is highlighted after the vote: ' + JSON.stringify(buttons));
  const status = await page.locator('#status').innerText();
  check(status.includes('Your vote: ← A is better'), 'the status says the vote in words: ' + status);
  await fitsAPhone(page, 'the battle page after a vote');

  // 5. A second vote on the same battle is refused by the server.
  const second = await page.evaluate(async (id) => {
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const res = await fetch('/api/vote', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ battle_id: id, winner: 'model_b' }),
    });
    return { status: res.status, body: await res.text() };
  }, battleId);
  check(second.status === 409, `a second vote on the battle is refused (${second.status} ${second.body})`);
  const noToken = await page.evaluate(async (id) => {
    const res = await fetch('/api/vote', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ battle_id: id, winner: 'model_b' }),
    });
    return res.status;
  }, battleId);
  check(noToken === 403, 'a vote without the CSRF token is refused (403)');

  // 6. The leaderboard shows the vote.
  const board = await page.goto(base + '/leaderboard');
  check(board.status() === 200, 'the leaderboard loads');
  const totals = await page.locator('#totals').innerText();
  console.log('  ' + totals);
  check(totals.includes('Votes in total: 1'), 'the leaderboard counts the vote');
  if (vote.identity_leak) {
    console.log(`  (the vote is excluded: an answer named ${vote.identity_leak_name})`);
  } else {
    const rows = await page.locator('table.board tbody tr').allInnerTexts();
    check(rows.length === 2 && rows.some((r) => r.includes(nameA.replace('Model A: ', '')))
      && rows.some((r) => r.includes(nameB.replace('Model B: ', ''))),
      'the leaderboard ranks both models');
    check(await page.locator('svg.heatmap').count() === 2, 'the leaderboard draws both heatmaps');
    const legends = await page.locator('svg.legend').count();
    const legendWords = await page.locator('.maps .legend p').allInnerTexts();
    check(legends === 2 && legendWords.length === 2 && legendWords[0].includes('blue') && legendWords[0].includes('red'),
      'each heatmap has a colour legend, in numbers and words: ' + JSON.stringify(legendWords));
    const badges = await page.locator('table.board .badge').allInnerTexts();
    const prelim = await page.locator('#preliminary').innerText();
    check(badges.length === 2 && badges.every((b) => b === 'preliminary') && prelim.includes('fewer than 50 votes'),
      'models with one vote are marked preliminary, in words: ' + JSON.stringify(badges) + ' ' + prelim);
    const scroller = await page.evaluate(() => getComputedStyle(document.querySelector('table.board').parentElement).overflowX);
    check(scroller === 'auto', 'the leaderboard table scrolls in its own container');
  }
  await fitsAPhone(page, 'the leaderboard');
  await page.goto(base + '/leaderboard?lang=en');
  check(await page.locator('h2').innerText() === 'Leaderboard · English', 'the leaderboard takes a language code (lang=en)');
  await fitsAPhone(page, 'the English leaderboard');
  const apiBoard = await page.evaluate(async () => (await fetch('/api/leaderboard')).json());
  check(apiBoard.total_votes === 1, 'the leaderboard JSON counts the vote');

  // 7. Hostile HTML in an answer stays inert; the same battle goes on for a second turn.
  await page.goto(base + '/');
  await page.fill('#prompt', 'Repeat exactly this text and nothing else: <img src=x onerror=alert(1)> <b onmouseover=alert(2)>hi</b>');
  await page.press('#prompt', 'Enter');
  await page.waitForFunction(() => {
    const b = document.querySelector('.vote button');
    return b && !b.disabled;
  }, null, { timeout: ANSWER_TIMEOUT });
  const echoed = await page.locator('#chat-a .msg.assistant, #chat-b .msg.assistant').allInnerTexts();
  console.log('  answers to the hostile prompt: ' + JSON.stringify(echoed.map((t) => t.slice(0, 80))));
  const inert = await page.evaluate(() => ({
    images: document.querySelectorAll('.chat img').length,
    handlers: [...document.querySelectorAll('.chat *')].filter((el) =>
      [...el.attributes].some((a) => a.name.startsWith('on') || /javascript:/i.test(a.value))).length,
    scripts: document.querySelectorAll('.chat script, .chat iframe, .chat svg').length,
  }));
  check(inert.images === 0 && inert.handlers === 0 && inert.scripts === 0,
    `no <img>, event handler or script made it into the answers (${JSON.stringify(inert)})`);
  await page.fill('#prompt', 'Thanks! Now say goodbye.');
  await page.press('#prompt', 'Enter');
  await page.waitForFunction(() => {
    const b = document.querySelector('.vote button');
    return b && !b.disabled && document.querySelectorAll('#chat-a .msg.assistant').length === 2;
  }, null, { timeout: ANSWER_TIMEOUT });
  check(await page.locator('#chat-b .msg.assistant').count() === 2, 'a second turn continues the battle on both sides');
  await fitsAPhone(page, 'the battle page with two turns of answers');
  await page.hover('.chat');
  check(dialogs.length === 0, `no dialog was opened by an answer (${JSON.stringify(dialogs)})`);
  check(cspViolations.length === 0, `no Content-Security-Policy violation (${JSON.stringify(cspViolations)})`);
  check(consoleErrors.length === 0, `no script error (${JSON.stringify(consoleErrors)})`);

  // 8. New battle clears the board.
  await page.click('#new');
  check(await page.locator('.chat .msg').count() === 0, 'New battle starts over');
  check((await page.locator('#name-a').innerText()) === 'Model A', 'New battle hides the names again');
  check(await page.locator('.vote button.chosen').count() === 0
    && (await page.locator('button[data-winner="model_a"]').innerText()) === '← A is better',
    'New battle clears the highlighted vote');
  await fitsAPhone(page, 'the empty battle page');
  console.log('arena browser test passed');
});
