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

// The feed: one item per donation or chat event, keyed by its global id, with the gatekeeper's verdict and the state
// of each reaction as job statuses and playback reports arrive. Any of them may arrive first (backlog, reconnects).
const REACTION_ORDER = ["alert", "video", "painter", "voice"];
const FINAL_STATES = new Set(["ready", "fallback", "failed", "skipped", "refused"]);
const DECIDED = new Set(["approved", "rejected"]);
const DECISION_LABEL = { allow: "allowed", downgrade: "downgraded (thanked without the message)", block: "blocked" };
const APPROVAL_LABEL = { pending: "held for approval", approved: "approved by a moderator", rejected: "rejected by a moderator" };
const PLAYBACK_LABEL = { started: "playing", ended: "played", failed: "failed", skipped: "skipped" };
const MAX_RECORDS = 1000;
const records = new Map();

function recordFor(id) {
  let record = records.get(id);
  if (!record) {
    record = { item: null, screened: null, jobs: new Map(), alert: null };
    records.set(id, record);
    if (records.size > MAX_RECORDS) {
      for (const [oldId, old] of records) {
        if (!old.item || !old.item.isConnected) { records.delete(oldId); break; }
      }
    }
  }
  return record;
}

function addItem({ id, kindClass, donor, amount, kind, source, occurredAt, message }) {
  const item = template.content.firstElementChild.cloneNode(true);
  item.dataset.id = id;
  item.dataset.correlationId = id;
  item.dataset.kind = kindClass === "donation" ? "donation" : "chat";
  item.classList.add(kindClass);
  item.querySelector(".donor").textContent = donor;
  item.querySelector(".amount").textContent = formatAmount(amount);
  item.querySelector(".kind").textContent = kind;
  item.querySelector(".source").textContent = source;
  const time = item.querySelector(".time");
  time.dateTime = occurredAt;
  time.textContent = new Date(occurredAt).toLocaleTimeString();
  item.querySelector(".message").textContent = message || "";
  feed.prepend(item);
  empty.hidden = true;
  while (feed.children.length > MAX_ITEMS) {
    const removed = feed.lastElementChild;
    records.delete(removed.dataset.id);
    removed.remove();
  }
  return item;
}

function countDonation() {
  donations += 1;
  counter.textContent = `${donations} donation${donations === 1 ? "" : "s"}`;
}

function describeVerdict(screened) {
  const verdict = screened.verdict;
  const parts = [DECISION_LABEL[verdict.decision] || verdict.decision];
  if (APPROVAL_LABEL[screened.approval]) parts.push(APPROVAL_LABEL[screened.approval]);
  if (verdict.failed_closed) parts.push("moderation failed, so strict");
  const why = verdict.reason || (verdict.categories || []).join(", ");
  if (why) parts.push(why);
  return parts.join(" · ");
}

function reactionState(record, kind) {
  const screened = record.screened;
  if (screened && screened.approval === "pending") return { state: "held", text: "held" };
  if (screened && screened.approval === "rejected") return { state: "rejected", text: "rejected" };
  if (kind === "alert") {
    const played = record.alert;
    return played ? { state: played, text: PLAYBACK_LABEL[played] || played } : { state: "queued", text: "queued" };
  }
  const job = record.jobs.get(kind);
  if (!job) return { state: "routed", text: "routed" };
  const progress = job.progress != null && !FINAL_STATES.has(job.state) ? ` ${Math.round(job.progress * 100)}%` : "";
  const why = job.reason && ["fallback", "failed", "refused", "skipped"].includes(job.state) ? ` (${job.reason})` : "";
  return { state: job.state, text: `${job.state}${progress}${why}`, detail: job.reason || job.detail || "" };
}

function renderRecord(record) {
  const item = record.item;
  if (!item) return;
  const screened = record.screened;
  const verdict = item.querySelector(".verdict");
  if (screened) {
    verdict.hidden = false;
    verdict.dataset.decision = screened.verdict.decision;
    verdict.dataset.approval = screened.approval;
    verdict.textContent = describeVerdict(screened);
  }
  const kinds = new Set(screened ? screened.reactions : []);
  for (const kind of record.jobs.keys()) kinds.add(kind);
  if (record.alert) kinds.add("alert");
  const list = item.querySelector(".reactions");
  if (screened && kinds.size === 0) {
    const none = document.createElement("li");
    none.className = "reaction";
    none.dataset.reaction = "none";
    none.textContent = "no reaction";
    list.replaceChildren(none);
    return;
  }
  list.replaceChildren(...REACTION_ORDER.filter((kind) => kinds.has(kind)).map((kind) => {
    const { state, text, detail } = reactionState(record, kind);
    const chip = document.createElement("li");
    chip.className = "reaction";
    chip.dataset.reaction = kind;
    chip.dataset.state = state;
    chip.textContent = `${kind} · ${text}`;
    if (detail) chip.title = detail;
    return chip;
  }));
}

function noteScreened(envelope) {
  const p = envelope.payload;
  const record = recordFor(p.donation_id);
  // A moderator's decision is final: the original "held" event replayed late must not undo it.
  if (record.screened && DECIDED.has(record.screened.approval) && !DECIDED.has(p.approval)) return;
  record.screened = p;
  if (!record.item && !shown.has(p.donation_id)) {
    // Its arrival is older than the backlog: show the donation from the screened event (moderated text).
    shown.add(p.donation_id);
    if (p.kind === "donation") countDonation();
    record.item = addItem({
      id: p.donation_id, kindClass: p.kind === "donation" ? "donation" : "chat-event", donor: p.donor_name,
      amount: p.amount, kind: p.kind, source: p.source, occurredAt: envelope.occurred_at, message: p.message,
    });
  }
  renderRecord(record);
}

function noteJob(status) {
  const record = recordFor(status.donation_id);
  const known = record.jobs.get(status.reaction);
  if (known && FINAL_STATES.has(known.state) && !FINAL_STATES.has(status.state)) return;
  record.jobs.set(status.reaction, status);
  renderRecord(record);
}

function notePlayback(ack) {
  if (ack.cue_id !== `${ack.donation_id}:alert`) return;
  const record = recordFor(ack.donation_id);
  record.alert = ack.state;
  renderRecord(record);
}

function show(envelope) {
  if (envelope.type === "job.status") { showJob(envelope.payload); noteJob(envelope.payload); return; }
  if (envelope.type === "donation.screened") { noteScreened(envelope); return; }
  if (envelope.type === "stage.playback") { notePlayback(envelope.payload); return; }
  if (shown.has(envelope.id)) return;
  const p = envelope.payload;
  let donor, kind;
  if (envelope.type === "donation.received") {
    donor = p.donor_name || "Anonymous";
    kind = "donation";
    countDonation();
  } else if (envelope.type === "chat.received") {
    donor = p.author;
    kind = p.kind === "gift" ? `gift · ${p.gift_count || 1}× ${p.gift_name}` : p.kind;
  } else {
    return;
  }
  shown.add(envelope.id);
  const record = recordFor(envelope.correlation_id);
  record.item = addItem({
    id: envelope.id, kindClass: envelope.type === "donation.received" ? "donation" : "chat-event", donor,
    amount: p.amount, kind, source: p.source, occurredAt: envelope.occurred_at, message: p.message,
  });
  renderRecord(record);
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

const FEED_TYPES = "donation.received,chat.received,donation.screened,job.status,stage.playback";

async function connect() {
  let delay = 500;
  for (;;) {
    setStatus("connecting", "connecting…");
    try {
      const headers = { Accept: "text/event-stream" };
      if (lastEventId) headers["Last-Event-ID"] = lastEventId;
      const response = await fetch(`/api/v1/events?backlog=200&types=${FEED_TYPES}`, { headers });
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

function button(label, action, refresh = refreshPanels) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.addEventListener("click", async () => {
    try { await action(); } catch (error) { say(error.message); }
    refresh();
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

// The painter's queue and the voice show's queue: each action answers with the queue afterwards.
function describeQueued({ id, idKey, what, who, extra }) {
  const row = queuedTemplate.content.firstElementChild.cloneNode(true);
  row.dataset[idKey] = id;
  row.querySelector(".what").textContent = what;
  row.querySelector(".who").textContent = who || "";
  row.querySelector(".extra").textContent = extra.filter(Boolean).join(" · ");
  return row;
}

function percent(progress) { return progress == null ? "" : `${Math.round(progress * 100)}%`; }

function renderPainter(queue) {
  document.getElementById("painter-note").textContent = "";
  document.getElementById("painter-state").textContent = queue.paused ? "paused"
    : `${queue.phase || "idle"} · ${queue.waiting.length}/${queue.max_queue} waiting`;
  const active = queue.active;
  document.getElementById("painter-current").textContent = active
    ? [`${active.job.donor_name}`, queue.phase, percent(queue.progress), active.job.message].filter(Boolean).join(" · ")
    : "nothing";
  document.getElementById("painter-queue").replaceChildren(...queue.waiting.map(({ job }) => {
    const row = describeQueued({
      id: job.job_id, idKey: "jobId", what: "drawing", who: job.donor_name,
      extra: [formatAmount(job.amount), job.message || ""],
    });
    const id = encodeURIComponent(job.job_id);
    row.querySelector(".buttons").append(
      button("↑", () => api("POST", `/api/v1/painter/queue/${id}/move`, { by: -1 }).then(renderPainter), refreshPainter),
      button("↓", () => api("POST", `/api/v1/painter/queue/${id}/move`, { by: 1 }).then(renderPainter), refreshPainter),
      button("Remove", () => api("DELETE", `/api/v1/painter/queue/${id}`).then(renderPainter), refreshPainter),
    );
    return row;
  }));
}

function refreshPainter() {
  return api("GET", "/api/v1/painter/queue").then(renderPainter).catch((error) => {
    document.getElementById("painter-state").textContent = "not answering";
    document.getElementById("painter-note").textContent = error.message;
  });
}

function renderVoice(show) {
  document.getElementById("voice-note").textContent = "";
  document.getElementById("voice-state").textContent = `${show.paused ? "paused" : "running"} · host ${show.host}`;
  document.getElementById("voice-current").textContent = show.on_stage.length
    ? show.on_stage.map((clip) => `${clip.persona}: ${clip.transcript}`).join(" / ") : "nothing";
  const removable = (item) => {
    const row = describeQueued({
      id: item.item_id, idKey: "itemId", what: item.kind, who: item.donor_name || item.persona,
      extra: [item.amount ? formatAmount(item.amount) : "", item.text || "", item.ready ? "ready" : "being made"],
    });
    const id = encodeURIComponent(item.item_id);
    row.querySelector(".buttons").append(
      button("Remove", () => api("DELETE", `/api/v1/voice/queue/${id}`).then(renderVoice), refreshVoice),
    );
    return row;
  };
  document.getElementById("voice-interrupts").replaceChildren(...show.interrupts.map(removable));
  document.getElementById("voice-upcoming").replaceChildren(...show.upcoming.slice(0, 20).map(removable));
}

function refreshVoice() {
  return api("GET", "/api/v1/voice/queue").then(renderVoice).catch((error) => {
    document.getElementById("voice-state").textContent = "not answering";
    document.getElementById("voice-note").textContent = error.message;
  });
}

// A poll that waits for the previous one: a service that does not answer takes seconds to say so.
function oneAtATime(refresh) {
  let busy = false;
  return async () => {
    if (busy) return;
    busy = true;
    try { await refresh(); } finally { busy = false; }
  };
}

function wireQueueButtons(service, actions, render, refresh) {
  for (const action of actions) {
    document.getElementById(`${service}-${action}`).addEventListener("click", async () => {
      try { render(await api("POST", `/api/v1/${service}/${action}`)); }
      catch (error) { say(error.message); refresh(); }
    });
  }
}

// Today's figures and the services' recent warnings and errors.
async function refreshStats() {
  const stats = await api("GET", "/api/v1/stats");
  document.getElementById("stats-day").textContent = `${stats.day}${stats.complete ? "" : " · counting…"}`;
  document.getElementById("stats-donations").textContent = String(stats.donations);
  document.getElementById("stats-total").textContent = stats.totals.length ? stats.totals.map(formatAmount).join(" + ") : "0";
  document.getElementById("stats-held").textContent = String(stats.held_for_approval);
  document.getElementById("stats-failures").textContent = String(stats.failures);
  document.getElementById("stats-reactions").replaceChildren(...REACTION_ORDER.map((kind) => {
    const counts = stats.reactions[kind];
    const row = sourceTemplate.content.firstElementChild.cloneNode(true);
    row.dataset.reaction = kind;
    row.querySelector(".source-name").textContent = kind;
    const state = row.querySelector(".source-state");
    state.textContent = `${counts.routed} routed`;
    const outcomes = ["ready", "fallback", "failed", "refused", "skipped", "in_progress"]
      .filter((name) => counts[name]).map((name) => `${counts[name]} ${name.replace("_", " ")}`);
    row.querySelector(".source-detail").textContent = outcomes.join(" · ");
    return row;
  }));
}

const logTemplate = document.getElementById("log-line");

async function refreshLogs() {
  const data = await api("GET", "/api/v1/logs?limit=100");
  document.getElementById("logs-empty").hidden = data.lines.length > 0;
  document.getElementById("logs").replaceChildren(...data.lines.map((line) => {
    const row = logTemplate.content.firstElementChild.cloneNode(true);
    row.dataset.level = line.level;
    row.dataset.service = line.service;
    const time = row.querySelector(".log-time");
    time.dateTime = line.logged_at;
    time.textContent = new Date(line.logged_at).toLocaleTimeString();
    row.querySelector(".log-service").textContent = line.service;
    row.querySelector(".log-level").textContent = line.level;
    const suppressed = line.suppressed ? ` (+${line.suppressed} similar lines dropped)` : "";
    row.querySelector(".log-message").textContent = `${line.message}${suppressed}`;
    row.querySelector(".log-donation").textContent = line.donation_id || "";
    row.title = line.logger;
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
  for (const id of ["stats-panel", "stage-panel", "painter-panel", "voice-panel", "approvals-panel", "health-panel",
    "logs-panel", "videos-panel", "settings-panel"]) {
    document.getElementById(id).hidden = false;
  }
  wirePanels();
  wireQueueButtons("painter", ["skip", "pause", "resume", "clear"], renderPainter, refreshPainter);
  wireQueueButtons("voice", ["skip", "pause", "resume"], renderVoice, refreshVoice);
  const painter = oneAtATime(refreshPainter);
  const voice = oneAtATime(refreshVoice);
  painter();
  voice();
  setInterval(painter, 2000);
  setInterval(voice, 2000);
  const stats = () => refreshStats().catch((error) => { document.getElementById("stats-day").textContent = error.message; });
  const logs = () => refreshLogs().catch(() => {});
  stats();
  logs();
  setInterval(stats, 5000);
  setInterval(logs, 3000);
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
