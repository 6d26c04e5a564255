"""The painter's play queue: what it keeps in KV across restarts, and what it answers to ``QueueList``.

The painter takes each ``PainterJob`` off the bus into its own queue (the bus message is acknowledged once the
job is stored here), so the queue in KV is the painter's source of truth: its order, its paused flag and the
drawing on screen survive a restart, and a redelivered job is recognised by its id.
"""

from __future__ import annotations

import re
from enum import StrEnum
from importlib import resources
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from . import bus
from .canvas import MAX_CANVAS_SIDE
from .envelope import MessageId, Payload
from .jobs import PainterJob
from .settings import KvDocument

MAX_RECENT_JOB_IDS = 500
"""How many finished job ids the painter remembers, to recognise a job delivered again after it was drawn."""


class PainterPhase(StrEnum):
    """Where a request is in the painter."""

    WAITING = "waiting"
    PLANNING = "planning"
    """The planner (the LLM, or the offline planner) is writing its Canvas-DSL plan."""
    DRAWING = "drawing"
    HOLDING = "holding"
    """Finished and kept on screen for the hold time."""


class PainterQueueItem(BaseModel):
    """One drawing request in the painter's queue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job: PainterJob
    arrival: int = Field(ge=0, description="Order of arrival: ties of priority play in this order")
    enqueued_at: AwareDatetime

    @property
    def job_id(self) -> str:
        return self.job.job_id


class PainterQueueState(KvDocument):
    """The painter's queue as stored in KV: survives restarts. ``active`` is drawn again after a crash."""

    BUCKET: ClassVar[str] = bus.KV_QUEUES
    KEY: ClassVar[str] = "painter"

    paused: bool = False
    active: PainterQueueItem | None = None
    waiting: tuple[PainterQueueItem, ...] = Field(default=(), description="In play order, next first")
    next_arrival: int = Field(default=0, ge=0)
    recent_job_ids: tuple[MessageId, ...] = Field(
        default=(),
        max_length=MAX_RECENT_JOB_IDS,
        description="Jobs finished, skipped or refused lately, newest last: a redelivery of one is ignored",
    )

    @classmethod
    def key_for(cls, instance: str) -> str:
        """Where a replica keeps its queue: each painter draws its own jobs, so replicas must not share one key.

        ``painter`` for a painter without a replica name (``OVATION_INSTANCE`` empty: the one painter there is),
        ``painter.<instance>`` for a named replica, which finds its queue again after a restart under the same name.
        """
        if not instance:
            return cls.KEY
        return f"{cls.KEY}.{re.sub(r'[^A-Za-z0-9_=-]+', '_', instance)}"


class PainterQueueSnapshot(BaseModel):
    """The ``data`` of the painter's ``ControlReply`` to ``QueueList`` (and to every other queue command)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paused: bool
    max_queue: int = Field(ge=1)
    active: PainterQueueItem | None = None
    phase: PainterPhase | None = Field(default=None, description="What the active request is doing")
    progress: float | None = Field(default=None, ge=0, le=1, description="Of the active drawing")
    waiting: tuple[PainterQueueItem, ...] = Field(default=(), description="In play order, next first")


class LiveFrame(Payload):
    """One picture of the painter's live canvas (the art at its own size, not the upscaled window).

    The painter publishes one on ``bus.LIVE_PAINTER_FRAME`` whenever the picture changes (at most
    ``PAINTER_LIVE_FPS`` a second), an empty one (``key`` None) when nothing is on stage, and the current one
    again every ``KEYFRAME_SECONDS``, so a viewer that connects late gets a picture. Browsers read the same
    fields from ``frame`` events, with ``live_canvas_script``.
    """

    TYPE: ClassVar[str] = "painter.frame"
    KEYFRAME_SECONDS: ClassVar[float] = 2.0
    CORRELATION_ID: ClassVar[str] = "painter:live"
    """Frames belong to no one donation: their envelopes all carry this correlation id."""

    key: str | None = Field(
        default=None,
        min_length=1,
        max_length=300,
        description="The picture on the canvas: a new key starts a new drawing; None: nothing on stage",
    )
    w: int = Field(default=0, ge=0, le=MAX_CANVAS_SIDE, description="Canvas width, pixels (0 without rgb)")
    h: int = Field(default=0, ge=0, le=MAX_CANVAS_SIDE, description="Canvas height, pixels (0 without rgb)")
    rgb: str | None = Field(
        default=None,
        max_length=4 * MAX_CANVAS_SIDE * MAX_CANVAS_SIDE,
        pattern=r"^[A-Za-z0-9+/]*$",
        description="The pixels row by row, 3 bytes (R, G, B) each, base64 (no padding: w * h * 3 bytes)",
    )
    error: str | None = Field(
        default=None, max_length=500, description="Why this picture cannot be shown (the painter skips it)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> LiveFrame:
        if self.rgb is not None:
            if self.key is None:
                raise ValueError("a frame with pixels needs the key of its picture")
            if len(self.rgb) != 4 * self.w * self.h or not self.rgb:
                raise ValueError(
                    f"rgb must hold {self.w} x {self.h} pixels ({4 * self.w * self.h} base64 characters)"
                )
        elif self.w or self.h:
            raise ValueError("w and h are 0 in a frame without pixels")
        return self


def live_canvas_script() -> str:
    """The browser side of ``LiveFrame``: one script for every page that shows the live canvas.

    It draws the frames of the stream its ``<canvas id="canvas" data-stream="...">`` names, passing on a
    ``token`` from the page's URL, and reconnects by itself.
    """
    return resources.files(__package__).joinpath("web", "live-canvas.js").read_text(encoding="utf-8")


__all__ = [
    "MAX_RECENT_JOB_IDS",
    "LiveFrame",
    "PainterPhase",
    "PainterQueueItem",
    "PainterQueueSnapshot",
    "PainterQueueState",
    "live_canvas_script",
]
