"""Video benchmark: how long the offline card takes to render, and how long a finished 20 MB video takes to reach
the stage (from the fake AIML first answering "completed" to the stage cue on a real nats-server).

Prints one JSON object. The second figure runs the real service (``video.app.create_app``) in this process against
the fake AIML over loopback, so it covers polling, the safe download, the MP4 checks (ftyp and an ffmpeg probe),
storing the file (local artifact directory) and publishing the status and the cue.
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
from decimal import Decimal
from pathlib import Path

import nats

from ovation_artifacts import ArtifactSettings
from ovation_contracts import Money, VideoJob, bus, decode, job_id, wrap
from ovation_testing import NatsServer
from tests.fakes.aiml import FakeAiml, padded, sample_mp4
from video.app import create_app
from video.cards import CardContent, CardFormat, render_card
from video.config import VideoServiceSettings

CARDS = int(os.environ.get("BENCH_CARDS", "3"))
VIDEOS = int(os.environ.get("BENCH_VIDEOS", "3"))
VIDEO_BYTES = 20 * 1024 * 1024
POLL_INTERVAL = 0.1


def card_times(workdir: Path) -> tuple[list[float], int]:
    content = CardContent(
        "Ivan", Money(amount=Decimal("1500"), currency="RUB"), "A cat in space, please!", seed="bench"
    )
    times = []
    size = 0
    for n in range(CARDS):
        output = workdir / f"card-{n}.mp4"
        started = time.perf_counter()
        render_card(content, output, CardFormat())
        times.append(time.perf_counter() - started)
        size = output.stat().st_size
    return times, size


def job(n: int) -> VideoJob:
    donation = f"bench:{n}"
    money = Money(amount=Decimal("1500"), currency="RUB")
    return VideoJob(
        job_id=job_id(donation, "video"),
        donation_id=donation,
        donor_name=f"donor{n}",
        amount=money,
        amount_base=money,
        message="A cat in space",
    )


async def completed_to_cue(workdir: Path) -> list[float]:
    server = NatsServer(workdir=workdir / "nats").start()
    os.environ["OVATION_NATS_URL"] = server.url
    os.environ["OVATION_LOG_LEVEL"] = "ERROR"
    try:
        async with FakeAiml(
            queued_seconds=0.0, generating_seconds=0.5, video=padded(sample_mp4(), VIDEO_BYTES)
        ) as fake:
            settings = VideoServiceSettings(
                aiml_api_key=fake.api_key,  # type: ignore[arg-type]
                aiml_base_url=fake.base_url,
                download_allowed_hosts="127.0.0.1",
                download_allow_loopback_http=True,
                poll_interval=POLL_INTERVAL,
                poll_max_interval=POLL_INTERVAL,
                work_dir=workdir / "scratch",
            )
            artifacts = ArtifactSettings(artifacts_backend="local", artifacts_dir=workdir / "artifacts")
            app = create_app(settings, artifacts)
            logging.disable(logging.WARNING)
            client = await nats.connect(server.url)
            arrived: dict[str, float] = {}
            got_cue = asyncio.Event()

            async def on_cue(message: nats.aio.msg.Msg) -> None:
                arrived[decode(message.data).payload.donation_id] = time.monotonic()
                got_cue.set()

            await client.subscribe(bus.STAGE_CUE, cb=on_cue)
            latencies = []
            async with app.router.lifespan_context(app):
                await asyncio.wait_for(app.state.runtime.ready.wait(), 30)
                for n in range(VIDEOS):
                    video_job = job(n)
                    got_cue.clear()
                    envelope = wrap(video_job, id=video_job.job_id, correlation_id=video_job.donation_id)
                    await client.jetstream().publish(
                        bus.JOBS_VIDEO, envelope.to_json(), headers={bus.Header.MSG_ID: envelope.id}
                    )
                    await asyncio.wait_for(got_cue.wait(), 60)
                    generation = list(fake.generations.values())[-1]
                    assert generation.completed_at is not None
                    latencies.append(arrived[video_job.donation_id] - generation.completed_at)
            await client.drain()
            return latencies
    finally:
        server.stop()


async def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="ovation-bench-video-") as directory:
        workdir = Path(directory)
        cards, card_size = await asyncio.to_thread(card_times, workdir)
        latencies = await completed_to_cue(workdir)
    card = CardFormat()
    return {
        "benchmark": "video",
        "date": datetime.now(UTC).date().isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "offline_card": {
            "format": f"{card.width}x{card.height} {card.fps} fps {card.seconds:g} s H.264+AAC",
            "renders": CARDS,
            "render_seconds_median": round(statistics.median(cards), 3),
            "render_seconds_min": round(min(cards), 3),
            "bytes": card_size,
        },
        "completed_to_cue": {
            "video_bytes": VIDEO_BYTES,
            "runs": VIDEOS,
            "poll_interval_seconds": POLL_INTERVAL,
            "seconds_median": round(statistics.median(latencies), 3),
            "seconds_max": round(max(latencies), 3),
            "note": "from the first poll answered 'completed' to the cue on NATS: download, checks, store, publish",
        },
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))
