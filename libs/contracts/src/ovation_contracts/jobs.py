"""Reaction jobs (one per reaction the routing rules chose) and their status events."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from .artifacts import ArtifactRef
from .envelope import MessageId, Payload
from .gate import EventKind, ReactionKind
from .money import Money


def job_id(donation_id: str, reaction: ReactionKind | str) -> str:
    """The idempotent id of the job a donation gets for one reaction."""
    return f"{donation_id}:{ReactionKind(reaction).value}"


class ReactionJob(Payload):
    """What every reaction job carries. ``message`` is already moderated, and None when it must not be used."""

    job_id: MessageId
    donation_id: MessageId
    kind: EventKind = EventKind.DONATION
    donor_name: str = Field(max_length=100)
    amount: Money
    amount_base: Money
    message: str | None = Field(default=None, max_length=2000)
    downgraded: bool = Field(default=False, description="Thank the donor but do not use the message")
    priority: int = Field(default=0, ge=0, le=1000, description="Higher plays first")
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")


class VideoJob(ReactionJob):
    TYPE: ClassVar[str] = "job.video"

    custom_prompt: str | None = Field(default=None, max_length=4000, description="An admin's own prompt")


class PainterJob(ReactionJob):
    TYPE: ClassVar[str] = "job.painter"


class VoiceJob(ReactionJob):
    TYPE: ClassVar[str] = "job.voice"

    persona: str | None = Field(default=None, max_length=64)


class JobState(StrEnum):
    QUEUED = "queued"
    PLANNING = "planning"
    GENERATING = "generating"
    DOWNLOADING = "downloading"
    RENDERING = "rendering"
    READY = "ready"
    FALLBACK = "fallback"
    """Finished with the offline fallback; ``reason`` says why."""
    FAILED = "failed"
    SKIPPED = "skipped"
    REFUSED = "refused"
    """Not taken: a full queue or a budget; ``reason`` says which."""


FINAL_JOB_STATES = frozenset(
    {JobState.READY, JobState.FALLBACK, JobState.FAILED, JobState.SKIPPED, JobState.REFUSED}
)


class JobStatus(Payload):
    TYPE: ClassVar[str] = "job.status"

    job_id: MessageId
    donation_id: MessageId
    reaction: ReactionKind
    state: JobState
    progress: float | None = Field(default=None, ge=0, le=1)
    detail: str = Field(default="", max_length=500, description="What is happening, for the dashboard")
    reason: str | None = Field(
        default=None, max_length=500, description="Why it fell back, failed or was refused"
    )
    artifact: ArtifactRef | None = None
