"""The video service's durable state in KV: one generation record per job, and the spend-budget ledger.

A generation record is written *before* AIML is asked to generate, and again with AIML's generation id as soon as
AIML accepts it, so a restarted service resumes polling the same generation instead of paying for a new one.
The ledger holds what the budget counts (generations per hour and per day, the last video of each donor) and is
updated with compare-and-set, so replicas sharing it never overspend.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from . import bus
from .artifacts import ArtifactRef
from .envelope import MessageId
from .jobs import JobState
from .settings import KvDocument
from .stage import StageCue


class VideoFallbackReason(StrEnum):
    """Why a video job got the offline celebration card instead of a generated video (``JobStatus.reason``)."""

    NO_KEY = "no_key"
    """No AIML API key is configured."""
    BUDGET = "budget"
    """The hourly or daily generation budget, or the donor's cooldown, is used up."""
    AIML_REJECTED = "aiml_rejected"
    """AIML refused the request (bad key, no credits, invalid settings): retrying would not help."""
    AIML_UNAVAILABLE = "aiml_unavailable"
    """AIML did not answer, or answered errors, after every retry."""
    AIML_FAILED = "aiml_failed"
    """AIML accepted the job and then reported that the generation failed."""
    TIMEOUT = "timeout"
    """The generation took longer than the configured limit."""
    DOWNLOAD = "download"
    """The finished video could not be fetched safely, or is not a playable MP4."""
    INTERRUPTED = "interrupted"
    """The service stopped while submitting and cannot tell whether AIML accepted the job; never paid twice."""


class GenerationPhase(StrEnum):
    SUBMITTING = "submitting"
    """About to ask AIML; if a restart finds this phase, AIML may or may not have accepted the job."""
    GENERATING = "generating"
    """AIML accepted the job; ``generation_id`` is what to poll."""
    FINISHED = "finished"
    """The job has its final state and artifact; ``cue_published`` tells whether the stage was cued."""


_KEY_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def kv_token(value: str) -> str:
    """``value`` as one KV key token: every character outside ``[A-Za-z0-9_-]`` becomes ``=XX`` (reversible)."""
    return _KEY_SAFE.sub(lambda m: "".join(f"={b:02X}" for b in m.group().encode()), value)


class VideoGeneration(KvDocument):
    """What the video service knows about one job, under ``video.generation.<job id>`` in ``ovation-jobs``."""

    BUCKET: ClassVar[str] = bus.KV_JOBS
    KEY_PREFIX: ClassVar[str] = "video.generation."

    job_id: MessageId
    donation_id: MessageId
    phase: GenerationPhase
    model: str | None = Field(default=None, max_length=100)
    generation_id: str | None = Field(default=None, max_length=256, description="AIML's id of the generation")
    submitted_at: AwareDatetime | None = None
    updated_at: AwareDatetime
    state: JobState | None = Field(default=None, description="The final state once finished")
    reason: VideoFallbackReason | None = None
    detail: str = Field(default="", max_length=500)
    artifact: ArtifactRef | None = None
    cue: StageCue | None = Field(default=None, description="The cue the stage got; a replay plays it again")
    cue_published: bool = False

    @staticmethod
    def key_for(job_id: str) -> str:
        return f"{VideoGeneration.KEY_PREFIX}{kv_token(job_id)}"


class BudgetEntry(BaseModel):
    """One generation counted against the budget."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: MessageId
    at: AwareDatetime


class VideoBudgetLedger(KvDocument):
    """What the spend budget counts. Generations of the last hour are kept one by one (``recent``); older ones
    within the day are folded into per-hour counts (``hourly``, keyed by the hour's start in Unix seconds), so the
    document stays small whatever the limits are."""

    BUCKET: ClassVar[str] = bus.KV_JOBS
    KEY: ClassVar[str] = "video.budget"

    recent: tuple[BudgetEntry, ...] = ()
    hourly: dict[int, int] = Field(default_factory=dict)
    donors: dict[str, AwareDatetime] = Field(
        default_factory=dict, description="When each donor last got a generated video"
    )

    def count_since(self, since: datetime) -> int:
        """Generations counted at or after ``since`` (hourly counts count whole when their hour overlaps)."""
        recent = sum(1 for entry in self.recent if entry.at >= since)
        start = since.timestamp()
        return recent + sum(count for hour, count in self.hourly.items() if hour + 3600 > start)

    def holds(self, job_id: str) -> bool:
        return any(entry.job_id == job_id for entry in self.recent)

    def compacted(self, now: datetime, cooldown_seconds: int) -> VideoBudgetLedger:
        """The ledger without what no limit can count any more at ``now``."""
        hour_ago = now - timedelta(hours=1)
        day_start = (now - timedelta(days=1)).timestamp()
        hourly = {hour: count for hour, count in self.hourly.items() if hour + 3600 > day_start}
        recent = []
        for entry in self.recent:
            if entry.at >= hour_ago:
                recent.append(entry)
            else:
                hour = int(entry.at.timestamp()) // 3600 * 3600
                if hour + 3600 > day_start:
                    hourly[hour] = hourly.get(hour, 0) + 1
        cutoff = now - timedelta(seconds=cooldown_seconds)
        donors = {donor: at for donor, at in self.donors.items() if at > cutoff}
        return self.model_copy(update={"recent": tuple(recent), "hourly": hourly, "donors": donors})


__all__ = [
    "BudgetEntry",
    "GenerationPhase",
    "VideoBudgetLedger",
    "VideoFallbackReason",
    "VideoGeneration",
    "kv_token",
]
