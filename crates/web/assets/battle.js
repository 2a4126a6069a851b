
(() => {
  'use strict';
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const sides = ['a', 'b'];
  const state = { battleId: null, busy: false, canVote: false, canContinue: true, over: false };

  function setStatus(text, kind) {
    const s = $('status');
    s.textContent = text;
    s.className = 'status' + (kind ? ' ' + kind : '');
  }
  function refresh() {
    for (const b of document.querySelectorAll('.vote button')) {
      b.disabled = !state.canVote || state.busy || state.over;
    }
    const closed = state.busy || state.over || !state.canContinue;
    $('send').disabled = closed;
    $('prompt').disabled = closed;
    $('new').disabled = state.busy;
  }
  function bubble(side, cls) {
    const d = document.createElement('div');
    d.className = 'msg ' + cls;
    $('chat-' + side).appendChild(d);
    d.scrollIntoView({ block: 'nearest' });
    return d;
  }
  async function errorText(res) {
    try {
      const body = await res.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch (_) { /* not JSON */ }
    return 'The server answered ' + res.status + '.';
  }
  async function readEvents(res, onEvent) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) name = line.slice(6).trim();
          else if (line.startsWith('data:')) data += (data ? '\n' : '') + line.slice(5).replace(/^ /, '');
        }
        if (data) onEvent(name, JSON.parse(data));
      }
    }
  }

  async function send(event) {
    if (event) event.preventDefault();
    const prompt = $('prompt').value;
    if (!prompt.trim() || state.busy || state.over || !state.canContinue) return;
    state.busy = true;
    state.canVote = false;
    refresh();
    setStatus('Both models are answering…');
    const added = [];
    const answers = {};
    for (const side of sides) {
      const u = bubble(side, 'user');
      u.textContent = prompt;
      answers[side] = bubble(side, 'assistant pending');
      added.push(u, answers[side]);
    }
    let res;
    try {
      res = await fetch('/api/chat', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify({ battle_id: state.battleId, prompt }),
      });
    } catch (e) {
      res = null;
    }
    if (!res || !res.ok) {
      for (const el of added) el.remove();
      state.busy = false;
      state.canVote = state.battleId !== null && $('chat-a').children.length > 0;
      refresh();
      setStatus(res ? await errorText(res) : 'The server cannot be reached.', 'error');
      return;
    }
    $('prompt').value = '';
    let ended = false;
    let failed = false;
    try {
      await readEvents(res, (name, data) => {
        if (name === 'battle') {
          state.battleId = data.battle_id;
        } else if (name === 'answer') {
          // The HTML was rendered from Markdown and sanitized by the server.
          answers[data.side].innerHTML = data.html;
        } else if (name === 'done') {
          answers[data.side].classList.remove('pending');
        } else if (name === 'failed') {
          failed = true;
          const el = answers[data.side];
          el.classList.remove('pending');
          el.classList.add('error');
          el.textContent = data.message;
        } else if (name === 'end') {
          ended = true;
          state.canVote = data.can_vote;
          state.canContinue = data.can_continue;
        }
      });
    } catch (e) {
      /* reported below */
    }
    state.busy = false;
    if (!ended) {
      state.canVote = false;
      state.over = true;
      setStatus('The connection was lost. Please start a new battle.', 'error');
    } else if (failed) {
      state.over = true;
      setStatus('A model failed, so this battle cannot be voted on. Start a new battle.', 'error');
    } else if (state.canContinue) {
      setStatus('Vote for the better answer, or keep chatting with both.');
    } else {
      setStatus('This battle is as long as it can get: please vote.');
    }
    for (const side of sides) answers[side].classList.remove('pending');
    refresh();
  }

  async function vote(winner) {
    if (!state.battleId || !state.canVote || state.busy || state.over) return;
    state.busy = true;
    refresh();
    let res;
    try {
      res = await fetch('/api/vote', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify({ battle_id: state.battleId, winner }),
      });
    } catch (e) {
      res = null;
    }
    state.busy = false;
    if (!res || !res.ok) {
      const message = res ? await errorText(res) : 'The server cannot be reached.';
      if (res && (res.status === 409 || res.status === 404)) state.over = true;
      refresh();
      setStatus(message, 'error');
      return;
    }
    const result = await res.json();
    state.over = true;
    state.canVote = false;
    // The vote stays visible: the chosen button is marked (pressed, a tick in its label) and
    // the status repeats it in words.
    let chosenLabel = '';
    for (const b of document.querySelectorAll('.vote button')) {
      const chosen = b.dataset.winner === winner;
      b.classList.toggle('chosen', chosen);
      b.setAttribute('aria-pressed', chosen ? 'true' : 'false');
      if (chosen) {
        chosenLabel = b.textContent;
        b.textContent = '✓ ' + b.textContent;
      }
    }
    for (const side of sides) {
      const h = $('name-' + side);
      h.textContent = 'Model ' + side.toUpperCase() + ': ' + result['model_' + side];
      h.classList.add('revealed');
    }
    let text = 'Your vote: ' + chosenLabel + '. Thanks! Start a new battle to keep going.';
    if (result.identity_leak) {
      text += ' (An answer named a model, so this vote is kept but not counted in the ratings.)';
    }
    setStatus(text, 'ok');
    refresh();
  }

  function newBattle() {
    if (state.busy) return;
    state.battleId = null;
    state.canVote = false;
    state.canContinue = true;
    state.over = false;
    for (const side of sides) {
      $('chat-' + side).replaceChildren();
      const h = $('name-' + side);
      h.textContent = 'Model ' + side.toUpperCase();
      h.classList.remove('revealed');
    }
    for (const b of document.querySelectorAll('.vote button')) {
      b.classList.remove('chosen');
      b.removeAttribute('aria-pressed');
      b.textContent = b.textContent.replace(/^✓ /, '');
    }
    setStatus('');
    refresh();
    $('prompt').focus();
  }

  $('ask').addEventListener('submit', send);
  $('prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) send(e);
  });
  for (const b of document.querySelectorAll('.vote button')) {
    b.addEventListener('click', () => vote(b.dataset.winner));
  }
  $('new').addEventListener('click', newBattle);
  refresh();
})();
