// The chat page: keeps the conversation (also across reloads, in localStorage), sends it
// to /v1/chat/completions with stream: true and the settings (temperature, reply length), and
// shows the reply as it arrives. Stop aborts the request (the server then stops generating);
// Regenerate replaces the last reply. The run selector (filled from /v1/models) picks the run
// that answers: switching starts a new conversation, and each request names it in `model`.
// Model output is only ever shown as text, never as HTML.
"use strict";
const STORE = "chatclone.messages";
const SETTINGS = "chatclone.settings";
const MODEL = "chatclone.model";
const log = document.getElementById("log");
const form = document.getElementById("form");
const input = document.getElementById("message");
const keyInput = document.getElementById("key");
const sendButton = document.getElementById("send");
const stopButton = document.getElementById("stop");
const regenerateButton = document.getElementById("regenerate");
const resetButton = document.getElementById("reset");
const temperatureInput = document.getElementById("temperature");
const lengthInput = document.getElementById("max-tokens");
const statusLine = document.getElementById("status");
const runSelect = document.getElementById("run");
const modelLabel = document.getElementById("model");
let messages = JSON.parse(localStorage.getItem(STORE) || "[]");
let model = localStorage.getItem(MODEL) || ""; // the run that answers; "" until known
let served = ""; // the server's own run (its default)
// The server's defaults and limit (GET /settings); shown until the user changes a setting.
let defaults = { temperature: null, max_tokens: null, max_tokens_limit: 512 };
let controller = null; // aborts the reply being streamed

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
  updateButtons();
}

function save() {
  localStorage.setItem(STORE, JSON.stringify(messages));
}

function status(text, note = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("note", note);
}

function updateButtons() {
  const busy = controller !== null;
  sendButton.hidden = busy;
  stopButton.hidden = !busy;
  input.disabled = busy;
  resetButton.disabled = busy;
  runSelect.disabled = busy;
  const last = messages[messages.length - 1];
  regenerateButton.hidden = busy || !last || last.role !== "assistant";
}

function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}

function settings() {
  // What each request is sent with: the fields as the user left them, kept in range; an
  // empty field leaves that setting to the server.
  const chosen = {};
  const temperature = parseFloat(temperatureInput.value);
  if (Number.isFinite(temperature)) chosen.temperature = clamp(temperature, 0, 2);
  const length = parseInt(lengthInput.value, 10);
  if (Number.isFinite(length)) chosen.max_tokens = clamp(length, 1, defaults.max_tokens_limit);
  return chosen;
}

function showSettings() {
  const saved = JSON.parse(localStorage.getItem(SETTINGS) || "{}");
  temperatureInput.value = saved.temperature ?? defaults.temperature ?? "";
  lengthInput.max = defaults.max_tokens_limit;
  const length = saved.max_tokens ?? defaults.max_tokens;
  lengthInput.value = length == null ? "" : Math.min(length, defaults.max_tokens_limit);
}

function saveSettings() {
  localStorage.setItem(SETTINGS, JSON.stringify(settings()));
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

// Streams a reply to `messages` into a new bubble. Returns true when the conversation has a
// new reply (complete, or stopped part-way with some text), false when it has none.
async function reply(extra = {}) {
  const out = bubble("assistant pending", "");
  const headers = { "Content-Type": "application/json" };
  if (keyInput.value) headers.Authorization = "Bearer " + keyInput.value;
  controller = new AbortController();
  updateButtons();
  let text = "";
  let answered = false;
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST", headers, signal: controller.signal,
      body: JSON.stringify({ model, messages, stream: true, ...settings(), ...extra }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error((body.error && body.error.message) || response.statusText);
    }
    for await (const chunk of events(response)) {
      text += chunk.choices[0].delta.content || "";
      out.textContent = text;
      log.scrollTop = log.scrollHeight;
    }
    answered = true;
    status("");
  } catch (err) {
    if (err.name === "AbortError") {
      answered = text.length > 0;
      status(answered ? "Stopped: the reply is cut short." : "Stopped before a reply.", true);
    } else {
      status("Error: " + err.message);
    }
  } finally {
    out.classList.remove("pending");
    controller = null;
  }
  if (answered) {
    messages.push({ role: "assistant", content: text });
    save();
  } else {
    out.remove();
  }
  updateButtons();
  return answered;
}

async function send(text) {
  messages.push({ role: "user", content: text });
  bubble("user", text);
  if (!(await reply())) {
    // Not answered: take the message back, so that sending it again does not repeat it.
    messages.pop();
    render();
    input.value = text;
  }
}

async function regenerate() {
  const previous = messages.pop();
  save();
  render();
  // A fresh seed: a server started with --seed would otherwise give the same reply again.
  if (!(await reply({ seed: Math.floor(Math.random() * 2 ** 31) }))) {
    messages.push(previous); // keep the old reply rather than none
    save();
    render();
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text || controller) return;
  input.value = "";
  await send(text);
  input.focus();
});

stopButton.addEventListener("click", () => controller && controller.abort());
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && controller) controller.abort();
});
regenerateButton.addEventListener("click", async () => {
  if (controller) return;
  await regenerate();
  input.focus();
});
temperatureInput.addEventListener("change", saveSettings);
lengthInput.addEventListener("change", saveSettings);

resetButton.addEventListener("click", () => {
  messages = [];
  save();
  render();
  status("");
  input.focus();
});

function showModel() {
  modelLabel.textContent = model;
  if (runSelect.value !== model) runSelect.value = model;
}

function fillRuns(names) {
  // The runs this server answers for, as text only; the selector shows when there is a choice.
  runSelect.replaceChildren(...names.map((name) => {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    return option;
  }));
  runSelect.hidden = names.length < 2;
  showModel();
}

async function loadRuns() {
  // GET /v1/models (with the key, when the server wants one): the served run first.
  const headers = keyInput.value ? { Authorization: "Bearer " + keyInput.value } : {};
  try {
    const response = await fetch("/v1/models", { headers });
    if (!response.ok) return;
    const names = (await response.json()).data.map((m) => String(m.id));
    if (!names.includes(model)) {
      model = names[0] || served;
      localStorage.setItem(MODEL, model);
    }
    fillRuns(names);
  } catch (err) {
    // Offline or refused: keep talking to the run we have.
  }
}

function switchRun(name) {
  if (name === model || controller) return;
  model = name;
  localStorage.setItem(MODEL, model);
  messages = [];
  save();
  render();
  showModel();
  status("New conversation with " + model + ".", true);
  input.focus();
}

runSelect.addEventListener("change", () => switchRun(runSelect.value));
keyInput.addEventListener("change", loadRuns);

fetch("/health").then((r) => r.json()).then((h) => {
  served = h.model;
  if (!model) model = served;
  if (!runSelect.options.length) fillRuns([model]);
  keyInput.hidden = !h.auth;
  return loadRuns();
});
fetch("/settings").then((r) => r.json()).then((s) => {
  defaults = s;
}).catch(() => {}).finally(showSettings);
render();
