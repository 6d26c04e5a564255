"""Prometheus metrics every service exposes on ``/metrics``."""

from __future__ import annotations

import asyncio

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
HTTP_REQUESTS = Counter(
    "ovation_http_requests_total",
    "HTTP requests answered, by method, route template (not the raw path) and status code",
    ["method", "route", "status"],
)

ASYNCIO_TASKS = Gauge(
    "ovation_asyncio_tasks", "Tasks alive on the service's event loop, counted when /metrics is read"
)

UNMATCHED_ROUTE = "unmatched"
"""The route label of a request no route matched (a 404, or refused before routing): raw paths would explode."""


class HttpMetrics:
    """ASGI middleware counting every HTTP request in ``ovation_http_requests_total``.

    The route label is the matched route's template (``/api/v1/stage/queue/{cue_id}``), read from the scope after the
    router has run; an exception counts as a 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            HTTP_REQUESTS.labels(scope["method"], route_template(scope), str(status)).inc()


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


def count_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """From now on ``ovation_asyncio_tasks`` counts the tasks of ``loop`` on every scrape (a leak shows as growth)."""
    ASYNCIO_TASKS.set_function(lambda: len(asyncio.all_tasks(loop)))
