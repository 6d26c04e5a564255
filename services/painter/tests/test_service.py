"""The painter's show, without a bus: jobs become statuses and stored pictures, the operator's commands act on
the queue, failures are reported and skipped, and a shutdown lets the drawing on screen finish."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from ovation_artifacts import LocalArtifactStore
from ovation_contracts import (
    ArtifactRef,
    JobState,
    JobStatus,
    Money,
    PainterJob,
    PainterQueueState,
    PainterSettings,
)
from ovation_contracts.canvas import CanvasPlan
from painter.board import Board
from painter.planner import TOO_SMALL, DrawingPlanner, OfflinePlanner, PlanOutcome, PlanSource
from painter.service import Painter, PainterOptions, PainterPorts, artifact_key

FAST = 40.0
"""Drawings play 40 times faster than real time (an offline drawing takes about 0.1 to 0.2 s)."""


def job(n: int, *, message: str | None = "a cat", downgraded: bool = False, priority: int = 0) -> PainterJob:
    money = Money(amount=Decimal(500), currency="RUB")
    return PainterJob(
        job_id=f"sim:{n}:painter",
        donation_id=f"sim:{n}",
        donor_name=f"Donor {n}",
        amount=money,
        amount_base=money,
        message=message,
        downgraded=downgraded,
        priority=priority,
    )


@dataclass
class Ports:
    store: LocalArtifactStore
    statuses: list[JobStatus] = field(default_factory=list)
    states: list[PainterQueueState] = field(default_factory=list)
    settings: PainterSettings = field(default_factory=lambda: PainterSettings(hold_seconds=0.2))
    fail_saves: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def publish_status(self, status: JobStatus) -> None:
        self.statuses.append(status)
        self.changed.set()

    async def save_state(self, state: PainterQueueState) -> None:
        if self.fail_saves:
            raise ConnectionError("KV is away")
        self.states.append(state)

    async def load_settings(self) -> PainterSettings:
        return self.settings

    def ports(self) -> PainterPorts:
        return PainterPorts(self.publish_status, self.save_state, self.load_settings, self.store)

    def states_of(self, job_id: str) -> list[JobState]:
        return [status.state for status in self.statuses if status.job_id == job_id]

    async def until(self, job_id: str, state: JobState, timeout: float = 10.0) -> JobStatus:
        async def wait() -> JobStatus:
            while True:
                for status in self.statuses:
                    if status.job_id == job_id and status.state is state:
                        return status
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(wait(), timeout)


@pytest.fixture
def ports(tmp_path: Path) -> Ports:
    return Ports(LocalArtifactStore(tmp_path / "artifacts"))


Start = Callable[..., Awaitable[Painter]]


@pytest.fixture
async def start(ports: Ports) -> AsyncIterator[Start]:
    """Start a painter (restored from ``state``) with its show running; everything stops after the test."""
    running: list[tuple[Painter, asyncio.Task[None]]] = []

    async def started(
        planner: DrawingPlanner | None = None,
        state: PainterQueueState | None = None,
        time_scale: float = FAST,
    ) -> Painter:
        painter = Painter(
            planner or DrawingPlanner(OfflinePlanner()),
            Board(),
            ports.ports(),
            PainterOptions(time_scale=time_scale, png_scale=2, settings_refresh=0.2),
        )
        await painter.restore(state, ports.settings)
        running.append((painter, asyncio.create_task(painter.run())))
        return painter

    yield started
    for painter, show in running:
        show.cancel()
        await asyncio.gather(show, return_exceptions=True)
        await painter.close()


@pytest.fixture
async def painter(start: Start) -> Painter:
    return await start()


async def test_a_job_is_queued_planned_drawn_and_ready_with_its_png(painter: Painter, ports: Ports) -> None:
    await painter.accept(job(1))
    ready = await ports.until("sim:1:painter", JobState.READY)
    states = ports.states_of("sim:1:painter")
    assert states[:3] == [JobState.QUEUED, JobState.PLANNING, JobState.RENDERING]
    assert states[-1] is JobState.READY and JobState.RENDERING in states
    progress = [s.progress for s in ports.statuses if s.state is JobState.RENDERING]
    assert progress == sorted(progress) and progress[0] == 0.0
    assert ready.artifact is not None and ready.artifact.content_type == "image/png"
    assert ready.artifact.key == artifact_key("sim:1:painter", "png")
    assert (ready.artifact.width, ready.artifact.height) == (192, 192)
    png = await ports.store.get(ready.artifact.key)
    assert png.startswith(b"\x89PNG") and len(png) == ready.artifact.size_bytes
    plan = CanvasPlan.model_validate_json(await ports.store.get(artifact_key("sim:1:painter", "json")))
    assert plan.caption == "All for you"
    assert ports.states[-1].active is None and "sim:1:painter" in ports.states[-1].recent_job_ids


async def test_the_board_shows_the_moderated_message_and_the_queue(painter: Painter, ports: Ports) -> None:
    await painter.pause(True)
    await painter.accept(job(1, message="a dog"))
    await painter.accept(job(2, message="rude words", downgraded=True))
    view = painter.board.view
    assert view.paused and view.status == "Paused" and view.waiting == 2
    assert [r.message for r in view.upcoming] == ["a dog", None]
    await painter.pause(False)
    await ports.until("sim:2:painter", JobState.FALLBACK)


async def test_a_downgraded_request_gets_the_card_as_a_fallback(painter: Painter, ports: Ports) -> None:
    await painter.accept(job(1, message="rude words", downgraded=True))
    status = await ports.until("sim:1:painter", JobState.FALLBACK)
    assert status.reason is not None and "downgraded" in status.reason
    assert status.artifact is not None
    plan = CanvasPlan.model_validate_json(await ports.store.get(artifact_key("sim:1:painter", "json")))
    assert plan.render_text == TOO_SMALL


class FailingLlm(DrawingPlanner):
    async def plan(self, job: PainterJob, caption: str = "") -> PlanOutcome:
        plan = self.offline.plan(job.message or "", seed=1, caption=caption)
        return PlanOutcome(plan, PlanSource.OFFLINE, "Ollama answered 500")


async def test_an_llm_failure_still_draws_and_says_why(ports: Ports, start: Start) -> None:
    painter = await start(FailingLlm(OfflinePlanner()))
    await painter.accept(job(1))
    status = await ports.until("sim:1:painter", JobState.FALLBACK)
    assert status.reason == "drawn by the offline planner: Ollama answered 500"
    assert status.artifact is not None


class SlowPlanner(DrawingPlanner):
    def __init__(self) -> None:
        super().__init__(OfflinePlanner())
        self.release = asyncio.Event()

    async def plan(self, job: PainterJob, caption: str = "") -> PlanOutcome:
        await self.release.wait()
        return await super().plan(job, caption)


async def test_skip_ends_the_drawing_and_the_next_one_starts(ports: Ports, start: Start) -> None:
    painter = await start(SlowPlanner(), time_scale=5.0)  # about a second per drawing: time to skip it
    assert isinstance(painter.planner, SlowPlanner)
    await painter.accept(job(1))
    await painter.accept(job(2))
    await ports.until("sim:1:painter", JobState.PLANNING)
    result = await painter.skip()
    assert result.ok and "Donor 1" in result.message
    skipped = await ports.until("sim:1:painter", JobState.SKIPPED)
    assert skipped.reason == "skipped by the operator"
    painter.planner.release.set()
    await ports.until("sim:2:painter", JobState.RENDERING)
    assert (await painter.skip()).ok
    await ports.until("sim:2:painter", JobState.SKIPPED)
    assert JobState.READY not in ports.states_of("sim:2:painter")
    await asyncio.sleep(0.05)
    assert not (await painter.skip()).ok  # nothing on screen any more


async def test_clear_removes_the_waiting_requests_and_keeps_the_drawing(ports: Ports, start: Start) -> None:
    painter = await start(SlowPlanner())
    for n in range(1, 5):
        await painter.accept(job(n))
    await ports.until("sim:1:painter", JobState.PLANNING)
    result = await painter.clear()
    assert result.ok and "removed 3" in result.message
    await painter.flush_statuses(timeout=2)
    for n in (2, 3, 4):
        assert ports.states_of(f"sim:{n}:painter")[-1] is JobState.SKIPPED
    assert painter.snapshot().active is not None and painter.snapshot().waiting == ()
    assert isinstance(painter.planner, SlowPlanner)
    painter.planner.release.set()
    await ports.until("sim:1:painter", JobState.READY)


async def test_pause_holds_the_next_request_until_resumed(painter: Painter, ports: Ports) -> None:
    await painter.pause(True)
    await painter.accept(job(1))
    await asyncio.sleep(0.3)
    await painter.flush_statuses(timeout=2)
    assert ports.states_of("sim:1:painter") == [JobState.QUEUED]
    assert ports.states[-1].paused
    await painter.pause(False)
    await ports.until("sim:1:painter", JobState.READY)


async def test_remove_and_move_answer_for_unknown_requests(painter: Painter, ports: Ports) -> None:
    await painter.pause(True)
    for n in range(1, 4):
        await painter.accept(job(n))
    assert (await painter.move("sim:3:painter", -2)).message == "now number 1 in the painter queue"
    assert [item.job_id for item in painter.snapshot().waiting] == [
        "sim:3:painter",
        "sim:1:painter",
        "sim:2:painter",
    ]
    assert (await painter.remove("sim:1:painter")).ok
    await painter.flush_statuses(timeout=2)
    assert ports.states_of("sim:1:painter")[-1] is JobState.SKIPPED
    missing = await painter.remove("nobody")
    assert not missing.ok and "no waiting painter request" in missing.message
    assert not (await painter.move("nobody", 1)).ok


async def test_a_full_queue_refuses_with_a_clear_reason(ports: Ports, start: Start) -> None:
    ports.settings = PainterSettings(max_queue=2, hold_seconds=0)
    painter = await start()
    await painter.pause(True)
    for n in range(1, 4):
        await painter.accept(job(n))
    refused = await ports.until("sim:3:painter", JobState.REFUSED)
    assert refused.reason is not None and "full" in refused.reason
    await painter.accept(job(4, priority=10))
    bumped = await ports.until("sim:2:painter", JobState.REFUSED)
    assert bumped.reason is not None and "higher priority" in bumped.reason
    assert [item.job_id for item in painter.snapshot().waiting] == ["sim:4:painter", "sim:1:painter"]


async def test_a_job_delivered_again_is_handled_once(painter: Painter, ports: Ports) -> None:
    await painter.accept(job(1))
    await ports.until("sim:1:painter", JobState.READY)
    await painter.accept(job(1))
    await asyncio.sleep(0.2)
    await painter.flush_statuses(timeout=2)
    assert ports.states_of("sim:1:painter").count(JobState.QUEUED) == 1


async def test_a_job_is_not_taken_while_the_queue_cannot_be_stored(painter: Painter, ports: Ports) -> None:
    await painter.pause(True)
    ports.fail_saves = True
    with pytest.raises(ConnectionError):
        await painter.accept(job(1))  # the bus message is not acked, and comes again
    ports.fail_saves = False
    await painter.accept(job(1))  # the redelivery: already in the queue, stored now
    assert ports.states[-1].waiting[0].job_id == "sim:1:painter"


async def test_a_picture_the_window_cannot_draw_is_failed_and_skipped(ports: Ports, start: Start) -> None:
    painter = await start(time_scale=5.0)
    await painter.accept(job(1, message="a house"))
    await painter.accept(job(2))
    await ports.until("sim:1:painter", JobState.RENDERING)
    showing = painter.board.view.showing
    assert showing is not None
    painter.board.report_failure(showing.key, "RuntimeError: boom")
    failed = await ports.until("sim:1:painter", JobState.FAILED)
    assert failed.reason == "the picture could not be drawn: RuntimeError: boom"
    await ports.until("sim:2:painter", JobState.READY)


async def test_a_drawing_cut_short_by_a_restart_is_drawn_again(ports: Ports, start: Start) -> None:
    planner = SlowPlanner()
    painter = await start(planner)
    await painter.accept(job(1))
    await ports.until("sim:1:painter", JobState.PLANNING)
    stored = ports.states[-1]  # what KV holds when the process dies now
    assert stored.active is not None and stored.active.job_id == "sim:1:painter"
    await painter.pause(True)  # the old process draws nothing more
    await start(state=stored)
    await ports.until("sim:1:painter", JobState.READY)


async def test_shutdown_lets_the_drawing_on_screen_finish(ports: Ports, start: Start) -> None:
    painter = await start(time_scale=5.0)
    await painter.accept(job(1))
    await painter.accept(job(2))
    await ports.until("sim:1:painter", JobState.RENDERING)
    await painter.finish(grace=30.0)
    assert ports.states_of("sim:1:painter")[-1] is JobState.READY
    assert ports.states_of("sim:2:painter") == [JobState.QUEUED]
    assert ports.states[-1].waiting[0].job_id == "sim:2:painter"
    assert painter.phase is None


async def test_artifact_keys_are_safe_for_any_job_id() -> None:
    key = artifact_key("donationalerts:30530030:painter", "png")
    ArtifactRef(key=key, content_type="image/png", size_bytes=1)
    assert key.startswith("painter/donationalerts_30530030_painter-") and key.endswith(".png")
    assert artifact_key("a:b", "png") != artifact_key("a_b", "png")
