"""Prometheus metrics every service exposes on ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

NATS_CONNECTED = Gauge("ovation_nats_connected", "1 while connected to NATS, 0 otherwise")
NATS_DISCONNECTS = Counter("ovation_nats_disconnects_total", "Times the NATS connection was lost")
MESSAGES_CONSUMED = Counter(
    "ovation_messages_consumed_total",
    "Messages handled, by subject filter and outcome (ack, retry, dlq)",
    ["subject", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "ovation_handler_seconds",
    "Time spent in a message handler",
    ["subject"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600),
)
MESSAGES_PUBLISHED = Counter(
    "ovation_messages_published_total",
    "Messages acknowledged by JetStream, by stream",
    ["stream", "duplicate"],
)
PUBLISH_RETRIES = Counter("ovation_publish_retries_total", "Publish attempts that failed and were retried")
DEAD_LETTERS = Counter(
    "ovation_dead_letters_total", "Messages sent to the DLQ, by subject filter", ["subject"]
)
