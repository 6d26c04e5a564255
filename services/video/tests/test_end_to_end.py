"""End to end on a real nats-server and a real S3 (SeaweedFS), with the fake AIML over loopback.

A video job on ``jobs.video.render`` becomes job status events, an MP4 in S3 and one stage cue; the budget and the
generation in flight survive restarts (the one in flight across a ``kill -9`` of the service process).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from ovation_artifacts import ArtifactSettings, S3ArtifactStore, s3_client
from ovation_bus import ensure_buckets, ensure_streams
from ovation_contracts import (
    ControlReply,
    CueReplay,
    Envelope,
    JobState,
    JobStatus,
    Payload,
    QueueList,
    StageCue,
    VideoJob,
    VideoSettings,
    bus,
    decode,
    wrap,
)
from ovation_testing import NatsServer, S3Server, ServiceProcess
from tests.fakes.aiml import FakeAiml
from video.app import create_app
from video.config import VideoServiceSettings

from .conftest import make_job

pytestmark = [pytest.mark.nats, pytest.mark.s3, pytest.mark.slow, pytest.mark.timeout(120)]

BUCKET = "ovation-video-e2e"


def service_env(nats_url: str, s3: S3Server, fake: FakeAiml, work_dir: Path) -> dict[str, str]:
    return {
        "OVATION_NATS_URL": nats_url,
        "OVATION_LOG_FORMAT": "text",
        "OVATION_ARTIFACTS_BACKEND": "s3",
        "OVATION_ARTIFACTS_BUCKET": BUCKET,
        "OVATION_S3_ENDPOINT_URL": s3.endpoint_url,
        "OVATION_S3_ACCESS_KEY": s3.access_key,
        "OVATION_S3_SECRET_KEY": s3.secret_key,
        "VIDEO_AIML_API_KEY": fake.api_key,
        "VIDEO_AIML_BASE_URL": fake.base_url,
        "VIDEO_DOWNLOAD_ALLOWED_HOSTS": "127.0.0.1",
        "VIDEO_DOWNLOAD_ALLOW_LOOPBACK_HTTP": "true",
        "VIDEO_POLL_INTERVAL": "0.1",
        "VIDEO_POLL_MAX_INTERVAL": "0.2",
        "VIDEO_AIML_REQUEST_TIMEOUT": "2",
        "VIDEO_ACK_WAIT": "2",
        "VIDEO_CARD_SECONDS": "1",
        "VIDEO_CARD_FPS": "10",
        "VIDEO_WORK_DIR": str(work_dir),
    }


@pytest.fixture
async def fake() -> AsyncIterator[FakeAiml]:
    async with FakeAiml(queued_seconds=0.1, generating_seconds=0.3) as server:
        yield server


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Any]:
    client = await nats.connect(nats_server.url)
    js = client.jetstream()
    await ensure_streams(js)
    await ensure_buckets(js)
    yield client
    await client.drain()


@pytest.fixture
def env(nats_server: NatsServer, s3_server: S3Server, fake: FakeAiml, tmp_path: Path) -> dict[str, str]:
    return service_env(nats_server.url, s3_server, fake, tmp_path / "scratch")


@pytest.fixture
def s3_store(s3_server: S3Server) -> S3ArtifactStore:
    settings = ArtifactSettings(
        artifacts_backend="s3",
        s3_endpoint_url=s3_server.endpoint_url,
        s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key,
    )
    return S3ArtifactStore(s3_client(settings), BUCKET)


@contextlib.asynccontextmanager
async def in_process(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """The video service's app, started in this event loop (like ``python -m video``, without the process)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = create_app(VideoServiceSettings())
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app.state.runtime.ready.wait(), 20)
        yield


async def send(nc: Any, job: VideoJob) -> None:
    envelope = wrap(job, id=job.job_id, correlation_id=job.donation_id)
    await nc.jetstream().publish(
        bus.JOBS_VIDEO,
        envelope.to_json(),
        headers={bus.Header.MSG_ID: envelope.id, bus.Header.CORRELATION_ID: job.donation_id},
    )


async def control(nc: Any, command: Payload) -> ControlReply:
    """A control command over NATS request/reply, as the gateway sends it."""
    subject = bus.control(bus.Service.VIDEO, command.TYPE.rsplit(".", 1)[-1])
    envelope = wrap(command, id=f"test:{uuid.uuid4().hex}", correlation_id="test")
    message = await nc.request(subject, envelope.to_json(), timeout=10)
    reply: ControlReply = decode(message.data, ControlReply).payload
    return reply


async def stored(nc: Any, subject: str) -> list[Envelope[Any]]:
    """Every message the EVENTS stream holds on ``subject``."""
    js = nc.jetstream()
    info = await js.stream_info(bus.EVENTS.name, subjects_filter=subject)
    expected = (info.state.subjects or {}).get(subject, 0)
    if not expected:
        return []
    sub = await js.pull_subscribe(
        subject,
        stream=bus.EVENTS.name,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, filter_subject=subject),
    )
    messages: list[Any] = []
    with contextlib.suppress(TimeoutError):
        while len(messages) < expected:
            messages += await sub.fetch(expected - len(messages), timeout=2)
    await sub.unsubscribe()
    return [decode(m.data) for m in messages]


async def wait_for_cues(nc: Any, count: int, timeout: float = 30.0) -> list[StageCue]:
    deadline = time.monotonic() + timeout
    while True:
        cues = [e.payload for e in await stored(nc, bus.STAGE_CUE)]
        if len(cues) >= count or time.monotonic() > deadline:
            return cues
        await asyncio.sleep(0.2)


async def statuses(nc: Any, job: VideoJob) -> list[JobStatus]:
    events = await stored(nc, bus.job_status("video"))
    return [e.payload for e in events if e.payload.job_id == job.job_id]


async def test_a_video_job_becomes_ready_an_mp4_in_s3_and_a_cue_on_nats(
    nc: Any, env: dict[str, str], fake: FakeAiml, s3_store: S3ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = make_job(message="A dragon made of fireworks")
    async with in_process(env, monkeypatch):
        await send(nc, job)
        [cue] = await wait_for_cues(nc, 1)
        listed = await control(nc, QueueList())
        replayed = await control(nc, CueReplay(cue_id=cue.cue_id))
        cues = await wait_for_cues(nc, 2)

    assert listed.ok
    data: Any = listed.data
    assert data["latest"]["job_id"] == job.job_id
    assert data["budget"]["this_hour"] == 1
    assert replayed.ok
    assert [c.artifact for c in cues] == [cue.artifact, cue.artifact]  # the replay plays the stored file
    assert fake.submissions == 1

    assert cue.cue_id == f"{job.job_id}:cue"
    assert cue.artifact is not None
    assert await s3_store.get(cue.artifact.key) == fake.video
    assert cue.artifact.duration_ms
    events = await statuses(nc, job)
    assert events[0].state is JobState.QUEUED
    assert events[-1].state is JobState.READY
    assert events[-1].artifact == cue.artifact
    stream = await nc.jetstream().stream_info(bus.JOBS.name)
    assert stream.state.messages == 0  # acked: gone from the work queue


async def test_budget_of_two_per_hour_survives_a_restart_and_the_third_job_gets_the_card(
    nc: Any, env: dict[str, str], fake: FakeAiml, s3_store: S3ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    kv = await nc.jetstream().key_value(bus.KV_SETTINGS)
    settings = VideoSettings(max_per_hour=2, max_per_day=10, donor_cooldown_seconds=0)
    await kv.put(VideoSettings.KEY, settings.model_dump_json().encode())
    jobs = [make_job(n, donor=f"donor{n}") for n in (1, 2, 3)]

    async with in_process(env, monkeypatch):
        for job in jobs[:2]:
            await send(nc, job)
        assert len(await wait_for_cues(nc, 2)) == 2
    async with in_process(env, monkeypatch):  # a restart: the ledger is in KV
        await send(nc, jobs[2])
        cues = await wait_for_cues(nc, 3)

    assert fake.submissions == 2
    final = (await statuses(nc, jobs[2]))[-1]
    assert final.state is JobState.FALLBACK
    assert final.reason == "budget"
    assert "hourly budget of 2" in final.detail
    third = next(c for c in cues if c.donation_id == jobs[2].donation_id)
    assert third.artifact is not None
    assert third.artifact.key.endswith("-card.mp4")
    assert (await s3_store.get(third.artifact.key))[4:8] == b"ftyp"


@pytest.fixture
def service(env: dict[str, str], tmp_path: Path) -> Iterator[ServiceProcess]:
    process = ServiceProcess("video", tmp_path / "service", env, "VIDEO_HTTP_PORT")
    yield process
    process.stop()


async def test_killing_the_service_while_polling_resumes_the_same_generation(
    nc: Any, fake: FakeAiml, service: ServiceProcess, s3_store: S3ArtifactStore
) -> None:
    fake.hold = True
    job = make_job(message="A cat in space")
    await asyncio.to_thread(service.start)
    await send(nc, job)
    await fake.wait_for_submissions(1, timeout=20)
    [generation_id] = fake.generations
    await fake.wait_for_polls(generation_id, 2)

    service.stop(signal.SIGKILL)  # a crash: no graceful shutdown, the job is not acked
    polls_before = fake.generations[generation_id].polls
    await asyncio.to_thread(service.start)
    await fake.wait_for_polls(generation_id, polls_before + 2, timeout=20)  # the restarted service polls it
    fake.release()
    [cue] = await wait_for_cues(nc, 1)
    await asyncio.sleep(1.0)  # time for any duplicate to show up

    assert fake.submissions == 1, "the restart must not pay for a second generation"
    assert len(await wait_for_cues(nc, 2, timeout=0)) == 1
    assert cue.artifact is not None
    assert await s3_store.get(cue.artifact.key) == fake.video
    assert (await statuses(nc, job))[-1].state is JobState.READY
    assert "resuming generation" in service.logs()
