"""The painter's play queue: what it keeps in KV across restarts, and what it answers to ``QueueList``.

The painter takes each ``PainterJob`` off the bus into its own queue (the bus message is acknowledged once the
job is stored here), so the queue in KV is the painter's source of truth: its order, its paused flag and the
drawing on screen survive a restart, and a redelivered job is recognised by its id.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from . import bus
from .envelope import MessageId
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


class PainterQueueSnapshot(BaseModel):
    """The ``data`` of the painter's ``ControlReply`` to ``QueueList`` (and to every other queue command)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paused: bool
    max_queue: int = Field(ge=1)
    active: PainterQueueItem | None = None
    phase: PainterPhase | None = Field(default=None, description="What the active request is doing")
    progress: float | None = Field(default=None, ge=0, le=1, description="Of the active drawing")
    waiting: tuple[PainterQueueItem, ...] = Field(default=(), description="In play order, next first")


__all__ = [
    "MAX_RECENT_JOB_IDS",
    "PainterPhase",
    "PainterQueueItem",
    "PainterQueueSnapshot",
    "PainterQueueState",
]
