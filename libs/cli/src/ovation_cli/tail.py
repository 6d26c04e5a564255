"""``ovation tail SUBJECT``: decoded events, live, for operators without the ``nats`` CLI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from ovation_contracts import UnknownMessageType, decode

from .local import current_state, environment


def describe(subject: str, data: bytes, *, raw: bool) -> str:
    """One line per message: time, subject, type, id, correlation id and the payload (or the raw envelope)."""
    if raw:
        return data.decode(errors="replace")
    try:
        envelope = decode(data)
    except (ValidationError, UnknownMessageType):
        return f"{_now()}  {subject}  (not an Ovation envelope) {data[:500].decode(errors='replace')}"
    payload = json.dumps(envelope.payload.model_dump(mode="json"), ensure_ascii=False)
    return f"{envelope.occurred_at:%H:%M:%S}  {subject}  {envelope.type}  {envelope.id}  [{envelope.correlation_id}]  {payload}"


def _now() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S")


async def _quiet(_: Exception) -> None:
    """nats-py prints every failed attempt; the one line below says what matters."""


async def _tail(subject: str, *, url: str, raw: bool, count: int | None, since: float | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        # Fail fast when NATS is not there at all (with endless reconnects nats-py would retry the first connection
        # forever); once connected, follow it through restarts.
        probe = await nats.connect(
            url, connect_timeout=3, allow_reconnect=False, max_reconnect_attempts=1, error_cb=_quiet
        )
        await probe.close()
        client = await nats.connect(url, connect_timeout=3, max_reconnect_attempts=-1, allow_reconnect=True)
    except Exception as exc:
        print(
            f"cannot reach NATS at {url} ({exc}). Is `ovation up` running? Set OVATION_NATS_URL otherwise.",
            file=sys.stderr,
        )
        return 1
    seen = 0

    async def on_message(message: Any) -> None:
        nonlocal seen
        print(describe(message.subject, message.data, raw=raw), flush=True)
        seen += 1
        if count is not None and seen >= count:
            stop.set()

    if since is not None:
        # History from the streams first (an ordered consumer), then live.
        start = datetime.now(UTC) - timedelta(seconds=since)
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=start)
        await client.jetstream().subscribe(subject, cb=on_message, ordered_consumer=True, config=config)
    else:
        await client.subscribe(subject, cb=on_message)
    print(f"watching {subject} on {url} (Ctrl+C to stop)", file=sys.stderr)
    await stop.wait()
    with contextlib.suppress(Exception):
        await client.drain()
    return 0


def tail(subject: str, *, raw: bool = False, count: int | None = None, since: float | None = None) -> int:
    url = current_state(environment()).nats_url
    return asyncio.run(_tail(subject, url=url, raw=raw, count=count, since=since))
