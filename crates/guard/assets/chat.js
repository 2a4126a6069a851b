// The guard's chat page: streams an answer and applies the retraction protocol — on a chunk
// with `assay.retract`, keep the first `offset` characters of the answer and show
// `replace_with` after them. Text goes into the page with textContent only.
"use strict";

const log = document.getElementById("log");
const statusLine = document.getElementById("status");
const history = [];
let model = "";

fetch("/v1/models").then(r => r.json()).then(m => {
  model = m.data[0].id;
  document.getElementById("model").textContent = "— " + model;
});

function bubble(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  div.textContent = text;
  log.appendChild(div);
  return div;
}

function note(div, text) {
  const n = document.createElement("div");
  n.className = "note";
  n.textContent = text;
  div.after(n);
}

async function ask(prompt) {
  history.push({ role: "user", content: prompt });
  bubble("user", prompt);
  const answer = bubble("assistant", "");
  let text = "";
  const headers = { "Content-Type": "application/json" };
  const key = document.getElementById("key").value.trim();
  if (key) headers["Authorization"] = "Bearer " + key;
  const response = await fetch("/v1/chat/completions", {
    method: "POST",
    headers,
    body: JSON.stringify({ model, messages: history, stream: true }),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    answer.classList.add("blocked");
    answer.textContent = (body.error && body.error.message) || ("HTTP " + response.status);
    statusLine.textContent = "error " + response.status;
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = event.split("\n").filter(l => l.startsWith("data:")).map(l => l.slice(5).trim()).join("\n");
      if (!data || data === "[DONE]") continue;
      const chunk = JSON.parse(data);
      if (chunk.error) {
        answer.classList.add("blocked");
        note(answer, "error: " + chunk.error.message);
        statusLine.textContent = "the upstream failed";
        continue;
      }
      const ext = chunk.assay || {};
      if (ext.retract) {
        text = Array.from(text).slice(0, ext.retract.offset).join("") + ext.retract.replace_with;
        answer.textContent = text;
        answer.classList.add("withdrawn");
        note(answer, "The guard withdrew this answer (" + (ext.retract.category || "policy") + ").");
        statusLine.textContent = "withdrawn";
      }
      const choice = (chunk.choices || [])[0];
      if (choice && choice.delta && choice.delta.content) {
        text += choice.delta.content;
        answer.textContent = text;
      }
      if (ext.blocked) {
        answer.classList.add("blocked");
        note(answer, "Blocked by the guard (" + ext.blocked.direction + ", " + ext.blocked.category + ").");
        statusLine.textContent = "blocked";
      }
      if (choice && choice.finish_reason) {
        answer.dataset.finish = choice.finish_reason;
        if (choice.finish_reason !== "content_filter") statusLine.textContent = "done";
      }
    }
  }
  history.push({ role: "assistant", content: text });
}

const form = document.getElementById("ask");
const promptBox = document.getElementById("prompt");
const sendButton = document.getElementById("send");
// One answer at a time: a second question sent while one streams would interleave the two
// answers in the history the next request carries.
let busy = false;

form.addEventListener("submit", async event => {
  event.preventDefault();
  const prompt = promptBox.value.trim();
  if (!prompt || busy) return;
  busy = true;
  sendButton.disabled = true;
  statusLine.textContent = "answering…";
  promptBox.value = "";
  try {
    await ask(prompt);
  } catch (e) {
    statusLine.textContent = "error: " + e;
  } finally {
    busy = false;
    sendButton.disabled = false;
    promptBox.focus();
  }
});

// Enter sends, Shift+Enter starts a new line (and Enter that confirms an input method's
// candidate, as when typing Chinese, does neither).
promptBox.addEventListener("keydown", event => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    if (!busy) form.requestSubmit();
  }
});
