"""What the painter decides: which request is drawn when, what each job's status is, and what the viewers see.

``Painter`` is plain asyncio with its I/O passed in (``PainterPorts``); it imports nothing from FastStream.

A job's life: ``accept`` stores it in the queue (in KV) and reports it ``queued`` (or ``refused`` when the queue
is full); when its turn comes it is ``planning`` (the next request is planned while the current one is drawn),
then ``rendering`` with progress while it appears on the canvas, then ``ready`` with the PNG artifact (or
``fallback`` when the LLM failed or the request was downgraded to the card), and the picture stays on screen
for the hold time. ``skip`` ends the drawing or the hold on screen (``skipped``); a picture a viewer cannot
draw is ``failed`` and skipped. Nothing here ever stops the show: every failure is reported and the next
request is drawn.

Shutdown (``finish``) lets the drawing on screen finish, unless it is skipped, and keeps everything else in
KV; a drawing cut short by a crash is drawn again after the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from ovation_contracts import (
    ArtifactRef,
    JobState,
    JobStatus,
    PainterJob,
    PainterPhase,
    PainterQueueItem,
    PainterQueueSnapshot,
    PainterQueueState,
    PainterSettings,
    ReactionKind,
)
from ovation_contracts.canvas import CanvasPlan

from .board import Board, Request, Showing, StageView, monotonic
from .planner import DrawingPlanner, PlanOutcome, PlanSource, seed_for
from .queue import Admission, PaintQueue, QueueItemNotFound
from .render import encode_png, final_frame
from .timeline import Timeline, build_timeline

log = logging.getLogger(__name__)

PREVIEW = 5
PROGRESS_STEP = 0.1
"""Progress statuses are sent at most every tenth of the drawing."""


class PictureStore(Protocol):
    """The part of ``ovation_artifacts.ArtifactStore`` the painter uses."""

    async def put(self, key: str, data: bytes, content_type: str | None = None) -> ArtifactRef: ...


@dataclass(frozen=True, slots=True)
class PainterPorts:
    """The painter's I/O, given by the composition root (real NATS and storage) or by tests."""

    publish_status: Callable[[JobStatus], Awaitable[None]]
    """Publish one status; may wait as long as NATS is away (the painter never waits for it)."""
    save_state: Callable[[PainterQueueState], Awaitable[None]]
    load_settings: Callable[[], Awaitable[PainterSettings]]
    store: PictureStore


@dataclass(frozen=True, slots=True)
class PainterOptions:
    title: str = "Ovation"
    art_width: int = 96
    art_height: int = 96
    time_scale: float = 1.0
    """Timeline milliseconds per real millisecond: 1 is real time; tests and demos use more."""
    png_scale: int = 8
    settings_refresh: float = 5.0
    """Seconds between reloads of the runtime settings (caption, queue size, hold) while idle."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    ok: bool
    message: str


class _Interrupt(StrEnum):
    SKIP = "skip"
    FAILED = "failed"
    STOP = "stop"


def artifact_key(job_id: str, extension: str) -> str:
    """``painter/<job id made safe>-<hash>.<extension>``: a valid artifact key for any job id."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", job_id).strip("._-")[:120] or "job"
    digest = hashlib.sha256(job_id.encode()).hexdigest()[:10]
    return f"painter/{safe}-{digest}.{extension}"


class Painter:
    """The painter's queue and show. Call ``restore`` once, run ``run`` for the service's lifetime."""

    def __init__(
        self,
        planner: DrawingPlanner,
        board: Board,
        ports: PainterPorts,
        options: PainterOptions | None = None,
        settings: PainterSettings | None = None,
    ) -> None:
        self.planner = planner
        self.board = board
        self.ports = ports
        self.options = options or PainterOptions()
        self.settings = settings or PainterSettings()
        self.queue = PaintQueue(max_size=self.settings.max_queue)
        self.phase: PainterPhase | None = None
        self.showing: Showing | None = None
        self.restored = asyncio.Event()
        self._wake = asyncio.Event()
        self._interrupt = asyncio.Event()
        self._interrupt_reason: tuple[_Interrupt, str] | None = None
        self._drawn = asyncio.Event()
        """Set whenever no drawing is in progress (shutdown waits for it)."""
        self._drawn.set()
        self._stopping = False
        self._plans: dict[str, asyncio.Task[PlanOutcome]] = {}
        self._outbox: asyncio.Queue[JobStatus] = asyncio.Queue()
        self._outbox_task: asyncio.Task[None] | None = None
        self._save_lock = asyncio.Lock()
        self._sent_progress: dict[str, int] = {}
        self._showings = 0
        self._holding: PainterQueueItem | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # start-up ---------------------------------------------------------------------------------------------------

    async def restore(self, state: PainterQueueState | None, settings: PainterSettings | None = None) -> None:
        """Take the queue (and settings) from KV; call once before jobs arrive."""
        self._loop = asyncio.get_running_loop()
        if settings is not None:
            self.settings = settings
        self.queue = PaintQueue(state, max_size=self.settings.max_queue)
        if self.queue.active is not None:
            log.info("drawing %s again: the painter stopped before it was finished", self.queue.active.job_id)
        self.board.on_failure(self._viewer_failed_threadsafe)
        self._outbox_task = asyncio.create_task(self._send_statuses(), name="painter-statuses")
        self.restored.set()
        self._publish_view()

    # commands ---------------------------------------------------------------------------------------------------

    async def accept(self, job: PainterJob) -> None:
        """Queue a job from the bus; returns once the queue is stored (then the message may be acked)."""
        await self.restored.wait()
        offer = self.queue.offer(job, datetime.now(UTC))
        await self._save()  # also for a duplicate: an earlier save may not have happened before a crash
        if offer.admission is Admission.DUPLICATE:
            log.info("job %s is already known to the painter; nothing to do", job.job_id)
            return
        if offer.admission is Admission.REFUSED:
            self._report(job, JobState.REFUSED, reason=offer.reason)
            return
        if offer.bumped is not None:
            self._cancel_plan(offer.bumped.job_id)
            self._report(
                offer.bumped.job,
                JobState.REFUSED,
                reason="bumped out of the full painter queue by a request with a higher priority",
            )
        assert offer.position is not None
        self._report(job, JobState.QUEUED, detail=f"number {offer.position + 1} in the painter queue")
        self._publish_view()
        self._wake.set()

    async def skip(self) -> CommandResult:
        """End what is on screen now: a drawing in progress (skipped), or the finished picture's hold."""
        if self.phase is None:
            return CommandResult(False, "nothing is being drawn right now")
        active = self.queue.active or (self._holding_item())
        what = f"{active.job.donor_name}'s drawing" if active else "the picture on screen"
        self._interrupt_with(_Interrupt.SKIP, "skipped by the operator")
        return CommandResult(True, f"skipping {what}")

    async def clear(self) -> CommandResult:
        """Remove every waiting request; the drawing on screen keeps going."""
        removed = self.queue.clear()
        for item in removed:
            self._cancel_plan(item.job_id)
        await self._save()
        for item in removed:
            self._report(item.job, JobState.SKIPPED, reason="the painter queue was cleared by the operator")
        self._publish_view()
        return CommandResult(
            True, f"removed {len(removed)} waiting request(s); the drawing on screen goes on"
        )

    async def pause(self, paused: bool) -> CommandResult:
        self.queue.pause(paused)
        await self._save()
        self._publish_view()
        self._wake.set()
        if paused:
            return CommandResult(True, "paused: the drawing on screen finishes, the next one waits")
        return CommandResult(True, "resumed")

    async def remove(self, job_id: str) -> CommandResult:
        """Remove one waiting request; for the one on screen this is a skip."""
        active = self.queue.active
        if active is not None and active.job_id == job_id:
            return await self.skip()
        try:
            item = self.queue.remove(job_id)
        except QueueItemNotFound as exc:
            return CommandResult(False, str(exc))
        self._cancel_plan(job_id)
        await self._save()
        self._report(item.job, JobState.SKIPPED, reason="removed from the painter queue by the operator")
        self._publish_view()
        return CommandResult(True, f"removed {item.job.donor_name}'s request")

    async def move(self, job_id: str, by: int) -> CommandResult:
        try:
            position = self.queue.move(job_id, by)
        except QueueItemNotFound as exc:
            return CommandResult(False, str(exc))
        await self._save()
        self._publish_view()
        return CommandResult(True, f"now number {position + 1} in the painter queue")

    def snapshot(self) -> PainterQueueSnapshot:
        """The queue as the dashboard shows it."""
        showing = self.showing
        return PainterQueueSnapshot(
            paused=self.queue.paused,
            max_queue=self.queue.max_size,
            active=self.queue.active or self._holding_item(),
            phase=self.phase,
            progress=round(showing.progress(monotonic()), 4) if showing is not None else None,
            waiting=tuple(self.queue.waiting),
        )

    # the show ---------------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Draw requests one after another, for as long as the service runs."""
        await self.restored.wait()
        while not self._stopping:
            item = self.queue.active or self.queue.start_next()
            if item is None:
                self._publish_view()
                await _wait(self._wake.wait(), self.options.settings_refresh)
                self._wake.clear()
                await self._refresh_settings()
                continue
            await self._save_quietly()
            try:
                await self._play(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the show goes on whatever happened to one request
                log.exception("drawing %s failed", item.job_id)
                self._end(item, JobState.FAILED, reason=f"the painter failed: {type(exc).__name__}: {exc}")
                await self._save_quietly()
            finally:
                self._drawn.set()
                self.phase, self.showing = None, None
                self._clear_interrupt()
                self._publish_view()

    async def finish(self, grace: float) -> None:
        """Stop: let the drawing on screen finish (at most ``grace`` seconds), keep the rest in KV."""
        self._stopping = True
        self._wake.set()
        if self.phase is PainterPhase.DRAWING:
            log.info("finishing the drawing on screen before stopping (at most %g s)", grace)
            await _wait(self._drawn.wait(), grace)
        self._interrupt_with(_Interrupt.STOP, "the painter is stopping")
        for task in self._plans.values():
            task.cancel()
        await self._save_quietly()
        await self.flush_statuses(timeout=5.0)

    async def flush_statuses(self, timeout: float) -> None:
        await _wait(self._outbox.join(), timeout)

    async def _play(self, item: PainterQueueItem) -> None:
        job = item.job
        await self._refresh_settings()
        self._drawn.clear()
        self.phase = PainterPhase.PLANNING
        self._publish_view()
        self._report(job, JobState.PLANNING, detail="planning the picture")
        plan_task = self._plan_task(item)
        if not await self._until_interrupted(plan_task):
            self._cancel_plan(job.job_id)
            await self._after_interrupt(item)
            return
        self._plans.pop(job.job_id, None)
        outcome = plan_task.result()
        timeline, outcome = await self._timeline_for(job, outcome)
        if timeline is None:
            self._end(item, JobState.FAILED, reason=outcome.fallback_reason or "the plan could not be drawn")
            await self._save_quietly()
            return

        self._showings += 1
        self.showing = Showing(
            key=f"{job.job_id}#{self._showings}",
            timeline=timeline,
            started_at=monotonic(),
            time_scale=self.options.time_scale,
        )
        self.phase = PainterPhase.DRAWING
        self._publish_view()
        detail = {
            PlanSource.LLM: "drawing the LLM's plan",
            PlanSource.OFFLINE: "drawing the offline planner's plan",
        }
        self._report(
            job, JobState.RENDERING, progress=0.0, detail=detail.get(outcome.source, "showing the card")
        )
        picture = asyncio.create_task(
            self._store_picture(job, outcome.plan), name=f"painter-picture-{job.job_id}"
        )
        self._plan_ahead()

        if not await self._until_drawn(job, self.showing):
            picture.cancel()
            await self._after_interrupt(item)
            return
        artifact, storage_error = await self._picture_result(picture)
        state = JobState.READY
        reason = None
        if outcome.source is PlanSource.CARD:
            state, reason = (
                JobState.FALLBACK,
                outcome.fallback_reason or "downgraded by moderation: shown the card",
            )
        elif outcome.fallback_reason is not None:
            state, reason = JobState.FALLBACK, f"drawn by the offline planner: {outcome.fallback_reason}"
        detail_text = (
            "drawn" if storage_error is None else f"drawn, but the picture was not stored: {storage_error}"
        )
        self._end(item, state, reason=reason, artifact=artifact, detail=detail_text, progress=1.0)
        self._drawn.set()  # after the status: a shutdown waiting for this drawing then flushes it
        await self._save_quietly()
        if not self._stopping:
            await self._hold(item)

    async def _hold(self, item: PainterQueueItem) -> None:
        if self.showing is None or self.settings.hold_seconds <= 0:
            return
        hold = self.settings.hold_seconds
        self.showing = Showing(
            key=self.showing.key,
            timeline=self.showing.timeline,
            started_at=self.showing.started_at,
            time_scale=self.showing.time_scale,
            hold_until=monotonic() + hold,
        )
        self.phase = PainterPhase.HOLDING
        self._holding = item
        self._publish_view()
        await _wait(self._interrupt.wait(), hold)
        self._holding = None

    async def _until_drawn(self, job: PainterJob, showing: Showing) -> bool:
        """Wait until the drawing has appeared, sending progress; False when interrupted."""
        while True:
            now = monotonic()
            remaining = showing.ends_at() - now
            if remaining <= 0:
                return True
            progress = showing.progress(now)
            step = int(progress / PROGRESS_STEP)
            if 0 < step < round(1 / PROGRESS_STEP) and self._sent_progress.get(job.job_id, 0) < step:
                self._sent_progress[job.job_id] = step
                self._report(
                    job, JobState.RENDERING, progress=round(step * PROGRESS_STEP, 2), detail="drawing"
                )
            tick = min(
                remaining,
                max(0.05, showing.timeline.duration_ms / 1000 / self.options.time_scale * PROGRESS_STEP),
            )
            await _wait(self._interrupt.wait(), tick)
            if self._interrupt.is_set():
                return False

    async def _until_interrupted(self, task: asyncio.Task[PlanOutcome]) -> bool:
        """Wait for ``task``; False when an interrupt (skip, stop) came first."""
        waiter = asyncio.create_task(self._interrupt.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        return task.done() and not self._interrupt.is_set()

    async def _after_interrupt(self, item: PainterQueueItem) -> None:
        kind, reason = self._interrupt_reason or (_Interrupt.STOP, "")
        if kind is _Interrupt.STOP:
            log.info("stopping in the middle of %s; it is drawn again after the restart", item.job_id)
            return
        self._end(item, JobState.SKIPPED if kind is _Interrupt.SKIP else JobState.FAILED, reason=reason)
        await self._save_quietly()

    def _end(
        self,
        item: PainterQueueItem,
        state: JobState,
        *,
        reason: str | None = None,
        artifact: ArtifactRef | None = None,
        detail: str = "",
        progress: float | None = None,
    ) -> None:
        if self.queue.active is not None and self.queue.active.job_id == item.job_id:
            self.queue.finish_active()
        self._sent_progress.pop(item.job_id, None)
        self._report(item.job, state, reason=reason, artifact=artifact, detail=detail, progress=progress)

    # planning ---------------------------------------------------------------------------------------------------

    def _plan_task(self, item: PainterQueueItem) -> asyncio.Task[PlanOutcome]:
        task = self._plans.get(item.job_id)
        if task is None or task.cancelled():
            task = asyncio.create_task(
                self.planner.plan(item.job, self.settings.caption), name=f"painter-plan-{item.job_id}"
            )
            self._plans[item.job_id] = task
        return task

    def _plan_ahead(self) -> None:
        """Plan the next request while this one is drawn, so it starts as soon as its turn comes."""
        upcoming = self.queue.preview(1)
        if upcoming and not self._stopping:
            self._plan_task(upcoming[0])

    def _cancel_plan(self, job_id: str) -> None:
        task = self._plans.pop(job_id, None)
        if task is not None:
            task.cancel()

    async def _timeline_for(
        self, job: PainterJob, outcome: PlanOutcome
    ) -> tuple[Timeline | None, PlanOutcome]:
        """The plan's timeline; a plan that cannot be laid out falls back to the offline planner's."""
        try:
            return await asyncio.to_thread(build_timeline, outcome.plan), outcome
        except Exception as exc:
            reason = f"the {outcome.source.value} plan could not be laid out: {type(exc).__name__}: {exc}"
            log.exception("plan of %s could not be laid out", job.job_id)
        if outcome.source is PlanSource.OFFLINE:
            return None, PlanOutcome(outcome.plan, outcome.source, reason)
        try:
            subject = "" if job.downgraded else job.message or ""
            plan = self.planner.offline.plan(
                subject, seed=seed_for(job.job_id), caption=self.settings.caption
            )
            fallback = PlanOutcome(plan, PlanSource.OFFLINE, reason)
            return await asyncio.to_thread(build_timeline, plan), fallback
        except Exception as exc:
            return None, PlanOutcome(
                outcome.plan, outcome.source, f"{reason}; the offline plan failed too: {exc}"
            )

    async def _store_picture(self, job: PainterJob, plan: CanvasPlan) -> ArtifactRef:
        png = await asyncio.to_thread(lambda: encode_png(final_frame(plan), self.options.png_scale))
        await self.ports.store.put(
            artifact_key(job.job_id, "json"), plan.model_dump_json().encode(), "application/json"
        )
        ref = await self.ports.store.put(artifact_key(job.job_id, "png"), png, "image/png")
        return ref.model_copy(
            update={
                "width": plan.canvas.w * self.options.png_scale,
                "height": plan.canvas.h * self.options.png_scale,
            }
        )

    @staticmethod
    async def _picture_result(picture: asyncio.Task[ArtifactRef]) -> tuple[ArtifactRef | None, str | None]:
        try:
            return await picture, None
        except Exception as exc:
            log.exception("the finished picture could not be stored")
            return None, f"{type(exc).__name__}: {exc}"

    # interrupts -------------------------------------------------------------------------------------------------

    def _interrupt_with(self, kind: _Interrupt, reason: str) -> None:
        if self._interrupt_reason is None or kind is _Interrupt.STOP:
            self._interrupt_reason = (kind, reason)
        self._interrupt.set()

    def _clear_interrupt(self) -> None:
        self._interrupt.clear()
        self._interrupt_reason = None

    def _viewer_failed_threadsafe(self, key: str, error: str) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._viewer_failed, key, error)

    def _viewer_failed(self, key: str, error: str) -> None:
        if self.showing is not None and self.showing.key == key and self.phase is PainterPhase.DRAWING:
            self._interrupt_with(_Interrupt.FAILED, f"the picture could not be drawn: {error}")

    def _holding_item(self) -> PainterQueueItem | None:
        return self._holding if self.phase is PainterPhase.HOLDING else None

    # state, settings, statuses, view ----------------------------------------------------------------------------

    async def _save(self) -> None:
        async with self._save_lock:
            await self.ports.save_state(self.queue.state())

    async def _save_quietly(self) -> None:
        try:
            await self._save()
        except Exception:
            log.exception("could not store the painter queue in KV; it is stored again at the next change")

    async def _refresh_settings(self) -> None:
        try:
            settings = await self.ports.load_settings()
        except Exception as exc:
            log.warning("could not read the painter settings from KV, keeping the current ones: %r", exc)
            return
        if settings != self.settings:
            log.info("painter settings changed: %s", settings.model_dump())
            self.settings = settings
            self.queue.max_size = settings.max_queue
            self._publish_view()

    def _report(
        self,
        job: PainterJob,
        state: JobState,
        *,
        reason: str | None = None,
        artifact: ArtifactRef | None = None,
        detail: str = "",
        progress: float | None = None,
    ) -> None:
        status = JobStatus(
            job_id=job.job_id,
            donation_id=job.donation_id,
            reaction=ReactionKind.PAINTER,
            state=state,
            progress=progress,
            detail=detail[:500],
            reason=reason[:500] if reason else None,
            artifact=artifact,
        )
        level = logging.DEBUG if state is JobState.RENDERING and progress else logging.INFO
        log.log(
            level,
            "%s is %s%s",
            job.job_id,
            state.value,
            f": {reason}" if reason else "",
            extra={"correlation_id": job.donation_id},
        )
        self._outbox.put_nowait(status)

    async def _send_statuses(self) -> None:
        """Publish statuses in order; a status that cannot be published yet holds the later ones back."""
        while True:
            status = await self._outbox.get()
            try:
                await self.ports.publish_status(status)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not publish the status of %s; dropping it", status.job_id)
            finally:
                self._outbox.task_done()

    async def close(self) -> None:
        if self._outbox_task is not None:
            self._outbox_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._outbox_task

    def _publish_view(self) -> None:
        active = self.queue.active or self._holding_item()
        self.board.publish(
            StageView(
                title=self.options.title,
                caption=self.settings.caption,
                now=_request(active) if active is not None and self.phase is not None else None,
                phase=self.phase,
                showing=self.showing,
                upcoming=tuple(_request(item) for item in self.queue.preview(PREVIEW)),
                waiting=len(self.queue),
                paused=self.queue.paused,
            )
        )


async def _wait(awaitable: Awaitable[object], timeout: float) -> bool:
    """Await ``awaitable`` for at most ``timeout`` seconds; False when the time ran out.

    ``asyncio.timeout`` rather than ``wait_for``: on Python 3.11 ``wait_for`` can lose a cancellation that
    arrives as its timeout fires, and the show loop would then never stop.
    """
    try:
        async with asyncio.timeout(timeout):
            await awaitable
    except TimeoutError:
        return False
    return True


def _request(item: PainterQueueItem) -> Request:
    job = item.job
    return Request(
        job_id=job.job_id,
        donor=job.donor_name,
        amount=str(job.amount),
        message=None if job.downgraded else (job.message or None),
    )
