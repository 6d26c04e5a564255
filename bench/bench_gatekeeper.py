"""Gatekeeper benchmark: the moderation request/reply over a real nats-server (what voice and painter call before
speaking or showing text), p50/p99 over 2,000 calls, with the gatekeeper as its own process. Prints one JSON object.
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

import nats

from ovation_contracts import ModerationReply, ModerationRequest, bus, decode, wrap
from ovation_testing import NatsServer, ServiceProcess

CALLS = int(os.environ.get("BENCH_MODERATION_CALLS", "2000"))
TEXTS = [
    "Thank you so much, Anna! A cat in space is coming right up.",
    "Спасибо, Дима! Рисую ракету к Луне.",
    "What a donation! The boss fight was epic indeed.",
    "f.u.c.k this",
]


async def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="ovation-bench-") as workdir:
        server = NatsServer(workdir=Path(workdir) / "nats").start()
        env = {
            "OVATION_NATS_URL": server.url,
            "OVATION_LOG_LEVEL": "WARNING",
            "GATEKEEPER_RATES_URL": "http://127.0.0.1:1/",
        }
        gatekeeper = ServiceProcess("gatekeeper", Path(workdir), env, "GATEKEEPER_HTTP_PORT").start()
        client = await nats.connect(server.url)
        try:
            latencies = []
            for n in range(CALLS):
                envelope = wrap(
                    ModerationRequest(text=TEXTS[n % len(TEXTS)]), id=f"bench:{n}", correlation_id="bench"
                )
                started = time.perf_counter()
                answer = await client.request(bus.MODERATION_CHECK, envelope.to_json(), timeout=5)
                latencies.append(time.perf_counter() - started)
                decode(answer.data, ModerationReply)
        finally:
            await client.drain()
            gatekeeper.stop()
            server.stop()
    ordered = sorted(latencies)
    return {
        "benchmark": "gatekeeper",
        "date": datetime.now(UTC).date().isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "moderation_call_ms": {
            "p50": round(statistics.median(latencies) * 1000, 3),
            "p99": round(ordered[int(0.99 * len(ordered))] * 1000, 3),
        },
        "calls": CALLS,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))
