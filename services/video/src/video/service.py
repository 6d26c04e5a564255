"""What the video service decides for one job, without any transport.

For each video job: check the budget, submit to AIML (recording the generation id before polling), poll until the
video is done, download it safely, store it and cue the stage. Whenever a generated video is not possible (no key,
over budget, AIML failing after its retries, an unsafe or broken download) the donor gets the offline celebration
card instead, with the reason in the job status. Every step is recorded in KV, so a redelivered job (a restart, a
crash) resumes where it was: it never pays for a second generation and never cues the stage twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from ovation_artifacts import ArtifactStore
from ovation_contracts import (
    ArtifactRef,
    CueKind,
    GenerationPhase,
    JobState,
    JobStatus,
    ReactionKind,
    StageCue,
    VideoFallbackReason,
    VideoGeneration,
    VideoJob,
    VideoSettings,
    utc_now,
)

from . import metrics
from .aiml import (
    IN_QUEUE,
    AimlClient,
    AimlError,
    AimlGenerationFailed,
    AimlRejected,
    AimlTimedOut,
    AimlUnanswered,
    Generation,
    GenerationRequest,
)
from .budget import BudgetDecision
from .cards import CardContent, CardError, CardRenderer
from .download import DownloadError, SafeDownloader
from .media import FfmpegMissing, NotPlayable, Probe, probe
from .prompt import build_prompt, uses_message

log = logging.getLogger(__name__)

TYPICAL_GENERATION_SECONDS = 120.0
"""AIML: "around 2 minutes for an 8-second video with audio"; shapes the progress estimate."""


class Records(Protocol):
    async def get(self, job_id: str) -> VideoGeneration | None: ...
    async def put(self, record: VideoGeneration) -> None: ...


class Budget(Protocol):
    async def reserve(
        self, job: VideoJob, settings: VideoSettings, clock: Callable[[], datetime]
    ) -> BudgetDecision: ...
    async def release(self, job: VideoJob) -> None: ...


class Outbox(Protocol):
    """Where job status events and stage cues go (the bus, in production)."""

    async def status(self, status: JobStatus, event_id: str) -> None: ...
    async def cue(self, cue: StageCue) -> None: ...


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """How videos are generated (from ``VideoServiceSettings``)."""

    model: str = "google/veo3"
    aspect_ratio: str = "16:9"
    duration: int = 8
    resolution: str = "720P"
    generate_audio: bool = True
    enhance_prompt: bool = True
    negative_prompt: str = ""
    message_max_chars: int = 400
    poll_interval: float = 10.0
    poll_max_interval: float = 30.0
    generation_timeout: float = 900.0


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def artifact_key(job_id: str, *, card: bool = False) -> str:
    """``video/<readable job id>-<hash>[-card].mp4``: stable for a job, unique across jobs, a safe store key."""
    readable = _UNSAFE_NAME.sub("-", job_id).strip("-._")[:80] or "job"
    digest = hashlib.sha256(job_id.encode()).hexdigest()[:10]
    return f"video/{readable}-{digest}{'-card' if card else ''}.mp4"


def estimate_progress(elapsed: float) -> float:
    """A progress figure between 0.1 and 0.9 that grows with time, since AIML reports none."""
    return round(0.1 + 0.8 * (1 - math.exp(-max(0.0, elapsed) / TYPICAL_GENERATION_SECONDS)), 2)


class _Fallback(Exception):
    def __init__(self, reason: VideoFallbackReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


class VideoService:
    def __init__(
        self,
        *,
        aiml: AimlClient | None,
        downloader: SafeDownloader,
        cards: CardRenderer,
        artifacts: ArtifactStore,
        records: Records,
        budget: Budget,
        outbox: Outbox,
        load_settings: Callable[[], Awaitable[VideoSettings]],
        options: GenerationOptions,
        work_dir: Path | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.aiml = aiml
        self.downloader = downloader
        self.cards = cards
        self.artifacts = artifacts
        self.records = records
        self.budget = budget
        self.outbox = outbox
        self.load_settings = load_settings
        self.options = options
        self.work_dir = work_dir
        self.clock = clock
        self._handling: dict[str, _Turn] = {}
        """Jobs in this process's hands: a copy delivered again meanwhile waits, then finds the job finished."""
        self._unsent: set[str] = set()
        """Jobs whose "submitting" record may be stored although this process certainly did not submit them
        (storing it failed): they may still be submitted, where a record left by a crash may not."""

    # The job -------------------------------------------------------------------------------------------------
    async def handle(self, job: VideoJob) -> JobState:
        """Bring ``job`` to a final state (ready, fallback or failed) and cue the stage once; returns the state.

        Raises only when the infrastructure fails (KV, the artifact store, NATS), so the bus retries the job.
        """
        turn = self._handling.setdefault(job.job_id, _Turn())
        turn.waiting += 1
        try:
            async with turn.lock:
                return await self._handle(job)
        finally:
            turn.waiting -= 1
            if not turn.waiting:
                del self._handling[job.job_id]

    async def _handle(self, job: VideoJob) -> JobState:
        record = await self.records.get(job.job_id)
        if record is not None and record.phase is GenerationPhase.FINISHED:
            return await self._republish(job, record)
        if record is None:
            await self._status(job, JobState.QUEUED, detail="received; checking the video budget")
        try:
            if self.aiml is None:
                raise _Fallback(
                    VideoFallbackReason.NO_KEY,
                    "no AIML API key is set (VIDEO_AIML_API_KEY), so the donor gets the offline celebration card",
                )
            record = await self._generation(job, record, self.aiml)
            assert record.generation_id is not None
            url = await self._wait(job, record, self.aiml)
            artifact = await self._download(job, url)
        except _Fallback as fallback:
            return await self._fallback(job, record, fallback.reason, fallback.detail)
        if record.submitted_at is not None:
            metrics.GENERATION_SECONDS.observe((self.clock() - record.submitted_at).total_seconds())
        return await self._finish(
            job, record, JobState.READY, artifact, detail="the generated video is ready and cued on stage"
        )

    async def _generation(
        self, job: VideoJob, record: VideoGeneration | None, aiml: AimlClient
    ) -> VideoGeneration:
        """The job's generation record with AIML's generation id: the existing one after a restart, else a new
        generation within the budget (recorded before and after the paid submit)."""
        if record is not None and record.generation_id:
            log.info("resuming generation %s after a restart", record.generation_id)
            return record
        if (
            record is not None
            and record.phase is GenerationPhase.SUBMITTING
            and job.job_id not in self._unsent
        ):
            raise _Fallback(
                VideoFallbackReason.INTERRUPTED,
                "the service stopped while asking AIML for this video, so it cannot tell whether AIML took it; "
                "it was not asked again, to never pay twice. Check the AIML dashboard for the video",
            )
        settings = await self.load_settings()
        decision = await self.budget.reserve(job, settings, self.clock)
        if not decision.allowed:
            raise _Fallback(VideoFallbackReason.BUDGET, decision.detail)
        request = GenerationRequest(
            model=self.options.model,
            prompt=build_prompt(job, settings, max_message_chars=self.options.message_max_chars),
            aspect_ratio=self.options.aspect_ratio,
            duration=self.options.duration,
            resolution=self.options.resolution,
            generate_audio=self.options.generate_audio,
            enhance_prompt=self.options.enhance_prompt,
            negative_prompt=self.options.negative_prompt,
        )
        record = VideoGeneration(
            job_id=job.job_id,
            donation_id=job.donation_id,
            phase=GenerationPhase.SUBMITTING,
            model=request.model,
            updated_at=self.clock(),
        )
        try:
            await self.records.put(record)
        except BaseException:
            self._unsent.add(job.job_id)  # a timed-out write may still land, but nothing was sent to AIML
            raise
        self._unsent.discard(job.job_id)
        try:
            generation_id = await aiml.submit(request)
        except AimlError as exc:
            if not isinstance(exc, AimlUnanswered):
                await self.budget.release(job)  # AIML certainly did not take it: nothing was spent
            raise _Fallback(_reason_for(exc), str(exc)) from exc
        now = self.clock()
        record = record.model_copy(
            update={
                "phase": GenerationPhase.GENERATING,
                "generation_id": generation_id,
                "submitted_at": now,
                "updated_at": now,
            }
        )
        await self.records.put(record)  # before polling: a restart resumes this generation
        metrics.SUBMISSIONS.inc()
        return record

    async def _wait(self, job: VideoJob, record: VideoGeneration, aiml: AimlClient) -> str:
        assert record.generation_id is not None
        assert record.submitted_at is not None
        opts = self.options
        spent = (self.clock() - record.submitted_at).total_seconds()
        remaining = opts.generation_timeout - spent
        reported = -1.0

        async def on_progress(generation: Generation, _polling: float) -> None:
            nonlocal reported
            elapsed = (self.clock() - record.submitted_at).total_seconds() if record.submitted_at else 0.0
            queued = generation.status in IN_QUEUE
            progress = 0.05 if queued else estimate_progress(elapsed)
            if generation.finished or progress - reported < 0.05:
                return
            reported = progress
            where = "waiting in AIML's queue" if queued else "AIML is generating the video"
            await self._status(
                job,
                JobState.GENERATING,
                detail=f"{where} ({elapsed:.0f} s so far)",
                progress=progress,
                suffix=f"{round(progress * 100):02d}",
            )

        if remaining <= 0:
            raise _Fallback(
                VideoFallbackReason.TIMEOUT,
                f"generation {record.generation_id} was not finished after {opts.generation_timeout:g} s; raise "
                "VIDEO_GENERATION_TIMEOUT if AIML is just slow today",
            )
        try:
            return await aiml.wait(
                record.generation_id,
                timeout=remaining,
                interval=opts.poll_interval,
                max_interval=opts.poll_max_interval,
                on_progress=on_progress,
            )
        except AimlError as exc:
            raise _Fallback(_reason_for(exc), str(exc)) from exc

    async def _download(self, job: VideoJob, url: str) -> ArtifactRef:
        host = urlsplit(url).hostname or "the video host"
        await self._status(
            job, JobState.DOWNLOADING, detail=f"downloading the finished video from {host}", progress=0.95
        )
        try:
            downloaded = await self.downloader.fetch(url)
            found = await self._probe(downloaded.data)
        except (DownloadError, NotPlayable) as exc:
            log.warning("the generated video was not taken: %s", exc)
            raise _Fallback(VideoFallbackReason.DOWNLOAD, f"the generated video was not used: {exc}") from exc
        metrics.DOWNLOAD_BYTES.inc(len(downloaded.data))
        ref = await self.artifacts.put(artifact_key(job.job_id), downloaded.data, "video/mp4")
        return _described(ref, found)

    async def _probe(self, data: bytes) -> Probe:
        """Probe the bytes from a scratch file (ffmpeg needs to seek in an MP4), removed right after."""
        if self.work_dir is not None:
            self.work_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=".download-", suffix=".mp4", dir=self.work_dir)
        path = Path(name)
        try:
            await asyncio.to_thread(_write_and_close, handle, data)
            return await probe(path)
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)

    # Endings -------------------------------------------------------------------------------------------------
    async def _fallback(
        self, job: VideoJob, record: VideoGeneration | None, reason: VideoFallbackReason, detail: str
    ) -> JobState:
        log.info("offline card instead of a generated video (%s): %s", reason.value, detail)
        record = record or VideoGeneration(
            job_id=job.job_id,
            donation_id=job.donation_id,
            phase=GenerationPhase.SUBMITTING,
            updated_at=self.clock(),
        )
        await self._status(
            job,
            JobState.RENDERING,
            detail=f"rendering the offline celebration card: {detail}",
            reason=reason.value,
        )
        content = CardContent(
            donor_name=job.donor_name,
            amount=job.amount,
            message=job.message if uses_message(job) else None,
            seed=job.job_id,
        )
        started = time.perf_counter()
        try:
            data = await asyncio.to_thread(
                self.cards.render_to_bytes, content, self.cards.format_for(self.options.aspect_ratio)
            )
            found = await self._probe(data)
        except (CardError, FfmpegMissing, NotPlayable, OSError) as exc:
            log.error("the offline card could not be rendered: %s", exc)
            return await self._finish(
                job,
                record,
                JobState.FAILED,
                None,
                reason=reason,
                detail=f"{detail}; and the offline card failed too: {exc}"[:500],
            )
        metrics.CARD_SECONDS.observe(time.perf_counter() - started)
        ref = await self.artifacts.put(artifact_key(job.job_id, card=True), data, "video/mp4")
        return await self._finish(
            job, record, JobState.FALLBACK, _described(ref, found), reason=reason, detail=detail
        )

    async def _finish(
        self,
        job: VideoJob,
        record: VideoGeneration,
        state: JobState,
        artifact: ArtifactRef | None,
        *,
        detail: str,
        reason: VideoFallbackReason | None = None,
    ) -> JobState:
        cue = (
            StageCue(
                cue_id=f"{job.job_id}:cue",
                donation_id=job.donation_id,
                kind=CueKind.VIDEO,
                reaction=ReactionKind.VIDEO,
                priority=job.priority,
                donor_name=job.donor_name,
                amount=job.amount,
                message=job.message if uses_message(job) else None,
                artifact=artifact,
                duration_ms=artifact.duration_ms,
            )
            if artifact is not None
            else None
        )
        record = record.model_copy(
            update={
                "phase": GenerationPhase.FINISHED,
                "state": state,
                "artifact": artifact,
                "cue": cue,
                "reason": reason,
                "detail": detail[:500],
                "updated_at": self.clock(),
            }
        )
        await self.records.put(record)
        metrics.JOBS.labels(state.value, reason.value if reason else "").inc()
        return await self._republish(job, record)

    async def _republish(self, job: VideoJob, record: VideoGeneration) -> JobState:
        """Publish a finished job's final status and cue (the same ids each time, so JetStream stores them once)."""
        assert record.state is not None
        if record.cue_published:
            log.info("already finished as %s; nothing more to do", record.state.value)
            return record.state
        await self._status(
            job,
            record.state,
            detail=record.detail,
            reason=record.reason.value if record.reason else None,
            artifact=record.artifact,
            progress=1.0,
        )
        if record.cue is not None:
            await self.outbox.cue(record.cue)
        await self.records.put(record.model_copy(update={"cue_published": True, "updated_at": self.clock()}))
        log.info(
            "finished as %s",
            record.state.value,
            extra={"artifact": record.artifact.key if record.artifact else None},
        )
        return record.state

    async def _status(
        self,
        job: VideoJob,
        state: JobState,
        *,
        detail: str = "",
        progress: float | None = None,
        reason: str | None = None,
        artifact: ArtifactRef | None = None,
        suffix: str = "",
    ) -> None:
        status = JobStatus(
            job_id=job.job_id,
            donation_id=job.donation_id,
            reaction=ReactionKind.VIDEO,
            state=state,
            progress=progress,
            detail=detail[:500],
            reason=reason[:500] if reason else None,
            artifact=artifact,
        )
        event_id = f"{job.job_id}:{state.value}" + (f":{suffix}" if suffix else "")
        await self.outbox.status(status, event_id)


def _reason_for(error: AimlError) -> VideoFallbackReason:
    if isinstance(error, AimlRejected):
        return VideoFallbackReason.AIML_REJECTED
    if isinstance(error, AimlGenerationFailed):
        return VideoFallbackReason.AIML_FAILED
    if isinstance(error, AimlTimedOut):
        return VideoFallbackReason.TIMEOUT
    return VideoFallbackReason.AIML_UNAVAILABLE


def _described(ref: ArtifactRef, found: Probe) -> ArtifactRef:
    return ref.model_copy(
        update={"duration_ms": found.duration_ms, "width": found.width, "height": found.height}
    )


def _write_and_close(handle: int, data: bytes) -> None:
    with os.fdopen(handle, "wb") as file:
        file.write(data)
