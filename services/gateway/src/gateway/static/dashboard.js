// Ovation dashboard: reads the bus through GET /api/v1/events (server-sent events over fetch). The admin token is
// exchanged once for an HttpOnly session cookie and never kept by this page. Donor text is only ever set with
// textContent, never parsed as HTML.
"use strict";

const MAX_ITEMS = 200;
const feed = document.getElementById("feed");
const statusBadge = document.getElementById("status");
const counter = document.getElementById("counter");
const empty = document.getElementById("empty");
const loginForm = document.getElementById("login");
const loginError = document.getElementById("login-error");
const template = document.getElementById("item");
const shown = new Set();
let donations = 0;
let lastEventId = null;

function setStatus(state, text) {
  statusBadge.dataset.state = state;
  statusBadge.textContent = text;
}

async function startSession(token) {
  const response = await fetch("/api/v1/session", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }),
  });
  return response.ok;
}

async function tokenFromAddress() {
  // ovation up prints /dashboard#token=...; the fragment never reaches the server. Trade it for a session cookie.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (!fragment.has("token")) return;
  const token = fragment.get("token");
  fragment.delete("token");
  history.replaceState(null, "", location.pathname + location.search + (fragment.toString() ? `#${fragment}` : ""));
  await startSession(token);
}

function formatAmount(money) {
  if (!money) return "";
  const value = Number(money.amount);
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: money.currency }).format(value);
  } catch {
    return `${money.amount} ${money.currency}`;
  }
}

const generations = new Map();

function showJob(status) {
  if (status.reaction !== "video" && status.reaction !== "painter" && status.reaction !== "voice") return;
  generations.set(status.job_id, status);
  const latest = [...generations.values()].slice(-8).reverse();
  document.getElementById("generations").replaceChildren(...latest.map((job) => {
    const row = sourceTemplate.content.firstElementChild.cloneNode(true);
    row.dataset.jobId = job.job_id;
    row.querySelector(".source-name").textContent = `${job.reaction} ${job.donation_id}`;
    const state = row.querySelector(".source-state");
    state.dataset.state = ["failed"].includes(job.state) ? "needs_reauthorisation" : job.state === "ready" ? "connected" : job.state;
    state.textContent = job.progress != null && !["ready", "failed", "fallback"].includes(job.state)
      ? `${job.state} ${Math.round(job.progress * 100)}%` : job.state;
    row.querySelector(".source-detail").textContent = job.reason || job.detail || "";
    return row;
  }));
}

function show(envelope) {
  if (envelope.type === "job.status") { showJob(envelope.payload); return; }
  if (shown.has(envelope.id)) return;
  const p = envelope.payload;
  let donor, kind, amount;
  if (envelope.type === "donation.received") {
    donor = p.donor_name || "Anonymous";
    kind = "donation";
    amount = p.amount;
    donations += 1;
    counter.textContent = `${donations} donation${donations === 1 ? "" : "s"}`;
  } else if (envelope.type === "chat.received") {
    donor = p.author;
    kind = p.kind === "gift" ? `gift · ${p.gift_count || 1}× ${p.gift_name}` : p.kind;
    amount = p.amount;
  } else {
    return;
  }
  shown.add(envelope.id);
  const item = template.content.firstElementChild.cloneNode(true);
  item.dataset.id = envelope.id;
  item.dataset.correlationId = envelope.correlation_id;
  item.dataset.kind = envelope.type === "chat.received" ? "chat" : "donation";
  item.classList.add(envelope.type === "donation.received" ? "donation" : "chat-event");
  item.querySelector(".donor").textContent = donor;
  item.querySelector(".amount").textContent = formatAmount(amount);
  item.querySelector(".kind").textContent = kind;
  item.querySelector(".source").textContent = p.source;
  const time = item.querySelector(".time");
  time.dateTime = envelope.occurred_at;
  time.textContent = new Date(envelope.occurred_at).toLocaleTimeString();
  item.querySelector(".message").textContent = p.message || "";
  feed.prepend(item);
  empty.hidden = true;
  while (feed.children.length > MAX_ITEMS) feed.lastElementChild.remove();
}

// Parse a text/event-stream body: events are separated by a blank line; "data:" lines carry the envelope.
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let boundary;
    while ((boundary = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      let id = null;
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("id:")) id = line.slice(3).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(id, data.join("\n"));
    }
  }
}

async function connect() {
  let delay = 500;
  for (;;) {
    setStatus("connecting", "connecting…");
    try {
      const headers = { Accept: "text/event-stream" };
      if (lastEventId) headers["Last-Event-ID"] = lastEventId;
      const response = await fetch("/api/v1/events?backlog=100&types=donation.received,chat.received,job.status", { headers });
      if (response.status === 401) {
        askForToken("Log in with the admin token that ovation up printed.");
        setStatus("error", "not logged in");
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      setStatus("live", "live");
      startSources();
      delay = 500;
      await readEvents(response.body, (id, data) => {
        if (id) lastEventId = id;
        try { show(JSON.parse(data)); } catch (error) { console.warn("skipped an event", error); }
      });
      setStatus("connecting", "reconnecting…");
    } catch (error) {
      setStatus("error", `offline, retrying (${error.message})`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
    delay = Math.min(delay * 2, 10000);
  }
}

function askForToken(message) {
  loginForm.hidden = false;
  loginError.textContent = message || "";
}

loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = new FormData(loginForm).get("token").trim();
  if (!(await startSession(token))) {
    askForToken("That token was refused. Paste the admin token that ovation up printed.");
    return;
  }
  loginForm.reset();
  loginForm.hidden = true;
  connect();
});

// Sources: their state (connected, polling, needs re-authorisation, ...) and the DonationAlerts actions.
const sourcesPanel = document.getElementById("sources-panel");
const sourcesList = document.getElementById("sources");
const sourceTemplate = document.getElementById("source");
const notice = document.getElementById("notice");

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail
      : Array.isArray(data.detail) ? data.detail.map((e) => `${(e.loc || []).join(".")}: ${e.msg}`).join("; ")
      : `HTTP ${response.status}`;
    throw new Error(detail);
  }
  return data;
}

function say(text) { notice.textContent = text; }

async function refreshSources() {
  try {
    const data = await api("GET", "/api/v1/sources");
    sourcesList.replaceChildren(...data.sources.map((source) => {
      const row = sourceTemplate.content.firstElementChild.cloneNode(true);
      row.dataset.source = source.source;
      row.querySelector(".source-name").textContent = source.source;
      const state = row.querySelector(".source-state");
      state.dataset.state = source.state;
      state.textContent = source.state.replaceAll("_", " ");
      row.querySelector(".source-detail").textContent = source.detail;
      return row;
    }));
  } catch (error) {
    sourcesList.replaceChildren();
    say(`Sources unavailable: ${error.message}`);
  }
}

function wireActions() {
  document.getElementById("da-connect").addEventListener("click", async () => {
    try { location.assign((await api("POST", "/api/v1/donationalerts/login")).authorize_url); }
    catch (error) { say(error.message); }
  });
  document.getElementById("da-test").addEventListener("click", async () => {
    try { say((await api("POST", "/api/v1/sources/donationalerts/test")).message); }
    catch (error) { say(error.message); }
  });
  document.getElementById("da-disconnect").addEventListener("click", async () => {
    try { say((await api("POST", "/api/v1/donationalerts/disconnect")).message); refreshSources(); }
    catch (error) { say(error.message); }
  });
  document.getElementById("da-token").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    try { say((await api("PUT", "/api/v1/donationalerts/token", { access_token: form.access_token.value.trim() })).message); form.reset(); }
    catch (error) { say(error.message); }
  });
  document.getElementById("test-donation").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    try {
      const sent = await api("POST", "/api/v1/donations/test", {
        donor: form.get("donor"), amount: form.get("amount"), currency: form.get("currency"), message: form.get("message"),
      });
      say(`Test donation sent: ${sent.id}`);
    } catch (error) { say(error.message); }
  });
}

let sourcesStarted = false;

function startSources() {
  if (sourcesStarted) return;
  sourcesStarted = true;
  startPanels();
  sourcesPanel.hidden = false;
  wireActions();
  refreshSources();
  setInterval(refreshSources, 3000);
}

// Stage, approvals and health panels: every action goes through the same /api/v1 the dashboard documents.
const queuedTemplate = document.getElementById("queued");

function button(label, action) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.addEventListener("click", async () => {
    try { await action(); } catch (error) { say(error.message); }
    refreshPanels();
  });
  return element;
}

function describeCue(cue) {
  const row = queuedTemplate.content.firstElementChild.cloneNode(true);
  row.dataset.cueId = cue.cue_id;
  row.querySelector(".what").textContent = cue.kind;
  row.querySelector(".who").textContent = cue.donor_name;
  row.querySelector(".extra").textContent = [cue.amount ? formatAmount(cue.amount) : "", cue.message || ""].filter(Boolean).join(" · ");
  return row;
}

async function refreshStage() {
  const state = await api("GET", "/api/v1/stage");
  document.getElementById("stage-state").textContent = state.paused ? "paused" : "playing";
  document.getElementById("stage-current").textContent = state.current
    ? `${state.current.cue.kind} for ${state.current.cue.donor_name}` : "nothing";
  document.getElementById("stage-queue").replaceChildren(...state.queue.map(({ cue }) => {
    const row = describeCue(cue);
    const id = encodeURIComponent(cue.cue_id);
    row.querySelector(".buttons").append(
      button("↑", () => api("POST", `/api/v1/stage/queue/${id}/move`, { by: -1 })),
      button("↓", () => api("POST", `/api/v1/stage/queue/${id}/move`, { by: 1 })),
      button("Remove", () => api("DELETE", `/api/v1/stage/queue/${id}`)),
    );
    return row;
  }));
  document.getElementById("stage-history").replaceChildren(...[...state.history].reverse().slice(0, 20).map((cue) => {
    const row = describeCue(cue);
    row.querySelector(".buttons").append(button("Replay", () => api("POST", `/api/v1/stage/replay/${encodeURIComponent(cue.cue_id)}`)));
    return row;
  }));
}

async function refreshApprovals() {
  const data = await api("GET", "/api/v1/approvals");
  document.getElementById("approvals-empty").hidden = data.pending.length > 0;
  document.getElementById("approvals").replaceChildren(...data.pending.map((screened) => {
    const row = queuedTemplate.content.firstElementChild.cloneNode(true);
    row.dataset.donationId = screened.donation_id;
    row.querySelector(".what").textContent = screened.verdict.decision;
    row.querySelector(".who").textContent = screened.donor_name;
    row.querySelector(".extra").textContent = `${formatAmount(screened.amount)} · ${screened.message || screened.verdict.reason}`;
    const id = encodeURIComponent(screened.donation_id);
    row.querySelector(".buttons").append(
      button("Approve", () => api("POST", `/api/v1/approvals/${id}/approve`)),
      button("Reject", () => api("POST", `/api/v1/approvals/${id}/reject`)),
    );
    return row;
  }));
}

async function refreshHealth() {
  const data = await api("GET", "/api/v1/health");
  document.getElementById("health").replaceChildren(...data.services.map((report) => {
    const row = sourceTemplate.content.firstElementChild.cloneNode(true);
    row.dataset.source = report.service;
    row.querySelector(".source-name").textContent = report.service;
    const state = row.querySelector(".source-state");
    state.dataset.state = report.status === "ok" ? "connected" : "needs_reauthorisation";
    state.textContent = report.status;
    row.querySelector(".source-detail").textContent = (report.reasons || []).join("; ");
    return row;
  }));
}

async function refreshVideos() {
  const data = await api("GET", "/api/v1/videos");
  const budget = data.budget;
  document.getElementById("videos-budget").textContent =
    `${budget.this_hour}/${budget.max_per_hour} this hour · ${budget.today}/${budget.max_per_day} today`;
  document.getElementById("videos").replaceChildren(...data.videos.slice(0, 20).map((video) => {
    const row = queuedTemplate.content.firstElementChild.cloneNode(true);
    row.dataset.jobId = video.job_id;
    row.querySelector(".what").textContent = video.state || "video";
    row.querySelector(".who").textContent = video.donor_name || video.job_id;
    row.querySelector(".extra").textContent = video.reason ? `${video.detail} (${video.reason})` : video.detail || "";
    const id = encodeURIComponent(video.job_id);
    row.querySelector(".buttons").append(
      button("Replay", () => api("POST", `/api/v1/videos/${id}/replay`)),
      button("Delete", () => api("DELETE", `/api/v1/videos/${id}`)),
    );
    return row;
  }));
}

async function loadSettings() {
  const name = document.getElementById("settings-name").value;
  document.getElementById("settings-text").value = JSON.stringify(await api("GET", `/api/v1/settings/${name}`), null, 2);
}

function wirePanels() {
  document.getElementById("custom-video").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    try { const job = await api("POST", "/api/v1/videos", { prompt: form.prompt.value }); say(`Generating ${job.job_id}`); form.reset(); }
    catch (error) { say(error.message); }
  });
  document.getElementById("settings-name").addEventListener("change", () => loadSettings().catch((e) => say(e.message)));
  document.getElementById("settings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = document.getElementById("settings-name").value;
    let body;
    try { body = JSON.parse(document.getElementById("settings-text").value); }
    catch (error) { say(`That is not valid JSON: ${error.message}`); return; }
    try { await api("PUT", `/api/v1/settings/${name}`, body); say(`Saved ${name}.`); loadSettings(); }
    catch (error) { say(`Not saved: ${error.message}`); }
  });
}

function refreshPanels() {
  refreshStage().catch((error) => say(`Stage unavailable: ${error.message}`));
  refreshApprovals().catch(() => { document.getElementById("approvals").replaceChildren(); });
}

function startPanels() {
  for (const id of ["stage-panel", "approvals-panel", "health-panel", "videos-panel", "settings-panel"]) {
    document.getElementById(id).hidden = false;
  }
  wirePanels();
  loadSettings().catch((error) => say(`Settings unavailable: ${error.message}`));
  refreshVideos().catch(() => { document.getElementById("videos-budget").textContent = "video service not answering"; });
  setInterval(() => refreshVideos().catch(() => {}), 5000);
  document.getElementById("stage-skip").addEventListener("click", () => api("POST", "/api/v1/stage/skip").catch((e) => say(e.message)).then(refreshPanels));
  document.getElementById("stage-pause").addEventListener("click", () => api("POST", "/api/v1/stage/pause").then(refreshPanels));
  document.getElementById("stage-resume").addEventListener("click", () => api("POST", "/api/v1/stage/resume").then(refreshPanels));
  document.getElementById("stage-clear").addEventListener("click", () => api("POST", "/api/v1/stage/clear").then(refreshPanels));
  refreshPanels();
  refreshHealth().catch(() => {});
  setInterval(refreshPanels, 1000);
  setInterval(() => refreshHealth().catch(() => {}), 5000);
}

if (location.hash.includes("donationalerts=connected")) say("DonationAlerts is connected.");
tokenFromAddress().then(connect);
