"""The show's position, kept in KV (``ovation-queues``/``voice-show``) so a restart neither loses nor repeats a clip.

The document holds the upcoming script lines (the head is the next to be cued), the interrupts waiting with their
attempts, the clips handed to the widget and not yet finished, the clips of late (for the clips list), the jobs
already finished (a redelivered job is not spoken twice) and the last lines spoken (the LLM's context). Audio is not
in it: clips are artifacts, found again by their cache key.

Writes are compare-and-set on the KV revision, so two writers never both take the same step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal, Protocol

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict, Field

from ovation_contracts import StageCue, VoiceClip, VoiceJob, bus

KEY = "voice-show"
LineSource = Literal["script", "llm", "filler"]
BUCKET = bus.KV_QUEUES


class UpcomingLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    line_id: str
    persona: str
    text: str = Field(max_length=2000)
    source: LineSource = "script"


class PendingInterrupt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job: VoiceJob
    arrival: int
    attempts: int = 0
    last_error: str | None = None


class OnStage(BaseModel):
    """A clip the widget has (or will have again, after a restart) and has not finished."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clip: VoiceClip
    cue: StageCue


class ShowState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    show_id: str = Field(pattern=r"^[a-z0-9]{6,32}$")
    seq: int = 0
    """Clips cued so far: the next cue is ``voice:<show_id>:<seq + 1>``."""
    arrivals: int = 0
    segments: int = 0
    upcoming: list[UpcomingLine] = Field(default_factory=list)
    interrupts: list[PendingInterrupt] = Field(default_factory=list)
    on_stage: list[OnStage] = Field(default_factory=list)
    recent: list[VoiceClip] = Field(default_factory=list)
    finished_jobs: list[str] = Field(default_factory=list)
    history: list[str] = Field(default_factory=list)

    def pending(self, job_id: str) -> PendingInterrupt | None:
        return next((p for p in self.interrupts if p.job.job_id == job_id), None)


class Conflict(Exception):
    """Someone else changed the show state since it was read."""


class ShowStore(Protocol):
    async def load(self) -> tuple[ShowState | None, int | None]:
        """The stored state and its revision; (None, None) when there is none yet."""
        ...

    async def save(self, state: ShowState, revision: int | None) -> int:
        """Store ``state`` if the stored revision is still ``revision``; the new revision, or ``Conflict``."""
        ...


class KvShowStore:
    def __init__(self, bucket: Callable[[], Awaitable[KeyValue]]) -> None:
        self.bucket = bucket

    async def load(self) -> tuple[ShowState | None, int | None]:
        kv = await self.bucket()
        try:
            entry = await kv.get(KEY)
        except KeyNotFoundError:
            return None, None
        if not entry.value:
            return None, entry.revision
        return ShowState.model_validate_json(entry.value), entry.revision

    async def save(self, state: ShowState, revision: int | None) -> int:
        kv = await self.bucket()
        data = state.model_dump_json().encode()
        try:
            if revision is None:
                return int(await kv.create(KEY, data))
            return int(await kv.update(KEY, data, last=revision))
        except KeyWrongLastSequenceError as exc:
            raise Conflict(str(exc)) from exc
        except Exception as exc:
            # nats-py reports a create over an existing key as a generic API error ("wrong last sequence")
            if "wrong last sequence" in str(exc).lower():
                raise Conflict(str(exc)) from exc
            raise


class MemoryShowStore:
    """The same in memory (tests, the benchmark); ``saved`` counts the writes."""

    def __init__(self) -> None:
        self.data: str | None = None
        self.revision = 0
        self.saved = 0

    async def load(self) -> tuple[ShowState | None, int | None]:
        if self.data is None:
            return None, None
        return ShowState.model_validate_json(self.data), self.revision

    async def save(self, state: ShowState, revision: int | None) -> int:
        current = self.revision if self.data is not None else None
        if current != revision:
            raise Conflict(f"revision {revision} is not the stored {current}")
        self.data = state.model_dump_json()
        self.revision += 1
        self.saved += 1
        return self.revision
