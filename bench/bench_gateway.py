"""Gateway benchmark: from a screened donation on NATS to its alert cue arriving at a connected widget.

1,000 donations at 20/s by default; the benchmark plays the widget itself (reads the widget feed, reports each cue
ended at once, as a widget does at the end of a card), so the figure is Ovation's latency, not a card's length.
Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats

from ovation_contracts import bus
from ovation_testing import NatsServer, ServiceProcess, factories

COUNT = int(os.environ.get("BENCH_ALERTS", "1000"))
RATE = float(os.environ.get("BENCH_ALERTS_PER_SECOND", "20"))
WIDGET_TOKEN = "bench-widget-token-0123456789"


async def widget(base: str, sent: dict[str, float], latencies: list[float], done: asyncio.Event) -> None:
    async with (
        httpx.AsyncClient(base_url=base, timeout=None) as http,
        http.stream("GET", "/api/v1/widget/stage", params={"token": WIDGET_TOKEN}) as feed,
    ):
        event = ""
        async for line in feed.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "play":
                cue = json.loads(line[5:])
                donation = cue["donation_id"]
                if donation in sent:
                    latencies.append(time.perf_counter() - sent.pop(donation))
                await http.post(
                    "/api/v1/widget/playback",
                    params={"token": WIDGET_TOKEN},
                    json={"cue_id": cue["cue_id"], "state": "ended"},
                )
                if len(latencies) >= COUNT:
                    done.set()
                    return


async def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="ovation-bench-") as workdir:
        server = NatsServer(workdir=Path(workdir) / "nats").start()
        env = {
            "OVATION_NATS_URL": server.url,
            "OVATION_ADMIN_TOKEN": "bench-admin-token-0123456789",
            "OVATION_WIDGET_TOKEN": WIDGET_TOKEN,
            "OVATION_LOG_LEVEL": "WARNING",
        }
        gateway = ServiceProcess("gateway", Path(workdir), env, "OVATION_PORT").start()
        client = await nats.connect(server.url)
        sent: dict[str, float] = {}
        latencies: list[float] = []
        done = asyncio.Event()
        try:
            reader = asyncio.create_task(widget(gateway.url, sent, latencies, done))
            await asyncio.sleep(0.5)
            js = client.jetstream()
            started = time.perf_counter()
            for n in range(COUNT):
                envelope = factories.screened_alert(f"bench:{n}")
                sent[envelope.correlation_id] = time.perf_counter()
                await js.publish(
                    bus.DONATION_SCREENED, envelope.to_json(), headers={bus.Header.MSG_ID: envelope.id}
                )
                await asyncio.sleep(max(0.0, started + (n + 1) / RATE - time.perf_counter()))
            await asyncio.wait_for(done.wait(), 120)
            reader.cancel()
        finally:
            await client.drain()
            gateway.stop()
            server.stop()
    ordered = sorted(latencies)
    return {
        "benchmark": "gateway",
        "date": datetime.now(UTC).date().isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "alerts": COUNT,
        "rate_per_second": RATE,
        "donation_to_widget_ms": {
            "p50": round(statistics.median(latencies) * 1000, 2),
            "p99": round(ordered[int(0.99 * len(ordered))] * 1000, 2),
            "max": round(ordered[-1] * 1000, 2),
        },
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))
