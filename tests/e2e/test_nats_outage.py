"""NATS outages of 5 s and 150 s (past nats-py's default reconnect budget of about two minutes).

Every service stays alive, says "degraded" with the reason while NATS is away, does not spin the CPU, and resumes
by itself: the durable consumer consumes again, ingest publishes again, the gateway streams again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import psutil
import pytest

from ovation_contracts import bus
from ovation_testing import NatsServer, ServiceProcess, factories

pytestmark = [pytest.mark.nats, pytest.mark.slow, pytest.mark.timeout(600)]

ADMIN_TOKEN = "outage-admin-token-0123456789"
LONG_OUTAGE = 150.0


@dataclass
class System:
    nats: NatsServer
    worker: ServiceProcess
    ingest: ServiceProcess
    gateway: ServiceProcess
    handled: Path

    @property
    def services(self) -> list[ServiceProcess]:
        return [self.worker, self.ingest, self.gateway]


@pytest.fixture
def system(nats_server: NatsServer, tmp_path: Path) -> Iterator[System]:
    handled = tmp_path / "handled.txt"
    handled.touch()
    env = {
        "OVATION_NATS_URL": nats_server.url,
        "OVATION_ADMIN_TOKEN": ADMIN_TOKEN,
        "INGEST_SIMULATOR_RATE": "120",
        "ECHO_WORKER_OUTPUT": str(handled),
    }
    worker = ServiceProcess("ovation_testing.echo_worker", tmp_path, env, "ECHO_WORKER_HTTP_PORT").start()
    ingest = ServiceProcess("ingest", tmp_path, env, "INGEST_HTTP_PORT").start()
    gateway = ServiceProcess("gateway", tmp_path, env, "OVATION_PORT").start()
    system = System(nats_server, worker, ingest, gateway, handled)
    yield system
    for service in system.services:
        service.stop()


async def publish_jobs(url: str, names: list[str]) -> None:
    client = await nats.connect(url)
    js = client.jetstream()
    for name in names:
        envelope = factories.video_job(f"simulator:{name}", donor_name=name)
        await js.publish(bus.JOBS_VIDEO, envelope.to_json(), headers={bus.Header.MSG_ID: envelope.id})
    await client.drain()


async def wait_handled(system: System, expected: set[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if expected <= set(system.handled.read_text().split()):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(
        f"not handled within {timeout} s: {expected - set(system.handled.read_text().split())}"
    )


async def donations_stored(url: str) -> int:
    client = await nats.connect(url)
    info = await client.jetstream().stream_info(bus.DONATIONS.name)
    await client.drain()
    return int(info.state.messages)


def next_streamed_donation(gateway: ServiceProcess, timeout: float = 30.0) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    params = {"types": "donation.received"}
    with httpx.stream(
        "GET", f"{gateway.url}/api/v1/events", headers=headers, params=params, timeout=timeout
    ) as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                envelope: dict[str, object] = json.loads(line.removeprefix("data:"))
                return envelope
    raise AssertionError("the event stream ended without a donation")


def cpu_seconds(service: ServiceProcess) -> float:
    assert service.process is not None
    times = psutil.Process(service.process.pid).cpu_times()
    return float(times.user + times.system)


async def wait_for_health(service: ServiceProcess, status: str, timeout: float = 45.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    report: dict[str, object] = {}
    while time.monotonic() < deadline:
        report = service.health()
        if report["status"] == status:
            return report
        await asyncio.sleep(0.5)
    raise AssertionError(f"{service.module} did not become {status} within {timeout} s: {report}")


async def test_every_service_survives_nats_outages_of_5_and_150_seconds(system: System) -> None:
    await publish_jobs(system.nats.url, ["before-1", "before-2"])
    await wait_handled(system, {"simulator:before-1:video", "simulator:before-2:video"})

    # A short outage.
    system.nats.stop()
    await asyncio.sleep(5)
    system.nats.start()
    await publish_jobs(system.nats.url, ["short-1", "short-2"])
    await wait_handled(system, {"simulator:short-1:video", "simulator:short-2:video"})
    for service in system.services:
        await wait_for_health(service, "ok")

    # A long outage, past nats-py's default reconnect budget.
    stored_before = await donations_stored(system.nats.url)
    system.nats.stop()
    outage_started = time.monotonic()
    for service in system.services:
        report = await wait_for_health(service, "degraded")
        assert any("NATS" in reason for reason in report["reasons"]), report  # type: ignore[union-attr]
        ready = httpx.get(f"{service.url}/health/ready", timeout=2)
        assert ready.status_code == 503
    cpu_before = {s.module: cpu_seconds(s) for s in system.services}
    measured_from = time.monotonic()
    await asyncio.sleep(max(0.0, LONG_OUTAGE - (time.monotonic() - outage_started)))
    measured = time.monotonic() - measured_from
    for service in system.services:
        assert service.process is not None and service.process.poll() is None, f"{service.module} died"
        used = cpu_seconds(service) - cpu_before[service.module]
        # A busy loop burns a whole core (about `measured` seconds); an idle reconnect loop a tiny fraction.
        assert used < 0.1 * measured, (
            f"{service.module} used {used:.1f} s of CPU in {measured:.0f} s of outage"
        )
        assert "NATS" in " ".join(service.health()["reasons"])  # type: ignore[arg-type]
    system.nats.start()

    await publish_jobs(system.nats.url, ["long-1", "long-2"])
    await wait_handled(system, {"simulator:long-1:video", "simulator:long-2:video"})
    for service in system.services:
        await wait_for_health(service, "ok")
    streamed = next_streamed_donation(system.gateway)
    assert streamed["type"] == "donation.received"
    assert await donations_stored(system.nats.url) > stored_before, (
        "ingest did not publish again after the outage"
    )
    handled = system.handled.read_text().split()
    assert len(handled) == len(set(handled)) == 6, "each job handled exactly once"
