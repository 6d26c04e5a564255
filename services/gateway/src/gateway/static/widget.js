// Ovation OBS widget: plays what the stage pushes (alert cards, videos, voice clips), one at a time, and reports
// started / ended / failed for every cue, so the stage moves on. Donor text is only ever set with textContent.
// Query string: token (required), position=top|center|bottom, scale=0.5..3, kinds=alert,video,audio,
// alert_seconds=0.5..60 (how long an alert card stays; 6 by default).
"use strict";

const params = new URLSearchParams(location.search);
const token = params.get("token") || "";
const kinds = new Set((params.get("kinds") || "alert,video,audio").split(",").map((k) => k.trim()));
// Kept across reloads of this browser source, so the stage knows a reload from a second widget in another scene.
const widgetId = (() => {
  const made = `widget-${Math.random().toString(36).slice(2, 10)}`;
  try {
    const kept = sessionStorage.getItem("ovation-widget-id");
    if (kept) return kept;
    sessionStorage.setItem("ovation-widget-id", made);
  } catch {
    // Storage switched off in this browser: a reload then counts as a new widget.
  }
  return made;
})();
const alertSeconds = Number(params.get("alert_seconds"));
const ALERT_MS = alertSeconds >= 0.5 && alertSeconds <= 60 ? alertSeconds * 1000 : 6000;

const stageBox = document.getElementById("stage");
const alertBox = document.getElementById("alert");
const video = document.getElementById("video");
const audio = document.getElementById("audio");
const caption = document.getElementById("caption");
const problem = document.getElementById("problem");

stageBox.dataset.position = ["top", "center", "bottom"].includes(params.get("position")) ? params.get("position") : "top";
const scale = Number(params.get("scale"));
if (scale >= 0.5 && scale <= 3) stageBox.style.transform = `scale(${scale})`;

let current = null;      // the cue this page is playing
let alertTimer = null;

function showProblem(text) { problem.textContent = text; problem.hidden = !text; }

function formatAmount(money) {
  if (!money) return "";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: money.currency }).format(Number(money.amount));
  } catch {
    return `${money.amount} ${money.currency}`;
  }
}

// Reports go one after another, in the order they happened, so an "ended" never overtakes its "started". A report
// that did not reach the gateway (it restarts, the network blips) is sent again for about 30 s; 4xx is final.
const REPORT_RETRIES = [250, 500, 1000, 2000, 4000, 8000, 15000];
let reports = Promise.resolve();

function report(cue, state, reason) {
  const body = JSON.stringify({ cue_id: cue.cue_id, state, reason: reason || null, widget_id: widgetId });
  reports = reports.then(() => sendReport(body));
}

async function sendReport(body) {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(`/api/v1/widget/playback?token=${encodeURIComponent(token)}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body,
      });
      if (response.status < 500) return;
    } catch (error) {
      console.warn("could not report playback", error);
    }
    if (attempt >= REPORT_RETRIES.length) return;
    await new Promise((resolve) => setTimeout(resolve, REPORT_RETRIES[attempt]));
  }
}

function stopEverything() {
  clearTimeout(alertTimer);
  for (const media of [video, audio]) {
    media.onplaying = media.onended = media.onerror = null;
    media.pause();
    media.removeAttribute("src");
    media.load();
    media.hidden = true;
  }
  alertBox.hidden = true;
  caption.hidden = true;
  current = null;
}

function showCard(cue) {
  alertBox.querySelector(".donor").textContent = cue.donor_name;
  alertBox.querySelector(".amount").textContent = formatAmount(cue.amount);
  alertBox.querySelector(".message").textContent = cue.message || "";
  alertBox.dataset.cueId = cue.cue_id;
  alertBox.hidden = false;
}

function playAlert(cue) {
  showCard(cue);
  report(cue, "started");
  alertTimer = setTimeout(() => {
    if (current !== cue) return;
    alertBox.hidden = true;
    current = null;
    report(cue, "ended");
  }, cue.duration_ms || ALERT_MS);
}

async function playMedia(cue, media) {
  caption.textContent = `${cue.donor_name} · ${formatAmount(cue.amount)}`.replace(/ · $/, "");
  caption.hidden = cue.kind === "audio" && !cue.donor_name;
  media.dataset.cueId = cue.cue_id;
  let started = false;
  media.onplaying = () => { if (!started && current === cue) { started = true; report(cue, "started"); } };
  media.onended = () => { if (current === cue) { stopEverything(); report(cue, "ended"); } };
  media.onerror = () => {
    if (current !== cue) return;
    const reason = media.error ? `media error ${media.error.code}: ${media.error.message || "cannot play"}` : "cannot play";
    stopEverything();
    report(cue, "failed", reason);
  };
  media.src = cue.url;
  media.hidden = cue.kind === "audio";
  try {
    await media.play();
  } catch (error) {
    // OBS allows autoplay with sound; a normal browser may not. Muted playback keeps the stream going.
    if (current !== cue) return;
    try {
      media.muted = true;
      await media.play();
      showProblem("Autoplay with sound is blocked in this browser; OBS plays it with sound.");
    } catch (again) {
      stopEverything();
      report(cue, "failed", `play() was refused: ${again.name}`);
    }
  }
}

function play(cue) {
  if (current && current.cue_id === cue.cue_id) return;
  stopEverything();
  if (!kinds.has(cue.kind)) return;  // another widget shows this kind
  current = cue;
  if (cue.kind === "alert") playAlert(cue);
  else if (cue.kind === "video") playMedia(cue, video);
  else if (cue.kind === "audio") playMedia(cue, audio);
}

function connect() {
  if (!token) {
    showProblem("Widget URL without token: copy the widget URL that ovation up printed.");
    return;
  }
  const source = new EventSource(
    `/api/v1/widget/stage?token=${encodeURIComponent(token)}&widget_id=${encodeURIComponent(widgetId)}`,
  );
  source.addEventListener("open", () => showProblem(""));
  source.addEventListener("play", (event) => play(JSON.parse(event.data)));
  source.addEventListener("idle", () => { if (current) stopEverything(); });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) showProblem("The widget token was refused or the widget is off.");
  });
}

setInterval(() => {
  fetch(`/api/v1/widget/heartbeat?token=${encodeURIComponent(token)}&widget_id=${widgetId}`, { method: "POST" }).catch(() => {});
}, 10000);
connect();
