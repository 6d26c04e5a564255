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

from prometheus_client import Counter, Gauge
from pydantic import ValidationError

from ovation_contracts import UnknownMessageType, decode

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
        self._client_queue = client_queue

    def receive(self, data: bytes) -> BusEvent | None:
        """Take a raw bus message; forward it if it is a valid Ovation envelope."""
        try:
            envelope = decode(data)
        except (ValidationError, UnknownMessageType) as exc:
            DROPPED.labels("invalid").inc()
            log.debug("not forwarding an invalid message: %s", exc)
            return None
        event = BusEvent(id=envelope.id, type=envelope.type, data=data.decode())
        self._recent.append(event)
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
