"""What is on stage right now, shared between the service (which decides) and the viewers (which draw).

The service runs on an asyncio loop; the pygame window runs on the main thread (and a browser view may run
anywhere). They share one ``Board``: the service replaces its ``StageView`` (an immutable snapshot) whenever
something changes, and every viewer reads the latest snapshot each frame. Replacing a reference is atomic in
Python, so neither side ever waits for the other: a slow frame never delays the service, and the service
never stalls the window. The animation clock is ``time.monotonic()`` on both sides; a viewer computes the
frame for the moment it draws from ``Showing.started_at``.

The one message back is ``report_failure``: a viewer that cannot draw the current picture says so, and the
service skips it (the renderer never dies on a bad plan).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ovation_contracts import PainterPhase

from .timeline import Timeline

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Request:
    """A drawing request as the HUD shows it: ``message`` is the moderated one, None when it must not show."""

    job_id: str
    donor: str
    amount: str
    message: str | None


@dataclass(frozen=True, slots=True)
class Showing:
    """The picture on the canvas: its timeline, and when (``time.monotonic()``) it started."""

    key: str
    """Unique per showing: a viewer starts a new animation when it changes."""
    timeline: Timeline
    started_at: float
    time_scale: float = 1.0
    """Timeline milliseconds per real millisecond (tests and demos speed drawings up)."""
    hold_until: float | None = None
    """While holding the finished picture: when the hold ends."""

    def elapsed_ms(self, now: float) -> float:
        return max(0.0, (now - self.started_at) * 1000.0 * self.time_scale)

    def progress(self, now: float) -> float:
        return self.timeline.progress(self.elapsed_ms(now))

    def ends_at(self) -> float:
        """When the drawing is finished (``time.monotonic()``)."""
        return self.started_at + self.timeline.duration_ms / 1000.0 / self.time_scale


@dataclass(frozen=True, slots=True)
class StageView:
    """Everything a viewer draws, at one moment of the show."""

    title: str = "Ovation"
    caption: str = "All for you"
    now: Request | None = None
    phase: PainterPhase | None = None
    showing: Showing | None = None
    upcoming: tuple[Request, ...] = ()
    """The next requests (at most five), next first."""
    waiting: int = 0
    """How many requests wait; the one on screen is not counted."""
    paused: bool = False

    @property
    def status(self) -> str:
        """One line for the status chip."""
        donor = self.now.donor if self.now else ""
        if self.phase is PainterPhase.PLANNING:
            return f"Thinking about {donor}'s idea"
        if self.phase is PainterPhase.DRAWING:
            return f"Painting for {donor}" + (" (paused after this)" if self.paused else "")
        if self.phase is PainterPhase.HOLDING:
            return f"Thank you, {donor}!"
        if self.paused:
            return "Paused"
        return "Waiting for the next hero"


FailureHandler = Callable[[str, str], None]


@dataclass
class Board:
    """The latest ``StageView`` and the way back for a viewer's failure report."""

    view: StageView = field(default_factory=StageView)
    _on_failure: FailureHandler | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def publish(self, view: StageView) -> None:
        self.view = view

    def on_failure(self, handler: FailureHandler) -> None:
        """Call ``handler(showing_key, error)`` when a viewer cannot draw a picture (from the viewer's thread)."""
        with self._lock:
            self._on_failure = handler

    def report_failure(self, key: str, error: str) -> None:
        """A viewer could not draw the showing ``key``; the service decides what to do (it skips it)."""
        with self._lock:
            handler = self._on_failure
        if handler is None:
            log.error("could not draw %s and nobody is listening: %s", key, error)
            return
        handler(key, error)


def monotonic() -> float:
    return time.monotonic()
