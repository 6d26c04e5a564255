"""The whole system under fire: every consuming service as real processes on one nats-server, shared by the tests
of this package (starting eight processes is most of their cost).

Video, painter and voice run as two replicas each (``<service>-a``, ``<service>-b``, the names they give as
``OVATION_INSTANCE``), the gatekeeper and the gateway as one. No external service is needed: video renders the
offline card, the painter plans offline and draws headless, the voice speaks with espeak-ng and its show is paused
(only its job intake is under test here), the gatekeeper has no exchange rates (every amount is in roubles).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.msg import Msg

from ovation_bus import BusSettings, Health, ensure_buckets, ensure_streams, jetstream, make_broker, save
from ovation_cli.embedded import wait_http_ok
from ovation_contracts import (
    Envelope,
    JobStatus,
    Money,
    PainterSettings,
    ReactionJob,
    VoiceSettings,
    bus,
    decode,
    job_id,
    wrap,
)
from ovation_testing import NatsServer, ServiceProcess

ADMIN_TOKEN = "system-admin-token-0123456789"
REPLICATED = ("video", "painter", "voice")
PORT_VARIABLES = {
    "gatekeeper": "GATEKEEPER_HTTP_PORT",
    "video": "VIDEO_HTTP_PORT",
    "painter": "PAINTER_HTTP_PORT",
    "voice": "VOICE_HTTP_PORT",
    "gateway": "OVATION_PORT",
}


def reaction_job(model: type[ReactionJob], donation_id: str, reaction: str) -> Envelope[Any]:
    """A painter or voice job (``model``) for a donation, in its envelope, as the gatekeeper publishes it."""
    money = Money(amount=Decimal(700), currency="RUB")
    job = model(
        job_id=job_id(donation_id, reaction),
        donation_id=donation_id,
        donor_name="Anna",
        amount=money,
        amount_base=money,
        message="a cat in space",
    )
    return wrap(job, id=job.job_id, correlation_id=donation_id)


@dataclass
class Deployment:
    nats: NatsServer
    artifacts: Path
    processes: dict[str, ServiceProcess]
    """By instance name: ``gatekeeper``, ``gateway``, ``video-a``, ``video-b``, ..."""

    def replicas(self, service: str) -> list[str]:
        return sorted(name for name in self.processes if name.startswith(f"{service}-"))

    def exited(self) -> list[str]:
        """The processes that are no longer running."""
        return [
            name for name, p in self.processes.items() if p.process is None or p.process.poll() is not None
        ]


async def _prepare(url: str) -> None:
    """The streams and buckets, a painter that does not hold finished pictures, and a voice show that waits."""
    broker = make_broker(BusSettings(nats_url=url), Health("system-test"))
    await broker.connect()
    try:
        await ensure_streams(jetstream(broker))
        await ensure_buckets(jetstream(broker))
        await save(broker, PainterSettings(hold_seconds=0))
        await save(broker, VoiceSettings(show_running=False))
    finally:
        await broker.stop()


@pytest.fixture(scope="package")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("system")
    server = NatsServer(workdir=root / "nats").start()
    asyncio.run(_prepare(server.url))
    env = {
        "OVATION_NATS_URL": server.url,
        "OVATION_DATA_DIR": str(root / "data"),
        "OVATION_LOG_FORMAT": "text",
        "OVATION_ADMIN_TOKEN": ADMIN_TOKEN,
        "GATEKEEPER_RATES_URL": "http://127.0.0.1:1/v6/latest/USD",
        # One scratch folder for both video replicas, as a host's temp dir would be: their files do not collide.
        "VIDEO_WORK_DIR": str(root / "video-scratch"),
        "VIDEO_CARD_SECONDS": "1",
        "VIDEO_CARD_FPS": "5",
        "PAINTER_HEADLESS": "true",
        "PAINTER_TIME_SCALE": "200",
        "PAINTER_SHUTDOWN_GRACE": "2",
    }
    names = ["gatekeeper", "gateway"] + [f"{service}-{r}" for service in REPLICATED for r in ("a", "b")]
    processes: dict[str, ServiceProcess] = {}
    for name in names:
        module = name.split("-")[0]
        own = {"OVATION_INSTANCE": name}  # each replica's HTTP port is its own free port (ServiceProcess)
        processes[name] = ServiceProcess(module, root / name, {**env, **own}, PORT_VARIABLES[module])
    try:
        for process in processes.values():  # all at once: each spends seconds importing
            process.start(wait_ready=False)
        for process in processes.values():
            wait_http_ok(f"{process.url}/health/ready", 120, alive=process.process)
        yield Deployment(server, root / "data" / "artifacts", processes)
    finally:
        for process in processes.values():
            if process.process is not None and process.process.poll() is None:
                process.process.send_signal(signal.SIGTERM)
        for process in processes.values():
            process.stop()
        server.stop()


@dataclass
class Recorder:
    """A plain nats-py client: publishes raw bytes, and records every message on the subjects it listens to,
    duplicates included (a core subscription sees each publish, even one JetStream drops as a duplicate)."""

    client: Any
    seen: list[Msg] = field(default_factory=list)

    async def listen(self, subject: str) -> None:
        async def record(message: Msg) -> None:
            self.seen.append(message)

        await self.client.subscribe(subject, cb=record)

    def statuses(self, job_ids: set[str]) -> list[tuple[JobStatus, str]]:
        """Every job status published for ``job_ids``, in order, with the instance that published it."""
        found = []
        for message in self.seen:
            if message.subject.startswith("events.job."):
                status: JobStatus = decode(message.data, JobStatus).payload
                if status.job_id in job_ids:
                    producer = (message.headers or {}).get(bus.Header.PRODUCER, "")
                    found.append((status, producer.split(":", 1)[-1]))
        return found

    async def until(self, condition: Any, what: str, timeout: float = 60.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{what}: not within {timeout} s")
            await asyncio.sleep(0.1)


@pytest.fixture
async def recorder(deployment: Deployment) -> AsyncIterator[Recorder]:
    client = await nats.connect(deployment.nats.url)
    recorder = Recorder(client)
    await recorder.listen(bus.JOB_STATUS)
    yield recorder
    await client.drain()
