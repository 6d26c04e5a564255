"""Ingest benchmark: DonationAlerts donations/s from the fake's websocket to an acknowledged JetStream publish,
and the time to catch up 1,000 donations missed while ingest was stopped. Prints one JSON object.

The fake runs without its 60 requests/minute limit, so the figures are Ovation's own cost; against the real
DonationAlerts a catch-up of N donations needs N/30 page requests inside that limit (1,800 donations a minute).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

from ingest.config import DonationAlertsSettings
from ingest.donationalerts_source import DonationAlertsSource
from ingest.status import SourceTracker
from ingest.store import KvSourceStore
from ovation_bus import BusSettings, Health, ensure_buckets, ensure_streams, jetstream, make_broker, publish
from ovation_contracts import SourceState, bus
from ovation_testing import NatsServer
from tests.fakes.donationalerts import FakeDonationAlerts

LIVE = int(os.environ.get("BENCH_LIVE_DONATIONS", "2000"))
MISSED = int(os.environ.get("BENCH_MISSED_DONATIONS", "1000"))


async def stored(broker: object) -> int:
    info = await jetstream(broker).stream_info(bus.DONATIONS.name)  # type: ignore[arg-type]
    return int(info.state.messages)


async def wait_until(predicate: object, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise TimeoutError


async def main() -> dict[str, object]:
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="ovation-bench-") as workdir:
        server = NatsServer(workdir=Path(workdir)).start()
        broker = make_broker(BusSettings(nats_url=server.url), Health("bench"))
        http = httpx.AsyncClient(timeout=10)
        try:
            await broker.connect()
            await ensure_streams(jetstream(broker))
            await ensure_buckets(jetstream(broker))
            async with FakeDonationAlerts(rate_limit=None) as fake:
                settings = DonationAlertsSettings(
                    api_base=fake.base_url,
                    oauth_base=fake.base_url,
                    ws_url=fake.ws_url,
                    access_token=SecretStr(fake.issue_token(ttl=86_400)),
                )

                async def publish_event(envelope: object, subject: str) -> object:
                    return await publish(broker, envelope, subject)  # type: ignore[arg-type]

                async def no_dlq(*, data: bytes, reason: str, key: str) -> None:
                    raise AssertionError(reason)

                def source() -> DonationAlertsSource:
                    return DonationAlertsSource(
                        settings,
                        KvSourceStore(broker),
                        publish=publish_event,
                        dead_letter=no_dlq,
                        tracker=SourceTracker("donationalerts"),
                        http=http,
                    )

                first = source()
                task = asyncio.create_task(first.run())
                await wait_until(lambda: _true(first.tracker.state is SourceState.CONNECTED))

                started = time.perf_counter()
                for n in range(LIVE):
                    fake.add_donation(message=f"live {n}")
                await wait_until(lambda: _at_least(broker, LIVE))
                live_rate = LIVE / (time.perf_counter() - started)

                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                for n in range(MISSED):
                    fake.add_donation(message=f"missed {n}", push=False)
                second = source()
                started = time.perf_counter()
                task = asyncio.create_task(second.run())
                await wait_until(lambda: _at_least(broker, LIVE + MISSED))
                catch_up_seconds = time.perf_counter() - started
                pages = fake.requests["donations"]
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                total = await stored(broker)
        finally:
            await http.aclose()
            await broker.stop()
            server.stop()
    return {
        "benchmark": "ingest",
        "date": datetime.now(UTC).date().isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "websocket_to_acked_publish_per_s": round(live_rate),
        "live_donations": LIVE,
        "catch_up_seconds": round(catch_up_seconds, 2),
        "missed_donations": MISSED,
        "rest_page_requests_total": pages,
        "stored": total,
    }


async def _true(value: bool) -> bool:
    return value


async def _at_least(broker: object, count: int) -> bool:
    return await stored(broker) >= count


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))
