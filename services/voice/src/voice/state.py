"""The show's position, kept in KV (``ovation-queues``/``voice-show``) so a restart neither loses nor repeats a clip.

The document holds the upcoming script lines (the head is the next to be cued), the interrupts waiting with their
attempts, the clips handed to the widget and not yet finished, the clips of late (for the clips list), the jobs
already finished (a redelivered job is not spoken twice), the last lines spoken (the LLM's context) and the term of
the instance that runs the show (its fence, see ``show.py``). Audio is not in it: clips are artifacts, found again by
their cache key.

Writes are compare-and-set on the KV revision, so two writers never both take the same step. Every voice instance
writes to it (jobs and playback reports arrive at any of them) and follows it through a KV watch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Literal, Protocol

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

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
    started_at: AwareDatetime | None = None
    """When the widget reported it started; it counts as played a grace period after its end."""

    def overdue(self, now: datetime, grace: float) -> bool:
        """Started and not reported finished long after it must have ended."""
        if self.started_at is None:
            return False
        return (now - self.started_at).total_seconds() > self.clip.duration_ms / 1000 + grace


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
    leader: str = ""
    """The instance that runs the show, and the term (lease revision) it took it at: only its steps are taken."""
    term: int = 0

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

    def changes(self) -> AsyncIterator[tuple[ShowState, int]]:
        """The stored state each time it changes, whoever changed it (may repeat one already seen)."""
        ...


class KvShowStore:
    def __init__(self, bucket: Callable[[], Awaitable[KeyValue]], reread_every: float = 5.0) -> None:
        self.bucket = bucket
        self.reread_every = reread_every

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

    async def changes(self) -> AsyncIterator[tuple[ShowState, int]]:
        """Through a KV watch; read again after ``reread_every`` quiet seconds, should the watch go quiet for good
        (its consumer lost in a NATS restart)."""
        kv = await self.bucket()
        watcher = await kv.watch(KEY)
        try:
            while True:
                try:
                    entry = await watcher.updates(timeout=self.reread_every)  # type: ignore[no-untyped-call]
                except TimeoutError:
                    state, revision = await self.load()
                    if state is not None and revision is not None:
                        yield state, revision
                    continue
                if entry is None or entry.operation in (KV_DEL, KV_PURGE) or not entry.value:
                    continue
                yield ShowState.model_validate_json(entry.value), int(entry.revision)
        finally:
            with contextlib.suppress(Exception):
                await watcher.stop()  # type: ignore[no-untyped-call]


class MemoryShowStore:
    """The same in memory (tests, the benchmark); ``saved`` counts the writes."""

    def __init__(self) -> None:
        self.data: str | None = None
        self.revision = 0
        self.saved = 0
        self._followers: list[asyncio.Queue[tuple[str, int]]] = []

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
        for follower in self._followers:
            follower.put_nowait((self.data, self.revision))
        return self.revision

    async def changes(self) -> AsyncIterator[tuple[ShowState, int]]:
        queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        self._followers.append(queue)
        try:
            while True:
                data, revision = await queue.get()
                yield ShowState.model_validate_json(data), revision
        finally:
            self._followers.remove(queue)
