"""Bus benchmark on a real nats-server: publish-to-consume latency and deduplicated publish throughput.

Prints one JSON object. Uses the same code the services use: ``ovation_bus.publish`` (waits for the stream's
acknowledgement, sets ``Nats-Msg-Id``) and ``ovation_bus.subscribe`` (durable pull consumer, explicit ack).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ovation_bus import (
    BusSettings,
    Consumer,
    Health,
    ensure_buckets,
    ensure_streams,
    jetstream,
    make_broker,
    publish,
    subscribe,
)
from ovation_contracts import Envelope, VideoJob, bus
from ovation_testing import NatsServer, factories

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "10000"))


def job(n: int, run: str) -> Envelope[VideoJob]:
    return factories.video_job(f"bench:{run}-{n}", donor_name="bench")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> dict[str, object]:
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="ovation-bench-") as workdir:
        server = NatsServer(workdir=Path(workdir)).start()
        broker = make_broker(BusSettings(nats_url=server.url), Health("bench"))
        try:
            await broker.connect()
            await ensure_streams(jetstream(broker))
            await ensure_buckets(jetstream(broker))

            sent: dict[str, float] = {}
            latencies: list[float] = []
            handled = asyncio.Event()
            drained = asyncio.Event()
            drain_target = 0

            async def handle(envelope: Envelope[VideoJob]) -> None:
                if envelope.id in sent:
                    latencies.append(time.perf_counter() - sent.pop(envelope.id))
                    handled.set()
                    return
                nonlocal drain_target
                drain_target -= 1
                if drain_target == 0:
                    drained.set()

            subscribe(
                broker,
                service="bench",
                consumer=Consumer(bus.JOBS_VIDEO, "bench-latency"),
                model=VideoJob,
                handler=handle,
            )
            await broker.start()

            # Latency: one message in flight at a time, so no queueing is measured.
            for n in range(MESSAGES):
                envelope = job(n, "latency")
                handled.clear()
                sent[envelope.id] = time.perf_counter()
                await publish(broker, envelope, bus.JOBS_VIDEO)
                await asyncio.wait_for(handled.wait(), 30)

            # Consumer throughput: a backlog of MESSAGES jobs drained by one durable consumer (batch size 1).
            backlog = [job(n, "drain") for n in range(MESSAGES)]
            drain_target = MESSAGES
            started = time.perf_counter()
            await asyncio.gather(*(publish(broker, e, bus.JOBS_VIDEO) for e in backlog))
            await asyncio.wait_for(drained.wait(), 300)
            latency_elapsed = time.perf_counter() - started

            # Deduplicated publishing to a stream nobody consumes: unique ids, then the same ids again.
            subject = bus.donation_received("bench")
            envelopes = [job(n, "dedupe") for n in range(MESSAGES)]
            started = time.perf_counter()
            for envelope in envelopes:
                await publish(broker, envelope, subject)
            unique_rate = MESSAGES / (time.perf_counter() - started)
            started = time.perf_counter()
            duplicates = 0
            for envelope in envelopes:
                duplicates += bool((await publish(broker, envelope, subject)).duplicate)
            duplicate_rate = MESSAGES / (time.perf_counter() - started)

            concurrent = [job(n, "concurrent") for n in range(MESSAGES)]
            semaphore = asyncio.Semaphore(64)

            async def bounded(envelope: Envelope[VideoJob]) -> None:
                async with semaphore:
                    await publish(broker, envelope, subject)

            started = time.perf_counter()
            await asyncio.gather(*(bounded(e) for e in concurrent))
            concurrent_rate = MESSAGES / (time.perf_counter() - started)
            stored = (await jetstream(broker).stream_info(bus.DONATIONS.name)).state.messages
        finally:
            await broker.stop()
            server.stop()

    return {
        "benchmark": "bus",
        "date": datetime.now(UTC).date().isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "messages": MESSAGES,
        "publish_to_consume_latency_ms": {
            "p50": round(statistics.median(latencies) * 1000, 3),
            "p99": round(percentile(latencies, 0.99) * 1000, 3),
            "max": round(max(latencies) * 1000, 3),
        },
        "consumer_drain_per_s": round(MESSAGES / latency_elapsed),
        "acked_publish_per_s": {
            "unique_sequential": round(unique_rate),
            "duplicate_sequential": round(duplicate_rate),
            "unique_64_in_flight": round(concurrent_rate),
        },
        "duplicates_detected": duplicates,
        "stored_after_dedupe": stored,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))
