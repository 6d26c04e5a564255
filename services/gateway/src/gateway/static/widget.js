// Ovation OBS widget (first version): an alert card for every donation, one at a time, pushed live.
// Until moderation screens names and messages, the card shows only the amount: nothing a donor typed reaches the
// stream unchecked. EventSource reconnects by itself and resumes with Last-Event-ID.
"use strict";

const SHOW_MS = 6000;
const GAP_MS = 500;
const alertBox = document.getElementById("alert");
const amountText = alertBox.querySelector(".amount");
const problem = document.getElementById("problem");
const queue = [];
const seen = new Set();
let playing = false;

function formatAmount(money) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: money.currency }).format(Number(money.amount));
  } catch {
    return `${money.amount} ${money.currency}`;
  }
}

async function playNext() {
  if (playing || queue.length === 0) return;
  playing = true;
  const envelope = queue.shift();
  amountText.textContent = formatAmount(envelope.payload.amount);
  alertBox.dataset.id = envelope.id;
  alertBox.hidden = false;
  await new Promise((resolve) => setTimeout(resolve, SHOW_MS));
  alertBox.hidden = true;
  await new Promise((resolve) => setTimeout(resolve, GAP_MS));
  playing = false;
  playNext();
}

const token = new URLSearchParams(location.search).get("token") || "";
if (!token) {
  problem.textContent = "Widget URL without token: copy the widget URL that ovation up printed.";
  problem.hidden = false;
} else {
  const source = new EventSource(`/api/v1/widget/events?token=${encodeURIComponent(token)}`);
  source.onopen = () => { problem.hidden = true; };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      problem.textContent = "The widget token was refused or the widget is off.";
      problem.hidden = false;
    }
  };
  source.onmessage = (event) => {
    const envelope = JSON.parse(event.data);
    if (envelope.type !== "donation.received" || seen.has(envelope.id)) return;
    seen.add(envelope.id);
    queue.push(envelope);
    playNext();
  };
}
