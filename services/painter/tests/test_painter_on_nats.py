"""The painter as it runs: a real process, headless, on a real nats-server. A painter job becomes a ready
status with a stored PNG; skip, clear and pause work over NATS request/reply; the queue survives a restart."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats
import pytest

from ovation_bus import BusSettings, Health, ensure_buckets, ensure_streams, jetstream, make_broker, save
from ovation_contracts import (
    ControlReply,
    JobState,
    JobStatus,
    Money,
    PainterJob,
    PainterQueueSnapshot,
    PainterSettings,
    Payload,
    QueueClear,
    QueueList,
    QueuePause,
    QueueSkip,
    bus,
    decode,
    wrap,
)
from ovation_testing import NatsServer, ServiceProcess

pytestmark = [pytest.mark.nats, pytest.mark.slow]


def painter_job(n: int, message: str = "a cat in space", *, downgraded: bool = False) -> PainterJob:
    money = Money(amount=Decimal(500), currency="RUB")
    return PainterJob(
        job_id=f"e2e:{n}:painter",
        donation_id=f"e2e:{n}",
        donor_name=f"Donor {n}",
        amount=money,
        amount_base=money,
        message=message,
        downgraded=downgraded,
    )


class Bus:
    """A plain nats-py client: publishes jobs, sends control requests, records every painter status."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.statuses: list[JobStatus] = []

    async def listen(self) -> None:
        async def record(message: Any) -> None:
            self.statuses.append(decode(message.data, JobStatus).payload)

        await self.client.subscribe(bus.job_status("painter"), cb=record)

    async def send(self, job: PainterJob) -> None:
        envelope = wrap(job, id=job.job_id, correlation_id=job.donation_id)
        await self.client.jetstream().publish(
            bus.JOBS_PAINTER, envelope.to_json(), headers={bus.Header.MSG_ID: envelope.id}
        )

    async def control(self, command: str, payload: Payload) -> tuple[ControlReply, PainterQueueSnapshot]:
        request = wrap(payload, id=f"test:{uuid.uuid4()}", correlation_id="test:control")
        answer = await self.client.request(bus.control("painter", command), request.to_json(), timeout=10)
        reply: ControlReply = decode(answer.data, ControlReply).payload
        assert reply.data is not None, reply.message
        return reply, PainterQueueSnapshot.model_validate(reply.data)

    def states(self, n: int) -> list[JobState]:
        return [status.state for status in self.statuses if status.job_id == f"e2e:{n}:painter"]

    async def until(self, n: int, state: JobState, timeout: float = 20.0) -> JobStatus:
        for _ in range(int(timeout / 0.05)):
            for status in self.statuses:
                if status.job_id == f"e2e:{n}:painter" and status.state is state:
                    return status
            await asyncio.sleep(0.05)
        raise AssertionError(f"job {n} never became {state.value}; its states: {self.states(n)}")


@pytest.fixture
def painter_env(nats_server: NatsServer, tmp_path: Path) -> dict[str, str]:
    return {
        "OVATION_NATS_URL": nats_server.url,
        "OVATION_DATA_DIR": str(tmp_path / "data"),
        "OVATION_LOG_FORMAT": "text",
        "PAINTER_HEADLESS": "true",
        "PAINTER_TIME_SCALE": "10",
        "PAINTER_SHUTDOWN_GRACE": "20",
    }


@pytest.fixture
async def client(nats_server: NatsServer) -> AsyncIterator[Bus]:
    # the streams and buckets as every service declares them, and a short hold, before the painter starts
    broker = make_broker(BusSettings(nats_url=nats_server.url), Health("test"))
    await broker.connect()
    await ensure_streams(jetstream(broker))
    await ensure_buckets(jetstream(broker))
    await save(broker, PainterSettings(hold_seconds=0.3))
    await broker.stop()
    connection = await nats.connect(nats_server.url)
    tester = Bus(connection)
    await tester.listen()
    yield tester
    await connection.drain()


@pytest.fixture
def painter(painter_env: dict[str, str], tmp_path: Path) -> Iterator[ServiceProcess]:
    service = ServiceProcess("painter", tmp_path / "painter", painter_env, "PAINTER_HTTP_PORT")
    service.start(timeout=60)
    yield service
    service.stop()


async def test_a_painter_job_becomes_a_ready_status_with_a_png(
    client: Bus, painter: ServiceProcess, tmp_path: Path
) -> None:
    await client.send(painter_job(1))
    ready = await client.until(1, JobState.READY)
    assert client.states(1)[:3] == [JobState.QUEUED, JobState.PLANNING, JobState.RENDERING]
    assert ready.artifact is not None and ready.artifact.content_type == "image/png"
    png = tmp_path / "data" / "artifacts" / ready.artifact.key
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size == ready.artifact.size_bytes
    assert (ready.artifact.width, ready.artifact.height) == (768, 768)

    await client.send(painter_job(2, "rude words", downgraded=True))
    card = await client.until(2, JobState.FALLBACK)
    assert card.reason is not None and "downgraded" in card.reason and card.artifact is not None

    health = painter.health()
    assert health["status"] == "ok" and health["ready"] is True


async def test_skip_clear_and_pause_over_nats_and_the_queue_survives_a_restart(
    client: Bus, painter_env: dict[str, str], tmp_path: Path
) -> None:
    # drawings of a second or more, so a skip surely lands while one is drawn
    env = {**painter_env, "PAINTER_TIME_SCALE": "3"}
    painter = ServiceProcess("painter", tmp_path / "controlled", env, "PAINTER_HTTP_PORT").start(timeout=60)
    try:
        reply, queue = await client.control("pause", QueuePause(paused=True))
        assert reply.ok and queue.paused
        for n in (1, 2, 3):
            await client.send(painter_job(n))
        for n in (1, 2, 3):
            await client.until(n, JobState.QUEUED)
        reply, queue = await client.control("list", QueueList())
        assert [item.job_id for item in queue.waiting] == ["e2e:1:painter", "e2e:2:painter", "e2e:3:painter"]
        reply, _ = await client.control("skip", QueueSkip())
        assert not reply.ok and reply.message == "nothing is being drawn right now"

        # the queue and the paused flag are in KV: a restarted painter has them
        painter.stop()
        painter.start(timeout=60)
        reply, queue = await client.control("list", QueueList())
        assert queue.paused and [item.job_id for item in queue.waiting] == [
            "e2e:1:painter",
            "e2e:2:painter",
            "e2e:3:painter",
        ]

        await client.control("pause", QueuePause(paused=False))
        await client.until(1, JobState.RENDERING)
        reply, queue = await client.control("clear", QueueClear())
        assert reply.ok and queue.waiting == ()
        assert queue.active is not None and queue.active.job_id == "e2e:1:painter"
        for n in (2, 3):
            await client.until(n, JobState.SKIPPED)
        reply, _ = await client.control("skip", QueueSkip())
        assert reply.ok and reply.message == "skipping Donor 1's drawing"
        skipped = await client.until(1, JobState.SKIPPED)
        assert skipped.reason == "skipped by the operator"
        assert JobState.READY not in client.states(1)

        answer = await client.client.request(bus.control("painter", "move"), b"not an envelope", timeout=10)
        invalid = decode(answer.data, ControlReply).payload
        assert not invalid.ok and "not a valid control.move request" in invalid.message
    finally:
        painter.stop()


async def test_with_its_window_the_painter_draws_on_the_main_thread_and_stops_cleanly(
    client: Bus, painter_env: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **painter_env,
        "PAINTER_HEADLESS": "false",
        "SDL_VIDEODRIVER": "dummy",
        "PAINTER_WINDOW_WIDTH": "1280",
        "PAINTER_WINDOW_HEIGHT": "720",
    }
    service = ServiceProcess("painter", tmp_path / "windowed", env, "PAINTER_HTTP_PORT").start(timeout=60)
    try:
        await client.send(painter_job(1, "a house"))
        await client.until(1, JobState.READY)
        checks: Any = service.health()["checks"]
        assert checks["window"] == {"ok": True, "detail": "open, 1280x720 at 60 FPS"}
    finally:
        code = service.stop()
    assert code == 0, service.logs()[-2000:]
