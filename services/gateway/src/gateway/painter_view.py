"""The painter's live canvas for OBS browser sources (``/widget/painter``): the latest frame, to every viewer.

The painter publishes ``LiveFrame`` envelopes on ``live.painter.frame`` (core NATS: every gateway replica hears
every frame, none is stored). ``PainterView`` keeps the latest one; each viewer gets it at once on connecting,
then every different one. A viewer never queues frames: one that falls behind skips to the latest picture, so a
slow browser costs nothing but its own smoothness. When frames stop coming (the painter stopped), the view turns
empty after ``STALE_SECONDS`` rather than freezing a picture on stream forever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

from prometheus_client import Counter, Gauge
from pydantic import ValidationError

from ovation_contracts import LiveFrame, decode

log = logging.getLogger(__name__)

VIEWERS = Gauge("ovation_gateway_painter_viewers", "Browsers showing the painter's live canvas")
FRAMES = Counter("ovation_gateway_painter_frames_total", "Live painter frames received", ["outcome"])

STALE_SECONDS = 5 * LiveFrame.KEYFRAME_SECONDS
"""With no frame for this long (the painter resends its picture every keyframe), the painter is gone."""
KEEPALIVE_SECONDS = 15.0
EMPTY = LiveFrame()

Clock = Callable[[], float]


class PainterView:
    def __init__(self, clock: Clock = time.monotonic, stale_seconds: float = STALE_SECONDS) -> None:
        self._clock = clock
        self._stale_seconds = stale_seconds
        self._frame = EMPTY
        self._data = EMPTY.model_dump_json()
        self._received_at = float("-inf")
        self._changed = asyncio.Event()
        self._closed = False

    def receive(self, data: bytes) -> bool:
        """Take one message from the bus; True when it changed the picture."""
        try:
            frame: LiveFrame = decode(data, LiveFrame).payload
        except ValidationError as exc:
            FRAMES.labels("invalid").inc()
            log.warning("not showing an invalid live painter frame: %s", exc)
            return False
        was_stale = self._stale()
        self._received_at = self._clock()
        if frame == self._frame and not was_stale:
            FRAMES.labels("unchanged").inc()  # a keyframe: it only says the painter is still there
            return False
        FRAMES.labels("changed").inc()
        self._frame, self._data = frame, frame.model_dump_json()
        self._notify()
        return True

    def current(self) -> str:
        """The frame to show now, as JSON: the latest one, or the empty one when it is stale."""
        return EMPTY.model_dump_json() if self._stale() else self._data

    def _stale(self) -> bool:
        return self._frame.key is not None and self._clock() - self._received_at > self._stale_seconds

    async def stream(self) -> AsyncIterator[str]:
        """Server-sent events for one viewer: ``frame`` with the picture at once, then at every change."""
        VIEWERS.inc()
        try:
            yield "retry: 2000\n\n"
            sent: str | None = None
            quiet_since = self._clock()
            while not self._closed:
                changed = self._changed  # taken before the frame, so a change while we yield is not missed
                data = self.current()
                if data != sent:
                    yield f"event: frame\ndata: {data}\n\n"
                    sent, quiet_since = data, self._clock()
                elif self._clock() - quiet_since >= KEEPALIVE_SECONDS:
                    yield ": keepalive\n\n"
                    quiet_since = self._clock()
                await self._wait(changed, self._wait_seconds())
        finally:
            VIEWERS.dec()

    def _wait_seconds(self) -> float:
        """Until the next keepalive, or until the picture shown goes stale, whichever comes first."""
        if self._frame.key is None or self._stale():
            return KEEPALIVE_SECONDS
        stale_in = self._received_at + self._stale_seconds - self._clock()
        return max(0.05, min(KEEPALIVE_SECONDS, stale_in + 0.05))

    @staticmethod
    async def _wait(changed: asyncio.Event, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):
                await changed.wait()
        except TimeoutError:
            pass

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def close(self) -> None:
        """End every viewer's stream (at shutdown), so the server does not wait for them."""
        self._closed = True
        self._notify()
