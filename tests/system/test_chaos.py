"""Issue 9, part 2: the streamer's day under fire.

While the audience keeps sending, every service is SIGKILLed once at a random moment and started again, NATS stops
for 10 s and then for 150 s, the DonationAlerts websocket drops, and each paid service is slow and failing for a
while. Every failure must show in health, in the metrics and on the dashboard while it lasts; afterwards everything
comes back by itself, and nothing is lost or doubled: each donation is screened once, each job the rules call for
ends once, each alert plays once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from ovation_testing import NatsServer
from tests.fakes.ollama import Reply
from tests.system.day import SERVICES, WIDGET, Account, System, Traffic, fakes, until

pytestmark = [
    pytest.mark.xdist_group("streamers-day"),  # one worker: two whole systems at once overload two cores
    pytest.mark.nats,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.timeout(900),
]


@pytest.fixture
async def system(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[System]:
    async with fakes() as found:
        # Rates refreshed every 5 s, so a failing rates service shows while it fails.
        running = System(
            nats_server,
            found,
            tmp_path,
            # The painter draws three times faster than in the day, so it keeps up with this audience.
            extra_env={
                "GATEKEEPER_RATES_TTL": "5",
                "VOICE_BOSON_PROBE_INTERVAL": "2",
                "PAINTER_TIME_SCALE": "60",
            },
        )
        try:
            await running.start()
            yield running
        finally:
            await running.stop()


class Audience:
    """Keeps sending while the test breaks things: DonationAlerts donations always (DonationAlerts keeps them while
    we are down), API events only while the gateway and NATS answer, as a platform connector would retry."""

    def __init__(self, traffic: Traffic) -> None:
        self.traffic = traffic
        self.running = True
        self.api_refused = 0

    async def run(self) -> None:
        rng = self.traffic.rng
        n = 0
        while self.running:
            n += 1
            self.traffic.donation(currency="RUB", amount=Decimal(rng.choice([50, 150, 400, 1500, 2000])))
            if n % 4 == 0:
                with contextlib.suppress(AssertionError, httpx.HTTPError):
                    await self.traffic.chat("superchat", message="hello from chaos", amount=Decimal(5))
                    continue
                self.api_refused += 1
            await asyncio.sleep(1.2)


async def health(system: System) -> dict[str, Any]:
    """The dashboard's view of every service, through the gateway."""
    response = await system.http.get("/api/v1/health", timeout=5)
    report: dict[str, Any] = response.json()
    return {s["service"]: s for s in report["services"]}


async def shows(
    system: System, service: str, check: Callable[[dict[str, Any]], bool], timeout: float = 20
) -> None:
    """Wait until the dashboard's health report of ``service`` satisfies ``check``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
            last = (await health(system))[service]
            if check(last):
                return
        await asyncio.sleep(0.3)
    raise AssertionError(f"the health of {service} never showed it: {last}")


def failing(report: dict[str, Any]) -> bool:
    return bool(report["status"] != "ok")


def healthy(report: dict[str, Any]) -> bool:
    return bool(report["status"] == "ok")


async def metric(url: str, name: str) -> float | None:
    async with httpx.AsyncClient(timeout=3) as http:
        text = (await http.get(f"{url}/metrics")).text
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name)]
    return sum(values) if values else None


async def while_failing(
    system: System,
    service: str,
    start: Callable[[], None],
    stop: Callable[[], None],
    *,
    seconds: float = 8,
    trigger: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Make a fake fail, see the failure in the dashboard's health report while it lasts, then mend it."""
    start()
    try:
        if trigger is not None:
            await trigger()
        await shows(system, service, failing, timeout=max(seconds, 30))
    finally:
        stop()
    await shows(system, service, healthy, timeout=60)


async def nats_outage(system: System, seconds: float) -> None:
    """Stop NATS: every service reports it (its own /health: the gateway cannot ask the others), then it is back."""
    system.nats.stop()
    try:
        await asyncio.sleep(min(seconds, 5))
        async with httpx.AsyncClient(timeout=3) as http:
            for name, process in system.processes.items():
                report = (await http.get(f"{process.url}/health")).json()
                assert report["status"] != "ok", f"{name} must say NATS is gone: {report}"
                assert await metric(process.url, "ovation_nats_connected") == 0, name
        await asyncio.sleep(max(0.0, seconds - 5))
    finally:
        system.nats.start()
    for name in SERVICES:
        await shows(system, name, healthy, timeout=90)


async def test_the_day_survives_kills_outages_and_failing_services(system: System, chromium: Any) -> None:
    await system.set_up_for_a_compressed_day()  # the painter keeps up with one donation every 1.2 s
    widget = await chromium.new_page()
    await widget.goto(f"{system.gateway_url}/widget?token={WIDGET}&alert_seconds=0.5")
    dashboard = await chromium.new_page()
    await dashboard.goto(f"{system.gateway_url}/dashboard#token=streamers-day-admin-token-0123456789")

    # The voice speaks one reply at a time, in real time: only the big ones get a reply today.
    await system.api(
        "PUT", "/routing/voice/threshold", json={"min_amount": {"amount": "1000", "currency": "RUB"}}
    )
    traffic = Traffic(system, seed=7)
    traffic.rules.voice = Decimal(1000)
    audience = Audience(traffic)
    sending = asyncio.create_task(audience.run())
    rng = random.Random(9)
    f = system.fakes
    try:
        # Every service killed once, at a random moment, and started again.
        for name in rng.sample(list(SERVICES), len(SERVICES)):
            await asyncio.sleep(rng.uniform(1, 4))
            await system.kill(name)
            if name != "gateway":
                await shows(system, name, healthy, timeout=60)
        await until(lambda: system.source_state("donationalerts"), "connected", timeout=60)

        # The DonationAlerts websocket drops; ingest reconnects and catches up.
        await f.donationalerts.drop_connections()
        await until(lambda: system.source_state("donationalerts"), "connected", timeout=60)

        # Each paid service slow and failing for a while; each failure on the dashboard while it lasts.
        await while_failing(
            system,
            "video",
            lambda: setattr(f.aiml, "fail_generations", "chaos"),
            lambda: setattr(f.aiml, "fail_generations", None),
        )
        # The voice calls Boson only when it makes a clip: a superchat to a persona makes one now.
        await while_failing(
            system,
            "voice",
            lambda: setattr(f.boson, "outage", 503),
            lambda: setattr(f.boson, "outage", None),
            trigger=lambda: traffic.chat(
                "superchat", message="sing for us", amount=Decimal(20), author="Kim"
            ),
        )
        await while_failing(
            system,
            "gatekeeper",
            lambda: setattr(f.rates, "status", 500),
            lambda: setattr(f.rates, "status", 200),
        )
        await while_failing(
            system,
            "painter",
            lambda: setattr(f.ollama, "default", Reply.server_error()),
            lambda: setattr(f.ollama, "default", Reply.plan()),
        )
        # Slow rather than failing: everything waits a little longer, nothing is lost.
        f.donationalerts.response_delay = f.aiml.queued_seconds = 2.0
        f.boson.latency = 1.0
        f.ollama.default = Reply.plan(delay=2.0)
        await asyncio.sleep(8)
        f.donationalerts.response_delay, f.aiml.queued_seconds, f.boson.latency = 0.0, 0.1, 0.0
        f.ollama.default = Reply.plan()

        await dashboard.locator("#health-panel").wait_for(timeout=10_000)
        await nats_outage(system, 10)
        await nats_outage(system, 150)
    finally:
        audience.running = False
        await sending

    account, missing = await _settled(system, traffic, timeout=240)
    # Nothing lost, nothing doubled: every event screened exactly once with its reactions, no job ended twice, no
    # cue started twice. These hold after the chaos and are asserted strictly.
    for sent in traffic.sent:
        decisions = account.screened.get(sent.id, [])
        assert len(decisions) == 1, f"{sent.id} screened {len(decisions)} times"
        assert tuple(decisions[0]["reactions"]) == sent.expected, sent
        for reaction in ("video", "painter", "voice"):
            finals = account.final_jobs(sent.id, reaction)
            assert len(finals) <= (1 if reaction in sent.expected else 0), (sent.id, reaction, finals)
    played = account.played()
    assert all(times == 1 for times in played.values()), [c for c, t in played.items() if t > 1]
    assert not missing, f"{len(missing)} reactions never happened after the chaos, e.g. {missing[:8]}"


async def _settled(system: System, traffic: Traffic, timeout: float) -> tuple[Account, list[str]]:
    """Wait until every reaction the day calls for has happened; then (or at the deadline) the account and what
    is still missing."""
    deadline = time.monotonic() + timeout
    missing: list[str] = []
    while time.monotonic() < deadline:
        account = await Account.read(system.nats.url)
        played = account.played()
        missing = [s.id for s in traffic.sent if s.id not in account.screened]
        for sent in traffic.sent:
            for reaction in sent.expected:
                if reaction == "alert" and not played[f"{sent.id}:alert"]:
                    missing.append(f"{sent.id} alert")
                elif reaction != "alert" and not account.final_jobs(sent.id, reaction):
                    missing.append(f"{sent.id} {reaction}")
        if not missing:
            return account, []
        await asyncio.sleep(1)
    return account, missing
