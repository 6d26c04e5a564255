"""The live event stream: every envelope on the bus fanned out to the dashboards that are watching.

Each viewer has a bounded queue; a viewer too slow to keep up is disconnected (its browser reconnects and resumes
from the backlog with ``Last-Event-ID``) rather than slowing everyone else or growing memory without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from prometheus_client import Counter, Gauge
from pydantic import ValidationError

from ovation_contracts import UnknownMessageType, bus, decode

log = logging.getLogger(__name__)

VIEWERS = Gauge("ovation_gateway_event_viewers", "Clients connected to the live event stream")
DROPPED = Counter("ovation_gateway_events_dropped_total", "Bus messages not forwarded", ["reason"])
KEEPALIVE_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class BusEvent:
    id: str
    type: str
    data: str
    """The envelope as JSON, exactly as it travelled on the bus."""

    def sse(self) -> str:
        return f"id: {self.id}\ndata: {self.data}\n\n"


@dataclass(eq=False)
class Viewer:
    types: frozenset[str] | None
    queue: asyncio.Queue[BusEvent | None]
    closed: bool = field(default=False)

    def wants(self, event: BusEvent) -> bool:
        return self.types is None or event.type in self.types


class EventHub:
    def __init__(self, backlog: int = 200, client_queue: int = 1000) -> None:
        self._viewers: set[Viewer] = set()
        self._recent: deque[BusEvent] = deque(maxlen=backlog)
        self._recent_ids: set[str] = set()
        self._client_queue = client_queue

    @property
    def backlog_size(self) -> int:
        return self._recent.maxlen or 0

    def receive(self, data: bytes) -> BusEvent | None:
        """Take a raw bus message; forward it if it is a valid Ovation envelope."""
        try:
            envelope = decode(data)
        except (ValidationError, UnknownMessageType) as exc:
            DROPPED.labels("invalid").inc()
            log.debug("not forwarding an invalid message: %s", exc)
            return None
        event = BusEvent(id=envelope.id, type=envelope.type, data=data.decode())
        if event.id in self._recent_ids:
            return None  # a redelivery, or the start-up backfill meeting the live subscription
        if self._recent.maxlen:
            if len(self._recent) == self._recent.maxlen:
                self._recent_ids.discard(self._recent[0].id)
            self._recent.append(event)
            self._recent_ids.add(event.id)
        for viewer in list(self._viewers):
            if viewer.closed or not viewer.wants(event):
                continue
            try:
                viewer.queue.put_nowait(event)
            except asyncio.QueueFull:
                DROPPED.labels("slow_viewer").inc()
                log.warning("a live-event viewer fell %d events behind; disconnecting it", self._client_queue)
                self._close(viewer)
        return event

    def _close(self, viewer: Viewer) -> None:
        viewer.closed = True
        while not viewer.queue.empty():
            viewer.queue.get_nowait()
        viewer.queue.put_nowait(None)

    def close(self) -> None:
        """End every stream (at shutdown)."""
        for viewer in list(self._viewers):
            self._close(viewer)

    async def stream(
        self, types: frozenset[str] | None, *, last_event_id: str | None = None, backlog: int = 0
    ) -> AsyncIterator[str]:
        """Server-sent events: missed or recent events first, then live ones, with keepalive comments."""
        viewer = Viewer(types, asyncio.Queue(self._client_queue))
        self._viewers.add(viewer)
        VIEWERS.set(len(self._viewers))
        try:
            yield "retry: 2000\n\n"
            for missed in self._replay(last_event_id, backlog):
                if viewer.wants(missed):
                    yield missed.sse()
            while True:
                try:
                    event = await asyncio.wait_for(viewer.queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if event is None:
                    return
                yield event.sse()
        finally:
            self._viewers.discard(viewer)
            VIEWERS.set(len(self._viewers))

    def _replay(self, last_event_id: str | None, backlog: int) -> list[BusEvent]:
        recent = list(self._recent)
        if last_event_id:
            ids = [event.id for event in recent]
            if last_event_id in ids:
                return recent[len(ids) - ids[::-1].index(last_event_id) :]
            return recent  # older than the backlog: send all we have; the page skips ids it already shows
        return recent[-backlog:] if backlog else []


async def backfill_recent(js: JetStreamContext, hub: EventHub) -> int:
    """Fill the hub's backlog with the newest stored events, so a dashboard opened now sees what just happened,
    whichever service started first. Returns how many were taken."""
    wanted = hub.backlog_size
    stored: list[tuple[datetime, bytes]] = []
    for stream in (bus.DONATIONS, bus.EVENTS):
        state = (await js.stream_info(stream.name)).state
        if not state.messages:
            continue
        for sequence in range(max(state.first_seq, state.last_seq - wanted + 1), state.last_seq + 1):
            try:
                message = await js.get_msg(stream.name, sequence)
            except NotFoundError:
                continue  # removed by the stream's limits meanwhile
            if message.data:
                stored.append((message.time or datetime.min.replace(tzinfo=UTC), message.data))
    stored.sort(key=lambda item: item[0])
    taken = sum(hub.receive(data) is not None for _, data in stored[-wanted:]) if wanted else 0
    log.info("backfilled %d recent events for the live stream", taken)
    return taken
