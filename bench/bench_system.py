"""System benchmark: the whole of Ovation as a streamer runs it (``ovation up``: embedded nats-server and every
service as its own process). Prints one JSON object.

- **startup**: from starting ``ovation up`` until nats-server and every service answer their readiness check (200),
  and until the launcher prints "Ovation is up in X s"; ``BENCH_STARTUPS`` runs (3), each on a fresh data directory
  (a first start: tokens, streams and buckets created);
- **first donation**: what a new user waits for after the README's run command: from starting ``ovation up`` (the
  simulator on, as it ships) until the dashboard's event stream, which the page renders, delivers the first donation;
  ``BENCH_STARTUPS`` runs on fresh data directories;
- **burst**: a raid of ``BENCH_BURST_DONATIONS`` (2,000) donations pushed by the fake DonationAlerts over its
  websocket as fast as it can send them, one push each, as the real Centrifugo does, into ingest (connected with a
  token, the simulator off) and the gatekeeper: the time from the first push until every donation has its
  ``donation.received`` and its ``donation.screened`` on JetStream, donations/s, and lost or doubled (must be 0/0).
  Amounts are 10 to 99 RUB, under the voice rule's minimum, so each gets an alert and nothing else: the figure is
  ingest and gatekeeper, not the generators (the gateway queues the alerts, as it would);
- **rss**: resident memory of nats-server, every service and the launcher after the burst;
- **stop**: seconds from Ctrl+C to the launcher's exit, and any service it had to kill.

Exits 1 when a donation was lost or doubled.

Exchange rates come from the fake ExchangeRate-API (nothing leaves the machine); the painter runs headless.
``BENCH_SYSTEM_LOG=file`` keeps every line the launchers print.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats

from bench.launch import ADMIN_TOKEN, OvationUp, machine, sample
from ovation_contracts import ChatEvent, Donation, bus
from tests.fakes.donationalerts import FakeDonationAlerts
from tests.fakes.exchangerates import FakeExchangeRates

DONATIONS = int(os.environ.get("BENCH_BURST_DONATIONS", "2000"))
STARTUPS = max(1, int(os.environ.get("BENCH_STARTUPS", "3")))
BURST_TIMEOUT = float(os.environ.get("BENCH_BURST_TIMEOUT", "600"))
SETTLE = float(os.environ.get("BENCH_SETTLE_SECONDS", "3"))
"""After the last donation is screened, wait this long for anything late (a redelivery would be a duplicate)."""
MESSAGES = [
    "RAID! Hello from the squad",
    "Рейд пришёл, привет!",
    "gg wp, following now",
    "Мы из чата Димы, всем добра",
    "first time here, love the stream",
    "",
    "PogChamp raid train",
    "Спасибо за стрим!",
]
SOURCE = "donationalerts"
SHOWN = {Donation.TYPE, ChatEvent.TYPE}
"""What the dashboard's live feed shows as it arrives."""
KILLED = re.compile(r"^(\S+)\s+\| did not stop within [\d.]+ s; killing it")
LOG = os.environ.get("BENCH_SYSTEM_LOG")
"""A file to keep every line of the launchers' output in."""


async def startup(up: OvationUp) -> dict[str, Any]:
    """Seconds from the process start until each part answers ready, and until the banner."""
    targets = {"nats": f"{up.monitor_url}/healthz?js-enabled-only=true"}
    targets.update({name: f"{url}/health/ready" for name, url in up.urls.items()})
    ready: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=1.0) as http:

        async def poll(name: str, url: str) -> None:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(url)).status_code == 200:
                        ready[name] = time.perf_counter() - up.started
                        return
                if up.process is None or up.process.poll() is not None:
                    raise RuntimeError(f"ovation up exited during start-up:\n{up.tail()}")
                await asyncio.sleep(0.05)

        await asyncio.wait_for(asyncio.gather(*(poll(name, url) for name, url in targets.items())), 300)
    moment, match = await up.wait_line(r"Ovation is up in ([\d.]+) s", 60)
    return {
        "all_ready_seconds": round(max(ready.values()), 2),
        "banner_seconds": round(moment - up.started, 2),
        "banner_says_seconds": float(match[1]),
        "ready_seconds": {name: round(ready[name], 2) for name in targets},
    }


async def first_donation(up: OvationUp, timeout: float = 120.0) -> float:
    """Seconds from the command until the dashboard's event stream delivers a donation (or a paid chat event)."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(timeout=5.0) as http:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                url = f"{up.gateway}/api/v1/events"
                async with http.stream("GET", url, headers=headers, params={"backlog": 50}) as response:
                    if response.status_code == 200:
                        async for line in response.aiter_lines():
                            if line.startswith("data:") and json.loads(line[5:])["type"] in SHOWN:
                                return round(time.perf_counter() - up.started, 2)
            if up.process is None or up.process.poll() is not None:
                raise RuntimeError(f"ovation up exited during start-up:\n{up.tail()}")
            await asyncio.sleep(0.05)
    raise RuntimeError(f"no donation reached the dashboard within {timeout:g} s:\n{up.tail()}")


async def wait_connected(up: OvationUp, timeout: float = 60.0) -> None:
    detail: object = None
    async with httpx.AsyncClient(timeout=2.0) as http:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                detail = (await http.get(f"{up.urls['ingest']}/health")).json()["checks"][SOURCE]["detail"]
                if str(detail).startswith("connected"):
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"ingest never connected to the fake DonationAlerts: {detail}\n{up.tail()}")


async def burst(up: OvationUp, fake: FakeDonationAlerts) -> dict[str, Any]:
    await wait_connected(up)
    client = await nats.connect(up.nats_url)
    js = client.jetstream()
    expected: set[str] = set()
    received: Counter[str] = Counter()
    screened: Counter[str] = Counter()
    distinct: Counter[str] = Counter()
    moments: dict[str, float] = {}
    all_screened = asyncio.Event()

    def note(counter: Counter[str], donation: str, what: str) -> None:
        # The pushes are all queued before the first await, so ``expected`` is complete by the first message.
        counter[donation] += 1
        if donation in expected and counter[donation] == 1:
            distinct[what] += 1
            if distinct[what] == len(expected):
                moments[what] = time.perf_counter()
                if what == "screened":
                    all_screened.set()

    async def on_received(message: Any) -> None:
        note(received, json.loads(message.data)["payload"]["id"], "received")

    async def on_screened(message: Any) -> None:
        note(screened, json.loads(message.data)["payload"]["donation_id"], "screened")

    try:
        subscriptions = [
            await js.subscribe(bus.DONATIONS_RECEIVED, cb=on_received, ordered_consumer=True),
            await js.subscribe(bus.DONATION_SCREENED, cb=on_screened, ordered_consumer=True),
        ]
        rng = random.Random(2026)
        started = time.perf_counter()
        for n in range(DONATIONS):
            donation = fake.add_donation(
                username=f"raider_{n}",
                message=rng.choice(MESSAGES),
                amount=rng.randint(10, 99),
                currency="RUB",
            )
            expected.add(f"{SOURCE}:{donation['id']}")
        await fake.flush()
        pushed = time.perf_counter() - started
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_screened.wait(), BURST_TIMEOUT)
        await asyncio.sleep(SETTLE)
        for subscription in subscriptions:
            await subscription.unsubscribe()
        events = await js.stream_info(bus.EVENTS.name, subjects_filter=bus.DONATION_SCREENED)
        dead_letters = (await js.stream_info(bus.DLQ.name)).state.messages
    finally:
        await client.drain()

    def seconds(what: str) -> float | None:
        return round(moments[what] - started, 2) if what in moments else None

    screened_seconds, received_seconds = seconds("screened"), seconds("received")
    return {
        "donations": DONATIONS,
        "push_seconds": round(pushed, 2),
        "received_seconds": received_seconds,
        "screened_seconds": screened_seconds,
        "received_per_second": round(DONATIONS / received_seconds) if received_seconds else None,
        "screened_per_second": round(DONATIONS / screened_seconds) if screened_seconds else None,
        "lost": len(expected - screened.keys()),
        "duplicated": sum(count - 1 for donation, count in screened.items() if donation in expected),
        "received_lost": len(expected - received.keys()),
        "received_duplicated": sum(count - 1 for donation, count in received.items() if donation in expected),
        "screened_on_stream": (events.state.subjects or {}).get(bus.DONATION_SCREENED, 0),
        "dead_letters": dead_letters,
    }


async def main() -> dict[str, Any]:
    startups: list[dict[str, Any]] = []
    firsts: list[float] = []
    stops: list[float] = []
    killed: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="ovation-bench-system-") as workdir:
        async with FakeDonationAlerts(rate_limit=None) as fake, FakeExchangeRates() as rates:
            extra = {
                "INGEST_SIMULATOR": "false",
                "DONATIONALERTS_API_BASE": fake.base_url,
                "DONATIONALERTS_OAUTH_BASE": fake.base_url,
                "DONATIONALERTS_WS_URL": fake.ws_url,
                "DONATIONALERTS_ACCESS_TOKEN": fake.issue_token(ttl=86_400),
                "GATEKEEPER_RATES_URL": rates.url,
            }
            log = Path(LOG) if LOG else None
            for run in range(STARTUPS):
                up = OvationUp(
                    Path(workdir) / f"simulator-{run}", {"GATEKEEPER_RATES_URL": rates.url}, log=log
                )
                try:
                    firsts.append(await first_donation(up.start()))
                finally:
                    await asyncio.to_thread(up.stop)
            for run in range(STARTUPS):
                up = OvationUp(Path(workdir) / f"run-{run}", extra, log=log).start()
                try:
                    startups.append(await startup(up))
                    if run < STARTUPS - 1:
                        continue
                    raid = await burst(up, fake)
                    processes = {name: sample(process) for name, process in sorted(up.processes().items())}
                    launcher = up.launcher_rss_mib()
                finally:
                    stopping = time.perf_counter()
                    code = await asyncio.to_thread(up.stop)
                    stops.append(round(time.perf_counter() - stopping, 1))
                    killed.update(m[1] for _, line in up.recent() if (m := KILLED.match(line)))
                if code != 0:
                    raise RuntimeError(f"ovation up exited with {code}:\n{up.tail()}")
    rss = {name: figures["rss_mib"] for name, figures in processes.items()}
    rss["launcher"] = launcher
    ready = [run["all_ready_seconds"] for run in startups]
    banner = [run["banner_seconds"] for run in startups]
    return {
        "benchmark": "system",
        "date": datetime.now(UTC).date().isoformat(),
        "machine": machine(),
        "startup": {
            "runs": STARTUPS,
            "all_ready_seconds": {"median": round(statistics.median(ready), 2), "each": ready},
            "banner_seconds": {"median": round(statistics.median(banner), 2), "each": banner},
            "ready_seconds_last_run": startups[-1]["ready_seconds"],
            "banner_says_seconds_last_run": startups[-1]["banner_says_seconds"],
        },
        "first_donation_on_dashboard_seconds": {
            "median": round(statistics.median(firsts), 2),
            "each": firsts,
            "note": "ovation up with the simulator on, as the README's run command: a donation in the dashboard feed",
        },
        "stop": {
            "seconds": stops,
            "killed_after_20_s": dict(killed),
            "note": "Ctrl+C to exit: the launcher stops the services one by one, then NATS",
        },
        "burst": raid,
        "rss_mib_after_burst": {**rss, "total": round(sum(rss.values()), 1)},
        "processes_after_burst": processes,
    }


if __name__ == "__main__":
    result = asyncio.run(main())
    print(json.dumps(result, indent=2))
    if result["burst"]["lost"] or result["burst"]["duplicated"]:
        sys.exit(1)
