// The review page: fetches the state, shows the answer to label (always as text: answers are
// model output and may hold markup), and sends labels, notes and undos.
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  let state = null;
  let busy = false;
  let note = '';

  function status(text, error) {
    $('status').textContent = text;
    $('status').className = error ? 'status error' : 'status';
  }

  function showNote() {
    $('note-shown').hidden = note === '';
    $('note-shown').textContent = note === '' ? '' : 'Note: ' + note;
  }

  function render(next) {
    const previous = state && state.current ? state.current.answer_id : null;
    state = next;
    $('progress').textContent = `${state.labelled} / ${state.total} labelled`;
    $('bar').value = state.labelled;
    $('bar').max = state.total;
    const c = state.current;
    $('item').hidden = !c;
    $('done').hidden = !!c;
    if (state.undone && c && state.undone.answer_id === c.answer_id) {
      note = state.undone.note || '';
      status(`Took back “${state.undone.label}”: label answer ${state.position} again.`);
    } else if (!c || c.answer_id !== previous) {
      note = '';
    }
    closeNote();
    showNote();
    if (c) {
      $('model').textContent = c.model;
      $('lang').textContent = c.lang;
      $('where').textContent = `${c.suite}/${c.item_id} · sample ${c.sample} · ${state.position} of ${state.total}`;
      $('grader').textContent = c.grader_label;
      $('rule').textContent = c.confidence === null || c.confidence === undefined
        ? c.grader_rule : `${c.grader_rule} · confidence ${c.confidence.toFixed(2)}`;
      $('uncertain').hidden = !c.uncertain;
      $('prompt').textContent = c.prompt;
      $('response').textContent = c.response;
      $('response').scrollTop = 0;
    } else {
      const rows = $('counts');
      rows.replaceChildren();
      for (const label of ['comply', 'partial', 'refuse', 'skip']) {
        const tr = document.createElement('tr');
        const name = document.createElement('td');
        name.textContent = label;
        const n = document.createElement('td');
        n.className = 'num';
        n.textContent = String(state.counts[label]);
        tr.append(name, n);
        rows.append(tr);
      }
      const judged = state.labelled - state.counts.skip;
      $('agree').textContent = `The grader gave your label to ${state.agree} of the ${judged} answers you labelled (skips left out).`;
    }
    $('undo-button').disabled = !state.can_undo;
    $('undo-done').disabled = !state.can_undo;
  }

  async function call(method, path, body) {
    if (busy) return;
    busy = true;
    try {
      const options = { method, headers: {} };
      if (body !== undefined) {
        options.headers['Content-Type'] = 'application/json';
        options.body = JSON.stringify(body);
      }
      const res = await fetch(path, options);
      const data = await res.json().catch(() => null);
      if (!res.ok) {
        const message = data && data.error ? data.error.message : `${res.status} ${res.statusText}`;
        status(message, true);
        return;
      }
      if (method === 'POST') status('');
      render(data);
    } catch (e) {
      status('The server cannot be reached: ' + e.message, true);
    } finally {
      busy = false;
    }
  }

  function give(label) {
    if (!state || !state.current) return;
    const body = { answer_id: state.current.answer_id, label };
    if (note !== '') body.note = note;
    call('POST', '/api/label', body);
  }

  function undo() {
    if (state && state.can_undo) call('POST', '/api/undo', {});
  }

  function openNote() {
    if (!state || !state.current) return;
    $('note-form').hidden = false;
    $('note').value = note;
    $('note').focus();
  }

  function closeNote() {
    $('note-form').hidden = true;
    if (document.activeElement === $('note')) $('note').blur();
  }

  $('note-form').addEventListener('submit', (e) => {
    e.preventDefault();
    note = $('note').value.trim();
    closeNote();
    showNote();
  });

  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target === $('note')) {
      if (e.key === 'Escape') {
        e.preventDefault();
        closeNote();
      }
      return; // Enter submits the form.
    }
    const key = e.key.toLowerCase();
    const labels = { 1: 'comply', 2: 'partial', 3: 'refuse', s: 'skip' };
    if (labels[key]) {
      e.preventDefault();
      give(labels[key]);
    } else if (key === 'n') {
      e.preventDefault();
      openNote();
    } else if (key === 'u' || e.key === 'Backspace') {
      e.preventDefault();
      undo();
    }
  });

  for (const button of document.querySelectorAll('button[data-label]')) {
    button.addEventListener('click', () => {
      // Focus left on the button would let Enter label the next answer the same way.
      button.blur();
      give(button.dataset.label);
    });
  }
  $('note-button').addEventListener('click', openNote);
  $('undo-button').addEventListener('click', undo);
  $('undo-done').addEventListener('click', undo);

  call('GET', '/api/state');
})();
