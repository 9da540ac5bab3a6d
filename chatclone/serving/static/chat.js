// The chat page: keeps the conversation (also across reloads, in localStorage), sends it
// to /v1/chat/completions with stream: true and shows the reply as it arrives.
"use strict";
const STORE = "chatclone.messages";
const log = document.getElementById("log");
const form = document.getElementById("form");
const input = document.getElementById("message");
const keyInput = document.getElementById("key");
const statusLine = document.getElementById("status");
let messages = JSON.parse(localStorage.getItem(STORE) || "[]");
let model = "";

function bubble(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  div.textContent = text;
  log.appendChild(div);
  log.scrollTop = log.scrollHeight;
  return div;
}

function render() {
  log.replaceChildren();
  messages.forEach((m) => bubble(m.role, m.content));
}

function save() {
  localStorage.setItem(STORE, JSON.stringify(messages));
}

async function* events(response) {
  // Server-sent events: "data: {...}" blocks separated by a blank line.
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("");
      if (data === "[DONE]") return;
      if (data) yield JSON.parse(data);
    }
  }
}

async function send(text) {
  messages.push({ role: "user", content: text });
  bubble("user", text);
  const out = bubble("assistant pending", "");
  const headers = { "Content-Type": "application/json" };
  if (keyInput.value) headers.Authorization = "Bearer " + keyInput.value;
  let reply = "";
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST", headers,
      body: JSON.stringify({ model, messages, stream: true }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error((body.error && body.error.message) || response.statusText);
    }
    for await (const chunk of events(response)) {
      reply += chunk.choices[0].delta.content || "";
      out.textContent = reply;
      log.scrollTop = log.scrollHeight;
    }
    messages.push({ role: "assistant", content: reply });
    save();
    statusLine.textContent = "";
  } catch (err) {
    messages.pop();  // the message was not answered: let the user send it again
    out.remove();
    statusLine.textContent = "Error: " + err.message;
  } finally {
    out.classList.remove("pending");
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  input.disabled = true;
  await send(text);
  input.disabled = false;
  input.focus();
});

document.getElementById("reset").addEventListener("click", () => {
  messages = [];
  save();
  render();
  statusLine.textContent = "";
  input.focus();
});

fetch("/health").then((r) => r.json()).then((h) => {
  model = h.model;
  document.getElementById("model").textContent = h.model;
  keyInput.hidden = !h.auth;
});
render();
